package io.iotsec.device;

/**
 * A module's connection to IoT Hub, named as in the official SDK.
 *
 * <pre>{@code
 * ModuleClient client = new ModuleClient(connectionString, IotHubClientProtocol.MQTT);
 * Message msg = new Message(securityJson);
 * msg.setAsSecurityMessage();
 * client.sendEventAsync(msg, (status, ctx) -> System.out.println(status), null);
 * }</pre>
 */
public final class ModuleClient extends InternalClient {
    /**
     * A client for the module named in {@code connectionString}
     * ({@code HostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...}). Nothing is sent yet.
     *
     * @param connectionString the module's connection string (with {@code ModuleId})
     * @param protocol {@link IotHubClientProtocol#MQTT}
     * @throws IotSecArgumentException the connection string is malformed or names no module
     *     ({@link ErrorCode#INVALID_CONNECTION_STRING}), its key is unusable
     *     ({@link ErrorCode#INVALID_CREDENTIAL}), or the protocol is not MQTT
     */
    public ModuleClient(String connectionString, IotHubClientProtocol protocol) {
        this(connectionString, protocol, null);
    }

    /**
     * A client for the module named in {@code connectionString}, with options (CA, port, ...).
     *
     * @param connectionString the module's connection string
     * @param protocol {@link IotHubClientProtocol#MQTT}
     * @param options the options, or {@code null} for the defaults
     * @throws IotSecArgumentException as for {@link #ModuleClient(String, IotHubClientProtocol)},
     *     or an option is out of range or its CA cannot be read
     */
    public ModuleClient(String connectionString, IotHubClientProtocol protocol, ClientOptions options) {
        super(connectionString, protocol, options, NativeBridge.KIND_MODULE);
    }
}
