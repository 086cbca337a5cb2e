//! The validators, compiled once from the embedded files.
//!
//! One validator for the whole message decides validity fast. Because its errors all collapse
//! into one `oneOf` failure at the root, the detailed pass uses further validators, one per part
//! of the message (envelope, generic event, the IsEmpty/Category rule, each event type), all
//! compiled against the same registry so every `$ref` resolves to the published files.
//!
//! Settings that matter (see PITFALLS.md): every file is a Draft 7 resource and Draft 7 is
//! forced, because only `message_v1_0.json` declares its draft and the other files would
//! otherwise lose format checking (the IPv4-or-IPv6 rule is a `oneOf` that rejects every address
//! without formats); formats are asserted; `date-time` is Microsoft's lenient form
//! ([`super::datetime`]); no reference is ever fetched.

use std::sync::LazyLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{json, Value};

use super::datetime::is_date_time;
use super::fast::FastJson;
use super::files::{FILES, MESSAGE_V1_0, ROOT};
use super::kind::EventKind;

/// Every validator iotsec uses. All but `root` read the borrowed tree of [`super::fast`].
pub(crate) struct Compiled {
    /// `messageRoot.json`: the whole message, for callers holding a `serde_json::Value`.
    pub root: Validator,
    /// The same, for the borrowed tree.
    pub fast_root: Validator<FastJson>,
    /// The envelope of `message_v1_0.json` with the per-event schema taken out.
    pub envelope: Validator<FastJson>,
    /// The generic event (`allOf/0`): members, types, timestamps, GUID.
    pub event: Validator<FastJson>,
    /// The IsEmpty/Category rule (`allOf/1`).
    pub empty_rule: Validator<FastJson>,
    /// One per [`EventKind`], in [`EventKind::ALL`] order.
    pub kinds: Vec<Validator<FastJson>>,
}

/// JSON pointer (inside `message_v1_0.json`) of the schema every event must match.
const EVENT_ITEM: &str = "/properties/Events/items/oneOf/0/allOf";

static COMPILED: LazyLock<Result<Compiled, String>> = LazyLock::new(compile);

/// The compiled validators, or why the embedded schemas could not be compiled (a bug: a test
/// compiles them on every build, so this is `Err` only if the embedded files were broken).
pub(crate) fn compiled() -> Result<&'static Compiled, &'static str> {
    COMPILED.as_ref().map_err(String::as_str)
}

fn compile() -> Result<Compiled, String> {
    let mut resources = Vec::with_capacity(FILES.len());
    let mut message = Value::Null;
    for (name, text) in FILES {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        if name == MESSAGE_V1_0 {
            message = value.clone();
        }
        resources.push((name, Draft::Draft7.create_resource(value)));
    }
    let registry = Registry::new()
        .draft(Draft::Draft7)
        .extend(resources)
        .and_then(|b| b.prepare())
        .map_err(|e| format!("schema registry: {e}"))?;

    // The same settings for both instance representations.
    macro_rules! options {
        ($options:expr) => {
            $options
                .with_draft(Draft::Draft7)
                .with_registry(&registry)
                .should_validate_formats(true)
                .with_format("date-time", is_date_time)
                .offline()
        };
    }
    let build = |schema: &Value| -> Result<Validator<FastJson>, String> {
        options!(jsonschema::options_for::<FastJson>())
            .build(schema)
            .map_err(|e| format!("compiling {schema}: {e}"))
    };
    let reference = |target: String| json!({ "$ref": target });
    let root = reference(format!("{ROOT}#"));

    Ok(Compiled {
        root: options!(jsonschema::options())
            .build(&root)
            .map_err(|e| format!("compiling {root}: {e}"))?,
        fast_root: build(&root)?,
        envelope: build(&envelope_schema(message)?)?,
        event: build(&reference(format!("{MESSAGE_V1_0}#{EVENT_ITEM}/0")))?,
        empty_rule: build(&reference(format!("{MESSAGE_V1_0}#{EVENT_ITEM}/1")))?,
        kinds: EventKind::ALL
            .iter()
            .map(|kind| build(&reference(format!("{}#", kind.schema_file()))))
            .collect::<Result<_, _>>()?,
    })
}

/// `message_v1_0.json` without `Events.items`, under its own `$id` so the registry's copy of
/// the original stays the one every `$ref` sees.
fn envelope_schema(mut message: Value) -> Result<Value, String> {
    let events = message
        .pointer_mut("/properties/Events")
        .and_then(Value::as_object_mut)
        .ok_or("message_v1_0.json has no properties/Events")?;
    events.remove("items");
    message["$id"] = json!("iotsec-envelope_v1_0.json");
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fast::Fast;

    #[test]
    fn compiles() {
        let c = compiled().expect("embedded schemas compile");
        assert_eq!(c.kinds.len(), EventKind::ALL.len());
    }

    #[test]
    fn formats_are_asserted_in_referenced_files() {
        let c = compiled().expect("compile");
        let listening = &c.kinds[EventKind::ListeningPorts.index()];
        let valid = |addr: &str| {
            let event = json!({"Name": "ListeningPorts", "Category": "Periodic", "EventType": "Security",
                   "PayloadSchemaVersion": "1.0", "IsEmpty": false,
                   "Payload": [{"LocalPort": "80", "Protocol": "TCP", "LocalAddress": addr}]});
            listening.is_valid(&Fast::from_value(&event))
        };
        assert!(valid("10.0.0.1"));
        assert!(valid("::1"));
        assert!(!valid("10.0.0.256"));
        assert!(!valid("not an address"));
    }
}
