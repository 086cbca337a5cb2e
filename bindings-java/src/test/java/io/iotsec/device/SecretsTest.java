package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.lang.reflect.Method;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets never leak: a full open / send / token renewal session at TRACE logging
 * ({@code IOTSEC_LOG=trace}: iotsec, rumqttc and rustls on standard error) in a child JVM, and
 * the errors a wrong key, a malformed key, an expired fixed SAS token and a wrong CA produce.
 * Neither the log nor any exception message, {@code toString()} or stack trace holds the key, a
 * SAS token or a signature (computed here for every expiry the session could have signed).
 *
 * <p>And TLS verification cannot be turned off: a wrong CA always fails; the only way to skip
 * TLS is the explicitly named plain-TCP option, which works only towards a loopback host.
 */
class SecretsTest {
    private static final int LIFETIME = 5;

    /** RFC 3986 encoding, as iotsec encodes SAS fields. */
    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A").replace("%7E", "~");
    }

    static String signature(String keyB64, String resource, long expiry) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(Base64.getDecoder().decode(keyB64), "HmacSHA256"));
        return Base64.getEncoder().encodeToString(mac.doFinal((encode(resource) + "\n" + expiry).getBytes(StandardCharsets.UTF_8)));
    }

    static List<String> secretForms(String keyB64, String resource, long first, long last) throws Exception {
        List<String> forms = new ArrayList<>(List.of(keyB64, encode(keyB64), HexFormat.of().formatHex(Base64.getDecoder().decode(keyB64)),
                keyB64.replaceAll("=+$", "")));
        for (long se = first; se <= last; se++) {
            String sig = signature(keyB64, resource, se);
            forms.add(sig);
            forms.add(encode(sig));
            forms.add(HexFormat.of().formatHex(Base64.getDecoder().decode(sig)));
            forms.add(sig.replaceAll("=+$", ""));
        }
        return forms;
    }

    @Test
    void theTraceLogAndEveryErrorOfASessionWithTokenRenewalsHoldNoSecret(@TempDir Path dir) throws Exception {
        TestEnv.Hub hub = TestEnv.hub();
        TestEnv.Mosquitto mq = TestEnv.mosquitto();
        String device = TestEnv.unique("jsecrets");
        String cs = hub.addDevice(device, null);
        String key = cs.substring(cs.indexOf("SharedAccessKey=") + "SharedAccessKey=".length());
        String resource = "localhost/devices/" + device;
        long expiredSe = 1_000_000_000L;
        String fixedSig = signature(key, resource, expiredSe);
        String fixedToken = "SharedAccessSignature sr=" + encode(resource) + "&sig=" + encode(fixedSig) + "&se=" + expiredSe;
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String otherKey = Base64.getEncoder().encodeToString(random);

        JsonObject hubOptions = new JsonObject();
        hubOptions.addProperty("caFile", hub.caFile);
        hubOptions.addProperty("port", hub.tlsPort);
        JsonObject wrongCa = new JsonObject();
        wrongCa.addProperty("caFile", mq.wrongCaFile);
        wrongCa.addProperty("port", mq.tlsPort);
        JsonArray failing = new JsonArray();
        failing.add(pair("HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + otherKey, hubOptions)); // CREDENTIAL_REFUSED
        failing.add(pair(cs.replace("SharedAccessKey=", "SharedAccessKey=!"), null)); // INVALID_CONNECTION_STRING
        failing.add(pair(cs + "x", null));
        failing.add(pair("HostName=localhost;DeviceId=" + device + ";SharedAccessSignature=" + fixedToken, hubOptions)); // expired
        failing.add(pair(cs, wrongCa)); // TLS
        JsonObject config = new JsonObject();
        config.addProperty("connectionString", cs);
        config.addProperty("caFile", hub.caFile);
        config.addProperty("port", hub.tlsPort);
        config.addProperty("seconds", 7);
        config.add("failing", failing);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), SecretSession.class.getName());
        pb.environment().put("IOTSEC_LOG", "trace");
        pb.environment().put("IOTSEC_SECRETS_CONFIG", config.toString());
        pb.environment().remove("IOTSEC_CA_FILE");
        pb.environment().remove("IOTSEC_MQTT_PORT");
        Path stdout = dir.resolve("stdout.txt");
        Path stderr = dir.resolve("stderr.log");
        pb.redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the session ends");
        String log = Files.readString(stderr, StandardCharsets.UTF_8);
        String outText = Files.readString(stdout, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), log.length() > 3000 ? log.substring(log.length() - 3000) : log);
        String[] outLines = outText.trim().split("\n");
        JsonObject out = JsonParser.parseString(outLines[outLines.length - 1]).getAsJsonObject();

        // The session did what it should: traced, renewed its token, delivered every message.
        assertTrue(log.split("\n").length > 100, "IOTSEC_LOG=trace logs on standard error");
        assertTrue(log.contains(" TRACE ") && log.contains("rumqttc") && log.contains("rustls"), "iotsec, rumqttc and rustls records");
        assertTrue(log.contains("renewing the SAS token"));
        boolean renewed = false;
        for (JsonElement s : out.getAsJsonArray("statuses")) {
            renewed |= s.getAsString().startsWith("DISCONNECTED_RETRYING EXPIRED_SAS_TOKEN");
        }
        assertTrue(renewed, out.getAsJsonArray("statuses").toString());
        int sent = out.get("sent").getAsInt();
        hub.awaitStore("telemetry", o -> device.equals(o.get("device_id").getAsString()), sent, Duration.ofSeconds(10));
        List<String> types = new ArrayList<>();
        for (JsonElement e : out.getAsJsonArray("errors")) {
            types.add(e.getAsJsonObject().get("type").getAsString());
        }
        types.sort(null);
        assertEquals(List.of("IotSecArgumentException", "IotSecArgumentException", "IotSecException", "IotSecException", "IotSecException"), types);

        long first = (long) out.get("started").getAsDouble() - 2;
        long last = (long) Math.ceil(out.get("ended").getAsDouble()) + LIFETIME + 2;
        List<String> forms = secretForms(key, resource, first, last);
        forms.addAll(List.of(fixedSig, encode(fixedSig), fixedToken, otherKey, encode(otherKey)));
        for (String[] haystack : List.of(new String[] {"log", log}, new String[] {"errors", outText})) {
            for (String form : forms) {
                assertFalse(haystack[1].contains(form), "a secret (" + form.substring(0, 6) + "...) appears in the " + haystack[0]);
            }
            assertFalse(haystack[1].contains("SharedAccessSignature sr="), haystack[0]);
            assertFalse(haystack[1].contains("sig="), haystack[0]);
        }
        for (String line : log.split("\n")) {
            assertFalse(line.contains("SharedAccessKey="), line);
        }
    }

    private static JsonArray pair(String cs, JsonObject options) {
        JsonArray a = new JsonArray();
        a.add(cs);
        a.add(options);
        return a;
    }

    @Test
    void tlsVerificationCannotBeTurnedOffExceptByThePlainTcpLoopbackOption() throws Exception {
        TestEnv.Mosquitto mq = TestEnv.mosquitto();
        String cs = TestEnv.deviceCs(TestEnv.unique("jtls"));
        String wrongPem = Files.readString(Path.of(mq.wrongCaFile));
        for (ClientOptions options : List.of(ClientOptions.builder().caFile(mq.wrongCaFile).port(mq.tlsPort).build(),
                ClientOptions.builder().caPem(wrongPem).port(mq.tlsPort).build())) {
            try (DeviceClient c = new DeviceClient(cs, IotHubClientProtocol.MQTT, options)) {
                IotSecException e = assertThrows(IotSecException.class, c::open);
                assertEquals(ErrorCode.TLS, e.getErrorCode());
            }
        }
        // No option of ClientOptions (or its builder) disables verification: the only TLS-related
        // switch is the explicitly named plain-TCP-to-loopback one.
        for (Class<?> type : List.of(ClientOptions.class, ClientOptions.Builder.class)) {
            for (Method m : type.getMethods()) {
                String name = m.getName().toLowerCase(Locale.ROOT);
                assertFalse(name.contains("insecure") || name.contains("verif") || name.contains("trustall") || name.contains("skip")
                        || name.contains("hostname"), type.getSimpleName() + "." + m.getName());
            }
        }
        // The plain-TCP option is refused for any host that is not loopback, before connecting.
        IotSecArgumentException refused = assertThrows(IotSecArgumentException.class,
                () -> new DeviceClient("HostName=example.com;DeviceId=d;SharedAccessKey=" + TestEnv.KEY, IotHubClientProtocol.MQTT,
                        ClientOptions.builder().plainTcpLoopbackOnly(true).build()));
        assertEquals(ErrorCode.INVALID_ARGUMENT, refused.getErrorCode());
        assertTrue(refused.getMessage().contains("loopback"), refused.getMessage());
        // To loopback it speaks plain MQTT (the plain listener) and nothing else.
        String device = TestEnv.unique("jplain");
        try (DeviceClient plain = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT,
                ClientOptions.builder().plainTcpLoopbackOnly(true).port(mq.plainPort).build())) {
            plain.sendEvent(new Message("over plain tcp to loopback"));
        }
        // The right CA works (so the failures above are about trust).
        try (DeviceClient ok = new DeviceClient(cs, IotHubClientProtocol.MQTT, mq.options().build())) {
            ok.open();
        }
    }
}
