// iotsec for C#, send throughput (bench/run.sh runs this; see bench/README.md). One mode per
// process: connect, --warmup messages (ids w0...), then --count measured ones (ids m0...), each
// a guide-sized security message (validated before it is sent); prints one JSON line.
//
//   mono Bench.exe --mode await|pipelined --port P --ca CA.pem --body FILE [--count N]
//                  [--warmup N] [--inflight N] [--device ID]
//   mono Bench.exe --overhead --body FILE      (per-call costs, one JSON line)
//
// await: `await client.SendEventAsync(message)` one after another, as the guide does.
// pipelined: every SendEventAsync issued, then `await Task.WhenAll(...)`.
// Written in the C# 7 subset Mono's mcs compiles (no local functions, no async Main).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;
using IotSec.Devices.Client;

public static class Bench
{
    private const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    public static object Sink;

    public static int Main(string[] args)
    {
        var a = new Dictionary<string, string>();
        bool overhead = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--overhead") { overhead = true; continue; }
            if (i + 1 >= args.Length) { Console.Error.WriteLine("bench: " + args[i] + " needs a value"); return 2; }
            a[args[i].TrimStart('-')] = args[++i];
        }
        byte[] body = File.ReadAllBytes(a["body"]);
        try
        {
            if (overhead) Overhead(body);
            else Run(a, body).GetAwaiter().GetResult();
        }
        finally
        {
            IotSecRuntime.Shutdown();
        }
        return 0;
    }

    /// <summary>Peak resident set of this process (VmHWM from /proc/self/status).</summary>
    private static long VmHwmKb()
    {
        foreach (var line in File.ReadAllLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Substring(6).Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return 0;
    }

    private static string Get(Dictionary<string, string> a, string key, string fallback)
    {
        string v;
        return a.TryGetValue(key, out v) ? v : fallback;
    }

    private static Message Make(byte[] body, string id)
    {
        var m = new Message(body);
        m.MessageId = id;
        m.SetAsSecurityMessage();
        return m;
    }

    private static async Task Send(DeviceClient client, byte[] body, string mode, string prefix, int n)
    {
        if (mode == "await")
        {
            for (int i = 0; i < n; i++)
            {
                using (var m = Make(body, prefix + i))
                {
                    await client.SendEventAsync(m);
                }
            }
            return;
        }
        var sends = new List<Task>(n);
        for (int i = 0; i < n; i++)
        {
            // Sending copies the message: it may be disposed as soon as SendEventAsync returns.
            using (var m = Make(body, prefix + i))
            {
                sends.Add(client.SendEventAsync(m));
            }
        }
        await Task.WhenAll(sends);
    }

    private static async Task Run(Dictionary<string, string> a, byte[] body)
    {
        string mode = a["mode"];
        if (mode != "await" && mode != "pipelined") throw new ArgumentException("--mode is await or pipelined");
        int count = int.Parse(Get(a, "count", "20000"), CultureInfo.InvariantCulture);
        int warmup = int.Parse(Get(a, "warmup", "1000"), CultureInfo.InvariantCulture);
        string device = Get(a, "device", "bench-csharp-" + mode);
        var options = new ClientOptions
        {
            TrustedCertificatesFile = a["ca"],
            Port = int.Parse(Get(a, "port", "8883"), CultureInfo.InvariantCulture),
            MaxInFlight = int.Parse(Get(a, "inflight", "100"), CultureInfo.InvariantCulture),
        };
        var connect = Stopwatch.StartNew();
        using (var client = DeviceClient.CreateFromConnectionString(
            "HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + Key, TransportType.Mqtt, options))
        {
            await client.OpenAsync();
            double connectMs = connect.Elapsed.TotalMilliseconds;
            await Send(client, body, mode, "w", warmup);
            var process = Process.GetCurrentProcess();
            process.Refresh();
            TimeSpan cpu0 = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            await Send(client, body, mode, "m", count);
            double seconds = watch.Elapsed.TotalSeconds;
            process.Refresh();
            double cpuUs = (process.TotalProcessorTime - cpu0).TotalMilliseconds * 1000.0 / count;
            await client.CloseAsync();
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "{{\"mode\":\"{0}\",\"count\":{1},\"connect_ms\":{2:F3},\"seconds\":{3:F4},\"msgs_per_sec\":{4:F1},\"cpu_us_per_msg\":{5:F3},\"vm_hwm_kb\":{6}",
                mode, count, connectMs, seconds, count / seconds, cpuUs, VmHwmKb()) + "}");
        }
    }

    /// <summary>Nanoseconds per call: the best of 5 timed loops of at least 0.2 s each.</summary>
    private static double PerCallNs(Action f)
    {
        long n = 1000;
        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            while (true)
            {
                var w = Stopwatch.StartNew();
                for (long i = 0; i < n; i++) f();
                double ns = w.Elapsed.TotalMilliseconds * 1e6;
                if (ns >= 2e8) { best = Math.Min(best, ns / n); break; }
                n *= 2;
            }
        }
        return best;
    }

    private static void Overhead(byte[] body)
    {
        if (SecurityMessageSchema.Validate(body).Count != 0 || !SecurityMessageSchema.IsValid(body))
            throw new InvalidOperationException("the bench message is not valid");
        double create = PerCallNs(() =>
        {
            using (var m = new Message(body)) { m.SetAsSecurityMessage(); Sink = m; }
        });
        double createMid = PerCallNs(() =>
        {
            using (var m = Make(body, "m12345")) { Sink = m; }
        });
        double validate = PerCallNs(() => { Sink = SecurityMessageSchema.Validate(body); });
        double isValid = PerCallNs(() => { Sink = SecurityMessageSchema.IsValid(body); });
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "{{\"create_flag_ns\":{0:F1},\"create_flag_mid_ns\":{1:F1},\"validate_ns\":{2:F1},\"is_valid_ns\":{3:F1}",
            create, createMid, validate, isValid) + "}");
    }
}
