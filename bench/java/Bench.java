import io.iotsec.device.ClientOptions;
import io.iotsec.device.DeviceClient;
import io.iotsec.device.IotHubClientProtocol;
import io.iotsec.device.IotHubStatusCode;
import io.iotsec.device.Message;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * iotsec for Java, send throughput: the guide-sized security message
 * (tests/vectors/guide/bench_message.json, validated before every send) to a TLS broker on
 * 127.0.0.1, awaiting each acknowledgement ("java-await") and pipelined ("java-pipelined").
 * Prints one JSON line per mode, in the shape of core/examples/bench_send.rs --json.
 *
 * java -cp iotsec.jar:. Bench --port P --ca CA.pem --body bench_message.json [--count N] [--inflight W] [--modes java-await,java-pipelined]
 */
public final class Bench {
    private Bench() {
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] args) throws Exception {
        int port = 0;
        int count = 20_000;
        int inflight = 100;
        String ca = null;
        String body = null;
        String modes = "java-await,java-pipelined";
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--port": port = Integer.parseInt(args[i + 1]); break;
                case "--count": count = Integer.parseInt(args[i + 1]); break;
                case "--inflight": inflight = Integer.parseInt(args[i + 1]); break;
                case "--ca": ca = args[i + 1]; break;
                case "--body": body = args[i + 1]; break;
                case "--modes": modes = args[i + 1]; break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        byte[] bytes = Files.readAllBytes(Path.of(body));
        ClientOptions options = ClientOptions.builder().caFile(ca).port(port).maxInFlight(inflight).build();
        for (String mode : modes.split(",")) {
            String cs = "HostName=localhost;DeviceId=bench-" + mode + ";SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
            try (DeviceClient client = new DeviceClient(cs, IotHubClientProtocol.MQTT, options)) {
                client.open();
                run(client, bytes, Math.min(2_000, count), mode);
                long c0 = cpuNanos();
                long t0 = System.nanoTime();
                run(client, bytes, count, mode);
                double seconds = (System.nanoTime() - t0) / 1e9;
                double cpuUs = (cpuNanos() - c0) / 1e3 / count;
                System.out.printf("{\"mode\":\"%s\",\"count\":%d,\"inflight\":%d,\"seconds\":%.4f,\"msgs_per_sec\":%.1f,\"cpu_us_per_msg\":%.2f}%n",
                        mode, count, inflight, seconds, count / seconds, cpuUs);
            }
        }
    }

    private static Message message(byte[] bytes) {
        Message m = new Message(bytes);
        m.setAsSecurityMessage();
        return m;
    }

    private static void run(DeviceClient client, byte[] bytes, int count, String mode) throws InterruptedException {
        if (mode.equals("java-await")) {
            for (int i = 0; i < count; i++) {
                client.sendEvent(message(bytes));
            }
            return;
        }
        if (!mode.equals("java-pipelined")) {
            throw new IllegalArgumentException("unknown mode " + mode);
        }
        CountDownLatch done = new CountDownLatch(count);
        AtomicInteger failed = new AtomicInteger();
        for (int i = 0; i < count; i++) {
            client.sendEventAsync(message(bytes), (status, ctx) -> {
                if (status != IotHubStatusCode.OK) {
                    failed.incrementAndGet();
                }
                done.countDown();
            }, null);
        }
        if (!done.await(300, TimeUnit.SECONDS) || failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " sends failed or timed out");
        }
    }
}
