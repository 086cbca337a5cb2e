package io.iotsec.device;

import java.lang.System.Logger.Level;

/**
 * Where the native layer delivers connection status changes of one client (on the callback
 * thread). It holds the user's callback, never the client, so a client nobody references can
 * still be collected (and its native half freed, which ends the deliveries).
 */
final class StatusSink {
    private volatile IotHubConnectionStatusChangeCallback callback;
    private volatile Object context;

    void set(IotHubConnectionStatusChangeCallback callback, Object context) {
        // The context first: a delivery that sees the new callback sees its context too.
        this.context = context;
        this.callback = callback;
    }

    /** Called by the native layer (bindings-java/src/dispatch.rs). */
    void onStatus(String status, String reason, int code, String message) {
        IotHubConnectionStatusChangeCallback cb = callback;
        if (cb == null) {
            return;
        }
        Throwable cause = code == 0 ? null : NativeBridge.exception(code, message, null);
        try {
            cb.execute(IotHubConnectionStatus.valueOf(status), IotHubConnectionStatusChangeReason.valueOf(reason), cause, context);
        } catch (Throwable t) {
            SendCompletion.LOG.log(Level.WARNING, "an IotHubConnectionStatusChangeCallback threw; iotsec caught it and carries on", t);
        }
    }
}
