package io.iotsec.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code setConnectionStatusChangeCallback} against a real local hub that the test kills by its
 * PID and starts again on the same port: CONNECTED, DISCONNECTED_RETRYING (NO_NETWORK, with the
 * exception), CONNECTED again; a send made during the outage completes after the reconnect and
 * is stored. A token renewal is DISCONNECTED_RETRYING with EXPIRED_SAS_TOKEN, then CONNECTED.
 */
class ConnectionStatusTest {
    /** One callback invocation. */
    record Change(IotHubConnectionStatus status, IotHubConnectionStatusChangeReason reason, Throwable cause, Object context,
            String thread) {
    }

    /** Collects callback invocations and waits for one that matches. */
    static final class Recorder implements IotHubConnectionStatusChangeCallback {
        final List<Change> changes = new ArrayList<>();

        @Override
        public synchronized void execute(IotHubConnectionStatus status, IotHubConnectionStatusChangeReason reason, Throwable cause,
                Object context) {
            changes.add(new Change(status, reason, cause, context, Thread.currentThread().getName()));
            notifyAll();
        }

        /** The index of the first change after {@code after} that matches, waiting up to 15 s. */
        synchronized int await(Predicate<Change> which, int after) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (true) {
                for (int i = after + 1; i < changes.size(); i++) {
                    if (which.test(changes.get(i))) {
                        return i;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no matching status change within 15 s; got " + changes);
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        synchronized List<IotHubConnectionStatus> statuses() {
            return changes.stream().map(Change::status).toList();
        }
    }

    @Test
    void hubKilledAndRestartedGivesRetryingThenConnectedAndTheOutageSendCompletes(@TempDir Path dir) throws Exception {
        try (PrivateHub hub = new PrivateHub(dir).start()) {
            String device = TestEnv.unique("jstatus");
            Recorder rec = new Recorder();
            Object context = new Object();
            try (DeviceClient client = new DeviceClient(hub.addDevice(device), IotHubClientProtocol.MQTT, hub.options().build())) {
                client.setConnectionStatusChangeCallback(rec, context);
                client.open();
                int up = rec.await(c -> c.status() == IotHubConnectionStatus.CONNECTED, -1);
                Change connected = rec.changes.get(up);
                assertEquals(IotHubConnectionStatusChangeReason.CONNECTION_OK, connected.reason());
                assertNull(connected.cause());
                assertSame(context, connected.context());
                assertEquals("iotsec-java-callbacks", connected.thread());

                hub.kill();
                int lostAt = rec.await(c -> c.status() == IotHubConnectionStatus.DISCONNECTED_RETRYING, up);
                Change lost = rec.changes.get(lostAt);
                assertEquals(IotHubConnectionStatusChangeReason.NO_NETWORK, lost.reason());
                IotSecException cause = assertInstanceOf(IotSecException.class, lost.cause());
                assertEquals(ErrorCode.CONNECTION_LOST, cause.getErrorCode());
                assertFalse(client.isConnected());

                Message outage = new Message("{\"during\":\"outage\"}");
                outage.setMessageId("outage-1");
                CompletableFuture<Void> during = client.sendEventAsync(outage);
                assertThrows(TimeoutException.class, () -> during.get(300, TimeUnit.MILLISECONDS), "the send waits while the hub is down");
                hub.start();
                rec.await(c -> c.status() == IotHubConnectionStatus.CONNECTED, lostAt);
                during.get(15, TimeUnit.SECONDS);
                assertEquals(List.of("outage-1"), hub.store("telemetry", o -> device.equals(o.get("device_id").getAsString()))
                        .stream().map(o -> o.get("message_id").getAsString()).toList());
            }
            // Closing reports DISCONNECTED / CLIENT_CLOSE, once; further failed attempts during
            // the outage were not reported again.
            rec.await(c -> c.status() == IotHubConnectionStatus.DISCONNECTED, -1);
            Change last = rec.changes.get(rec.changes.size() - 1);
            assertEquals(IotHubConnectionStatusChangeReason.CLIENT_CLOSE, last.reason());
            assertEquals(List.of(IotHubConnectionStatus.CONNECTED, IotHubConnectionStatus.DISCONNECTED_RETRYING,
                    IotHubConnectionStatus.CONNECTED, IotHubConnectionStatus.DISCONNECTED), rec.statuses());
        }
    }

    @Test
    void tokenRenewalIsRetryingWithExpiredSasTokenThenConnected() throws Exception {
        TestEnv.Hub hub = TestEnv.hub();
        String device = TestEnv.unique("jrenew");
        Recorder rec = new Recorder();
        int sent = 0;
        try (DeviceClient client = new DeviceClient(hub.addDevice(device, null), IotHubClientProtocol.MQTT,
                hub.options().sasTokenExpiryTime(5).build())) {
            client.registerConnectionStatusChangeCallback(rec, null);
            client.open();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            while (System.nanoTime() < deadline && rec.statuses().size() < 2) {
                Message m = new Message("tick");
                m.setMessageId("tick-" + sent++);
                client.sendEvent(m);
                TestEnv.sleep(100);
            }
            int renewal = rec.await(c -> c.status() == IotHubConnectionStatus.DISCONNECTED_RETRYING, -1);
            assertEquals(IotHubConnectionStatusChangeReason.EXPIRED_SAS_TOKEN, rec.changes.get(renewal).reason());
            rec.await(c -> c.status() == IotHubConnectionStatus.CONNECTED, renewal);
            client.sendEvent(new Message("after renewal"));
            sent++;
        }
        hub.awaitStore("telemetry", o -> device.equals(o.get("device_id").getAsString()), sent, Duration.ofSeconds(10));
    }

    @Test
    void firstConnectFailureIsDisconnectedWithTheReasonAndACallbackThatThrowsIsContained() throws Exception {
        TestEnv.Mosquitto mq = TestEnv.mosquitto();
        Recorder rec = new Recorder();
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("jstatus-tls")), IotHubClientProtocol.MQTT,
                ClientOptions.builder().caFile(mq.wrongCaFile).port(mq.tlsPort).build())) {
            client.setConnectionStatusChangeCallback((s, r, t, c) -> {
                throw new IllegalStateException("a throwing callback");
            }, null);
            client.setConnectionStatusChangeCallback(rec, "ctx"); // replaces the first one
            IotSecException e = assertThrows(IotSecException.class, client::open);
            assertEquals(ErrorCode.TLS, e.getErrorCode());
            int at = rec.await(c -> c.status() == IotHubConnectionStatus.DISCONNECTED, -1);
            Change failed = rec.changes.get(at);
            assertEquals(IotHubConnectionStatusChangeReason.COMMUNICATION_ERROR, failed.reason());
            assertEquals(ErrorCode.TLS, ((IotSecException) failed.cause()).getErrorCode());
            assertEquals("ctx", failed.context());
        }
        // A client with a callback that throws still works.
        try (DeviceClient client = new DeviceClient(TestEnv.deviceCs(TestEnv.unique("jstatus-throw")), IotHubClientProtocol.MQTT,
                mq.options().build())) {
            client.setConnectionStatusChangeCallback((s, r, t, c) -> {
                throw new IllegalStateException("a throwing callback");
            }, null);
            client.open();
            client.sendEvent(new Message("still sends"));
            assertTrue(client.isConnected());
            client.setConnectionStatusChangeCallback(null, null);
        }
    }
}
