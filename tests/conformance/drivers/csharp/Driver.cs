// The C# conformance driver: compiled with mcs against IotSec.dll (built from bindings-csharp/src)
// and run with mono in a folder holding IotSec.dll and libiotsec.so, nothing else; public API
// of IotSec.Devices.Client only. tests/conformance/run.py reads what it prints (one JSON object
// per line); the protocol is in tests/conformance/README.md. Neither netstandard2.0 nor Mono's
// minimal install has a JSON library, so a small reader/writer is at the end of this file
// (numbers keep their literal text, so bodies round-trip exactly). C# 7.0, as mcs accepts it.
//
//   mono Driver.exe snippet CONNECTION_STRING BODY_FILE   (CA and port from IOTSEC_CA_FILE / IOTSEC_MQTT_PORT)
//   mono Driver.exe wire VECTORS_DIR CA_FILE PORT
//   mono Driver.exe schema VECTORS_DIR
//   mono Driver.exe bad CA_FILE PORT INVALID_BODY_FILE WRONG_CA_FILE HUB_CA_FILE HUB_PORT HUB_FORGED_CONNECTION_STRING
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using IotSec.Devices.Client;

namespace IotSec.Conformance
{
    public static class Driver
    {
        const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

        static void Emit(Dictionary<string, object> obj)
        {
            Console.Out.Write(MiniJson.Write(obj) + "\n");
            Console.Out.Flush();
        }

        static Dictionary<string, object> Obj(params object[] kv)
        {
            var d = new Dictionary<string, object>();
            for (int i = 0; i < kv.Length; i += 2) d[(string)kv[i]] = kv[i + 1];
            return d;
        }

        static string Kind(Exception e)
        {
            var agg = e as AggregateException;
            if (agg != null && agg.InnerExceptions.Count == 1) e = agg.InnerExceptions[0];
            var err = e as IIotSecError;
            return err != null ? err.ErrorName : "not an iotsec error: " + e.GetType().Name + ": " + e.Message;
        }

        static Exception Unwrap(Exception e)
        {
            var agg = e as AggregateException;
            return agg != null && agg.InnerExceptions.Count == 1 ? agg.InnerExceptions[0] : e;
        }

        static void Snippet(string cs, string bodyFile)
        {
            IotSec.Guide.GuideSnippet.ConnectionString = cs;
            try
            {
                IotSec.Guide.GuideSnippet.Run(File.ReadAllText(bodyFile)).GetAwaiter().GetResult();
                Emit(Obj("check", "snippet", "ok", true));
            }
            catch (Exception e)
            {
                Emit(Obj("check", "snippet", "ok", false, "error", Kind(e), "message", Unwrap(e).Message));
            }
        }

        static IEnumerable<string> JsonFiles(string dir)
        {
            return Directory.GetFiles(dir, "*.json").OrderBy(f => f, StringComparer.Ordinal);
        }

        static List<object> Cases(string file)
        {
            var doc = (Dictionary<string, object>)MiniJson.Parse(File.ReadAllText(file, Encoding.UTF8));
            return (List<object>)doc["cases"];
        }

        static string Str(Dictionary<string, object> o, string key)
        {
            object v;
            return o.TryGetValue(key, out v) ? v as string : null;
        }

        static Message Build(Dictionary<string, object> v)
        {
            byte[] body;
            if (v.ContainsKey("body_text")) body = Encoding.UTF8.GetBytes((string)v["body_text"]);
            else if (v.ContainsKey("body_base64")) body = Convert.FromBase64String((string)v["body_base64"]);
            else
            {
                var r = (Dictionary<string, object>)v["body_repeat"];
                var sb = new StringBuilder();
                long count = long.Parse(r["count"].ToString(), CultureInfo.InvariantCulture);
                for (long i = 0; i < count; i++) sb.Append((string)r["text"]);
                body = Encoding.UTF8.GetBytes(sb.ToString());
            }
            var m = new Message(body);
            if (v.ContainsKey("message_id")) m.MessageId = Str(v, "message_id");
            if (v.ContainsKey("correlation_id")) m.CorrelationId = Str(v, "correlation_id");
            if (v.ContainsKey("user_id")) m.UserId = Str(v, "user_id");
            if (v.ContainsKey("to")) m.To = Str(v, "to");
            if (v.ContainsKey("content_type")) m.ContentType = Str(v, "content_type");
            if (v.ContainsKey("content_encoding")) m.ContentEncoding = Str(v, "content_encoding");
            if (v.ContainsKey("output_name")) m.OutputName = Str(v, "output_name");
            if (v.ContainsKey("component_name")) m.ComponentName = Str(v, "component_name");
            // ExpiryTimeUtc is a DateTime (as in the C# SDK); the vectors' text goes through the
            // system-property setter, which sends it verbatim.
            if (v.ContainsKey("expiry_time_utc")) m.SetSystemProperty("expiry_time_utc", Str(v, "expiry_time_utc"));
            if (v.ContainsKey("interface_id")) m.SetSystemProperty("interface_id", Str(v, "interface_id"));
            object sec;
            if (v.TryGetValue("security", out sec) && sec is bool && (bool)sec) m.SetAsSecurityMessage();
            object props;
            if (v.TryGetValue("properties", out props))
            {
                foreach (object p in (List<object>)props)
                {
                    var pair = (List<object>)p;
                    m.Properties.Add((string)pair[0], (string)pair[1]);
                }
            }
            return m;
        }

        static string Cs(string device, string module)
        {
            return module == null
                ? "HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + Key
                : "HostName=localhost;DeviceId=" + device + ";ModuleId=" + module + ";SharedAccessKey=" + Key;
        }

        static ClientOptions Options(string ca, string port, SchemaValidationMode validation)
        {
            return new ClientOptions
            {
                TrustedCertificatesFile = ca,
                Port = int.Parse(port, CultureInfo.InvariantCulture),
                SchemaValidation = validation,
            };
        }

        static void Wire(string dir, string ca, string port)
        {
            var devices = new Dictionary<string, DeviceClient>();
            var modules = new Dictionary<string, ModuleClient>();
            foreach (string file in JsonFiles(dir))
            {
                foreach (object o in Cases(file))
                {
                    var c = (Dictionary<string, object>)o;
                    string name = Str(c, "name"), device = Str(c, "device_id"), module = Str(c, "module_id");
                    string key = device + "\u0000" + module;
                    try
                    {
                        // Validation off: the wire vectors are about topics and bytes.
                        using (Message m = Build((Dictionary<string, object>)c["message"]))
                        {
                            if (module == null)
                            {
                                DeviceClient d;
                                if (!devices.TryGetValue(key, out d))
                                {
                                    d = DeviceClient.CreateFromConnectionString(Cs(device, null), TransportType.Mqtt, Options(ca, port, SchemaValidationMode.Off));
                                    devices[key] = d;
                                }
                                d.SendEventAsync(m).GetAwaiter().GetResult();
                            }
                            else
                            {
                                ModuleClient mc;
                                if (!modules.TryGetValue(key, out mc))
                                {
                                    mc = ModuleClient.CreateFromConnectionString(Cs(device, module), TransportType.Mqtt, Options(ca, port, SchemaValidationMode.Off));
                                    modules[key] = mc;
                                }
                                mc.SendEventAsync(m).GetAwaiter().GetResult();
                            }
                        }
                        Emit(Obj("name", name, "result", "sent"));
                    }
                    catch (Exception e)
                    {
                        Emit(Obj("name", name, "error", Kind(e), "message", Unwrap(e).Message));
                    }
                }
            }
            foreach (var d in devices.Values) { d.CloseAsync().GetAwaiter().GetResult(); d.Dispose(); }
            foreach (var m in modules.Values) { m.CloseAsync().GetAwaiter().GetResult(); m.Dispose(); }
        }

        static void Schema(string dir)
        {
            foreach (string file in JsonFiles(dir))
            {
                foreach (object o in Cases(file))
                {
                    var c = (Dictionary<string, object>)o;
                    byte[] body;
                    if (c.ContainsKey("body")) body = Encoding.UTF8.GetBytes(MiniJson.Write(c["body"]));
                    else if (c.ContainsKey("body_text")) body = Encoding.UTF8.GetBytes((string)c["body_text"]);
                    else body = Convert.FromBase64String((string)c["body_base64"]);
                    var violations = new List<object>();
                    foreach (SchemaViolation v in SecurityMessageSchema.Validate(body))
                    {
                        var entry = new List<object> { v.Pointer, v.Rule };
                        if (v.Position != null)
                        {
                            entry.Add(new List<object> { new MiniJson.Number(v.Position.Offset.ToString(CultureInfo.InvariantCulture)),
                                new MiniJson.Number(v.Position.Line.ToString(CultureInfo.InvariantCulture)),
                                new MiniJson.Number(v.Position.Column.ToString(CultureInfo.InvariantCulture)) });
                        }
                        violations.Add(entry);
                    }
                    Emit(Obj("file", Path.GetFileName(file), "name", Str(c, "name"), "is_valid", SecurityMessageSchema.IsValid(body),
                        "violations", violations));
                }
            }
        }

        static void Outcome(string check, Action action)
        {
            try
            {
                action();
                Emit(Obj("check", check, "error", null));
            }
            catch (Exception e)
            {
                var violations = new List<object>();
                var schema = Unwrap(e) as SchemaValidationException;
                if (schema != null)
                {
                    foreach (SchemaViolation v in schema.Violations) violations.Add(new List<object> { v.Pointer, v.Rule });
                }
                Emit(Obj("check", check, "error", Kind(e), "message", Unwrap(e).Message, "violations", violations));
            }
        }

        static void Bad(string ca, string port, string invalidBodyFile, string wrongCa, string hubCa, string hubPort, string forged)
        {
            const string secret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
            Outcome("connection_string_without_device_id",
                () => DeviceClient.CreateFromConnectionString("HostName=localhost;SharedAccessKey=" + secret).Dispose());
            Outcome("connection_string_key_not_base64",
                () => DeviceClient.CreateFromConnectionString("HostName=localhost;DeviceId=conf-bad;SharedAccessKey=not a key!").Dispose());
            Outcome("connection_string_garbage", () => DeviceClient.CreateFromConnectionString("not a connection string").Dispose());
            Outcome("module_connection_string_for_device_client",
                () => DeviceClient.CreateFromConnectionString(Cs("conf-bad", "m")).Dispose());

            var client = DeviceClient.CreateFromConnectionString(Cs("conf-bad-csharp", null), TransportType.Mqtt, Options(ca, port, SchemaValidationMode.Strict));
            var invalid = new Message(File.ReadAllBytes(invalidBodyFile));
            invalid.SetAsSecurityMessage();
            Outcome("schema_invalid_security_message", () => client.SendEventAsync(invalid).GetAwaiter().GetResult());
            // The final close in C# is Dispose: after CloseAsync a send reconnects, as in the C# SDK.
            client.Dispose();
            Outcome("send_after_close", () => client.SendEventAsync(new Message(Encoding.UTF8.GetBytes("sent after close"))).GetAwaiter().GetResult());

            using (var untrusted = DeviceClient.CreateFromConnectionString(Cs("conf-bad-csharp", null), TransportType.Mqtt, Options(wrongCa, port, SchemaValidationMode.Strict)))
            {
                Outcome("untrusted_server_certificate", () => untrusted.OpenAsync().GetAwaiter().GetResult());
            }
            using (var refused = DeviceClient.CreateFromConnectionString(forged, TransportType.Mqtt, Options(hubCa, hubPort, SchemaValidationMode.Strict)))
            {
                Outcome("credential_refused_by_hub", () => refused.OpenAsync().GetAwaiter().GetResult());
            }
        }

        public static int Main(string[] args)
        {
            switch (args[0])
            {
                case "snippet": Snippet(args[1], args[2]); break;
                case "wire": Wire(args[1], args[2], args[3]); break;
                case "schema": Schema(args[1]); break;
                case "bad": Bad(args[1], args[2], args[3], args[4], args[5], args[6], args[7]); break;
                default: Console.Error.WriteLine("unknown mode " + args[0]); return 2;
            }
            return 0;
        }
    }

    /// <summary>A small JSON reader and writer: objects are Dictionary (insertion order kept by
    /// Mono's and .NET's Dictionary when nothing is removed), arrays List, numbers Number.</summary>
    public static class MiniJson
    {
        public sealed class Number
        {
            public readonly string Literal;
            public Number(string literal) { Literal = literal; }
            public override string ToString() { return Literal; }
        }

        public static object Parse(string s)
        {
            int i = 0;
            Ws(s, ref i);
            object v = Value(s, ref i);
            Ws(s, ref i);
            if (i != s.Length) throw new FormatException("JSON: trailing text at " + i);
            return v;
        }

        static void Ws(string s, ref int i)
        {
            while (i < s.Length && " \t\r\n".IndexOf(s[i]) >= 0) i++;
        }

        static object Value(string s, ref int i)
        {
            char c = s[i];
            if (c == '{')
            {
                i++;
                var m = new Dictionary<string, object>();
                Ws(s, ref i);
                if (s[i] == '}') { i++; return m; }
                while (true)
                {
                    Ws(s, ref i);
                    string k = Str(s, ref i);
                    Ws(s, ref i);
                    if (s[i++] != ':') throw new FormatException("JSON: ':' expected at " + i);
                    Ws(s, ref i);
                    m[k] = Value(s, ref i);
                    Ws(s, ref i);
                    char d = s[i++];
                    if (d == '}') return m;
                    if (d != ',') throw new FormatException("JSON: ',' or '}' expected at " + i);
                }
            }
            if (c == '[')
            {
                i++;
                var a = new List<object>();
                Ws(s, ref i);
                if (s[i] == ']') { i++; return a; }
                while (true)
                {
                    Ws(s, ref i);
                    a.Add(Value(s, ref i));
                    Ws(s, ref i);
                    char d = s[i++];
                    if (d == ']') return a;
                    if (d != ',') throw new FormatException("JSON: ',' or ']' expected at " + i);
                }
            }
            if (c == '"') return Str(s, ref i);
            if (string.CompareOrdinal(s, i, "true", 0, 4) == 0) { i += 4; return true; }
            if (string.CompareOrdinal(s, i, "false", 0, 5) == 0) { i += 5; return false; }
            if (string.CompareOrdinal(s, i, "null", 0, 4) == 0) { i += 4; return null; }
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) i++;
            if (start == i) throw new FormatException("JSON: unexpected character at " + i);
            return new Number(s.Substring(start, i - start));
        }

        static string Str(string s, ref int i)
        {
            if (s[i++] != '"') throw new FormatException("JSON: string expected at " + i);
            var b = new StringBuilder();
            while (true)
            {
                char c = s[i++];
                if (c == '"') return b.ToString();
                if (c != '\\') { b.Append(c); continue; }
                char e = s[i++];
                switch (e)
                {
                    case 'n': b.Append('\n'); break;
                    case 't': b.Append('\t'); break;
                    case 'r': b.Append('\r'); break;
                    case 'b': b.Append('\b'); break;
                    case 'f': b.Append('\f'); break;
                    case 'u': b.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)); i += 4; break;
                    default: b.Append(e); break;
                }
            }
        }

        public static string Write(object v)
        {
            var b = new StringBuilder();
            Write(b, v);
            return b.ToString();
        }

        static void Write(StringBuilder b, object v)
        {
            if (v == null) { b.Append("null"); return; }
            var s = v as string;
            if (s != null)
            {
                b.Append('"');
                foreach (char c in s)
                {
                    if (c == '"' || c == '\\') b.Append('\\').Append(c);
                    else if (c < 0x20) b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else b.Append(c);
                }
                b.Append('"');
                return;
            }
            if (v is bool) { b.Append((bool)v ? "true" : "false"); return; }
            var m = v as Dictionary<string, object>;
            if (m != null)
            {
                b.Append('{');
                bool first = true;
                foreach (var kv in m)
                {
                    if (!first) b.Append(',');
                    first = false;
                    Write(b, kv.Key);
                    b.Append(':');
                    Write(b, kv.Value);
                }
                b.Append('}');
                return;
            }
            var a = v as List<object>;
            if (a != null)
            {
                b.Append('[');
                for (int k = 0; k < a.Count; k++)
                {
                    if (k > 0) b.Append(',');
                    Write(b, a[k]);
                }
                b.Append(']');
                return;
            }
            b.Append(v.ToString()); // Number
        }
    }
}
