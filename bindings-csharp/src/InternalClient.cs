using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace IotSec.Devices.Client.Internal
{
    /// <summary>What DeviceClient and ModuleClient share: one native client handle.</summary>
    internal sealed class InternalClient : IDisposable
    {
        /// <summary>The one completion callback handed to native code. A static readonly field,
        /// so the delegate (and the thunk native code calls) is never collected.</summary>
        private static readonly NativeMethods.SendCallback SendCompleted = OnSendCompleted;

        /// <summary>The one connection callback handed to native code (never collected, like
        /// <see cref="SendCompleted"/>); its context is the client's weak <c>GCHandle</c> to its
        /// <see cref="ConnectionEvents"/>.</summary>
        private static readonly NativeMethods.ConnectionCallback ConnectionChanged = OnConnectionChanged;

        private static readonly Lazy<string> ProductInfo = new Lazy<string>(RuntimeProductInfo);

        private readonly ClientHandle handle;
        private readonly string typeName;
        private readonly ConnectionEvents connectionEvents;

        private InternalClient(ClientHandle handle, string typeName)
        {
            this.handle = handle;
            this.typeName = typeName;
            connectionEvents = new ConnectionEvents(typeName);
        }

        internal static InternalClient Create(string connectionString, TransportType transportType, ClientOptions options, uint kind, string typeName)
        {
            if (connectionString == null) throw new ArgumentNullException("connectionString");
            if (transportType != TransportType.Mqtt && transportType != TransportType.Mqtt_Tcp_Only)
            {
                throw new NotSupportedException(
                    "iotsec supports MQTT over TLS only (TransportType.Mqtt or TransportType.Mqtt_Tcp_Only), not TransportType." + transportType);
            }
            NativeLifetime.Ensure();
            ClientHandle handle = NativeMethods.iotsec_client_create(Utf8.ToNative(connectionString, "connectionString"), kind);
            if (handle.IsInvalid)
            {
                var error = Errors.Last("connectionString");
                handle.Dispose();
                throw error;
            }
            try
            {
                SetOption(handle, "product_info", ProductInfo.Value);
                if (options != null)
                {
                    foreach (var option in options.ToNative()) SetOption(handle, option.Key, option.Value);
                }
            }
            catch
            {
                handle.Dispose();
                throw;
            }
            return new InternalClient(handle, typeName);
        }

        private static void SetOption(ClientHandle handle, string name, string value)
        {
            uint status = NativeMethods.iotsec_client_set_option(handle, Utf8.ToNative(name, "options"), Utf8.ToNative(value, "options"));
            if (status != NativeMethods.IOTSEC_OK) throw Errors.Last("options");
        }

        /// <summary>"csharp {runtime} {version}", e.g. "csharp mono 6.8.0.105": the part of the
        /// user agent that names the binding.</summary>
        private static string RuntimeProductInfo()
        {
            string description;
            try
            {
                description = RuntimeInformation.FrameworkDescription ?? "";
            }
            catch (Exception)
            {
                description = "";
            }
            int paren = description.IndexOf('(');
            if (paren >= 0) description = description.Substring(0, paren);
            var sb = new StringBuilder("csharp");
            foreach (string word in description.Trim().ToLowerInvariant().Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var clean = new StringBuilder();
                foreach (char c in word)
                {
                    // Keep the user agent's "(binding runtime; os; arch)" shape intact.
                    if (c < 128 && (char.IsLetterOrDigit(c) || c == '.' || c == '-' || c == '+' || c == '_')) clean.Append(c);
                }
                if (clean.Length > 0) sb.Append(' ').Append(clean);
            }
            return sb.ToString();
        }

        internal bool IsDisposed { get { return handle.IsClosed; } }

        private Exception Disposed()
        {
            return new IotSecObjectDisposedException(typeName, "the client was disposed");
        }

        private void ThrowIfDisposed()
        {
            if (handle.IsClosed) throw Disposed();
        }

        internal Task OpenAsync(CancellationToken cancellationToken)
        {
            return RunBlocking(() => NativeMethods.iotsec_client_connect(handle), cancellationToken);
        }

        internal Task CloseAsync(CancellationToken cancellationToken)
        {
            return RunBlocking(() => NativeMethods.iotsec_client_disconnect(handle), cancellationToken);
        }

        /// <summary>Runs a blocking native call on the thread pool; its last error is read on
        /// that same thread.</summary>
        private Task RunBlocking(Func<uint> call, CancellationToken cancellationToken)
        {
            ThrowIfDisposed();
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
            Task task = Task.Run(() =>
            {
                uint status;
                try
                {
                    status = call();
                }
                catch (ObjectDisposedException)
                {
                    throw Disposed();
                }
                if (status != NativeMethods.IOTSEC_OK) throw Errors.Last(null, typeName);
            });
            return cancellationToken.CanBeCanceled ? WithCancellation(task, cancellationToken) : task;
        }

        /// <summary>A task that ends with <paramref name="task"/> or, earlier, canceled. The
        /// native operation itself goes on (the C library has no way to cancel it).</summary>
        private static Task WithCancellation(Task task, CancellationToken cancellationToken)
        {
            var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var registration = cancellationToken.Register(() => tcs.TrySetCanceled(cancellationToken));
            task.ContinueWith(t =>
            {
                registration.Dispose();
                if (t.IsFaulted) tcs.TrySetException(t.Exception.InnerExceptions);
                else if (t.IsCanceled) tcs.TrySetCanceled();
                else tcs.TrySetResult(true);
            }, TaskScheduler.Default);
            return tcs.Task;
        }

        internal Task SendEventAsync(Message message, CancellationToken cancellationToken)
        {
            if (message == null) throw new ArgumentNullException("message");
            ThrowIfDisposed();
            return Send(message, cancellationToken);
        }

        internal Task SendEventBatchAsync(IEnumerable<Message> messages, CancellationToken cancellationToken)
        {
            if (messages == null) throw new ArgumentNullException("messages");
            var list = new List<Message>(messages);
            foreach (var m in list)
            {
                if (m == null) throw new ArgumentException("the batch contains a null message", "messages");
            }
            ThrowIfDisposed();
            var sends = new List<Task>(list.Count);
            foreach (var m in list)
            {
                Task send;
                try
                {
                    send = Send(m, cancellationToken);
                }
                catch (Exception e)
                {
                    send = Task.FromException(e);
                }
                sends.Add(send);
            }
            return Task.WhenAll(sends);
        }

        /// <summary>Queues one send; refusals (schema, size, options) come back as a faulted task.</summary>
        private Task Send(Message message, CancellationToken cancellationToken)
        {
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
            var pending = new PendingSend(typeName);
            GCHandle context = GCHandle.Alloc(pending);
            uint status;
            try
            {
                status = NativeMethods.iotsec_client_send_async(handle, message.Handle, SendCompleted, GCHandle.ToIntPtr(context));
            }
            catch (ObjectDisposedException e)
            {
                context.Free();
                if (e is IIotSecError) throw;
                throw Disposed();
            }
            catch
            {
                context.Free();
                throw;
            }
            if (status != NativeMethods.IOTSEC_OK)
            {
                // Refused: the callback will never run. The last error is this thread's.
                Exception error = Errors.Last("message", typeName);
                context.Free();
                return Task.FromException(error);
            }
            if (cancellationToken.CanBeCanceled) pending.WatchCancellation(cancellationToken);
            return pending.Completion.Task;
        }

        /// <summary>Runs on an iotsec thread (or the thread disposing the client) once per
        /// accepted send. Nothing may escape into native code.</summary>
        private static void OnSendCompleted(uint status, IntPtr errorMessage, IntPtr context)
        {
            try
            {
                GCHandle gcHandle = GCHandle.FromIntPtr(context);
                var pending = (PendingSend)gcHandle.Target;
                gcHandle.Free();
                if (status == NativeMethods.IOTSEC_OK)
                {
                    pending.Complete(null);
                }
                else
                {
                    pending.Complete(Errors.Create(status, Utf8.FromNative(errorMessage), null, null, pending.TypeName));
                }
            }
            catch (Exception)
            {
                // Never let an exception unwind into native code.
            }
        }

        /// <summary>Sets (or, with null, removes) the connection status handler.</summary>
        internal void SetConnectionStatusChangesHandler(ConnectionStatusChangesHandler handler)
        {
            bool added = false;
            try
            {
                // Keeps the native client (and the context freed with it) alive during the call.
                handle.DangerousAddRef(ref added);
            }
            catch (ObjectDisposedException)
            {
                throw Disposed();
            }
            try
            {
                lock (connectionEvents)
                {
                    if (handle.ConnectionContext == IntPtr.Zero)
                    {
                        handle.ConnectionContext = GCHandle.ToIntPtr(GCHandle.Alloc(connectionEvents, GCHandleType.Weak));
                    }
                    // The handler first: a change already queued is delivered to the new handler
                    // (or dropped, after a removal).
                    connectionEvents.Handler = handler;
                    uint status = handler == null
                        ? NativeMethods.iotsec_client_set_connection_callback(handle, null, IntPtr.Zero)
                        : NativeMethods.iotsec_client_set_connection_callback(handle, ConnectionChanged, handle.ConnectionContext);
                    if (status != NativeMethods.IOTSEC_OK) throw Errors.Last("statusChangesHandler", typeName);
                }
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }

        /// <summary>Runs on an iotsec thread for every connection state change. Only queues the
        /// change (<see cref="ConnectionEvents.Post"/>); nothing may escape into native code.</summary>
        private static void OnConnectionChanged(uint state, uint status, uint reason, uint attempt, uint errorKind, IntPtr errorMessage, IntPtr context)
        {
            try
            {
                ConnectionStatus? sdkStatus = ConnectionEvents.StatusOf(status);
                if (!sdkStatus.HasValue || context == IntPtr.Zero) return; // a change the SDK's handler does not hear of
                var events = GCHandle.FromIntPtr(context).Target as ConnectionEvents;
                if (events == null) return; // the client was collected; its native side is being destroyed
                events.Post(sdkStatus.Value, ConnectionEvents.ReasonOf(reason));
            }
            catch (Exception)
            {
                // Never let an exception unwind into native code.
            }
        }

        public void Dispose()
        {
            handle.Dispose();
        }

        private sealed class PendingSend
        {
            internal readonly TaskCompletionSource<bool> Completion =
                new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

            private CancellationTokenRegistration registration;
            private bool completed;

            internal PendingSend(string typeName) { TypeName = typeName; }

            internal string TypeName { get; private set; }

            internal void WatchCancellation(CancellationToken token)
            {
                var r = token.Register(() => Completion.TrySetCanceled(token));
                bool dispose;
                lock (this)
                {
                    dispose = completed;
                    if (!completed) registration = r;
                }
                if (dispose) r.Dispose();
            }

            internal void Complete(Exception error)
            {
                CancellationTokenRegistration r;
                lock (this)
                {
                    completed = true;
                    r = registration;
                    registration = default(CancellationTokenRegistration);
                }
                // Continuations run asynchronously: nothing of the user's runs on this thread.
                if (error == null) Completion.TrySetResult(true);
                else Completion.TrySetException(error);
                r.Dispose();
            }
        }
    }
}
