package io.iotsec.device;

import java.util.List;

/**
 * A security message whose body breaks the published Defender for IoT schema. The service
 * drops such messages without a word, so iotsec refuses to send them (with the default
 * {@link ValidationMode#STRICT}).
 *
 * <p>{@link #getViolations()} lists every problem with the JSON pointer of the field at fault,
 * e.g. {@code /Events/0/Payload/0/UserId}; the message summarises the first.
 */
public class SchemaValidationException extends IotSecArgumentException {
    private static final long serialVersionUID = 1L;

    private final List<Violation> violations;

    /**
     * A schema failure.
     *
     * @param message summary (names the first violation)
     * @param violations every violation found
     */
    public SchemaValidationException(String message, List<Violation> violations) {
        super(ErrorCode.SCHEMA_VALIDATION, message);
        this.violations = violations == null ? List.of() : List.copyOf(violations);
    }

    /**
     * Every way the body breaks the schema.
     *
     * @return an unmodifiable, non-empty list in document order
     */
    public List<Violation> getViolations() {
        return violations;
    }
}
