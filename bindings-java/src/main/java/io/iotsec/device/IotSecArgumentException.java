package io.iotsec.device;

/**
 * Bad input: a malformed connection string, an unusable key, an option out of range, a
 * message over the size limit, or a security message that breaks the schema
 * ({@link SchemaValidationException}).
 *
 * <p>An {@link IllegalArgumentException}, as the official SDK throws for bad input, with an
 * {@link ErrorCode}. Messages name the field at fault and never contain a key or signature.
 */
public class IotSecArgumentException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    /**
     * An exception of kind {@code errorCode}.
     *
     * @param errorCode the kind
     * @param message what is wrong
     */
    public IotSecArgumentException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode == null ? ErrorCode.INVALID_ARGUMENT : errorCode;
    }

    /**
     * The stable kind of this failure.
     *
     * @return the kind
     */
    public ErrorCode getErrorCode() {
        return errorCode;
    }
}
