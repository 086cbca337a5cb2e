// DeviceClient / ModuleClient against real brokers on 127.0.0.1: mosquitto over TLS (what it
// received is read back from the recorder) and the local hub (SAS checked, stores by kind).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using IotSec.Devices.Client;
using IotSec.Devices.Client.Internal;
using NUnit.Framework;
using TransportType = IotSec.Devices.Client.TransportType;

namespace IotSec.Tests
{
    [TestFixture]
    public class ClientTests
    {
        internal const string ProcessCreateEvents =
            "[{\"name\":\"ProcessCreate\",\"records\":[{\"Executable\":\"/usr/bin/myApp\",\"ProcessId\":11750,"
            + "\"ParentProcessId\":1593,\"UserId\":\"1000\",\"UserName\":\"aUser\",\"CommandLine\":\"myApp -a -b\"}]},"
            + " {\"name\":\"ListeningPorts\",\"records\":[]}]";

        private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

        private static string ValidBody { get { return TestEnv.ReadVector("guide/guide_message_valid.json"); } }

        private static Message SecurityMessageOf(string body)
        {
            var m = new Message(Encoding.UTF8.GetBytes(body));
            m.SetAsSecurityMessage();
            return m;
        }

        private static void Wait(Task task, TimeSpan timeout)
        {
            Assert.IsTrue(((IAsyncResult)task).AsyncWaitHandle.WaitOne(timeout), "the task did not complete in " + timeout);
            task.GetAwaiter().GetResult(); // throws the task's own exception, not an AggregateException
        }

        private static Message Golden(string body)
        {
            var m = SecurityMessageOf(body);
            m.MessageId = "golden-msg-0001";
            m.ContentType = "application/json";
            m.ContentEncoding = "utf-8";
            m.Properties.Add("customProp", "customValue");
            return m;
        }

        /// <summary>WIRE.md's golden topics, byte for byte, as mosquitto received them (strict
        /// validation, the guide's valid message).</summary>
        [Test]
        public void GoldenTopicsOnTheWire()
        {
            const string ModuleTopic = "devices/dev-py/modules/mod1/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue";
            const string DeviceTopic = "devices/dev-py/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue";
            byte[] body = Encoding.UTF8.GetBytes(ValidBody);
            var broker = TestEnv.Mosquitto;
            Func<string, Func<Received, bool>> match = topic => r => r.Topic == topic && r.Payload.SequenceEqual(body) && r.Qos == 1;
            int modulesBefore = broker.Where(match(ModuleTopic)).Count;
            int devicesBefore = broker.Where(match(DeviceTopic)).Count;

            using (var module = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs("dev-py", "mod1"), TransportType.Mqtt, TestEnv.MosquittoOptions()))
            using (var device = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("dev-py"), TransportType.Mqtt_Tcp_Only, TestEnv.MosquittoOptions()))
            using (var m1 = Golden(ValidBody))
            using (var m2 = Golden(ValidBody))
            {
                Wait(Task.WhenAll(module.SendEventAsync(m1), device.SendEventAsync(m2)), Long);
            }
            Assert.AreEqual(modulesBefore + 1, broker.WaitFor(match(ModuleTopic), modulesBefore + 1).Count, "module golden topic");
            Assert.AreEqual(devicesBefore + 1, broker.WaitFor(match(DeviceTopic), devicesBefore + 1).Count, "device golden topic");
        }

        /// <summary>SdkAssignsMessageId.WhenUnset: a message without an id arrives at mosquitto
        /// with a UUID of its own, one with an id keeps it; a durable queue file is created and
        /// the sends through it complete.</summary>
        [Test]
        public void SdkAssignsMessageIdWhenUnsetAndADurableQueue()
        {
            var broker = TestEnv.Mosquitto;
            string queue = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "iotsec-cs-" + Guid.NewGuid().ToString("N") + ".redb");
            var options = TestEnv.MosquittoOptions();
            options.SdkAssignsMessageId = SdkAssignsMessageId.WhenUnset;
            options.DurableQueueFile = queue;
            options.ReconnectInitialDelay = TimeSpan.FromMilliseconds(200);
            options.ReconnectMaxDelay = TimeSpan.FromSeconds(2);
            options.ReconnectJitter = 0.2;
            const string Base = "devices/cs-ids/messages/events/";
            int before = broker.Where(r => r.Topic.StartsWith(Base)).Count;
            try
            {
                using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("cs-ids"), options))
                using (var plain = new Message(Encoding.UTF8.GetBytes("no id")))
                using (var own = new Message(Encoding.UTF8.GetBytes("own id")) { MessageId = "cs-mine-1" })
                {
                    Wait(client.SendEventAsync(plain), Long);
                    Wait(client.SendEventAsync(own), Long);
                    Assert.IsNull(plain.MessageId, "the caller's message is not changed");
                    Assert.IsTrue(System.IO.File.Exists(queue), "the durable queue file exists");
                }
                var got = broker.WaitFor(r => r.Topic.StartsWith(Base), before + 2).Skip(before).Select(r => r.Topic).ToList();
                Assert.AreEqual(2, got.Count, string.Join(", ", got));
                StringAssert.StartsWith(Base + "%24.mid=", got[0]);
                Guid id;
                Assert.IsTrue(Guid.TryParse(got[0].Substring((Base + "%24.mid=").Length), out id), got[0]);
                Assert.AreEqual(Base + "%24.mid=cs-mine-1", got[1]);
            }
            finally
            {
                if (System.IO.File.Exists(queue)) System.IO.File.Delete(queue);
            }
        }

        /// <summary>OpenAsync connects with iotsec's user agent naming this binding and the real
        /// runtime; CloseAsync disconnects; the next send connects again.</summary>
        [Test]
        public void OpenCloseAndReopenWithTheUserAgent()
        {
            string device = TestEnv.Unique("open");
            var broker = TestEnv.Mosquitto;
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            {
                Wait(client.OpenAsync(), Long);
                Func<string[]> connects = () => broker.LogLines().Where(l => l.Contains("New client connected") && l.Contains(" as " + device + " ")).ToArray();
                var lines = TestEnv.WaitFor(() => connects().ToList(), 1, TimeSpan.FromSeconds(10));
                Assert.AreEqual(1, lines.Count, "mosquitto logged no connection of " + device);
                string description = RuntimeInformation.FrameworkDescription;
                string runtime = description.Substring(0, description.IndexOf(" (", StringComparison.Ordinal) >= 0 ? description.IndexOf(" (", StringComparison.Ordinal) : description.Length).ToLowerInvariant();
                string agent = Uri.EscapeDataString("iotsec/" + IotSecRuntime.Version + " (csharp " + runtime + "; linux; x86_64)");
                StringAssert.Contains("u'localhost/" + device + "/?api-version=", lines[0]);
                StringAssert.Contains("DeviceClientType=" + agent + "'", lines[0]);

                Wait(client.CloseAsync(), Long);
                var closed = TestEnv.WaitFor(() => broker.LogLines().Where(l => l.Contains("Client " + device + " disconnected")).ToList(), 1, TimeSpan.FromSeconds(10));
                Assert.AreEqual(1, closed.Count, "no MQTT DISCONNECT from " + device);

                using (var m = SecurityMessageOf(ValidBody)) Wait(client.SendEventAsync(m), Long);
                Assert.AreEqual(1, broker.FromDevice(device, 1).Count);
                Assert.AreEqual(2, connects().Length, "the send after CloseAsync connects again");
            }
        }

        /// <summary>1,000 SendEventAsync calls made at once from many threads all complete, each
        /// message arrives once, and no continuation runs on iotsec's threads.</summary>
        [Test]
        public void ThousandConcurrentSendsAllComplete()
        {
            const int N = 1000;
            string device = TestEnv.Unique("many");
            string body = ValidBody;
            var messages = new Message[N];
            for (int i = 0; i < N; i++)
            {
                messages[i] = SecurityMessageOf(body);
                messages[i].MessageId = "m-" + i;
            }
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            {
                Wait(client.OpenAsync(), Long);
                var watch = Stopwatch.StartNew();
                var sends = Enumerable.Range(0, N).Select(i => Task.Run(() => client.SendEventAsync(messages[i]))).ToArray();
                Assert.IsTrue(Task.WaitAll(sends, Long), "not every send completed within a minute");
                double seconds = watch.Elapsed.TotalSeconds;
                Console.WriteLine("# {0} concurrent sends (valid security messages, validated) in {1:F3} s: {2:F0} msg/s", N, seconds, N / seconds);
                Assert.IsTrue(sends.All(t => t.Status == TaskStatus.RanToCompletion));
            }
            foreach (var m in messages) m.Dispose();
            var got = TestEnv.Mosquitto.FromDevice(device, N, 30);
            Assert.AreEqual(N, got.Count);
            Assert.AreEqual(N, got.Select(r => r.Topic).Distinct().Count(), "every message id exactly once");
        }

        [Test]
        public void ContinuationsDoNotRunOnIotsecThreads()
        {
            string device = TestEnv.Unique("cont");
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            {
                Wait(client.OpenAsync(), Long);
                int checkedCount = 0;
                for (int i = 0; i < 20 && checkedCount < 5; i++)
                {
                    using (var m = new Message(Encoding.UTF8.GetBytes("x")))
                    {
                        var testThread = Thread.CurrentThread;
                        var send = client.SendEventAsync(m);
                        var where = send.ContinueWith(_ => Thread.CurrentThread, TaskContinuationOptions.ExecuteSynchronously);
                        Wait(where, Long);
                        // Attached after the send completed, it ran inline here: that proves nothing.
                        if (where.Result == testThread) continue;
                        Assert.IsTrue(where.Result.IsThreadPoolThread, "a continuation ran on a thread that is not the thread pool's (iotsec's callback thread?): " + where.Result.Name);
                        checkedCount++;
                    }
                }
                Assert.Greater(checkedCount, 0);
            }
        }

        /// <summary>A batch is sent message by message: the invalid one fails alone, the others arrive in order.</summary>
        [Test]
        public void BatchSendsEveryMessageAndReportsTheInvalidOne()
        {
            string device = TestEnv.Unique("batch");
            var broker = TestEnv.Mosquitto;
            var batch = new List<Message>();
            for (int i = 0; i < 5; i++)
            {
                var m = SecurityMessageOf(i == 2 ? TestEnv.ReadVector("guide/guide_message.json") : ValidBody);
                m.MessageId = "b-" + i;
                batch.Add(m);
            }
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            {
                Task task = client.SendEventBatchAsync(batch);
                var e = Assert.Throws<SchemaValidationException>(() => task.GetAwaiter().GetResult());
                Assert.AreEqual("/Events/0/Payload/0/UserId", e.Violations.Single().Pointer);
                Assert.AreEqual(1, task.Exception.InnerExceptions.Count);

                var got = broker.FromDevice(device, 4);
                CollectionAssert.AreEqual(new[] { "b-0", "b-1", "b-3", "b-4" }, got.Select(r => r.Topic.Split(new[] { "%24.mid=" }, StringSplitOptions.None)[1].Split('&')[0]).ToArray());

                batch.RemoveAt(2);
                Wait(client.SendEventBatchAsync(batch), Long);
                Assert.AreEqual(8, broker.FromDevice(device, 8).Count);
                Assert.Throws<ArgumentNullException>(() => client.SendEventBatchAsync(null));
                Assert.Throws<ArgumentException>(() => client.SendEventBatchAsync(new Message[] { null }));
            }
            foreach (var m in batch) m.Dispose();
        }

        [Test]
        public void ModuleOutputNameIsSent()
        {
            string device = TestEnv.Unique("output");
            using (var client = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs(device, "edge"), TestEnv.MosquittoOptions()))
            using (var m = new Message(Encoding.UTF8.GetBytes("{}")))
            {
                Wait(client.SendEventAsync("alerts", m), Long);
                Assert.AreEqual("alerts", m.OutputName);
                Assert.Throws<ArgumentException>(() => client.SendEventAsync("", m));
            }
            var got = TestEnv.Mosquitto.FromDevice(device, 1);
            Assert.AreEqual("devices/" + device + "/modules/edge/messages/events/%24.on=alerts", got.Single().Topic);
        }

        /// <summary>The hub checks SAS signatures: a registered device's connection string works,
        /// a wrong key is refused (CREDENTIAL_REFUSED), and the builder's message is stored.</summary>
        [Test]
        public void HubAcceptsTheRegisteredKeyOnlyAndStoresBuiltMessages()
        {
            var hub = TestEnv.Hub;
            string device = TestEnv.Unique("hub-dev");
            string cs = hub.AddDevice(device);
            using (var client = DeviceClient.CreateFromConnectionString(cs, hub.Options()))
            using (var m = SecurityMessage.Create(Guid.NewGuid(), "1.0.0", ProcessCreateEvents))
            {
                m.MessageId = "built-1";
                Wait(client.SendEventAsync(m), Long);
            }
            var stored = hub.Store("security", device, 2);
            Assert.AreEqual(2, stored.Count, "one record per event");
            CollectionAssert.AreEquivalent(new[] { "ProcessCreate", "ListeningPorts" }, stored.Select(r => ((JsonObject)r.Get("event")).GetString("Name")).ToArray());
            Assert.AreEqual("built-1", stored[0].GetString("message_id"));
            Assert.IsNull(stored[0].Get("module_id"));

            string key = cs.Substring(cs.IndexOf("SharedAccessKey=", StringComparison.Ordinal) + "SharedAccessKey=".Length);
            string wrong = cs.Replace(key, TestEnv.Key);
            using (var client = DeviceClient.CreateFromConnectionString(wrong, hub.Options()))
            {
                var e = Assert.Catch<IotSecException>(() => client.OpenAsync().GetAwaiter().GetResult());
                Assert.AreEqual(ErrorCode.CredentialRefused, e.ErrorCode, e.Message);
                StringAssert.DoesNotContain(TestEnv.Key, e.Message);
                StringAssert.DoesNotContain(key, e.Message);
            }
        }

        /// <summary>Validation off: an invalid security message is sent, and the hub drops it
        /// (as the service would, silently) into its dropped store with the violation.</summary>
        [Test]
        public void ValidationOffSendsInvalidMessagesThatTheHubDrops()
        {
            var hub = TestEnv.Hub;
            string device = TestEnv.Unique("hub-off");
            string cs = hub.AddDevice(device, "mod");
            var options = hub.Options();
            options.SchemaValidation = SchemaValidationMode.Off;
            using (var client = ModuleClient.CreateFromConnectionString(cs, options))
            using (var m = SecurityMessageOf(TestEnv.ReadVector("guide/guide_message.json")))
            {
                Wait(client.SendEventAsync(m), Long);
            }
            var dropped = hub.Store("dropped", device, 1);
            Assert.AreEqual(1, dropped.Count);
            var violation = (JsonObject)((List<object>)dropped[0].Get("violations"))[0];
            Assert.AreEqual("/Events/0/Payload/0/UserId", violation.GetString("pointer"));
            Assert.AreEqual(0, hub.Store("security", device, 1, 0.5).Count);
        }

        /// <summary>An x509=true device authenticates with its certificate (ClientOptions files)
        /// on mosquitto's listener that requires one; without the certificate it cannot connect.</summary>
        [Test]
        public void X509DeviceOverMutualTls()
        {
            var broker = TestEnv.Mosquitto;
            const string Cs = "HostName=localhost;DeviceId=x509-device;x509=true";
            string id = TestEnv.Unique("x509-msg");
            var options = new ClientOptions
            {
                TrustedCertificatesFile = broker.CaFile,
                Port = broker.MtlsPort,
                ClientCertificateFile = broker.ClientCert,
                ClientKeyFile = broker.ClientKey,
            };
            using (var client = DeviceClient.CreateFromConnectionString(Cs, options))
            using (var m = SecurityMessageOf(ValidBody))
            {
                m.MessageId = id;
                Wait(client.SendEventAsync(m), Long);
            }
            string topic = "devices/x509-device/messages/events/%24.mid=" + id + "&" + TestEnv.SecuritySuffix;
            Assert.AreEqual(1, broker.WaitFor(r => r.Topic == topic, 1).Count);

            using (var client = DeviceClient.CreateFromConnectionString(Cs, new ClientOptions { TrustedCertificatesFile = broker.CaFile, Port = broker.MtlsPort }))
            {
                var e = Assert.Throws<IotSecArgumentException>(() => client.OpenAsync().GetAwaiter().GetResult());
                Assert.AreEqual(ErrorCode.InvalidArgument, e.ErrorCode);
                StringAssert.Contains("certificate", e.Message);
            }
        }

        [Test]
        public void ConnectionFailuresHaveTheirCodes()
        {
            string cs = TestEnv.DeviceCs(TestEnv.Unique("fail"));
            // Nothing listens on port 1.
            using (var client = DeviceClient.CreateFromConnectionString(cs, new ClientOptions { Port = 1, TrustedCertificatesFile = TestEnv.Mosquitto.CaFile }))
            {
                var e = Assert.Catch<IotSecException>(() => client.OpenAsync().GetAwaiter().GetResult());
                Assert.AreEqual(ErrorCode.ConnectionFailed, e.ErrorCode, e.Message);
            }
            // A CA that did not sign mosquitto's certificate: TLS, on open and on send.
            var wrongCa = new ClientOptions { Port = TestEnv.Mosquitto.TlsPort, TrustedCertificatesFile = TestEnv.Mosquitto.WrongCaFile };
            using (var client = DeviceClient.CreateFromConnectionString(cs, wrongCa))
            using (var m = new Message(new byte[1]))
            {
                var e = Assert.Catch<IotSecException>(() => client.OpenAsync().GetAwaiter().GetResult());
                Assert.AreEqual(ErrorCode.Tls, e.ErrorCode, e.Message);
                Assert.AreEqual("TLS", e.ErrorName);
                e = Assert.Catch<IotSecException>(() => client.SendEventAsync(m).GetAwaiter().GetResult());
                Assert.AreEqual(ErrorCode.Tls, e.ErrorCode, e.Message);
            }
        }

        /// <summary>A listener that accepts and never answers: connecting times out
        /// (TimeoutException), a pending send is canceled by its token, and Dispose completes
        /// the sends still pending.</summary>
        [Test]
        public void SilentBrokerTimeoutsCancellationAndDispose()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var accepted = new List<TcpClient>();
            listener.BeginAcceptTcpClient(OnAccept, Tuple.Create(listener, accepted));
            try
            {
                int port = ((IPEndPoint)listener.LocalEndpoint).Port;
                string cs = TestEnv.DeviceCs(TestEnv.Unique("silent"));
                var options = new ClientOptions { Port = port, TrustedCertificatesFile = TestEnv.Mosquitto.CaFile, ConnectTimeout = TimeSpan.FromMilliseconds(500) };
                using (var client = DeviceClient.CreateFromConnectionString(cs, options))
                {
                    var watch = Stopwatch.StartNew();
                    var e = Assert.Catch<TimeoutException>(() => client.OpenAsync().GetAwaiter().GetResult());
                    Assert.IsInstanceOf<IotSecTimeoutException>(e);
                    Assert.AreEqual(ErrorCode.Timeout, ((IIotSecError)e).ErrorCode);
                    Assert.Less(watch.Elapsed.TotalSeconds, 10);
                }

                options.ConnectTimeout = TimeSpan.FromSeconds(60);
                options.MessageTimeout = TimeSpan.FromSeconds(60);
                var client2 = DeviceClient.CreateFromConnectionString(cs, options);
                using (var m = new Message(new byte[1]))
                using (var cts = new CancellationTokenSource())
                {
                    Task canceled = client2.SendEventAsync(m, cts.Token);
                    Task pending = client2.SendEventAsync(m);
                    Thread.Sleep(200);
                    Assert.IsFalse(canceled.IsCompleted || pending.IsCompleted, "nothing can be acknowledged by a silent listener");
                    cts.Cancel();
                    Assert.Catch<OperationCanceledException>(() => canceled.GetAwaiter().GetResult());
                    Assert.IsTrue(canceled.IsCanceled);

                    using (var already = new CancellationTokenSource())
                    {
                        already.Cancel();
                        Assert.IsTrue(client2.SendEventAsync(m, already.Token).IsCanceled);
                    }

                    var watch = Stopwatch.StartNew();
                    client2.Dispose();
                    Assert.Less(watch.Elapsed.TotalSeconds, 5, "Dispose closes at once");
                    Assert.IsTrue(((IAsyncResult)pending).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)), "Dispose completes pending sends");
                    var disposed = Assert.Catch<ObjectDisposedException>(() => pending.GetAwaiter().GetResult());
                    Assert.AreEqual(ErrorCode.Closed, ((IIotSecError)disposed).ErrorCode);
                }
            }
            finally
            {
                listener.Stop();
                lock (accepted) foreach (var c in accepted) c.Close();
            }
        }

        private static void OnAccept(IAsyncResult ar)
        {
            var state = (Tuple<TcpListener, List<TcpClient>>)ar.AsyncState;
            try
            {
                var c = state.Item1.EndAcceptTcpClient(ar);
                lock (state.Item2) state.Item2.Add(c);
                state.Item1.BeginAcceptTcpClient(OnAccept, state);
            }
            catch (ObjectDisposedException)
            {
            }
            catch (SocketException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }

        /// <summary>IotSecRuntime.Shutdown stops iotsec's threads; clients keep working afterwards.</summary>
        [Test]
        public void ShutdownThenSendAgain()
        {
            string device = TestEnv.Unique("restart");
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            using (var m = new Message(Encoding.UTF8.GetBytes("before")))
            {
                Wait(client.SendEventAsync(m), Long);
                IotSecRuntime.Shutdown();
                Wait(client.SendEventAsync(m), Long);
            }
            Assert.AreEqual(2, TestEnv.Mosquitto.FromDevice(device, 2).Count);
        }
    }
}
