// The Java conformance driver: compiled with plain `javac -cp iotsec-<version>.jar` in an empty
// folder and run with `java -cp iotsec-<version>.jar:.`; public API of io.iotsec.device only.
// tests/conformance/run.py reads what it prints (one JSON object per line); the protocol is in
// tests/conformance/README.md. Java has no JSON library in the JDK, so a small reader/writer
// is at the end of this file (numbers keep their literal text, so bodies round-trip exactly).
//
//   java Driver snippet CONNECTION_STRING BODY_FILE   (CA and port from IOTSEC_CA_FILE / IOTSEC_MQTT_PORT)
//   java Driver wire VECTORS_DIR CA_FILE PORT
//   java Driver schema VECTORS_DIR
//   java Driver bad CA_FILE PORT INVALID_BODY_FILE WRONG_CA_FILE HUB_CA_FILE HUB_PORT HUB_FORGED_CONNECTION_STRING

import io.iotsec.device.ClientOptions;
import io.iotsec.device.DeviceClient;
import io.iotsec.device.ErrorCode;
import io.iotsec.device.IotHubClientProtocol;
import io.iotsec.device.Message;
import io.iotsec.device.ModuleClient;
import io.iotsec.device.SchemaValidationException;
import io.iotsec.device.SecuritySchema;
import io.iotsec.device.ValidationMode;
import io.iotsec.device.Violation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

public class Driver {
    static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    static void emit(Map<String, Object> obj) {
        System.out.println(Json.write(obj));
        System.out.flush();
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static String kind(Throwable t) {
        ErrorCode code = ErrorCode.of(t);
        return code == null ? "not an iotsec error: " + t : code.name();
    }

    /** The guide's method (GuideSnippet, generated from tests/guide/java.java), run once; its EventCallback reports. */
    static void snippet(String cs, String bodyFile) throws Exception {
        GuideSnippet.connectionString = cs;
        try {
            new GuideSnippet().SendSecurityMessage(Files.readString(Path.of(bodyFile)));
        } catch (RuntimeException e) {
            emit(obj("check", "snippet", "ok", false, "error", kind(e), "message", e.getMessage()));
            return;
        }
        String status = EventCallback.OUTCOMES.poll(60, TimeUnit.SECONDS);
        if ("OK".equals(status)) {
            emit(obj("check", "snippet", "ok", true));
        } else {
            emit(obj("check", "snippet", "ok", false, "error", String.valueOf(status), "message", "the guide's callback got " + status));
        }
    }

    static List<Path> jsonFiles(String dir) throws IOException {
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().collect(Collectors.toList());
        }
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> cases(Path file) throws IOException {
        Map<String, Object> doc = (Map<String, Object>) Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        return (List<Map<String, Object>>) (List<?>) doc.get("cases");
    }

    @SuppressWarnings("unchecked")
    static Message messageFrom(Map<String, Object> v) {
        byte[] body;
        if (v.containsKey("body_text")) {
            body = ((String) v.get("body_text")).getBytes(StandardCharsets.UTF_8);
        } else if (v.containsKey("body_base64")) {
            body = Base64.getDecoder().decode((String) v.get("body_base64"));
        } else {
            Map<String, Object> r = (Map<String, Object>) v.get("body_repeat");
            body = ((String) r.get("text")).repeat(Integer.parseInt(r.get("count").toString())).getBytes(StandardCharsets.UTF_8);
        }
        Message m = new Message(body);
        if (v.containsKey("message_id")) m.setMessageId((String) v.get("message_id"));
        if (v.containsKey("correlation_id")) m.setCorrelationId((String) v.get("correlation_id"));
        if (v.containsKey("user_id")) m.setUserId((String) v.get("user_id"));
        if (v.containsKey("to")) m.setTo((String) v.get("to"));
        if (v.containsKey("content_type")) m.setContentType((String) v.get("content_type"));
        if (v.containsKey("content_encoding")) m.setContentEncoding((String) v.get("content_encoding"));
        if (v.containsKey("output_name")) m.setOutputName((String) v.get("output_name"));
        if (v.containsKey("expiry_time_utc")) m.setExpiryTimeUtc((String) v.get("expiry_time_utc"));
        if (v.containsKey("interface_id")) m.setInterfaceId((String) v.get("interface_id"));
        if (v.containsKey("component_name")) m.setComponentName((String) v.get("component_name"));
        if (Boolean.TRUE.equals(v.get("security"))) m.setAsSecurityMessage();
        if (v.containsKey("properties")) {
            for (Object p : (List<Object>) v.get("properties")) {
                List<Object> pair = (List<Object>) p;
                m.setProperty((String) pair.get(0), (String) pair.get(1));
            }
        }
        return m;
    }

    static String cs(String device, String module) {
        return module == null
                ? "HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + KEY
                : "HostName=localhost;DeviceId=" + device + ";ModuleId=" + module + ";SharedAccessKey=" + KEY;
    }

    interface Sender {
        void send(Message m);
    }

    @SuppressWarnings("unchecked")
    static void wire(String dir, String ca, String port) throws IOException {
        // Validation off: the wire vectors are about topics and bytes.
        ClientOptions options = ClientOptions.builder().caFile(ca).port(Integer.parseInt(port)).validation(ValidationMode.OFF).build();
        Map<String, AutoCloseable> clients = new LinkedHashMap<>();
        for (Path file : jsonFiles(dir)) {
            for (Map<String, Object> c : cases(file)) {
                String name = (String) c.get("name");
                String device = (String) c.get("device_id");
                String module = (String) c.get("module_id");
                String key = device + "\u0000" + module;
                try {
                    AutoCloseable client = clients.get(key);
                    if (client == null) {
                        client = module == null
                                ? new DeviceClient(cs(device, null), IotHubClientProtocol.MQTT, options)
                                : new ModuleClient(cs(device, module), IotHubClientProtocol.MQTT, options);
                        clients.put(key, client);
                    }
                    Message m = messageFrom((Map<String, Object>) c.get("message"));
                    if (client instanceof DeviceClient) {
                        ((DeviceClient) client).sendEvent(m);
                    } else {
                        ((ModuleClient) client).sendEvent(m);
                    }
                    emit(obj("name", name, "result", "sent"));
                } catch (RuntimeException e) {
                    emit(obj("name", name, "error", kind(e), "message", e.getMessage()));
                }
            }
        }
        for (AutoCloseable client : clients.values()) {
            try {
                client.close();
            } catch (Exception e) {
                System.err.println("close: " + e);
            }
        }
    }

    static void schema(String dir) throws IOException {
        for (Path file : jsonFiles(dir)) {
            for (Map<String, Object> c : cases(file)) {
                byte[] body;
                if (c.containsKey("body")) {
                    body = Json.write(c.get("body")).getBytes(StandardCharsets.UTF_8);
                } else if (c.containsKey("body_text")) {
                    body = ((String) c.get("body_text")).getBytes(StandardCharsets.UTF_8);
                } else {
                    body = Base64.getDecoder().decode((String) c.get("body_base64"));
                }
                List<Object> violations = new ArrayList<>();
                for (Violation v : SecuritySchema.validate(body)) {
                    List<Object> entry = new ArrayList<>(List.of(v.getPointer(), v.getRule()));
                    Violation.Position p = v.getPosition();
                    if (p != null) {
                        entry.add(List.of(new Json.Num(Integer.toString(p.getOffset())), new Json.Num(Integer.toString(p.getLine())),
                                new Json.Num(Integer.toString(p.getColumn()))));
                    }
                    violations.add(entry);
                }
                emit(obj("file", file.getFileName().toString(), "name", c.get("name"), "is_valid", SecuritySchema.isValid(body),
                        "violations", violations));
            }
        }
    }

    interface Action {
        void run() throws Exception;
    }

    static void outcome(String check, Action action) {
        try {
            action.run();
            emit(obj("check", check, "error", null));
        } catch (Exception e) {
            List<Object> violations = new ArrayList<>();
            if (e instanceof SchemaValidationException) {
                for (Violation v : ((SchemaValidationException) e).getViolations()) {
                    violations.add(List.of(v.getPointer(), v.getRule()));
                }
            }
            emit(obj("check", check, "error", kind(e), "message", e.getMessage(), "violations", violations));
        }
    }

    static void bad(String ca, String port, String invalidBodyFile, String wrongCa, String hubCa, String hubPort, String forged)
            throws Exception {
        String secret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
        IotHubClientProtocol mqtt = IotHubClientProtocol.MQTT;
        outcome("connection_string_without_device_id", () -> new DeviceClient("HostName=localhost;SharedAccessKey=" + secret, mqtt).close());
        outcome("connection_string_key_not_base64",
                () -> new DeviceClient("HostName=localhost;DeviceId=conf-bad;SharedAccessKey=not a key!", mqtt).close());
        outcome("connection_string_garbage", () -> new DeviceClient("not a connection string", mqtt).close());
        outcome("module_connection_string_for_device_client", () -> new DeviceClient(cs("conf-bad", "m"), mqtt).close());

        ClientOptions options = ClientOptions.builder().caFile(ca).port(Integer.parseInt(port)).build();
        DeviceClient client = new DeviceClient(cs("conf-bad-java", null), mqtt, options);
        Message invalid = new Message(Files.readAllBytes(Path.of(invalidBodyFile)));
        invalid.setAsSecurityMessage();
        outcome("schema_invalid_security_message", () -> client.sendEvent(invalid));
        client.close();
        outcome("send_after_close", () -> client.sendEvent(new Message("sent after close")));

        DeviceClient untrusted = new DeviceClient(cs("conf-bad-java", null), mqtt,
                ClientOptions.builder().caFile(wrongCa).port(Integer.parseInt(port)).build());
        outcome("untrusted_server_certificate", untrusted::open);
        untrusted.close();
        DeviceClient refused = new DeviceClient(forged, mqtt, ClientOptions.builder().caFile(hubCa).port(Integer.parseInt(hubPort)).build());
        outcome("credential_refused_by_hub", refused::open);
        refused.close();
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "snippet":
                snippet(args[1], args[2]);
                break;
            case "wire":
                wire(args[1], args[2], args[3]);
                break;
            case "schema":
                schema(args[1]);
                break;
            case "bad":
                bad(args[1], args[2], args[3], args[4], args[5], args[6], args[7]);
                break;
            default:
                System.err.println("unknown mode " + args[0]);
                System.exit(2);
        }
        System.exit(0);
    }

    /** A small JSON reader and writer: objects are LinkedHashMap, arrays ArrayList, numbers Num (literal text). */
    static final class Json {
        static final class Num {
            final String literal;

            Num(String literal) {
                this.literal = literal;
            }

            @Override
            public String toString() {
                return literal;
            }
        }

        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json p = new Json(text);
            p.ws();
            Object v = p.value();
            p.ws();
            if (p.i != text.length()) throw p.error("trailing text");
            return v;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("JSON: " + what + " at " + i);
        }

        private void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
        }

        private Object value() {
            if (i >= s.length()) throw error("end of text");
            char c = s.charAt(i);
            if (c == '{') {
                i++;
                Map<String, Object> m = new LinkedHashMap<>();
                ws();
                if (s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                while (true) {
                    ws();
                    String k = string();
                    ws();
                    if (s.charAt(i++) != ':') throw error("':' expected");
                    ws();
                    m.put(k, value());
                    ws();
                    char d = s.charAt(i++);
                    if (d == '}') return m;
                    if (d != ',') throw error("',' or '}' expected");
                }
            }
            if (c == '[') {
                i++;
                List<Object> a = new ArrayList<>();
                ws();
                if (s.charAt(i) == ']') {
                    i++;
                    return a;
                }
                while (true) {
                    ws();
                    a.add(value());
                    ws();
                    char d = s.charAt(i++);
                    if (d == ']') return a;
                    if (d != ',') throw error("',' or ']' expected");
                }
            }
            if (c == '"') return string();
            if (s.startsWith("true", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("false", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (s.startsWith("null", i)) {
                i += 4;
                return null;
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            if (start == i) throw error("unexpected character");
            return new Num(s.substring(start, i));
        }

        private String string() {
            if (s.charAt(i++) != '"') throw error("string expected");
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break;
                    case 't': b.append('\t'); break;
                    case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'u':
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                        break;
                    default: b.append(e);
                }
            }
        }

        static String write(Object v) {
            StringBuilder b = new StringBuilder();
            write(b, v);
            return b.toString();
        }

        @SuppressWarnings("unchecked")
        private static void write(StringBuilder b, Object v) {
            if (v == null) {
                b.append("null");
            } else if (v instanceof String) {
                b.append('"');
                String t = (String) v;
                for (int k = 0; k < t.length(); k++) {
                    char c = t.charAt(k);
                    if (c == '"' || c == '\\') b.append('\\').append(c);
                    else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
                b.append('"');
            } else if (v instanceof Map) {
                b.append('{');
                boolean first = true;
                for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                    if (!first) b.append(',');
                    first = false;
                    write(b, e.getKey());
                    b.append(':');
                    write(b, e.getValue());
                }
                b.append('}');
            } else if (v instanceof List) {
                b.append('[');
                boolean first = true;
                for (Object e : (List<Object>) v) {
                    if (!first) b.append(',');
                    first = false;
                    write(b, e);
                }
                b.append(']');
            } else {
                b.append(v.toString()); // Boolean, Num
            }
        }
    }
}
