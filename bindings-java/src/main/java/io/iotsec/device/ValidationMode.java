package io.iotsec.device;

/** What a client does with a security message before sending it. */
public enum ValidationMode {
    /** Refuse a body that breaks the schema with a {@link SchemaValidationException} (the default). */
    STRICT,
    /** Send it anyway and log the violations (Rust {@code tracing}, WARN). */
    WARN,
    /** Do not validate. */
    OFF
}
