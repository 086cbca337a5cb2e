//! The hub's packet handling (`iotsec_hub::fuzzing::PacketHarness`: the same CONNECT check,
//! SAS authentication against a registry, framing, topic decoding, routing and schema
//! validation as a real connection, with the stores in memory) on arbitrary client traffic:
//! CONNECTs with arbitrary client ids, user names and passwords (raw text, or SAS tokens signed
//! with registered or unknown keys, for any resource and expiry), then arbitrary PUBLISH,
//! SUBSCRIBE, PING, ... packets and raw bytes, cut into arbitrary reads.
//!
//! Oracles, beyond "no panic":
//! - a CONNECT is accepted only with a token that verifies against the registry key of the
//!   identity named by the client id, for that identity's resource, unexpired; a CONNECT built
//!   right is accepted;
//! - a refusal reason never contains the token's signature, a registry key or a long password;
//! - what the hub sends decodes as MQTT: a CONNACK first, then only PUBACK, SUBACK, UNSUBACK,
//!   PINGRESP, PUBCOMP;
//! - for a well-behaved client (its own topics, QoS 0/1): the connection stays open, every QoS 1
//!   publish is acknowledged in order, every other request answered, and the stores hold
//!   exactly the expected lines (telemetry, dropped = invalid security messages, one line per
//!   event of a valid one; re-deliveries once), each a record of the right type for that
//!   device and topic;
//! - the outcome does not depend on how the bytes were cut into reads.
#![no_main]

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use iotsec::sas::{ParsedSasToken, SasToken, SharedAccessKey};
use iotsec::{Identity, Message};
use iotsec_hub::fuzzing::{Exchange, PacketHarness};
use iotsec_hub::{DroppedRecord, SecurityRecord, TelemetryRecord};
use libfuzzer_sys::fuzz_target;
use rumqttc::{Connect, LastWill, Login, Packet, PingReq, PubAck, PubRel, Publish, QoS, Subscribe, SubscribeFilter, Unsubscribe};

const NOW: u64 = 1_800_000_000;
const HOST: &str = "localhost";
const VALID: &[u8] = include_bytes!("../../tests/vectors/guide/guide_message_valid.json");
const GUIDE: &[u8] = include_bytes!("../../tests/vectors/guide/guide_message.json");

struct Setup {
    harness: Mutex<PacketHarness>,
    /// (identity, key) of the registered devices and modules.
    registered: Vec<(Identity, SharedAccessKey)>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        // Created once per process; only read afterwards (add_device keeps existing keys).
        let dir = std::env::temp_dir().join("iotsec-fuzz-hub-packets");
        let harness = PacketHarness::new(&dir, 1000).expect("registry opens");
        let mut registered = Vec::new();
        for (d, m) in [("dev1", None), ("dev1", Some("mod1")), ("dev2", None)] {
            let c = harness.registry().add_device(d, m).expect("device registers");
            registered.push((c.identity().clone(), c.key().clone()));
        }
        Setup { harness: Mutex::new(harness), registered }
    })
}

#[derive(Arbitrary, Debug, Clone)]
enum Who {
    Dev1,
    Dev1Mod1,
    Dev2,
    /// Not registered.
    Ghost,
    Raw(String),
}

impl Who {
    fn client_id(&self) -> String {
        match self {
            Who::Dev1 => "dev1".into(),
            Who::Dev1Mod1 => "dev1/mod1".into(),
            Who::Dev2 => "dev2".into(),
            Who::Ghost => "ghost".into(),
            Who::Raw(s) => s.clone(),
        }
    }

    fn identity(&self) -> Option<Identity> {
        let id = self.client_id();
        match id.split_once('/') {
            None => Identity::device(id).ok(),
            Some((d, m)) => Identity::module(d, m).ok(),
        }
    }

    fn key(&self, setup: &Setup) -> SharedAccessKey {
        let id = self.identity();
        setup
            .registered
            .iter()
            .find(|(i, _)| Some(i) == id.as_ref())
            .map(|(_, k)| k.clone())
            .unwrap_or_else(|| SharedAccessKey::from_bytes(vec![0x5a; 32]))
    }
}

#[derive(Arbitrary, Debug)]
enum UserName {
    None,
    /// `{host}/{clientId}/?api-version=...&DeviceClientType={agent}`, as the SDKs send it.
    Proper { agent: String },
    WrongHost,
    NoApiVersion,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Resource {
    Own,
    Of(Who),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Password {
    None,
    /// Text with a secret-looking marker (`S3cr` and hex) somewhere in it.
    Raw { text: String, secret: Option<[u8; 10]>, at: u16 },
    Signed { signer: Who, resource: Resource, expiry_delta: i32, key_name: Option<String> },
}

#[derive(Arbitrary, Debug)]
struct ConnectSpec {
    who: Who,
    username: UserName,
    password: Password,
    keep_alive: u16,
    clean: bool,
    mqtt5: bool,
    will: Option<(String, Vec<u8>)>,
}

#[derive(Arbitrary, Debug)]
enum Topic {
    /// The connected identity's telemetry topic, encoded by core.
    Own { message_id: Option<String>, content_type: Option<String>, security: bool, properties: Vec<(String, String)> },
    /// Another identity's topic.
    Of { who: Who, security: bool },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Valid,
    Guide,
    /// The valid body with a byte changed.
    Mutated { at: u16, byte: u8 },
    Bytes(Vec<u8>),
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Valid => VALID.to_vec(),
            Body::Guide => GUIDE.to_vec(),
            Body::Mutated { at, byte } => {
                let mut b = VALID.to_vec();
                let i = usize::from(*at) % b.len();
                b[i] = *byte;
                b
            }
            Body::Bytes(b) => b.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Publish { topic: Topic, qos: u8, pkid: u16, retain: bool, dup: bool, body: Body, again: bool },
    Subscribe { pkid: u16, filters: Vec<(String, u8)> },
    Unsubscribe { pkid: u16, topic: String },
    PingReq,
    PubRel(u16),
    PubAck(u16),
    Disconnect,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Raw bytes instead of the CONNECT.
    raw_first: Option<Vec<u8>>,
    connect: ConnectSpec,
    ops: Vec<Op>,
    /// Read sizes the bytes are cut into.
    reads: Vec<u16>,
}

/// What a well-behaved client expects back.
#[derive(Default, Debug)]
struct Expected {
    well_behaved: bool,
    answers: Vec<Packet>,
    telemetry: usize,
    dropped: usize,
    security_events: usize,
    topics: HashSet<String>,
}

fn encode(write: impl FnOnce(&mut BytesMut) -> Result<usize, rumqttc::mqttbytes::Error>) -> Option<Vec<u8>> {
    let mut out = BytesMut::new();
    write(&mut out).ok().map(|_| out.to_vec())
}

fn qos(n: u8) -> QoS {
    match n % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// A string rumqttc can write (it truncates the length of longer ones).
fn fits(s: &str) -> bool {
    s.len() <= 60_000
}

fn password_text(spec: &ConnectSpec, setup: &Setup) -> Option<String> {
    match &spec.password {
        Password::None => None,
        Password::Raw { text, secret, at } => {
            let mut text = text.clone();
            if let Some(marker) = secret.as_ref().map(marker) {
                let mut i = usize::from(*at) % (text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                text.insert_str(i, &marker);
            }
            Some(text)
        }
        Password::Signed { signer, resource, expiry_delta, key_name } => {
            let resource = match resource {
                Resource::Own => spec.who.identity().map(|i| i.resource_uri(HOST)).unwrap_or_else(|| format!("{HOST}/devices/x")),
                Resource::Of(w) => w.identity().map(|i| i.resource_uri(HOST)).unwrap_or_else(|| format!("{HOST}/devices/y")),
                Resource::Raw(s) => s.clone(),
            };
            let expiry = (NOW as i64 + i64::from(*expiry_delta)).max(0) as u64;
            Some(SasToken::sign(&signer.key(setup), &resource, expiry, key_name.as_deref()).expose().to_string())
        }
    }
}

fn marker(secret: &[u8; 10]) -> String {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    format!("S3cr{hex}")
}

fn username_text(spec: &ConnectSpec) -> Option<String> {
    let client_id = spec.who.client_id();
    match &spec.username {
        UserName::None => None,
        UserName::Proper { agent } => {
            let agent = percent_encoding::utf8_percent_encode(agent, percent_encoding::NON_ALPHANUMERIC);
            Some(format!("{HOST}/{client_id}/?api-version=2021-04-12&DeviceClientType={agent}"))
        }
        UserName::WrongHost => Some(format!("other.azure-devices.net/{client_id}/?api-version=2021-04-12")),
        UserName::NoApiVersion => Some(format!("{HOST}/{client_id}/?x=1")),
        UserName::Raw(s) => Some(s.clone()),
    }
}

/// Whether a CONNECT built from `spec` must be accepted.
fn must_accept(spec: &ConnectSpec) -> bool {
    let registered = matches!(spec.who, Who::Dev1 | Who::Dev1Mod1 | Who::Dev2);
    let signed_right = match &spec.password {
        Password::Signed { signer, resource: Resource::Own, expiry_delta, key_name: None } => {
            signer.identity() == spec.who.identity() && *expiry_delta > 0
        }
        _ => false,
    };
    registered && signed_right && !spec.mqtt5 && matches!(spec.username, UserName::Proper { .. })
}

fuzz_target!(|input: Input| {
    let setup = setup();
    let mut stream: Vec<u8> = Vec::new();
    let mut expected = Expected::default();

    // The first packet.
    let structured = input.raw_first.is_none();
    let password = password_text(&input.connect, setup);
    let username = username_text(&input.connect);
    match &input.raw_first {
        Some(raw) => stream.extend_from_slice(raw),
        None => {
            let spec = &input.connect;
            let client_id = spec.who.client_id();
            let mut c = Connect::new(client_id.clone());
            c.keep_alive = spec.keep_alive;
            c.clean_session = spec.clean;
            if spec.mqtt5 {
                c.protocol = rumqttc::Protocol::V5;
            }
            if let Some((topic, message)) = &spec.will {
                if fits(topic) {
                    c.last_will = Some(LastWill::new(topic.clone(), message.clone(), QoS::AtMostOnce, false));
                }
            }
            if let Some(u) = &username {
                c.login = Some(Login::new(u.clone(), password.clone().unwrap_or_default()));
            }
            let strings_fit = fits(&client_id) && username.as_deref().is_none_or(fits) && password.as_deref().is_none_or(fits);
            if !strings_fit {
                return;
            }
            let Some(bytes) = encode(|b| c.write(b)) else { return };
            stream.extend(bytes);
        }
    }

    // Then the client's packets; a well-behaved client's expected answers and stores.
    let identity = input.connect.who.identity();
    expected.well_behaved = structured && must_accept(&input.connect);
    let mut seen: HashSet<(String, String, Vec<u8>)> = HashSet::new();
    let mut disconnected = false;
    for op in &input.ops {
        let mut behaved = true;
        let bytes = match op {
            Op::Publish { topic, qos: q, pkid, retain, dup, body, again } => {
                let qos = qos(*q);
                let body = body.bytes();
                let topic = match topic {
                    Topic::Own { message_id, content_type, security, properties } => {
                        let Some(id) = &identity else { continue };
                        let mut m = Message::new(Vec::new());
                        m.set_message_id(message_id.clone()).set_content_type(content_type.clone());
                        if *security {
                            m.set_as_security_message();
                        }
                        for (k, v) in properties {
                            m.set_property(k.clone(), v.clone());
                        }
                        match iotsec::topic::telemetry_topic(id, &m) {
                            Ok(t) => t,
                            Err(_) => continue,
                        }
                    }
                    Topic::Of { who, security } => {
                        let Some(id) = who.identity() else { continue };
                        behaved = Some(&id) == identity.as_ref();
                        let mut m = Message::new(Vec::new());
                        if *security {
                            m.set_as_security_message();
                        }
                        match iotsec::topic::telemetry_topic(&id, &m) {
                            Ok(t) => t,
                            Err(_) => continue,
                        }
                    }
                    Topic::Raw(t) => {
                        behaved = false;
                        t.clone()
                    }
                };
                if !fits(&topic) {
                    continue;
                }
                behaved &= qos != QoS::ExactlyOnce;
                let mut p = Publish::new(topic.clone(), qos, body.clone());
                p.pkid = if qos == QoS::AtMostOnce { 0 } else { (*pkid).max(1) };
                p.retain = *retain;
                p.dup = *dup;
                let Some(mut bytes) = encode(|b| p.write(b)) else { continue };
                let copies = if *again { 2 } else { 1 };
                if *again {
                    bytes.extend(bytes.clone());
                }
                if behaved && !disconnected && expected.well_behaved {
                    let (_, parsed) = iotsec::topic::parse_telemetry_topic(&topic).expect("an encoded topic parses");
                    for _ in 0..copies {
                        if qos == QoS::AtLeastOnce {
                            expected.answers.push(Packet::PubAck(PubAck::new(p.pkid)));
                        }
                        if let Some(mid) = parsed.message_id() {
                            if !seen.insert((mid.to_string(), topic.clone(), body.clone())) {
                                continue;
                            }
                        }
                        expected.topics.insert(topic.clone());
                        if !parsed.is_security_message() {
                            expected.telemetry += 1;
                        } else if iotsec::schema::is_valid(&body) {
                            let value: serde_json::Value = serde_json::from_slice(&body).expect("a valid body is JSON");
                            expected.security_events += value["Events"].as_array().map_or(0, Vec::len);
                        } else {
                            expected.dropped += 1;
                        }
                    }
                }
                bytes
            }
            Op::Subscribe { pkid, filters } => {
                if filters.is_empty() || filters.iter().any(|(f, _)| !fits(f)) {
                    continue;
                }
                let s = Subscribe::new_many(filters.iter().map(|(f, q)| SubscribeFilter::new(f.clone(), qos(*q))));
                let mut s = s;
                s.pkid = *pkid;
                let Some(bytes) = encode(|b| s.write(b)) else { continue };
                if !disconnected {
                    // Codes are the hub's policy; the count and packet id are checked.
                    let codes = vec![rumqttc::SubscribeReasonCode::Failure; filters.len()];
                    expected.answers.push(Packet::SubAck(rumqttc::SubAck::new(*pkid, codes)));
                }
                bytes
            }
            Op::Unsubscribe { pkid, topic } => {
                if !fits(topic) {
                    continue;
                }
                let mut u = Unsubscribe::new(topic.clone());
                u.pkid = *pkid;
                let Some(bytes) = encode(|b| u.write(b)) else { continue };
                if !disconnected {
                    expected.answers.push(Packet::UnsubAck(rumqttc::UnsubAck::new(*pkid)));
                }
                bytes
            }
            Op::PingReq => {
                if !disconnected {
                    expected.answers.push(Packet::PingResp);
                }
                encode(|b| PingReq.write(b)).unwrap_or_default()
            }
            Op::PubRel(pkid) => {
                if !disconnected {
                    expected.answers.push(Packet::PubComp(rumqttc::PubComp::new(*pkid)));
                }
                encode(|b| PubRel::new(*pkid).write(b)).unwrap_or_default()
            }
            Op::PubAck(pkid) => encode(|b| PubAck::new(*pkid).write(b)).unwrap_or_default(),
            Op::Disconnect => {
                disconnected = true;
                encode(|b| rumqttc::Disconnect.write(b)).unwrap_or_default()
            }
            Op::Raw(raw) => {
                behaved = false;
                raw.clone()
            }
        };
        if !behaved && !disconnected {
            expected.well_behaved = false;
        }
        stream.extend(bytes);
    }

    // Cut into reads.
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut rest = &stream[..];
    for r in &input.reads {
        if rest.is_empty() {
            break;
        }
        let n = (usize::from(*r) % 512 + 1).min(rest.len());
        let (a, b) = rest.split_at(n);
        chunks.push(a);
        rest = b;
    }
    if !rest.is_empty() {
        chunks.push(rest);
    }

    let mut harness = setup.harness.lock().unwrap_or_else(|p| p.into_inner());
    let cut = harness.connection(chunks.iter().copied(), NOW);
    let whole = harness.connection([&stream[..]], NOW);
    drop(harness);

    // The same however the bytes were cut.
    assert_eq!(cut.connack, whole.connack);
    assert_eq!(cut.sent, whole.sent, "answers depend on how the bytes were cut");
    assert_eq!(cut.ended, whole.ended);
    for i in 0..3 {
        assert_eq!(lines(&cut.stored[i]), lines(&whole.stored[i]), "store {i} depends on how the bytes were cut");
    }

    check_connect(&stream, &cut, setup);
    if structured && must_accept(&input.connect) {
        assert_eq!(cut.connack, Some(0), "a right CONNECT was refused: {:?}", cut.refusal);
    }
    if let Some(reason) = &cut.refusal {
        check_no_secret(reason, &input.connect, password.as_deref(), username.as_deref(), setup);
    }
    if let Some((why, _)) = &cut.ended {
        check_no_secret(why, &input.connect, password.as_deref(), username.as_deref(), setup);
    }
    let answers = check_sent(&cut);
    check_stored(&cut);

    if expected.well_behaved && cut.connack == Some(0) {
        if disconnected {
            assert_eq!(cut.ended, Some(("the client disconnected".to_string(), false)));
        } else {
            assert!(cut.ended.is_none(), "a well-behaved client was disconnected: {:?}", cut.ended);
        }
        assert_eq!(answers.len(), expected.answers.len(), "answers {answers:?}, expected {:?}", expected.answers);
        for (got, want) in answers.iter().zip(&expected.answers) {
            match (got, want) {
                (Packet::SubAck(g), Packet::SubAck(w)) => {
                    assert_eq!((g.pkid, g.return_codes.len()), (w.pkid, w.return_codes.len()));
                }
                _ => assert_eq!(got, want),
            }
        }
        assert_eq!(lines(&cut.stored[2]), expected.telemetry, "telemetry lines");
        assert_eq!(lines(&cut.stored[1]), expected.dropped, "dropped lines");
        assert_eq!(lines(&cut.stored[0]), expected.security_events, "security event lines");
        for line in cut.stored.iter().flat_map(|s| s.split(|b| *b == b'\n')).filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).expect("JSON line");
            let topic = v["topic"].as_str().expect("topic");
            assert!(expected.topics.contains(topic), "stored a topic never published: {topic}");
        }
    }
});

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// An accepted CONNECT carried a token that verifies for the client id's identity.
fn check_connect(stream: &[u8], exchange: &Exchange, setup: &Setup) {
    let Some(identity) = &exchange.identity else {
        assert_ne!(exchange.connack, Some(0), "CONNACK 0 without an identity");
        return;
    };
    assert_eq!(exchange.connack, Some(0));
    let mut buf = BytesMut::from(stream);
    let Ok(Packet::Connect(c)) = Packet::read(&mut buf, usize::MAX) else { panic!("accepted without a CONNECT") };
    assert_eq!(c.protocol, rumqttc::Protocol::V4);
    assert_eq!(c.client_id, identity.client_id());
    let login = c.login.expect("accepted without a login");
    let token = ParsedSasToken::parse(&login.password).expect("accepted without a SAS token");
    assert!(token.key_name.is_none());
    assert!(token.expiry > NOW, "accepted an expired token");
    assert!(token.resource.eq_ignore_ascii_case(&identity.resource_uri(HOST)), "accepted a token for {}", token.resource);
    let (_, key) = setup.registered.iter().find(|(i, _)| i == identity).expect("accepted an unregistered identity");
    assert!(token.is_signed_by(key), "accepted a token not signed with the identity's key");
}

fn check_no_secret(text: &str, spec: &ConnectSpec, password: Option<&str>, username: Option<&str>, setup: &Setup) {
    let client_id = spec.who.client_id();
    let elsewhere = |s: &str| client_id.contains(s) || username.is_some_and(|u| u.contains(s));
    for (_, key) in &setup.registered {
        assert!(!text.contains(&key.to_base64()), "a registry key in: {text}");
    }
    if let Some(p) = password {
        if let Ok(t) = ParsedSasToken::parse(p) {
            if t.signature.len() >= 8 && !elsewhere(&t.signature) && !t.resource.contains(&t.signature) {
                assert!(!text.contains(&t.signature), "the signature in: {text}");
            }
        } else if let Password::Raw { secret: Some(secret), .. } = &spec.password {
            let m = marker(secret);
            if !elsewhere(&m) {
                assert!(!text.contains(&m), "the password in: {text}");
            }
        }
    }
}

/// What the hub sent decodes: a CONNACK, then only answers to a client's requests.
fn check_sent(exchange: &Exchange) -> Vec<Packet> {
    let mut buf = BytesMut::from(&exchange.sent[..]);
    let mut packets = Vec::new();
    while !buf.is_empty() {
        packets.push(Packet::read(&mut buf, usize::MAX).expect("the hub sent a malformed packet"));
    }
    match exchange.connack {
        None => assert!(packets.is_empty(), "sent {packets:?} without a CONNACK"),
        Some(code) => {
            let Some(Packet::ConnAck(ack)) = packets.first() else { panic!("the first packet sent is not a CONNACK") };
            assert_eq!(ack.code as u8, code);
            if code != 0 {
                assert_eq!(packets.len(), 1, "sent more after a refusal");
            }
        }
    }
    let rest: Vec<Packet> = packets.into_iter().skip(1).collect();
    for p in &rest {
        assert!(
            matches!(p, Packet::PubAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp | Packet::PubComp(_)),
            "the hub sent {p:?}"
        );
    }
    rest
}

/// Every stored line is a record of its store's type, for the connected identity.
fn check_stored(exchange: &Exchange) {
    let Some(identity) = &exchange.identity else {
        assert!(exchange.stored.iter().all(Vec::is_empty), "stored without a connection");
        return;
    };
    let each = |bytes: &[u8], f: &mut dyn FnMut(&[u8])| {
        assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "a store ends without a newline");
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            f(line);
        }
    };
    let same = |device: &str, module: &Option<String>, topic: &str| {
        assert_eq!(device, identity.device_id());
        assert_eq!(module.as_deref(), identity.module_id());
        let (sender, _) = iotsec::topic::parse_telemetry_topic(topic).expect("a stored topic parses");
        assert_eq!(&sender, identity);
    };
    each(&exchange.stored[0], &mut |line| {
        let r: SecurityRecord = serde_json::from_slice(line).expect("a security record");
        same(&r.device_id, &r.module_id, &r.topic);
        assert_eq!(r.property("$.ifid"), Some(iotsec::SECURITY_INTERFACE_ID));
    });
    each(&exchange.stored[1], &mut |line| {
        let r: DroppedRecord = serde_json::from_slice(line).expect("a dropped record");
        same(&r.device_id, &r.module_id, &r.topic);
        assert!(!r.violations.is_empty(), "dropped without a violation");
        assert_eq!(r.property("$.ifid"), Some(iotsec::SECURITY_INTERFACE_ID));
    });
    each(&exchange.stored[2], &mut |line| {
        let r: TelemetryRecord = serde_json::from_slice(line).expect("a telemetry record");
        same(&r.device_id, &r.module_id, &r.topic);
        assert_ne!(r.property("$.ifid"), Some(iotsec::SECURITY_INTERFACE_ID));
    });
}
