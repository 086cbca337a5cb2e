//! Microsoft's own cases (`tests/vectors/schema/upstream/samples.json`, from Azure-IoT-Security):
//! every `valid` message passes and every `invalid` one fails, with the violations the schema
//! implies.

use std::path::Path;

use iotsec::schema;
use serde_json::Value;

fn samples() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/schema/upstream/samples.json");
    let text = std::fs::read_to_string(&path).expect("samples.json");
    serde_json::from_str(&text).expect("samples.json is JSON")
}

fn pairs(message: &Value) -> Vec<(String, String)> {
    schema::validate_value(message)
        .into_iter()
        .map(|v| (v.pointer, v.rule))
        .collect()
}

#[test]
fn every_valid_sample_passes() {
    let samples = samples();
    let valid = samples["valid"].as_array().expect("valid");
    assert_eq!(valid.len(), 13);
    for (i, message) in valid.iter().enumerate() {
        let body = serde_json::to_vec(message).expect("serialize");
        assert!(
            schema::is_valid(&body),
            "valid[{i}] rejected: {:?}",
            schema::validate(&body)
        );
        assert_eq!(schema::validate(&body), Vec::new(), "valid[{i}]");
    }
}

#[test]
fn every_invalid_sample_fails_where_expected() {
    let samples = samples();
    let invalid = samples["invalid"].as_array().expect("invalid");
    assert_eq!(invalid.len(), 6);
    let required = |p: &str| (p.to_string(), "required".to_string());
    let expected: [Vec<(String, String)>; 6] = [
        // "" and []: not an object.
        vec![(String::new(), "type".into())],
        vec![(String::new(), "type".into())],
        // {}: every envelope member missing.
        vec![
            required("/AgentId"),
            required("/AgentVersion"),
            required("/Events"),
            required("/MessageSchemaVersion"),
        ],
        // {"Events": []}: members missing and no event.
        vec![
            required("/AgentId"),
            required("/AgentVersion"),
            ("/Events".into(), "minItems".into()),
            required("/MessageSchemaVersion"),
        ],
        // ExtraDetails value 39 is not a string.
        vec![(
            "/Events/0/Payload/0/ExtraDetails/SomeKey".into(),
            "type".into(),
        )],
        // ConnectionCreate without Direction and Protocol, and an integer port.
        vec![
            required("/Events/0/Payload/0/Direction"),
            required("/Events/0/Payload/0/Protocol"),
            ("/Events/0/Payload/0/RemotePort".into(), "type".into()),
        ],
    ];
    for (i, (message, want)) in invalid.iter().zip(expected).enumerate() {
        let body = serde_json::to_vec(message).expect("serialize");
        assert!(!schema::is_valid(&body), "invalid[{i}] accepted");
        assert_eq!(pairs(message), want, "invalid[{i}]");
    }
}
