package io.iotsec.device;

import java.util.Objects;

/**
 * One way a body breaks the security-message schema: where (a JSON pointer), which rule, why.
 */
public final class Violation {
    private final String pointer;
    private final String rule;
    private final String message;
    private final Position position;

    /**
     * A violation.
     *
     * @param pointer JSON pointer (RFC 6901) of the value at fault; {@code ""} is the whole body
     * @param rule the schema keyword that failed ({@code required}, {@code type}, {@code format},
     *     ...) or {@code utf8} / {@code json} when the bytes cannot be read
     * @param message a readable explanation
     * @param position where reading stopped, for {@code utf8} and {@code json}; else {@code null}
     */
    public Violation(String pointer, String rule, String message, Position position) {
        this.pointer = Objects.requireNonNull(pointer, "pointer");
        this.rule = Objects.requireNonNull(rule, "rule");
        this.message = Objects.requireNonNull(message, "message");
        this.position = position;
    }

    /**
     * The JSON pointer of the value at fault, e.g. {@code /Events/0/Payload/0/UserId}.
     *
     * @return the pointer; {@code ""} for the whole body
     */
    public String getPointer() {
        return pointer;
    }

    /**
     * The schema rule that failed.
     *
     * @return e.g. {@code required}
     */
    public String getRule() {
        return rule;
    }

    /**
     * A readable explanation.
     *
     * @return the explanation
     */
    public String getMessage() {
        return message;
    }

    /**
     * Where in the raw bytes reading stopped, for {@code utf8} and {@code json} violations.
     *
     * @return the position, or {@code null}
     */
    public Position getPosition() {
        return position;
    }

    @Override
    public String toString() {
        String where = pointer.isEmpty() ? "(root)" : pointer;
        String text = where + ": " + message + " [" + rule + "]";
        return position == null ? text : text + " at " + position;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Violation)) {
            return false;
        }
        Violation v = (Violation) o;
        return pointer.equals(v.pointer) && rule.equals(v.rule) && message.equals(v.message)
                && Objects.equals(position, v.position);
    }

    @Override
    public int hashCode() {
        return Objects.hash(pointer, rule, message, position);
    }

    /** A place in the raw bytes of a body. */
    public static final class Position {
        private final int offset;
        private final int line;
        private final int column;

        /**
         * A position.
         *
         * @param offset byte offset from the start (0-based)
         * @param line line (1-based)
         * @param column column in bytes (1-based)
         */
        public Position(int offset, int line, int column) {
            this.offset = offset;
            this.line = line;
            this.column = column;
        }

        /**
         * Byte offset from the start of the body.
         *
         * @return the offset (0-based)
         */
        public int getOffset() {
            return offset;
        }

        /**
         * Line number.
         *
         * @return the line (1-based)
         */
        public int getLine() {
            return line;
        }

        /**
         * Column, counted in bytes.
         *
         * @return the column (1-based)
         */
        public int getColumn() {
            return column;
        }

        @Override
        public String toString() {
            return "line " + line + ", column " + column + " (byte " + offset + ")";
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Position)) {
                return false;
            }
            Position p = (Position) o;
            return offset == p.offset && line == p.line && column == p.column;
        }

        @Override
        public int hashCode() {
            return Objects.hash(offset, line, column);
        }
    }
}
