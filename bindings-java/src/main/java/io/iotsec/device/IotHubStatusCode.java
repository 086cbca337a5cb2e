package io.iotsec.device;

/**
 * The outcome of a send, as the official SDK reports it to an {@link IotHubEventCallback}.
 *
 * <p>iotsec reports {@link #OK} when the broker acknowledged the message (MQTT PUBACK) and
 * otherwise maps its {@link ErrorCode} to the nearest official value; see
 * {@link #fromErrorCode(ErrorCode)}.
 */
public enum IotHubStatusCode {
    /** The broker acknowledged the message. */
    OK,
    /** Success with an empty response (official SDK value; iotsec does not report it). */
    OK_EMPTY,
    /** The message was malformed ({@link ErrorCode#INVALID_ARGUMENT}, {@link ErrorCode#SCHEMA_VALIDATION}). */
    BAD_FORMAT,
    /** The hub refused the credentials ({@link ErrorCode#CREDENTIAL_REFUSED}, {@link ErrorCode#INVALID_CREDENTIAL}). */
    UNAUTHORIZED,
    /** Official SDK value; iotsec does not report it. */
    TOO_MANY_DEVICES,
    /** Official SDK value; iotsec does not report it. */
    HUB_OR_DEVICE_ID_NOT_FOUND,
    /** Official SDK value; iotsec does not report it. */
    PRECONDITION_FAILED,
    /** The message is over IoT Hub's 256 KiB limit ({@link ErrorCode#MESSAGE_TOO_LARGE}). */
    REQUEST_ENTITY_TOO_LARGE,
    /** The send queue was full ({@link ErrorCode#QUEUE_FULL}). */
    THROTTLED,
    /** Official SDK value; iotsec does not report it. */
    INTERNAL_SERVER_ERROR,
    /** Official SDK value; iotsec does not report it. */
    SERVER_BUSY,
    /** Any other failure ({@link ErrorCode#INTERNAL}, ...). */
    ERROR,
    /** Official SDK value for a message whose expiry time passed; iotsec does not report it. */
    MESSAGE_EXPIRED,
    /** The client was closed before the broker acknowledged the message ({@link ErrorCode#CLOSED}). */
    MESSAGE_CANCELLED_ONCLOSE,
    /** The connection failed or was lost ({@link ErrorCode#CONNECTION_FAILED},
     * {@link ErrorCode#CONNECTION_LOST}, {@link ErrorCode#TLS}, {@link ErrorCode#IO}). */
    IO_ERROR,
    /** No acknowledgement arrived in time ({@link ErrorCode#TIMEOUT}). */
    DEVICE_OPERATION_TIMED_OUT;

    /**
     * The status reported for a send that failed with {@code code}.
     *
     * @param code the iotsec error, or {@code null} for success
     * @return the official status code
     */
    public static IotHubStatusCode fromErrorCode(ErrorCode code) {
        if (code == null) {
            return OK;
        }
        switch (code) {
            case CLOSED:
                return MESSAGE_CANCELLED_ONCLOSE;
            case TIMEOUT:
                return DEVICE_OPERATION_TIMED_OUT;
            case CREDENTIAL_REFUSED:
            case INVALID_CREDENTIAL:
                return UNAUTHORIZED;
            case MESSAGE_TOO_LARGE:
                return REQUEST_ENTITY_TOO_LARGE;
            case INVALID_ARGUMENT:
            case SCHEMA_VALIDATION:
                return BAD_FORMAT;
            case QUEUE_FULL:
                return THROTTLED;
            case CONNECTION_FAILED:
            case CONNECTION_LOST:
            case TLS:
            case IO:
                return IO_ERROR;
            default:
                return ERROR;
        }
    }
}
