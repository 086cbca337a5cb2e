package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * tests/vectors/schema/*.json through the Java API: {@link SecuritySchema} gives each case's
 * verdict and (pointer, rule) list; a client refuses every invalid one before sending, and
 * sends every valid one to mosquitto for real.
 */
class SchemaVectorsTest {
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    static byte[] bodyOf(JsonObject c) {
        if (c.has("body")) {
            return GSON.toJson(c.get("body")).getBytes(StandardCharsets.UTF_8);
        }
        if (c.has("body_text")) {
            return c.get("body_text").getAsString().getBytes(StandardCharsets.UTF_8);
        }
        if (c.has("body_base64")) {
            return Base64.getDecoder().decode(c.get("body_base64").getAsString());
        }
        throw new AssertionError("case " + c.get("name") + " has no body");
    }

    static List<JsonObject> cases() throws Exception {
        List<JsonObject> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(TestEnv.vectors().resolve("schema"), "*.json")) {
            for (Path f : files) {
                for (JsonElement c : TestEnv.readJson(f).getAsJsonArray("cases")) {
                    JsonObject o = c.getAsJsonObject();
                    o.addProperty("file", f.getFileName().toString());
                    out.add(o);
                }
            }
        }
        return out;
    }

    @Test
    void everySchemaVectorGivesItsVerdictAndViolations() throws Exception {
        List<JsonObject> cases = cases();
        List<String> problems = new ArrayList<>();
        int valid = 0;
        for (JsonObject c : cases) {
            String name = c.get("file").getAsString() + ": " + c.get("name").getAsString();
            byte[] body = bodyOf(c);
            boolean expectValid = c.get("valid").getAsBoolean();
            valid += expectValid ? 1 : 0;
            List<Violation> got = SecuritySchema.validate(body);
            if (SecuritySchema.isValid(body) != expectValid) {
                problems.add(name + ": isValid() = " + !expectValid);
            }
            if (got.isEmpty() != expectValid) {
                problems.add(name + ": validate() gave " + got);
            }
            try {
                SecuritySchema.check(body);
                if (!expectValid) {
                    problems.add(name + ": check() did not throw");
                }
            } catch (SchemaValidationException e) {
                if (expectValid || !e.getViolations().equals(got)) {
                    problems.add(name + ": check() threw " + e.getViolations());
                }
            }
            List<String> want = new ArrayList<>();
            List<JsonObject> expected = new ArrayList<>();
            if (c.has("violations")) {
                for (JsonElement v : c.getAsJsonArray("violations")) {
                    JsonObject o = v.getAsJsonObject();
                    expected.add(o);
                    want.add(o.get("pointer").getAsString() + " " + o.get("rule").getAsString());
                }
            }
            List<String> have = new ArrayList<>();
            got.forEach(v -> have.add(v.getPointer() + " " + v.getRule()));
            if (!want.equals(have)) {
                problems.add(name + ": violations " + have + ", expected " + want);
                continue;
            }
            for (int i = 0; i < expected.size(); i++) {
                JsonObject e = expected.get(i);
                Violation v = got.get(i);
                if (e.has("message_contains")) {
                    for (JsonElement needle : e.getAsJsonArray("message_contains")) {
                        if (!v.getMessage().contains(needle.getAsString())) {
                            problems.add(name + ": message " + v.getMessage() + " lacks " + needle);
                        }
                    }
                }
                if (e.has("position")) {
                    JsonObject p = e.getAsJsonObject("position");
                    Violation.Position want2 = new Violation.Position(p.get("offset").getAsInt(), p.get("line").getAsInt(), p.get("column").getAsInt());
                    if (!want2.equals(v.getPosition())) {
                        problems.add(name + ": position " + v.getPosition() + ", expected " + want2);
                    }
                }
            }
        }
        assertTrue(problems.isEmpty(), problems.size() + " problem(s):\n" + String.join("\n", problems));
        assertTrue(cases.size() >= 40 && valid >= 14, cases.size() + " cases, " + valid + " valid");
    }

    @Test
    void clientRefusesEveryInvalidVectorAndSendsEveryValidOne() throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        String device = TestEnv.unique("schema-vec");
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        int refused = 0;
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(device), IotHubClientProtocol.MQTT, broker.options().build())) {
            for (JsonObject c : cases()) {
                String name = c.get("file").getAsString() + ": " + c.get("name").getAsString();
                Message msg = new Message(bodyOf(c));
                msg.setAsSecurityMessage();
                if (c.get("valid").getAsBoolean()) {
                    sent.add(client.sendEventAsync(msg));
                } else {
                    try {
                        client.sendEventAsync(msg);
                        fail(name + ": an invalid security message was accepted");
                    } catch (SchemaValidationException e) {
                        assertEquals(SecuritySchema.validate(msg.getBytes()), e.getViolations(), name);
                        refused++;
                    }
                }
            }
            for (CompletableFuture<Void> f : sent) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
        assertTrue(refused >= 26, refused + " refused");
        assertEquals(sent.size(), broker.awaitReceived(r -> r.topic.startsWith("devices/" + device + "/"), sent.size(), java.time.Duration.ofSeconds(10)).size());
    }
}
