//! Hostile input to the core API: each gives its documented error kind, quickly, and never a
//! crash, a hang or a stack overflow. Every language package funnels into these functions, so
//! their own hostile-input tests (bindings-*/tests) check the same limits through their APIs.
//!
//! - deeply nested JSON (100,000 levels of `[` or `{"a":`) as a body: one `json` violation
//!   (serde_json's recursion limit), as a security message: `SCHEMA_VALIDATION`;
//! - a deeply nested `serde_json::Value` built in code: validated without recursing into it;
//! - 10 MB bodies: `MESSAGE_TOO_LARGE` before any parsing, even for a security message;
//! - 100,000 custom properties: set in linear time, refused with `MESSAGE_TOO_LARGE` (the topic
//!   limit) without encoding them all;
//! - bytes that are not UTF-8: a `utf8` violation with its offset;
//! - use after close: `CLOSED`; hostile connection strings: `INVALID_CONNECTION_STRING`,
//!   never echoing the key.

use std::time::{Duration, Instant};

use iotsec::schema;
use iotsec::{Client, ClientOptions, ErrorKind, Identity, Message, MAX_BODY_BYTES, MAX_TOPIC_BYTES};

const KEY: &str = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWstISE=";

/// Runs `f` on a thread with a small stack (256 KiB, an eighth of a Rust test thread's and a
/// thirty-second of a main thread's), so code that recursed per nesting level would overflow
/// here, and checks it finished within `limit`.
fn on_small_stack<T: Send>(limit: Duration, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let started = Instant::now();
        let out = std::thread::Builder::new().stack_size(256 * 1024).spawn_scoped(s, f).unwrap().join().expect("no panic");
        assert!(started.elapsed() < limit, "took {:?} (limit {limit:?})", started.elapsed());
        out
    })
}

fn nested(open: &str, close: &str, depth: usize) -> Vec<u8> {
    let mut body = open.repeat(depth).into_bytes();
    body.extend(close.repeat(depth).into_bytes());
    body
}

#[test]
fn deeply_nested_json_gives_one_json_violation_fast() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"Events\":", "}]")] {
        let body = nested(open, close, 100_000);
        let violations = on_small_stack(Duration::from_secs(2), || schema::validate(&body));
        assert_eq!(violations.len(), 1, "{open}: {violations:?}");
        assert_eq!(violations[0].rule, "json");
        assert!(violations[0].message.contains("recursion limit"), "{}", violations[0].message);
        assert!(!on_small_stack(Duration::from_secs(2), || schema::is_valid(&body)));
        let e = on_small_stack(Duration::from_secs(2), || schema::check(&body)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SchemaValidation);
        // Unterminated nesting (a truncated attack) is the same.
        let open_only = open.repeat(100_000).into_bytes();
        assert_eq!(on_small_stack(Duration::from_secs(2), || schema::validate(&open_only))[0].rule, "json");
    }
}

#[test]
fn deeply_nested_value_built_in_code_is_validated_without_recursing() {
    // Building and dropping a 100,000-level Value recurses in serde_json itself, so that
    // happens on a big stack; validation runs on a small one.
    std::thread::Builder::new()
        .stack_size(512 * 1024 * 1024)
        .spawn(|| {
            let mut deep = serde_json::Value::Null;
            for _ in 0..100_000 {
                deep = serde_json::Value::Array(vec![deep]);
            }
            let message = serde_json::json!({
                "AgentVersion": "1", "AgentId": "e89dc5f5-feac-4c3e-87e2-93c16f010c25", "MessageSchemaVersion": "1.0",
                "Events": [{"EventType": "Security", "Category": "Periodic", "Name": "ListeningPorts",
                            "IsEmpty": false, "PayloadSchemaVersion": "1.0", "Id": "x",
                            "TimestampLocal": "2019-01-01 00:00:00Z", "TimestampUTC": "2019-01-01 00:00:00Z",
                            "Payload": [{"Protocol": deep}]}]
            });
            let violations = on_small_stack(Duration::from_secs(5), || schema::validate_value(&message));
            assert!(!violations.is_empty());
            assert!(!on_small_stack(Duration::from_secs(5), || schema::is_valid_value(&message)));
            drop(message);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn ten_megabyte_bodies_are_too_large_before_being_parsed() {
    let id = Identity::device("d").unwrap();
    let big = vec![b'['; 10 * 1024 * 1024];
    let started = Instant::now();
    let e = iotsec::topic::telemetry_topic(&id, &Message::new(big.clone()).security()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(e.message().contains(&MAX_BODY_BYTES.to_string()), "{e}");
    // A client refuses it at the send call, with the size error rather than a schema error,
    // without connecting (nothing listens on port 1).
    let options = ClientOptions { port: Some(1), ..Default::default() };
    let client = Client::from_connection_string(&format!("HostName=localhost;DeviceId=d;SharedAccessKey={KEY}"), options).unwrap();
    let e = client.send_message_with(&Message::new(big).security(), |_| panic!("never queued")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // Validation on its own copes with 10 MB too (one pass, no quadratic work).
    let mut text = b"{\"AgentId\":\"".to_vec();
    text.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    text.extend(b"\"}");
    let violations = on_small_stack(Duration::from_secs(5), || schema::validate(&text));
    assert!(!violations.is_empty());
    client.close_now();
}

#[test]
fn a_hundred_thousand_properties_are_refused_by_the_topic_limit_quickly() {
    let started = Instant::now();
    let mut m = Message::new("{}").security();
    for i in 0..100_000 {
        m.set_property(format!("property-{i}"), format!("value-{i}"));
    }
    let id = Identity::module("d", "m").unwrap();
    let e = iotsec::topic::telemetry_topic(&id, &m).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(e.message().contains(&MAX_TOPIC_BYTES.to_string()), "{e}");
    // A reserved name at the very end is still found (every name is checked).
    m.set_property("$.mid", "x");
    assert_eq!(iotsec::topic::telemetry_topic(&id, &m).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn bodies_that_are_not_utf8_get_a_utf8_violation() {
    let body = b"{\"AgentId\": \"\xff\xfe\"}";
    let v = schema::validate(body);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].rule, "utf8");
    assert_eq!(v[0].position.unwrap().offset, 13);
    // A plain (non-security) message may carry any bytes.
    let id = Identity::device("d").unwrap();
    assert!(iotsec::topic::telemetry_topic(&id, &Message::new(vec![0xffu8, 0, 0xfe])).is_ok());
}

#[test]
fn a_closed_client_refuses_everything_with_closed() {
    let options = ClientOptions { port: Some(1), ..Default::default() };
    let client = Client::from_connection_string(&format!("HostName=localhost;DeviceId=d;SharedAccessKey={KEY}"), options).unwrap();
    client.close_now();
    client.close_now(); // twice is harmless
    let e = client.send_message_with(&Message::new("x"), |_| panic!("never queued")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    assert_eq!(client.connect_blocking().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(client.send_message_blocking(&Message::new("x")).unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(client.state(), iotsec::ConnectionState::Closed);
    client.close_blocking();
}

#[test]
fn hostile_connection_strings_are_refused_by_name_without_the_key() {
    let long_value = "x".repeat(1 << 20);
    let cases = [
        String::new(),
        ";;;;".to_string(),
        "=".repeat(10_000),
        format!("HostName=h;DeviceId=d;SharedAccessKey={KEY}\0"),
        format!("HostName=h;DeviceId={long_value};SharedAccessKey={KEY}"),
        format!("HostName=h;DeviceId=d;SharedAccessKey={KEY};SharedAccessKey={KEY}"),
        format!("HostName=h;DeviceId=d;SharedAccessKey={KEY}{long_value}"),
        format!("HostName=h;DeviceId=d/../x;SharedAccessKey={KEY}"),
        format!("HostName=h;DeviceId=d;ModuleId=;SharedAccessKey={KEY}"),
    ];
    let started = Instant::now();
    let mut accepted = Vec::new();
    for cs in &cases {
        match Client::from_connection_string(cs, ClientOptions::default()) {
            Ok(c) => accepted.push(format!("{:?}: {:?}", &cs[..cs.len().min(60)], c.identity())),
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::InvalidConnectionString | ErrorKind::InvalidArgument),
                    "{:?}: {e}",
                    &cs[..cs.len().min(60)]
                );
                assert!(!e.message().contains(KEY), "the key leaked into: {e}");
                assert!(!format!("{e:?}").contains(KEY), "the key leaked into Debug: {e:?}");
                assert!(e.message().len() < 2_000, "an error message echoing megabytes of input: {} bytes", e.message().len());
            }
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
