package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged JAR used the plain way: an empty folder, {@code javac -cp iotsec.jar} and
 * {@code java -cp iotsec.jar:.}, no {@code -Djava.library.path}, no Maven.
 */
class PackagedJarIT {
    private static final String GUIDE_PROGRAM = String.join("\n",
            "import io.iotsec.device.*;",
            "import java.nio.file.*;",
            "import java.util.concurrent.*;",
            "",
            "public class Main {",
            "    static final BlockingQueue<String> OUTCOME = new LinkedBlockingQueue<>();",
            "    static String connectionString;",
            "",
            "    static class EventCallback implements IotHubEventCallback {",
            "        public void execute(IotHubStatusCode responseStatus, Object callbackContext) {",
            "            System.out.println(\"callback \" + responseStatus + \" \" + callbackContext);",
            "            OUTCOME.add(responseStatus.name());",
            "        }",
            "    }",
            "",
            "    public void SendSecurityMessage(String message)",
            "    {",
            "        ModuleClient client = new ModuleClient(connectionString, IotHubClientProtocol.MQTT);",
            "        Message msg = new Message(message);",
            "        msg.setAsSecurityMessage();",
            "        EventCallback callback = new EventCallback();",
            "        String context = \"<user_context>\";",
            "        client.sendEventAsync(msg, callback, context);",
            "    }",
            "",
            "    public static void main(String[] args) throws Exception {",
            "        connectionString = args[0];",
            "        new Main().SendSecurityMessage(Files.readString(Path.of(args[1])));",
            "        if (args.length > 2 && args[2].equals(\"wait\")) {",
            "            String status = OUTCOME.poll(30, TimeUnit.SECONDS);",
            "            System.out.println(\"main saw \" + status);",
            "            System.exit(\"OK\".equals(status) ? 0 : 1);",
            "        }",
            "        System.out.println(\"main returns without waiting or closing\");",
            "    }",
            "}",
            "");

    private static Path jar() {
        Path jar = Path.of(System.getProperty("iotsec.jar"));
        assertTrue(Files.isRegularFile(jar), jar + " missing: run `mvn verify`");
        return jar;
    }

    private static String bin(String tool) {
        return Path.of(System.getProperty("java.home"), "bin", tool).toString();
    }

    private static Path compile(Path dir) throws IOException {
        Files.writeString(dir.resolve("Main.java"), GUIDE_PROGRAM, StandardCharsets.UTF_8);
        TestEnv.run(List.of(bin("javac"), "-cp", jar().toString(), "Main.java"), Duration.ofSeconds(120), dir, null);
        assertTrue(Files.exists(dir.resolve("Main.class")));
        return dir;
    }

    private static Map<String, String> env(TestEnv.Mosquitto broker) {
        return Map.of("IOTSEC_CA_FILE", broker.caFile, "IOTSEC_MQTT_PORT", String.valueOf(broker.tlsPort));
    }

    @Test
    void jarWorksFromAnEmptyFolderWithPlainJavacAndJava(@TempDir Path dir) throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        compile(dir);
        String device = TestEnv.unique("jar");
        Path body = TestEnv.vectors().resolve("guide/guide_message_valid.json");
        String out = TestEnv.run(List.of(bin("java"), "-cp", jar() + java.io.File.pathSeparator + ".", "Main",
                TestEnv.moduleCs(device, "sec"), body.toString(), "wait"), Duration.ofSeconds(60), dir, env(broker));
        assertTrue(out.contains("callback OK <user_context>") && out.contains("main saw OK"), out);
        TestEnv.Received r = broker.awaitReceived(x -> x.topic.startsWith("devices/" + device + "/"), 1, Duration.ofSeconds(10)).get(0);
        assertEquals("devices/" + device + "/modules/sec/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1", r.topic);
    }

    /** The guide's method alone in main: iotsec's threads do not keep the JVM alive, and the exit hook flushes the send. */
    @Test
    void programThatNeverClosesExitsAndItsMessageStillArrives(@TempDir Path dir) throws Exception {
        TestEnv.Mosquitto broker = TestEnv.mosquitto();
        compile(dir);
        String device = TestEnv.unique("jar-exit");
        Path body = TestEnv.vectors().resolve("guide/guide_message_valid.json");
        long start = System.nanoTime();
        String out = TestEnv.run(List.of(bin("java"), "-cp", jar() + java.io.File.pathSeparator + ".", "Main",
                TestEnv.moduleCs(device, "sec"), body.toString()), Duration.ofSeconds(30), dir, env(broker));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(out.contains("main returns without waiting or closing"), out);
        assertTrue(out.contains("callback OK <user_context>"), "the exit hook did not flush the send:\n" + out);
        assertTrue(ms < 15_000, "the JVM took " + ms + " ms to exit");
        broker.awaitReceived(x -> x.topic.startsWith("devices/" + device + "/"), 1, Duration.ofSeconds(10));
    }
}
