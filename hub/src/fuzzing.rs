//! A connection without a socket, for the fuzz target `hub_packets` (`fuzz/`) and for tests:
//! the bytes a client sends go through the code a real connection runs — framing with
//! rumqttc's MQTT 3.1.1 codec, the protocol check and SAS authentication against a
//! [`Registry`] (`server::on_first_packet`), then every later packet
//! (`handle_packets`: topic decoding, routing, schema validation, PUBACKs) — and what the hub
//! answered and stored comes back. Stores are kept in memory, so nothing is written to disk per
//! connection. Not a stable API.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use iotsec::Identity;
use rumqttc::{ConnAck, ConnectReturnCode, Packet, Publish};

use crate::error::HubError;
use crate::pipeline::Pipeline;
use crate::registry::Registry;
use crate::server::{handle_packets, on_first_packet, ConnectOutcome, ReadError, Shared, MAX_PACKET};
use crate::stats::Counters;
use crate::store::StoreWriter;

/// Runs connections through the hub's packet handling, one at a time, with a registry in a
/// data directory and stores in memory.
pub struct PacketHarness {
    shared: Shared,
    dedupe_window: usize,
}

/// What happened on one connection.
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    /// The CONNACK return code the hub sent (`None`: it closed without an answer).
    pub connack: Option<u8>,
    /// Why the CONNECT was refused, as logged.
    pub refusal: Option<String>,
    /// Who connected, when the CONNECT was accepted.
    pub identity: Option<Identity>,
    /// Every byte the hub sent, CONNACK included.
    pub sent: Vec<u8>,
    /// Why the hub ended the connection (`None`: it was still open when the input ran out),
    /// and whether that was for an error of the client.
    pub ended: Option<(String, bool)>,
    /// JSON Lines stored: security events, dropped security messages, other telemetry.
    pub stored: [Vec<u8>; 3],
}

impl PacketHarness {
    /// A harness whose registry is the one of `data_dir` (created if missing); the duplicate
    /// check remembers `dedupe_window` messages within one connection.
    pub fn new(data_dir: &Path, dedupe_window: usize) -> Result<PacketHarness, HubError> {
        let registry = Registry::open(data_dir)?;
        let counters = Arc::new(Counters::default());
        let shared = Shared {
            registry,
            pipeline: Pipeline::new(StoreWriter::in_memory(), counters.clone(), dedupe_window),
            counters,
            sessions: Mutex::new(Default::default()),
            next_id: AtomicU64::new(1),
        };
        Ok(PacketHarness { shared, dedupe_window })
    }

    /// The registry devices authenticate against.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// One connection: the client's bytes arrive in `chunks` (as successive reads of the
    /// socket), `now` is the time (unix seconds) tokens are checked against. Each connection
    /// starts with empty stores and an empty duplicate check.
    pub fn connection<'a>(&mut self, chunks: impl IntoIterator<Item = &'a [u8]>, now: u64) -> Exchange {
        self.shared.pipeline = Pipeline::new(StoreWriter::in_memory(), self.shared.counters.clone(), self.dedupe_window);
        let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let mut exchange = Exchange::default();
        let mut chunks = chunks.into_iter();
        let mut buf = BytesMut::with_capacity(1024);

        // The first packet, framed as `read_packet` does.
        let first = loop {
            match Packet::read(&mut buf, MAX_PACKET) {
                Ok(p) => break Ok(p),
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(n)) => buf.reserve(n.max(1024)),
                Err(e) => break Err(ReadError::Codec(e)),
            }
            match chunks.next() {
                Some(chunk) => buf.extend_from_slice(chunk),
                None => break Err(ReadError::Closed),
            }
        };
        let identity = match on_first_packet(&self.shared, peer, first, now) {
            ConnectOutcome::Accepted { auth, .. } => auth.identity,
            ConnectOutcome::Refused { code, reason } => {
                let mut out = BytesMut::new();
                let _ = ConnAck::new(code, false).write(&mut out);
                exchange.sent = out.to_vec();
                exchange.connack = Some(code as u8);
                exchange.refusal = Some(reason);
                return exchange;
            }
            ConnectOutcome::Closed => return exchange,
        };
        let mut out = BytesMut::new();
        let _ = ConnAck::new(ConnectReturnCode::Success, false).write(&mut out);
        exchange.connack = Some(ConnectReturnCode::Success as u8);

        // Then as the connection loop: handle what is buffered, read, repeat.
        let mut publishes: Vec<Publish> = Vec::new();
        loop {
            let end = handle_packets(&self.shared, &identity, &mut buf, &mut publishes, &mut out);
            if end.is_some() {
                exchange.ended = end;
                break;
            }
            match chunks.next() {
                Some(chunk) => buf.extend_from_slice(chunk),
                None => break,
            }
        }
        exchange.sent = out.to_vec();
        exchange.identity = Some(identity);
        exchange.stored = self.shared.pipeline.writer().take_lines();
        exchange
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotsec::sas::SasToken;
    use rumqttc::{Connect, Login, QoS};

    const NOW: u64 = 1_800_000_000;

    fn connect(client_id: &str, password: &str) -> Vec<u8> {
        let mut c = Connect::new(client_id);
        c.login = Some(Login::new(format!("localhost/{client_id}/?api-version=2021-04-12"), password));
        let mut out = BytesMut::new();
        c.write(&mut out).unwrap();
        out.to_vec()
    }

    fn publish(topic: &str, body: &[u8], pkid: u16) -> Vec<u8> {
        let mut p = Publish::new(topic, QoS::AtLeastOnce, body.to_vec());
        p.pkid = pkid;
        let mut out = BytesMut::new();
        p.write(&mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn publishes_sent_with_the_connect_are_handled_and_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut harness = PacketHarness::new(dir.path(), 100).unwrap();
        let key = harness.registry().add_device("dev1", None).unwrap().key().clone();
        let password = SasToken::sign(&key, "localhost/devices/dev1", NOW + 60, None).expose().to_string();
        let valid = include_bytes!("../../tests/vectors/guide/guide_message_valid.json");
        let security = "devices/dev1/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1";

        // CONNECT and two publishes in one read, a third split over two reads.
        let mut first = connect("dev1", &password);
        first.extend(publish(security, valid, 1));
        first.extend(publish("devices/dev1/messages/events/", b"21 C", 2));
        let third = publish(security, b"{}", 3);
        let (a, b) = third.split_at(5);
        let exchange = harness.connection([&first[..], a, b], NOW);
        assert_eq!(exchange.connack, Some(0));
        assert_eq!(exchange.identity, Some(Identity::device("dev1").unwrap()));
        assert!(exchange.ended.is_none(), "{:?}", exchange.ended);
        let mut expected = vec![0x20, 2, 0, 0];
        for pkid in 1u8..=3 {
            expected.extend([0x40, 2, 0, pkid]);
        }
        assert_eq!(exchange.sent, expected);
        let lines = |i: usize| exchange.stored[i].iter().filter(|b| **b == b'\n').count();
        assert!(lines(0) >= 1, "security events stored");
        assert_eq!(lines(1), 1, "`{{}}` is dropped");
        assert_eq!(lines(2), 1, "telemetry");

        // The same token for another client id is refused, and says why without the signature.
        let exchange = harness.connection([&connect("dev2", &password)[..]], NOW);
        assert_eq!(exchange.connack, Some(5));
        let signature = iotsec::sas::ParsedSasToken::parse(&password).unwrap().signature;
        assert!(!exchange.refusal.unwrap().contains(&signature));
        // Garbage first: closed without an answer.
        let exchange = harness.connection([&b"\x10\xff\xff\xff\xff\x7f"[..]], NOW);
        assert_eq!((exchange.connack, exchange.sent.len()), (None, 0));
    }

    /// Found by the `hub_packets` fuzz target (fuzz/regressions/hub_packets/): publishes read
    /// together with a malformed packet after them were dropped unacknowledged, while the same
    /// bytes in two reads were stored and acknowledged.
    #[test]
    fn publishes_before_a_malformed_packet_are_stored_and_acknowledged_however_the_bytes_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut harness = PacketHarness::new(dir.path(), 100).unwrap();
        let key = harness.registry().add_device("dev1", None).unwrap().key().clone();
        let password = SasToken::sign(&key, "localhost/devices/dev1", NOW + 60, None).expose().to_string();
        let mut stream = connect("dev1", &password);
        let connect_len = stream.len();
        stream.extend(publish("devices/dev1/messages/events/", b"one", 7));
        stream.extend(publish("devices/dev1/messages/events/", b"two", 8));
        let publishes_end = stream.len();
        stream.extend([0x9b; 7]);
        let whole = harness.connection([&stream[..]], NOW);
        let cut = harness.connection([&stream[..publishes_end], &stream[publishes_end..]], NOW);
        let bytewise = harness.connection(stream.chunks(1), NOW);
        let in_connect_read = harness.connection([&stream[..connect_len + 3], &stream[connect_len + 3..]], NOW);
        for exchange in [&whole, &cut, &bytewise, &in_connect_read] {
            assert_eq!(exchange.sent, [0x20, 2, 0, 0, 0x40, 2, 0, 7, 0x40, 2, 0, 8]);
            assert_eq!(exchange.stored[2].iter().filter(|b| **b == b'\n').count(), 2);
            let (why, error) = exchange.ended.clone().unwrap();
            assert!(error && why.contains("malformed"), "{why}");
        }
    }
}
