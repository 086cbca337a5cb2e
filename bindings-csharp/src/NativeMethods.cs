// P/Invoke declarations over libiotsec (bindings-c/include/iotsec.h). Strings go in as
// NUL-terminated UTF-8 byte arrays and come out as IntPtr read by hand (netstandard2.0 has no
// UTF-8 string marshalling). Handles are SafeHandles, so a handle cannot be destroyed while a
// call that uses it is running.
using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace IotSec.Devices.Client.Internal
{
    internal static class NativeMethods
    {
        private const string Lib = "iotsec";

        internal const uint IOTSEC_OK = 0;
        internal const uint IOTSEC_CLIENT_ANY = 0;
        internal const uint IOTSEC_CLIENT_DEVICE = 1;
        internal const uint IOTSEC_CLIENT_MODULE = 2;

        // IOTHUB_MESSAGE_RESULT
        internal const int IOTHUB_MESSAGE_OK = 0;

        // status of iotsec_connection_callback
        internal const uint IOTSEC_CONNECTION_STATUS_NONE = 0;
        internal const uint IOTSEC_CONNECTION_STATUS_CONNECTED = 1;
        internal const uint IOTSEC_CONNECTION_STATUS_DISCONNECTED_RETRYING = 2;
        internal const uint IOTSEC_CONNECTION_STATUS_DISCONNECTED = 3;

        // reason of iotsec_connection_callback
        internal const uint IOTSEC_REASON_CONNECTION_OK = 0;
        internal const uint IOTSEC_REASON_EXPIRED_SAS_TOKEN = 1;
        internal const uint IOTSEC_REASON_BAD_CREDENTIAL = 2;
        internal const uint IOTSEC_REASON_NO_NETWORK = 3;
        internal const uint IOTSEC_REASON_COMMUNICATION_ERROR = 4;
        internal const uint IOTSEC_REASON_CLIENT_CLOSE = 5;

        /// <summary><c>iotsec_send_callback</c>: status, error text (valid during the call), context.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void SendCallback(uint status, IntPtr errorMessage, IntPtr context);

        /// <summary><c>iotsec_connection_callback</c>: state, status, reason, reconnect attempt,
        /// error kind, error text (valid during the call), context.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void ConnectionCallback(uint state, uint status, uint reason, uint attempt, uint errorKind, IntPtr errorMessage, IntPtr context);

        // --- library ---
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_shutdown();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_last_error_kind();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_last_error_message();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_last_error_violations_json();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_error_kind_name(uint code);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void iotsec_string_free(IntPtr s);

        // --- schema ---
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_validate(byte[] body, UIntPtr size);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int iotsec_is_valid(byte[] body, UIntPtr size);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_security_message_build(byte[] agentId, byte[] agentVersion, byte[] eventsJson);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern MessageHandle iotsec_security_message_create(byte[] agentId, byte[] agentVersion, byte[] eventsJson);

        // --- messages ---
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern MessageHandle IoTHubMessage_CreateFromByteArray(byte[] bytes, UIntPtr size);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void IoTHubMessage_Destroy(IntPtr message);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int IoTHubMessage_SetProperty(MessageHandle message, byte[] key, byte[] value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr IoTHubMessage_GetProperty(MessageHandle message, byte[] key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int IoTHubMessage_SetAsSecurityMessage(MessageHandle message);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.I1)]
        internal static extern bool IoTHubMessage_IsSecurityMessage(MessageHandle message);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_message_set_system_property(MessageHandle message, byte[] name, byte[] value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_message_get_system_property(MessageHandle message, byte[] name);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_message_remove_property(MessageHandle message, byte[] key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr iotsec_message_properties_json(MessageHandle message);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_message_get_body(MessageHandle message, out IntPtr body, out UIntPtr size);


        // --- clients ---
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ClientHandle iotsec_client_create(byte[] connectionString, uint kind);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_client_set_option(ClientHandle client, byte[] name, byte[] value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_client_connect(ClientHandle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_client_disconnect(ClientHandle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_client_send_async(ClientHandle client, MessageHandle message, SendCallback callback, IntPtr context);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint iotsec_client_set_connection_callback(ClientHandle client, ConnectionCallback callback, IntPtr context);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void iotsec_client_destroy(IntPtr client);
    }

    /// <summary>An <c>IOTHUB_MESSAGE_HANDLE</c>; released with <c>IoTHubMessage_Destroy</c>.</summary>
    internal sealed class MessageHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private MessageHandle() : base(true) { }

        protected override bool ReleaseHandle()
        {
            NativeMethods.IoTHubMessage_Destroy(handle);
            return true;
        }
    }

    /// <summary>An <c>IOTHUB_CLIENT_CORE_HANDLE</c>; released with <c>iotsec_client_destroy</c>,
    /// which closes the connection and completes every pending send before it returns.</summary>
    internal sealed class ClientHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ClientHandle() : base(true) { }

        /// <summary>The <c>GCHandle</c> (weak) given to native code as the connection callback's
        /// context, or zero. Freed here, after <c>iotsec_client_destroy</c> returned: no
        /// callback runs after that, so native code never holds a freed context.</summary>
        internal IntPtr ConnectionContext;

        protected override bool ReleaseHandle()
        {
            NativeMethods.iotsec_client_destroy(handle);
            if (ConnectionContext != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(ConnectionContext).Free();
                ConnectionContext = IntPtr.Zero;
            }
            return true;
        }
    }
}
