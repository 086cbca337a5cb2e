package io.iotsec.device;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Options for a {@link DeviceClient} or {@link ModuleClient}: build one with {@link #builder()}
 * (as in the official SDK) or create one and use the setters. The client copies the options
 * when it is created; changing them later has no effect on it.
 *
 * <p>Every option has a working default. When neither a CA nor a port is given, the
 * environment variables {@code IOTSEC_CA_FILE} and {@code IOTSEC_MQTT_PORT} are used (handy
 * for pointing unchanged code at a local broker), then the system roots and port 8883.
 *
 * <p>The values are checked by iotsec's core when the client is created, with the same rules
 * in every iotsec language package: a bad value makes the {@link DeviceClient} or
 * {@link ModuleClient} constructor throw an {@link IotSecArgumentException}
 * ({@link ErrorCode#INVALID_ARGUMENT}) naming the option and what it accepts.
 */
public final class ClientOptions {
    private String caPem;
    private String caFile;
    private int port = -1;
    private boolean plainTcpLoopbackOnly;
    private ValidationMode validation = ValidationMode.STRICT;
    private Duration keepAlive;
    private Duration pubackTimeout;
    private Duration connectTimeout;
    private Duration sasTokenLifetime;
    private int maxInFlight = -1;
    private int queueCapacity = -1;
    private boolean failWhenQueueFull;
    private String durableQueue;
    private Duration reconnectInitial;
    private Duration reconnectMax;
    private Double reconnectJitter;
    private MessageIdPolicy messageIds = MessageIdPolicy.NEVER;

    /** Options with every default. */
    public ClientOptions() {
    }

    /**
     * A builder, as in the official SDK: {@code ClientOptions.builder().caFile(path).port(8883).build()}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    private ClientOptions copy() {
        ClientOptions c = new ClientOptions();
        c.caPem = caPem;
        c.caFile = caFile;
        c.port = port;
        c.plainTcpLoopbackOnly = plainTcpLoopbackOnly;
        c.validation = validation;
        c.keepAlive = keepAlive;
        c.pubackTimeout = pubackTimeout;
        c.connectTimeout = connectTimeout;
        c.sasTokenLifetime = sasTokenLifetime;
        c.maxInFlight = maxInFlight;
        c.queueCapacity = queueCapacity;
        c.failWhenQueueFull = failWhenQueueFull;
        c.durableQueue = durableQueue;
        c.reconnectInitial = reconnectInitial;
        c.reconnectMax = reconnectMax;
        c.reconnectJitter = reconnectJitter;
        c.messageIds = messageIds;
        return c;
    }

    /**
     * Trust the CA certificate(s) in this PEM text instead of the system roots (takes
     * precedence over {@link #setCaFile(String)}).
     *
     * @param caPem PEM text, or {@code null} for none
     */
    public void setCaPem(String caPem) {
        this.caPem = caPem;
    }

    /**
     * The PEM text of the CA to trust.
     *
     * @return PEM text, or {@code null}
     */
    public String getCaPem() {
        return caPem;
    }

    /**
     * Trust the CA certificate(s) in this PEM file instead of the system roots.
     *
     * @param caFile path of a PEM file, or {@code null} for none
     */
    public void setCaFile(String caFile) {
        this.caFile = caFile;
    }

    /**
     * The PEM file of the CA to trust.
     *
     * @return the path, or {@code null}
     */
    public String getCaFile() {
        return caFile;
    }

    /**
     * The MQTT port (default: {@code IOTSEC_MQTT_PORT}, else 8883).
     *
     * @param port 0 to 65535, or -1 for the default
     * @throws IotSecArgumentException if out of range
     */
    public void setPort(int port) {
        if (port < -1 || port > 65535) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "port " + port + " is not between 0 and 65535");
        }
        this.port = port;
    }

    /**
     * The MQTT port.
     *
     * @return the port, or -1 for the default
     */
    public int getPort() {
        return port;
    }

    /**
     * Use MQTT over plain TCP instead of TLS. Allowed only when the host is a loopback address
     * (a local test broker); credentials are never sent unencrypted to another machine.
     *
     * @param plainTcpLoopbackOnly true for plain TCP
     */
    public void setPlainTcpLoopbackOnly(boolean plainTcpLoopbackOnly) {
        this.plainTcpLoopbackOnly = plainTcpLoopbackOnly;
    }

    /**
     * Whether plain TCP (loopback only) is used.
     *
     * @return true for plain TCP
     */
    public boolean isPlainTcpLoopbackOnly() {
        return plainTcpLoopbackOnly;
    }

    /**
     * What to do with security messages that break the schema (default {@link ValidationMode#STRICT}).
     *
     * @param validation the mode
     * @throws IotSecArgumentException if null
     */
    public void setValidation(ValidationMode validation) {
        if (validation == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "validation must not be null");
        }
        this.validation = validation;
    }

    /**
     * The validation mode.
     *
     * @return the mode
     */
    public ValidationMode getValidation() {
        return validation;
    }

    /**
     * MQTT keep-alive (default 60 s; IoT Hub allows at most 1,767 s).
     *
     * @param keepAlive the interval, or {@code null} for the default
     */
    public void setKeepAlive(Duration keepAlive) {
        this.keepAlive = keepAlive;
    }

    /**
     * MQTT keep-alive.
     *
     * @return the interval, or {@code null} for the default
     */
    public Duration getKeepAlive() {
        return keepAlive;
    }

    /**
     * How long a send waits for the broker's acknowledgement (default 60 s); then its callback
     * gets {@link IotHubStatusCode#DEVICE_OPERATION_TIMED_OUT}.
     *
     * @param pubackTimeout the timeout, or {@code null} for the default
     */
    public void setPubackTimeout(Duration pubackTimeout) {
        this.pubackTimeout = pubackTimeout;
    }

    /**
     * The acknowledgement timeout.
     *
     * @return the timeout, or {@code null} for the default
     */
    public Duration getPubackTimeout() {
        return pubackTimeout;
    }

    /**
     * How long connecting may take, TCP + TLS + CONNACK (default 30 s).
     *
     * @param connectTimeout the timeout, or {@code null} for the default
     */
    public void setConnectTimeout(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    /**
     * The connect timeout.
     *
     * @return the timeout, or {@code null} for the default
     */
    public Duration getConnectTimeout() {
        return connectTimeout;
    }

    /**
     * Lifetime of each SAS token the client signs (default 3,600 s); tokens are renewed before
     * they expire.
     *
     * @param sasTokenLifetime the lifetime, or {@code null} for the default
     */
    public void setSasTokenLifetime(Duration sasTokenLifetime) {
        this.sasTokenLifetime = sasTokenLifetime;
    }

    /**
     * The SAS token lifetime.
     *
     * @return the lifetime, or {@code null} for the default
     */
    public Duration getSasTokenLifetime() {
        return sasTokenLifetime;
    }

    /**
     * Messages on the wire at once, awaiting acknowledgement (default 100).
     *
     * @param maxInFlight 1 to 65535, or -1 for the default
     */
    public void setMaxInFlight(int maxInFlight) {
        this.maxInFlight = maxInFlight;
    }

    /**
     * The in-flight window.
     *
     * @return the window, or -1 for the default
     */
    public int getMaxInFlight() {
        return maxInFlight;
    }

    /**
     * Messages accepted but not yet acknowledged, in flight included (default 10,000). When the
     * queue is full a send waits for room, or fails with {@link ErrorCode#QUEUE_FULL} if
     * {@link #setFailWhenQueueFull(boolean)} is set.
     *
     * @param queueCapacity at least 1, or -1 for the default
     */
    public void setQueueCapacity(int queueCapacity) {
        this.queueCapacity = queueCapacity;
    }

    /**
     * The queue capacity.
     *
     * @return the capacity, or -1 for the default
     */
    public int getQueueCapacity() {
        return queueCapacity;
    }

    /**
     * Fail a send at once when the queue is full, instead of waiting for room.
     *
     * @param failWhenQueueFull true to fail fast
     */
    public void setFailWhenQueueFull(boolean failWhenQueueFull) {
        this.failWhenQueueFull = failWhenQueueFull;
    }

    /**
     * Whether a send fails at once when the queue is full.
     *
     * @return true to fail fast
     */
    public boolean isFailWhenQueueFull() {
        return failWhenQueueFull;
    }

    /**
     * Keep every accepted message in this file (created when missing) until the broker
     * acknowledges it: messages survive a crash of the process and are re-sent by the next
     * client that opens the same file. Costs a disk sync per batch of accepted messages.
     *
     * @param durableQueue path of the queue file, or {@code null} for none (the default: memory only)
     */
    public void setDurableQueue(String durableQueue) {
        this.durableQueue = durableQueue;
    }

    /**
     * The durable queue file.
     *
     * @return the path, or {@code null} for none
     */
    public String getDurableQueue() {
        return durableQueue;
    }

    /**
     * The delay before the first reconnect attempt after a lost connection (default 1 s); it
     * doubles with each attempt up to {@link #setReconnectMax(Duration)}.
     *
     * @param reconnectInitial the delay (more than 0), or {@code null} for the default
     */
    public void setReconnectInitial(Duration reconnectInitial) {
        this.reconnectInitial = reconnectInitial;
    }

    /**
     * The first reconnect delay.
     *
     * @return the delay, or {@code null} for the default
     */
    public Duration getReconnectInitial() {
        return reconnectInitial;
    }

    /**
     * The largest reconnect delay (default 30 s).
     *
     * @param reconnectMax the delay, or {@code null} for the default
     */
    public void setReconnectMax(Duration reconnectMax) {
        this.reconnectMax = reconnectMax;
    }

    /**
     * The largest reconnect delay.
     *
     * @return the delay, or {@code null} for the default
     */
    public Duration getReconnectMax() {
        return reconnectMax;
    }

    /**
     * The fraction by which each reconnect delay is moved at random, so a fleet does not
     * reconnect in lock step (default 0.1, i.e. ±10 %).
     *
     * @param reconnectJitter 0 to 1, or {@code null} for the default
     */
    public void setReconnectJitter(Double reconnectJitter) {
        this.reconnectJitter = reconnectJitter;
    }

    /**
     * The reconnect jitter.
     *
     * @return the fraction, or {@code null} for the default
     */
    public Double getReconnectJitter() {
        return reconnectJitter;
    }

    /**
     * Whether a message sent without a message id gets one from the client (default
     * {@link MessageIdPolicy#NEVER}, as in the official SDK).
     *
     * @param messageIds the policy
     * @throws IotSecArgumentException if null
     */
    public void setMessageIds(MessageIdPolicy messageIds) {
        if (messageIds == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "messageIds must not be null");
        }
        this.messageIds = messageIds;
    }

    /**
     * The message id policy.
     *
     * @return the policy
     */
    public MessageIdPolicy getMessageIds() {
        return messageIds;
    }

    /** A duration as core reads it: seconds with up to nine decimals ({@code -1.5} when negative). */
    private static String seconds(Duration d) {
        if (d.isNegative()) {
            return "-" + seconds(d.negated());
        }
        return d.getSeconds() + "." + String.format(Locale.ROOT, "%09d", d.getNano());
    }

    /**
     * The options that are set, as core reads them: triples of (this class's name for the
     * option, core's name, the value as text), flattened. Core checks the values.
     */
    String[] nativeOptions(String productInfo) {
        List<String> out = new ArrayList<>();
        Object[][] options = {
            {"caPem", "ca_pem", caPem},
            {"caFile", "ca_file", caFile},
            {"port", "port", port < 0 ? null : Integer.toString(port)},
            {"plainTcpLoopbackOnly", "transport", plainTcpLoopbackOnly ? "plain_tcp_loopback" : null},
            {"validation", "validation", validation.name().toLowerCase(Locale.ROOT)},
            {"keepAlive", "keep_alive", keepAlive == null ? null : seconds(keepAlive)},
            {"pubackTimeout", "puback_timeout", pubackTimeout == null ? null : seconds(pubackTimeout)},
            {"connectTimeout", "connect_timeout", connectTimeout == null ? null : seconds(connectTimeout)},
            {"sasTokenLifetime", "token_lifetime", sasTokenLifetime == null ? null : seconds(sasTokenLifetime)},
            {"maxInFlight", "max_in_flight", maxInFlight < 0 ? null : Integer.toString(maxInFlight)},
            {"queueCapacity", "queue_capacity", queueCapacity < 0 ? null : Integer.toString(queueCapacity)},
            {"failWhenQueueFull", "queue_policy", failWhenQueueFull ? "fail_fast" : null},
            {"durableQueue", "durable_queue", durableQueue},
            {"reconnectInitial", "reconnect_initial", reconnectInitial == null ? null : seconds(reconnectInitial)},
            {"reconnectMax", "reconnect_max", reconnectMax == null ? null : seconds(reconnectMax)},
            {"reconnectJitter", "reconnect_jitter", reconnectJitter == null ? null : reconnectJitter.toString()},
            {"messageIds", "message_ids", messageIds.coreName()},
            {"productInfo", "product_info", productInfo},
        };
        for (Object[] o : options) {
            if (o[2] != null) {
                out.add((String) o[0]);
                out.add((String) o[1]);
                out.add((String) o[2]);
            }
        }
        return out.toArray(new String[0]);
    }

    /** Builds {@link ClientOptions}; every method returns the builder. */
    public static final class Builder {
        private final ClientOptions options = new ClientOptions();

        private Builder() {
        }

        /**
         * See {@link ClientOptions#setCaPem(String)}.
         *
         * @param caPem PEM text
         * @return this builder
         */
        public Builder caPem(String caPem) {
            options.setCaPem(caPem);
            return this;
        }

        /**
         * See {@link ClientOptions#setCaFile(String)}.
         *
         * @param caFile path of a PEM file
         * @return this builder
         */
        public Builder caFile(String caFile) {
            options.setCaFile(caFile);
            return this;
        }

        /**
         * See {@link ClientOptions#setCaFile(String)}.
         *
         * @param caFile path of a PEM file
         * @return this builder
         */
        public Builder caFile(Path caFile) {
            options.setCaFile(caFile == null ? null : caFile.toString());
            return this;
        }

        /**
         * See {@link ClientOptions#setPort(int)}.
         *
         * @param port the port
         * @return this builder
         */
        public Builder port(int port) {
            options.setPort(port);
            return this;
        }

        /**
         * See {@link ClientOptions#setPlainTcpLoopbackOnly(boolean)}.
         *
         * @param plain true for plain TCP to a loopback broker
         * @return this builder
         */
        public Builder plainTcpLoopbackOnly(boolean plain) {
            options.setPlainTcpLoopbackOnly(plain);
            return this;
        }

        /**
         * See {@link ClientOptions#setValidation(ValidationMode)}.
         *
         * @param validation the mode
         * @return this builder
         */
        public Builder validation(ValidationMode validation) {
            options.setValidation(validation);
            return this;
        }

        /**
         * The official SDK's name for the keep-alive, in seconds.
         *
         * @param seconds the interval
         * @return this builder
         */
        public Builder keepAliveInterval(int seconds) {
            options.setKeepAlive(Duration.ofSeconds(seconds));
            return this;
        }

        /**
         * See {@link ClientOptions#setPubackTimeout(Duration)}.
         *
         * @param timeout the timeout
         * @return this builder
         */
        public Builder pubackTimeout(Duration timeout) {
            options.setPubackTimeout(timeout);
            return this;
        }

        /**
         * See {@link ClientOptions#setConnectTimeout(Duration)}.
         *
         * @param timeout the timeout
         * @return this builder
         */
        public Builder connectTimeout(Duration timeout) {
            options.setConnectTimeout(timeout);
            return this;
        }

        /**
         * The official SDK's name for the SAS token lifetime, in seconds.
         *
         * @param seconds the lifetime
         * @return this builder
         */
        public Builder sasTokenExpiryTime(int seconds) {
            options.setSasTokenLifetime(Duration.ofSeconds(seconds));
            return this;
        }

        /**
         * See {@link ClientOptions#setMaxInFlight(int)}.
         *
         * @param maxInFlight the window
         * @return this builder
         */
        public Builder maxInFlight(int maxInFlight) {
            options.setMaxInFlight(maxInFlight);
            return this;
        }

        /**
         * See {@link ClientOptions#setQueueCapacity(int)}.
         *
         * @param queueCapacity the capacity
         * @return this builder
         */
        public Builder queueCapacity(int queueCapacity) {
            options.setQueueCapacity(queueCapacity);
            return this;
        }

        /**
         * See {@link ClientOptions#setFailWhenQueueFull(boolean)}.
         *
         * @param failFast true to fail fast
         * @return this builder
         */
        public Builder failWhenQueueFull(boolean failFast) {
            options.setFailWhenQueueFull(failFast);
            return this;
        }

        /**
         * See {@link ClientOptions#setDurableQueue(String)}.
         *
         * @param durableQueue path of the queue file
         * @return this builder
         */
        public Builder durableQueue(String durableQueue) {
            options.setDurableQueue(durableQueue);
            return this;
        }

        /**
         * See {@link ClientOptions#setDurableQueue(String)}.
         *
         * @param durableQueue path of the queue file
         * @return this builder
         */
        public Builder durableQueue(Path durableQueue) {
            options.setDurableQueue(durableQueue == null ? null : durableQueue.toString());
            return this;
        }

        /**
         * See {@link ClientOptions#setReconnectInitial(Duration)}.
         *
         * @param delay the first reconnect delay
         * @return this builder
         */
        public Builder reconnectInitial(Duration delay) {
            options.setReconnectInitial(delay);
            return this;
        }

        /**
         * See {@link ClientOptions#setReconnectMax(Duration)}.
         *
         * @param delay the largest reconnect delay
         * @return this builder
         */
        public Builder reconnectMax(Duration delay) {
            options.setReconnectMax(delay);
            return this;
        }

        /**
         * See {@link ClientOptions#setReconnectJitter(Double)}.
         *
         * @param jitter 0 to 1
         * @return this builder
         */
        public Builder reconnectJitter(double jitter) {
            options.setReconnectJitter(jitter);
            return this;
        }

        /**
         * See {@link ClientOptions#setMessageIds(MessageIdPolicy)}.
         *
         * @param messageIds the policy
         * @return this builder
         */
        public Builder messageIds(MessageIdPolicy messageIds) {
            options.setMessageIds(messageIds);
            return this;
        }

        /**
         * The options (a copy: the builder can go on being used).
         *
         * @return the options
         */
        public ClientOptions build() {
            return options.copy();
        }
    }

    ClientOptions snapshot() {
        return copy();
    }
}
