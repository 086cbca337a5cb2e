// SetConnectionStatusChangesHandler against real brokers on 127.0.0.1: mosquitto over TLS, the
// shared local hub (SAS checked) and a private hub that a test kills by its PID and starts
// again on the same port.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using IotSec.Devices.Client;
using NUnit.Framework;

namespace IotSec.Tests
{
    /// <summary>Records handler calls and waits for one that matches.</summary>
    internal sealed class StatusRecorder
    {
        internal sealed class Change
        {
            internal ConnectionStatus Status;
            internal ConnectionStatusChangeReason Reason;
            internal bool OnThreadPool;

            public override string ToString() { return Status + "/" + Reason; }
        }

        private readonly List<Change> changes = new List<Change>();

        internal void Handler(ConnectionStatus status, ConnectionStatusChangeReason reason)
        {
            lock (changes)
            {
                changes.Add(new Change { Status = status, Reason = reason, OnThreadPool = Thread.CurrentThread.IsThreadPoolThread });
                Monitor.PulseAll(changes);
            }
        }

        internal List<Change> Changes
        {
            get { lock (changes) return new List<Change>(changes); }
        }

        internal List<ConnectionStatus> Statuses
        {
            get { lock (changes) return changes.Select(c => c.Status).ToList(); }
        }

        /// <summary>The index of the first change after <paramref name="after"/> that matches, waiting up to <paramref name="seconds"/>.</summary>
        internal int Await(Func<Change, bool> which, int after = -1, double seconds = 20)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
            lock (changes)
            {
                while (true)
                {
                    for (int i = after + 1; i < changes.Count; i++)
                    {
                        if (which(changes[i])) return i;
                    }
                    var left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero)
                        Assert.Fail("no matching status change within " + seconds + " s; got [" + string.Join(", ", changes) + "]");
                    Monitor.Wait(changes, left);
                }
            }
        }

        internal Change Await(ConnectionStatus status, int after = -1, double seconds = 20)
        {
            int i = Await(c => c.Status == status, after, seconds);
            return Changes[i];
        }

        internal int IndexOf(ConnectionStatus status, int after = -1, double seconds = 20)
        {
            return Await(c => c.Status == status, after, seconds);
        }
    }

    [TestFixture]
    public class ConnectionStatusTests
    {
        private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

        internal static void Wait(Task task, TimeSpan timeout)
        {
            Assert.IsTrue(((IAsyncResult)task).AsyncWaitHandle.WaitOne(timeout), "the task did not complete in " + timeout);
            task.GetAwaiter().GetResult();
        }

        internal static string RandomKey()
        {
            var bytes = new byte[32];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(bytes);
            return Convert.ToBase64String(bytes);
        }

        /// <summary>A port on 127.0.0.1 where nothing listens (bound, then closed).</summary>
        internal static int ClosedPort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        /// <summary>Connected / Connection_Ok on OpenAsync (device) and on the first send
        /// (module: the handler is on the shared base class); Disconnected / Client_Close on
        /// CloseAsync; Connected again when a send reopens. On the thread pool, in order.</summary>
        [Test, Timeout(60000)]
        public void ConnectedOnOpenAndFirstSendAndClientCloseOnCloseAsync()
        {
            var rec = new StatusRecorder();
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(TestEnv.Unique("cs-status")), TestEnv.MosquittoOptions()))
            {
                client.SetConnectionStatusChangesHandler(rec.Handler);
                Wait(client.OpenAsync(), Long);
                var up = rec.Await(ConnectionStatus.Connected);
                Assert.AreEqual(ConnectionStatusChangeReason.Connection_Ok, up.Reason);
                Assert.IsTrue(up.OnThreadPool, "the handler runs on the thread pool, not on an iotsec thread");

                Wait(client.CloseAsync(), Long);
                int closed = rec.IndexOf(ConnectionStatus.Disconnected);
                Assert.AreEqual(ConnectionStatusChangeReason.Client_Close, rec.Changes[closed].Reason);

                using (var m = new Message(Encoding.UTF8.GetBytes("reopened"))) Wait(client.SendEventAsync(m), Long);
                rec.IndexOf(ConnectionStatus.Connected, closed);
                Thread.Sleep(200); // nothing else comes
                CollectionAssert.AreEqual(new[] { ConnectionStatus.Connected, ConnectionStatus.Disconnected, ConnectionStatus.Connected }, rec.Statuses);
            }

            var modRec = new StatusRecorder();
            string device = TestEnv.Unique("cs-status-mod");
            using (var module = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs(device, "m1"), TestEnv.MosquittoOptions()))
            using (var m = new Message(Encoding.UTF8.GetBytes("first send connects")))
            {
                module.SetConnectionStatusChangesHandler(modRec.Handler);
                Wait(module.SendEventAsync(m), Long);
                Assert.AreEqual(ConnectionStatusChangeReason.Connection_Ok, modRec.Await(ConnectionStatus.Connected).Reason);
            }
            Assert.AreEqual(1, TestEnv.Mosquitto.FromDevice(device, 1).Count);
        }

        /// <summary>A private hub killed by its PID and started again on the same port:
        /// Connected, Disconnected_Retrying (No_Network), Connected; a send made during the
        /// outage waits, completes after the reconnect and is stored; CloseAsync then reports
        /// Disconnected / Client_Close, and failed reconnect attempts are not reported twice.</summary>
        [Test, Timeout(90000)]
        public void HubKilledAndRestartedGivesRetryingThenConnectedAndTheOutageSendCompletes()
        {
            using (var hub = new PrivateHub().Start())
            {
                string device = TestEnv.Unique("cs-restart");
                var rec = new StatusRecorder();
                using (var client = DeviceClient.CreateFromConnectionString(hub.AddDevice(device), hub.Options()))
                {
                    client.SetConnectionStatusChangesHandler(rec.Handler);
                    Wait(client.OpenAsync(), Long);
                    int up = rec.IndexOf(ConnectionStatus.Connected);
                    Assert.AreEqual(ConnectionStatusChangeReason.Connection_Ok, rec.Changes[up].Reason);

                    int pid = hub.Pid;
                    hub.Kill();
                    int lost = rec.IndexOf(ConnectionStatus.Disconnected_Retrying, up);
                    Assert.AreEqual(ConnectionStatusChangeReason.No_Network, rec.Changes[lost].Reason);

                    Task during;
                    using (var outage = new Message(Encoding.UTF8.GetBytes("{\"during\":\"outage\"}")))
                    {
                        outage.MessageId = "outage-1";
                        during = client.SendEventAsync(outage);
                    }
                    Assert.IsFalse(((IAsyncResult)during).AsyncWaitHandle.WaitOne(300), "the send waits while the hub is down");
                    hub.Start();
                    Assert.AreNotEqual(pid, hub.Pid);
                    int back = rec.IndexOf(ConnectionStatus.Connected, lost, 40);
                    Assert.AreEqual(ConnectionStatusChangeReason.Connection_Ok, rec.Changes[back].Reason);
                    Wait(during, TimeSpan.FromSeconds(30));
                    var stored = hub.Store("telemetry", device, 1);
                    CollectionAssert.AreEqual(new[] { "outage-1" }, stored.Select(o => o.GetString("message_id")).ToArray());

                    Wait(client.CloseAsync(), Long);
                    int closed = rec.IndexOf(ConnectionStatus.Disconnected, back);
                    Assert.AreEqual(ConnectionStatusChangeReason.Client_Close, rec.Changes[closed].Reason);
                }
                Thread.Sleep(200);
                CollectionAssert.AreEqual(
                    new[] { ConnectionStatus.Connected, ConnectionStatus.Disconnected_Retrying, ConnectionStatus.Connected, ConnectionStatus.Disconnected },
                    rec.Statuses, string.Join(", ", rec.Changes));
            }
        }

        /// <summary>A first connection that fails reports Disconnected with the reason: the hub
        /// refusing a wrong key (Bad_Credential), an untrusted server certificate
        /// (Communication_Error), nothing listening (No_Network).</summary>
        [Test, Timeout(90000)]
        public void FirstConnectFailuresAreDisconnectedWithTheReason()
        {
            var hub = TestEnv.Hub;
            string device = TestEnv.Unique("cs-badkey");
            string cs = hub.AddDevice(device);
            string wrongKey = cs.Substring(0, cs.IndexOf("SharedAccessKey=", StringComparison.Ordinal)) + "SharedAccessKey=" + RandomKey();
            var cases = new[]
            {
                Tuple.Create(wrongKey, hub.Options(), ErrorCode.CredentialRefused, ConnectionStatusChangeReason.Bad_Credential),
                Tuple.Create(TestEnv.DeviceCs(TestEnv.Unique("cs-tls")), new ClientOptions { TrustedCertificatesFile = TestEnv.Mosquitto.WrongCaFile, Port = TestEnv.Mosquitto.TlsPort },
                    ErrorCode.Tls, ConnectionStatusChangeReason.Communication_Error),
                Tuple.Create(TestEnv.DeviceCs(TestEnv.Unique("cs-refused")), new ClientOptions { TrustedCertificatesFile = TestEnv.Mosquitto.CaFile, Port = ClosedPort() },
                    ErrorCode.ConnectionFailed, ConnectionStatusChangeReason.No_Network),
            };
            foreach (var c in cases)
            {
                var rec = new StatusRecorder();
                using (var client = DeviceClient.CreateFromConnectionString(c.Item1, c.Item2))
                {
                    client.SetConnectionStatusChangesHandler(rec.Handler);
                    var e = Assert.Catch<IotSecException>(() => Wait(client.OpenAsync(), Long));
                    Assert.AreEqual(c.Item3, e.ErrorCode, e.Message);
                    var down = rec.Await(ConnectionStatus.Disconnected);
                    Assert.AreEqual(c.Item4, down.Reason, c.Item3.ToString());
                    Assert.IsFalse(rec.Statuses.Contains(ConnectionStatus.Connected));
                }
            }
            // The right key connects (so the refusal above is about the key).
            var ok = new StatusRecorder();
            using (var client = DeviceClient.CreateFromConnectionString(cs, hub.Options()))
            {
                client.SetConnectionStatusChangesHandler(ok.Handler);
                Wait(client.OpenAsync(), Long);
                ok.Await(ConnectionStatus.Connected);
            }
        }

        private sealed class CapturingListener : TraceListener
        {
            internal readonly StringBuilder Text = new StringBuilder();

            public override void Write(string message) { lock (Text) Text.Append(message); }

            public override void WriteLine(string message) { lock (Text) Text.AppendLine(message); }

            internal string Captured { get { lock (Text) return Text.ToString(); } }
        }

        /// <summary>A handler that throws is contained: the exception is reported through
        /// Trace, nothing reaches AppDomain.UnhandledException, the client still sends, and later
        /// changes are still delivered.</summary>
        [Test, Timeout(60000)]
        public void AThrowingHandlerIsReportedAndContained()
        {
            var listener = new CapturingListener();
            Trace.Listeners.Add(listener);
            int unhandled = 0;
            UnhandledExceptionEventHandler onUnhandled = (s, e) => Interlocked.Increment(ref unhandled);
            AppDomain.CurrentDomain.UnhandledException += onUnhandled;
            try
            {
                var rec = new StatusRecorder();
                int calls = 0;
                string device = TestEnv.Unique("cs-throw");
                using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
                {
                    client.SetConnectionStatusChangesHandler((status, reason) =>
                    {
                        rec.Handler(status, reason);
                        if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("boom from the status handler");
                    });
                    Wait(client.OpenAsync(), Long);
                    rec.Await(ConnectionStatus.Connected);
                    using (var m = new Message(Encoding.UTF8.GetBytes("still sends"))) Wait(client.SendEventAsync(m), Long);
                    Wait(client.CloseAsync(), Long);
                    Assert.AreEqual(ConnectionStatusChangeReason.Client_Close, rec.Await(ConnectionStatus.Disconnected).Reason, "later changes still arrive");
                    var deadline = DateTime.UtcNow.AddSeconds(10);
                    while (!listener.Captured.Contains("boom from the status handler") && DateTime.UtcNow < deadline) Thread.Sleep(20);
                    StringAssert.Contains("boom from the status handler", listener.Captured);
                    StringAssert.Contains("ConnectionStatusChangesHandler", listener.Captured);
                    StringAssert.Contains("IotSec.Devices.Client.DeviceClient", listener.Captured);
                }
                Assert.AreEqual(1, TestEnv.Mosquitto.FromDevice(device, 1).Count);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Assert.AreEqual(0, unhandled, "no exception reached AppDomain.UnhandledException");
            }
            finally
            {
                AppDomain.CurrentDomain.UnhandledException -= onUnhandled;
                Trace.Listeners.Remove(listener);
            }
        }

        /// <summary>A second handler replaces the first; null removes it (nothing more is
        /// delivered); setting one again works; after Dispose the call throws.</summary>
        [Test, Timeout(60000)]
        public void HandlersAreReplacedRemovedAndSetAgain()
        {
            var first = new StatusRecorder();
            var second = new StatusRecorder();
            var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(TestEnv.Unique("cs-unreg")), TestEnv.MosquittoOptions());
            client.SetConnectionStatusChangesHandler(null); // removing none is fine
            client.SetConnectionStatusChangesHandler(first.Handler);
            client.SetConnectionStatusChangesHandler(second.Handler);
            Wait(client.OpenAsync(), Long);
            second.Await(ConnectionStatus.Connected);

            client.SetConnectionStatusChangesHandler(null);
            Wait(client.CloseAsync(), Long);
            Wait(client.OpenAsync(), Long);
            Thread.Sleep(500);
            Assert.AreEqual(0, first.Changes.Count, "the replaced handler heard nothing");
            Assert.AreEqual(1, second.Changes.Count, "nothing after removal: " + string.Join(", ", second.Changes));

            client.SetConnectionStatusChangesHandler(second.Handler);
            Wait(client.CloseAsync(), Long);
            Assert.AreEqual(ConnectionStatusChangeReason.Client_Close, second.Await(ConnectionStatus.Disconnected, 0).Reason);

            client.Dispose();
            Assert.Throws<IotSecObjectDisposedException>(() => client.SetConnectionStatusChangesHandler(second.Handler));
            Assert.Throws<IotSecObjectDisposedException>(() => client.SetConnectionStatusChangesHandler(null));
            Thread.Sleep(200);
            Assert.AreEqual(2, second.Changes.Count, "Dispose reports nothing: " + string.Join(", ", second.Changes));
        }

        /// <summary>The native codes map to the SDK's enums; changes the SDK's handler does not
        /// hear of (connecting, a second failed reconnect attempt) are not delivered.</summary>
        [Test]
        public void NativeCodesMapToTheSdkEnums()
        {
            Assert.IsNull(IotSec.Devices.Client.Internal.ConnectionEvents.StatusOf(0));
            Assert.AreEqual(ConnectionStatus.Connected, IotSec.Devices.Client.Internal.ConnectionEvents.StatusOf(1));
            Assert.AreEqual(ConnectionStatus.Disconnected_Retrying, IotSec.Devices.Client.Internal.ConnectionEvents.StatusOf(2));
            Assert.AreEqual(ConnectionStatus.Disconnected, IotSec.Devices.Client.Internal.ConnectionEvents.StatusOf(3));
            var reasons = new[]
            {
                ConnectionStatusChangeReason.Connection_Ok, ConnectionStatusChangeReason.Expired_SAS_Token, ConnectionStatusChangeReason.Bad_Credential,
                ConnectionStatusChangeReason.No_Network, ConnectionStatusChangeReason.Communication_Error, ConnectionStatusChangeReason.Client_Close,
            };
            for (uint i = 0; i < reasons.Length; i++) Assert.AreEqual(reasons[i], IotSec.Devices.Client.Internal.ConnectionEvents.ReasonOf(i));
            // The SDK's names and values.
            Assert.AreEqual("Disconnected,Connected,Disconnected_Retrying,Disabled", string.Join(",", Enum.GetNames(typeof(ConnectionStatus))));
            Assert.AreEqual("Connection_Ok,Expired_SAS_Token,Device_Disabled,Bad_Credential,Retry_Expired,No_Network,Communication_Error,Client_Close",
                string.Join(",", Enum.GetNames(typeof(ConnectionStatusChangeReason))));
            Assert.AreEqual(7, (int)ConnectionStatusChangeReason.Client_Close);
        }
    }
}
