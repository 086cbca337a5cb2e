package io.iotsec.device;

import java.util.Locale;

/**
 * Whether the client gives a message sent without a message id one of its own (the C# SDK's
 * {@code SdkAssignsMessageId}); see {@link ClientOptions#setMessageIds(MessageIdPolicy)}.
 *
 * <p>Delivery is at-least-once: a message whose acknowledgement was lost in a reconnect is sent
 * again. Receivers drop such duplicates by message id, which only works when every message has
 * one.
 */
public enum MessageIdPolicy {
    /** Send each message as it is (the official SDKs' behaviour, the default). */
    NEVER,
    /**
     * A message without a message id is sent with a new random UUID as its id, chosen once when
     * the message is accepted, so a re-send carries the same id. The caller's message is not
     * changed.
     */
    WHEN_UNSET;

    /** The name core reads ({@code never}, {@code when_unset}). */
    String coreName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
