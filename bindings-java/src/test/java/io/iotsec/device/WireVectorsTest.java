package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * tests/vectors/wire/*.json through the Java API, sent for real: each case's message goes to
 * mosquitto as the case's device or module, and the topic bytes mosquitto received must equal
 * the vector's. Ids get a per-run prefix so runs never collide; the expected topic gets the same.
 */
class WireVectorsTest {
    static Message messageFrom(JsonObject m) {
        byte[] body;
        if (m.has("body_text")) {
            body = m.get("body_text").getAsString().getBytes(StandardCharsets.UTF_8);
        } else if (m.has("body_base64")) {
            body = Base64.getDecoder().decode(m.get("body_base64").getAsString());
        } else {
            JsonObject r = m.getAsJsonObject("body_repeat");
            body = r.get("text").getAsString().repeat(r.get("count").getAsInt()).getBytes(StandardCharsets.UTF_8);
        }
        Message msg = new Message(body);
        msg.setMessageId(str(m, "message_id"));
        msg.setCorrelationId(str(m, "correlation_id"));
        msg.setUserId(str(m, "user_id"));
        msg.setTo(str(m, "to"));
        msg.setContentType(str(m, "content_type"));
        msg.setContentEncoding(str(m, "content_encoding"));
        msg.setOutputName(str(m, "output_name"));
        msg.setExpiryTimeUtc(str(m, "expiry_time_utc"));
        msg.setInterfaceId(str(m, "interface_id"));
        msg.setComponentName(str(m, "component_name"));
        if (m.has("security") && m.get("security").getAsBoolean()) {
            msg.setAsSecurityMessage();
            assertTrue(msg.isSecurityMessage());
        }
        if (m.has("properties")) {
            for (JsonElement p : m.getAsJsonArray("properties")) {
                JsonArray pair = p.getAsJsonArray();
                msg.setProperty(pair.get(0).getAsString(), pair.get(1).getAsString());
            }
        }
        return msg;
    }

    private static String str(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : null;
    }

    static List<JsonObject> cases() throws Exception {
        List<JsonObject> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(TestEnv.vectors().resolve("wire"), "*.json")) {
            for (Path f : files) {
                for (JsonElement c : TestEnv.readJson(f).getAsJsonArray("cases")) {
                    out.add(c.getAsJsonObject());
                }
            }
        }
        return out;
    }

    @Test
    void everyWireVectorIsSentWithItsExactTopic() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String run = Long.toString(System.nanoTime(), 36);
        List<JsonObject> cases = cases();
        assertTrue(cases.size() >= 30, "only " + cases.size() + " wire vectors");
        // Validation off: several vectors flag a non-JSON body as a security message on purpose.
        ClientOptions options = broker.options().validation(ValidationMode.OFF).build();
        Map<String, InternalClient> clients = new LinkedHashMap<>();
        Map<String, CompletableFuture<Void>> sends = new LinkedHashMap<>();
        Map<String, String> expectedTopic = new HashMap<>();
        Map<String, byte[]> expectedBody = new HashMap<>();
        int errors = 0;
        try {
            for (JsonObject c : cases) {
                String name = c.get("name").getAsString();
                String device = "w" + run + "-" + c.get("device_id").getAsString();
                String module = str(c, "module_id");
                String key = module == null ? device : device + "/" + module;
                InternalClient client = clients.computeIfAbsent(key, k -> module == null
                        ? new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, options)
                        : new ModuleClient(TestEnv.moduleCs(device, module), IotHubClientProtocol.MQTT, options));
                Message msg = messageFrom(c.getAsJsonObject("message"));
                if (c.has("error")) {
                    IotSecArgumentException e = null;
                    try {
                        client.sendEventAsync(msg);
                    } catch (IotSecArgumentException thrown) {
                        e = thrown;
                    }
                    if (e == null) {
                        fail(name + ": expected " + c.get("error").getAsString());
                    }
                    assertEquals(c.get("error").getAsString(), e.getErrorCode().name(), name);
                    errors++;
                    continue;
                }
                String topic = c.get("topic").getAsString();
                String prefix = "devices/" + c.get("device_id").getAsString() + "/";
                assertTrue(topic.startsWith(prefix), name);
                expectedTopic.put(name, "devices/" + device + "/" + topic.substring(prefix.length()));
                expectedBody.put(name, msg.getBytes());
                sends.put(name, client.sendEventAsync(msg));
            }
            for (Map.Entry<String, CompletableFuture<Void>> s : sends.entrySet()) {
                try {
                    s.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    fail(s.getKey() + ": " + e.getCause());
                }
            }
        } finally {
            for (InternalClient c : clients.values()) {
                c.close();
            }
        }
        assertTrue(errors >= 1, "no error vector ran");
        List<TestEnv.Received> got = broker.awaitReceived(r -> r.topic.startsWith("devices/w" + run + "-"), sends.size(), Duration.ofSeconds(20));
        for (String name : sends.keySet()) {
            String topic = expectedTopic.get(name);
            TestEnv.Received match = got.stream().filter(r -> r.topic.equals(topic)).findFirst().orElse(null);
            if (match == null) {
                List<String> seen = new ArrayList<>();
                got.forEach(r -> seen.add(r.topic));
                fail(name + ": no PUBLISH on\n  " + topic + "\nreceived:\n  " + String.join("\n  ", seen));
            }
            assertArrayEquals(expectedBody.get(name), match.payload, name + ": payload");
            assertEquals(1, match.qos, name + ": QoS");
        }
    }
}
