package io.iotsec.device;

/**
 * The transport a client uses, as named by the official SDK.
 *
 * <p>iotsec speaks MQTT 3.1.1 over TLS only: every other value is accepted by the compiler (so
 * code written for the official SDK compiles) and refused by the client constructors with an
 * {@link IotSecArgumentException}.
 */
public enum IotHubClientProtocol {
    /** MQTT 3.1.1 over TLS, port 8883: the one transport iotsec supports. */
    MQTT,
    /** MQTT over WebSocket (not supported by iotsec). */
    MQTT_WS,
    /** AMQP over TLS (not supported by iotsec). */
    AMQPS,
    /** AMQP over WebSocket (not supported by iotsec). */
    AMQPS_WS,
    /** HTTPS (not supported by iotsec). */
    HTTPS
}
