//! The Rust conformance driver: a new cargo project that depends on the `iotsec` crate by path
//! and uses its public API only. tests/conformance/run.py builds it and reads what it prints
//! (one JSON object per line); the protocol is in tests/conformance/README.md.
//!
//!   driver snippet CONNECTION_STRING BODY_FILE   (CA and port from IOTSEC_CA_FILE / IOTSEC_MQTT_PORT)
//!   driver wire VECTORS_DIR CA_FILE PORT
//!   driver schema VECTORS_DIR
//!   driver bad CA_FILE PORT INVALID_BODY_FILE WRONG_CA_FILE HUB_CA_FILE HUB_PORT HUB_FORGED_CONNECTION_STRING

use std::path::{Path, PathBuf};

use base64::Engine as _;
use iotsec::{Client, ClientOptions, Message, ValidationMode};
use serde_json::{json, Value};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn emit(v: Value) {
    println!("{v}");
}

/// The Rust counterpart of the guide's C# snippet (the README's "guide" line for Rust): a module
/// client from a connection string, one security message, awaited, then closed.
async fn send_security_message_async(connection_string: &str, message_content: &str) -> iotsec::Result<()> {
    let client = Client::module_from_connection_string(connection_string, Default::default())?;
    let result = client.send_message(&Message::new(message_content.to_string()).security()).await;
    client.close().await;
    result
}

fn snippet(cs: &str, body_file: &str) {
    let body = std::fs::read_to_string(body_file).expect("body file");
    match iotsec::runtime::block_on(send_security_message_async(cs, &body)) {
        Ok(()) => emit(json!({"check": "snippet", "ok": true})),
        Err(e) => emit(json!({"check": "snippet", "ok": false, "error": e.kind().name(), "message": e.message()})),
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("vectors dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    files.sort();
    files
}

fn message_from(v: &Value) -> Message {
    let body: Vec<u8> = if let Some(t) = v.get("body_text") {
        t.as_str().expect("body_text").as_bytes().to_vec()
    } else if let Some(b) = v.get("body_base64") {
        base64::engine::general_purpose::STANDARD.decode(b.as_str().expect("body_base64")).expect("base64")
    } else {
        let r = &v["body_repeat"];
        r["text"].as_str().expect("text").repeat(r["count"].as_u64().expect("count") as usize).into_bytes()
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
        m.set_property(p[0].as_str().expect("key"), p[1].as_str().expect("value"));
    }
    m
}

fn options(ca: &str, port: &str, validation: ValidationMode) -> ClientOptions {
    ClientOptions {
        ca_file: Some(PathBuf::from(ca)),
        port: Some(port.parse().expect("port")),
        validation,
        ..Default::default()
    }
}

fn cs_for(device: &str, module: Option<&str>) -> String {
    match module {
        Some(m) => format!("HostName=localhost;DeviceId={device};ModuleId={m};SharedAccessKey={KEY}"),
        None => format!("HostName=localhost;DeviceId={device};SharedAccessKey={KEY}"),
    }
}

fn wire(dir: &str, ca: &str, port: &str) {
    let mut clients: Vec<((String, Option<String>), Client)> = Vec::new();
    for file in json_files(Path::new(dir)) {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        for case in doc["cases"].as_array().expect("cases") {
            let name = case["name"].as_str().expect("name");
            let device = case["device_id"].as_str().expect("device_id").to_string();
            let module = case.get("module_id").and_then(Value::as_str).map(str::to_string);
            let key = (device.clone(), module.clone());
            let index = match clients.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    // Validation off: the wire vectors are about topics and bytes, and several
                    // flag bodies that are not security messages on purpose.
                    let opts = options(ca, port, ValidationMode::Off);
                    let made = match &module {
                        Some(m) => Client::module_from_connection_string(&cs_for(&device, Some(m)), opts),
                        None => Client::device_from_connection_string(&cs_for(&device, None), opts),
                    };
                    match made {
                        Ok(c) => clients.push((key, c)),
                        Err(e) => {
                            emit(json!({"name": name, "error": e.kind().name(), "message": e.message()}));
                            continue;
                        }
                    }
                    clients.len() - 1
                }
            };
            let message = message_from(&case["message"]);
            match clients[index].1.send_message_blocking(&message) {
                Ok(()) => emit(json!({"name": name, "result": "sent"})),
                Err(e) => emit(json!({"name": name, "error": e.kind().name(), "message": e.message()})),
            }
        }
    }
    for (_, c) in clients {
        c.close_blocking();
    }
}

fn schema(dir: &str) {
    for file in json_files(Path::new(dir)) {
        let file_name = file.file_name().expect("name").to_string_lossy().to_string();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        for case in doc["cases"].as_array().expect("cases") {
            let body: Vec<u8> = if let Some(b) = case.get("body") {
                serde_json::to_vec(b).expect("serialize")
            } else if let Some(t) = case.get("body_text") {
                t.as_str().expect("body_text").as_bytes().to_vec()
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(case["body_base64"].as_str().expect("body_base64"))
                    .expect("base64")
            };
            let violations: Vec<Value> = iotsec::schema::validate(&body)
                .into_iter()
                .map(|v| match v.position {
                    Some(p) => json!([v.pointer, v.rule, [p.offset, p.line, p.column]]),
                    None => json!([v.pointer, v.rule]),
                })
                .collect();
            emit(json!({
                "file": file_name,
                "name": case["name"],
                "is_valid": iotsec::schema::is_valid(&body),
                "violations": violations,
            }));
        }
    }
}

fn outcome<T>(check: &str, r: iotsec::Result<T>) {
    match r {
        Ok(_) => emit(json!({"check": check, "error": null})),
        Err(e) => {
            let violations: Vec<Value> = e.violations().iter().map(|v| json!([v.pointer, v.rule])).collect();
            emit(json!({"check": check, "error": e.kind().name(), "message": e.message(), "violations": violations}))
        }
    }
}

fn bad(ca: &str, port: &str, invalid_body_file: &str, wrong_ca: &str, hub_ca: &str, hub_port: &str, forged: &str) {
    let secret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
    outcome(
        "connection_string_without_device_id",
        Client::from_connection_string(&format!("HostName=localhost;SharedAccessKey={secret}"), Default::default()),
    );
    outcome(
        "connection_string_key_not_base64",
        Client::from_connection_string("HostName=localhost;DeviceId=conf-bad;SharedAccessKey=not a key!", Default::default()),
    );
    outcome("connection_string_garbage", Client::from_connection_string("not a connection string", Default::default()));
    outcome(
        "module_connection_string_for_device_client",
        Client::device_from_connection_string(&cs_for("conf-bad", Some("m")), Default::default()),
    );

    let client = Client::device_from_connection_string(&cs_for("conf-bad-rust", None), options(ca, port, ValidationMode::Strict))
        .expect("client");
    let invalid = std::fs::read(invalid_body_file).expect("invalid body");
    outcome("schema_invalid_security_message", client.send_message_blocking(&Message::new(invalid).security()));
    client.close_blocking();
    outcome("send_after_close", client.send_message_blocking(&Message::new("sent after close")));

    let client = Client::device_from_connection_string(&cs_for("conf-bad-rust", None), options(wrong_ca, port, ValidationMode::Strict))
        .expect("client");
    outcome("untrusted_server_certificate", client.connect_blocking());
    client.close_blocking();
    let client = Client::device_from_connection_string(forged, options(hub_ca, hub_port, ValidationMode::Strict)).expect("client");
    outcome("credential_refused_by_hub", client.connect_blocking());
    client.close_blocking();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("snippet") => snippet(&args[2], &args[3]),
        Some("wire") => wire(&args[2], &args[3], &args[4]),
        Some("schema") => schema(&args[2]),
        Some("bad") => bad(&args[2], &args[3], &args[4], &args[5], &args[6], &args[7], &args[8]),
        _ => {
            eprintln!("usage: driver snippet|wire|schema|bad ...");
            std::process::exit(2);
        }
    }
}
