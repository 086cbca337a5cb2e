package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Hostile input: null arguments, a handle that is gone, use after close, bytes and strings
 * that are not valid UTF-8, 10 MB bodies, 100,000 properties, JSON nested 100,000 levels deep.
 * Each throws its documented exception with its {@link ErrorCode}, quickly; none crashes the
 * JVM, hangs or overflows a stack.
 */
class HostileInputTest {
    private static final int TEN_MB = 10 * 1024 * 1024;
    private static final int DEPTH = 100_000;
    private static final Duration FAST = Duration.ofSeconds(2);

    /** A client whose broker does not exist (port 1): every failure here comes before connecting. */
    private static DeviceClient offline(String name) {
        return new DeviceClient(TestEnv.deviceCs(TestEnv.unique(name)), IotHubClientProtocol.MQTT,
                ClientOptions.builder().port(1).build());
    }

    private static ErrorCode argumentCode(Executable call) {
        return assertTimeoutPreemptively(FAST, () -> assertThrows(IotSecArgumentException.class, call).getErrorCode());
    }

    private static Message security(byte[] body) {
        Message m = new Message(body);
        m.setAsSecurityMessage();
        return m;
    }

    private static byte[] repeat(String s, int n) {
        return s.repeat(n).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void nullArgumentsThrowArgumentExceptionsNamingTheArgument() {
        assertEquals(ErrorCode.INVALID_CONNECTION_STRING, argumentCode(() -> new DeviceClient(null, IotHubClientProtocol.MQTT)));
        assertEquals(ErrorCode.INVALID_CONNECTION_STRING, argumentCode(() -> new ModuleClient(null, IotHubClientProtocol.MQTT)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> new DeviceClient(TestEnv.deviceCs("d"), null)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> new Message((String) null)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> new Message((byte[]) null)));
        Message m = new Message("x");
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> m.setProperty(null, "v")));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> m.setProperty("k", null)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> SecuritySchema.validate((byte[]) null)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> SecuritySchema.validate((String) null)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> SecuritySchema.check(null)));
        m.setMessageId(null); // null clears an optional property
        try (DeviceClient client = offline("jnull")) {
            assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> client.sendEventAsync(null, null, null)));
            assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> client.sendEventAsync(null)));
            assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> client.sendEvent(null)));
            // A null callback is allowed (nobody hears the outcome).
            client.sendEventAsync(new Message("x"), null, null);
            client.setConnectionStatusChangeCallback(null, null);
        }
        // The native entry points refuse null arrays and a null completion by name.
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> NativeBridge.validate(null)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, argumentCode(() -> NativeBridge.isValid(null)));
    }

    @Test
    void aHandleThatIsGoneIsRefusedWithClosedNotDereferenced() {
        for (Executable call : List.<Executable>of(
                () -> NativeBridge.clientOpen(0),
                () -> NativeBridge.clientIsConnected(0),
                () -> NativeBridge.clientUsername(0),
                () -> NativeBridge.clientClose(0, true),
                () -> NativeBridge.clientSendBlocking(0, new byte[1], new String[10], new String[0]),
                () -> NativeBridge.clientSend(0, new byte[1], new String[10], new String[0], new Object()),
                () -> NativeBridge.clientWatchStatus(0, new Object()))) {
            IotSecException e = assertThrows(IotSecException.class, call);
            assertEquals(ErrorCode.CLOSED, e.getErrorCode());
        }
        NativeBridge.clientFree(0); // freeing nothing is harmless
    }

    @Test
    void everythingAfterCloseFailsWithClosed() throws Exception {
        TestEnv.Mosquitto mq = TestEnv.mosquitto();
        DeviceClient client = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("jclosed")), IotHubClientProtocol.MQTT, mq.options().build());
        client.open();
        client.close();
        client.close(); // twice is harmless
        client.closeNow();
        for (Executable call : List.<Executable>of(client::open, () -> client.sendEvent(new Message("x")),
                () -> client.sendEventAsync(new Message("x"), null, null), () -> client.sendEventAsync(new Message("x")))) {
            IotSecException e = assertTimeoutPreemptively(FAST, () -> assertThrows(IotSecException.class, call));
            assertEquals(ErrorCode.CLOSED, e.getErrorCode());
        }
        assertFalse(client.isConnected());
        // Sends cancelled by closeNow complete (exceptionally), never hang.
        DeviceClient busy = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("jbusy")), IotHubClientProtocol.MQTT, mq.options().build());
        CompletableFuture<?>[] futures = new CompletableFuture<?>[2000];
        for (int i = 0; i < futures.length; i++) {
            futures[i] = busy.sendEventAsync(new Message("m" + i));
        }
        busy.closeNow();
        for (CompletableFuture<?> f : futures) {
            try {
                f.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertEquals(ErrorCode.CLOSED, ((IotSecException) e.getCause()).getErrorCode());
            }
        }
    }

    @Test
    void bytesThatAreNotUtf8FailValidationWithTheOffsetAndLoneSurrogatesBecomeReplacementCharacters() throws Exception {
        byte[] body = "{\"AgentId\": \"??\"}".getBytes(StandardCharsets.US_ASCII);
        body[13] = (byte) 0xff;
        body[14] = (byte) 0xfe;
        List<Violation> v = SecuritySchema.validate(body);
        assertEquals(1, v.size());
        assertEquals("utf8", v.get(0).getRule());
        assertEquals(13, v.get(0).getPosition().getOffset());
        try (DeviceClient client = offline("jutf8")) {
            SchemaValidationException e = assertThrows(SchemaValidationException.class, () -> client.sendEventAsync(security(body)));
            assertEquals("utf8", e.getViolations().get(0).getRule());
        }
        // Java strings are UTF-16: a lone surrogate in a body becomes '?' (String.getBytes); in a
        // property, an id or a connection string it becomes U+FFFD; never a crash.
        assertEquals("?", new String(new Message("\ud800").getBytes(), StandardCharsets.UTF_8));
        TestEnv.Mosquitto mq = TestEnv.mosquitto();
        String device = TestEnv.unique("jsurrogate");
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, mq.options().build())) {
            Message m = new Message("x");
            m.setMessageId("id-\udfff");
            m.setProperty("k\ud800", "v");
            client.sendEvent(m);
            String topic = mq.awaitReceived(r -> r.topic.startsWith("devices/" + device + "/"), 1, Duration.ofSeconds(10)).get(0).topic;
            assertTrue(topic.startsWith("devices/" + device + "/messages/events/%24.mid=id-%EF%BF%BD"), topic);
            assertTrue(topic.contains("&k%EF%BF%BD"), topic);
        }
        // JNI hands native code modified UTF-8; a lone surrogate in it is read as U+FFFD.
        try (DeviceClient c = new DeviceClient(TestEnv.deviceCs("d\ud800"), IotHubClientProtocol.MQTT)) {
            assertTrue(c.getMqttUsername().startsWith("localhost/d\uFFFD"), c.getMqttUsername());
        }
    }

    @Test
    void tenMegabyteBodiesAreTooLargeAtOnce() {
        try (DeviceClient client = offline("jbig")) {
            byte[] big = repeat("[", TEN_MB);
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, argumentCode(() -> client.sendEventAsync(security(big))));
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, argumentCode(() -> client.sendEvent(security(big))));
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, argumentCode(() -> client.sendEventAsync(new Message(new byte[TEN_MB]), null, null)));
            IotSecArgumentException e = assertThrows(IotSecArgumentException.class, () -> client.sendEventAsync(security(big)));
            assertTrue(e.getMessage().contains("262144"), e.getMessage());
        }
        byte[] text = ("{\"AgentId\":\"" + "x".repeat(TEN_MB) + "\"}").getBytes(StandardCharsets.US_ASCII);
        assertFalse(assertTimeoutPreemptively(Duration.ofSeconds(5), () -> SecuritySchema.validate(text)).isEmpty());
    }

    @Test
    void aHundredThousandPropertiesAreTooLargeQuickly() {
        Message m = new Message("{}");
        for (int i = 0; i < 100_000; i++) {
            m.setProperty("property-" + i, "value-" + i);
        }
        try (DeviceClient client = offline("jprops")) {
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, argumentCode(() -> client.sendEventAsync(m)));
        }
    }

    @Test
    void jsonNestedAHundredThousandLevelsDeepGivesOneJsonViolation() {
        for (byte[] body : List.of(repeat("[", DEPTH), concat(repeat("{\"a\":", DEPTH), repeat("}", DEPTH)))) {
            List<Violation> v = assertTimeoutPreemptively(FAST, () -> SecuritySchema.validate(body));
            assertEquals(1, v.size());
            assertEquals("json", v.get(0).getRule());
            assertTrue(v.get(0).getMessage().contains("recursion limit"), v.get(0).getMessage());
            assertFalse(SecuritySchema.isValid(body));
            assertThrows(SchemaValidationException.class, () -> SecuritySchema.check(body));
        }
        try (DeviceClient client = offline("jdeep")) {
            SchemaValidationException e = assertTimeoutPreemptively(FAST,
                    () -> assertThrows(SchemaValidationException.class, () -> client.sendEventAsync(security(repeat("[", DEPTH)))));
            assertEquals("json", e.getViolations().get(0).getRule());
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
