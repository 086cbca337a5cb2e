// What the tests share: the brokers the test script started (mosquitto over TLS through
// iotsec-testkit, and the local hub), reading back what they received, child processes.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using IotSec.Devices.Client;
using IotSec.Devices.Client.Internal;
using NUnit.Framework;

namespace IotSec.Tests
{
    internal static class TestEnv
    {
        /// <summary>Any valid base64 key: mosquitto accepts every password.</summary>
        internal const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

        internal const string SecuritySuffix = "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1";

        private static int counter;

        internal static string Require(string name)
        {
            string value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value)) Assert.Fail("environment variable " + name + " is not set (run scripts/test-csharp.sh)");
            return value;
        }

        internal static string Root { get { return Require("IOTSEC_ROOT"); } }

        internal static string Vectors { get { return Path.Combine(Root, "tests", "vectors"); } }

        internal static string ReadVector(string relative)
        {
            return File.ReadAllText(Path.Combine(Vectors, relative), new UTF8Encoding(false));
        }

        /// <summary>A name no other test (or earlier run against the same broker) uses.</summary>
        internal static string Unique(string prefix)
        {
            return prefix + "-" + Process.GetCurrentProcess().Id + "-" + Interlocked.Increment(ref counter);
        }

        internal static string DeviceCs(string device)
        {
            return "HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + Key;
        }

        internal static string ModuleCs(string device, string module)
        {
            return "HostName=localhost;DeviceId=" + device + ";ModuleId=" + module + ";SharedAccessKey=" + Key;
        }

        internal static JsonObject ReadJsonFile(string path)
        {
            return (JsonObject)Json.Parse(File.ReadAllText(path));
        }

        internal static List<JsonObject> ReadJsonLines(string path)
        {
            var result = new List<JsonObject>();
            if (!File.Exists(path)) return result;
            string text;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream, new UTF8Encoding(false)))
            {
                text = reader.ReadToEnd();
            }
            int start = 0;
            while (true)
            {
                int end = text.IndexOf('\n', start);
                if (end < 0) break; // a line without its newline is still being written
                string line = text.Substring(start, end - start).Trim();
                if (line.Length > 0) result.Add((JsonObject)Json.Parse(line));
                start = end + 1;
            }
            return result;
        }

        /// <summary>Polls until <paramref name="read"/> returns at least <paramref name="count"/> items or the time is up.</summary>
        internal static List<T> WaitFor<T>(Func<List<T>> read, int count, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var items = read();
                if (items.Count >= count || DateTime.UtcNow > deadline) return items;
                Thread.Sleep(30);
            }
        }

        /// <summary>Runs a program, returns (exit code or -1 on timeout, stdout+stderr). Kills only the process it started.</summary>
        internal static int Run(string file, string arguments, IDictionary<string, string> env, TimeSpan timeout, out string output)
        {
            var psi = new ProcessStartInfo(file, arguments)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                CreateNoWindow = true,
            };
            if (env != null)
            {
                foreach (var kv in env)
                {
                    if (kv.Value == null) psi.EnvironmentVariables.Remove(kv.Key);
                    else psi.EnvironmentVariables[kv.Key] = kv.Value;
                }
            }
            var text = new StringBuilder();
            using (var p = new Process { StartInfo = psi })
            {
                p.OutputDataReceived += (s, e) => { if (e.Data != null) lock (text) text.AppendLine(e.Data); };
                p.ErrorDataReceived += (s, e) => { if (e.Data != null) lock (text) text.AppendLine(e.Data); };
                p.Start();
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                bool exited = p.WaitForExit((int)timeout.TotalMilliseconds);
                if (!exited)
                {
                    try { p.Kill(); } catch (InvalidOperationException) { }
                    p.WaitForExit(5000);
                }
                else
                {
                    p.WaitForExit(); // drains the output readers
                }
                lock (text) output = text.ToString();
                return exited ? p.ExitCode : -1;
            }
        }

        internal static Mosquitto Mosquitto { get { return Mosquitto.Instance; } }

        internal static Hub Hub { get { return Hub.Instance; } }

        /// <summary>Client options for mosquitto's TLS listener.</summary>
        internal static ClientOptions MosquittoOptions()
        {
            return new ClientOptions { TrustedCertificatesFile = Mosquitto.CaFile, Port = Mosquitto.TlsPort };
        }
    }

    /// <summary>One PUBLISH mosquitto received on devices/#.</summary>
    internal sealed class Received
    {
        internal string Topic;
        internal byte[] Payload;
        internal long Qos;
        internal bool Retain;
    }

    /// <summary>mosquitto over TLS on 127.0.0.1 with a recorder (iotsec-testkit up).</summary>
    internal sealed class Mosquitto
    {
        internal static readonly Mosquitto Instance = new Mosquitto();

        private readonly JsonObject env;

        private Mosquitto()
        {
            env = TestEnv.ReadJsonFile(TestEnv.Require("IOTSEC_TEST_ENV"));
        }

        internal string CaFile { get { return env.GetString("ca_file"); } }

        internal string WrongCaFile { get { return env.GetString("wrong_ca_file"); } }

        internal int TlsPort { get { return (int)((JsonNumber)env.Get("tls_port")).ToInt64(); } }

        internal int PlainPort { get { return (int)((JsonNumber)env.Get("plain_port")).ToInt64(); } }

        /// <summary>The TLS listener that requires a client certificate (CN x509-device).</summary>
        internal int MtlsPort { get { return (int)((JsonNumber)env.Get("mtls_port")).ToInt64(); } }

        internal string ClientCert { get { return env.GetString("client_cert"); } }

        internal string ClientKey { get { return env.GetString("client_key"); } }

        internal string LogFile { get { return env.GetString("log_file"); } }

        internal List<Received> All()
        {
            var result = new List<Received>();
            foreach (var o in TestEnv.ReadJsonLines(env.GetString("received_file")))
            {
                result.Add(new Received
                {
                    Topic = o.GetString("topic"),
                    Payload = Convert.FromBase64String(o.GetString("payload_base64")),
                    Qos = ((JsonNumber)o.Get("qos")).ToInt64(),
                    Retain = (bool)o.Get("retain"),
                });
            }
            return result;
        }

        internal List<Received> Where(Func<Received, bool> match)
        {
            return All().FindAll(r => match(r));
        }

        internal List<Received> WaitFor(Func<Received, bool> match, int count, double seconds = 15)
        {
            return TestEnv.WaitFor(() => Where(match), count, TimeSpan.FromSeconds(seconds));
        }

        /// <summary>Everything received from one device (any module), in arrival order.</summary>
        internal List<Received> FromDevice(string device, int count, double seconds = 15)
        {
            return WaitFor(r => r.Topic.StartsWith("devices/" + device + "/", StringComparison.Ordinal), count, seconds);
        }

        internal string[] LogLines()
        {
            using (var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream))
            {
                return reader.ReadToEnd().Split('\n');
            }
        }
    }

    /// <summary>The local hub (iotsec hub): SAS-checked connection strings, what it stored.</summary>
    internal sealed class Hub
    {
        internal static readonly Hub Instance = new Hub();

        private readonly JsonObject env;

        private Hub()
        {
            env = TestEnv.ReadJsonFile(TestEnv.Require("IOTSEC_TEST_HUB_ENV"));
        }

        internal string CaFile { get { return env.GetString("ca_file"); } }

        internal int TlsPort { get { return (int)((JsonNumber)env.Get("tls_port")).ToInt64(); } }

        internal string DataDir { get { return env.GetString("data_dir"); } }

        internal ClientOptions Options()
        {
            return new ClientOptions { TrustedCertificatesFile = CaFile, Port = TlsPort };
        }

        /// <summary>Registers a device (or a module on it) and returns its connection string.</summary>
        internal string AddDevice(string device, string module = null)
        {
            string args = "hub add-device --data-dir \"" + DataDir + "\" " + device + (module != null ? " --module " + module : "");
            string output;
            int code = TestEnv.Run(TestEnv.Require("IOTSEC_CLI"), args, null, TimeSpan.FromSeconds(60), out output);
            Assert.AreEqual(0, code, "iotsec " + args + " failed: " + output);
            foreach (string line in output.Split('\n'))
            {
                if (line.StartsWith("HostName=", StringComparison.Ordinal)) return line.Trim();
            }
            Assert.Fail("iotsec hub add-device printed no connection string: " + output);
            return null;
        }

        /// <summary>Records of one store (security, dropped, telemetry) from one device.</summary>
        internal List<JsonObject> Store(string store, string device, int count, double seconds = 15)
        {
            string path = Path.Combine(DataDir, "store", store + ".jsonl");
            return TestEnv.WaitFor(() => TestEnv.ReadJsonLines(path).FindAll(o => o.GetString("device_id") == device), count, TimeSpan.FromSeconds(seconds));
        }
    }
}
