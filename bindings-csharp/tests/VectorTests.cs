// The shared vectors (tests/vectors) through the C# API: wire vectors are sent for real to
// mosquitto and compared with what it received; schema vectors go through
// SecurityMessageSchema.IsValid / Validate and, for invalid bodies, a send.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IotSec.Devices.Client;
using IotSec.Devices.Client.Internal;
using NUnit.Framework;

namespace IotSec.Tests
{
    internal static class Vectors
    {
        internal static List<JsonObject> Load(string folder)
        {
            var cases = new List<JsonObject>();
            string dir = Path.Combine(TestEnv.Vectors, folder);
            foreach (string file in Directory.GetFiles(dir, "*.json").OrderBy(f => f, StringComparer.Ordinal))
            {
                var doc = TestEnv.ReadJsonFile(file);
                foreach (var c in (List<object>)doc.Get("cases"))
                {
                    var o = (JsonObject)c;
                    o.Members.Add(new KeyValuePair<string, object>("__file", Path.GetFileName(file)));
                    cases.Add(o);
                }
            }
            return cases;
        }

        /// <summary>A test name NUnit 2.6 shows as it is.</summary>
        internal static string TestName(string prefix, int index, string name)
        {
            var sb = new StringBuilder();
            foreach (char c in name) sb.Append(char.IsLetterOrDigit(c) && c < 128 ? c : '_');
            return prefix + "_" + index.ToString("000") + "_" + sb;
        }

        /// <summary>The body bytes of a case (tests/vectors/README.md).</summary>
        internal static byte[] Body(JsonObject c)
        {
            if (c.Has("body_text")) return Encoding.UTF8.GetBytes(c.GetString("body_text"));
            if (c.Has("body_base64")) return Convert.FromBase64String(c.GetString("body_base64"));
            if (c.Has("body_repeat"))
            {
                var r = (JsonObject)c.Get("body_repeat");
                var sb = new StringBuilder();
                string text = r.GetString("text");
                long count = ((JsonNumber)r.Get("count")).ToInt64();
                for (long i = 0; i < count; i++) sb.Append(text);
                return Encoding.UTF8.GetBytes(sb.ToString());
            }
            if (c.Has("body")) return Encoding.UTF8.GetBytes(Json.Write(c.Get("body")));
            throw new InvalidDataException("case without a body");
        }
    }

    [TestFixture]
    public class WireVectorTests
    {
        private static readonly List<JsonObject> Cases = Vectors.Load("wire");
        private readonly Dictionary<string, IDisposable> clients = new Dictionary<string, IDisposable>();

        public static IEnumerable<TestCaseData> AllCases()
        {
            for (int i = 0; i < Cases.Count; i++)
                yield return new TestCaseData(i).SetName(Vectors.TestName("wire", i, Cases[i].GetString("name")));
        }

        [TestFixtureTearDown]
        public void DisposeClients()
        {
            foreach (var c in clients.Values) c.Dispose();
            clients.Clear();
        }

        [Test]
        public void ThereAreEnoughWireVectors()
        {
            Assert.GreaterOrEqual(Cases.Count, 30);
        }

        /// <summary>One client per identity; validation off, since the vectors are about topics
        /// (their bodies are not security messages).</summary>
        private Func<Message, System.Threading.Tasks.Task> ClientFor(string device, string module)
        {
            string key = device + "/" + module;
            IDisposable client;
            if (!clients.TryGetValue(key, out client))
            {
                var options = TestEnv.MosquittoOptions();
                options.SchemaValidation = SchemaValidationMode.Off;
                client = module == null
                    ? (IDisposable)DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TransportType.Mqtt_Tcp_Only, options)
                    : ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs(device, module), TransportType.Mqtt, options);
                clients[key] = client;
            }
            var d = client as DeviceClient;
            if (d != null) return m => d.SendEventAsync(m);
            var mc = (ModuleClient)client;
            return m => mc.SendEventAsync(m);
        }

        /// <summary>The message a vector describes, built the way an application would.</summary>
        internal static Message Build(JsonObject v)
        {
            var m = new Message(Vectors.Body(v));
            if (v.Has("message_id")) m.MessageId = v.GetString("message_id");
            if (v.Has("correlation_id")) m.CorrelationId = v.GetString("correlation_id");
            if (v.Has("user_id")) m.UserId = v.GetString("user_id");
            if (v.Has("to")) m.To = v.GetString("to");
            if (v.Has("content_type")) m.ContentType = v.GetString("content_type");
            if (v.Has("content_encoding")) m.ContentEncoding = v.GetString("content_encoding");
            if (v.Has("output_name")) m.OutputName = v.GetString("output_name");
            if (v.Has("component_name")) m.ComponentName = v.GetString("component_name");
            // Text sent verbatim (ExpiryTimeUtc is a DateTime, formatted "o" as the C# SDK does).
            if (v.Has("expiry_time_utc")) m.SetSystemProperty("expiry_time_utc", v.GetString("expiry_time_utc"));
            if (v.Has("interface_id")) m.SetSystemProperty("interface_id", v.GetString("interface_id"));
            if (v.Get("security") is bool && (bool)v.Get("security")) m.SetAsSecurityMessage();
            var props = v.Get("properties") as List<object>;
            if (props != null)
            {
                foreach (List<object> p in props) m.Properties.Add((string)p[0], (string)p[1]);
            }
            return m;
        }

        [TestCaseSource("AllCases")]
        public void WireVector(int index)
        {
            var c = Cases[index];
            var v = (JsonObject)c.Get("message");
            var send = ClientFor(c.GetString("device_id"), c.GetString("module_id"));
            using (var message = Build(v))
            {
                if (c.Has("error"))
                {
                    var e = Assert.Catch(() => send(message).GetAwaiter().GetResult());
                    Assert.IsInstanceOf<IIotSecError>(e);
                    Assert.AreEqual(c.GetString("error"), ((IIotSecError)e).ErrorName, e.ToString());
                    if (c.GetString("error") == "MESSAGE_TOO_LARGE") Assert.IsInstanceOf<MessageTooLargeException>(e);
                    return;
                }
                string topic = c.GetString("topic");
                byte[] body = Vectors.Body(v);
                Func<Received, bool> match = r => r.Topic == topic && r.Payload.SequenceEqual(body);
                int before = TestEnv.Mosquitto.Where(match).Count;
                send(message).GetAwaiter().GetResult();
                var got = TestEnv.Mosquitto.WaitFor(match, before + 1);
                if (got.Count != before + 1)
                {
                    var last = TestEnv.Mosquitto.All();
                    Assert.Fail("mosquitto did not receive topic " + topic + "; last topics: " +
                                string.Join(" | ", last.Skip(Math.Max(0, last.Count - 3)).Select(r => r.Topic)));
                }
                Assert.AreEqual(1, got[got.Count - 1].Qos);
            }
        }
    }

    [TestFixture]
    public class SchemaVectorTests
    {
        private static readonly List<JsonObject> Cases = Vectors.Load("schema");

        public static IEnumerable<TestCaseData> AllCases()
        {
            for (int i = 0; i < Cases.Count; i++)
                yield return new TestCaseData(i).SetName(Vectors.TestName("schema_" + Path.GetFileNameWithoutExtension(Cases[i].GetString("__file")), i, Cases[i].GetString("name")));
        }

        [Test]
        public void ThereAreEnoughSchemaVectors()
        {
            Assert.GreaterOrEqual(Cases.Count, 100);
        }

        [TestCaseSource("AllCases")]
        public void SchemaVector(int index)
        {
            var c = Cases[index];
            byte[] body = Vectors.Body(c);
            bool valid = (bool)c.Get("valid");
            Assert.AreEqual(valid, SecurityMessageSchema.IsValid(body), "IsValid");
            var got = SecurityMessageSchema.Validate(body);
            string gotText = string.Join("\n", got.Select(v => v.ToString()));
            if (valid)
            {
                Assert.AreEqual(0, got.Count, gotText);
                return;
            }
            var expected = ((List<object>)c.Get("violations")).Cast<JsonObject>().ToList();
            Assert.AreEqual(expected.Count, got.Count, "violations:\n" + gotText);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.AreEqual(expected[i].GetString("pointer"), got[i].Pointer, "pointer of violation " + i + ":\n" + gotText);
                Assert.AreEqual(expected[i].GetString("rule"), got[i].Rule, "rule of violation " + i + ":\n" + gotText);
                var contains = expected[i].Get("message_contains") as List<object>;
                if (contains != null)
                {
                    foreach (string s in contains) StringAssert.Contains(s, got[i].Message);
                }
                var position = expected[i].Get("position") as JsonObject;
                if (position != null)
                {
                    Assert.IsNotNull(got[i].Position, "position");
                    Assert.AreEqual(((JsonNumber)position.Get("offset")).ToInt64(), got[i].Position.Offset, "offset");
                    Assert.AreEqual(((JsonNumber)position.Get("line")).ToInt64(), got[i].Position.Line, "line");
                    Assert.AreEqual(((JsonNumber)position.Get("column")).ToInt64(), got[i].Position.Column, "column");
                }
            }
        }

        /// <summary>Microsoft's own samples (Azure/Azure-IoT-Security): valid ones pass, invalid ones fail.</summary>
        [Test]
        public void UpstreamSamples()
        {
            var doc = TestEnv.ReadJsonFile(Path.Combine(TestEnv.Vectors, "schema", "upstream", "samples.json"));
            var valid = (List<object>)doc.Get("valid");
            var invalid = (List<object>)doc.Get("invalid");
            Assert.GreaterOrEqual(valid.Count, 10);
            Assert.GreaterOrEqual(invalid.Count, 5);
            foreach (var sample in valid)
            {
                string text = Json.Write(sample);
                Assert.IsTrue(SecurityMessageSchema.IsValid(text), text);
                Assert.AreEqual(0, SecurityMessageSchema.Validate(text).Count, text);
            }
            foreach (var sample in invalid)
            {
                string text = Json.Write(sample);
                Assert.IsFalse(SecurityMessageSchema.IsValid(text), text);
                Assert.Greater(SecurityMessageSchema.Validate(text).Count, 0, text);
            }
        }
    }
}
