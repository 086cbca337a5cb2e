package io.iotsec.device;

/**
 * An iotsec operation failed for a reason other than bad input: the connection failed, TLS
 * failed, the broker refused the credentials, the client was closed, ...
 *
 * <p>Unchecked, so code written for the official SDK compiles unchanged. Bad input is reported
 * as an {@link IotSecArgumentException} instead. Messages never contain a key or signature.
 */
public class IotSecException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    /**
     * An exception of kind {@code errorCode}.
     *
     * @param errorCode the kind
     * @param message what happened
     */
    public IotSecException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode == null ? ErrorCode.INTERNAL : errorCode;
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
