package io.iotsec.device;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A local hub ({@code iotsec hub}) that a test owns: {@link #kill()} sends SIGKILL to the process
 * it started (by its PID), {@link #start()} starts it again on the same port with the same data
 * (registry, CA, stores).
 */
final class PrivateHub implements AutoCloseable {
    final Path dir;
    final Path dataDir;
    private Process process;
    int port;
    String caFile;
    private int starts;

    PrivateHub(Path dir) {
        this.dir = dir;
        this.dataDir = dir.resolve("data");
    }

    PrivateHub start() {
        starts++;
        Path ready = dir.resolve("ready-" + starts + ".json");
        List<String> cmd = List.of(TestEnv.cli().toString(), "hub", "--data-dir", dataDir.toString(), "--port",
                Integer.toString(port), "--ready-file", ready.toString());
        try {
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("hub-" + starts + ".log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(ready) || Files.size(ready) == 0) {
                if (!process.isAlive()) {
                    throw new AssertionError("iotsec hub exited: " + Files.readString(dir.resolve("hub-" + starts + ".log")));
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("iotsec hub did not start within 30 s");
                }
                TestEnv.sleep(20);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        JsonObject info = TestEnv.readJson(ready);
        port = info.get("tls_port").getAsInt();
        caFile = info.get("ca_file").getAsString();
        return this;
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL to the hub's PID, then wait for it. */
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    ClientOptions.Builder options() {
        return ClientOptions.builder().caFile(caFile).port(port);
    }

    String addDevice(String device) {
        String out = TestEnv.run(List.of(TestEnv.cli().toString(), "hub", "add-device", "--data-dir", dataDir.toString(), device),
                Duration.ofSeconds(30)).trim();
        String[] lines = out.split("\n");
        return lines[lines.length - 1].trim();
    }

    /** Records of store/NAME.jsonl that satisfy {@code which}. */
    List<JsonObject> store(String name, Predicate<JsonObject> which) {
        Path file = dataDir.resolve("store").resolve(name + ".jsonl");
        List<JsonObject> out = new ArrayList<>();
        try {
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file)) {
                    try {
                        JsonObject o = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
                        if (which.test(o)) {
                            out.add(o);
                        }
                    } catch (RuntimeException partialLine) {
                        // a line being written
                    }
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }
}
