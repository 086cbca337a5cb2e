// Message: the Azure IoT C# SDK's shape over iotsec's native message.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IotSec.Devices.Client;
using NUnit.Framework;

namespace IotSec.Tests
{
    [TestFixture]
    public class MessageTests
    {
        [Test]
        public void BodyIsCopiedAndReadBack()
        {
            var bytes = new byte[] { 0, 1, 2, 255, 128 };
            using (var m = new Message(bytes))
            {
                bytes[0] = 42;
                CollectionAssert.AreEqual(new byte[] { 0, 1, 2, 255, 128 }, m.GetBytes());
                CollectionAssert.AreEqual(m.GetBytes(), m.GetBytes());
                using (var s = m.GetBodyStream()) Assert.AreEqual(5, s.Length);
            }
            using (var m = new Message()) Assert.AreEqual(0, m.GetBytes().Length);
            using (var m = new Message(new MemoryStream(Encoding.UTF8.GetBytes("stream body")))) Assert.AreEqual("stream body", Encoding.UTF8.GetString(m.GetBytes()));
            Assert.Throws<ArgumentNullException>(() => new Message((byte[])null));
            Assert.Throws<ArgumentNullException>(() => new Message((Stream)null));
        }

        [Test]
        public void PropertiesKeepInsertionOrderAndOverwritesKeepTheirPlace()
        {
            using (var m = new Message(new byte[0]))
            {
                m.Properties["zeta"] = "1";
                m.Properties.Add("alpha", "2");
                m.Properties["mu"] = "3";
                m.Properties["alpha"] = "two";
                CollectionAssert.AreEqual(new[] { "zeta", "alpha", "mu" }, m.Properties.Keys.ToArray());
                CollectionAssert.AreEqual(new[] { "1", "two", "3" }, m.Properties.Values.ToArray());
                CollectionAssert.AreEqual(new[] { "zeta=1", "alpha=two", "mu=3" }, m.Properties.Select(kv => kv.Key + "=" + kv.Value).ToArray());
                Assert.AreEqual(3, m.Properties.Count);
                Assert.IsTrue(m.Properties.ContainsKey("mu"));
                Assert.IsFalse(m.Properties.ContainsKey("MU"), "keys are case-sensitive");
                string value;
                Assert.IsTrue(m.Properties.TryGetValue("zeta", out value));
                Assert.AreEqual("1", value);
                Assert.IsFalse(m.Properties.TryGetValue("nope", out value));
                Assert.IsNull(value);
                Assert.Throws<KeyNotFoundException>(() => { var unused = m.Properties["nope"]; });
                Assert.Throws<ArgumentException>(() => m.Properties.Add("zeta", "again"));
                Assert.IsTrue(m.Properties.Contains(new KeyValuePair<string, string>("mu", "3")));
                Assert.IsTrue(m.Properties.Remove("alpha"));
                Assert.IsFalse(m.Properties.Remove("alpha"));
                CollectionAssert.AreEqual(new[] { "zeta", "mu" }, m.Properties.Keys.ToArray());
                var copy = new KeyValuePair<string, string>[3];
                m.Properties.CopyTo(copy, 1);
                Assert.AreEqual("mu", copy[2].Key);
                m.Properties.Clear();
                Assert.AreEqual(0, m.Properties.Count);
                Assert.IsFalse(m.Properties.IsReadOnly);
            }
        }

        [Test]
        public void PropertiesTakeAnyUnicode()
        {
            using (var m = new Message(new byte[0]))
            {
                m.Properties["clé"] = "日本語";
                m.Properties["emoji"] = "\U0001F512";
                Assert.AreEqual("日本語", m.Properties["clé"]);
                Assert.AreEqual("\U0001F512", m.Properties["emoji"]);
                CollectionAssert.AreEqual(new[] { "clé", "emoji" }, m.Properties.Keys.ToArray());
            }
        }

        [Test]
        public void SystemPropertiesRoundTrip()
        {
            using (var m = new Message(new byte[0]))
            {
                Assert.IsNull(m.MessageId);
                m.MessageId = "mid";
                m.CorrelationId = "cid";
                m.UserId = "uid";
                m.To = "/devices/x";
                m.ContentType = "application/json";
                m.ContentEncoding = "utf-8";
                m.ComponentName = "thermostat1";
                m.OutputName = "out1";
                Assert.AreEqual("mid", m.MessageId);
                Assert.AreEqual("cid", m.CorrelationId);
                Assert.AreEqual("uid", m.UserId);
                Assert.AreEqual("/devices/x", m.To);
                Assert.AreEqual("application/json", m.ContentType);
                Assert.AreEqual("utf-8", m.ContentEncoding);
                Assert.AreEqual("thermostat1", m.ComponentName);
                Assert.AreEqual("out1", m.OutputName);
                Assert.AreEqual("mid", m.GetSystemProperty("message_id"));
                m.MessageId = null;
                Assert.IsNull(m.MessageId);
                Assert.AreEqual(0, m.Properties.Count, "system properties are not custom properties");
            }
        }

        [Test]
        public void ExpiryTimeUtcIsSentInTheRoundTripFormat()
        {
            using (var m = new Message(new byte[0]))
            {
                Assert.AreEqual(default(DateTime), m.ExpiryTimeUtc);
                var when = new DateTime(2019, 2, 2, 0, 0, 0, DateTimeKind.Utc);
                m.ExpiryTimeUtc = when;
                Assert.AreEqual("2019-02-02T00:00:00.0000000Z", m.GetSystemProperty("expiry_time_utc"));
                Assert.AreEqual(when, m.ExpiryTimeUtc);
                Assert.AreEqual(DateTimeKind.Utc, m.ExpiryTimeUtc.Kind);
                m.ExpiryTimeUtc = default(DateTime);
                Assert.IsNull(m.GetSystemProperty("expiry_time_utc"));
                m.SetSystemProperty("expiry_time_utc", "not a date");
                Assert.AreEqual(default(DateTime), m.ExpiryTimeUtc);
            }
        }

        [Test]
        public void SecurityFlagSetsOnlyTheInterfaceId()
        {
            using (var m = new Message(Encoding.UTF8.GetBytes("{}")))
            {
                Assert.IsFalse(m.IsSecurityMessage);
                m.SetAsSecurityMessage();
                Assert.IsTrue(m.IsSecurityMessage);
                Assert.AreEqual("urn:azureiot:Security:SecurityAgent:1", m.GetSystemProperty("interface_id"));
                Assert.IsNull(m.ContentEncoding, "unlike the C SDK, the content encoding is left alone (as the C# SDK does)");
                Assert.IsNull(m.ContentType);
            }
        }

        [Test]
        public void BuilderMakesValidSecurityMessages()
        {
            var agent = new Guid("e89dc5f5-feac-4c3e-87e2-93c16f010c25");
            string body = SecurityMessage.BuildBody(agent, "0.0.1", ClientTests.ProcessCreateEvents);
            StringAssert.Contains("\"MessageSchemaVersion\":\"1.0\"", body);
            StringAssert.Contains("\"Name\":\"ProcessCreate\"", body);
            StringAssert.Contains("\"AgentId\":\"e89dc5f5-feac-4c3e-87e2-93c16f010c25\"", body);
            Assert.IsTrue(SecurityMessageSchema.IsValid(body));
            using (var m = SecurityMessage.Create(agent, "0.0.1", ClientTests.ProcessCreateEvents))
            {
                Assert.IsTrue(m.IsSecurityMessage);
                Assert.AreEqual("application/json", m.ContentType);
                Assert.AreEqual("utf-8", m.ContentEncoding);
                Assert.IsTrue(SecurityMessageSchema.IsValid(m.GetBytes()));
            }
            var e = Assert.Throws<SchemaValidationException>(() => SecurityMessage.BuildBody(agent, "0.0.1", "[{\"name\":\"ProcessCreate\",\"records\":[{\"Executable\":\"/x\"}]}]"));
            Assert.IsTrue(e.Violations.Any(v => v.Pointer.StartsWith("/Events/0/Payload/0", StringComparison.Ordinal)), e.Message);
            var a = Assert.Throws<IotSecArgumentException>(() => SecurityMessage.Create(agent, "0.0.1", "[{\"name\":\"ProcesCreate\",\"records\":[]}]"));
            Assert.AreEqual(ErrorCode.InvalidArgument, a.ErrorCode);
            StringAssert.Contains("events_json[0].name", a.Message);
            Assert.Throws<ArgumentNullException>(() => SecurityMessage.BuildBody(agent, null, "[]"));
        }

        [Test]
        public void ValidateExplainsBodiesThatAreNotJson()
        {
            var v = SecurityMessageSchema.Validate("{\n  \"a\": tru }");
            Assert.AreEqual(1, v.Count);
            Assert.AreEqual("json", v[0].Rule);
            Assert.AreEqual("", v[0].Pointer);
            Assert.IsNotNull(v[0].Position);
            Assert.AreEqual(2, v[0].Position.Line);
            Assert.IsFalse(SecurityMessageSchema.IsValid(new byte[] { 0xff }));
            Assert.AreEqual("utf8", SecurityMessageSchema.Validate(new byte[] { 0xff }).Single().Rule);
            Assert.IsTrue(SecurityMessageSchema.IsValid(TestEnv.ReadVector("guide/guide_message_valid.json")));
        }

        [Test]
        public void VersionIsTheWorkspaceVersion()
        {
            Assert.AreEqual(TestEnv.Require("IOTSEC_TEST_VERSION"), IotSecRuntime.Version);
        }
    }
}
