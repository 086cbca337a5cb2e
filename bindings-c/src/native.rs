//! The `iotsec_*` functions that are not about one message or one client: version, errors,
//! schema validation, the security-message builder, shutdown; and `IoTHub_Init`/`IoTHub_Deinit`.

use std::ffi::{c_char, c_int, CString};
use std::time::Duration;

use iotsec_core::schema::{self, Event, EventKind, SecurityMessage};
use iotsec_core::{Error, ErrorKind};
use serde_json::Value;

use crate::client::CLIENTS;
use crate::ffi::{arg_bytes, arg_str, blocking_on_runtime_thread, guard, invalid, on_runtime_thread, owned_c_string, set_last_error};
use crate::message::{register, MessageData, IOTHUBMESSAGE_CONTENT_TYPE, IOTHUB_MESSAGE_HANDLE};
use crate::{iotsec_status, status_of, IOTSEC_ERROR_INTERNAL};

/// The iotsec version, e.g. `"0.1.0"` (static; do not free).
#[no_mangle]
pub extern "C" fn iotsec_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// The kind code of the calling thread's last error: `IOTSEC_OK` (0) when the last iotsec call
/// on this thread succeeded, else one of the `IOTSEC_ERROR_*` codes. Inside a send callback:
/// the outcome of that send.
#[no_mangle]
pub extern "C" fn iotsec_last_error_kind() -> iotsec_status {
    crate::ffi::last_error_kind()
}

/// The text of the calling thread's last error (it names the argument, option or connection
/// string key at fault, and never contains a key or signature), or NULL when the last iotsec
/// call on this thread succeeded. Valid until the next iotsec call on this thread; copy it to
/// keep it.
#[no_mangle]
pub extern "C" fn iotsec_last_error_message() -> *const c_char {
    crate::ffi::last_error_message()
}

/// The schema violations of the calling thread's last error as a JSON array of objects
/// `{"pointer", "rule", "message"[, "position"]}` (`"[]"` when the last error was not a schema
/// error). Valid until the next iotsec call on this thread.
#[no_mangle]
pub extern "C" fn iotsec_last_error_violations_json() -> *const c_char {
    crate::ffi::last_error_violations()
}

/// The stable name of an error kind code, e.g. `"SCHEMA_VALIDATION"` for 4, `"OK"` for 0, NULL
/// for an unknown code (static; do not free).
#[no_mangle]
pub extern "C" fn iotsec_error_kind_name(code: iotsec_status) -> *const c_char {
    if code == 0 {
        return c"OK".as_ptr();
    }
    static NAMES: std::sync::OnceLock<Vec<(u32, CString)>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| ErrorKind::ALL.iter().map(|k| (k.code(), crate::ffi::c_string(k.name().to_string()))).collect());
    names.iter().find(|(c, _)| *c == code).map_or(std::ptr::null(), |(_, n)| n.as_ptr())
}

/// Frees a string iotsec returned as `char*` (NULL is ignored). Never pass other pointers.
///
/// # Safety
/// `s` is NULL or a string returned by an iotsec function documented as "caller frees", not
/// yet freed.
#[no_mangle]
pub unsafe extern "C" fn iotsec_string_free(s: *mut c_char) {
    guard("iotsec_string_free", (), || {
        if !s.is_null() {
            // SAFETY: the caller passes a string iotsec allocated with CString::into_raw.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Validates a security message body against the published schema (JSON Schema draft-07,
/// 14 event types).
///
/// @return a JSON array of violations, `[]` when the body is valid, each
/// `{"pointer": "/Events/0/Payload/0/UserId", "rule": "required", "message": "..."}` (bodies
/// that are not UTF-8 or not JSON get one violation with a `"position"`); the caller frees it
/// with `iotsec_string_free`. NULL when `body` is NULL with a non-zero size.
///
/// # Safety
/// `body` is NULL or points to `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn iotsec_validate(body: *const u8, size: usize) -> *mut c_char {
    const F: &str = "iotsec_validate";
    guard(F, std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let r = unsafe { arg_bytes(F, "body", body, size) }.and_then(|bytes| {
            serde_json::to_string(&schema::validate(bytes)).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
        });
        match r {
            Ok(json) => owned_c_string(json),
            Err(e) => {
                set_last_error(&e);
                std::ptr::null_mut()
            }
        }
    })
}

/// Whether a body is a valid security message: 1 valid, 0 invalid, -1 invalid arguments. The
/// fast check (no explanation); use `iotsec_validate` to learn why a body is invalid.
///
/// # Safety
/// `body` is NULL or points to `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn iotsec_is_valid(body: *const u8, size: usize) -> i32 {
    const F: &str = "iotsec_is_valid";
    guard(F, -1, || {
        // SAFETY: forwarded from the caller.
        match unsafe { arg_bytes(F, "body", body, size) } {
            Ok(bytes) => i32::from(schema::is_valid(bytes)),
            Err(e) => {
                set_last_error(&e);
                -1
            }
        }
    })
}

/// Reads `events_json`: an array of `{"name": "<event name>", "records": [<payload objects>],
/// "id"?, "timestamp_local"?, "timestamp_utc"?}`.
fn events_from_json(function: &str, text: &str) -> Result<Vec<Event>, Error> {
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(function, "events_json", &format!("is not JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(invalid(function, "events_json", "must be a JSON array of events"));
    };
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("events_json[{i}]");
        let Value::Object(fields) = item else {
            return Err(invalid(function, &at, "must be an object {\"name\", \"records\", ...}"));
        };
        let mut kind = None;
        let mut records = Vec::new();
        let (mut id, mut local, mut utc) = (None, None, None);
        let text_field = |key: &str, v: Value| match v {
            Value::String(s) => Ok(s),
            _ => Err(invalid(function, &format!("{at}.{key}"), "must be a string")),
        };
        for (key, v) in fields {
            match key.as_str() {
                "name" => {
                    let name = text_field("name", v)?;
                    kind = Some(name.parse::<EventKind>().map_err(|e| e.context(format!("{function}: {at}.name")))?);
                }
                "records" => match v {
                    Value::Array(r) => records = r,
                    _ => return Err(invalid(function, &format!("{at}.records"), "must be an array of record objects")),
                },
                "id" => id = Some(text_field("id", v)?),
                "timestamp_local" => local = Some(text_field("timestamp_local", v)?),
                "timestamp_utc" => utc = Some(text_field("timestamp_utc", v)?),
                other => {
                    return Err(invalid(
                        function,
                        &at,
                        &format!("has an unknown key `{other}`; expected name, records, id, timestamp_local, timestamp_utc"),
                    ))
                }
            }
        }
        let Some(kind) = kind else {
            return Err(invalid(function, &format!("{at}.name"), "is missing"));
        };
        let mut event = Event::new(kind);
        for record in records {
            event.push_raw_record(record);
        }
        event.set_id(id).set_timestamp_local(local).set_timestamp_utc(utc);
        events.push(event);
    }
    Ok(events)
}

/// # Safety
/// All three arguments are NULL or NUL-terminated strings.
unsafe fn security_message(function: &str, agent_id: *const c_char, agent_version: *const c_char, events_json: *const c_char) -> Result<SecurityMessage, Error> {
    // SAFETY: forwarded from the caller.
    let (agent_id, agent_version, events_json) = unsafe {
        (arg_str(function, "agent_id", agent_id)?, arg_str(function, "agent_version", agent_version)?, arg_str(function, "events_json", events_json)?)
    };
    let mut message = SecurityMessage::new(agent_id, agent_version);
    message.events = events_from_json(function, events_json)?;
    Ok(message)
}

/// Builds a security message body with the typed builder: `MessageSchemaVersion`, each event's
/// `Name`/`Category`/`EventType`/`IsEmpty`/`PayloadSchemaVersion` derived from its name, missing
/// ids and timestamps filled in, then validated.
///
/// @param agent_id the agent's GUID (36 characters).
/// @param agent_version e.g. `"1.0.0"`.
/// @param events_json a JSON array of events, each
/// `{"name": "ProcessCreate", "records": [{"Executable": "...", ...}], "id"?: "...",
/// "timestamp_local"?: "...", "timestamp_utc"?: "..."}`.
/// @return the body as compact JSON (caller frees with `iotsec_string_free`), or NULL: bad
/// arguments (`IOTSEC_ERROR_INVALID_ARGUMENT`, naming the field) or a message that breaks the
/// schema (`IOTSEC_ERROR_SCHEMA_VALIDATION`; see `iotsec_last_error_violations_json`).
///
/// # Safety
/// All three arguments are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn iotsec_security_message_build(agent_id: *const c_char, agent_version: *const c_char, events_json: *const c_char) -> *mut c_char {
    const F: &str = "iotsec_security_message_build";
    guard(F, std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let r = unsafe { security_message(F, agent_id, agent_version, events_json) }
            .and_then(|m| m.build())
            .and_then(|body| String::from_utf8(body).map_err(|e| Error::new(ErrorKind::Internal, e.to_string())));
        match r {
            Ok(body) => owned_c_string(body),
            Err(e) => {
                set_last_error(&e);
                std::ptr::null_mut()
            }
        }
    })
}

/// Like `iotsec_security_message_build`, but returns a message ready to send: the validated
/// body, flagged as a security message, content type `application/json`, content encoding
/// `utf-8`.
///
/// @return a new message handle the caller owns (release with `IoTHubMessage_Destroy`), or NULL.
///
/// # Safety
/// All three arguments are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn iotsec_security_message_create(
    agent_id: *const c_char,
    agent_version: *const c_char,
    events_json: *const c_char,
) -> IOTHUB_MESSAGE_HANDLE {
    const F: &str = "iotsec_security_message_create";
    guard(F, std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let r = unsafe { security_message(F, agent_id, agent_version, events_json) }.and_then(|m| m.build_message());
        match r {
            Ok(message) => register(MessageData::new(message, IOTHUBMESSAGE_CONTENT_TYPE::IOTHUBMESSAGE_BYTEARRAY)),
            Err(e) => {
                set_last_error(&e);
                std::ptr::null_mut()
            }
        }
    })
}

/// Stops iotsec's threads: closes every client's connection (sends not yet acknowledged
/// complete with an error), then stops the shared runtime, waiting up to 5 s for running
/// callbacks. Handles stay valid: a later send or connect starts everything again. Call it
/// before a process exits where lingering threads matter (Mono waits for them forever), after
/// destroying the clients. Not allowed in a callback (`IOTSEC_ERROR_INVALID_ARGUMENT`).
#[no_mangle]
pub extern "C" fn iotsec_shutdown() -> iotsec_status {
    const F: &str = "iotsec_shutdown";
    guard(F, IOTSEC_ERROR_INTERNAL, || {
        status_of((|| {
            if on_runtime_thread() {
                return Err(blocking_on_runtime_thread(F));
            }
            for cell in CLIENTS.all() {
                cell.reset();
            }
            iotsec_core::runtime::shutdown(Duration::from_secs(5));
            Ok(())
        })())
    })
}

/// The C SDK's platform initialisation: turns on the log on standard error when the
/// environment asks for it (`IOTSEC_LOG=trace`, or a level or filter; clients do this too when
/// they are created); returns 0.
#[no_mangle]
pub extern "C" fn IoTHub_Init() -> c_int {
    let _ = std::panic::catch_unwind(iotsec_core::client::init_logging_from_env);
    0
}

/// The C SDK's platform teardown: `iotsec_shutdown()`.
#[no_mangle]
pub extern "C" fn IoTHub_Deinit() {
    let _ = iotsec_shutdown();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_json_names_the_field_at_fault() {
        let e = events_from_json("f", r#"[{"name":"ProcessCreate","record":[]}]"#).unwrap_err();
        assert!(e.message().contains("events_json[0]") && e.message().contains("`record`"), "{e}");
        let e = events_from_json("f", r#"[{"name":"NoSuchEvent"}]"#).unwrap_err();
        assert!(e.message().contains("events_json[0].name") && e.message().contains("ProcessCreate"), "{e}");
        let e = events_from_json("f", r#"{"name":"Login"}"#).unwrap_err();
        assert!(e.message().contains("array"), "{e}");
        let events = events_from_json("f", r#"[{"name":"ListeningPorts","records":[],"id":"x"}]"#).unwrap();
        assert_eq!(events[0].kind(), EventKind::ListeningPorts);
        assert!(events[0].is_empty());
    }
}
