using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using IotSec.Devices.Client.Internal;

namespace IotSec.Devices.Client
{
    /// <summary>A device-to-cloud message: body bytes, system properties, custom properties and
    /// the security flag. Mirrors <c>Microsoft.Azure.Devices.Client.Message</c>.</summary>
    /// <remarks>The message lives in iotsec's native library; every property reads and writes it
    /// there. A message is not thread-safe for writing; sending copies it, so it may be changed,
    /// sent again or disposed as soon as <c>SendEventAsync</c> returns.</remarks>
    public sealed class Message : IDisposable
    {
        private readonly MessageHandle handle;
        private readonly MessagePropertyDictionary properties;

        /// <summary>A message with an empty body.</summary>
        public Message() : this(new byte[0]) { }

        /// <summary>A message whose body is a copy of <paramref name="byteArray"/>.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="byteArray"/> is null.</exception>
        public Message(byte[] byteArray)
        {
            if (byteArray == null) throw new ArgumentNullException("byteArray");
            NativeLifetime.Ensure();
            handle = NativeMethods.IoTHubMessage_CreateFromByteArray(byteArray, (UIntPtr)(ulong)byteArray.Length);
            if (handle.IsInvalid)
            {
                var error = Errors.Last("byteArray");
                handle.Dispose();
                throw error;
            }
            properties = new MessagePropertyDictionary(this);
        }

        /// <summary>A message whose body is the rest of <paramref name="stream"/> (read now).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
        public Message(Stream stream) : this(ReadAll(stream)) { }

        internal Message(MessageHandle handle)
        {
            this.handle = handle;
            properties = new MessagePropertyDictionary(this);
        }

        private static byte[] ReadAll(Stream stream)
        {
            if (stream == null) throw new ArgumentNullException("stream");
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                return copy.ToArray();
            }
        }

        internal MessageHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new IotSecObjectDisposedException(typeof(Message).FullName, "the message was disposed");
                return handle;
            }
        }

        /// <summary>The custom (application) properties, sent in insertion order; setting an
        /// existing key keeps its place. Any Unicode is allowed (percent-encoded on the wire).</summary>
        public IDictionary<string, string> Properties { get { return properties; } }

        /// <summary>The message id (<c>$.mid</c>), or null.</summary>
        public string MessageId
        {
            get { return GetSystemProperty("message_id"); }
            set { SetSystemProperty("message_id", value); }
        }

        /// <summary>The correlation id (<c>$.cid</c>), or null.</summary>
        public string CorrelationId
        {
            get { return GetSystemProperty("correlation_id"); }
            set { SetSystemProperty("correlation_id", value); }
        }

        /// <summary>The user id (<c>$.uid</c>), or null.</summary>
        public string UserId
        {
            get { return GetSystemProperty("user_id"); }
            set { SetSystemProperty("user_id", value); }
        }

        /// <summary>The destination (<c>$.to</c>), or null.</summary>
        public string To
        {
            get { return GetSystemProperty("to"); }
            set { SetSystemProperty("to", value); }
        }

        /// <summary>The content type (<c>$.ct</c>, e.g. <c>application/json</c>), or null.</summary>
        public string ContentType
        {
            get { return GetSystemProperty("content_type"); }
            set { SetSystemProperty("content_type", value); }
        }

        /// <summary>The content encoding (<c>$.ce</c>, e.g. <c>utf-8</c>), or null.</summary>
        public string ContentEncoding
        {
            get { return GetSystemProperty("content_encoding"); }
            set { SetSystemProperty("content_encoding", value); }
        }

        /// <summary>The component name (<c>$.sub</c>, IoT Plug and Play), or null.</summary>
        public string ComponentName
        {
            get { return GetSystemProperty("component_name"); }
            set { SetSystemProperty("component_name", value); }
        }

        /// <summary>The module output (<c>$.on</c>), or null. <see cref="ModuleClient.SendEventAsync(string, Message)"/> sets it.</summary>
        public string OutputName
        {
            get { return GetSystemProperty("output_name"); }
            set { SetSystemProperty("output_name", value); }
        }

        /// <summary>The expiry time (<c>$.exp</c>); <c>default(DateTime)</c> when not set.
        /// Sent in the round-trip format (<c>"o"</c>), as the Azure IoT C# SDK sends it.</summary>
        public DateTime ExpiryTimeUtc
        {
            get
            {
                string text = GetSystemProperty("expiry_time_utc");
                DateTime value;
                if (text != null && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value)) return value;
                return default(DateTime);
            }
            set
            {
                SetSystemProperty("expiry_time_utc", value == default(DateTime) ? null : value.ToString("o", CultureInfo.InvariantCulture));
            }
        }

        /// <summary>Whether <see cref="SetAsSecurityMessage"/> was called.</summary>
        public bool IsSecurityMessage
        {
            get { return NativeMethods.IoTHubMessage_IsSecurityMessage(Handle); }
        }

        /// <summary>Marks the message as a security message (interface id
        /// <c>urn:azureiot:Security:SecurityAgent:1</c>, <c>$.ifid</c>). Its body is checked
        /// against the security message schema when it is sent (strict by default: an invalid
        /// body throws <see cref="SchemaValidationException"/> and is not sent).</summary>
        public void SetAsSecurityMessage()
        {
            if (NativeMethods.IoTHubMessage_SetAsSecurityMessage(Handle) != NativeMethods.IOTHUB_MESSAGE_OK) throw Errors.Last(null);
        }

        /// <summary>A copy of the body.</summary>
        public byte[] GetBytes()
        {
            IntPtr body;
            UIntPtr size;
            if (NativeMethods.iotsec_message_get_body(Handle, out body, out size) != NativeMethods.IOTSEC_OK) throw Errors.Last(null);
            var bytes = new byte[checked((int)(ulong)size)];
            if (bytes.Length > 0) Marshal.Copy(body, bytes, 0, bytes.Length);
            GC.KeepAlive(this);
            return bytes;
        }

        /// <summary>A stream over a copy of the body.</summary>
        public Stream GetBodyStream()
        {
            return new MemoryStream(GetBytes(), false);
        }

        /// <summary>Any system property by its iotsec name: <c>message_id</c>,
        /// <c>correlation_id</c>, <c>user_id</c>, <c>to</c>, <c>content_type</c>,
        /// <c>content_encoding</c>, <c>output_name</c>, <c>expiry_time_utc</c> (text, sent
        /// verbatim), <c>interface_id</c>, <c>component_name</c>. Null removes it.</summary>
        /// <exception cref="IotSecArgumentException">an unknown name or a value that cannot be sent.</exception>
        public void SetSystemProperty(string name, string value)
        {
            if (name == null) throw new ArgumentNullException("name");
            byte[] n = Utf8.ToNative(name, "name");
            byte[] v = Utf8.ToNative(value, "value");
            if (NativeMethods.iotsec_message_set_system_property(Handle, n, v) != NativeMethods.IOTSEC_OK) throw Errors.Last("name");
        }

        /// <summary>A system property by its iotsec name (see <see cref="SetSystemProperty"/>), or null when not set.</summary>
        /// <exception cref="IotSecArgumentException">an unknown name.</exception>
        public string GetSystemProperty(string name)
        {
            if (name == null) throw new ArgumentNullException("name");
            IntPtr p = NativeMethods.iotsec_message_get_system_property(Handle, Utf8.ToNative(name, "name"));
            if (p == IntPtr.Zero)
            {
                if (NativeMethods.iotsec_last_error_kind() != NativeMethods.IOTSEC_OK) throw Errors.Last("name");
                return null;
            }
            string value = Utf8.FromNative(p);
            GC.KeepAlive(this);
            return value;
        }

        /// <summary>Releases the native message. Later use throws <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>The live view of a message's custom properties (insertion order kept).</summary>
    internal sealed class MessagePropertyDictionary : IDictionary<string, string>
    {
        private readonly Message message;

        internal MessagePropertyDictionary(Message message) { this.message = message; }

        private List<KeyValuePair<string, string>> Snapshot()
        {
            string json = Utf8.FromOwned(NativeMethods.iotsec_message_properties_json(message.Handle));
            if (json == null) throw Errors.Last(null);
            var result = new List<KeyValuePair<string, string>>();
            foreach (var pair in (List<object>)Json.Parse(json))
            {
                var kv = (List<object>)pair;
                result.Add(new KeyValuePair<string, string>((string)kv[0], (string)kv[1]));
            }
            return result;
        }

        private string Get(string key)
        {
            if (key == null) throw new ArgumentNullException("key");
            IntPtr p = NativeMethods.IoTHubMessage_GetProperty(message.Handle, Utf8.ToNative(key, "key"));
            string value = Utf8.FromNative(p);
            GC.KeepAlive(message);
            return value;
        }

        private void Set(string key, string value)
        {
            if (key == null) throw new ArgumentNullException("key");
            if (value == null) throw new ArgumentNullException("value", "property '" + key + "' cannot be null (remove it instead)");
            if (NativeMethods.IoTHubMessage_SetProperty(message.Handle, Utf8.ToNative(key, "key"), Utf8.ToNative(value, "value")) != NativeMethods.IOTHUB_MESSAGE_OK)
                throw Errors.Last("key");
        }

        public string this[string key]
        {
            get
            {
                string value = Get(key);
                if (value == null) throw new KeyNotFoundException("the message has no property '" + key + "'");
                return value;
            }
            set { Set(key, value); }
        }

        public ICollection<string> Keys
        {
            get { return Snapshot().ConvertAll(kv => kv.Key).AsReadOnly(); }
        }

        public ICollection<string> Values
        {
            get { return Snapshot().ConvertAll(kv => kv.Value).AsReadOnly(); }
        }

        public int Count { get { return Snapshot().Count; } }

        public bool IsReadOnly { get { return false; } }

        public void Add(string key, string value)
        {
            if (Get(key) != null) throw new ArgumentException("the message already has a property '" + key + "'", "key");
            Set(key, value);
        }

        public void Add(KeyValuePair<string, string> item) { Add(item.Key, item.Value); }

        public void Clear()
        {
            foreach (var kv in Snapshot()) Remove(kv.Key);
        }

        public bool Contains(KeyValuePair<string, string> item)
        {
            string value = Get(item.Key);
            return value != null && value == item.Value;
        }

        public bool ContainsKey(string key) { return Get(key) != null; }

        public void CopyTo(KeyValuePair<string, string>[] array, int arrayIndex)
        {
            if (array == null) throw new ArgumentNullException("array");
            Snapshot().CopyTo(array, arrayIndex);
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator() { return Snapshot().GetEnumerator(); }

        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }

        public bool Remove(string key)
        {
            if (Get(key) == null) return false;
            if (NativeMethods.iotsec_message_remove_property(message.Handle, Utf8.ToNative(key, "key")) != NativeMethods.IOTSEC_OK) throw Errors.Last("key");
            return true;
        }

        public bool Remove(KeyValuePair<string, string> item) { return Contains(item) && Remove(item.Key); }

        public bool TryGetValue(string key, out string value)
        {
            value = Get(key);
            return value != null;
        }
    }
}
