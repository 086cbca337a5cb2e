package io.iotsec.device;

/**
 * A device's connection to IoT Hub, named as in the official SDK.
 *
 * <pre>{@code
 * DeviceClient client = new DeviceClient(connectionString, IotHubClientProtocol.MQTT);
 * Message msg = new Message(securityJson);
 * msg.setAsSecurityMessage();
 * client.sendEventAsync(msg, (status, ctx) -> System.out.println(status), null);
 * }</pre>
 */
public final class DeviceClient extends InternalClient {
    /**
     * A client for the device named in {@code connectionString}
     * ({@code HostName=...;DeviceId=...;SharedAccessKey=...}). Nothing is sent yet.
     *
     * @param connectionString the device's connection string (without {@code ModuleId})
     * @param protocol {@link IotHubClientProtocol#MQTT}
     * @throws IotSecArgumentException the connection string is malformed or names a module
     *     ({@link ErrorCode#INVALID_CONNECTION_STRING}), its key is unusable
     *     ({@link ErrorCode#INVALID_CREDENTIAL}), or the protocol is not MQTT
     */
    public DeviceClient(String connectionString, IotHubClientProtocol protocol) {
        this(connectionString, protocol, null);
    }

    /**
     * A client for the device named in {@code connectionString}, with options (CA, port, ...).
     *
     * @param connectionString the device's connection string
     * @param protocol {@link IotHubClientProtocol#MQTT}
     * @param options the options, or {@code null} for the defaults
     * @throws IotSecArgumentException as for {@link #DeviceClient(String, IotHubClientProtocol)},
     *     or an option is out of range or its CA cannot be read
     */
    public DeviceClient(String connectionString, IotHubClientProtocol protocol, ClientOptions options) {
        super(connectionString, protocol, options, NativeBridge.KIND_DEVICE);
    }
}
