package io.iotsec.device;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The published Defender for IoT security-message schema (v1.0, 14 event types), checked by
 * the iotsec core: the same check a client runs before it sends a security message.
 */
public final class SecuritySchema {
    private SecuritySchema() {
    }

    /**
     * Every way {@code body} breaks the schema.
     *
     * @param body the message body (UTF-8 JSON)
     * @return the violations in document order; empty when the body is valid
     * @throws IotSecArgumentException if {@code body} is null
     */
    public static List<Violation> validate(byte[] body) {
        if (body == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "body must not be null");
        }
        return NativeBridge.violations(NativeBridge.validate(body));
    }

    /**
     * Every way {@code body} breaks the schema.
     *
     * @param body the message body
     * @return the violations; empty when the body is valid
     * @throws IotSecArgumentException if {@code body} is null
     */
    public static List<Violation> validate(String body) {
        if (body == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "body must not be null");
        }
        return validate(body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Whether {@code body} is a valid security message (the fast check; no explanations).
     *
     * @param body the message body
     * @return true when valid
     * @throws IotSecArgumentException if {@code body} is null
     */
    public static boolean isValid(byte[] body) {
        if (body == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "body must not be null");
        }
        return NativeBridge.isValid(body);
    }

    /**
     * Throws if {@code body} breaks the schema.
     *
     * @param body the message body
     * @throws SchemaValidationException listing every violation, if the body is invalid
     */
    public static void check(byte[] body) {
        if (body == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "body must not be null");
        }
        NativeBridge.check(body);
    }
}
