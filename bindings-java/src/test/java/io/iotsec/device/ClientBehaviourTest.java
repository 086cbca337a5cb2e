package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** What the client does with good and bad input, on real connections (mosquitto, a fake broker). */
class ClientBehaviourTest {
    private static final String SECRET = "c2VjcmV0LWtleS1tdXN0LW5ldmVyLWJlLXByaW50ZWQ=";

    private static byte[] validBody() {
        return TestEnv.readBytes(TestEnv.vectors().resolve("guide/guide_message_valid.json"));
    }

    private static Message security(byte[] body) {
        Message m = new Message(body);
        m.setAsSecurityMessage();
        return m;
    }

    /** Records every callback: context to statuses. */
    static final class Recorder implements IotHubEventCallback {
        final Map<Object, List<IotHubStatusCode>> calls = new ConcurrentHashMap<>();
        final AtomicInteger count = new AtomicInteger();

        @Override
        public void execute(IotHubStatusCode status, Object context) {
            calls.computeIfAbsent(context, k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(status);
            count.incrementAndGet();
        }

        void await(int n, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (count.get() < n && System.nanoTime() < deadline) {
                TestEnv.sleep(10);
            }
            assertEquals(n, count.get(), "callbacks");
        }
    }

    // ---- bad input ----

    @Test
    void invalidConnectionStringsThrowIllegalArgumentWithTheKeyNamedAndNoSecret() {
        String[][] cases = {
            {"HostName=localhost;SharedAccessKey=" + SECRET, "DeviceId"},
            {"DeviceId=d1;SharedAccessKey=" + SECRET, "HostName"},
            {"HostName=localhost;DeviceID=d1;SharedAccessKey=" + SECRET, "DeviceId"},
            {"HostName=localhost;DeviceId=d1;SharedAccessKey=" + SECRET + ";Colour=blue", "part 4"},
            {"not a connection string", "part 1"},
            {"", ""},
        };
        for (String[] c : cases) {
            IotSecArgumentException e = assertThrows(IotSecArgumentException.class, () -> new DeviceClient(c[0], IotHubClientProtocol.MQTT), c[0]);
            assertInstanceOf(IllegalArgumentException.class, e);
            assertEquals(ErrorCode.INVALID_CONNECTION_STRING, e.getErrorCode(), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
            assertFalse(e.getMessage().contains(SECRET) || e.getMessage().contains("c2VjcmV0"), "the key leaked: " + e.getMessage());
        }
        IotSecArgumentException nul = assertThrows(IotSecArgumentException.class, () -> new ModuleClient(null, IotHubClientProtocol.MQTT));
        assertEquals(ErrorCode.INVALID_CONNECTION_STRING, nul.getErrorCode());
    }

    @Test
    void unusableKeyIsNamedButNeverEchoed() {
        IotSecArgumentException e = assertThrows(IotSecArgumentException.class,
                () -> new DeviceClient("HostName=localhost;DeviceId=d1;SharedAccessKey=YWJjx", IotHubClientProtocol.MQTT));
        assertTrue(e.getErrorCode() == ErrorCode.INVALID_CONNECTION_STRING || e.getErrorCode() == ErrorCode.INVALID_CREDENTIAL, e.getMessage());
        assertTrue(e.getMessage().contains("SharedAccessKey"), e.getMessage());
        assertFalse(e.getMessage().contains("YWJjx"), e.getMessage());
    }

    @Test
    void deviceAndModuleClientsInsistOnTheirKindOfConnectionString() {
        IotSecArgumentException m = assertThrows(IotSecArgumentException.class,
                () -> new ModuleClient(TestEnv.deviceCs("d1"), IotHubClientProtocol.MQTT));
        assertEquals(ErrorCode.INVALID_CONNECTION_STRING, m.getErrorCode());
        assertTrue(m.getMessage().contains("ModuleId"), m.getMessage());
        IotSecArgumentException d = assertThrows(IotSecArgumentException.class,
                () -> new DeviceClient(TestEnv.moduleCs("d1", "m1"), IotHubClientProtocol.MQTT));
        assertEquals(ErrorCode.INVALID_CONNECTION_STRING, d.getErrorCode());
    }

    @Test
    void onlyMqttIsSupportedAndOptionsAreChecked() {
        for (IotHubClientProtocol p : new IotHubClientProtocol[] {IotHubClientProtocol.AMQPS, IotHubClientProtocol.MQTT_WS, IotHubClientProtocol.HTTPS}) {
            IotSecArgumentException e = assertThrows(IotSecArgumentException.class, () -> new DeviceClient(TestEnv.deviceCs("d1"), p));
            assertTrue(e.getMessage().contains(p.name()), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new DeviceClient(TestEnv.deviceCs("d1"), null));
        assertThrows(IotSecArgumentException.class, () -> ClientOptions.builder().port(70000));
        IotSecArgumentException keepAlive = assertThrows(IotSecArgumentException.class,
                () -> new DeviceClient(TestEnv.deviceCs("d1"), IotHubClientProtocol.MQTT, ClientOptions.builder().keepAliveInterval(5000).build()));
        assertTrue(keepAlive.getMessage().contains("keep_alive"), keepAlive.getMessage());
        IotSecArgumentException plain = assertThrows(IotSecArgumentException.class, () -> new DeviceClient(
                "HostName=myhub.azure-devices.net;DeviceId=d1;SharedAccessKey=" + TestEnv.KEY, IotHubClientProtocol.MQTT,
                ClientOptions.builder().plainTcpLoopbackOnly(true).build()));
        assertEquals(ErrorCode.INVALID_ARGUMENT, plain.getErrorCode());
        RuntimeException ca = assertThrows(RuntimeException.class, () -> new DeviceClient(TestEnv.deviceCs("d1"),
                IotHubClientProtocol.MQTT, ClientOptions.builder().caPem("not a certificate").build()));
        assertNotNull(ErrorCode.of(ca), String.valueOf(ca));
        assertTrue(ca.getMessage().contains("CA"), ca.getMessage());
    }

    @Test
    void messageApiFollowsTheOfficialNames() {
        Message m = new Message("{}");
        assertFalse(m.isSecurityMessage());
        m.setAsSecurityMessage();
        assertTrue(m.isSecurityMessage());
        assertNull(m.getContentEncoding(), "setAsSecurityMessage must not touch the content encoding");
        assertNull(m.getMessageId(), "no message id is generated");
        m.setProperty("b", "1");
        m.setProperty("a", "2");
        m.setProperty("b", "3");
        assertEquals(List.of("b", "a"), new ArrayList<>(m.getProperties().keySet()));
        assertEquals("3", m.getProperty("b"));
        assertTrue(m.hasProperty("a"));
        assertEquals("2", m.removeProperty("a"));
        assertThrows(IllegalArgumentException.class, () -> m.setProperty(null, "x"));
        assertThrows(IllegalArgumentException.class, () -> m.setProperty("", "x"));
        assertThrows(IllegalArgumentException.class, () -> m.setProperty("x", null));
        assertThrows(IllegalArgumentException.class, () -> new Message((String) null));
        assertThrows(IllegalArgumentException.class, () -> new Message((byte[]) null));
        assertEquals("é", new Message("é").getBodyAsString());
        assertArrayEquals2("é".getBytes(StandardCharsets.UTF_8), new Message("é").getBytes());
    }

    private static void assertArrayEquals2(byte[] a, byte[] b) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(a, b);
    }

    @Test
    void schemaInvalidSecurityMessageIsRefusedBeforeAnythingIsSent() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("bad-schema");
        Recorder calls = new Recorder();
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, broker.options().build())) {
            SchemaValidationException e = assertThrows(SchemaValidationException.class,
                    () -> client.sendEventAsync(security("{\"AgentId\": 1}".getBytes(StandardCharsets.UTF_8)), calls, "ctx"));
            assertFalse(e.getViolations().isEmpty());
            assertInstanceOf(IllegalArgumentException.class, e);
            assertEquals(ErrorCode.SCHEMA_VALIDATION, ErrorCode.of(e));
            // Not JSON at all: one violation with the position where reading stopped.
            SchemaValidationException json = assertThrows(SchemaValidationException.class,
                    () -> client.sendEventAsync(security("{\"a\": tru}".getBytes(StandardCharsets.UTF_8)), calls, "ctx"));
            assertEquals("json", json.getViolations().get(0).getRule());
            assertNotNull(json.getViolations().get(0).getPosition());
            // The same body without the security flag is ordinary telemetry and goes out.
            client.sendEventAsync(new Message("{\"AgentId\": 1}"), calls, "plain");
            calls.await(1, Duration.ofSeconds(20));
            assertEquals(List.of(IotHubStatusCode.OK), calls.calls.get("plain"));
            assertNull(calls.calls.get("ctx"), "a refused send called back");
            // WARN mode sends it anyway.
        }
        try (DeviceClient warn = new DeviceClient(TestEnv.deviceCs(device + "w"), IotHubClientProtocol.MQTT,
                broker.options().validation(ValidationMode.WARN).build())) {
            warn.sendEvent(security("{\"AgentId\": 1}".getBytes(StandardCharsets.UTF_8)));
        }
        assertEquals(1, broker.awaitReceived(r -> r.topic.startsWith("devices/" + device + "/"), 1, Duration.ofSeconds(10)).size());
    }

    @Test
    void tooLargeMessageAndNullMessageAreArgumentErrors() {
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs("big"), IotHubClientProtocol.MQTT, TestEnv.mosquitto().options().build())) {
            IotSecArgumentException e = assertThrows(IotSecArgumentException.class, () -> client.sendEventAsync(new Message(new byte[262_145]), null, null));
            assertEquals(ErrorCode.MESSAGE_TOO_LARGE, e.getErrorCode());
            assertThrows(IllegalArgumentException.class, () -> client.sendEventAsync(null, null, null));
        }
    }

    @Test
    void sendAfterCloseThrowsClosed() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        DeviceClient client = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("closed")), IotHubClientProtocol.MQTT, broker.options().build());
        client.sendEvent(security(validBody()));
        assertTrue(client.isConnected());
        client.close();
        assertTrue(client.isClosed());
        assertFalse(client.isConnected());
        Recorder calls = new Recorder();
        IotSecException e = assertThrows(IotSecException.class, () -> client.sendEventAsync(security(validBody()), calls, null));
        assertEquals(ErrorCode.CLOSED, e.getErrorCode());
        assertEquals(ErrorCode.CLOSED, assertThrows(IotSecException.class, client::open).getErrorCode());
        client.close();
        TestEnv.sleep(200);
        assertEquals(0, calls.count.get());
    }

    // ---- connecting ----

    @Test
    void openConnectsAndReportsWhyItCannot() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        try (DeviceClient ok = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("open")), IotHubClientProtocol.MQTT, broker.options().build())) {
            assertFalse(ok.isConnected());
            ok.open();
            assertTrue(ok.isConnected());
            ok.open();
        }
        try (DeviceClient wrongCa = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("wrongca")), IotHubClientProtocol.MQTT,
                ClientOptions.builder().caFile(broker.wrongCaFile).port(broker.tlsPort).build())) {
            IotSecException e = assertThrows(IotSecException.class, wrongCa::open);
            assertEquals(ErrorCode.TLS, e.getErrorCode(), e.getMessage());
        }
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        Recorder calls = new Recorder();
        ClientOptions dead = ClientOptions.builder().caFile(broker.caFile).port(deadPort).build();
        try (DeviceClient nobody = new DeviceClient(TestEnv.deviceCs("nobody"), IotHubClientProtocol.MQTT, dead)) {
            IotSecException e = assertThrows(IotSecException.class, nobody::open);
            assertEquals(ErrorCode.CONNECTION_FAILED, e.getErrorCode(), e.getMessage());
        }
        // A send that starts the connection fails either at once (the attempt already failed) or
        // through its callback; either way it says why, and the callback never runs twice.
        try (DeviceClient nobody = new DeviceClient(TestEnv.deviceCs("nobody"), IotHubClientProtocol.MQTT, dead)) {
            try {
                nobody.sendEventAsync(security(validBody()), calls, "ctx");
                calls.await(1, Duration.ofSeconds(30));
                assertEquals(List.of(IotHubStatusCode.IO_ERROR), calls.calls.get("ctx"));
            } catch (IotSecException e) {
                assertEquals(ErrorCode.CONNECTION_FAILED, e.getErrorCode(), e.getMessage());
            }
            try {
                CompletableFuture<Void> f = nobody.sendEventAsync(new Message("x"));
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
                assertEquals(ErrorCode.CONNECTION_FAILED, ErrorCode.of(e.getCause()), String.valueOf(e.getCause()));
            } catch (IotSecException e) {
                assertEquals(ErrorCode.CONNECTION_FAILED, e.getErrorCode(), e.getMessage());
            }
        }
        TestEnv.sleep(200);
        assertTrue(calls.count.get() <= 1);
    }

    @Test
    void usernameCarriesTheJavaUserAgentAndTheBrokerSeesIt() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("agent");
        try (ModuleClient client = new ModuleClient(TestEnv.moduleCs(device, "m1"), IotHubClientProtocol.MQTT, broker.options().build())) {
            String username = client.getMqttUsername();
            String agent = "iotsec%2F" + System.getProperty("iotsec.version", "0.1.0") + "%20%28java%20" + System.getProperty("java.version");
            assertTrue(username.startsWith("localhost/" + device + "/m1/?api-version=2021-04-12&DeviceClientType=" + agent), username);
            assertFalse(username.contains(TestEnv.KEY));
            client.open();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!broker.log().contains("u'" + username + "'") && System.nanoTime() < deadline) {
                TestEnv.sleep(50);
            }
            assertTrue(broker.log().contains(" as " + device + "/m1 ") && broker.log().contains("u'" + username + "'"), "mosquitto never logged the CONNECT");
        }
    }

    // ---- callbacks ----

    @Test
    void callbacksRunOnceOnTheCallbackThreadAndThrowingOnesAreContained() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        AtomicInteger thrown = new AtomicInteger();
        BlockingQueue<String> threads = new LinkedBlockingQueue<>();
        IotHubEventCallback bad = (status, ctx) -> {
            threads.add(Thread.currentThread().getName() + " daemon=" + Thread.currentThread().isDaemon());
            thrown.incrementAndGet();
            throw new IllegalStateException("a user callback that throws");
        };
        Recorder good = new Recorder();
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("cb")), IotHubClientProtocol.MQTT, broker.options().build())) {
            client.sendEventAsync(security(validBody()), bad, null);
            client.sendEventAsync(security(validBody()), null, null);
            for (int i = 0; i < 20; i++) {
                client.sendEventAsync(security(validBody()), good, i);
            }
            good.await(20, Duration.ofSeconds(30));
        }
        assertEquals(1, thrown.get());
        assertEquals("iotsec-java-callbacks daemon=true", threads.poll(1, TimeUnit.SECONDS));
        for (int i = 0; i < 20; i++) {
            assertEquals(List.of(IotHubStatusCode.OK), good.calls.get(i), "context " + i);
        }
    }

    @Test
    void callbacksMaySendBlockingOrNotAndClose() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("reent");
        DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, broker.options().build());
        CountDownLatch second = new CountDownLatch(1);
        AtomicReference<Throwable> blocking = new AtomicReference<>();
        client.sendEventAsync(security(validBody()), (status, ctx) -> {
            try {
                client.sendEvent(new Message("x"));
            } catch (Throwable t) {
                blocking.set(t);
            }
            client.sendEventAsync(new Message("again"), (s2, c2) -> {
                client.close();
                second.countDown();
            }, null);
        }, null);
        assertTrue(second.await(30, TimeUnit.SECONDS), "the nested send never called back");
        assertNull(blocking.get(), "sendEvent inside a callback failed");
        assertEquals(3, broker.awaitReceived(r -> r.topic.startsWith("devices/" + device + "/"), 3, Duration.ofSeconds(10)).size());
        assertTrue(client.isClosed());
        client.close();
    }

    @Test
    void closeCancelsOutstandingSendsAndEveryCallbackHasRunWhenItReturns() throws Exception {
        try (FakeBroker broker = new FakeBroker()) {
            Recorder calls = new Recorder();
            DeviceClient client = new DeviceClient(broker.connectionString("pending"), IotHubClientProtocol.MQTT, broker.options().build());
            for (int i = 0; i < 5; i++) {
                client.sendEventAsync(security(validBody()), calls, i);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (broker.publishes.get() < 5 && System.nanoTime() < deadline) {
                TestEnv.sleep(10);
            }
            assertEquals(5, broker.publishes.get(), "the fake broker did not get the publishes");
            assertEquals(0, calls.count.get(), "no PUBACK was sent, so nothing may have completed");
            client.close();
            assertEquals(5, calls.count.get(), "close() returned before every callback ran");
            for (int i = 0; i < 5; i++) {
                assertEquals(List.of(IotHubStatusCode.MESSAGE_CANCELLED_ONCLOSE), calls.calls.get(i), "context " + i);
            }
            TestEnv.sleep(300);
            assertEquals(5, calls.count.get(), "a callback ran twice");
        }
    }

    @Test
    void missingPubackTimesOut() throws Exception {
        try (FakeBroker broker = new FakeBroker()) {
            Recorder calls = new Recorder();
            try (DeviceClient client = new DeviceClient(broker.connectionString("slow"), IotHubClientProtocol.MQTT,
                    broker.options().pubackTimeout(Duration.ofSeconds(1)).build())) {
                client.sendEventAsync(new Message("x"), calls, "ctx");
                calls.await(1, Duration.ofSeconds(15));
            }
            assertEquals(List.of(IotHubStatusCode.DEVICE_OPERATION_TIMED_OUT), calls.calls.get("ctx"));
        }
    }

    @Test
    void droppingAnUnclosedClientStillCompletesItsSends() throws Exception {
        try (FakeBroker broker = new FakeBroker()) {
            Recorder calls = new Recorder();
            DeviceClient client = new DeviceClient(broker.connectionString("dropped"), IotHubClientProtocol.MQTT, broker.options().build());
            client.sendEventAsync(new Message("x"), calls, "ctx");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (broker.publishes.get() < 1 && System.nanoTime() < deadline) {
                TestEnv.sleep(10);
            }
            client.cleanNowForTests();
            calls.await(1, Duration.ofSeconds(10));
            assertEquals(List.of(IotHubStatusCode.MESSAGE_CANCELLED_ONCLOSE), calls.calls.get("ctx"));
        }
    }

    @Test
    void pipelinedSendsFromManyThreadsEachCompleteOnce() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("pipe");
        int threads = 4;
        int perThread = 500;
        Recorder calls = new Recorder();
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, broker.options().build())) {
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = t * perThread;
                Thread w = new Thread(() -> {
                    for (int i = 0; i < perThread; i++) {
                        Message m = security(validBody());
                        m.setMessageId("m" + (base + i));
                        client.sendEventAsync(m, calls, base + i);
                    }
                });
                workers.add(w);
                w.start();
            }
            for (Thread w : workers) {
                w.join();
            }
            calls.await(threads * perThread, Duration.ofSeconds(60));
        }
        for (int i = 0; i < threads * perThread; i++) {
            assertEquals(List.of(IotHubStatusCode.OK), calls.calls.get(i), "context " + i);
        }
        assertTrue(broker.awaitReceived(r -> r.topic.startsWith("devices/" + device + "/"), threads * perThread, Duration.ofSeconds(20)).size() >= threads * perThread);
    }

    /** The native layer holds the callback and context only until the callback ran (global refs released). */
    @Test
    void callbackAndContextAreReleasedOnceTheSendCompleted() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        java.lang.ref.WeakReference<Object> context;
        java.lang.ref.WeakReference<IotHubEventCallback> callback;
        CountDownLatch done = new CountDownLatch(1);
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("gref")), IotHubClientProtocol.MQTT, broker.options().build())) {
            Object ctx = new Object();
            IotHubEventCallback cb = (status, c) -> done.countDown();
            context = new java.lang.ref.WeakReference<>(ctx);
            callback = new java.lang.ref.WeakReference<>(cb);
            client.sendEventAsync(security(validBody()), cb, ctx);
            assertTrue(done.await(30, TimeUnit.SECONDS));
            ctx = null;
            cb = null;
            awaitCollected(context, callback);
        }
    }

    private static void awaitCollected(java.lang.ref.WeakReference<?>... refs) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            System.gc();
            boolean all = true;
            for (java.lang.ref.WeakReference<?> r : refs) {
                all &= r.get() == null;
            }
            if (all) {
                return;
            }
            TestEnv.sleep(50);
        }
        throw new AssertionError("still reachable after the send completed: a JNI global reference was not released");
    }

    /** A client nobody closed is freed once unreachable (Cleaner): its connection goes away. */
    @Test
    void unreachableClientIsFreedAndDisconnects() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("gc");
        java.lang.ref.WeakReference<DeviceClient> ref = openAndForget(broker, device);
        awaitCollected(ref);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String log = broker.log();
            if (log.contains("Client " + device + " closed its connection") || log.contains("Client " + device + " disconnected")) {
                return;
            }
            TestEnv.sleep(50);
        }
        throw new AssertionError("mosquitto never saw " + device + " go away after the client became unreachable");
    }

    private static java.lang.ref.WeakReference<DeviceClient> openAndForget(TestEnv.Mosquitto broker, String device) {
        DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, broker.options().build());
        client.sendEvent(security(validBody()));
        return new java.lang.ref.WeakReference<>(client);
    }

    @Test
    void statusCodesMapEveryErrorCode() {
        assertEquals(IotHubStatusCode.OK, IotHubStatusCode.fromErrorCode(null));
        assertEquals(IotHubStatusCode.MESSAGE_CANCELLED_ONCLOSE, IotHubStatusCode.fromErrorCode(ErrorCode.CLOSED));
        assertEquals(IotHubStatusCode.UNAUTHORIZED, IotHubStatusCode.fromErrorCode(ErrorCode.CREDENTIAL_REFUSED));
        assertEquals(IotHubStatusCode.ERROR, IotHubStatusCode.fromErrorCode(ErrorCode.INTERNAL));
        for (int code = 1; code <= 14; code++) {
            assertEquals(code, ErrorCode.fromCode(code).getCode());
            assertNotNull(IotHubStatusCode.fromErrorCode(ErrorCode.fromCode(code)));
        }
        assertEquals(14, ErrorCode.values().length);
    }

    @Test
    void nativeVersionMatchesThePackageAndTheWorkspace() throws Exception {
        String cargo = java.nio.file.Files.readString(TestEnv.repoRoot().resolve("Cargo.toml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\[workspace\\.package\\][^\\[]*?version\\s*=\\s*\"([^\"]+)\"").matcher(cargo);
        assertTrue(m.find(), "no [workspace.package] version in Cargo.toml");
        assertEquals(m.group(1), NativeBridge.version());
        assertEquals(m.group(1), System.getProperty("iotsec.version"), "pom.xml <version> differs from Cargo.toml");
    }
}
