package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client options are read by iotsec's core (the same rules in every package); the Java layer
 * only turns them into text. Real TLS to mosquitto on 127.0.0.1.
 */
class OptionsTest {
    private static final Pattern UUID_MID =
            Pattern.compile("%24\\.mid=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(&|$)");

    @Test
    void messageIdsWhenUnsetGivesAMessageWithoutAnIdAMid() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("java-mid");
        ClientOptions options = broker.options().messageIds(MessageIdPolicy.WHEN_UNSET).build();
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, options)) {
            client.sendEvent(new Message("no id of its own"));
            Message own = new Message("an id of its own");
            own.setMessageId("mine-1");
            client.sendEvent(own);
        }
        String prefix = "devices/" + device + "/";
        List<TestEnv.Received> got = broker.awaitReceived(r -> r.topic.startsWith(prefix), 2, Duration.ofSeconds(15));
        assertEquals(2, got.size());
        assertTrue(got.stream().anyMatch(r -> r.topic.equals(prefix + "messages/events/%24.mid=mine-1")), got.toString());
        assertEquals(1, got.stream().filter(r -> UUID_MID.matcher(r.topic).find()).count(), got.toString());
    }

    @Test
    void byDefaultAMessageWithoutAnIdHasNoMid() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("java-nomid");
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, broker.options().build())) {
            client.sendEvent(new Message("no id"));
        }
        String prefix = "devices/" + device + "/";
        List<TestEnv.Received> got = broker.awaitReceived(r -> r.topic.startsWith(prefix), 1, Duration.ofSeconds(15));
        assertEquals(prefix + "messages/events/", got.get(0).topic);
    }

    @Test
    void durableQueueFileIsMadeAndASendCompletes(@TempDir Path dir) throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("java-durable");
        Path queue = dir.resolve("queue.redb");
        ClientOptions options = broker.options()
                .durableQueue(queue)
                .reconnectInitial(Duration.ofMillis(200))
                .reconnectMax(Duration.ofSeconds(2))
                .reconnectJitter(0.2)
                .build();
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, options)) {
            client.sendEvent(new Message("kept until acknowledged"));
        }
        assertTrue(Files.exists(queue), queue + " exists");
        String prefix = "devices/" + device + "/";
        List<TestEnv.Received> got = broker.awaitReceived(r -> r.topic.startsWith(prefix), 1, Duration.ofSeconds(15));
        assertEquals("kept until acknowledged", new String(got.get(0).payload, StandardCharsets.UTF_8));
    }

    private static IotSecArgumentException refused(ClientOptions options) {
        IotSecArgumentException e = assertThrows(IotSecArgumentException.class,
                () -> new DeviceClient(TestEnv.deviceCs("d1"), IotHubClientProtocol.MQTT, options));
        assertInstanceOf(IllegalArgumentException.class, e);
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.getErrorCode(), e.getMessage());
        return e;
    }

    @Test
    void badValuesAreRefusedByCoreNamingTheOption() {
        String jitter = refused(ClientOptions.builder().reconnectJitter(1.5).build()).getMessage();
        assertTrue(jitter.contains("ClientOptions.reconnectJitter: option `reconnect_jitter`") && jitter.contains("0 to 1"), jitter);
        String initial = refused(ClientOptions.builder().reconnectInitial(Duration.ofMillis(-1500)).build()).getMessage();
        assertTrue(initial.contains("ClientOptions.reconnectInitial: option `reconnect_initial`: `-1.500000000`"), initial);
        String timeout = refused(ClientOptions.builder().pubackTimeout(Duration.ofSeconds(-1)).build()).getMessage();
        assertTrue(timeout.contains("ClientOptions.pubackTimeout") && timeout.contains("seconds"), timeout);
        ClientOptions nan = new ClientOptions();
        nan.setReconnectJitter(Double.NaN);
        assertTrue(refused(nan).getMessage().contains("reconnect_jitter"));
        assertThrows(IotSecArgumentException.class, () -> ClientOptions.builder().messageIds(null));
        // Ranges that core checks when the client is made.
        String inFlight = refused(ClientOptions.builder().maxInFlight(0).build()).getMessage();
        assertTrue(inFlight.contains("max_in_flight"), inFlight);
    }

    @Test
    void theNewOptionsAreCopiedByTheBuilder() {
        ClientOptions o = ClientOptions.builder()
                .durableQueue("/tmp/q.redb")
                .reconnectInitial(Duration.ofMillis(250))
                .reconnectMax(Duration.ofSeconds(5))
                .reconnectJitter(0.3)
                .messageIds(MessageIdPolicy.WHEN_UNSET)
                .build();
        assertEquals("/tmp/q.redb", o.getDurableQueue());
        assertEquals(Duration.ofMillis(250), o.getReconnectInitial());
        assertEquals(Duration.ofSeconds(5), o.getReconnectMax());
        assertEquals(0.3, o.getReconnectJitter());
        assertEquals(MessageIdPolicy.WHEN_UNSET, o.getMessageIds());
        assertEquals(MessageIdPolicy.NEVER, new ClientOptions().getMessageIds());
    }
}
