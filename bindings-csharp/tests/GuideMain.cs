// A console program around the guide's method (the generated GuideSnippet): it sends and
// returns from Main without disposing the client, as the guide's code does. The tests run it
// under a time limit to check that the process ends (Mono waits for foreign threads at exit
// unless iotsec's threads are stopped, which the library does at ProcessExit).
//
//   mono GuideMain.exe guide|pending|failures CONNECTION_STRING BODY_FILE
using System;
using System.IO;
using System.Text;
using IotSec.Devices.Client;
using IotSec.Guide;

internal static class GuideMain
{
    private static int Main(string[] args)
    {
        try
        {
            string mode = args[0];
            string body = File.ReadAllText(args[2]);
            GuideSnippet.ConnectionString = args[1];
            if (mode == "guide")
            {
                GuideSnippet.Run(body).GetAwaiter().GetResult();
                Console.WriteLine("guide: sent");
                return 0;
            }
            if (mode == "pending")
            {
                var client = ModuleClient.CreateFromConnectionString(args[1]);
                for (int i = 0; i < 50; i++)
                {
                    var message = new Message(Encoding.UTF8.GetBytes(body));
                    message.SetAsSecurityMessage();
                    client.SendEventAsync(message);
                }
                Console.WriteLine("pending: queued 50");
                return 0;
            }
            if (mode == "failures")
            {
                ModuleClient.CreateFromConnectionString(args[1]);
                try
                {
                    GuideSnippet.Run(body).GetAwaiter().GetResult();
                    Console.WriteLine("failures: the send succeeded on a port where nothing listens");
                    return 1;
                }
                catch (IotSecException e)
                {
                    Console.WriteLine("failures: " + e.ErrorCode);
                }
                return 0;
            }
            Console.Error.WriteLine("unknown mode " + mode);
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            return 3;
        }
    }
}
