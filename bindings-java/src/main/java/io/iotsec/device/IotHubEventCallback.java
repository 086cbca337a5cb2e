package io.iotsec.device;

/**
 * Receives the outcome of {@link InternalClient#sendEventAsync(Message, IotHubEventCallback, Object)}.
 *
 * <p>Guarantees: {@link #execute} runs exactly once per accepted send, on iotsec's callback
 * thread (one daemon thread, {@code iotsec-java-callbacks}, shared by all clients), in the
 * order the outcomes became known. An exception thrown by {@code execute} is caught and logged
 * (logger {@code io.iotsec}); it never reaches iotsec's MQTT threads. Keep the method short:
 * while it runs, other callbacks wait.
 */
@FunctionalInterface
public interface IotHubEventCallback {
    /**
     * Called once with the outcome of a send.
     *
     * @param responseStatus {@link IotHubStatusCode#OK} when the broker acknowledged the message
     * @param callbackContext the context object passed to {@code sendEventAsync}
     */
    void execute(IotHubStatusCode responseStatus, Object callbackContext);
}
