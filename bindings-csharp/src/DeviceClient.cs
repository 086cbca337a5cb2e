using System;
using IotSec.Devices.Client.Internal;

namespace IotSec.Devices.Client
{
    /// <summary>A device of Azure IoT Hub that sends device-to-cloud messages over MQTT/TLS,
    /// mirroring <c>Microsoft.Azure.Devices.Client.DeviceClient</c>. Security messages are validated
    /// against the published schema before they leave.</summary>
    /// <remarks>Connect, send and close are inherited from <see cref="IotHubClient"/>.</remarks>
    public sealed class DeviceClient : IotHubClient
    {
        private DeviceClient(InternalClient client) : base(client) { }

        /// <summary>Creates a client from a device connection string
        /// (<c>HostName=...;DeviceId=...;SharedAccessKey=...</c>). Nothing is sent until <see cref="IotHubClient.OpenAsync()"/> or the first send.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="connectionString"/> is null.</exception>
        /// <exception cref="IotSecArgumentException">a malformed connection string (<see cref="ErrorCode.InvalidConnectionString"/>,
        /// the message names the key at fault, never its value), or a module connection string.</exception>
        public static DeviceClient CreateFromConnectionString(string connectionString)
        {
            return CreateFromConnectionString(connectionString, TransportType.Mqtt, null);
        }

        /// <summary>Creates a client from a device connection string and a transport.</summary>
        /// <exception cref="NotSupportedException">a transport other than <see cref="TransportType.Mqtt"/> / <see cref="TransportType.Mqtt_Tcp_Only"/>.</exception>
        /// <exception cref="IotSecArgumentException">a malformed connection string.</exception>
        public static DeviceClient CreateFromConnectionString(string connectionString, TransportType transportType)
        {
            return CreateFromConnectionString(connectionString, transportType, null);
        }

        /// <summary>Creates a client from a device connection string with iotsec's options (CA, port, validation...).</summary>
        /// <exception cref="IotSecArgumentException">a malformed connection string or an invalid option (the message names it).</exception>
        public static DeviceClient CreateFromConnectionString(string connectionString, ClientOptions options)
        {
            return CreateFromConnectionString(connectionString, TransportType.Mqtt, options);
        }

        /// <summary>Creates a client from a device connection string, a transport and iotsec's options.</summary>
        /// <exception cref="NotSupportedException">a transport other than <see cref="TransportType.Mqtt"/> / <see cref="TransportType.Mqtt_Tcp_Only"/>.</exception>
        /// <exception cref="IotSecArgumentException">a malformed connection string or an invalid option (the message names it).</exception>
        public static DeviceClient CreateFromConnectionString(string connectionString, TransportType transportType, ClientOptions options)
        {
            return new DeviceClient(InternalClient.Create(connectionString, transportType, options, NativeMethods.IOTSEC_CLIENT_DEVICE, typeof(DeviceClient).FullName));
        }
    }
}
