package io.iotsec.device;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A device-to-cloud message: body bytes, system properties, application properties, and the
 * security flag. Names follow the official SDK's {@code Message}.
 *
 * <p>Differences from the official SDK: no message id is generated (set one with
 * {@link #setMessageId(String)} if you need it), and {@link #setAsSecurityMessage()} changes
 * only the interface id, never the content encoding (as the C#, Python and Node SDKs do).
 *
 * <p>Not thread-safe; a message may be sent several times.
 */
public final class Message {
    /** The interface id that marks a security message ({@code $.ifid}). */
    public static final String SECURITY_INTERFACE_ID = "urn:azureiot:Security:SecurityAgent:1";

    private final byte[] body;
    private String messageId;
    private String correlationId;
    private String userId;
    private String to;
    private String contentType;
    private String contentEncoding;
    private String outputName;
    private String expiryTimeUtc;
    private String interfaceId;
    private String componentName;
    private final LinkedHashMap<String, String> properties = new LinkedHashMap<>();

    /**
     * A message whose body is {@code body} encoded as UTF-8.
     *
     * @param body the body text
     * @throws IotSecArgumentException if {@code body} is null
     */
    public Message(String body) {
        if (body == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "the message body must not be null");
        }
        this.body = body.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A message whose body is {@code body} (the array is used as it is, not copied).
     *
     * @param body the body bytes
     * @throws IotSecArgumentException if {@code body} is null
     */
    public Message(byte[] body) {
        if (body == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "the message body must not be null");
        }
        this.body = body;
    }

    /**
     * The body bytes (the array itself, not a copy).
     *
     * @return the body
     */
    public byte[] getBytes() {
        return body;
    }

    /**
     * The body decoded as UTF-8.
     *
     * @return the body text
     */
    public String getBodyAsString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /**
     * Marks this message as a security message: sets the interface id to
     * {@link #SECURITY_INTERFACE_ID}. Its body is then checked against the security-message
     * schema before it is sent.
     */
    public void setAsSecurityMessage() {
        this.interfaceId = SECURITY_INTERFACE_ID;
    }

    /**
     * Whether this is a security message.
     *
     * @return true when the interface id is {@link #SECURITY_INTERFACE_ID}
     */
    public boolean isSecurityMessage() {
        return SECURITY_INTERFACE_ID.equals(interfaceId);
    }

    /**
     * Sets the message id ({@code $.mid}); {@code null} removes it.
     *
     * @param messageId the id
     */
    public void setMessageId(String messageId) {
        this.messageId = messageId;
    }

    /**
     * The message id.
     *
     * @return the id, or {@code null}
     */
    public String getMessageId() {
        return messageId;
    }

    /**
     * Sets the correlation id ({@code $.cid}); {@code null} removes it.
     *
     * @param correlationId the id
     */
    public void setCorrelationId(String correlationId) {
        this.correlationId = correlationId;
    }

    /**
     * The correlation id.
     *
     * @return the id, or {@code null}
     */
    public String getCorrelationId() {
        return correlationId;
    }

    /**
     * Sets the user id ({@code $.uid}); {@code null} removes it.
     *
     * @param userId the id
     */
    public void setUserId(String userId) {
        this.userId = userId;
    }

    /**
     * The user id.
     *
     * @return the id, or {@code null}
     */
    public String getUserId() {
        return userId;
    }

    /**
     * Sets the destination ({@code $.to}); {@code null} removes it.
     *
     * @param to the destination
     */
    public void setTo(String to) {
        this.to = to;
    }

    /**
     * The destination.
     *
     * @return the destination, or {@code null}
     */
    public String getTo() {
        return to;
    }

    /**
     * Sets the content type ({@code $.ct}), e.g. {@code application/json}; {@code null} removes it.
     *
     * @param contentType the content type
     */
    public void setContentType(String contentType) {
        this.contentType = contentType;
    }

    /**
     * The official SDK 1.x name of {@link #setContentType(String)}.
     *
     * @param contentType the content type
     */
    public void setContentTypeFinal(String contentType) {
        setContentType(contentType);
    }

    /**
     * The content type.
     *
     * @return the content type, or {@code null}
     */
    public String getContentType() {
        return contentType;
    }

    /**
     * Sets the content encoding ({@code $.ce}), e.g. {@code utf-8}; {@code null} removes it.
     *
     * @param contentEncoding the encoding
     */
    public void setContentEncoding(String contentEncoding) {
        this.contentEncoding = contentEncoding;
    }

    /**
     * The content encoding.
     *
     * @return the encoding, or {@code null}
     */
    public String getContentEncoding() {
        return contentEncoding;
    }

    /**
     * Sets the output name ({@code $.on}) a module routes this message to; {@code null} removes it.
     *
     * @param outputName the output name
     */
    public void setOutputName(String outputName) {
        this.outputName = outputName;
    }

    /**
     * The output name.
     *
     * @return the output name, or {@code null}
     */
    public String getOutputName() {
        return outputName;
    }

    /**
     * Sets the absolute expiry time ({@code $.exp}), an ISO 8601 text sent as it is
     * (iotsec extension); {@code null} removes it.
     *
     * @param expiryTimeUtc e.g. {@code 2030-01-01T00:00:00Z}
     */
    public void setExpiryTimeUtc(String expiryTimeUtc) {
        this.expiryTimeUtc = expiryTimeUtc;
    }

    /**
     * The absolute expiry time.
     *
     * @return the time text, or {@code null}
     */
    public String getExpiryTimeUtc() {
        return expiryTimeUtc;
    }

    /**
     * Sets the interface id ({@code $.ifid}) (iotsec extension; {@link #setAsSecurityMessage()}
     * sets the security one); {@code null} removes it.
     *
     * @param interfaceId the interface id
     */
    public void setInterfaceId(String interfaceId) {
        this.interfaceId = interfaceId;
    }

    /**
     * The interface id.
     *
     * @return the interface id, or {@code null}
     */
    public String getInterfaceId() {
        return interfaceId;
    }

    /**
     * Sets the component name ({@code $.sub}, IoT Plug and Play); {@code null} removes it.
     *
     * @param componentName the component name
     */
    public void setComponentName(String componentName) {
        this.componentName = componentName;
    }

    /**
     * The component name.
     *
     * @return the component name, or {@code null}
     */
    public String getComponentName() {
        return componentName;
    }

    /**
     * Sets application property {@code name}; an existing property keeps its place and takes
     * the new value. Properties travel in the MQTT topic in insertion order.
     *
     * @param name the property name (not empty)
     * @param value the value
     * @throws IotSecArgumentException if {@code name} is null or empty, or {@code value} is null
     */
    public void setProperty(String name, String value) {
        if (name == null || name.isEmpty()) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "a message property name must not be null or empty");
        }
        if (value == null) {
            throw new IotSecArgumentException(ErrorCode.INVALID_ARGUMENT, "the value of message property `" + name + "` must not be null");
        }
        properties.put(name, value);
    }

    /**
     * The value of application property {@code name}.
     *
     * @param name the property name
     * @return the value, or {@code null} when it is not set
     */
    public String getProperty(String name) {
        return properties.get(name);
    }

    /**
     * Whether application property {@code name} is set.
     *
     * @param name the property name
     * @return true if set
     */
    public boolean hasProperty(String name) {
        return properties.containsKey(name);
    }

    /**
     * Removes application property {@code name}.
     *
     * @param name the property name
     * @return its value, or {@code null} when it was not set
     */
    public String removeProperty(String name) {
        return properties.remove(name);
    }

    /**
     * Every application property, in insertion order.
     *
     * @return an unmodifiable view
     */
    public Map<String, String> getProperties() {
        return Collections.unmodifiableMap(properties);
    }

    /** System properties in the order the native layer expects (NativeBridge.SYSTEM_KEYS). */
    String[] systemArray() {
        return new String[] {
            messageId, correlationId, userId, to, contentType, contentEncoding, outputName, expiryTimeUtc,
            interfaceId, componentName
        };
    }

    /** Application properties flattened: name, value, name, value, ... */
    String[] propertyArray() {
        String[] flat = new String[properties.size() * 2];
        int i = 0;
        for (Map.Entry<String, String> e : properties.entrySet()) {
            flat[i++] = e.getKey();
            flat[i++] = e.getValue();
        }
        return flat;
    }

    @Override
    public String toString() {
        return "Message{" + body.length + " bytes"
                + (messageId != null ? ", messageId=" + messageId : "")
                + (isSecurityMessage() ? ", security" : "")
                + (properties.isEmpty() ? "" : ", " + properties.size() + " properties") + "}";
    }
}
