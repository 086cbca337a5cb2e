using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using IotSec.Devices.Client.Internal;

namespace IotSec.Devices.Client
{
    /// <summary>A module of Azure IoT Hub that sends device-to-cloud messages over MQTT/TLS,
    /// mirroring <c>Microsoft.Azure.Devices.Client.ModuleClient</c>. Security messages are validated
    /// against the published schema before they leave.</summary>
    /// <remarks>Connect, send and close are inherited from <see cref="IotHubClient"/>.</remarks>
    public sealed class ModuleClient : IotHubClient
    {
        private ModuleClient(InternalClient client) : base(client) { }

        /// <summary>Creates a client from a module connection string
        /// (<c>HostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...</c>). Nothing is sent until <see cref="IotHubClient.OpenAsync()"/> or the first send.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="connectionString"/> is null.</exception>
        /// <exception cref="IotSecArgumentException">a malformed connection string (<see cref="ErrorCode.InvalidConnectionString"/>,
        /// the message names the key at fault, never its value), or one without ModuleId.</exception>
        public static ModuleClient CreateFromConnectionString(string connectionString)
        {
            return CreateFromConnectionString(connectionString, TransportType.Mqtt, null);
        }

        /// <summary>Creates a client from a module connection string and a transport.</summary>
        /// <exception cref="NotSupportedException">a transport other than <see cref="TransportType.Mqtt"/> / <see cref="TransportType.Mqtt_Tcp_Only"/>.</exception>
        /// <exception cref="IotSecArgumentException">a malformed connection string.</exception>
        public static ModuleClient CreateFromConnectionString(string connectionString, TransportType transportType)
        {
            return CreateFromConnectionString(connectionString, transportType, null);
        }

        /// <summary>Creates a client from a module connection string with iotsec's options (CA, port, validation...).</summary>
        /// <exception cref="IotSecArgumentException">a malformed connection string or an invalid option (the message names it).</exception>
        public static ModuleClient CreateFromConnectionString(string connectionString, ClientOptions options)
        {
            return CreateFromConnectionString(connectionString, TransportType.Mqtt, options);
        }

        /// <summary>Creates a client from a module connection string, a transport and iotsec's options.</summary>
        /// <exception cref="NotSupportedException">a transport other than <see cref="TransportType.Mqtt"/> / <see cref="TransportType.Mqtt_Tcp_Only"/>.</exception>
        /// <exception cref="IotSecArgumentException">a malformed connection string or an invalid option (the message names it).</exception>
        public static ModuleClient CreateFromConnectionString(string connectionString, TransportType transportType, ClientOptions options)
        {
            return new ModuleClient(InternalClient.Create(connectionString, transportType, options, NativeMethods.IOTSEC_CLIENT_MODULE, typeof(ModuleClient).FullName));
        }

        /// <summary>Sends a message on a module output (sets <see cref="Message.OutputName"/>, <c>$.on</c>).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="outputName"/> or <paramref name="message"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="outputName"/> is empty.</exception>
        public Task SendEventAsync(string outputName, Message message)
        {
            return SendEventAsync(outputName, message, CancellationToken.None);
        }

        /// <summary>Sends a message on a module output; <paramref name="cancellationToken"/> cancels the wait.</summary>
        public Task SendEventAsync(string outputName, Message message, CancellationToken cancellationToken)
        {
            if (outputName == null) throw new ArgumentNullException("outputName");
            if (outputName.Length == 0) throw new ArgumentException("outputName is empty", "outputName");
            if (message == null) throw new ArgumentNullException("message");
            message.OutputName = outputName;
            return Client.SendEventAsync(message, cancellationToken);
        }

    }
}
