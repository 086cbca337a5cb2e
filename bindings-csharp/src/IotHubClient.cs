using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using IotSec.Devices.Client.Internal;

namespace IotSec.Devices.Client
{
    /// <summary>What <see cref="DeviceClient"/> and <see cref="ModuleClient"/> share: connect,
    /// send, close. The Azure IoT C# SDK repeats these members in both classes; here they are
    /// written once, and each class adds its own factories.</summary>
    /// <remarks>The first send opens the connection (as the Azure IoT C# SDK does); a connection
    /// that drops is reopened by the next send. All members are thread-safe. Dispose the client
    /// to close its connection; iotsec's threads stop by themselves when the process exits.</remarks>
    public abstract class IotHubClient : IDisposable
    {
        internal readonly InternalClient Client;

        internal IotHubClient(InternalClient client) { Client = client; }

        /// <summary>Connects (TCP, TLS, MQTT CONNECT) now rather than at the first send.</summary>
        /// <returns>A task that fails with <see cref="IotSecException"/> (<see cref="ErrorCode.ConnectionFailed"/>,
        /// <see cref="ErrorCode.Tls"/>, <see cref="ErrorCode.CredentialRefused"/>) or <see cref="IotSecTimeoutException"/>.</returns>
        /// <exception cref="ObjectDisposedException">the client was disposed.</exception>
        public Task OpenAsync()
        {
            return Client.OpenAsync(CancellationToken.None);
        }

        /// <summary>Connects now; <paramref name="cancellationToken"/> stops the wait (not the attempt).</summary>
        public Task OpenAsync(CancellationToken cancellationToken)
        {
            return Client.OpenAsync(cancellationToken);
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
            return Client.SendEventAsync(message, CancellationToken.None);
        }

        /// <summary>Sends a message; <paramref name="cancellationToken"/> cancels the wait for its
        /// acknowledgement (a message already queued may still be delivered).</summary>
        public Task SendEventAsync(Message message, CancellationToken cancellationToken)
        {
            return Client.SendEventAsync(message, cancellationToken);
        }

        /// <summary>Sends every message (pipelined over the one connection) and completes when all
        /// are acknowledged. Each message succeeds or fails on its own, as over MQTT in the Azure
        /// IoT C# SDK; the task fails with every failure (awaiting it throws the first).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="messages"/> contains null.</exception>
        public Task SendEventBatchAsync(IEnumerable<Message> messages)
        {
            return Client.SendEventBatchAsync(messages, CancellationToken.None);
        }

        /// <summary>Sends every message; <paramref name="cancellationToken"/> cancels the wait.</summary>
        public Task SendEventBatchAsync(IEnumerable<Message> messages, CancellationToken cancellationToken)
        {
            return Client.SendEventBatchAsync(messages, cancellationToken);
        }

        /// <summary>Waits for the sends in flight (up to the message timeout), then disconnects.
        /// A later send or <see cref="OpenAsync()"/> connects again.</summary>
        /// <exception cref="ObjectDisposedException">the client was disposed.</exception>
        public Task CloseAsync()
        {
            return Client.CloseAsync(CancellationToken.None);
        }

        /// <summary>Closes gracefully; <paramref name="cancellationToken"/> stops the wait.</summary>
        public Task CloseAsync(CancellationToken cancellationToken)
        {
            return Client.CloseAsync(cancellationToken);
        }

        /// <summary>Sets the handler that hears of every connection status change, as in the
        /// Azure IoT C# SDK: <see cref="ConnectionStatus.Connected"/> (<see cref="ConnectionStatusChangeReason.Connection_Ok"/>)
        /// when the client connects; <see cref="ConnectionStatus.Disconnected_Retrying"/> when the
        /// connection is lost (<see cref="ConnectionStatusChangeReason.No_Network"/>,
        /// <see cref="ConnectionStatusChangeReason.Communication_Error"/>; iotsec reconnects by
        /// itself and sends wait meanwhile) or renewed with a fresh SAS token
        /// (<see cref="ConnectionStatusChangeReason.Expired_SAS_Token"/>);
        /// <see cref="ConnectionStatus.Disconnected"/> when the first connection attempt fails
        /// (<see cref="ConnectionStatusChangeReason.Bad_Credential"/>, <see cref="ConnectionStatusChangeReason.No_Network"/>,
        /// <see cref="ConnectionStatusChangeReason.Communication_Error"/>) or after
        /// <see cref="CloseAsync()"/> (<see cref="ConnectionStatusChangeReason.Client_Close"/>).
        /// Replaces the previous handler; null removes it.</summary>
        /// <remarks>Set it before <see cref="OpenAsync()"/> or the first send to hear of the first
        /// connection. The handler runs on the thread pool, one change at a time, in order (never
        /// on iotsec's threads). An exception it throws is caught and reported with
        /// <see cref="System.Diagnostics.Trace.TraceError(string)"/>; the client and later
        /// changes go on. <see cref="Dispose"/> reports nothing.</remarks>
        /// <param name="statusChangesHandler">the handler, or null to remove it.</param>
        /// <exception cref="ObjectDisposedException">the client was disposed.</exception>
        public void SetConnectionStatusChangesHandler(ConnectionStatusChangesHandler statusChangesHandler)
        {
            Client.SetConnectionStatusChangesHandler(statusChangesHandler);
        }

        /// <summary>Closes the connection at once; sends not yet acknowledged fail with
        /// <see cref="IotSecObjectDisposedException"/>. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            Client.Dispose();
        }
    }
}
