// A small JSON reader and writer for the few JSON texts iotsec's C library returns (violation
// lists, property lists). netstandard2.0 has no JSON library, and the package takes no
// dependency for this. Numbers keep their literal text, objects keep member order and
// repeated names.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IotSec.Devices.Client.Internal
{
    /// <summary>A JSON number, kept as its literal text.</summary>
    internal sealed class JsonNumber
    {
        internal JsonNumber(string literal) { Literal = literal; }

        internal string Literal { get; private set; }

        internal long ToInt64() { return long.Parse(Literal, NumberStyles.Integer, CultureInfo.InvariantCulture); }

        public override string ToString() { return Literal; }
    }

    /// <summary>A JSON object: its members in document order (repeated names kept).</summary>
    internal sealed class JsonObject
    {
        internal readonly List<KeyValuePair<string, object>> Members = new List<KeyValuePair<string, object>>();

        /// <summary>The value of the last member called <paramref name="name"/>, or null.</summary>
        internal object Get(string name)
        {
            for (int i = Members.Count - 1; i >= 0; i--)
            {
                if (Members[i].Key == name) return Members[i].Value;
            }
            return null;
        }

        internal bool Has(string name)
        {
            foreach (var m in Members)
            {
                if (m.Key == name) return true;
            }
            return false;
        }

        internal string GetString(string name) { return Get(name) as string; }
    }

    /// <summary>Reads and writes JSON: objects are <see cref="JsonObject"/>, arrays
    /// <c>List&lt;object&gt;</c>, numbers <see cref="JsonNumber"/>, strings, booleans, null.</summary>
    internal static class Json
    {
        internal static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            int pos = 0;
            SkipSpace(text, ref pos);
            object value = ParseValue(text, ref pos, 0);
            SkipSpace(text, ref pos);
            if (pos != text.Length) throw Error(text, pos, "unexpected text after the value");
            return value;
        }

        private static FormatException Error(string text, int pos, string what)
        {
            return new FormatException("invalid JSON at character " + pos.ToString(CultureInfo.InvariantCulture) + ": " + what);
        }

        private static void SkipSpace(string s, ref int pos)
        {
            while (pos < s.Length && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) pos++;
        }

        private static object ParseValue(string s, ref int pos, int depth)
        {
            if (depth > 512) throw Error(s, pos, "nested too deeply");
            if (pos >= s.Length) throw Error(s, pos, "unexpected end");
            char c = s[pos];
            if (c == '{') return ParseObject(s, ref pos, depth);
            if (c == '[') return ParseArray(s, ref pos, depth);
            if (c == '"') return ParseString(s, ref pos);
            if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(s, ref pos);
            if (string.CompareOrdinal(s, pos, "true", 0, 4) == 0) { pos += 4; return true; }
            if (string.CompareOrdinal(s, pos, "false", 0, 5) == 0) { pos += 5; return false; }
            if (string.CompareOrdinal(s, pos, "null", 0, 4) == 0) { pos += 4; return null; }
            throw Error(s, pos, "unexpected character");
        }

        private static JsonObject ParseObject(string s, ref int pos, int depth)
        {
            var obj = new JsonObject();
            pos++;
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == '}') { pos++; return obj; }
            while (true)
            {
                SkipSpace(s, ref pos);
                if (pos >= s.Length || s[pos] != '"') throw Error(s, pos, "expected a member name");
                string name = ParseString(s, ref pos);
                SkipSpace(s, ref pos);
                if (pos >= s.Length || s[pos] != ':') throw Error(s, pos, "expected ':'");
                pos++;
                SkipSpace(s, ref pos);
                object value = ParseValue(s, ref pos, depth + 1);
                obj.Members.Add(new KeyValuePair<string, object>(name, value));
                SkipSpace(s, ref pos);
                if (pos < s.Length && s[pos] == ',') { pos++; continue; }
                if (pos < s.Length && s[pos] == '}') { pos++; return obj; }
                throw Error(s, pos, "expected ',' or '}'");
            }
        }

        private static List<object> ParseArray(string s, ref int pos, int depth)
        {
            var list = new List<object>();
            pos++;
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == ']') { pos++; return list; }
            while (true)
            {
                SkipSpace(s, ref pos);
                list.Add(ParseValue(s, ref pos, depth + 1));
                SkipSpace(s, ref pos);
                if (pos < s.Length && s[pos] == ',') { pos++; continue; }
                if (pos < s.Length && s[pos] == ']') { pos++; return list; }
                throw Error(s, pos, "expected ',' or ']'");
            }
        }

        private static JsonNumber ParseNumber(string s, ref int pos)
        {
            int start = pos;
            if (s[pos] == '-') pos++;
            int digits = pos;
            while (pos < s.Length && s[pos] >= '0' && s[pos] <= '9') pos++;
            if (pos == digits) throw Error(s, pos, "expected a digit");
            if (pos < s.Length && s[pos] == '.')
            {
                pos++;
                int frac = pos;
                while (pos < s.Length && s[pos] >= '0' && s[pos] <= '9') pos++;
                if (pos == frac) throw Error(s, pos, "expected a digit");
            }
            if (pos < s.Length && (s[pos] == 'e' || s[pos] == 'E'))
            {
                pos++;
                if (pos < s.Length && (s[pos] == '+' || s[pos] == '-')) pos++;
                int exp = pos;
                while (pos < s.Length && s[pos] >= '0' && s[pos] <= '9') pos++;
                if (pos == exp) throw Error(s, pos, "expected a digit");
            }
            return new JsonNumber(s.Substring(start, pos - start));
        }

        private static string ParseString(string s, ref int pos)
        {
            pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (pos >= s.Length) throw Error(s, pos, "unterminated string");
                char c = s[pos++];
                if (c == '"') return sb.ToString();
                if (c < ' ') throw Error(s, pos - 1, "control character in a string");
                if (c != '\\') { sb.Append(c); continue; }
                if (pos >= s.Length) throw Error(s, pos, "unterminated escape");
                char e = s[pos++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (pos + 4 > s.Length) throw Error(s, pos, "short \\u escape");
                        int code;
                        if (!int.TryParse(s.Substring(pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                            throw Error(s, pos, "bad \\u escape");
                        sb.Append((char)code);
                        pos += 4;
                        break;
                    default:
                        throw Error(s, pos - 1, "unknown escape");
                }
            }
        }

        /// <summary>Compact JSON text of a value built from the types <see cref="Parse"/> returns.</summary>
        internal static string Write(object value)
        {
            var sb = new StringBuilder();
            Write(sb, value);
            return sb.ToString();
        }

        private static void Write(StringBuilder sb, object value)
        {
            if (value == null) { sb.Append("null"); return; }
            var str = value as string;
            if (str != null) { WriteString(sb, str); return; }
            if (value is bool) { sb.Append((bool)value ? "true" : "false"); return; }
            var num = value as JsonNumber;
            if (num != null) { sb.Append(num.Literal); return; }
            var obj = value as JsonObject;
            if (obj != null)
            {
                sb.Append('{');
                for (int i = 0; i < obj.Members.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    WriteString(sb, obj.Members[i].Key);
                    sb.Append(':');
                    Write(sb, obj.Members[i].Value);
                }
                sb.Append('}');
                return;
            }
            var list = value as List<object>;
            if (list != null)
            {
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Write(sb, list[i]);
                }
                sb.Append(']');
                return;
            }
            if (value is int || value is long)
            {
                sb.Append(Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                return;
            }
            throw new ArgumentException("cannot write a " + value.GetType().Name + " as JSON", "value");
        }

        internal static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < ' ') sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }
}
