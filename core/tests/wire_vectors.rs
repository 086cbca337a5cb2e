//! Runs every case of tests/vectors/wire/*.json: message fields in, exact topic bytes out.
//! The same files drive the Python, Node.js, Java, C# and C packages.

use std::path::PathBuf;

use base64::Engine as _;
use iotsec::topic::telemetry_topic;
use iotsec::{Identity, Message};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/wire")
}

/// Builds the message a wire vector describes (the format is documented in tests/vectors/README.md).
fn message_from(v: &Value) -> Message {
    let body: Vec<u8> = if let Some(t) = v.get("body_text") {
        t.as_str().unwrap().as_bytes().to_vec()
    } else if let Some(b) = v.get("body_base64") {
        base64::engine::general_purpose::STANDARD.decode(b.as_str().unwrap()).unwrap()
    } else {
        let r = &v["body_repeat"];
        r["text"].as_str().unwrap().repeat(r["count"].as_u64().unwrap() as usize).into_bytes()
    };
    let mut m = Message::new(body);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    m.set_message_id(s("message_id"))
        .set_correlation_id(s("correlation_id"))
        .set_user_id(s("user_id"))
        .set_to(s("to"))
        .set_content_type(s("content_type"))
        .set_content_encoding(s("content_encoding"))
        .set_output_name(s("output_name"))
        .set_expiry_time_utc(s("expiry_time_utc"))
        .set_interface_id(s("interface_id"))
        .set_component_name(s("component_name"));
    if v.get("security").and_then(Value::as_bool).unwrap_or(false) {
        m.set_as_security_message();
    }
    for p in v.get("properties").and_then(Value::as_array).into_iter().flatten() {
        m.set_property(p[0].as_str().unwrap(), p[1].as_str().unwrap());
    }
    m
}

#[test]
fn every_wire_vector_produces_its_exact_topic() {
    let mut ran = 0;
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let device = case["device_id"].as_str().unwrap();
            let identity = match case.get("module_id").and_then(Value::as_str) {
                Some(m) => Identity::module(device, m).unwrap(),
                None => Identity::device(device).unwrap(),
            };
            let message = message_from(&case["message"]);
            let result = telemetry_topic(&identity, &message);
            match (case.get("topic"), case.get("error")) {
                (Some(topic), None) => assert_eq!(result.unwrap(), topic.as_str().unwrap(), "case {name:?}"),
                (None, Some(kind)) => assert_eq!(result.unwrap_err().kind().name(), kind.as_str().unwrap(), "case {name:?}"),
                _ => panic!("case {name:?} needs exactly one of `topic` and `error`"),
            }
            // The hub reads topics back: every produced topic must decode to the same properties.
            if let Some(topic) = case.get("topic").and_then(Value::as_str) {
                let (id, parsed) = iotsec::topic::parse_telemetry_topic(topic).unwrap();
                assert_eq!(id, identity, "case {name:?}");
                assert_eq!(parsed.system_properties(), message.system_properties(), "case {name:?}");
                assert_eq!(parsed.properties(), message.properties(), "case {name:?}");
            }
            ran += 1;
        }
    }
    assert!(ran >= 30, "only {ran} wire vectors ran");
}
