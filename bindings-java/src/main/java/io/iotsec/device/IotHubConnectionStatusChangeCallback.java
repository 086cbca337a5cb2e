package io.iotsec.device;

/**
 * Receives connection status changes of a client, as in the official SDK (1.x); set it with
 * {@link InternalClient#setConnectionStatusChangeCallback(IotHubConnectionStatusChangeCallback, Object)}.
 *
 * <p>Called on iotsec's callback thread ({@code iotsec-java-callbacks}, shared with the send
 * callbacks), in order, once per status change: {@link IotHubConnectionStatus#CONNECTED} when
 * the connection is up, {@link IotHubConnectionStatus#DISCONNECTED_RETRYING} when it is lost (or
 * dropped to renew the SAS token) and iotsec reconnects by itself,
 * {@link IotHubConnectionStatus#DISCONNECTED} when the client is closed or its first connection
 * attempt failed. An exception it throws is caught and logged (logger {@code io.iotsec}).
 */
@FunctionalInterface
public interface IotHubConnectionStatusChangeCallback {
    /**
     * Called once per status change.
     *
     * @param status the new status
     * @param statusChangeReason why it changed
     * @param throwable the {@link IotSecException} that caused the change (its
     *     {@link IotSecException#getErrorCode()} says which kind), or {@code null}
     * @param callbackContext the context object given with the callback
     */
    void execute(IotHubConnectionStatus status, IotHubConnectionStatusChangeReason statusChangeReason, Throwable throwable,
            Object callbackContext);
}
