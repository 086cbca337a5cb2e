package io.iotsec.device;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Options for a {@link DeviceClient} or {@link ModuleClient}: build one with {@link #builder()}
 * (as in the official SDK) or create one and use the setters. The client copies the options
 * when it is created; changing them later has no effect on it.
 *
 * <p>Every option has a working default. When neither a CA nor a port is given, the
 * environment variables {@code IOTSEC_CA_FILE} and {@code IOTSEC_MQTT_PORT} are used (handy
 * for pointing unchanged code at a local broker), then the system roots and port 8883.
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

    static long millis(Duration d, String name) {
        if (d == null) {
            return -1;
        }
        if (d.isNegative()) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, name + " must not be negative");
        }
        return d.toMillis();
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
