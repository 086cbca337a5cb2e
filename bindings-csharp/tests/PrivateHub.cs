// A local hub (iotsec hub) that one test owns: Kill() sends SIGKILL to the process it started
// (by its PID), Start() starts it again on the same port with the same data (registry, CA,
// stores). The shared hub of the test script is never touched.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using IotSec.Devices.Client;
using IotSec.Devices.Client.Internal;
using NUnit.Framework;

namespace IotSec.Tests
{
    internal sealed class PrivateHub : IDisposable
    {
        internal readonly string Dir;
        internal readonly string DataDir;
        private Process process;
        private int starts;

        internal int Port { get; private set; }

        internal string CaFile { get; private set; }

        internal PrivateHub()
        {
            Dir = Path.Combine(Path.GetTempPath(), TestEnv.Unique("iotsec-cs-hub"));
            Directory.CreateDirectory(Dir);
            DataDir = Path.Combine(Dir, "data");
        }

        internal int Pid { get { return process.Id; } }

        /// <summary>Starts the hub (a free port the first time, the same port afterwards) and
        /// waits until it listens.</summary>
        internal PrivateHub Start()
        {
            starts++;
            string ready = Path.Combine(Dir, "ready-" + starts + ".json");
            var log = new System.Text.StringBuilder();
            var psi = new ProcessStartInfo(TestEnv.Require("IOTSEC_CLI"),
                "hub --data-dir \"" + DataDir + "\" --port " + Port + " --ready-file \"" + ready + "\"")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (process != null) process.Dispose();
            process = new Process { StartInfo = psi };
            process.OutputDataReceived += (s, e) => { if (e.Data != null) lock (log) log.AppendLine(e.Data); };
            process.ErrorDataReceived += (s, e) => { if (e.Data != null) lock (log) log.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!File.Exists(ready) || new FileInfo(ready).Length == 0)
            {
                if (process.HasExited) lock (log) Assert.Fail("iotsec hub exited with " + process.ExitCode + ": " + log);
                if (DateTime.UtcNow > deadline) lock (log) Assert.Fail("iotsec hub did not start within 30 s: " + log);
                Thread.Sleep(20);
            }
            var info = TestEnv.ReadJsonFile(ready);
            Port = (int)((JsonNumber)info.Get("tls_port")).ToInt64();
            CaFile = info.GetString("ca_file");
            return this;
        }

        /// <summary>SIGKILL to the hub's PID (the process this object started), and reap it.</summary>
        internal void Kill()
        {
            if (process != null && !process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10000);
            }
        }

        public void Dispose()
        {
            Kill();
            if (process != null) process.Dispose();
            try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        internal ClientOptions Options()
        {
            return new ClientOptions { TrustedCertificatesFile = CaFile, Port = Port };
        }

        internal string AddDevice(string device)
        {
            string args = "hub add-device --data-dir \"" + DataDir + "\" " + device;
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
