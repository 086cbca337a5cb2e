// Secrets never leak: a full open / send / token renewal session at trace logging
// (IOTSEC_LOG=trace: iotsec, rumqttc and rustls on standard error) in a child process, and the
// exceptions a wrong key, a malformed key, an expired fixed SAS token and a wrong CA produce.
// Neither the log nor any exception text (message, ToString, stack trace) holds the key, a SAS
// token or a signature (computed here for every expiry the session could have signed).
// And TLS verification cannot be turned off: a wrong CA always fails; the only way around TLS
// is the explicitly named plain_tcp_loopback transport, refused for a host that is not loopback.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using IotSec.Devices.Client;
using NUnit.Framework;

namespace IotSec.Tests
{
    [TestFixture]
    public class SecretsTests
    {
        private const int Lifetime = 5;
        private const long ExpiredSe = 1000000000;

        private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

        /// <summary>RFC 3986 percent-encoding, as iotsec encodes SAS fields.</summary>
        private static string Encode(string s) { return Uri.EscapeDataString(s); }

        private static string Hex(byte[] bytes) { return string.Concat(bytes.Select(b => b.ToString("x2"))); }

        private static string Signature(string keyB64, string resource, long expiry)
        {
            using (var hmac = new HMACSHA256(Convert.FromBase64String(keyB64)))
            {
                return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(Encode(resource) + "\n" + expiry)));
            }
        }

        private static string Token(string keyB64, string resource, long expiry)
        {
            return "SharedAccessSignature sr=" + Encode(resource) + "&sig=" + Encode(Signature(keyB64, resource, expiry)) + "&se=" + expiry;
        }

        private static long Now() { return (long)(DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds; }

        private static List<string> SecretForms(string keyB64, string resource, long first, long last)
        {
            var forms = new List<string> { keyB64, Encode(keyB64), Hex(Convert.FromBase64String(keyB64)), keyB64.TrimEnd('=') };
            for (long se = first; se <= last; se++)
            {
                string sig = Signature(keyB64, resource, se);
                forms.Add(sig);
                forms.Add(Encode(sig));
                forms.Add(Hex(Convert.FromBase64String(sig)));
                forms.Add(sig.TrimEnd('='));
            }
            return forms;
        }

        [Test, Timeout(120000)]
        public void TheTraceLogAndEveryErrorOfASessionWithTokenRenewalsHoldNoSecret()
        {
            var hub = TestEnv.Hub;
            var mq = TestEnv.Mosquitto;
            string device = TestEnv.Unique("cs-secrets");
            string cs = hub.AddDevice(device);
            string key = cs.Substring(cs.IndexOf("SharedAccessKey=", StringComparison.Ordinal) + "SharedAccessKey=".Length);
            string resource = "localhost/devices/" + device;
            string csPrefix = "HostName=localhost;DeviceId=" + device + ";SharedAccessSignature=";

            // The signatures computed here are the ones iotsec signs: the hub accepts a token made
            // the same way (so the search below looks for the right strings).
            using (var client = DeviceClient.CreateFromConnectionString(csPrefix + Token(key, resource, Now() + 3600), hub.Options()))
                ConnectionStatusTests.Wait(client.OpenAsync(), Long);

            string fixedToken = Token(key, resource, ExpiredSe);
            string fixedSig = Signature(key, resource, ExpiredSe);
            string otherKey = ConnectionStatusTests.RandomKey();
            var failing = new[]
            {
                "HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + otherKey + "\t" + hub.CaFile + "\t" + hub.TlsPort, // CredentialRefused
                cs.Replace("SharedAccessKey=", "SharedAccessKey=!") + "\t-\t-",                                                   // malformed key
                cs + "x\t-\t-",                                                                                                    // not base64
                csPrefix + fixedToken + "\t" + hub.CaFile + "\t" + hub.TlsPort,                                                    // expired token
                cs + "\t" + mq.WrongCaFile + "\t" + mq.TlsPort,                                                                    // Tls
            };
            string dir = Path.Combine(Path.GetTempPath(), TestEnv.Unique("iotsec-cs-secrets"));
            Directory.CreateDirectory(dir);
            string output;
            long first, last;
            int code;
            try
            {
                string configFile = Path.Combine(dir, "config.txt");
                File.WriteAllLines(configFile, new[] { cs, hub.CaFile, hub.TlsPort.ToString(), "7" }.Concat(failing).ToArray());
                var env = new Dictionary<string, string> { { "IOTSEC_LOG", "trace" }, { "IOTSEC_CA_FILE", null }, { "IOTSEC_MQTT_PORT", null } };
                first = Now() - 2;
                code = TestEnv.Run("mono", "\"" + TestEnv.Require("IOTSEC_TEST_SECRET_SESSION_EXE") + "\" \"" + configFile + "\"", env, TimeSpan.FromSeconds(90), out output);
                last = Now() + Lifetime + 2;
            }
            finally
            {
                Directory.Delete(dir, true);
            }
            string tail = output.Length > 3000 ? output.Substring(output.Length - 3000) : output;
            Assert.AreEqual(0, code, "the session failed or did not end:\n" + tail);
            string[] lines = output.Split('\n');
            Assert.IsTrue(lines.Any(l => l.Trim() == "DONE"), tail);

            // The session did what it should: traced, renewed its token, delivered every message.
            Assert.Greater(lines.Length, 100, "IOTSEC_LOG=trace logs on standard error");
            StringAssert.Contains(" TRACE ", output);
            StringAssert.Contains("rumqttc", output);
            StringAssert.Contains("rustls", output);
            StringAssert.Contains("renewing the SAS token", output);
            var statuses = lines.Where(l => l.StartsWith("STATUS ", StringComparison.Ordinal)).Select(l => l.Substring(7).Trim()).ToList();
            CollectionAssert.Contains(statuses, "Disconnected_Retrying Expired_SAS_Token", string.Join(", ", statuses));
            Assert.AreEqual("Connected Connection_Ok", statuses[0]);
            Assert.AreEqual("Disconnected Client_Close", statuses[statuses.Count - 1]);
            int sent = int.Parse(lines.First(l => l.StartsWith("SENT ", StringComparison.Ordinal)).Substring(5).Trim());
            Assert.Greater(sent, 10);
            Assert.AreEqual(sent, hub.Store("telemetry", device, sent, 15).Count, "every acknowledged message was stored");
            var errors = lines.Where(l => l.StartsWith("ERROR ", StringComparison.Ordinal)).Select(l => l.Substring(6).Trim()).OrderBy(s => s, StringComparer.Ordinal).ToList();
            CollectionAssert.AreEqual(new[]
            {
                "IotSecArgumentException InvalidConnectionString", "IotSecArgumentException InvalidConnectionString",
                "IotSecException CredentialRefused", "IotSecException CredentialRefused", "IotSecException Tls",
            }, errors, string.Join("; ", errors));

            var forms = SecretForms(key, resource, first, last);
            forms.AddRange(new[] { fixedSig, Encode(fixedSig), fixedToken, otherKey, Encode(otherKey) });
            Assert.Greater(forms.Count, 40);
            foreach (string form in forms)
            {
                Assert.IsFalse(output.Contains(form), "a secret (" + form.Substring(0, 6) + "...) appears in the log or an error");
            }
            StringAssert.DoesNotContain("SharedAccessSignature sr=", output);
            StringAssert.DoesNotContain("sig=", output);
            StringAssert.DoesNotContain("SharedAccessKey=", output);
        }

        [Test, Timeout(60000)]
        public void TlsVerificationCannotBeTurnedOffExceptByThePlainTcpLoopbackOption()
        {
            var mq = TestEnv.Mosquitto;
            string cs = TestEnv.DeviceCs(TestEnv.Unique("cs-tls"));
            foreach (var options in new[]
            {
                new ClientOptions { TrustedCertificatesFile = mq.WrongCaFile, Port = mq.TlsPort },
                new ClientOptions { TrustedCertificatesPem = File.ReadAllText(mq.WrongCaFile), Port = mq.TlsPort },
            })
            {
                using (var c = DeviceClient.CreateFromConnectionString(cs, options))
                {
                    var e = Assert.Catch<IotSecException>(() => ConnectionStatusTests.Wait(c.OpenAsync(), Long));
                    Assert.AreEqual(ErrorCode.Tls, e.ErrorCode, e.Message);
                }
            }
            // No property of ClientOptions turns verification off.
            foreach (PropertyInfo p in typeof(ClientOptions).GetProperties())
            {
                string name = p.Name.ToLowerInvariant();
                foreach (string word in new[] { "insecure", "verif", "trustall", "skip", "hostname", "danger", "ignore", "accept" })
                    Assert.IsFalse(name.Contains(word), "ClientOptions." + p.Name);
            }
            // Nor does any native option: names that would are unknown, and "transport" knows only
            // tls and plain_tcp_loopback.
            foreach (var kv in new[]
            {
                new KeyValuePair<string, string>("insecure", "true"), new KeyValuePair<string, string>("tls_verify", "false"),
                new KeyValuePair<string, string>("verify", "false"), new KeyValuePair<string, string>("danger_accept_invalid_certs", "true"),
                new KeyValuePair<string, string>("skip_verify", "1"), new KeyValuePair<string, string>("transport", "tcp"),
                new KeyValuePair<string, string>("transport", "tls_insecure"),
            })
            {
                var options = new ClientOptions();
                options.NativeOptions[kv.Key] = kv.Value;
                var e = Assert.Throws<IotSecArgumentException>(() => DeviceClient.CreateFromConnectionString(cs, options), kv.Key);
                Assert.AreEqual(ErrorCode.InvalidArgument, e.ErrorCode);
                StringAssert.Contains(kv.Key, e.Message);
            }
            // plain_tcp_loopback is refused for a host that is not loopback, before any connection.
            var plainRemote = new ClientOptions { Port = mq.PlainPort };
            plainRemote.NativeOptions["transport"] = "plain_tcp_loopback";
            using (var remote = DeviceClient.CreateFromConnectionString("HostName=example.com;DeviceId=d;SharedAccessKey=" + TestEnv.Key, plainRemote))
            {
                var e = Assert.Catch<IotSecArgumentException>(() => ConnectionStatusTests.Wait(remote.OpenAsync(), Long));
                Assert.AreEqual(ErrorCode.InvalidArgument, e.ErrorCode);
                StringAssert.Contains("loopback", e.Message);
            }
            // To loopback it speaks plain MQTT (mosquitto's plain listener receives it).
            string device = TestEnv.Unique("cs-plain");
            var plain = new ClientOptions { Port = mq.PlainPort };
            plain.NativeOptions["transport"] = "plain_tcp_loopback";
            using (var client = DeviceClient.CreateFromConnectionString(TestEnv.DeviceCs(device), plain))
            using (var m = new Message(Encoding.UTF8.GetBytes("over plain tcp to loopback")))
                ConnectionStatusTests.Wait(client.SendEventAsync(m), Long);
            Assert.AreEqual(1, mq.FromDevice(device, 1).Count);
            // The right CA works (so the failures above are about trust).
            using (var ok = DeviceClient.CreateFromConnectionString(cs, TestEnv.MosquittoOptions()))
                ConnectionStatusTests.Wait(ok.OpenAsync(), Long);
        }
    }
}
