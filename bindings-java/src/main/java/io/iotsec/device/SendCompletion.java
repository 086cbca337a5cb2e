package io.iotsec.device;

import java.lang.System.Logger.Level;
import java.util.concurrent.CompletableFuture;

/**
 * The Java end of one send: the native layer calls {@link #complete(int, String)} exactly once,
 * on the callback thread, then releases its global reference to this object.
 */
final class SendCompletion {
    static final System.Logger LOG = System.getLogger("io.iotsec");

    /** The native callback thread, known once it delivered its first outcome. */
    private static volatile Thread callbackThread;

    private final InternalClient client;
    private final IotHubEventCallback callback;
    private final Object context;
    private final CompletableFuture<Void> future;

    SendCompletion(InternalClient client, IotHubEventCallback callback, Object context, CompletableFuture<Void> future) {
        this.client = client;
        this.callback = callback;
        this.context = context;
        this.future = future;
    }

    static boolean onCallbackThread() {
        return Thread.currentThread() == callbackThread;
    }

    /** Called by the native callback thread: {@code code} 0 is success, else an {@link ErrorCode} code. */
    void complete(int code, String message) {
        if (callbackThread == null) {
            callbackThread = Thread.currentThread();
        }
        try {
            ErrorCode error = code == 0 ? null : ErrorCode.fromCode(code);
            if (future != null) {
                if (error == null) {
                    future.complete(null);
                } else {
                    future.completeExceptionally(NativeBridge.exception(code, message, null));
                }
            }
            if (callback != null) {
                if (error != null) {
                    LOG.log(Level.DEBUG, "send failed ({0}): {1}", error, message);
                }
                try {
                    callback.execute(IotHubStatusCode.fromErrorCode(error), context);
                } catch (Throwable t) {
                    LOG.log(Level.WARNING, "an IotHubEventCallback threw; iotsec caught it and carries on", t);
                }
            }
        } finally {
            client.sendFinished();
        }
    }
}
