// The guide's C# method (tests/guide/csharp.cs), compiled as scripts/test-csharp.sh generates it:
// the file's text wrapped in a class, with only the "<connection_string>" literal replaced by
// GuideSnippet.ConnectionString. It runs here (mosquitto: IOTSEC_CA_FILE and IOTSEC_MQTT_PORT
// point at it) and in child processes (the local hub; the process must exit by itself).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using IotSec.Devices.Client;
using IotSec.Devices.Client.Internal;
using IotSec.Guide;
using NUnit.Framework;

namespace IotSec.Tests
{
    [TestFixture]
    public class GuideTests
    {
        private static string ValidMessage { get { return TestEnv.ReadVector("guide/guide_message_valid.json"); } }

        [Test]
        public void GeneratedSnippetIsTheGuideVerbatimExceptTheConnectionString()
        {
            string guide = File.ReadAllText(Path.Combine(TestEnv.Root, "tests", "guide", "csharp.cs"));
            Assert.IsTrue(guide.Contains("\"<connection_string>\""), "tests/guide/csharp.cs changed");
            Assert.IsTrue(guide.Contains("ModuleClient.CreateFromConnectionString(") && guide.Contains("SetAsSecurityMessage()"), "tests/guide/csharp.cs changed");
            string generated = File.ReadAllText(TestEnv.Require("IOTSEC_TEST_GUIDE_SNIPPET"));
            string expected = guide.Replace("\"<connection_string>\"", "ConnectionString");
            StringAssert.Contains(expected.Trim(), generated, "the generated class must hold the guide's text with only the literal replaced");
        }

        /// <summary>In this process: the environment (IOTSEC_CA_FILE, IOTSEC_MQTT_PORT) points at mosquitto.</summary>
        [Test]
        public void GuideMethodSendsASecurityMessageToMosquitto()
        {
            var broker = TestEnv.Mosquitto;
            Assert.AreEqual(broker.CaFile, Environment.GetEnvironmentVariable("IOTSEC_CA_FILE"), "the test script must export IOTSEC_CA_FILE = mosquitto's CA");
            Assert.AreEqual(broker.TlsPort.ToString(), Environment.GetEnvironmentVariable("IOTSEC_MQTT_PORT"), "the test script must export IOTSEC_MQTT_PORT = mosquitto's TLS port");
            string device = TestEnv.Unique("guide-dev");
            GuideSnippet.ConnectionString = TestEnv.ModuleCs(device, "guide-mod");
            string message = ValidMessage;

            GuideSnippet.Run(message).GetAwaiter().GetResult();

            var got = broker.FromDevice(device, 1);
            Assert.AreEqual(1, got.Count, "mosquitto received nothing from " + device);
            // The golden shape of WIRE.md: the security flag alone in the property bag.
            Assert.AreEqual("devices/" + device + "/modules/guide-mod/messages/events/" + TestEnv.SecuritySuffix, got[0].Topic);
            CollectionAssert.AreEqual(Encoding.UTF8.GetBytes(message), got[0].Payload);
            Assert.AreEqual(1, got[0].Qos);
        }

        /// <summary>The guide's own example lacks UserId: the method throws, nothing is sent.</summary>
        [Test]
        public void GuideExampleMessageIsRefusedWithThePointerAtFault()
        {
            string device = TestEnv.Unique("guide-bad");
            GuideSnippet.ConnectionString = TestEnv.ModuleCs(device, "guide-mod");
            string message = TestEnv.ReadVector("guide/guide_message.json");

            var e = Assert.Throws<SchemaValidationException>(() => GuideSnippet.Run(message).GetAwaiter().GetResult());

            Assert.AreEqual(ErrorCode.SchemaValidation, e.ErrorCode);
            Assert.AreEqual("SCHEMA_VALIDATION", e.ErrorName);
            Assert.AreEqual(1, e.Violations.Count);
            Assert.AreEqual("/Events/0/Payload/0/UserId", e.Violations[0].Pointer);
            Assert.AreEqual("required", e.Violations[0].Rule);
            StringAssert.Contains("/Events/0/Payload/0/UserId", e.Message);
            Assert.AreEqual(0, TestEnv.Mosquitto.FromDevice(device, 1, 1).Count, "a refused message must not be sent");
        }

        private static Dictionary<string, string> EnvFor(string caFile, int port)
        {
            return new Dictionary<string, string> { { "IOTSEC_CA_FILE", caFile }, { "IOTSEC_MQTT_PORT", port.ToString() } };
        }

        /// <summary>Runs GuideMain.exe (the guide's method in a console program that returns from
        /// Main without disposing anything) under a 30 s limit; returns its output.</summary>
        private static string RunGuideMain(string mode, string connectionString, Dictionary<string, string> env, out double seconds)
        {
            string body = Path.Combine(TestEnv.Vectors, "guide", "guide_message_valid.json");
            string exe = TestEnv.Require("IOTSEC_TEST_GUIDE_EXE");
            var watch = Stopwatch.StartNew();
            string output;
            int code = TestEnv.Run("mono", "\"" + exe + "\" " + mode + " \"" + connectionString + "\" \"" + body + "\"", env, TimeSpan.FromSeconds(30), out output);
            seconds = watch.Elapsed.TotalSeconds;
            Assert.AreNotEqual(-1, code, "GuideMain " + mode + " did not exit within 30 s (the Mono exit hang?):\n" + output);
            Assert.AreEqual(0, code, "GuideMain " + mode + " failed:\n" + output);
            Console.WriteLine("# GuideMain {0} exited in {1:F2} s", mode, seconds);
            return output;
        }

        /// <summary>In a process of its own whose environment points at the local hub (SAS checked).</summary>
        [Test]
        public void GuideMethodSendsASecurityMessageToTheLocalHub()
        {
            var hub = TestEnv.Hub;
            string device = TestEnv.Unique("guide-hub");
            string cs = hub.AddDevice(device, "guide-mod");
            double seconds;
            string output = RunGuideMain("guide", cs, EnvFor(hub.CaFile, hub.TlsPort), out seconds);
            StringAssert.Contains("guide: sent", output);

            var stored = hub.Store("security", device, 1);
            Assert.AreEqual(1, stored.Count, "the hub stored nothing from " + device);
            Assert.AreEqual("guide-mod", stored[0].GetString("module_id"));
            Assert.AreEqual("devices/" + device + "/modules/guide-mod/messages/events/" + TestEnv.SecuritySuffix, stored[0].GetString("topic"));
            Assert.AreEqual("ProcessCreate", ((JsonObject)stored[0].Get("event")).GetString("Name"));
            Assert.AreEqual(0, hub.Store("dropped", device, 1, 0.5).Count);
        }

        /// <summary>The guide's method against mosquitto in a child process: it returns from Main
        /// with the client never disposed, and the process ends (iotsec_shutdown at ProcessExit).</summary>
        [Test]
        public void ProcessExitsAfterTheGuideMethodReturns()
        {
            var broker = TestEnv.Mosquitto;
            string device = TestEnv.Unique("guide-exit");
            double seconds;
            RunGuideMain("guide", TestEnv.ModuleCs(device, "m"), EnvFor(broker.CaFile, broker.TlsPort), out seconds);
            Assert.AreEqual(1, broker.FromDevice(device, 1).Count);
            Assert.Less(seconds, 20, "exit took too long");
        }

        /// <summary>Main returns while 50 sends are still queued (never awaited): the process still ends.</summary>
        [Test]
        public void ProcessExitsWithSendsStillPending()
        {
            var broker = TestEnv.Mosquitto;
            string device = TestEnv.Unique("guide-pending");
            double seconds;
            string output = RunGuideMain("pending", TestEnv.ModuleCs(device, "m"), EnvFor(broker.CaFile, broker.TlsPort), out seconds);
            StringAssert.Contains("pending: queued 50", output);
            Assert.Less(seconds, 20, "exit took too long");
        }

        /// <summary>A client that never sent anything, and one whose sends failed (nothing
        /// listening): neither keeps the process alive.</summary>
        [Test]
        public void ProcessExitsAfterFailuresAndUnusedClients()
        {
            double seconds;
            string output = RunGuideMain("failures", TestEnv.ModuleCs(TestEnv.Unique("guide-fail"), "m"), EnvFor(TestEnv.Mosquitto.CaFile, 1), out seconds);
            StringAssert.Contains("failures: ConnectionFailed", output);
        }
    }
}
