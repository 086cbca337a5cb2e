package io.iotsec.device;

import java.lang.System.Logger.Level;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What {@link DeviceClient} and {@link ModuleClient} share: one MQTT connection to IoT Hub
 * (or any MQTT 3.1.1 broker), over which sends are pipelined.
 *
 * <p>Thread-safe. Nothing is sent until {@link #open()} or the first send, which connects.
 * Every accepted send completes exactly once: its callback (or future) reports the outcome on
 * iotsec's callback thread.
 *
 * <p>At JVM exit (a shutdown hook), clients still open get up to
 * {@code iotsec.shutdown.flushMillis} milliseconds (system property, default 10000) for their
 * outstanding sends to be acknowledged; then they are closed and whatever is left is reported
 * as {@link IotHubStatusCode#MESSAGE_CANCELLED_ONCLOSE}. iotsec's threads never keep the JVM
 * alive.
 */
public abstract class InternalClient implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Set<InternalClient> OPEN = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private static final AtomicBoolean HOOK = new AtomicBoolean();
    /** How long {@link #close()} waits for the callbacks of cancelled sends to finish running. */
    private static final long CALLBACK_WAIT_MILLIS = 30_000;

    private final long handle;
    private final Cleaner.Cleanable cleanable;
    private final AtomicInteger outstanding = new AtomicInteger();
    private final Object idle = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final StatusSink statusSink = new StatusSink();
    private final AtomicBoolean watchingStatus = new AtomicBoolean();

    InternalClient(String connectionString, IotHubClientProtocol protocol, ClientOptions options, int kind) {
        if (connectionString == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_CONNECTION_STRING, "connectionString must not be null");
        }
        if (protocol == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "protocol must not be null");
        }
        if (protocol != IotHubClientProtocol.MQTT) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "protocol " + protocol
                    + " is not supported: iotsec speaks MQTT 3.1.1 over TLS (IotHubClientProtocol.MQTT)");
        }
        ClientOptions o = options == null ? new ClientOptions() : options.snapshot();
        long h = NativeBridge.clientNew(connectionString, kind, o.nativeOptions(productInfo()));
        this.handle = h;
        this.cleanable = CLEANER.register(this, new Free(h));
        OPEN.add(this);
        if (HOOK.compareAndSet(false, true)) {
            Runtime.getRuntime().addShutdownHook(new Thread(InternalClient::atExit, "iotsec-shutdown"));
        }
    }

    private static String productInfo() {
        return "java " + System.getProperty("java.version", "unknown");
    }

    /** Frees the native client once the Java object is unreachable (never references it). */
    private static final class Free implements Runnable {
        private final long handle;

        Free(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            NativeBridge.clientFree(handle);
        }
    }

    /**
     * Connects now (TLS, MQTT CONNECT, CONNACK) and waits for the outcome. Optional: the first
     * send connects too. Opening an open client does nothing.
     *
     * @throws IotSecException why the connection failed ({@link ErrorCode#TLS},
     *     {@link ErrorCode#CREDENTIAL_REFUSED}, {@link ErrorCode#CONNECTION_FAILED},
     *     {@link ErrorCode#CLOSED}, ...)
     */
    public void open() {
        try {
            NativeBridge.clientOpen(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Sends {@code message}; {@code callback.execute(status, callbackContext)} runs once when the
     * broker acknowledged it ({@link IotHubStatusCode#OK}) or the send failed.
     *
     * <p>Returns as soon as the message is queued. A security message is validated first: a
     * body that breaks the schema throws {@link SchemaValidationException} and nothing is sent
     * (the callback is not called). When the queue is full this waits for room (see
     * {@link ClientOptions#setQueueCapacity(int)}).
     *
     * @param message the message
     * @param callback called once with the outcome; may be {@code null}
     * @param callbackContext handed back to the callback
     * @throws IotSecArgumentException bad input: null message, body or topic too large, schema
     *     violation ({@link SchemaValidationException})
     * @throws IotSecException the client is closed ({@link ErrorCode#CLOSED}) or the queue is
     *     full with fail-fast set ({@link ErrorCode#QUEUE_FULL})
     */
    public void sendEventAsync(Message message, IotHubEventCallback callback, Object callbackContext) {
        submit(message, new SendCompletion(this, callback, callbackContext, null));
    }

    /**
     * Sends {@code message} (iotsec extension): the future completes when the broker
     * acknowledged it, or exceptionally with the {@link IotSecException} saying why not.
     * Dependent actions run on iotsec's callback thread unless you use the {@code ...Async}
     * methods of the future.
     *
     * @param message the message
     * @return the outcome
     * @throws IotSecArgumentException bad input, as for {@link #sendEventAsync(Message, IotHubEventCallback, Object)}
     * @throws IotSecException the client is closed, or the queue is full with fail-fast set
     */
    public CompletableFuture<Void> sendEventAsync(Message message) {
        CompletableFuture<Void> future = new CompletableFuture<>();
        submit(message, new SendCompletion(this, null, null, future));
        return future;
    }

    /**
     * Sends {@code message} and waits for the broker's acknowledgement (iotsec extension). The
     * calling thread parks until then (at most the PUBACK timeout); it may be a callback.
     *
     * @param message the message
     * @throws IotSecArgumentException bad input
     * @throws IotSecException why the send failed
     */
    public void sendEvent(Message message) {
        if (message == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "message must not be null");
        }
        try {
            NativeBridge.clientSendBlocking(handle, message.getBytes(), message.systemArray(), message.propertyArray());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private void submit(Message message, SendCompletion completion) {
        if (message == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "message must not be null");
        }
        outstanding.incrementAndGet();
        boolean queued = false;
        try {
            NativeBridge.clientSend(handle, message.getBytes(), message.systemArray(), message.propertyArray(), completion);
            queued = true;
        } finally {
            if (!queued) {
                sendFinished();
            }
            Reference.reachabilityFence(this);
        }
    }

    /** A send completed (its callback ran) or was refused. */
    void sendFinished() {
        if (outstanding.decrementAndGet() == 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    /**
     * Closes the client for good. Sends still waiting for an acknowledgement are cancelled:
     * their callbacks get {@link IotHubStatusCode#MESSAGE_CANCELLED_ONCLOSE} (as in the official
     * SDK). With nothing outstanding, the client disconnects gracefully (MQTT DISCONNECT).
     * When this returns, every callback of this client has run (unless it is called from inside
     * a callback). Later sends throw {@link IotSecException} with {@link ErrorCode#CLOSED}.
     * Closing a closed client does nothing.
     */
    @Override
    public void close() {
        closeImpl(false);
    }

    /**
     * Closes at once, cancelling outstanding sends ({@link IotHubStatusCode#MESSAGE_CANCELLED_ONCLOSE});
     * the official SDK 1.x name.
     */
    public void closeNow() {
        closeImpl(true);
    }

    private void closeImpl(boolean now) {
        if (closed.compareAndSet(false, true)) {
            OPEN.remove(this);
            try {
                NativeBridge.clientClose(handle, now || outstanding.get() > 0);
            } finally {
                Reference.reachabilityFence(this);
            }
        }
        if (!SendCompletion.onCallbackThread()) {
            awaitIdle(System.nanoTime() + CALLBACK_WAIT_MILLIS * 1_000_000L);
        }
    }

    /** Waits until every accepted send has completed, or the deadline ({@code System.nanoTime()}). */
    private boolean awaitIdle(long deadline) {
        synchronized (idle) {
            while (outstanding.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    idle.wait(Math.max(1, left / 1_000_000L));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Sets the callback that hears of every connection status change from now on (official SDK
     * 2.x name; set it before {@link #open()} to see the first connection): connected, lost and
     * being re-established ({@link IotHubConnectionStatus#DISCONNECTED_RETRYING}: iotsec reconnects
     * by itself, with exponential back-off, and sends made meanwhile complete after the
     * reconnect), closed. A planned reconnect that renews the SAS token is reported as
     * {@code DISCONNECTED_RETRYING} with {@link IotHubConnectionStatusChangeReason#EXPIRED_SAS_TOKEN}.
     * The callback runs on iotsec's callback thread, one status at a time, in order.
     *
     * @param callback the callback, or {@code null} to stop hearing of changes
     * @param callbackContext handed back to the callback
     */
    public void setConnectionStatusChangeCallback(IotHubConnectionStatusChangeCallback callback, Object callbackContext) {
        statusSink.set(callback, callbackContext);
        if (callback != null && watchingStatus.compareAndSet(false, true)) {
            try {
                NativeBridge.clientWatchStatus(handle, statusSink);
            } catch (RuntimeException e) {
                watchingStatus.set(false);
                throw e;
            } finally {
                Reference.reachabilityFence(this);
            }
        }
    }

    /**
     * The official SDK 1.x name of {@link #setConnectionStatusChangeCallback(IotHubConnectionStatusChangeCallback, Object)}.
     *
     * @param callback the callback, or {@code null}
     * @param callbackContext handed back to the callback
     */
    public void registerConnectionStatusChangeCallback(IotHubConnectionStatusChangeCallback callback, Object callbackContext) {
        setConnectionStatusChangeCallback(callback, callbackContext);
    }

    /**
     * Whether the client is connected right now (iotsec extension).
     *
     * @return true when the MQTT connection is up
     */
    public boolean isConnected() {
        try {
            return NativeBridge.clientIsConnected(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closed.get();
    }

    /**
     * The MQTT username this client presents: host, client id, api-version and the user agent
     * ({@code iotsec/VERSION (java VERSION; OS; ARCH)}); it contains no secret (iotsec extension).
     *
     * @return the username
     */
    public String getMqttUsername() {
        try {
            return NativeBridge.clientUsername(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** The JVM shutdown hook: flush, then close, every client still open. */
    private static void atExit() {
        long flush = Long.getLong("iotsec.shutdown.flushMillis", 10_000L);
        long deadline = System.nanoTime() + Math.max(0, flush) * 1_000_000L;
        List<InternalClient> open;
        synchronized (OPEN) {
            open = new ArrayList<>(OPEN);
        }
        for (InternalClient c : open) {
            if (!c.awaitIdle(deadline)) {
                SendCompletion.LOG.log(Level.WARNING, "iotsec: JVM exit: sends still unacknowledged after {0} ms are cancelled", flush);
            }
        }
        for (InternalClient c : open) {
            try {
                c.close();
            } catch (RuntimeException e) {
                SendCompletion.LOG.log(Level.WARNING, "iotsec: closing a client at JVM exit failed", e);
            }
        }
    }

    /** Frees the native client now, as the Cleaner would once this object is unreachable. */
    void cleanNowForTests() {
        closed.set(true);
        OPEN.remove(this);
        cleanable.clean();
    }
}
