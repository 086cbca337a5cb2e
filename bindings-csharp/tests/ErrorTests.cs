// Bad input raises the documented exceptions: the .NET type a C# user expects, plus iotsec's
// stable ErrorCode; messages name what is wrong and never contain a key.
using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using IotSec.Devices.Client;
using IotSec.Devices.Client.Internal;
using NUnit.Framework;

namespace IotSec.Tests
{
    [TestFixture]
    public class ErrorTests
    {
        private const string SecretKey = "c2VjcmV0LWtleS12YWx1ZS0xMjM0NTY3ODkwYWJjZGVm"; // base64 of a recognisable secret

        [Test]
        public void ErrorCodesAreTheNativeKinds()
        {
            int named = 0;
            for (uint code = 1; code < 64; code++)
            {
                string name = Utf8.FromNative(NativeMethods.iotsec_error_kind_name(code));
                if (name == null) continue;
                named++;
                Assert.IsTrue(Enum.IsDefined(typeof(ErrorCode), (int)code), "native kind " + code + " (" + name + ") has no ErrorCode");
                string snake = string.Concat(((ErrorCode)code).ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
                Assert.AreEqual(name, snake, "ErrorCode." + (ErrorCode)code);
                Assert.AreEqual(name, ((IIotSecError)Errors.Create(code, "x", null, null)).ErrorName);
            }
            Assert.AreEqual(Enum.GetValues(typeof(ErrorCode)).Length, named, "every ErrorCode is a native kind");
        }

        [Test]
        public void ExceptionTypesFollowDotNetConventions()
        {
            Assert.IsInstanceOf<ArgumentException>(Errors.Create((uint)ErrorCode.InvalidArgument, "x", null, "p"));
            Assert.IsInstanceOf<ArgumentException>(Errors.Create((uint)ErrorCode.InvalidConnectionString, "x", null, "p"));
            Assert.IsInstanceOf<ArgumentException>(Errors.Create((uint)ErrorCode.InvalidCredential, "x", null, "p"));
            Assert.IsInstanceOf<SchemaValidationException>(Errors.Create((uint)ErrorCode.SchemaValidation, "x", null, null));
            Assert.IsInstanceOf<MessageTooLargeException>(Errors.Create((uint)ErrorCode.MessageTooLarge, "x", null, null));
            Assert.IsInstanceOf<TimeoutException>(Errors.Create((uint)ErrorCode.Timeout, "x", null, null));
            Assert.IsInstanceOf<ObjectDisposedException>(Errors.Create((uint)ErrorCode.Closed, "x", null, null));
            foreach (var code in new[] { ErrorCode.ConnectionFailed, ErrorCode.Tls, ErrorCode.CredentialRefused, ErrorCode.ConnectionLost, ErrorCode.QueueFull, ErrorCode.Io, ErrorCode.Internal })
            {
                var e = Errors.Create((uint)code, "x", null, null);
                Assert.AreEqual(typeof(IotSecException), e.GetType(), code.ToString());
                Assert.AreEqual(code, ((IotSecException)e).ErrorCode);
            }
            Assert.AreEqual(ErrorCode.Internal, ((IotSecException)Errors.Create(999, "x", null, null)).ErrorCode);
        }

        [TestCase("HostName=h;DeviceId=d;SharedAccessKey=not*base64" + SecretKey, "SharedAccessKey")]
        [TestCase("HostName=h;SharedAccessKey=" + SecretKey, "DeviceId")]
        [TestCase("DeviceId=d;SharedAccessKey=" + SecretKey, "HostName")]
        [TestCase("garbage" + SecretKey, "Key=Value")]
        [TestCase("", "")]
        public void InvalidConnectionStringsAreArgumentExceptionsWithoutTheSecret(string cs, string named)
        {
            var e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(cs));
            Assert.IsInstanceOf<ArgumentException>(e);
            Assert.That(e.ErrorCode == ErrorCode.InvalidConnectionString || e.ErrorCode == ErrorCode.InvalidArgument, e.ErrorCode.ToString());
            Assert.AreEqual("connectionString", e.ParamName);
            StringAssert.Contains(named, e.Message);
            StringAssert.DoesNotContain(SecretKey, e.ToString());
            StringAssert.DoesNotContain("secret-key-value", e.ToString());
        }

        [Test]
        public void DeviceAndModuleConnectionStringsAreNotInterchangeable()
        {
            var e = Assert.Throws<IotSecArgumentException>(() => ModuleClient.CreateFromConnectionString(TestEnv.DeviceCs("d")));
            StringAssert.Contains("ModuleId", e.Message);
            e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(TestEnv.ModuleCs("d", "m")));
            StringAssert.Contains("ModuleId", e.Message);
            Assert.Throws<ArgumentNullException>(() => DeviceClient.CreateFromConnectionString(null));
            Assert.Throws<ArgumentNullException>(() => ModuleClient.CreateFromConnectionString(null));
        }

        [TestCase(TransportType.Amqp)]
        [TestCase(TransportType.Http1)]
        [TestCase(TransportType.Amqp_WebSocket_Only)]
        [TestCase(TransportType.Amqp_Tcp_Only)]
        [TestCase(TransportType.Mqtt_WebSocket_Only)]
        public void OtherTransportsAreNotSupported(TransportType transport)
        {
            var e = Assert.Throws<NotSupportedException>(() => DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), transport));
            StringAssert.Contains(transport.ToString(), e.Message);
            StringAssert.Contains("MQTT", e.Message);
            Assert.Throws<NotSupportedException>(() => ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs("d", "m"), transport));
        }

        [Test]
        public void InvalidOptionsNameTheOption()
        {
            var options = new ClientOptions();
            options.NativeOptions["validation"] = "sometimes";
            var e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), options));
            Assert.AreEqual(ErrorCode.InvalidArgument, e.ErrorCode);
            Assert.AreEqual("options", e.ParamName);
            StringAssert.Contains("validation", e.Message);

            e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), new ClientOptions { Port = 70000 }));
            StringAssert.Contains("port", e.Message);
            e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), new ClientOptions { MaxInFlight = -1 }));
            StringAssert.Contains("max_in_flight", e.Message);
            e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), new ClientOptions { ReconnectJitter = 5 }));
            StringAssert.Contains("reconnect_jitter", e.Message);
            var unknown = new ClientOptions();
            unknown.NativeOptions["no_such_option"] = "1";
            e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), unknown));
            StringAssert.Contains("no_such_option", e.Message);
            var missingCa = new ClientOptions { TrustedCertificatesFile = "/nonexistent/ca.pem", Port = 1 };
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("d"), missingCa))
            {
                var c = Assert.Catch<Exception>(() => client.OpenAsync().GetAwaiter().GetResult());
                Assert.IsInstanceOf<IIotSecError>(c);
                StringAssert.Contains("/nonexistent/ca.pem", c.Message);
            }
        }

        /// <summary>A security message that breaks the schema: the returned task fails with the
        /// violations, and nothing reaches the broker.</summary>
        [Test]
        public void SchemaInvalidMessageIsRefusedAndNotSent()
        {
            string device = TestEnv.Unique("invalid");
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), TestEnv.MosquittoOptions()))
            using (var m = new Message(Encoding.UTF8.GetBytes("{\"AgentVersion\":\"1\"}")))
            {
                m.SetAsSecurityMessage();
                Task send = client.SendEventAsync(m); // refusals come back in the task
                var e = Assert.Throws<SchemaValidationException>(() => send.GetAwaiter().GetResult());
                Assert.IsInstanceOf<IotSecException>(e);
                Assert.Greater(e.Violations.Count, 1);
                CollectionAssert.Contains(e.Violations.Select(v => v.Pointer).ToArray(), "/AgentId");
                Assert.IsTrue(e.Violations.All(v => v.Rule.Length > 0 && v.Message.Length > 0));
                // Only the security flag turns validation on.
                using (var plain = new Message(Encoding.UTF8.GetBytes("{\"AgentVersion\":\"1\"}")))
                    client.SendEventAsync(plain).GetAwaiter().GetResult();
            }
            var got = TestEnv.Mosquitto.FromDevice(device, 2, 1);
            Assert.AreEqual(1, got.Count, "only the message without the security flag is sent");
            Assert.AreEqual("devices/" + device + "/messages/events/", got[0].Topic);
        }

        [Test]
        public void UseAfterDisposeThrowsObjectDisposedException()
        {
            var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("disposed"), TestEnv.MosquittoOptions());
            var m = new Message(new byte[1]);
            client.Dispose();
            client.Dispose(); // twice is fine
            var e = Assert.Throws<IotSecObjectDisposedException>(() => client.SendEventAsync(m));
            Assert.AreEqual(ErrorCode.Closed, e.ErrorCode);
            Assert.AreEqual(typeof(DeviceClient).FullName, e.ObjectName);
            Assert.Throws<IotSecObjectDisposedException>(() => client.OpenAsync());
            Assert.Throws<IotSecObjectDisposedException>(() => client.CloseAsync());
            Assert.Throws<IotSecObjectDisposedException>(() => client.SendEventBatchAsync(new[] { m }));

            var module = ModuleClient.CreateFromConnectionString(TestEnv.ModuleCs("disposed", "m"));
            module.Dispose();
            Assert.AreEqual(typeof(ModuleClient).FullName, Assert.Throws<IotSecObjectDisposedException>(() => module.SendEventAsync(m)).ObjectName);

            m.Dispose();
            m.Dispose();
            Assert.Throws<IotSecObjectDisposedException>(() => m.GetBytes());
            Assert.Throws<IotSecObjectDisposedException>(() => { var unused = m.Properties.Count; });
            Assert.Throws<IotSecObjectDisposedException>(() => m.SetAsSecurityMessage());
            Assert.Throws<IotSecObjectDisposedException>(() => { var unused = m.MessageId; });
            using (var live = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("disposed-msg"), TestEnv.MosquittoOptions()))
                Assert.Throws<IotSecObjectDisposedException>(() => live.SendEventAsync(m));
        }

        [Test]
        public void BadPropertiesAreArgumentExceptions()
        {
            using (var m = new Message(new byte[0]))
            {
                var e = Assert.Throws<IotSecArgumentException>(() => m.Properties["a\0b"] = "x");
                StringAssert.Contains("NUL", e.Message);
                e = Assert.Throws<IotSecArgumentException>(() => m.Properties["k"] = "\ud800");
                StringAssert.Contains("surrogate", e.Message);
                Assert.AreEqual("value", e.ParamName);
                e = Assert.Throws<IotSecArgumentException>(() => m.Properties[""] = "x");
                StringAssert.Contains("empty", e.Message);
                Assert.Throws<ArgumentNullException>(() => m.Properties[null] = "x");
                Assert.Throws<ArgumentNullException>(() => m.Properties["k"] = null);
                e = Assert.Throws<IotSecArgumentException>(() => m.SetSystemProperty("nope", "x"));
                Assert.AreEqual("name", e.ParamName);
                StringAssert.Contains("message_id", e.Message, "the error lists the known names");
                Assert.Throws<IotSecArgumentException>(() => m.GetSystemProperty("nope"));
                Assert.Throws<IotSecArgumentException>(() => m.MessageId = "bad\0id");
                Assert.AreEqual(0, m.Properties.Count);
            }
        }

        [Test]
        public void NullMessageIsArgumentNullException()
        {
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs("null-msg"), TestEnv.MosquittoOptions()))
            {
                Assert.Throws<ArgumentNullException>(() => client.SendEventAsync(null));
                Assert.Throws<ArgumentNullException>(() => SecurityMessageSchema.Validate((byte[])null));
                Assert.Throws<ArgumentNullException>(() => SecurityMessageSchema.IsValid((string)null));
            }
        }
    }
}
