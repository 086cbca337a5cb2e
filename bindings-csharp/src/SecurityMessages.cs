using System;
using System.Collections.Generic;
using System.Text;
using IotSec.Devices.Client.Internal;

namespace IotSec.Devices.Client
{
    /// <summary>Checks bodies against the published security message schema (JSON Schema
    /// draft-07, 14 event types), the check a send makes before a security message leaves.</summary>
    public static class SecurityMessageSchema
    {
        /// <summary>Whether <paramref name="body"/> is a valid security message (the fast check).</summary>
        public static bool IsValid(byte[] body)
        {
            if (body == null) throw new ArgumentNullException("body");
            NativeLifetime.Ensure();
            int result = NativeMethods.iotsec_is_valid(body, (UIntPtr)(ulong)body.Length);
            if (result < 0) throw Errors.Last("body");
            return result == 1;
        }

        /// <summary>Whether the UTF-8 text <paramref name="body"/> is a valid security message.</summary>
        public static bool IsValid(string body)
        {
            if (body == null) throw new ArgumentNullException("body");
            return IsValid(Encoding.UTF8.GetBytes(body));
        }

        /// <summary>Every way <paramref name="body"/> breaks the schema, sorted by pointer then
        /// rule; empty when it is valid. Bodies that are not UTF-8 or not JSON get one violation
        /// (rule <c>utf8</c> or <c>json</c>) with a <see cref="SchemaViolation.Position"/>.</summary>
        public static IReadOnlyList<SchemaViolation> Validate(byte[] body)
        {
            if (body == null) throw new ArgumentNullException("body");
            NativeLifetime.Ensure();
            string json = Utf8.FromOwned(NativeMethods.iotsec_validate(body, (UIntPtr)(ulong)body.Length));
            if (json == null) throw Errors.Last("body");
            return SchemaViolation.ParseList(json);
        }

        /// <summary>Every way the UTF-8 text <paramref name="body"/> breaks the schema.</summary>
        public static IReadOnlyList<SchemaViolation> Validate(string body)
        {
            if (body == null) throw new ArgumentNullException("body");
            return Validate(Encoding.UTF8.GetBytes(body));
        }
    }

    /// <summary>iotsec's typed builder of security messages: give the events' records, it fills
    /// in <c>MessageSchemaVersion</c>, each event's <c>Name</c>, <c>Category</c>,
    /// <c>EventType</c>, <c>IsEmpty</c>, <c>PayloadSchemaVersion</c>, ids and timestamps, then
    /// validates the result.</summary>
    public static class SecurityMessage
    {
        /// <summary>Builds a security message body.</summary>
        /// <param name="agentId">the agent's GUID.</param>
        /// <param name="agentVersion">e.g. <c>"1.0.0"</c>.</param>
        /// <param name="eventsJson">a JSON array of events, each
        /// <c>{"name": "ProcessCreate", "records": [{"Executable": "...", ...}], "id"?: "...", "timestamp_local"?: "...", "timestamp_utc"?: "..."}</c>.</param>
        /// <returns>The body as compact JSON.</returns>
        /// <exception cref="IotSecArgumentException">a bad argument (the message names the field).</exception>
        /// <exception cref="SchemaValidationException">the records break the schema.</exception>
        public static string BuildBody(Guid agentId, string agentVersion, string eventsJson)
        {
            Check(agentVersion, eventsJson);
            NativeLifetime.Ensure();
            IntPtr body = NativeMethods.iotsec_security_message_build(
                Utf8.ToNative(agentId.ToString("D"), "agentId"), Utf8.ToNative(agentVersion, "agentVersion"), Utf8.ToNative(eventsJson, "eventsJson"));
            if (body == IntPtr.Zero) throw Errors.Last("eventsJson");
            return Utf8.FromOwned(body);
        }

        /// <summary>Builds a security message ready to send: the validated body, flagged as a
        /// security message, content type <c>application/json</c>, content encoding <c>utf-8</c>.</summary>
        /// <exception cref="IotSecArgumentException">a bad argument (the message names the field).</exception>
        /// <exception cref="SchemaValidationException">the records break the schema.</exception>
        public static Message Create(Guid agentId, string agentVersion, string eventsJson)
        {
            Check(agentVersion, eventsJson);
            NativeLifetime.Ensure();
            MessageHandle handle = NativeMethods.iotsec_security_message_create(
                Utf8.ToNative(agentId.ToString("D"), "agentId"), Utf8.ToNative(agentVersion, "agentVersion"), Utf8.ToNative(eventsJson, "eventsJson"));
            if (handle.IsInvalid)
            {
                var error = Errors.Last("eventsJson");
                handle.Dispose();
                throw error;
            }
            return new Message(handle);
        }

        private static void Check(string agentVersion, string eventsJson)
        {
            if (agentVersion == null) throw new ArgumentNullException("agentVersion");
            if (eventsJson == null) throw new ArgumentNullException("eventsJson");
        }
    }

    /// <summary>The native library as a whole.</summary>
    public static class IotSecRuntime
    {
        /// <summary>The version of the native iotsec library, e.g. <c>"0.1.0"</c>.</summary>
        public static string Version
        {
            get
            {
                NativeLifetime.Ensure();
                return Utf8.FromNative(NativeMethods.iotsec_version());
            }
        }

        /// <summary>Closes every client's connection and stops iotsec's threads (sends not yet
        /// acknowledged fail). Clients stay usable: the next send starts everything again. Called
        /// automatically when the process exits or the AppDomain unloads.</summary>
        public static void Shutdown()
        {
            NativeLifetime.Ensure();
            uint status = NativeMethods.iotsec_shutdown();
            if (status != NativeMethods.IOTSEC_OK) throw Errors.Last(null);
        }
    }
}
