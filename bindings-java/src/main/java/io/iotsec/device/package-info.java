/**
 * iotsec for Java: build, validate and send Azure IoT <em>security messages</em> (Defender for
 * IoT) over MQTT, with the names of the official Azure IoT device SDK
 * ({@code com.microsoft.azure.sdk.iot.device}).
 *
 * <p>Code written against the official SDK changes only its imports:
 * <pre>{@code
 * import io.iotsec.device.*;
 *
 * ModuleClient client = new ModuleClient(connectionString, IotHubClientProtocol.MQTT);
 * Message msg = new Message(json);
 * msg.setAsSecurityMessage();
 * client.sendEventAsync(msg, (status, context) -> System.out.println(status), null);
 * }</pre>
 *
 * <p>What differs from the official SDK:
 * <ul>
 *   <li>a security message is checked against the published schema before it is sent; a body
 *       that breaks it throws {@link io.iotsec.device.SchemaValidationException} (listing every
 *       {@link io.iotsec.device.Violation}) instead of being dropped silently by the service;</li>
 *   <li>constructors and methods throw unchecked exceptions only: bad input is an
 *       {@link io.iotsec.device.IotSecArgumentException} (an {@link IllegalArgumentException}),
 *       everything else an {@link io.iotsec.device.IotSecException}; both carry an
 *       {@link io.iotsec.device.ErrorCode};</li>
 *   <li>sends are pipelined over one MQTT connection, and the first send connects
 *       ({@code open()} is optional);</li>
 *   <li>only {@link io.iotsec.device.IotHubClientProtocol#MQTT} (MQTT 3.1.1 over TLS) is
 *       supported.</li>
 * </ul>
 *
 * <p>The native library (Rust) travels inside the JAR and is loaded on first use; no
 * {@code -Djava.library.path} is needed.
 */
package io.iotsec.device;
