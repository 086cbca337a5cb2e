package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The Java client against the local hub (iotsec hub): registered identities, SAS checked, messages stored. */
class HubTest {
    private static byte[] validBody() {
        return TestEnv.readBytes(TestEnv.vectors().resolve("guide/guide_message_valid.json"));
    }

    @Test
    void validSecurityMessageIsStoredAndAnInvalidOneIsDroppedWithItsViolations() throws Exception {
        TestEnv.Hub hub = TestEnv.hub();
        String device = TestEnv.unique("jhub");
        String cs = hub.addDevice(device, null);
        try (DeviceClient client = new DeviceClient(cs, IotHubClientProtocol.MQTT, hub.options().build())) {
            Message ok = new Message(validBody());
            ok.setAsSecurityMessage();
            ok.setMessageId("java-hub-1");
            ok.setProperty("customProp", "customValue");
            client.sendEvent(ok);
        }
        JsonObject stored = hub.awaitStore("security", o -> device.equals(o.get("device_id").getAsString()), 1, Duration.ofSeconds(10)).get(0);
        assertEquals("devices/" + device + "/messages/events/%24.mid=java-hub-1&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue",
                stored.get("topic").getAsString());
        assertEquals("java-hub-1", stored.get("message_id").getAsString());
        assertTrue(stored.get("module_id").isJsonNull());
        assertEquals("customValue", stored.getAsJsonObject("properties").get("customProp").getAsString());

        // With validation off the client sends the guide's invalid example; the hub drops it and
        // says why, with the same pointer the client would have given.
        try (DeviceClient off = new DeviceClient(cs, IotHubClientProtocol.MQTT, hub.options().validation(ValidationMode.OFF).build())) {
            Message bad = new Message(TestEnv.readBytes(TestEnv.vectors().resolve("guide/guide_message.json")));
            bad.setAsSecurityMessage();
            off.sendEvent(bad);
        }
        JsonObject dropped = hub.awaitStore("dropped", o -> device.equals(o.get("device_id").getAsString()), 1, Duration.ofSeconds(10)).get(0);
        assertTrue(dropped.toString().contains("/Events/0/Payload/0/UserId"), dropped.toString());
    }

    @Test
    void wrongKeyIsRefusedByTheHub() throws Exception {
        TestEnv.Hub hub = TestEnv.hub();
        String device = TestEnv.unique("jhub-key");
        String cs = hub.addDevice(device, "mod");
        String key = cs.substring(cs.indexOf("SharedAccessKey=") + "SharedAccessKey=".length());
        String wrong = cs.replace(key, TestEnv.KEY);
        assertFalse(key.equals(TestEnv.KEY));
        try (ModuleClient client = new ModuleClient(wrong, IotHubClientProtocol.MQTT, hub.options().build())) {
            IotSecException e = assertThrows(IotSecException.class, client::open);
            assertEquals(ErrorCode.CREDENTIAL_REFUSED, e.getErrorCode(), e.getMessage());
            assertFalse(e.getMessage().contains(TestEnv.KEY));
            Message m = new Message(validBody());
            m.setAsSecurityMessage();
            CompletableFuture<Void> f = client.sendEventAsync(m);
            ExecutionException failed = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
            assertEquals(ErrorCode.CREDENTIAL_REFUSED, ErrorCode.of(failed.getCause()));
            assertEquals(IotHubStatusCode.UNAUTHORIZED, IotHubStatusCode.fromErrorCode(ErrorCode.of(failed.getCause())));
        }
        try (ModuleClient client = new ModuleClient(cs, IotHubClientProtocol.MQTT, hub.options().build())) {
            client.open();
            Message m = new Message(validBody().clone());
            m.setAsSecurityMessage();
            client.sendEvent(m);
        }
        List<JsonObject> stored = hub.awaitStore("security", o -> device.equals(o.get("device_id").getAsString()), 1, Duration.ofSeconds(10));
        assertEquals("mod", stored.get(0).get("module_id").getAsString());
        assertTrue(new String(validBody(), StandardCharsets.UTF_8).contains("ProcessCreate"));
    }
}
