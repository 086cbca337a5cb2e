// The child process of SecretsTests (a program, not a test; compiled to SecretSession.exe by
// scripts/test-csharp.sh): a full session at trace logging (IOTSEC_LOG=trace, set by the
// parent, so the native library logs on standard error from its first use) against the local
// hub: open, send for a few seconds with a 5 s SAS token (so it is renewed), then the failures
// whose exceptions could carry a secret. Prints on standard output:
//   STATUS <status> <reason>    every connection status change
//   SENT <n>                    messages acknowledged
//   ERROR <type> <ErrorCode>    each failure, followed by its full ToString() (message, stack)
//   DONE
//
//   mono SecretSession.exe CONFIG_FILE
// CONFIG_FILE lines: connection string, CA file, port, seconds, then one line per failing case:
// "connection string<TAB>CA file or -<TAB>port or -".
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using IotSec.Devices.Client;

internal static class SecretSession
{
    private static int Main(string[] args)
    {
        try
        {
            string[] config = File.ReadAllLines(args[0]);
            string cs = config[0];
            var options = new ClientOptions
            {
                TrustedCertificatesFile = config[1],
                Port = int.Parse(config[2]),
                SasTokenTimeToLive = TimeSpan.FromSeconds(5),
            };
            int seconds = int.Parse(config[3]);
            var statuses = new List<string>();
            int sent = 0;
            using (var client = DeviceClient.CreateFromConnectionString(cs, options))
            {
                client.SetConnectionStatusChangesHandler((status, reason) =>
                {
                    lock (statuses) statuses.Add(status + " " + reason);
                });
                client.OpenAsync().GetAwaiter().GetResult();
                var end = DateTime.UtcNow.AddSeconds(seconds);
                while (DateTime.UtcNow < end)
                {
                    using (var m = new Message(Encoding.UTF8.GetBytes("{\"n\":" + sent + "}")))
                    {
                        m.MessageId = "s-" + sent;
                        m.Properties["k"] = "v";
                        client.SendEventAsync(m).GetAwaiter().GetResult();
                    }
                    sent++;
                    Thread.Sleep(200);
                }
                client.CloseAsync().GetAwaiter().GetResult();
            }
            Console.WriteLine("SENT " + sent);
            for (int i = 4; i < config.Length; i++)
            {
                if (config[i].Length == 0) continue;
                string[] f = config[i].Split('\t');
                var o = new ClientOptions();
                if (f[1] != "-") o.TrustedCertificatesFile = f[1];
                if (f[2] != "-") o.Port = int.Parse(f[2]);
                try
                {
                    using (var c = DeviceClient.CreateFromConnectionString(f[0], o))
                    {
                        c.OpenAsync().GetAwaiter().GetResult();
                    }
                    Console.WriteLine("CONNECTED case " + (i - 4));
                }
                catch (Exception e)
                {
                    var code = e is IIotSecError ? ((IIotSecError)e).ErrorCode.ToString() : "-";
                    Console.WriteLine("ERROR " + e.GetType().Name + " " + code);
                    Console.WriteLine(e.ToString());
                }
            }
            Thread.Sleep(200); // the last status changes
            lock (statuses)
            {
                foreach (string s in statuses) Console.WriteLine("STATUS " + s);
            }
            Console.WriteLine("DONE");
            return 0;
        }
        catch (Exception e)
        {
            Console.WriteLine("FAILED " + e);
            return 3;
        }
    }
}
