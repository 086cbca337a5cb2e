using System;
using System.Collections.Generic;

namespace IotSec.Devices.Client
{
    /// <summary>The transports of <c>Microsoft.Azure.Devices.Client.TransportType</c> (same
    /// names and values). iotsec speaks MQTT 3.1.1 over TLS only: <see cref="Mqtt"/> and
    /// <see cref="Mqtt_Tcp_Only"/> select it; the others throw <see cref="NotSupportedException"/>.</summary>
    public enum TransportType
    {
        /// <summary>Not supported by iotsec.</summary>
        Amqp = 0,
        /// <summary>Not supported by iotsec.</summary>
        Http1 = 1,
        /// <summary>Not supported by iotsec.</summary>
        Amqp_WebSocket_Only = 2,
        /// <summary>Not supported by iotsec.</summary>
        Amqp_Tcp_Only = 3,
        /// <summary>MQTT over TLS (the SDK would fall back to WebSockets; iotsec does not).</summary>
        Mqtt = 4,
        /// <summary>Not supported by iotsec.</summary>
        Mqtt_WebSocket_Only = 5,
        /// <summary>MQTT over TLS, TCP port 8883 unless <see cref="ClientOptions.Port"/> says otherwise.</summary>
        Mqtt_Tcp_Only = 6,
    }

    /// <summary>What iotsec does with a security message whose body breaks the schema.</summary>
    public enum SchemaValidationMode
    {
        /// <summary>Refuse it: <see cref="SchemaValidationException"/>, nothing is sent (the default).</summary>
        Strict,
        /// <summary>Log a warning and send it.</summary>
        Warn,
        /// <summary>Do not check.</summary>
        Off,
    }

    /// <summary>What a send does when the client's queue is full.</summary>
    public enum QueuePolicy
    {
        /// <summary>Wait for room (the default).</summary>
        Block,
        /// <summary>Fail at once with <see cref="ErrorCode.QueueFull"/>.</summary>
        FailFast,
    }

    /// <summary>Whether the client gives a message without a message id one of its own
    /// (<c>Microsoft.Azure.Devices.Client.SdkAssignsMessageId</c>, same names).</summary>
    public enum SdkAssignsMessageId
    {
        /// <summary>Send each message as it is (the default, as in the SDK).</summary>
        Never,
        /// <summary>A message without a <see cref="Message.MessageId"/> is sent with a new UUID,
        /// so receivers can drop the duplicates at-least-once delivery may bring. The caller's
        /// message is not changed.</summary>
        WhenUnset,
    }

    /// <summary>iotsec's client settings, applied when the client is created (they cannot change
    /// once it has connected). Everything left null keeps iotsec's default.</summary>
    /// <remarks>Without a CA, iotsec uses the file named by the environment variable
    /// <c>IOTSEC_CA_FILE</c>, else the system's roots; without a port, <c>IOTSEC_MQTT_PORT</c>, else 8883.</remarks>
    public sealed class ClientOptions
    {
        private readonly Dictionary<string, string> nativeOptions = new Dictionary<string, string>();

        /// <summary>CA certificate(s), PEM text, to trust instead of the system roots.</summary>
        public string TrustedCertificatesPem { get; set; }

        /// <summary>A PEM file with the CA certificate(s) to trust.</summary>
        public string TrustedCertificatesFile { get; set; }

        /// <summary>The MQTT port (default: <c>IOTSEC_MQTT_PORT</c>, else 8883).</summary>
        public int? Port { get; set; }

        /// <summary>Schema validation of security messages (default <see cref="SchemaValidationMode.Strict"/>).</summary>
        public SchemaValidationMode? SchemaValidation { get; set; }

        /// <summary>How long a send waits for its acknowledgement (default 60 s).</summary>
        public TimeSpan? MessageTimeout { get; set; }

        /// <summary>How long connecting may take.</summary>
        public TimeSpan? ConnectTimeout { get; set; }

        /// <summary>The MQTT keep-alive (default 60 s).</summary>
        public TimeSpan? KeepAlive { get; set; }

        /// <summary>The lifetime of each SAS token (default 1 hour; renewed before it expires).</summary>
        public TimeSpan? SasTokenTimeToLive { get; set; }

        /// <summary>How many sends may await their acknowledgement at once (default 100).</summary>
        public int? MaxInFlight { get; set; }

        /// <summary>How many sends may wait in the client's queue (default 10,000).</summary>
        public int? QueueCapacity { get; set; }

        /// <summary>What a send does when the queue is full (default <see cref="Client.QueuePolicy.Block"/>).</summary>
        public QueuePolicy? QueuePolicy { get; set; }

        /// <summary>The device certificate (PEM file) for <c>x509=true</c> connection strings.</summary>
        public string ClientCertificateFile { get; set; }

        /// <summary>The private key (PEM file) of <see cref="ClientCertificateFile"/>.</summary>
        public string ClientKeyFile { get; set; }

        /// <summary>Whether messages without a message id get one (default <see cref="Client.SdkAssignsMessageId.Never"/>).</summary>
        public SdkAssignsMessageId? SdkAssignsMessageId { get; set; }

        /// <summary>A file for the durable queue: accepted messages are stored there until
        /// acknowledged, survive a crash of this process and are sent when a client opens the same
        /// file again.</summary>
        public string DurableQueueFile { get; set; }

        /// <summary>The first reconnect delay (default 1 s), doubling up to <see cref="ReconnectMaxDelay"/>.</summary>
        public TimeSpan? ReconnectInitialDelay { get; set; }

        /// <summary>The longest reconnect delay (default 30 s).</summary>
        public TimeSpan? ReconnectMaxDelay { get; set; }

        /// <summary>How far each reconnect delay is moved at random, as a fraction (default 0.1 for ±10 %).</summary>
        public double? ReconnectJitter { get; set; }

        /// <summary>Any option of the C library's <c>iotsec_client_set_option</c> by name, as
        /// text (e.g. <c>"transport" = "plain_tcp_loopback"</c>); applied after the typed ones.</summary>
        public IDictionary<string, string> NativeOptions { get { return nativeOptions; } }

        /// <summary>The options as the C library's names and text values, in the order they are applied.</summary>
        internal IEnumerable<KeyValuePair<string, string>> ToNative()
        {
            var list = new List<KeyValuePair<string, string>>();
            Action<string, string> add = (name, value) => { if (value != null) list.Add(new KeyValuePair<string, string>(name, value)); };
            add("ca_pem", TrustedCertificatesPem);
            add("ca_file", TrustedCertificatesFile);
            add("port", Text(Port));
            if (SchemaValidation.HasValue) add("validation", SchemaValidation.Value.ToString().ToLowerInvariant());
            add("puback_timeout_ms", Milliseconds(MessageTimeout));
            add("connect_timeout_ms", Milliseconds(ConnectTimeout));
            add("keep_alive_s", Seconds(KeepAlive));
            add("token_lifetime_s", Seconds(SasTokenTimeToLive));
            add("max_in_flight", Text(MaxInFlight));
            add("queue_capacity", Text(QueueCapacity));
            if (QueuePolicy.HasValue) add("queue_policy", QueuePolicy.Value == Client.QueuePolicy.FailFast ? "fail_fast" : "block");
            add("client_cert_file", ClientCertificateFile);
            add("client_key_file", ClientKeyFile);
            if (SdkAssignsMessageId.HasValue) add("message_ids", SdkAssignsMessageId.Value == Client.SdkAssignsMessageId.WhenUnset ? "when_unset" : "never");
            add("durable_queue", DurableQueueFile);
            add("reconnect_initial_ms", Milliseconds(ReconnectInitialDelay));
            add("reconnect_max_ms", Milliseconds(ReconnectMaxDelay));
            if (ReconnectJitter.HasValue) add("reconnect_jitter", ReconnectJitter.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            foreach (var kv in nativeOptions) add(kv.Key, kv.Value ?? "");
            return list;
        }

        private static string Text(int? value)
        {
            return value.HasValue ? value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        }

        private static string Milliseconds(TimeSpan? value)
        {
            return value.HasValue ? ((long)Math.Ceiling(value.Value.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        }

        private static string Seconds(TimeSpan? value)
        {
            return value.HasValue ? ((long)Math.Ceiling(value.Value.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        }
    }
}
