// Connection status changes, as Microsoft.Azure.Devices.Client reports them: the SDK's enums and
// handler delegate, and the ordered, exception-proof delivery of the C library's
// iotsec_client_set_connection_callback changes to the user's handler.
#define TRACE // Trace.TraceError is [Conditional("TRACE")]: report a throwing handler whatever the build defines.

using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace IotSec.Devices.Client
{
    /// <summary>Whether the client is connected (the names and values of
    /// <c>Microsoft.Azure.Devices.Client.ConnectionStatus</c>).</summary>
    public enum ConnectionStatus
    {
        /// <summary>Not connected and not reconnecting: <see cref="IotHubClient.CloseAsync()"/> was
        /// called (reason <see cref="ConnectionStatusChangeReason.Client_Close"/>), or the first
        /// connection attempt failed (the reason says why).</summary>
        Disconnected = 0,
        /// <summary>Connected; sends flow.</summary>
        Connected = 1,
        /// <summary>The connection was lost (<see cref="ConnectionStatusChangeReason.No_Network"/>,
        /// <see cref="ConnectionStatusChangeReason.Communication_Error"/>) or is being renewed
        /// with a fresh SAS token (<see cref="ConnectionStatusChangeReason.Expired_SAS_Token"/>);
        /// iotsec reconnects by itself and sends wait meanwhile.</summary>
        Disconnected_Retrying = 2,
        /// <summary>Never reported by iotsec (kept for the SDK's values).</summary>
        Disabled = 3,
    }

    /// <summary>Why the connection status changed (the names and values of
    /// <c>Microsoft.Azure.Devices.Client.ConnectionStatusChangeReason</c>).</summary>
    public enum ConnectionStatusChangeReason
    {
        /// <summary>Connected normally.</summary>
        Connection_Ok = 0,
        /// <summary>A planned reconnect that presents a fresh SAS token before the current one expires.</summary>
        Expired_SAS_Token = 1,
        /// <summary>Never reported by iotsec (kept for the SDK's values).</summary>
        Device_Disabled = 2,
        /// <summary>The hub refused the credentials (wrong key, expired or foreign SAS token).</summary>
        Bad_Credential = 3,
        /// <summary>Never reported by iotsec, which keeps reconnecting until the client is disposed.</summary>
        Retry_Expired = 4,
        /// <summary>The hub could not be reached, or the connection was lost.</summary>
        No_Network = 5,
        /// <summary>TLS failed, or a CONNACK or PUBACK did not come in time.</summary>
        Communication_Error = 6,
        /// <summary>The client disconnected on request (<see cref="IotHubClient.CloseAsync()"/>).</summary>
        Client_Close = 7,
    }

    /// <summary>Hears of the client's connection status changes
    /// (<see cref="IotHubClient.SetConnectionStatusChangesHandler"/>), as in the Azure IoT C# SDK.</summary>
    /// <param name="status">the new status.</param>
    /// <param name="reason">why it changed.</param>
    public delegate void ConnectionStatusChangesHandler(ConnectionStatus status, ConnectionStatusChangeReason reason);
}

namespace IotSec.Devices.Client.Internal
{
    /// <summary>One client's status handler and the queue that calls it. Native code reaches
    /// it through a weak <c>GCHandle</c> (the <see cref="ClientHandle"/> frees it after the
    /// native client is destroyed, when no callback can run any more), so a client with a
    /// handler can still be collected.</summary>
    internal sealed class ConnectionEvents
    {
        private readonly object gate = new object();
        private readonly string typeName;
        private Task tail = Task.CompletedTask;
        private volatile ConnectionStatusChangesHandler handler;

        internal ConnectionEvents(string typeName) { this.typeName = typeName; }

        /// <summary>The handler changes are delivered to; null: none (changes still queued are dropped).</summary>
        internal ConnectionStatusChangesHandler Handler
        {
            get { return handler; }
            set { handler = value; }
        }

        /// <summary>The SDK status of a native <c>IOTSEC_CONNECTION_STATUS_*</c>, or null for
        /// <c>_NONE</c> (a change the SDK's handler does not hear of).</summary>
        internal static ConnectionStatus? StatusOf(uint status)
        {
            switch (status)
            {
                case NativeMethods.IOTSEC_CONNECTION_STATUS_CONNECTED: return ConnectionStatus.Connected;
                case NativeMethods.IOTSEC_CONNECTION_STATUS_DISCONNECTED_RETRYING: return ConnectionStatus.Disconnected_Retrying;
                case NativeMethods.IOTSEC_CONNECTION_STATUS_DISCONNECTED: return ConnectionStatus.Disconnected;
                default: return null;
            }
        }

        /// <summary>The SDK reason of a native <c>IOTSEC_REASON_*</c>.</summary>
        internal static ConnectionStatusChangeReason ReasonOf(uint reason)
        {
            switch (reason)
            {
                case NativeMethods.IOTSEC_REASON_CONNECTION_OK: return ConnectionStatusChangeReason.Connection_Ok;
                case NativeMethods.IOTSEC_REASON_EXPIRED_SAS_TOKEN: return ConnectionStatusChangeReason.Expired_SAS_Token;
                case NativeMethods.IOTSEC_REASON_BAD_CREDENTIAL: return ConnectionStatusChangeReason.Bad_Credential;
                case NativeMethods.IOTSEC_REASON_NO_NETWORK: return ConnectionStatusChangeReason.No_Network;
                case NativeMethods.IOTSEC_REASON_CLIENT_CLOSE: return ConnectionStatusChangeReason.Client_Close;
                default: return ConnectionStatusChangeReason.Communication_Error;
            }
        }

        /// <summary>Queues one change (called on an iotsec thread). The handler runs on the
        /// thread pool, one change after the other in the order they happened: no user code runs
        /// on iotsec's threads, and a slow or blocking handler delays only later changes.</summary>
        internal void Post(ConnectionStatus status, ConnectionStatusChangeReason reason)
        {
            lock (gate)
            {
                tail = tail.ContinueWith(_ => Invoke(status, reason), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
        }

        private void Invoke(ConnectionStatus status, ConnectionStatusChangeReason reason)
        {
            var h = handler;
            if (h == null) return;
            try
            {
                h(status, reason);
            }
            catch (Exception e)
            {
                try
                {
                    Trace.TraceError("IotSec.Devices.Client: the ConnectionStatusChangesHandler of a {0} threw on ({1}, {2}); the client goes on. {3}",
                        typeName, status, reason, e);
                }
                catch (Exception)
                {
                    // A trace listener that throws must not stop later changes either.
                }
            }
        }
    }
}
