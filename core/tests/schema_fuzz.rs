//! Properties of the validator on arbitrary input: it never panics, `validate`, `is_valid` and
//! the `Value` validator agree, and every pointer it reports leads somewhere real (or, for `required`, to a missing
//! member of an existing object).

use iotsec::schema;
use proptest::prelude::*;
use serde_json::{json, Value};

fn valid_message() -> Value {
    json!({
        "AgentVersion": "1.0.0",
        "AgentId": "e89dc5f5-feac-4c3e-87e2-93c16f010c25",
        "MessageSchemaVersion": "1.0",
        "Events": [
            {"EventType": "Security", "Category": "Triggered", "Name": "ConnectionCreate", "IsEmpty": false,
             "PayloadSchemaVersion": "1.0", "Id": "21a2db0b-44fe-42e9-9cff-bbb2d8fdf874",
             "TimestampLocal": "2019-01-27 15:48:52+02:00", "TimestampUTC": "2019-01-27 13:48:52Z",
             "Payload": [{"RemoteAddress": "10.0.0.1", "RemotePort": "443", "Direction": "Out", "Protocol": "TCP",
                          "ProcessId": 7, "Executable": "/usr/bin/curl", "ExtraDetails": {"k": "v"}}]},
            {"EventType": "Security", "Category": "Periodic", "Name": "ListeningPorts", "IsEmpty": true,
             "PayloadSchemaVersion": "1.0", "Id": "21a2db0b-44fe-42e9-9cff-bbb2d8fdf875",
             "TimestampLocal": "2019-01-27T15:48:52+02:00", "TimestampUTC": "2019-01-27T13:48:52Z",
             "Payload": []}
        ]
    })
}

/// Every JSON pointer inside `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn leaf() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None), // remove the member
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(json!(b))),
        any::<i64>().prop_map(|n| Some(json!(n))),
        (-1e9f64..1e9).prop_map(|n| Some(json!(n))),
        "[ -~]{0,40}".prop_map(|s| Some(json!(s))),
        Just(Some(json!("2019-02-29 10:00:00Z"))),
        Just(Some(json!("::1"))),
        Just(Some(json!([]))),
        Just(Some(json!({}))),
        Just(Some(json!(["x", {"a": 1}]))),
        Just(Some(json!("ProcessCreate"))),
        Just(Some(json!("Periodic"))),
    ]
}

fn mutate(mut message: Value, which: usize, replacement: Option<Value>) -> Value {
    let mut all = Vec::new();
    pointers(&message, String::new(), &mut all);
    let target = &all[which % all.len()];
    if target.is_empty() {
        return replacement.unwrap_or(Value::Null);
    }
    let (parent, last) = target.rsplit_once('/').expect("non-root pointer");
    let last = last.replace("~1", "/").replace("~0", "~");
    match (message.pointer_mut(parent), replacement) {
        (Some(Value::Object(map)), None) => {
            map.remove(&last);
        }
        (Some(Value::Array(items)), None) => {
            if let Ok(i) = last.parse::<usize>() {
                items.remove(i);
            }
        }
        (Some(_), Some(v)) => {
            if let Some(slot) = message.pointer_mut(target) {
                *slot = v;
            }
        }
        _ => {}
    }
    message
}

/// `value` as JSON text, where the member at `target` appears twice: once with its own value
/// and once with `extra`, `extra` last or first.
fn text_with_repeat(
    value: &Value,
    at: &str,
    target: &str,
    extra: &Value,
    extra_last: bool,
) -> String {
    match value {
        Value::Object(map) => {
            let mut parts = Vec::new();
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                let name = Value::from(k.as_str()).to_string();
                let own = format!(
                    "{name}:{}",
                    text_with_repeat(v, &here, target, extra, extra_last)
                );
                if here == target {
                    let other = format!("{name}:{extra}");
                    parts.extend(if extra_last {
                        [own, other]
                    } else {
                        [other, own]
                    });
                } else {
                    parts.push(own);
                }
            }
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, v)| text_with_repeat(v, &format!("{at}/{i}"), target, extra, extra_last))
                .collect();
            format!("[{}]", parts.join(","))
        }
        scalar => scalar.to_string(),
    }
}

fn check_invariants(body: &[u8]) -> Result<(), TestCaseError> {
    let violations = schema::validate(body);
    prop_assert_eq!(violations.is_empty(), schema::is_valid(body));
    // The fast check (borrowed tree) and the `Value` validator must agree.
    let slow = serde_json::from_slice::<Value>(body).is_ok_and(|v| schema::is_valid_value(&v));
    prop_assert_eq!(schema::is_valid(body), slow);
    prop_assert_eq!(&violations, &schema::validate(body), "deterministic");
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        prop_assert_eq!(violations.len(), 1);
        prop_assert!(violations[0].position.is_some());
        return Ok(());
    };
    for v in &violations {
        prop_assert!(
            !v.message.is_empty() && v.message.len() <= 400,
            "{}",
            v.message
        );
        if v.rule == "required" {
            let (parent, _) = v
                .pointer
                .rsplit_once('/')
                .expect("required points at a member");
            prop_assert!(value.pointer(parent).is_some_and(Value::is_object), "{}", v);
            prop_assert!(value.pointer(&v.pointer).is_none(), "{}", v);
        } else {
            prop_assert!(value.pointer(&v.pointer).is_some(), "{} does not exist", v);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_invariants(&body)?;
    }

    #[test]
    fn one_byte_changed(at in any::<usize>(), byte in any::<u8>()) {
        let mut body = serde_json::to_vec(&valid_message()).expect("serialize");
        let i = at % body.len();
        body[i] = byte;
        check_invariants(&body)?;
    }

    #[test]
    fn member_repeated(which in any::<usize>(), extra in leaf(), extra_last in any::<bool>()) {
        let mut all = Vec::new();
        pointers(&valid_message(), String::new(), &mut all);
        let target = &all[which % all.len()];
        let extra = extra.unwrap_or(Value::Null);
        let body = text_with_repeat(&valid_message(), "", target, &extra, extra_last);
        check_invariants(body.as_bytes())?;
    }

    #[test]
    fn one_value_changed(which in any::<usize>(), replacement in leaf(), which2 in any::<usize>(), replacement2 in leaf()) {
        let message = mutate(mutate(valid_message(), which, replacement), which2, replacement2);
        check_invariants(&serde_json::to_vec(&message).expect("serialize"))?;
    }
}
