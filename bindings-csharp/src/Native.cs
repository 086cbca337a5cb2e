// Marshalling by hand (netstandard2.0 has neither UnmanagedType.LPUTF8Str nor
// Marshal.PtrToStringUTF8), the per-thread last error of libiotsec turned into exceptions, and
// the process-exit hook that stops iotsec's threads.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace IotSec.Devices.Client.Internal
{
    internal static class Utf8
    {
        /// <summary>Strict UTF-8: a lone surrogate is an error, not a silent U+FFFD.</summary>
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>NUL-terminated UTF-8 bytes of <paramref name="value"/> (null stays null).</summary>
        /// <exception cref="ArgumentException">the text holds a NUL character or a lone surrogate.</exception>
        internal static byte[] ToNative(string value, string paramName)
        {
            if (value == null) return null;
            if (value.IndexOf('\0') >= 0)
                throw new IotSecArgumentException(ErrorCode.InvalidArgument, paramName + " contains a NUL character, which C strings cannot carry", paramName);
            int length;
            try
            {
                length = Strict.GetByteCount(value);
            }
            catch (EncoderFallbackException)
            {
                throw new IotSecArgumentException(ErrorCode.InvalidArgument, paramName + " is not valid Unicode (it contains a lone surrogate)", paramName);
            }
            var bytes = new byte[length + 1];
            Strict.GetBytes(value, 0, value.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The UTF-8 text at <paramref name="ptr"/> (null for NULL); does not free it.</summary>
        internal static string FromNative(IntPtr ptr)
        {
            if (ptr == IntPtr.Zero) return null;
            int length = 0;
            while (Marshal.ReadByte(ptr, length) != 0) length++;
            if (length == 0) return string.Empty;
            var bytes = new byte[length];
            Marshal.Copy(ptr, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Reads a caller-owned <c>char*</c> result and frees it.</summary>
        internal static string FromOwned(IntPtr ptr)
        {
            if (ptr == IntPtr.Zero) return null;
            try
            {
                return FromNative(ptr);
            }
            finally
            {
                NativeMethods.iotsec_string_free(ptr);
            }
        }
    }

    /// <summary>Turns libiotsec's last error into the exception C# users expect.</summary>
    internal static class Errors
    {
        /// <summary>The calling thread's last error. Call it right after the failing call, on the
        /// same thread, before any other iotsec call.</summary>
        internal static Exception Last(string paramName, string objectName = null)
        {
            uint kind = NativeMethods.iotsec_last_error_kind();
            string text = Utf8.FromNative(NativeMethods.iotsec_last_error_message());
            IReadOnlyList<SchemaViolation> violations = null;
            if (kind == (uint)ErrorCode.SchemaValidation)
                violations = SchemaViolation.ParseList(Utf8.FromNative(NativeMethods.iotsec_last_error_violations_json()));
            if (kind == NativeMethods.IOTSEC_OK)
                return new IotSecException(ErrorCode.Internal, "iotsec reported a failure without an error (a bug in iotsec; please report it)");
            return Create(kind, text, violations, paramName, objectName);
        }

        internal static Exception Create(uint kind, string text, IReadOnlyList<SchemaViolation> violations, string paramName, string objectName = null)
        {
            if (string.IsNullOrEmpty(text)) text = "iotsec error " + ErrorNames.Of(kind);
            var code = (ErrorCode)kind;
            switch (code)
            {
                case ErrorCode.InvalidArgument:
                case ErrorCode.InvalidConnectionString:
                case ErrorCode.InvalidCredential:
                    return new IotSecArgumentException(code, text, paramName);
                case ErrorCode.SchemaValidation:
                    return new SchemaValidationException(text, violations ?? new SchemaViolation[0]);
                case ErrorCode.MessageTooLarge:
                    return new MessageTooLargeException(text);
                case ErrorCode.Timeout:
                    return new IotSecTimeoutException(text);
                case ErrorCode.Closed:
                    return new IotSecObjectDisposedException(objectName, text);
                default:
                    if (!Enum.IsDefined(typeof(ErrorCode), code)) code = ErrorCode.Internal;
                    return new IotSecException(code, text);
            }
        }
    }

    internal static class ErrorNames
    {
        internal static string Of(uint kind)
        {
            try
            {
                return Utf8.FromNative(NativeMethods.iotsec_error_kind_name(kind)) ?? kind.ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception)
            {
                return kind.ToString(CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>Stops iotsec's threads when the process exits or the AppDomain unloads: Mono
    /// waits forever at exit for native threads that ever ran managed code (the send callbacks),
    /// and iotsec's runtime threads never end on their own.</summary>
    internal static class NativeLifetime
    {
        private static readonly object Gate = new object();
        private static volatile bool registered;

        /// <summary>Registers the exit hooks (once) and checks that libiotsec can be loaded.</summary>
        internal static void Ensure()
        {
            if (registered) return;
            lock (Gate)
            {
                if (registered) return;
                try
                {
                    NativeMethods.iotsec_version();
                }
                catch (DllNotFoundException e)
                {
                    throw new DllNotFoundException(
                        "libiotsec.so was not found: put it beside IotSec.dll, in runtimes/linux-x64/native/, or in a directory of LD_LIBRARY_PATH (" + e.Message + ")", e);
                }
                AppDomain.CurrentDomain.ProcessExit += OnExit;
                AppDomain.CurrentDomain.DomainUnload += OnExit;
                registered = true;
            }
        }

        private static void OnExit(object sender, EventArgs e)
        {
            try
            {
                NativeMethods.iotsec_shutdown();
            }
            catch (Exception)
            {
                // Nothing may escape an exit handler.
            }
        }
    }
}
