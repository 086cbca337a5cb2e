package io.iotsec.device;

/**
 * The connection status an {@link IotHubConnectionStatusChangeCallback} receives, as in the
 * official SDK ({@code com.microsoft.azure.sdk.iot.device.transport.IotHubConnectionStatus}).
 */
public enum IotHubConnectionStatus {
    /** Connected: sends flow. */
    CONNECTED,
    /**
     * The connection is down (lost, or dropped on purpose to renew the SAS token) and iotsec is
     * reconnecting with exponential back-off; sends wait meanwhile and go out after the reconnect.
     */
    DISCONNECTED_RETRYING,
    /** Not connected and not trying: closed, or the first connection attempt failed. */
    DISCONNECTED
}
