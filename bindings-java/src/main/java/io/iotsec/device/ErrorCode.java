package io.iotsec.device;

/**
 * Why an iotsec operation failed: the stable error kinds of the iotsec core, with the same
 * names and numeric codes in every language package.
 */
public enum ErrorCode {
    /** An argument is missing, empty or out of range. */
    INVALID_ARGUMENT(1),
    /** The connection string is malformed; the message names the key at fault (never its value). */
    INVALID_CONNECTION_STRING(2),
    /** A credential is unusable (a key that is not base64, an unreadable certificate file). */
    INVALID_CREDENTIAL(3),
    /** A security message body breaks the published schema; see {@link SchemaValidationException}. */
    SCHEMA_VALIDATION(4),
    /** The body is over 262,144 bytes or the topic over 65,535 bytes. */
    MESSAGE_TOO_LARGE(5),
    /** The broker could not be reached. */
    CONNECTION_FAILED(6),
    /** The TLS handshake failed (untrusted or mismatched server certificate). */
    TLS(7),
    /** The broker refused the credentials. */
    CREDENTIAL_REFUSED(8),
    /** An established connection was lost before the operation completed. */
    CONNECTION_LOST(9),
    /** The operation did not complete in time. */
    TIMEOUT(10),
    /** The client was closed. */
    CLOSED(11),
    /** The send queue is full and the client was told to fail rather than wait. */
    QUEUE_FULL(12),
    /** A local file or socket operation failed. */
    IO(13),
    /** A bug in iotsec; please report it. */
    INTERNAL(14);

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    /**
     * The stable numeric code (1 to 14), the same in every iotsec language package.
     *
     * @return the code
     */
    public int getCode() {
        return code;
    }

    /**
     * The kind with numeric code {@code code}.
     *
     * @param code a code from {@link #getCode()}
     * @return the kind, or {@link #INTERNAL} for an unknown code
     */
    public static ErrorCode fromCode(int code) {
        for (ErrorCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return INTERNAL;
    }

    /**
     * Whether this kind means the caller's input is at fault (reported as an
     * {@link IotSecArgumentException}, an {@link IllegalArgumentException}).
     *
     * @return true for the input errors
     */
    public boolean isArgumentError() {
        switch (this) {
            case INVALID_ARGUMENT:
            case INVALID_CONNECTION_STRING:
            case INVALID_CREDENTIAL:
            case SCHEMA_VALIDATION:
            case MESSAGE_TOO_LARGE:
                return true;
            default:
                return false;
        }
    }

    /**
     * The code carried by an iotsec exception.
     *
     * @param error any throwable
     * @return its code, or {@code null} when it is not an iotsec exception
     */
    public static ErrorCode of(Throwable error) {
        if (error instanceof IotSecException) {
            return ((IotSecException) error).getErrorCode();
        }
        if (error instanceof IotSecArgumentException) {
            return ((IotSecArgumentException) error).getErrorCode();
        }
        return null;
    }
}
