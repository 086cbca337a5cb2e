//! The hub end to end: the real core client over TLS (and, where a test needs to break the
//! rules, a raw MQTT client) against a real hub on 127.0.0.1, asserting what the hub stored.

use std::path::Path;
use std::time::{Duration, Instant};

use iotsec::sas::{unix_now, SasToken};
use iotsec::{Client, ClientOptions, ErrorKind, Message, ValidationMode, SECURITY_INTERFACE_ID};
use iotsec_hub::{Hub, HubConfig, Registry};
use serde_json::json;

const VALID: &str = include_str!("../../tests/vectors/guide/guide_message_valid.json");
const GUIDE: &str = include_str!("../../tests/vectors/guide/guide_message.json");
const IFID_WIRE: &str = "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1";

fn start(dir: &Path) -> Hub {
    Hub::start(HubConfig::new(dir).plain_port(0)).expect("hub starts")
}

fn options(hub: &Hub, validation: ValidationMode) -> ClientOptions {
    ClientOptions {
        ca_file: Some(hub.ca_file().to_path_buf()),
        port: Some(hub.tls_port()),
        validation,
        connect_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

fn client(hub: &Hub, connection_string: &str) -> Client {
    Client::from_connection_string(connection_string, options(hub, ValidationMode::Strict)).unwrap()
}

fn send(client: &Client, message: &Message) {
    iotsec::runtime::block_on(client.send_message(message)).expect("send succeeds");
}

#[test]
fn valid_invalid_and_other_messages_are_routed_like_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let cs = hub.add_device("dev1", None).unwrap().connection_string();
    // Client-side validation off, so the hub sees what breaks the schema too.
    let c = Client::from_connection_string(&cs, options(&hub, ValidationMode::Off)).unwrap();
    let (strict, lenient) = (&c, &c);

    send(strict, &Message::new(VALID).with_message_id("valid-1").security());
    send(lenient, &Message::new(GUIDE).with_message_id("guide-1").security());
    send(lenient, &Message::new("{not json").with_message_id("broken-1").security());
    send(strict, &Message::new("temperature=21").with_message_id("plain-1").with_property("kind", "reading"));
    send(strict, &Message::new(vec![0xff, 0x00, 0x80]).with_message_id("binary-1"));
    iotsec::runtime::block_on(c.close());

    let security = hub.store().security_records().unwrap();
    assert_eq!(security.len(), 1, "{security:#?}");
    let event = &security[0];
    assert_eq!(event.device_id, "dev1");
    assert_eq!(event.module_id, None);
    assert_eq!(event.message_id.as_deref(), Some("valid-1"));
    assert_eq!(event.property("$.ifid"), Some(SECURITY_INTERFACE_ID));
    assert_eq!(event.topic, format!("devices/dev1/messages/events/%24.mid=valid-1&{IFID_WIRE}"));
    assert_eq!(event.event["Name"], "ProcessCreate");
    assert_eq!(event.event["Id"], "21a2db0b-44fe-42e9-9cff-bbb2d8fdf874");
    assert_eq!(event.agent_id.as_deref(), Some("e89dc5f5-feac-4c3e-87e2-93c16f010c25"));
    assert_eq!(event.event_index, 0);
    assert!(event.received_at.ends_with('Z') && event.received_at.contains('T'), "{}", event.received_at);

    let dropped = hub.store().dropped_records().unwrap();
    assert_eq!(dropped.len(), 2, "{dropped:#?}");
    assert_eq!(dropped[0].message_id.as_deref(), Some("guide-1"));
    let v = &dropped[0].violations;
    assert!(v.iter().any(|v| v.pointer == "/Events/0/Payload/0/UserId" && v.rule == "required" && v.message.contains("UserId")), "{v:#?}");
    assert_eq!(dropped[0].body.as_deref(), Some(GUIDE));
    assert_eq!(dropped[1].violations[0].rule, "json");
    assert_eq!(dropped[1].violations[0].position.as_ref().unwrap()["line"], 1);

    let telemetry = hub.store().telemetry_records().unwrap();
    assert_eq!(telemetry.len(), 2, "{telemetry:#?}");
    assert_eq!(telemetry[0].body.as_deref(), Some("temperature=21"));
    assert_eq!(telemetry[0].property("kind"), Some("reading"));
    assert_eq!(telemetry[0].property("$.ifid"), None);
    assert_eq!(telemetry[1].body, None);
    assert_eq!(telemetry[1].body_base64.as_deref(), Some("/wCA"));

    let stats = hub.stats();
    assert_eq!((stats.security_messages, stats.security_events, stats.dropped_messages, stats.telemetry_messages), (1, 1, 2, 2));
    assert_eq!(stats.messages_received, 5);
    assert_eq!(stats.connections_accepted, 1);
    let counts = hub.store().counts().unwrap();
    assert_eq!((counts.security_events, counts.dropped_messages, counts.telemetry_messages), (1, 2, 2));
}

#[test]
fn golden_topics_of_the_wire_spec_decode_to_their_properties() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let golden = || {
        Message::new(VALID)
            .security()
            .with_message_id("golden-msg-0001")
            .with_content_type("application/json")
            .with_content_encoding("utf-8")
            .with_property("customProp", "customValue")
    };
    let device = client(&hub, &hub.add_device("dev-py", None).unwrap().connection_string());
    let module = client(&hub, &hub.add_device("dev-py", Some("mod1")).unwrap().connection_string());
    let dev1 = client(&hub, &hub.add_device("dev1", None).unwrap().connection_string());
    send(&device, &golden());
    send(&module, &golden());
    send(&dev1, &Message::new(VALID).security());

    let records = hub.store().security_records().unwrap();
    let topics: Vec<&str> = records.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(
        topics,
        [
            "devices/dev-py/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue",
            "devices/dev-py/modules/mod1/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue",
            "devices/dev1/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
        ]
    );
    let expected = json!({
        "$.mid": "golden-msg-0001",
        "$.ct": "application/json",
        "$.ce": "utf-8",
        "$.ifid": "urn:azureiot:Security:SecurityAgent:1",
        "customProp": "customValue"
    });
    // The order of the property bag is kept as well.
    let order = |r: &iotsec_hub::SecurityRecord| r.properties.keys().cloned().collect::<Vec<_>>();
    assert_eq!(serde_json::Value::Object(records[0].properties.clone()), expected);
    assert_eq!(order(&records[0]), ["$.mid", "$.ct", "$.ce", "$.ifid", "customProp"]);
    assert_eq!(serde_json::Value::Object(records[1].properties.clone()), expected);
    assert_eq!((records[1].device_id.as_str(), records[1].module_id.as_deref()), ("dev-py", Some("mod1")));
    assert_eq!(serde_json::Value::Object(records[2].properties.clone()), json!({"$.ifid": SECURITY_INTERFACE_ID}));
    assert_eq!(records[2].message_id, None);
}

#[test]
fn wrong_key_expired_token_and_identity_mismatch_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let dev1 = hub.add_device("dev1", None).unwrap();
    hub.add_device("dev2", None).unwrap();
    let connect = |cs: &str| {
        let c = Client::from_connection_string(cs, options(&hub, ValidationMode::Strict)).unwrap();
        iotsec::runtime::block_on(c.connect())
    };
    let expect_refused = |cs: &str, what: &str| {
        let e = connect(cs).expect_err(what);
        assert_eq!(e.kind(), ErrorKind::CredentialRefused, "{what}: {e:?}");
        assert_eq!(e.connack_code(), Some(5), "{what}: {e:?}");
    };

    let other_key = "HostName=localhost;DeviceId=dev1;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    expect_refused(other_key, "wrong key");

    let expired = SasToken::sign(dev1.key(), "localhost/devices/dev1", unix_now() - 60, None);
    expect_refused(&format!("HostName=localhost;DeviceId=dev1;SharedAccessSignature={}", expired.expose()), "expired token");

    let for_dev1 = SasToken::sign(dev1.key(), "localhost/devices/dev1", unix_now() + 600, None);
    expect_refused(&format!("HostName=localhost;DeviceId=dev2;SharedAccessSignature={}", for_dev1.expose()), "dev1's token used as dev2");

    let unknown = "HostName=localhost;DeviceId=ghost;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    expect_refused(unknown, "unregistered device");

    // The same token, presented by the right device, is accepted.
    connect(&format!("HostName=localhost;DeviceId=dev1;SharedAccessSignature={}", for_dev1.expose())).expect("valid token");
    connect(&dev1.connection_string()).expect("the registered key");
    let stats = hub.stats();
    assert_eq!((stats.connections_refused, stats.connections_accepted), (4, 2));
}

#[test]
fn ten_thousand_pipelined_messages_are_all_stored() {
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let c = client(&hub, &hub.add_device("loader", None).unwrap().connection_string());
    iotsec::runtime::block_on(c.connect()).unwrap();
    let messages: Vec<Message> = (0..N).map(|i| Message::new(VALID).with_message_id(format!("m-{i}")).security()).collect();
    let started = Instant::now();
    let results = iotsec::runtime::block_on(c.send_messages(&messages));
    let elapsed = started.elapsed();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} failed, first: {:?}", failed.len(), failed.first());
    eprintln!("hub: {N} pipelined security messages acknowledged in {elapsed:.2?} ({:.0} msg/s)", N as f64 / elapsed.as_secs_f64());

    // Acknowledged means stored: no waiting needed.
    let records = hub.store().security_records().unwrap();
    assert_eq!(records.len(), N);
    let mut ids: Vec<&str> = records.iter().filter_map(|r| r.message_id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N, "every message id once");
    assert_eq!(hub.stats().duplicates, 0);
}

#[test]
fn the_largest_body_and_topic_iot_hub_allows_pass() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let c = client(&hub, &hub.add_device("big", None).unwrap().connection_string());
    let base = "devices/big/messages/events/p=";
    let value = "v".repeat(iotsec::MAX_TOPIC_BYTES - base.len());
    let body = vec![b'x'; iotsec::MAX_BODY_BYTES];
    send(&c, &Message::new(body.clone()).with_property("p", value.clone()));
    let records = hub.store().telemetry_records().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].topic.len(), iotsec::MAX_TOPIC_BYTES);
    assert_eq!(records[0].property("p"), Some(value.as_str()));
    assert_eq!(records[0].body.as_ref().map(String::len), Some(iotsec::MAX_BODY_BYTES));
}

#[test]
fn a_restart_keeps_the_registry_the_ca_and_the_stores() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    let cs = first.add_device("keeper", None).unwrap().connection_string();
    let ca = std::fs::read(first.ca_file()).unwrap();
    send(&client(&first, &cs), &Message::new(VALID).with_message_id("before").security());
    first.stop();

    let second = start(dir.path());
    assert_eq!(std::fs::read(second.ca_file()).unwrap(), ca, "the CA is kept, so clients keep trusting it");
    let c = client(&second, &cs);
    send(&c, &Message::new(VALID).with_message_id("after").security());
    let ids: Vec<_> = second.store().security_records().unwrap().into_iter().filter_map(|r| r.message_id).collect();
    assert_eq!(ids, ["before", "after"]);
    assert_eq!(second.stats().security_events, 2, "counters continue too");
}

#[test]
fn a_redelivered_message_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let c = client(&hub, &hub.add_device("again", None).unwrap().connection_string());
    let message = Message::new(VALID).with_message_id("same-id").security();
    send(&c, &message);
    send(&c, &message);
    let mut other_body: serde_json::Value = serde_json::from_str(VALID).unwrap();
    other_body["Events"][0]["Id"] = json!("7a6a2b8e-9d5e-4e47-9a3c-2b1c0d9e8f71");
    send(&c, &Message::new(other_body.to_string()).with_message_id("same-id").security());
    assert_eq!(hub.store().security_records().unwrap().len(), 2, "the same id with another body is another message");
    assert_eq!(hub.stats().duplicates, 1);
    assert_eq!(hub.stats().messages_received, 3);
}

#[test]
fn devices_another_process_registers_can_connect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    // What `iotsec hub add-device` does from another process.
    let cs = Registry::open(hub.data_dir()).unwrap().add_device("late", Some("m")).unwrap().connection_string();
    send(&client(&hub, &cs), &Message::new(VALID).security());
    let records = hub.store().security_records().unwrap();
    assert_eq!((records[0].device_id.as_str(), records[0].module_id.as_deref()), ("late", Some("m")));
}

#[test]
fn the_plain_port_serves_the_same_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let cs = hub.add_device("plain", None).unwrap().connection_string();
    let options = ClientOptions {
        port: hub.plain_port(),
        transport: iotsec::Transport::PlainTcpLoopbackOnly,
        ..ClientOptions::default()
    };
    let c = Client::from_connection_string(&cs, options).unwrap();
    send(&c, &Message::new(VALID).security());
    assert_eq!(hub.store().security_records().unwrap().len(), 1);
}

/// A raw MQTT client, for what the core client never does.
mod raw {
    use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet, QoS};
    use std::time::Duration;

    pub struct Outcome {
        pub connack: Option<rumqttc::ConnectReturnCode>,
        pub pubacks: usize,
        pub closed: bool,
    }

    /// Connects on the plain port and publishes `topic`; reports what came back.
    pub fn connect_and_publish(port: u16, client_id: &str, username: &str, password: &str, topic: Option<&str>) -> Outcome {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
            o.set_credentials(username, password).set_clean_session(false).set_keep_alive(Duration::from_secs(30));
            let (client, mut eventloop) = AsyncClient::new(o, 10);
            let mut outcome = Outcome { connack: None, pubacks: 0, closed: false };
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let event = tokio::time::timeout_at(deadline, eventloop.poll()).await;
                match event {
                    Err(_) => break,
                    Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                        outcome.connack = Some(ack.code);
                        match topic {
                            Some(t) => client.publish(t, QoS::AtLeastOnce, false, b"{}".to_vec()).await.unwrap(),
                            None => break,
                        }
                    }
                    Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => {
                        outcome.pubacks += 1;
                        break;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(ConnectionError::ConnectionRefused(code))) => {
                        outcome.connack = Some(code);
                        break;
                    }
                    Ok(Err(_)) => {
                        outcome.closed = true;
                        break;
                    }
                }
            }
            outcome
        })
    }
}

/// Connects on the plain port and waits until the hub closes the connection; returns the
/// CONNACK code and how long the connection lived.
fn connect_and_wait(port: u16, client_id: &str, password: &str, max: Duration) -> (Option<rumqttc::ConnectReturnCode>, Option<Duration>) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
        o.set_credentials(username(client_id), password).set_clean_session(false).set_keep_alive(Duration::from_secs(30));
        let (_client, mut eventloop) = AsyncClient::new(o, 10);
        let mut connack = None;
        let mut connected_at = Instant::now();
        let deadline = tokio::time::Instant::now() + max;
        loop {
            match tokio::time::timeout_at(deadline, eventloop.poll()).await {
                Err(_) => return (connack, None),
                Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                    connack = Some(ack.code);
                    connected_at = Instant::now();
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return (connack, Some(connected_at.elapsed())),
            }
        }
    })
}

fn username(client_id: &str) -> String {
    format!("localhost/{client_id}/?api-version=2021-04-12")
}

#[test]
fn publishing_on_another_devices_topic_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let dev1 = hub.add_device("dev1", None).unwrap();
    hub.add_device("dev2", None).unwrap();
    let token = SasToken::sign(dev1.key(), "localhost/devices/dev1", unix_now() + 600, None);
    let port = hub.plain_port().unwrap();
    let outcome = raw::connect_and_publish(port, "dev1", &username("dev1"), token.expose(), Some("devices/dev2/messages/events/"));
    assert_eq!(outcome.connack, Some(rumqttc::ConnectReturnCode::Success));
    assert_eq!(outcome.pubacks, 0);
    assert!(outcome.closed, "the hub closes the connection");
    let outcome = raw::connect_and_publish(port, "dev1", &username("dev1"), token.expose(), Some("$iothub/whatever"));
    assert!(outcome.closed && outcome.pubacks == 0);
    assert_eq!(hub.store().counts().unwrap(), iotsec_hub::StoreCounts::default(), "nothing stored");
    assert_eq!(hub.stats().connections_closed_for_errors, 2);

    // Its own topic works on the same terms.
    let outcome = raw::connect_and_publish(port, "dev1", &username("dev1"), token.expose(), Some("devices/dev1/messages/events/a=b"));
    assert_eq!(outcome.pubacks, 1);
    assert_eq!(hub.store().telemetry_records().unwrap()[0].property("a"), Some("b"));
}

#[test]
fn malformed_credentials_get_code_4_and_bad_client_ids_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let dev1 = hub.add_device("dev1", None).unwrap();
    let token = SasToken::sign(dev1.key(), "localhost/devices/dev1", unix_now() + 600, None);
    let port = hub.plain_port().unwrap();
    let code = |client_id: &str, user: &str, password: &str| raw::connect_and_publish(port, client_id, user, password, None).connack;
    use rumqttc::ConnectReturnCode::*;
    assert_eq!(code("dev1", "localhost/dev1", token.expose()), Some(BadUserNamePassword), "no api-version");
    assert_eq!(code("dev1", &username("dev2"), token.expose()), Some(BadUserNamePassword), "user name of another device");
    assert_eq!(code("dev1", &username("dev1"), "not a token"), Some(BadUserNamePassword));
    assert_eq!(code("a+b", &username("a+b"), token.expose()), Some(BadClientId));
    assert_eq!(code("dev1", &username("dev1"), token.expose()), Some(Success));
}

#[test]
fn the_hub_closes_a_connection_when_its_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let dev1 = hub.add_device("dev1", None).unwrap();
    let token = SasToken::sign(dev1.key(), "localhost/devices/dev1", unix_now() + 2, None);
    let (connack, lived) = connect_and_wait(hub.plain_port().unwrap(), "dev1", token.expose(), Duration::from_secs(10));
    assert_eq!(connack, Some(rumqttc::ConnectReturnCode::Success));
    let lived = lived.expect("closed by the hub");
    assert!(lived <= Duration::from_secs(3), "lived {lived:?}");
    // A token that claims to expire at the end of time is just a long-lived one.
    let forever = SasToken::sign(dev1.key(), "localhost/devices/dev1", u64::MAX, None);
    let (connack, lived) = connect_and_wait(hub.plain_port().unwrap(), "dev1", forever.expose(), Duration::from_millis(500));
    assert_eq!((connack, lived), (Some(rumqttc::ConnectReturnCode::Success), None));
}

#[test]
fn a_newer_connection_with_the_same_client_id_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let dev1 = hub.add_device("dev1", None).unwrap();
    let token = SasToken::sign(dev1.key(), "localhost/devices/dev1", unix_now() + 600, None);
    let port = hub.plain_port().unwrap();
    let first = std::thread::spawn(move || connect_and_wait(port, "dev1", token.expose(), Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(500));
    // The core client, over TLS, as the same device.
    let c = client(&hub, &dev1.connection_string());
    iotsec::runtime::block_on(c.connect()).unwrap();
    let (connack, lived) = first.join().unwrap();
    assert_eq!(connack, Some(rumqttc::ConnectReturnCode::Success));
    assert!(lived.is_some(), "the first connection was closed");
    send(&c, &Message::new(VALID).security());
    assert_eq!(hub.store().security_records().unwrap().len(), 1);
}

#[test]
fn garbage_and_other_protocol_versions_do_not_hurt_the_hub() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path());
    let port = hub.plain_port().unwrap();
    let exchange = |bytes: &[u8]| -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(bytes).unwrap();
        // End of input, so the hub does not wait for the rest of a packet.
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        answer
    };
    // MQTT 3.1 ("MQIsdp", level 3): CONNACK 1, unacceptable protocol version.
    let mqtt31 = [0x10, 15, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 2, 0, 60, 0, 1, b'x'];
    assert_eq!(exchange(&mqtt31), [0x20, 2, 0, 1]);
    // MQTT 3.1.1 with level 5 announced: CONNACK 1 as well, or closed without one.
    let v5 = [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 2, 0, 60, 0, 0, 0];
    let answer = exchange(&v5);
    assert!(answer.is_empty() || answer == [0x20, 2, 0, 1], "{answer:?}");
    let v5_refused = u64::from(!answer.is_empty());
    // A PUBLISH before CONNECT, random bytes, an absurd length: closed, nothing stored.
    assert!(exchange(&[0x32, 5, 0, 1, b't', 0, 1]).is_empty());
    assert!(exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_empty());
    assert!(exchange(&[0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_empty());
    let oversized = [0x10, 0x80, 0x80, 0x80, 0x01]; // remaining length 2 MiB
    assert!(exchange(&oversized).is_empty());
    // TLS port, plain bytes.
    let mut s = TcpStream::connect(("127.0.0.1", hub.tls_port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(&mqtt31).unwrap();
    let _ = s.read_to_end(&mut Vec::new());

    // Still serving.
    let c = client(&hub, &hub.add_device("after", None).unwrap().connection_string());
    send(&c, &Message::new(VALID).security());
    assert_eq!(hub.store().security_records().unwrap().len(), 1);
    assert_eq!(hub.stats().connections_refused, 1 + v5_refused);
}
