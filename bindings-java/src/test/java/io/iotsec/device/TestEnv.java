package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The brokers the test script started (scripts/test-java.sh): mosquitto with its recorder
 * ({@code IOTSEC_TEST_ENV}) and the local hub ({@code IOTSEC_TEST_HUB_ENV}), both on 127.0.0.1.
 */
public final class TestEnv {
    /** A well-formed key (32 bytes, base64); mosquitto accepts any password. */
    public static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private TestEnv() {
    }

    public static Path repoRoot() {
        String root = System.getProperty("iotsec.repo.root");
        if (root == null) {
            root = Path.of("..").toAbsolutePath().toString();
        }
        return Path.of(root).toAbsolutePath().normalize();
    }

    public static Path vectors() {
        return repoRoot().resolve("tests/vectors");
    }

    static JsonObject readJson(Path p) {
        try {
            return JsonParser.parseString(Files.readString(p, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new AssertionError("cannot read " + p, e);
        }
    }

    private static JsonObject envFile(String variable, String what) {
        String path = System.getenv(variable);
        if (path == null || path.isEmpty()) {
            fail(variable + " is not set: run scripts/test-java.sh, which starts " + what + " on 127.0.0.1");
        }
        return readJson(Path.of(path));
    }

    /** mosquitto over TLS plus the recorder (iotsec-testkit up). */
    public static final class Mosquitto {
        public final int tlsPort;
        public final int plainPort;
        public final String caFile;
        public final String wrongCaFile;
        public final Path logFile;
        public final Path receivedFile;

        Mosquitto(JsonObject env) {
            tlsPort = env.get("tls_port").getAsInt();
            plainPort = env.get("plain_port").getAsInt();
            caFile = env.get("ca_file").getAsString();
            wrongCaFile = env.get("wrong_ca_file").getAsString();
            logFile = Path.of(env.get("log_file").getAsString());
            receivedFile = Path.of(env.get("received_file").getAsString());
        }

        public ClientOptions.Builder options() {
            return ClientOptions.builder().caFile(caFile).port(tlsPort);
        }

        /** Every PUBLISH mosquitto received on devices/#, in order. */
        public List<Received> received() {
            List<Received> out = new ArrayList<>();
            try {
                if (!Files.exists(receivedFile)) {
                    return out;
                }
                for (String line : Files.readAllLines(receivedFile, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonObject o;
                    try {
                        o = JsonParser.parseString(line).getAsJsonObject();
                    } catch (RuntimeException partialLine) {
                        continue;
                    }
                    out.add(new Received(o.get("topic").getAsString(),
                            Base64.getDecoder().decode(o.get("payload_base64").getAsString()),
                            o.get("qos").getAsInt(), o.get("retain").getAsBoolean()));
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            return out;
        }

        /** Waits until {@code count} received messages match {@code which}; returns them. */
        public List<Received> awaitReceived(Predicate<Received> which, int count, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            List<Received> matching;
            do {
                matching = new ArrayList<>();
                for (Received r : received()) {
                    if (which.test(r)) {
                        matching.add(r);
                    }
                }
                if (matching.size() >= count) {
                    return matching;
                }
                sleep(50);
            } while (System.nanoTime() < deadline);
            throw new AssertionError("mosquitto received " + matching.size() + " of " + count + " expected messages in " + timeout);
        }

        public String log() {
            try {
                return Files.readString(logFile, StandardCharsets.ISO_8859_1);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** One PUBLISH as the recorder saw it. */
    public static final class Received {
        public final String topic;
        public final byte[] payload;
        public final int qos;
        public final boolean retain;

        Received(String topic, byte[] payload, int qos, boolean retain) {
            this.topic = topic;
            this.payload = payload;
            this.qos = qos;
            this.retain = retain;
        }
    }

    public static Mosquitto mosquitto() {
        return new Mosquitto(envFile("IOTSEC_TEST_ENV", "mosquitto (iotsec-testkit up)"));
    }

    /** The local hub (iotsec hub). */
    public static final class Hub {
        public final int tlsPort;
        public final int plainPort;
        public final String caFile;
        public final Path dataDir;

        Hub(JsonObject env) {
            tlsPort = env.get("tls_port").getAsInt();
            plainPort = env.get("plain_port").getAsInt();
            caFile = env.get("ca_file").getAsString();
            dataDir = Path.of(env.get("data_dir").getAsString());
        }

        public ClientOptions.Builder options() {
            return ClientOptions.builder().caFile(caFile).port(tlsPort);
        }

        /** Registers a device (or module) and returns its connection string. */
        public String addDevice(String device, String module) {
            List<String> cmd = new ArrayList<>(List.of(cli().toString(), "hub", "add-device", "--data-dir", dataDir.toString(), device));
            if (module != null) {
                cmd.add("--module");
                cmd.add(module);
            }
            String out = run(cmd, Duration.ofSeconds(30)).trim();
            String[] lines = out.split("\n");
            String cs = lines[lines.length - 1].trim();
            if (!cs.startsWith("HostName=")) {
                throw new AssertionError("`iotsec hub add-device` printed no connection string: " + out);
            }
            return cs;
        }

        /** Lines of store/NAME.jsonl that satisfy {@code which}, waiting up to {@code timeout} for {@code count}. */
        public List<JsonObject> awaitStore(String name, Predicate<JsonObject> which, int count, Duration timeout) {
            Path file = dataDir.resolve("store").resolve(name + ".jsonl");
            long deadline = System.nanoTime() + timeout.toNanos();
            List<JsonObject> matching;
            do {
                matching = new ArrayList<>();
                try {
                    if (Files.exists(file)) {
                        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                            try {
                                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                                if (which.test(o)) {
                                    matching.add(o);
                                }
                            } catch (RuntimeException partialLine) {
                                // a line being written
                            }
                        }
                    }
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                if (matching.size() >= count) {
                    return matching;
                }
                sleep(50);
            } while (System.nanoTime() < deadline);
            throw new AssertionError("the hub stored " + matching.size() + " of " + count + " expected records in " + file);
        }
    }

    public static Hub hub() {
        return new Hub(envFile("IOTSEC_TEST_HUB_ENV", "the local hub (iotsec hub)"));
    }

    /** The iotsec CLI binary (IOTSEC_CLI, else target/release/iotsec). */
    public static Path cli() {
        String env = System.getenv("IOTSEC_CLI");
        return env != null && !env.isEmpty() ? Path.of(env) : repoRoot().resolve("target/release/iotsec");
    }

    public static String deviceCs(String device) {
        return "HostName=localhost;DeviceId=" + device + ";SharedAccessKey=" + KEY;
    }

    public static String moduleCs(String device, String module) {
        return "HostName=localhost;DeviceId=" + device + ";ModuleId=" + module + ";SharedAccessKey=" + KEY;
    }

    /** A unique id for this run, so tests never share an MQTT client id. */
    public static String unique(String prefix) {
        return prefix + "-" + Long.toString(System.nanoTime(), 36);
    }

    public static byte[] readBytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    public static String run(List<String> cmd, Duration timeout) {
        return run(cmd, timeout, null, null);
    }

    /** Runs a command (stderr merged); fails on a non-zero exit or a timeout. */
    public static String run(List<String> cmd, Duration timeout, Path dir, java.util.Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            if (env != null) {
                pb.environment().putAll(env);
            }
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + cmd);
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError("exit " + p.exitValue() + " from " + cmd + ":\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
