//! `IOTHUB_MESSAGE_HANDLE` and the `IoTHubMessage_*` functions of the Azure IoT C SDK, plus the
//! `iotsec_message_*` functions for what those lack.

use std::collections::HashMap;
use std::ffi::{c_char, c_uchar, CString};
use std::sync::{Arc, Mutex, MutexGuard};

use iotsec_core::{Error, ErrorKind, Identity, Message};

use crate::ffi::{
    arg_bytes, arg_opt_str, arg_str, c_string, guard, handle_id, handle_ptr, invalid, owned_c_string, set_last_error, Registry,
};
use crate::{iotsec_status, status_of};

/// The object behind an `IOTHUB_MESSAGE_HANDLE` (opaque to C).
pub struct IOTHUB_MESSAGE_HANDLE_DATA_TAG {
    _private: [u8; 0],
}

/// A device-to-cloud message: body bytes, system properties, custom properties and the
/// security flag.
///
/// Created by `IoTHubMessage_CreateFromByteArray`, `IoTHubMessage_CreateFromString`,
/// `IoTHubMessage_Clone` or `iotsec_security_message_create`; owned by the caller until
/// `IoTHubMessage_Destroy`. A handle is a registry key, not a pointer: a NULL, destroyed or
/// foreign handle is refused with an `*_INVALID_ARG` result (or NULL) instead of crashing.
/// One message must not be changed by two threads at once (reading and sending are safe).
pub type IOTHUB_MESSAGE_HANDLE = *mut IOTHUB_MESSAGE_HANDLE_DATA_TAG;

/// Result of the `IoTHubMessage_*` functions (same names and values as the Azure IoT C SDK).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOTHUB_MESSAGE_RESULT {
    /// Success.
    IOTHUB_MESSAGE_OK = 0,
    /// A NULL, destroyed or invalid argument (see `iotsec_last_error_message`).
    IOTHUB_MESSAGE_INVALID_ARG = 1,
    /// Text that is not UTF-8 where UTF-8 is required (a property name or value, a system property).
    IOTHUB_MESSAGE_INVALID_TYPE = 2,
    /// Any other failure.
    IOTHUB_MESSAGE_ERROR = 3,
}

/// How a message was created (same names and values as the Azure IoT C SDK).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOTHUBMESSAGE_CONTENT_TYPE {
    /// From a byte array: `IoTHubMessage_GetByteArray` works, `IoTHubMessage_GetString` gives NULL.
    IOTHUBMESSAGE_BYTEARRAY = 0,
    /// From a string: `IoTHubMessage_GetString` works, `IoTHubMessage_GetByteArray` fails.
    IOTHUBMESSAGE_STRING = 1,
    /// Not a valid message handle.
    IOTHUBMESSAGE_UNKNOWN = 2,
}

use IOTHUB_MESSAGE_RESULT::*;

/// A message as C sees it: the core message, how it was created, and NUL-terminated copies of
/// the strings getters handed out (valid until the value changes or the message is destroyed).
pub(crate) struct MessageData {
    pub(crate) message: Message,
    content: IOTHUBMESSAGE_CONTENT_TYPE,
    body_string: Option<CString>,
    handed_out: HashMap<String, CString>,
}

impl MessageData {
    pub(crate) fn new(message: Message, content: IOTHUBMESSAGE_CONTENT_TYPE) -> Self {
        // A string message's body came from a C string, so it holds no NUL.
        let body_string = match content {
            IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_STRING => CString::new(message.body().to_vec()).ok(),
            _ => None,
        };
        MessageData { message, content, body_string, handed_out: HashMap::new() }
    }

    /// A C string of `value` that stays valid while `slot` keeps that value.
    fn hand_out(&mut self, slot: String, value: Option<String>) -> *const c_char {
        let Some(value) = value else {
            return std::ptr::null();
        };
        let entry = self.handed_out.entry(slot).or_default();
        if entry.as_bytes() != value.as_bytes() {
            *entry = c_string(value);
        }
        entry.as_ptr()
    }
}

pub(crate) static MESSAGES: Registry<Mutex<MessageData>> = Registry::new();

/// The message behind `handle`.
pub(crate) fn lookup(function: &str, handle: IOTHUB_MESSAGE_HANDLE) -> Result<Arc<Mutex<MessageData>>, Error> {
    if handle.is_null() {
        return Err(invalid(function, "message handle", "is NULL"));
    }
    MESSAGES.get(handle_id(handle)).ok_or_else(|| invalid(function, "message handle", "is not a live message (destroyed, or not a message handle)"))
}

pub(crate) fn lock(m: &Mutex<MessageData>) -> MutexGuard<'_, MessageData> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers `data` and returns its new handle.
pub(crate) fn register(data: MessageData) -> IOTHUB_MESSAGE_HANDLE {
    handle_ptr(MESSAGES.insert(Arc::new(Mutex::new(data))))
}

/// `Ok` or the last error and the matching result code.
fn message_result(r: Result<(), Error>) -> IOTHUB_MESSAGE_RESULT {
    match r {
        Ok(()) => IOTHUB_MESSAGE_OK,
        Err(e) => {
            set_last_error(&e);
            match e.kind() {
                ErrorKind::InvalidArgument if e.message().contains("is not UTF-8") => IOTHUB_MESSAGE_INVALID_TYPE,
                ErrorKind::InvalidArgument => IOTHUB_MESSAGE_INVALID_ARG,
                _ => IOTHUB_MESSAGE_ERROR,
            }
        }
    }
}

fn null_on_error<T>(r: Result<*mut T, Error>) -> *mut T {
    r.unwrap_or_else(|e| {
        set_last_error(&e);
        std::ptr::null_mut()
    })
}

fn null_on_error_const<T>(r: Result<*const T, Error>) -> *const T {
    r.unwrap_or_else(|e| {
        set_last_error(&e);
        std::ptr::null()
    })
}

/// Sets a system property through the core message (`None` removes it).
fn set_system(message: &mut Message, function: &str, name: &str, value: Option<&str>) -> Result<(), Error> {
    let slot = system_slot(message, name).ok_or_else(|| {
        invalid(
            function,
            "name",
            &format!("`{name}` is not a system property; expected one of {}", SYSTEM_PROPERTIES.join(", ")),
        )
    })?;
    *slot = value.map(str::to_string);
    Ok(())
}

/// The system properties by the names every iotsec package uses (the wire vectors' field names).
const SYSTEM_PROPERTIES: [&str; 10] = [
    "message_id",
    "correlation_id",
    "user_id",
    "to",
    "content_type",
    "content_encoding",
    "output_name",
    "expiry_time_utc",
    "interface_id",
    "component_name",
];

fn system_slot<'m>(message: &'m mut Message, name: &str) -> Option<&'m mut Option<String>> {
    let p = message.system_properties_mut();
    Some(match name {
        "message_id" => &mut p.message_id,
        "correlation_id" => &mut p.correlation_id,
        "user_id" => &mut p.user_id,
        "to" => &mut p.to,
        "content_type" => &mut p.content_type,
        "content_encoding" => &mut p.content_encoding,
        "output_name" => &mut p.output_name,
        "expiry_time_utc" => &mut p.expiry_time_utc,
        "interface_id" => &mut p.interface_id,
        "component_name" => &mut p.component_name,
        _ => return None,
    })
}

/// Shared body of the `IoTHubMessage_Set*` functions for one system property.
///
/// # Safety
/// `value` is NULL or a NUL-terminated string.
unsafe fn set_system_property(function: &str, handle: IOTHUB_MESSAGE_HANDLE, name: &str, argument: &str, value: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    guard(function, IOTHUB_MESSAGE_ERROR, || {
        message_result((|| {
            let m = lookup(function, handle)?;
            // SAFETY: forwarded from the caller.
            let value = unsafe { arg_str(function, argument, value) }?;
            let mut data = lock(&m);
            set_system(&mut data.message, function, name, Some(value))
        })())
    })
}

/// Shared body of the `IoTHubMessage_Get*` functions for one system property.
fn get_system_property(function: &str, handle: IOTHUB_MESSAGE_HANDLE, name: &str) -> *const c_char {
    guard(function, std::ptr::null(), || {
        null_on_error_const((|| {
            let m = lookup(function, handle)?;
            let mut data = lock(&m);
            let value = system_slot(&mut data.message, name).and_then(|v| v.clone());
            Ok(data.hand_out(format!("system:{name}"), value))
        })())
    })
}

/// Creates a message whose body is a copy of `size` bytes at `byteArray` (its content type is
/// `IOTHUBMESSAGE_BYTEARRAY`). `byteArray` may be NULL when `size` is 0 (an empty body).
///
/// @return a new handle the caller owns (release it with `IoTHubMessage_Destroy`), or NULL on
/// invalid arguments (see `iotsec_last_error_message`).
///
/// # Safety
/// `byteArray` is NULL or points to `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_CreateFromByteArray(byteArray: *const c_uchar, size: usize) -> IOTHUB_MESSAGE_HANDLE {
    guard("IoTHubMessage_CreateFromByteArray", std::ptr::null_mut(), || {
        null_on_error((|| {
            // SAFETY: forwarded from the caller.
            let body = unsafe { arg_bytes("IoTHubMessage_CreateFromByteArray", "byteArray", byteArray, size) }?;
            Ok(register(MessageData::new(Message::from_slice(body), IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_BYTEARRAY)))
        })())
    })
}

/// Creates a message whose body is a copy of the NUL-terminated string `source` (without the
/// NUL; content type `IOTHUBMESSAGE_STRING`).
///
/// @return a new handle the caller owns, or NULL if `source` is NULL.
///
/// # Safety
/// `source` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_CreateFromString(source: *const c_char) -> IOTHUB_MESSAGE_HANDLE {
    guard("IoTHubMessage_CreateFromString", std::ptr::null_mut(), || {
        null_on_error((|| {
            if source.is_null() {
                return Err(invalid("IoTHubMessage_CreateFromString", "source", "is NULL"));
            }
            // SAFETY: the caller promises a NUL-terminated string.
            let bytes = unsafe { std::ffi::CStr::from_ptr(source) }.to_bytes();
            Ok(register(MessageData::new(Message::from_slice(bytes), IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_STRING)))
        })())
    })
}

/// Creates an independent copy of a message (body, properties, security flag, content type).
///
/// @return a new handle the caller owns, or NULL for an invalid handle.
#[no_mangle]
pub extern "C" fn IoTHubMessage_Clone(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> IOTHUB_MESSAGE_HANDLE {
    guard("IoTHubMessage_Clone", std::ptr::null_mut(), || {
        null_on_error((|| {
            let m = lookup("IoTHubMessage_Clone", iotHubMessageHandle)?;
            let data = lock(&m);
            Ok(register(MessageData::new(data.message.clone(), data.content)))
        })())
    })
}

/// Releases a message. Strings and byte arrays obtained from its getters become invalid.
/// NULL, or a handle already destroyed, is ignored. A message given to `*_SendEventAsync` was
/// copied, so it may be destroyed right after that call returns.
#[no_mangle]
pub extern "C" fn IoTHubMessage_Destroy(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) {
    guard("IoTHubMessage_Destroy", (), || {
        MESSAGES.remove(handle_id(iotHubMessageHandle));
    })
}

/// Points `*buffer` at the body and sets `*size` to its length. Only for messages created from
/// a byte array (`IOTHUB_MESSAGE_INVALID_ARG` for string messages, as in the C SDK; see
/// `iotsec_message_get_body` for any message). The bytes stay valid until the message is
/// destroyed; do not modify them.
///
/// # Safety
/// `buffer` and `size` are NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_GetByteArray(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, buffer: *mut *const c_uchar, size: *mut usize) -> IOTHUB_MESSAGE_RESULT {
    const F: &str = "IoTHubMessage_GetByteArray";
    guard(F, IOTHUB_MESSAGE_ERROR, || {
        message_result((|| {
            let m = lookup(F, iotHubMessageHandle)?;
            if buffer.is_null() {
                return Err(invalid(F, "buffer", "is NULL"));
            }
            if size.is_null() {
                return Err(invalid(F, "size", "is NULL"));
            }
            let data = lock(&m);
            if data.content != IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_BYTEARRAY {
                return Err(invalid(F, "message handle", "is a string message; use IoTHubMessage_GetString"));
            }
            // SAFETY: both checked non-NULL; the caller promises they are writable.
            unsafe {
                *buffer = data.message.body().as_ptr();
                *size = data.message.body().len();
            }
            Ok(())
        })())
    })
}

/// The body of a message created from a string, NUL-terminated; NULL for byte-array messages
/// and invalid handles. Valid until the message is destroyed.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetString(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    guard("IoTHubMessage_GetString", std::ptr::null(), || {
        null_on_error_const((|| {
            let m = lookup("IoTHubMessage_GetString", iotHubMessageHandle)?;
            let data = lock(&m);
            Ok(data.body_string.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()))
        })())
    })
}

/// How the message was created; `IOTHUBMESSAGE_UNKNOWN` for an invalid handle.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetContentType(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> IOTHUBMESSAGE_CONTENT_TYPE {
    guard("IoTHubMessage_GetContentType", IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_UNKNOWN, || {
        match lookup("IoTHubMessage_GetContentType", iotHubMessageHandle) {
            Ok(m) => lock(&m).content,
            Err(e) => {
                set_last_error(&e);
                IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_UNKNOWN
            }
        }
    })
}

/// Sets the message id (`$.mid`). The string is copied.
///
/// # Safety
/// `messageId` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetMessageId(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, messageId: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_system_property("IoTHubMessage_SetMessageId", iotHubMessageHandle, "message_id", "messageId", messageId) }
}

/// The message id, or NULL if not set. Valid until it changes or the message is destroyed.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetMessageId(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    get_system_property("IoTHubMessage_GetMessageId", iotHubMessageHandle, "message_id")
}

/// Sets the correlation id (`$.cid`). The string is copied.
///
/// # Safety
/// `correlationId` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetCorrelationId(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, correlationId: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_system_property("IoTHubMessage_SetCorrelationId", iotHubMessageHandle, "correlation_id", "correlationId", correlationId) }
}

/// The correlation id, or NULL if not set. Valid until it changes or the message is destroyed.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetCorrelationId(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    get_system_property("IoTHubMessage_GetCorrelationId", iotHubMessageHandle, "correlation_id")
}

/// Sets the content type (`$.ct`, e.g. `application/json`). The string is copied.
///
/// # Safety
/// `contentType` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetContentTypeSystemProperty(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, contentType: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_system_property("IoTHubMessage_SetContentTypeSystemProperty", iotHubMessageHandle, "content_type", "contentType", contentType) }
}

/// The content type, or NULL if not set.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetContentTypeSystemProperty(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    get_system_property("IoTHubMessage_GetContentTypeSystemProperty", iotHubMessageHandle, "content_type")
}

/// Sets the content encoding (`$.ce`, e.g. `utf-8`). The string is copied.
///
/// # Safety
/// `contentEncoding` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetContentEncodingSystemProperty(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, contentEncoding: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe {
        set_system_property("IoTHubMessage_SetContentEncodingSystemProperty", iotHubMessageHandle, "content_encoding", "contentEncoding", contentEncoding)
    }
}

/// The content encoding, or NULL if not set.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetContentEncodingSystemProperty(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    get_system_property("IoTHubMessage_GetContentEncodingSystemProperty", iotHubMessageHandle, "content_encoding")
}

/// Sets the user id (`$.uid`). The string is copied.
///
/// # Safety
/// `userId` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetMessageUserIdSystemProperty(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, userId: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_system_property("IoTHubMessage_SetMessageUserIdSystemProperty", iotHubMessageHandle, "user_id", "userId", userId) }
}

/// The user id, or NULL if not set.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetMessageUserIdSystemProperty(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    get_system_property("IoTHubMessage_GetMessageUserIdSystemProperty", iotHubMessageHandle, "user_id")
}

/// Sets the output name (`$.on`, a module's output). The string is copied.
///
/// # Safety
/// `outputName` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetOutputName(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE, outputName: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    // SAFETY: forwarded from the caller.
    unsafe { set_system_property("IoTHubMessage_SetOutputName", iotHubMessageHandle, "output_name", "outputName", outputName) }
}

/// The output name, or NULL if not set.
#[no_mangle]
pub extern "C" fn IoTHubMessage_GetOutputName(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> *const c_char {
    get_system_property("IoTHubMessage_GetOutputName", iotHubMessageHandle, "output_name")
}

/// Sets custom (application) property `key` to `value`; an existing key keeps its place and
/// takes the new value. Both strings are copied. Unlike the C SDK (printable ASCII only), any
/// UTF-8 is accepted and percent-encoded on the wire; bytes that are not UTF-8 give
/// `IOTHUB_MESSAGE_INVALID_TYPE`.
///
/// # Safety
/// `key` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_SetProperty(msg_handle: IOTHUB_MESSAGE_HANDLE, key: *const c_char, value: *const c_char) -> IOTHUB_MESSAGE_RESULT {
    const F: &str = "IoTHubMessage_SetProperty";
    guard(F, IOTHUB_MESSAGE_ERROR, || {
        message_result((|| {
            let m = lookup(F, msg_handle)?;
            // SAFETY: forwarded from the caller.
            let key = unsafe { arg_str(F, "key", key) }?;
            // SAFETY: forwarded from the caller.
            let value = unsafe { arg_str(F, "value", value) }?;
            if key.is_empty() {
                return Err(invalid(F, "key", "is empty"));
            }
            lock(&m).message.set_property(key, value);
            Ok(())
        })())
    })
}

/// The value of custom property `key`, or NULL if it is not set. Valid until the property
/// changes or the message is destroyed.
///
/// # Safety
/// `key` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn IoTHubMessage_GetProperty(msg_handle: IOTHUB_MESSAGE_HANDLE, key: *const c_char) -> *const c_char {
    const F: &str = "IoTHubMessage_GetProperty";
    guard(F, std::ptr::null(), || {
        null_on_error_const((|| {
            let m = lookup(F, msg_handle)?;
            // SAFETY: forwarded from the caller.
            let key = unsafe { arg_str(F, "key", key) }?;
            let mut data = lock(&m);
            let value = data.message.property(key).map(str::to_string);
            Ok(data.hand_out(format!("property:{key}"), value))
        })())
    })
}

/// Marks the message as a security message: sets the interface id (`$.ifid`) to
/// `urn:azureiot:Security:SecurityAgent:1`. Nothing else changes. (The C SDK also overwrites
/// the content encoding with `application/json`; iotsec does not, like the C#, Python and Node
/// SDKs.) A security message's body is checked against the schema when it is sent.
#[no_mangle]
pub extern "C" fn IoTHubMessage_SetAsSecurityMessage(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> IOTHUB_MESSAGE_RESULT {
    guard("IoTHubMessage_SetAsSecurityMessage", IOTHUB_MESSAGE_ERROR, || {
        message_result((|| {
            let m = lookup("IoTHubMessage_SetAsSecurityMessage", iotHubMessageHandle)?;
            lock(&m).message.set_as_security_message();
            Ok(())
        })())
    })
}

/// Whether the message is a security message (false for an invalid handle).
#[no_mangle]
pub extern "C" fn IoTHubMessage_IsSecurityMessage(iotHubMessageHandle: IOTHUB_MESSAGE_HANDLE) -> bool {
    guard("IoTHubMessage_IsSecurityMessage", false, || match lookup("IoTHubMessage_IsSecurityMessage", iotHubMessageHandle) {
        Ok(m) => lock(&m).message.is_security_message(),
        Err(e) => {
            set_last_error(&e);
            false
        }
    })
}

/// Sets or removes (`value` NULL) a system property by its iotsec name: `message_id`,
/// `correlation_id`, `user_id`, `to`, `content_type`, `content_encoding`, `output_name`,
/// `expiry_time_utc` (ISO 8601, sent verbatim), `interface_id` or `component_name`.
///
/// @return `IOTSEC_OK` or an error code (details in `iotsec_last_error_message`).
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn iotsec_message_set_system_property(message: IOTHUB_MESSAGE_HANDLE, name: *const c_char, value: *const c_char) -> iotsec_status {
    const F: &str = "iotsec_message_set_system_property";
    guard(F, crate::IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let m = lookup(F, message)?;
            // SAFETY: forwarded from the caller.
            let name = unsafe { arg_str(F, "name", name) }?;
            // SAFETY: forwarded from the caller.
            let value = unsafe { arg_opt_str(F, "value", value) }?;
            let mut data = lock(&m);
            set_system(&mut data.message, F, name, value)
        })())
    })
}

/// A system property by its iotsec name (see `iotsec_message_set_system_property`), or NULL if
/// it is not set (`iotsec_last_error_kind` tells an unknown name from an unset property).
/// Valid until the property changes or the message is destroyed.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn iotsec_message_get_system_property(message: IOTHUB_MESSAGE_HANDLE, name: *const c_char) -> *const c_char {
    const F: &str = "iotsec_message_get_system_property";
    guard(F, std::ptr::null(), || {
        null_on_error_const((|| {
            let m = lookup(F, message)?;
            // SAFETY: forwarded from the caller.
            let name = unsafe { arg_str(F, "name", name) }?;
            let mut data = lock(&m);
            let value = match system_slot(&mut data.message, name) {
                Some(v) => v.clone(),
                None => return Err(invalid(F, "name", &format!("`{name}` is not a system property"))),
            };
            Ok(data.hand_out(format!("system:{name}"), value))
        })())
    })
}

/// Removes custom property `key` (nothing happens if it is not set).
///
/// # Safety
/// `key` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn iotsec_message_remove_property(message: IOTHUB_MESSAGE_HANDLE, key: *const c_char) -> iotsec_status {
    const F: &str = "iotsec_message_remove_property";
    guard(F, crate::IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let m = lookup(F, message)?;
            // SAFETY: forwarded from the caller.
            let key = unsafe { arg_str(F, "key", key) }?;
            lock(&m).message.remove_property(key);
            Ok(())
        })())
    })
}

/// The custom properties as a JSON array of `[name, value]` pairs, in insertion order.
///
/// @return a string the caller frees with `iotsec_string_free`, or NULL for an invalid handle.
#[no_mangle]
pub extern "C" fn iotsec_message_properties_json(message: IOTHUB_MESSAGE_HANDLE) -> *mut c_char {
    const F: &str = "iotsec_message_properties_json";
    guard(F, std::ptr::null_mut(), || {
        null_on_error((|| {
            let m = lookup(F, message)?;
            let data = lock(&m);
            let pairs: Vec<[&str; 2]> = data.message.properties().iter().map(|(k, v)| [k.as_str(), v.as_str()]).collect();
            let json = serde_json::to_string(&pairs).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
            Ok(owned_c_string(json))
        })())
    })
}

/// Points `*body` at the message body and sets `*size` to its length, whatever way the message
/// was created. Valid until the message is destroyed.
///
/// # Safety
/// `body` and `size` are NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn iotsec_message_get_body(message: IOTHUB_MESSAGE_HANDLE, body: *mut *const u8, size: *mut usize) -> iotsec_status {
    const F: &str = "iotsec_message_get_body";
    guard(F, crate::IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            let m = lookup(F, message)?;
            if body.is_null() {
                return Err(invalid(F, "body", "is NULL"));
            }
            if size.is_null() {
                return Err(invalid(F, "size", "is NULL"));
            }
            let data = lock(&m);
            // SAFETY: both checked non-NULL; the caller promises they are writable.
            unsafe {
                *body = data.message.body().as_ptr();
                *size = data.message.body().len();
            }
            Ok(())
        })())
    })
}

/// The MQTT topic this message would be published on by device `device_id` (and module
/// `module_id`, or NULL for a device): the telemetry topic with its property bag, exactly the
/// bytes iotsec sends. Fails (NULL) when the message is too large or a property name is empty.
///
/// @return a string the caller frees with `iotsec_string_free`, or NULL on error.
///
/// # Safety
/// `device_id` and `module_id` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn iotsec_message_topic(message: IOTHUB_MESSAGE_HANDLE, device_id: *const c_char, module_id: *const c_char) -> *mut c_char {
    const F: &str = "iotsec_message_topic";
    guard(F, std::ptr::null_mut(), || {
        null_on_error((|| {
            let m = lookup(F, message)?;
            // SAFETY: forwarded from the caller.
            let device = unsafe { arg_str(F, "device_id", device_id) }?;
            // SAFETY: forwarded from the caller.
            let module = unsafe { arg_opt_str(F, "module_id", module_id) }?;
            let identity = match module {
                Some(module) => Identity::module(device, module)?,
                None => Identity::device(device)?,
            };
            let topic = iotsec_core::topic::telemetry_topic(&identity, &lock(&m).message)?;
            Ok(owned_c_string(topic))
        })())
    })
}
