//! Schema validation and the security-message builder, for `validate()`, `isValid()` and the
//! JS `SecurityMessage` / `Event` classes.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use iotsec::schema::{self, Event, EventKind, SecurityMessage};

use crate::js;

/// Every way `data` (string or Buffer) breaks the security-message schema; `[]` means valid.
#[napi(catch_unwind)]
pub fn validate<'env>(env: &'env Env, data: Unknown<'_>) -> Result<Unknown<'env>> {
    let raw = env.raw();
    let body = js::bytes(raw, data.raw(), "data").map_err(|e| js::throw(raw, &e))?;
    let v = js::violations(raw, &schema::validate(&body))?;
    Ok(unsafe { Unknown::from_raw_unchecked(raw, v) })
}

/// Whether `data` is a valid security message (the fast check the send path uses).
#[napi(js_name = "isValid", catch_unwind)]
pub fn is_valid(env: Env, data: Unknown<'_>) -> Result<bool> {
    let raw = env.raw();
    let body = js::bytes(raw, data.raw(), "data").map_err(|e| js::throw(raw, &e))?;
    Ok(schema::is_valid(&body))
}

/// The 14 event kinds as `[name, category, eventType]`.
#[napi(js_name = "eventKinds", catch_unwind)]
pub fn event_kinds() -> Vec<(String, String, String)> {
    EventKind::ALL.iter().map(|k| (k.name().to_string(), k.category().to_string(), k.event_type().to_string())).collect()
}

fn field<'a>(v: &'a Value, name: &str, at: &str) -> iotsec::Result<Option<&'a str>> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(iotsec::Error::invalid_argument(format!("{at}.{name} must be a string"))),
    }
}

fn build(agent_id: &str, agent_version: &str, events_json: &str) -> iotsec::Result<iotsec::Message> {
    let events: Value = serde_json::from_str(events_json)
        .map_err(|e| iotsec::Error::invalid_argument(format!("events could not be read: {e}")))?;
    let Value::Array(events) = events else {
        return Err(iotsec::Error::invalid_argument("events must be an array"));
    };
    let mut message = SecurityMessage::new(agent_id, agent_version);
    for (i, e) in events.into_iter().enumerate() {
        let at = format!("events[{i}]");
        let kind_name = field(&e, "kind", &at)?.ok_or_else(|| iotsec::Error::invalid_argument(format!("{at}.kind is missing")))?;
        let kind: EventKind = kind_name.parse().map_err(|err: iotsec::Error| err.context(format!("{at}.kind")))?;
        let mut event = Event::new(kind);
        event.set_id(field(&e, "id", &at)?.map(str::to_string));
        event.set_timestamp_local(field(&e, "timestampLocal", &at)?.map(str::to_string));
        event.set_timestamp_utc(field(&e, "timestampUtc", &at)?.map(str::to_string));
        match e.get("records") {
            None | Some(Value::Null) => {}
            Some(Value::Array(records)) => {
                for r in records {
                    event.push_raw_record(r.clone());
                }
            }
            Some(_) => return Err(iotsec::Error::invalid_argument(format!("{at}.records must be an array"))),
        }
        message.push(event);
    }
    message.build_message()
}

/// Builds and validates a security message. `events_json` is the JSON text of
/// `[{ kind, id?, timestampLocal?, timestampUtc?, records: [...] }]`. Returns
/// `{ body, contentType, contentEncoding, interfaceId }`; throws `SCHEMA_VALIDATION` (with
/// `violations`) when the result would break the schema.
#[napi(js_name = "buildSecurityMessage", catch_unwind)]
pub fn build_security_message<'env>(env: &'env Env, agent_id: String, agent_version: String, events_json: String) -> Result<Unknown<'env>> {
    let raw = env.raw();
    let message = build(&agent_id, &agent_version, &events_json).map_err(|e| js::throw(raw, &e))?;
    let o = js::object(raw)?;
    let body = std::str::from_utf8(message.body()).map_err(|_| {
        js::throw(raw, &iotsec::Error::new(iotsec::ErrorKind::Internal, "a built security message is not UTF-8"))
    })?;
    js::set(raw, o, c"body", js::string(raw, body)?)?;
    let opt = |s: Option<&str>| -> Result<js::Value> {
        match s {
            Some(s) => js::string(raw, s),
            None => js::undefined(raw),
        }
    };
    js::set(raw, o, c"contentType", opt(message.content_type())?)?;
    js::set(raw, o, c"contentEncoding", opt(message.content_encoding())?)?;
    js::set(raw, o, c"interfaceId", opt(message.interface_id())?)?;
    Ok(unsafe { Unknown::from_raw_unchecked(raw, o) })
}
