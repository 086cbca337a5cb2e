package io.iotsec.device;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The native methods (bindings-java/src/lib.rs) and the conversions they rely on. */
final class NativeBridge {
    static {
        NativeLoader.load();
    }

    static final int KIND_ANY = 0;
    static final int KIND_DEVICE = 1;
    static final int KIND_MODULE = 2;

    private NativeBridge() {
    }

    /**
     * A new native client. {@code options} holds triples (the Java name of an option, core's
     * name, the value as text), flattened; core reads the values.
     */
    static native long clientNew(String connectionString, int kind, String[] options);

    static native void clientFree(long handle);

    static native void clientOpen(long handle);

    static native void clientClose(long handle, boolean now);

    static native boolean clientIsConnected(long handle);

    static native String clientUsername(long handle);

    static native void clientWatchStatus(long handle, Object sink);

    static native void clientSend(long handle, byte[] body, String[] system, String[] properties, Object completion);

    static native void clientSendBlocking(long handle, byte[] body, String[] system, String[] properties);

    static native String[] validate(byte[] body);

    static native boolean isValid(byte[] body);

    static native void check(byte[] body);

    static native String version();

    /** Builds the exception for a core error (called by the native layer, which throws it). */
    static RuntimeException exception(int code, String message, String[] flatViolations) {
        ErrorCode kind = ErrorCode.fromCode(code);
        String text = message == null ? kind.name() : message;
        if (kind == ErrorCode.SCHEMA_VALIDATION) {
            return new SchemaValidationException(text, violations(flatViolations));
        }
        if (kind.isArgumentError()) {
            return new IotSecArgumentException(kind, text);
        }
        return new IotSecException(kind, text);
    }

    /** Violations from the flat form: pointer, rule, message, "offset,line,column" or null. */
    static List<Violation> violations(String[] flat) {
        if (flat == null || flat.length == 0) {
            return List.of();
        }
        List<Violation> out = new ArrayList<>(flat.length / 4);
        for (int i = 0; i + 3 < flat.length; i += 4) {
            Violation.Position position = null;
            if (flat[i + 3] != null) {
                String[] p = flat[i + 3].split(",");
                position = new Violation.Position(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
            }
            out.add(new Violation(flat[i], flat[i + 1], flat[i + 2], position));
        }
        return Collections.unmodifiableList(out);
    }
}
