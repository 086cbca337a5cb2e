package io.iotsec.device;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The child JVM of {@link SecretsTest} (a program, not a test): a full session at TRACE logging
 * ({@code IOTSEC_LOG=trace}, set by the parent) against the local hub: open, send for a few
 * seconds with a 5 s SAS token (so it is renewed), then the failures whose messages could carry
 * a secret. Prints one JSON line on stdout: what happened, every error's text and stack trace.
 */
public final class SecretSession {
    private SecretSession() {
    }

    public static void main(String[] args) throws Exception {
        JsonObject config = JsonParser.parseString(System.getenv("IOTSEC_SECRETS_CONFIG")).getAsJsonObject();
        Map<String, Object> out = new LinkedHashMap<>();
        List<Map<String, String>> errors = new ArrayList<>();
        List<String> statuses = new ArrayList<>();
        out.put("started", System.currentTimeMillis() / 1000.0);
        int port = config.get("port").getAsInt();
        String ca = config.get("caFile").getAsString();
        int sent = 0;
        try (DeviceClient client = new DeviceClient(config.get("connectionString").getAsString(), IotHubClientProtocol.MQTT,
                ClientOptions.builder().caFile(ca).port(port).sasTokenExpiryTime(5).build())) {
            client.setConnectionStatusChangeCallback((status, reason, cause, ctx) -> {
                synchronized (statuses) {
                    statuses.add(status + " " + reason + " " + (cause == null ? "" : cause.getMessage()));
                }
            }, null);
            client.open();
            long end = System.nanoTime() + config.get("seconds").getAsLong() * 1_000_000_000L;
            while (System.nanoTime() < end) {
                Message m = new Message("{\"n\":" + sent + "}");
                m.setMessageId("s-" + sent);
                m.setProperty("k", "v");
                client.sendEvent(m);
                sent++;
                Thread.sleep(200);
            }
            out.put("username", client.getMqttUsername());
        }
        out.put("sent", sent);
        for (var failing : config.getAsJsonArray("failing")) {
            JsonArray pair = failing.getAsJsonArray();
            String cs = pair.get(0).getAsString();
            ClientOptions.Builder options = ClientOptions.builder();
            if (!pair.get(1).isJsonNull()) {
                JsonObject o = pair.get(1).getAsJsonObject();
                options.caFile(o.get("caFile").getAsString()).port(o.get("port").getAsInt());
            }
            try (DeviceClient c = new DeviceClient(cs, IotHubClientProtocol.MQTT, options.build())) {
                c.open();
            } catch (RuntimeException e) {
                Map<String, String> error = new LinkedHashMap<>();
                error.put("type", e.getClass().getSimpleName());
                error.put("message", e.getMessage());
                error.put("string", e.toString());
                StringWriter trace = new StringWriter();
                e.printStackTrace(new PrintWriter(trace));
                error.put("trace", trace.toString());
                errors.add(error);
            }
        }
        Thread.sleep(200); // the last status callbacks
        synchronized (statuses) {
            out.put("statuses", new ArrayList<>(statuses));
        }
        out.put("errors", errors);
        out.put("ended", System.currentTimeMillis() / 1000.0);
        System.out.println(new Gson().toJson(out));
        System.out.flush();
    }
}
