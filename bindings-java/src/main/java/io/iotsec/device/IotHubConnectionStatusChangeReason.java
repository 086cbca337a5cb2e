package io.iotsec.device;

/**
 * Why the connection status changed, as in the official SDK.
 */
public enum IotHubConnectionStatusChangeReason {
    /**
     * {@link IotHubConnectionStatus#DISCONNECTED_RETRYING}: a planned reconnect that presents a new
     * SAS token before the current one expires (iotsec renews tokens by itself).
     */
    EXPIRED_SAS_TOKEN,
    /** The broker refused the credentials (CONNACK 4 or 5), or they are unusable. */
    BAD_CREDENTIAL,
    /** Defined for compatibility with the official SDK; iotsec never gives up reconnecting. */
    RETRY_EXPIRED,
    /** The broker could not be reached, or the connection was lost. */
    NO_NETWORK,
    /** TLS failed, or a CONNACK or PUBACK did not come in time. */
    COMMUNICATION_ERROR,
    /** {@link IotHubConnectionStatus#CONNECTED}: the connection is up. */
    CONNECTION_OK,
    /** The client was closed. */
    CLIENT_CLOSE
}
