// Hostile input: null for every reference argument of every public member, use after Dispose,
// 10 MB bodies, 100,000 custom properties, JSON nested 100,000 levels deep, bytes and strings
// that are not valid UTF-8. Each gives its documented exception quickly; none crashes the
// process, hangs (every test has a time limit) or overflows a stack.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using IotSec.Devices.Client;
using NUnit.Framework;

namespace IotSec.Tests
{
    [TestFixture]
    public class HostileInputTests
    {
        private const int TenMb = 10 * 1024 * 1024;
        private const int Depth = 100000;

        /// <summary>"Fast": generous for a loaded 2-core machine, far below a hang.</summary>
        private static readonly TimeSpan Fast = TimeSpan.FromSeconds(5);

        /// <summary>Reference arguments where null is documented to mean "none" or "default".</summary>
        private static readonly HashSet<string> NullAllowed = new HashSet<string>
        {
            "options",               // CreateFromConnectionString(..., ClientOptions options): defaults
            "value@SetSystemProperty", // null removes the system property
            "statusChangesHandler",  // SetConnectionStatusChangesHandler(null) removes the handler
        };

        /// <summary>A client whose broker does not exist (port 1): every failure here comes before connecting.</summary>
        private static ClientOptions Offline() { return new ClientOptions { Port = 1, ConnectTimeout = TimeSpan.FromSeconds(2) }; }

        private static DeviceClient OfflineDevice(string name)
        {
            return DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(TestEnv.Unique(name)), Offline());
        }

        private static Message Security(byte[] body)
        {
            var m = new Message(body);
            m.SetAsSecurityMessage();
            return m;
        }

        private static byte[] Repeat(string s, int n)
        {
            var sb = new StringBuilder(s.Length * n);
            for (int i = 0; i < n; i++) sb.Append(s);
            return Encoding.ASCII.GetBytes(sb.ToString());
        }

        /// <summary>Runs <paramref name="call"/> under the time limit and returns how long it took.</summary>
        private static T Timed<T>(Func<T> call, string what, TimeSpan? limit = null)
        {
            var sw = Stopwatch.StartNew();
            T result = call();
            Assert.Less(sw.Elapsed, limit ?? Fast, what + " took " + sw.Elapsed);
            return result;
        }

        /// <summary>The exception a send's task ends with, waiting at most <see cref="Fast"/>.</summary>
        private static Exception SendFailure(IotHubClient client, Message message)
        {
            var sw = Stopwatch.StartNew();
            Task send = client.SendEventAsync(message);
            Assert.IsTrue(((IAsyncResult)send).AsyncWaitHandle.WaitOne(Fast), "the refused send completes at once");
            Assert.IsTrue(send.IsFaulted, "the send fails");
            Assert.Less(sw.Elapsed, Fast);
            return send.Exception.InnerException;
        }

        // ---- null arguments ----

        private static object Valid(Type type, ParameterInfo p, Type declaring)
        {
            if (type == typeof(string))
            {
                switch (p.Name)
                {
                    case "connectionString": return declaring == typeof(ModuleClient) ? TestEnv.ModuleCs("d", "m") : TestEnv.DeviceCs("d");
                    case "outputName": return "out1";
                    case "eventsJson": return "[]";
                    case "agentVersion": return "1.0";
                    case "name": return "message_id";
                    default: return "x";
                }
            }
            if (type == typeof(byte[])) return Encoding.ASCII.GetBytes("{}");
            if (type == typeof(Stream)) return new MemoryStream(new byte[1]);
            if (type == typeof(Message)) return new Message();
            if (type == typeof(IEnumerable<Message>)) return new[] { new Message() };
            if (type == typeof(ClientOptions)) return Offline();
            if (type == typeof(ConnectionStatusChangesHandler)) return (ConnectionStatusChangesHandler)((s, r) => { });
            if (type == typeof(KeyValuePair<string, string>[])) return new KeyValuePair<string, string>[4];
            if (type == typeof(KeyValuePair<string, string>)) return new KeyValuePair<string, string>("k", "v");
            if (type.IsValueType) return type == typeof(TransportType) ? TransportType.Mqtt : Activator.CreateInstance(type);
            Assert.Fail("HostileInputTests.Valid has no value of " + type + " (parameter " + p.Name + "): add one");
            return null;
        }

        private static bool IsNullable(ParameterInfo p)
        {
            Type t = p.ParameterType;
            return !t.IsValueType && !t.IsByRef && !p.IsOut;
        }

        /// <summary>Calls <paramref name="method"/> once per reference parameter, with null there
        /// and valid values elsewhere; expects ArgumentNullException naming that parameter,
        /// thrown by the call itself (not in a task). Returns how many calls it made.</summary>
        private static int CheckNulls(MethodBase method, Func<object> target, Type declaring, List<string> failures)
        {
            var ps = method.GetParameters();
            int checkedCount = 0;
            for (int i = 0; i < ps.Length; i++)
            {
                if (!IsNullable(ps[i])) continue;
                if (NullAllowed.Contains(ps[i].Name) || NullAllowed.Contains(ps[i].Name + "@" + method.Name)) continue;
                var args = new object[ps.Length];
                for (int j = 0; j < ps.Length; j++) args[j] = j == i || ps[j].IsOut ? null : Valid(ps[j].ParameterType, ps[j], declaring);
                string what = declaring.Name + "." + method.Name + "(" + string.Join(", ", ps.Select(x => x.ParameterType.Name + " " + x.Name)) + ") with " + ps[i].Name + " = null";
                checkedCount++;
                try
                {
                    object result = method is ConstructorInfo ? ((ConstructorInfo)method).Invoke(args) : method.Invoke(method.IsStatic ? null : target(), args);
                    var task = result as Task;
                    if (task != null) task.ContinueWith(t => { var unused = t.Exception; }); // observed
                    failures.Add(what + ": no exception (returned " + (result ?? "null") + ")");
                }
                catch (TargetInvocationException e)
                {
                    var ane = e.InnerException as ArgumentNullException;
                    if (ane == null) failures.Add(what + ": " + e.InnerException.GetType().Name + ": " + e.InnerException.Message);
                    else if (ane.ParamName != ps[i].Name) failures.Add(what + ": ArgumentNullException names '" + ane.ParamName + "'");
                }
            }
            return checkedCount;
        }

        /// <summary>Every public method and constructor of every public type of the package,
        /// and the Properties dictionary: null for a reference argument throws
        /// ArgumentNullException naming it (except where null is documented to mean "none").
        /// A public type this test does not know fails it, so new API is covered too.</summary>
        [Test, Timeout(60000)]
        public void NullForAnyArgumentThrowsArgumentNullExceptionNamingIt()
        {
            var failures = new List<string>();
            int calls = 0;
            using (var device = OfflineDevice("null-dev"))
            using (var module = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs(TestEnv.Unique("null-mod"), "m"), Offline()))
            using (var message = new Message())
            {
                var instances = new Dictionary<Type, Func<object>>
                {
                    { typeof(DeviceClient), () => device },
                    { typeof(ModuleClient), () => module },
                    { typeof(IotHubClient), () => device },
                    { typeof(Message), () => message },
                };
                // Types whose members take no reference argument that must not be null, or are data.
                var passive = new HashSet<Type> { typeof(ClientOptions), typeof(SchemaViolation), typeof(SchemaViolationPosition), typeof(IotSecRuntime) };
                foreach (Type type in typeof(Message).Assembly.GetExportedTypes())
                {
                    if (type.IsEnum || type.IsInterface || typeof(Delegate).IsAssignableFrom(type) || typeof(Exception).IsAssignableFrom(type) || passive.Contains(type)) continue;
                    const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
                    var members = type.GetMethods(Flags).Where(m => !m.IsSpecialName).Cast<MethodBase>().Concat(type.GetConstructors(Flags)).ToList();
                    foreach (var m in members)
                    {
                        if (!m.GetParameters().Any(IsNullable)) continue;
                        Func<object> target = null;
                        if (!m.IsStatic && !(m is ConstructorInfo) && !instances.TryGetValue(type, out target))
                        {
                            failures.Add("no instance of " + type + " for " + m.Name + ": add it to the test");
                            continue;
                        }
                        calls += CheckNulls(m, target, type, failures);
                    }
                }
                // The Properties dictionary (an internal type behind IDictionary<string, string>).
                IDictionary<string, string> props = message.Properties;
                foreach (Type iface in new[] { typeof(IDictionary<string, string>), typeof(ICollection<KeyValuePair<string, string>>) })
                {
                    foreach (MethodInfo m in iface.GetMethods())
                    {
                        if (m.GetParameters().Any(IsNullable)) calls += CheckNulls(m, () => props, iface, failures);
                    }
                }
                foreach (Action call in new Action[]
                {
                    () => props.Add(new KeyValuePair<string, string>(null, "v")),
                    () => props.Contains(new KeyValuePair<string, string>(null, "v")),
                    () => props.Remove(new KeyValuePair<string, string>(null, "v")),
                    () => props.Add(new KeyValuePair<string, string>("k", null)),
                })
                {
                    calls++;
                    try
                    {
                        call();
                        failures.Add("a KeyValuePair with a null key or value: no exception");
                    }
                    catch (ArgumentNullException)
                    {
                    }
                }
                Assert.AreEqual(0, props.Count, "nothing was added by the refused calls");
            }
            Assert.Greater(calls, 30, "the reflection found the public API");
            Assert.IsEmpty(failures, string.Join("\n", failures));
        }

        // ---- use after Dispose ----

        private static int CheckDisposed(object target, Type type, List<string> failures)
        {
            int calls = 0;
            var skip = new HashSet<string> { "Dispose", "ToString", "Equals", "GetHashCode", "GetType", "get_Properties" };
            foreach (MethodInfo m in type.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            {
                if (skip.Contains(m.Name) || m.DeclaringType == typeof(object)) continue;
                var ps = m.GetParameters();
                var args = ps.Select(p => p.IsOut ? null : Valid(p.ParameterType, p, type)).ToArray();
                string what = type.Name + "." + m.Name + "(" + string.Join(", ", ps.Select(p => p.ParameterType.Name)) + ")";
                calls++;
                try
                {
                    object result = m.Invoke(target, args);
                    failures.Add(what + " after Dispose: no exception (returned " + (result ?? "null") + ")");
                }
                catch (TargetInvocationException e)
                {
                    if (!(e.InnerException is ObjectDisposedException))
                        failures.Add(what + " after Dispose: " + e.InnerException.GetType().Name + ": " + e.InnerException.Message);
                    else if (!(e.InnerException is IIotSecError) || ((IIotSecError)e.InnerException).ErrorCode != ErrorCode.Closed)
                        failures.Add(what + " after Dispose: an ObjectDisposedException without ErrorCode.Closed");
                }
            }
            return calls;
        }

        /// <summary>Every public member of a disposed DeviceClient, ModuleClient, Message and its
        /// Properties throws ObjectDisposedException (ErrorCode.Closed) at once; Dispose twice is
        /// harmless; sends pending when a client is disposed end with it, none hangs.</summary>
        [Test, Timeout(60000)]
        public void EverythingAfterDisposeThrowsObjectDisposedException()
        {
            var failures = new List<string>();
            int calls = 0;
            var device = OfflineDevice("disposed-dev");
            var module = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs(TestEnv.Unique("disposed-mod"), "m"), Offline());
            var message = new Message(Encoding.ASCII.GetBytes("x"));
            IDictionary<string, string> props = message.Properties;
            foreach (IDisposable d in new IDisposable[] { device, module, message })
            {
                d.Dispose();
                d.Dispose();
            }
            calls += Timed(() => CheckDisposed(device, typeof(DeviceClient), failures), "DeviceClient after Dispose");
            calls += Timed(() => CheckDisposed(module, typeof(ModuleClient), failures), "ModuleClient after Dispose");
            calls += Timed(() => CheckDisposed(message, typeof(Message), failures), "Message after Dispose");
            foreach (Action call in new Action[]
            {
                () => { var unused = props.Count; }, () => { var unused = props["k"]; }, () => props["k"] = "v", () => props.Add("k", "v"),
                () => props.ContainsKey("k"), () => props.Remove("k"), () => props.Clear(), () => props.ToList(),
                () => { string v; props.TryGetValue("k", out v); }, () => { var unused = props.Keys; },
            })
            {
                calls++;
                try
                {
                    call();
                    failures.Add("Properties after Dispose: no exception");
                }
                catch (ObjectDisposedException)
                {
                }
            }
            Assert.Greater(calls, 30);
            Assert.IsEmpty(failures, string.Join("\n", failures));

            // Sends pending when the client is disposed end (with ObjectDisposedException), never hang.
            using (var live = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(TestEnv.Unique("disposed-busy")), TestEnv.MosquittoOptions()))
            {
                var sends = new List<Task>();
                for (int i = 0; i < 2000; i++)
                {
                    using (var m = new Message(Encoding.ASCII.GetBytes("m" + i))) sends.Add(live.SendEventAsync(m));
                }
                live.Dispose();
                Assert.IsTrue(Task.WaitAll(sends.Select(t => t.ContinueWith(_ => { })).ToArray(), TimeSpan.FromSeconds(20)), "every send ended");
                foreach (var t in sends.Where(t => t.IsFaulted))
                    Assert.IsInstanceOf<ObjectDisposedException>(t.Exception.InnerException);
            }
        }

        // ---- size ----

        /// <summary>A 10 MB body fails with MessageTooLargeException (MESSAGE_TOO_LARGE, naming
        /// the limit) at once, security message or not; validating 10 MB of text is quick.</summary>
        [Test, Timeout(60000)]
        public void TenMegabyteBodiesAreTooLargeAtOnce()
        {
            using (var client = OfflineDevice("big"))
            {
                byte[] big = Repeat("[", TenMb);
                using (var m = Timed(() => Security(big), "a 10 MB message"))
                {
                    var e = SendFailure(client, m);
                    Assert.IsInstanceOf<MessageTooLargeException>(e, e.ToString());
                    Assert.AreEqual(ErrorCode.MessageTooLarge, ((IotSecException)e).ErrorCode);
                    Assert.AreEqual("MESSAGE_TOO_LARGE", ((IotSecException)e).ErrorName);
                    StringAssert.Contains("262144", e.Message.Replace(",", ""));
                }
                using (var m = new Message(new byte[TenMb]))
                {
                    Assert.IsInstanceOf<MessageTooLargeException>(SendFailure(client, m));
                    Assert.AreEqual(TenMb, m.GetBytes().Length, "the body is intact");
                }
                using (var m = new Message(new MemoryStream(new byte[TenMb])))
                {
                    var batch = client.SendEventBatchAsync(new[] { m });
                    Assert.IsTrue(((IAsyncResult)batch).AsyncWaitHandle.WaitOne(Fast));
                    Assert.IsInstanceOf<MessageTooLargeException>(batch.Exception.InnerException);
                }
            }
            byte[] text = Encoding.ASCII.GetBytes("{\"AgentId\":\"" + new string('x', TenMb) + "\"}");
            Assert.Greater(Timed(() => SecurityMessageSchema.Validate(text), "validating 10 MB").Count, 0);
            Assert.IsFalse(Timed(() => SecurityMessageSchema.IsValid(text), "checking 10 MB"));
        }

        /// <summary>100,000 custom properties: setting them is quick, and the send fails with
        /// MessageTooLargeException (the topic is over 65,535 bytes) at once.</summary>
        [Test, Timeout(60000)]
        public void AHundredThousandPropertiesAreTooLargeQuickly()
        {
            using (var m = new Message(Encoding.ASCII.GetBytes("{}")))
            {
                Timed(() =>
                {
                    for (int i = 0; i < 100000; i++) m.Properties["property-" + i] = "value-" + i;
                    return 0;
                }, "setting 100,000 properties", TimeSpan.FromSeconds(15));
                Assert.AreEqual("value-99999", m.Properties["property-99999"]);
                using (var client = OfflineDevice("props"))
                {
                    var e = SendFailure(client, m);
                    Assert.IsInstanceOf<MessageTooLargeException>(e, e.ToString());
                    StringAssert.Contains("65535", e.Message.Replace(",", ""));
                }
                Assert.AreEqual(100000, Timed(() => m.Properties.Count, "counting 100,000 properties"));
            }
        }

        // ---- depth ----

        /// <summary>JSON nested 100,000 levels deep: one "json" violation (recursion limit) from
        /// Validate, false from IsValid, SchemaValidationException from a send, an argument error
        /// from the builder; no stack overflow.</summary>
        [Test, Timeout(60000)]
        public void JsonNestedAHundredThousandLevelsDeepGivesOneJsonViolation()
        {
            byte[] arrays = Repeat("[", Depth);
            byte[] objects = Repeat("{\"a\":", Depth).Concat(Repeat("}", Depth)).ToArray();
            foreach (byte[] body in new[] { arrays, objects })
            {
                var v = Timed(() => SecurityMessageSchema.Validate(body), "validating deep JSON");
                Assert.AreEqual(1, v.Count, string.Join("; ", v));
                Assert.AreEqual("json", v[0].Rule);
                StringAssert.Contains("recursion limit", v[0].Message);
                Assert.IsNotNull(v[0].Position);
                Assert.IsFalse(Timed(() => SecurityMessageSchema.IsValid(body), "checking deep JSON"));
            }
            using (var client = OfflineDevice("deep"))
            using (var m = Security(arrays))
            {
                var e = SendFailure(client, m);
                Assert.IsInstanceOf<SchemaValidationException>(e, e.ToString());
                Assert.AreEqual("json", ((SchemaValidationException)e).Violations[0].Rule);
            }
            var built = Assert.Throws<IotSecArgumentException>(() => Timed(() => SecurityMessage.BuildBody(Guid.NewGuid(), "1.0", Encoding.ASCII.GetString(arrays)), "building from deep JSON"));
            Assert.AreEqual(ErrorCode.InvalidArgument, built.ErrorCode);
            StringAssert.Contains("recursion limit", built.Message);
            Assert.Throws<IotSecArgumentException>(() => SecurityMessage.Create(Guid.NewGuid(), "1.0", Encoding.ASCII.GetString(objects)));
        }

        // ---- not UTF-8 ----

        /// <summary>Body bytes that are not UTF-8: a security message fails validation with a
        /// "utf8" violation at the offending offset (nothing sent); any other message is sent as
        /// it is. Strings with a lone surrogate or a NUL are argument errors naming the argument.</summary>
        [Test, Timeout(60000)]
        public void BytesThatAreNotUtf8()
        {
            byte[] body = Encoding.ASCII.GetBytes("{\"AgentId\": \"??\"}");
            body[13] = 0xff;
            body[14] = 0xfe;
            var v = SecurityMessageSchema.Validate(body);
            Assert.AreEqual(1, v.Count);
            Assert.AreEqual("utf8", v[0].Rule);
            Assert.AreEqual(13, v[0].Position.Offset);
            Assert.IsFalse(SecurityMessageSchema.IsValid(body));

            string device = TestEnv.Unique("cs-utf8");
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            {
                using (var m = Security(body))
                {
                    var e = SendFailure(client, m);
                    Assert.IsInstanceOf<SchemaValidationException>(e, e.ToString());
                    Assert.AreEqual("utf8", ((SchemaValidationException)e).Violations[0].Rule);
                }
                using (var m = new Message(body))
                {
                    m.MessageId = "binary";
                    ConnectionStatusTests.Wait(client.SendEventAsync(m), TimeSpan.FromSeconds(60));
                }
            }
            var got = TestEnv.Mosquitto.FromDevice(device, 1);
            Assert.AreEqual(1, got.Count, "only the message without the security flag is sent");
            CollectionAssert.AreEqual(body, got[0].Payload, "sent byte for byte");

            // .NET strings are UTF-16: a lone surrogate cannot become UTF-8, and C strings cannot carry NUL.
            foreach (string bad in new[] { "\ud800", "a\udfffb", "nul\0" })
            {
                var e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString("HostName=localhost;DeviceId=d" + bad + ";SharedAccessKey=" + TestEnv.Key));
                Assert.AreEqual("connectionString", e.ParamName);
                StringAssert.DoesNotContain(TestEnv.Key, e.ToString());
                using (var m = new Message())
                {
                    Assert.AreEqual("key", Assert.Throws<IotSecArgumentException>(() => m.Properties["k" + bad] = "v").ParamName);
                    Assert.AreEqual("value", Assert.Throws<IotSecArgumentException>(() => m.Properties["k"] = bad).ParamName);
                    Assert.AreEqual("value", Assert.Throws<IotSecArgumentException>(() => m.MessageId = bad).ParamName);
                    Assert.AreEqual(0, m.Properties.Count);
                }
                Assert.AreEqual("agentVersion", Assert.Throws<IotSecArgumentException>(() => SecurityMessage.BuildBody(Guid.NewGuid(), bad, "[]")).ParamName);
                using (var m = new Message())
                using (var module = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs(TestEnv.Unique("cs-utf8m"), "m"), Offline()))
                {
                    Assert.Throws<IotSecArgumentException>(() => module.SendEventAsync("out" + bad, m));
                }
            }
            // A body given as text with a lone surrogate is encoded with U+FFFD (Encoding.UTF8), never a crash.
            Assert.IsFalse(SecurityMessageSchema.IsValid("{\"AgentId\": \"\ud800\"}"));
        }
    }
}
