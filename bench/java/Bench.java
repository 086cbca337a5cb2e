import io.iotsec.device.ClientOptions;
import io.iotsec.device.DeviceClient;
import io.iotsec.device.IotHubClientProtocol;
import io.iotsec.device.IotHubStatusCode;
import io.iotsec.device.Message;
import io.iotsec.device.SecuritySchema;
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
 * Every message has its own message id: w0... for the warm-up, m0... for the measured ones
 * (bench/run.sh counts them with a subscriber).
 *
 * java -cp iotsec.jar:. Bench --port P --ca CA.pem --body bench_message.json [--count N] [--inflight W]
 *      [--modes java-await,java-pipelined] [--warmup N] [--device ID]
 * java -cp iotsec.jar:. Bench --overhead --body bench_message.json     (per-call costs, one JSON line)
 */
public final class Bench {
    private Bench() {
    }

    /** Peak resident set of this process (VmHWM from /proc/self/status; 0 where there is none). */
    private static long vmHwmKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (java.io.IOException e) {
            return 0;
        }
        return 0;
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
        String device = null;
        int warmup = -1;
        boolean overhead = false;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--overhead": overhead = true; i--; break;
                case "--device": device = args[i + 1]; break;
                case "--warmup": warmup = Integer.parseInt(args[i + 1]); break;
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
        if (overhead) {
            overhead(bytes);
            return;
        }
        if (warmup < 0) {
            warmup = Math.min(2_000, count);
        }
        ClientOptions options = ClientOptions.builder().caFile(ca).port(port).maxInFlight(inflight).build();
        for (String mode : modes.split(",")) {
            String id = device != null ? device : "bench-" + mode;
            String cs = "HostName=localhost;DeviceId=" + id + ";SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
            long c = System.nanoTime();
            try (DeviceClient client = new DeviceClient(cs, IotHubClientProtocol.MQTT, options)) {
                client.open();
                double connectMs = (System.nanoTime() - c) / 1e6;
                run(client, bytes, warmup, mode, "w");
                long c0 = cpuNanos();
                long t0 = System.nanoTime();
                run(client, bytes, count, mode, "m");
                double seconds = (System.nanoTime() - t0) / 1e9;
                double cpuUs = (cpuNanos() - c0) / 1e3 / count;
                System.out.printf(java.util.Locale.ROOT, "{\"mode\":\"%s\",\"count\":%d,\"inflight\":%d,\"connect_ms\":%.3f,\"seconds\":%.4f,\"msgs_per_sec\":%.1f,\"cpu_us_per_msg\":%.2f,\"vm_hwm_kb\":%d}%n",
                        mode, count, inflight, connectMs, seconds, count / seconds, cpuUs, vmHwmKb());
            }
        }
    }

    private static Message message(byte[] bytes, String id) {
        Message m = new Message(bytes);
        m.setMessageId(id);
        m.setAsSecurityMessage();
        return m;
    }

    /** Nanoseconds per call: the best of 5 timed loops of at least 0.2 s each. */
    private static double perCallNs(Runnable f) {
        int n = 1_000;
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            while (true) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    f.run();
                }
                long ns = System.nanoTime() - t0;
                if (ns >= 200_000_000L) {
                    best = Math.min(best, (double) ns / n);
                    break;
                }
                n *= 2;
            }
        }
        return best;
    }

    private static volatile Object sink;

    private static void overhead(byte[] bytes) {
        if (!SecuritySchema.validate(bytes).isEmpty() || !SecuritySchema.isValid(bytes)) {
            throw new IllegalStateException("the bench message is not valid");
        }
        double create = perCallNs(() -> {
            Message m = new Message(bytes);
            m.setAsSecurityMessage();
            sink = m;
        });
        double createMid = perCallNs(() -> sink = message(bytes, "m12345"));
        double validate = perCallNs(() -> sink = SecuritySchema.validate(bytes));
        double isValid = perCallNs(() -> sink = SecuritySchema.isValid(bytes));
        System.out.printf(java.util.Locale.ROOT, "{\"create_flag_ns\":%.1f,\"create_flag_mid_ns\":%.1f,\"validate_ns\":%.1f,\"is_valid_ns\":%.1f}%n",
                create, createMid, validate, isValid);
    }

    private static void run(DeviceClient client, byte[] bytes, int count, String mode, String prefix) throws InterruptedException {
        if (mode.equals("java-await")) {
            for (int i = 0; i < count; i++) {
                client.sendEvent(message(bytes, prefix + i));
            }
            return;
        }
        if (!mode.equals("java-pipelined")) {
            throw new IllegalArgumentException("unknown mode " + mode);
        }
        CountDownLatch done = new CountDownLatch(count);
        AtomicInteger failed = new AtomicInteger();
        for (int i = 0; i < count; i++) {
            client.sendEventAsync(message(bytes, prefix + i), (status, ctx) -> {
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
