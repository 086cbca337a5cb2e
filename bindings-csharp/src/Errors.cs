using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using IotSec.Devices.Client.Internal;

namespace IotSec.Devices.Client
{
    /// <summary>iotsec's stable error kinds: the same names and numbers in every iotsec package
    /// (Rust <c>ErrorKind</c>, C <c>IOTSEC_ERROR_*</c>, Python, Node.js, Java).</summary>
    public enum ErrorCode
    {
        /// <summary>An argument is null, empty, out of range or not representable; an option is
        /// unknown or set too late. Thrown as <see cref="IotSecArgumentException"/>.</summary>
        InvalidArgument = 1,
        /// <summary>The connection string is malformed (the message names the key at fault).
        /// Thrown as <see cref="IotSecArgumentException"/>.</summary>
        InvalidConnectionString = 2,
        /// <summary>A credential is unusable (key not base64, unparsable SAS token, unreadable
        /// certificate). Thrown as <see cref="IotSecArgumentException"/>.</summary>
        InvalidCredential = 3,
        /// <summary>A security message body breaks the schema; it was not sent. Thrown as
        /// <see cref="SchemaValidationException"/>.</summary>
        SchemaValidation = 4,
        /// <summary>The body is over 262,144 bytes or the topic over 65,535 bytes. Thrown as
        /// <see cref="MessageTooLargeException"/>.</summary>
        MessageTooLarge = 5,
        /// <summary>The broker could not be reached.</summary>
        ConnectionFailed = 6,
        /// <summary>The TLS handshake failed (untrusted or mismatched server certificate...).</summary>
        Tls = 7,
        /// <summary>The broker refused the credentials.</summary>
        CredentialRefused = 8,
        /// <summary>The connection was lost before the operation completed.</summary>
        ConnectionLost = 9,
        /// <summary>No acknowledgement (PUBACK or CONNACK) in time. Thrown as
        /// <see cref="IotSecTimeoutException"/>.</summary>
        Timeout = 10,
        /// <summary>The client was disposed. Thrown as <see cref="IotSecObjectDisposedException"/>.</summary>
        Closed = 11,
        /// <summary>The send queue is full and the queue policy is <see cref="QueuePolicy.FailFast"/>.</summary>
        QueueFull = 12,
        /// <summary>A local file or socket operation failed.</summary>
        Io = 13,
        /// <summary>A bug in iotsec. Please report it.</summary>
        Internal = 14,
    }

    /// <summary>Implemented by every exception iotsec throws, whatever .NET exception type it
    /// derives from: <c>catch (Exception e) when (e is IIotSecError)</c> catches them all.</summary>
    public interface IIotSecError
    {
        /// <summary>The stable error kind.</summary>
        ErrorCode ErrorCode { get; }

        /// <summary>The stable name of the error kind, e.g. <c>"SCHEMA_VALIDATION"</c>.</summary>
        string ErrorName { get; }
    }

    /// <summary>A failure of iotsec that no more specific .NET exception type describes: the
    /// connection (<see cref="ErrorCode.ConnectionFailed"/>, <see cref="ErrorCode.Tls"/>,
    /// <see cref="ErrorCode.CredentialRefused"/>, <see cref="ErrorCode.ConnectionLost"/>), the
    /// queue, I/O, an internal error; also the base of <see cref="SchemaValidationException"/>
    /// and <see cref="MessageTooLargeException"/>. Messages never contain a key or signature.</summary>
    public class IotSecException : Exception, IIotSecError
    {
        /// <summary>Creates an exception of the given kind.</summary>
        public IotSecException(ErrorCode errorCode, string message) : base(message)
        {
            ErrorCode = errorCode;
        }

        /// <inheritdoc/>
        public ErrorCode ErrorCode { get; private set; }

        /// <inheritdoc/>
        public string ErrorName { get { return ErrorNames.Of((uint)ErrorCode); } }
    }

    /// <summary>A security message whose body breaks the published schema: it was not sent.
    /// <see cref="Violations"/> says where and why.</summary>
    public class SchemaValidationException : IotSecException
    {
        /// <summary>Creates the exception with its violations.</summary>
        public SchemaValidationException(string message, IReadOnlyList<SchemaViolation> violations)
            : base(ErrorCode.SchemaValidation, message)
        {
            Violations = violations ?? new SchemaViolation[0];
        }

        /// <summary>Every violation, sorted by pointer then rule.</summary>
        public IReadOnlyList<SchemaViolation> Violations { get; private set; }
    }

    /// <summary>The message is over 262,144 bytes (or its topic over 65,535 bytes); it was not sent.</summary>
    public class MessageTooLargeException : IotSecException
    {
        /// <summary>Creates the exception.</summary>
        public MessageTooLargeException(string message) : base(ErrorCode.MessageTooLarge, message) { }
    }

    /// <summary>A bad argument: a malformed connection string (<see cref="ErrorCode.InvalidConnectionString"/>,
    /// the message names the key at fault and never shows its value), an unusable credential
    /// (<see cref="ErrorCode.InvalidCredential"/>), an invalid option, property or value
    /// (<see cref="ErrorCode.InvalidArgument"/>).</summary>
    public class IotSecArgumentException : ArgumentException, IIotSecError
    {
        /// <summary>Creates the exception.</summary>
        public IotSecArgumentException(ErrorCode errorCode, string message, string paramName)
            : base(message, paramName)
        {
            ErrorCode = errorCode;
        }

        /// <inheritdoc/>
        public ErrorCode ErrorCode { get; private set; }

        /// <inheritdoc/>
        public string ErrorName { get { return ErrorNames.Of((uint)ErrorCode); } }
    }

    /// <summary>No acknowledgement in time: the broker did not answer CONNECT or PUBLISH within
    /// the configured timeout (<see cref="ErrorCode.Timeout"/>).</summary>
    public class IotSecTimeoutException : TimeoutException, IIotSecError
    {
        /// <summary>Creates the exception.</summary>
        public IotSecTimeoutException(string message) : base(message) { }

        /// <inheritdoc/>
        public ErrorCode ErrorCode { get { return ErrorCode.Timeout; } }

        /// <inheritdoc/>
        public string ErrorName { get { return ErrorNames.Of((uint)ErrorCode.Timeout); } }
    }

    /// <summary>The client or message was disposed: thrown by calls made after
    /// <c>Dispose</c>, and the outcome of sends still pending when the client was disposed
    /// (<see cref="ErrorCode.Closed"/>).</summary>
    public class IotSecObjectDisposedException : ObjectDisposedException, IIotSecError
    {
        /// <summary>Creates the exception.</summary>
        public IotSecObjectDisposedException(string objectName, string message) : base(objectName, message) { }

        /// <inheritdoc/>
        public ErrorCode ErrorCode { get { return ErrorCode.Closed; } }

        /// <inheritdoc/>
        public string ErrorName { get { return ErrorNames.Of((uint)ErrorCode.Closed); } }
    }

    /// <summary>Where reading stopped, for a body that is not JSON (rule <c>json</c>) or not
    /// UTF-8 (rule <c>utf8</c>).</summary>
    public sealed class SchemaViolationPosition
    {
        internal SchemaViolationPosition(long offset, long line, long column)
        {
            Offset = offset;
            Line = line;
            Column = column;
        }

        /// <summary>Byte offset, 0-based.</summary>
        public long Offset { get; private set; }

        /// <summary>Line, 1-based.</summary>
        public long Line { get; private set; }

        /// <summary>Column in bytes, 1-based.</summary>
        public long Column { get; private set; }

        /// <inheritdoc/>
        public override string ToString()
        {
            return string.Format(CultureInfo.InvariantCulture, "line {0}, column {1} (byte {2})", Line, Column, Offset);
        }
    }

    /// <summary>One way a security message breaks the schema.</summary>
    public sealed class SchemaViolation
    {
        internal SchemaViolation(string pointer, string rule, string message, SchemaViolationPosition position)
        {
            Pointer = pointer;
            Rule = rule;
            Message = message;
            Position = position;
        }

        /// <summary>RFC 6901 JSON pointer to the value at fault, e.g.
        /// <c>/Events/0/Payload/0/UserId</c> (<c>""</c>: the whole body).</summary>
        public string Pointer { get; private set; }

        /// <summary>The schema keyword that failed (<c>required</c>, <c>type</c>, <c>enum</c>,
        /// <c>format</c>, ..., or <c>json</c> / <c>utf8</c> when the bytes cannot be read).</summary>
        public string Rule { get; private set; }

        /// <summary>A readable explanation.</summary>
        public string Message { get; private set; }

        /// <summary>For rules <c>json</c> and <c>utf8</c>: where reading stopped; else null.</summary>
        public SchemaViolationPosition Position { get; private set; }

        /// <inheritdoc/>
        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.Append(Pointer.Length == 0 ? "(body)" : Pointer).Append(" [").Append(Rule).Append("] ").Append(Message);
            if (Position != null) sb.Append(" at ").Append(Position);
            return sb.ToString();
        }

        internal static IReadOnlyList<SchemaViolation> ParseList(string json)
        {
            var result = new List<SchemaViolation>();
            if (string.IsNullOrEmpty(json)) return result;
            var list = Json.Parse(json) as List<object>;
            if (list == null) return result;
            foreach (var item in list)
            {
                var o = item as JsonObject;
                if (o == null) continue;
                SchemaViolationPosition position = null;
                var p = o.Get("position") as JsonObject;
                if (p != null)
                {
                    position = new SchemaViolationPosition(Number(p, "offset"), Number(p, "line"), Number(p, "column"));
                }
                result.Add(new SchemaViolation(o.GetString("pointer") ?? "", o.GetString("rule") ?? "", o.GetString("message") ?? "", position));
            }
            return result;
        }

        private static long Number(JsonObject o, string name)
        {
            var n = o.Get(name) as JsonNumber;
            return n == null ? 0 : n.ToInt64();
        }
    }
}
