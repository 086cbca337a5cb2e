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
    /// <remarks>The first send opens the connection (as the Azure IoT C# SDK does); a connection
    /// that drops is reopened by the next send. All members are thread-safe. Dispose the client
    /// to close its connection; iotsec's threads stop by themselves when the process exits.</remarks>
    public sealed class ModuleClient : IDisposable
    {
        private readonly InternalClient client;

        private ModuleClient(InternalClient client) { this.client = client; }

        /// <summary>Creates a client from a module connection string
        /// (<c>HostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...</c>). Nothing is sent until <see cref="OpenAsync()"/> or the first send.</summary>
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

        /// <summary>Connects (TCP, TLS, MQTT CONNECT) now rather than at the first send.</summary>
        /// <returns>A task that fails with <see cref="IotSecException"/> (<see cref="ErrorCode.ConnectionFailed"/>,
        /// <see cref="ErrorCode.Tls"/>, <see cref="ErrorCode.CredentialRefused"/>) or <see cref="IotSecTimeoutException"/>.</returns>
        /// <exception cref="ObjectDisposedException">the client was disposed.</exception>
        public Task OpenAsync()
        {
            return client.OpenAsync(CancellationToken.None);
        }

        /// <summary>Connects now; <paramref name="cancellationToken"/> stops the wait (not the attempt).</summary>
        public Task OpenAsync(CancellationToken cancellationToken)
        {
            return client.OpenAsync(cancellationToken);
        }

        /// <summary>Sends a message and completes when the hub acknowledged it (MQTT PUBACK).
        /// The message is copied: it may be changed or disposed once this returns.</summary>
        /// <returns>A task that fails with <see cref="SchemaValidationException"/> (a security message
        /// whose body breaks the schema; nothing was sent), <see cref="MessageTooLargeException"/>,
        /// <see cref="IotSecTimeoutException"/>, <see cref="IotSecObjectDisposedException"/> (the
        /// client was disposed first) or <see cref="IotSecException"/> (connection errors).</returns>
        /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">the client or the message was disposed.</exception>
        public Task SendEventAsync(Message message)
        {
            return client.SendEventAsync(message, CancellationToken.None);
        }

        /// <summary>Sends a message; <paramref name="cancellationToken"/> cancels the wait for its
        /// acknowledgement (a message already queued may still be delivered).</summary>
        public Task SendEventAsync(Message message, CancellationToken cancellationToken)
        {
            return client.SendEventAsync(message, cancellationToken);
        }

        /// <summary>Sends a message on a module output (sets <see cref="Message.OutputName"/>, <c>$.on</c>).</summary>
        /// <exception cref="ArgumentException"><paramref name="outputName"/> is null or empty.</exception>
        public Task SendEventAsync(string outputName, Message message)
        {
            return SendEventAsync(outputName, message, CancellationToken.None);
        }

        /// <summary>Sends a message on a module output; <paramref name="cancellationToken"/> cancels the wait.</summary>
        public Task SendEventAsync(string outputName, Message message, CancellationToken cancellationToken)
        {
            if (string.IsNullOrEmpty(outputName)) throw new ArgumentException("outputName is null or empty", "outputName");
            if (message == null) throw new ArgumentNullException("message");
            message.OutputName = outputName;
            return client.SendEventAsync(message, cancellationToken);
        }

        /// <summary>Sends every message (pipelined over the one connection) and completes when all
        /// are acknowledged. Each message succeeds or fails on its own, as over MQTT in the Azure
        /// IoT C# SDK; the task fails with every failure (awaiting it throws the first).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="messages"/> contains null.</exception>
        public Task SendEventBatchAsync(IEnumerable<Message> messages)
        {
            return client.SendEventBatchAsync(messages, CancellationToken.None);
        }

        /// <summary>Sends every message; <paramref name="cancellationToken"/> cancels the wait.</summary>
        public Task SendEventBatchAsync(IEnumerable<Message> messages, CancellationToken cancellationToken)
        {
            return client.SendEventBatchAsync(messages, cancellationToken);
        }

        /// <summary>Waits for the sends in flight (up to the message timeout), then disconnects.
        /// A later send or <see cref="OpenAsync()"/> connects again.</summary>
        /// <exception cref="ObjectDisposedException">the client was disposed.</exception>
        public Task CloseAsync()
        {
            return client.CloseAsync(CancellationToken.None);
        }

        /// <summary>Closes gracefully; <paramref name="cancellationToken"/> stops the wait.</summary>
        public Task CloseAsync(CancellationToken cancellationToken)
        {
            return client.CloseAsync(cancellationToken);
        }

        /// <summary>Closes the connection at once; sends not yet acknowledged fail with
        /// <see cref="IotSecObjectDisposedException"/>. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            client.Dispose();
        }
    }
}
