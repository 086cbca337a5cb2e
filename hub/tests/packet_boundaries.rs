//! How the hub frames packets on a real socket, whatever the TCP segments (found while
//! building the `hub_packets` fuzz target): publishes written together with the CONNECT are
//! handled without waiting for more bytes, and publishes followed by a malformed packet in the
//! same write are stored and acknowledged before the hub closes the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use iotsec::sas::{unix_now, SasToken};
use iotsec_hub::{Hub, HubConfig};
use rumqttc::{Connect, Login, Packet, Publish, QoS};

fn connect_bytes(client_id: &str, password: &str) -> Vec<u8> {
    let mut c = Connect::new(client_id);
    c.keep_alive = 30;
    c.login = Some(Login::new(format!("localhost/{client_id}/?api-version=2021-04-12"), password));
    let mut out = BytesMut::new();
    c.write(&mut out).unwrap();
    out.to_vec()
}

fn publish_bytes(topic: &str, body: &[u8], pkid: u16) -> Vec<u8> {
    let mut p = Publish::new(topic, QoS::AtLeastOnce, body.to_vec());
    p.pkid = pkid;
    let mut out = BytesMut::new();
    p.write(&mut out).unwrap();
    out.to_vec()
}

/// Writes `bytes` in one go, then reads what the hub answers until it has `want` packets or
/// closes the connection (or 5 s pass).
fn exchange(port: u16, bytes: &[u8], want: usize) -> (Vec<Packet>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut closed = false;
    while packets.len() < want {
        let mut chunk = [0u8; 1024];
        match s.read(&mut chunk) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
        while let Ok(p) = Packet::read(&mut buf, 1 << 20) {
            packets.push(p);
        }
    }
    (packets, closed)
}

#[test]
fn publishes_in_the_connect_segment_are_acknowledged_without_more_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(HubConfig::new(dir.path()).plain_port(0)).unwrap();
    let key = hub.add_device("dev1", None).unwrap().key().clone();
    let password = SasToken::sign(&key, "localhost/devices/dev1", unix_now() + 600, None).expose().to_string();
    let mut bytes = connect_bytes("dev1", &password);
    bytes.extend(publish_bytes("devices/dev1/messages/events/", b"21 C", 1));
    let (packets, _) = exchange(hub.plain_port().unwrap(), &bytes, 2);
    assert!(matches!(packets.first(), Some(Packet::ConnAck(a)) if a.code == rumqttc::ConnectReturnCode::Success), "{packets:?}");
    assert!(matches!(packets.get(1), Some(Packet::PubAck(a)) if a.pkid == 1), "no PUBACK: {packets:?}");
    assert_eq!(hub.store().telemetry_records().unwrap().len(), 1);
}

#[test]
fn publishes_before_a_malformed_packet_are_stored_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(HubConfig::new(dir.path()).plain_port(0)).unwrap();
    let key = hub.add_device("dev1", None).unwrap().key().clone();
    let password = SasToken::sign(&key, "localhost/devices/dev1", unix_now() + 600, None).expose().to_string();
    let mut bytes = connect_bytes("dev1", &password);
    bytes.extend(publish_bytes("devices/dev1/messages/events/", b"one", 7));
    bytes.extend(publish_bytes("devices/dev1/messages/events/", b"two", 8));
    bytes.extend([0x9b; 7]);
    // Reads until the hub closes the connection (a fourth packet never comes).
    let (packets, closed) = exchange(hub.plain_port().unwrap(), &bytes, 4);
    let acked: Vec<u16> = packets.iter().filter_map(|p| if let Packet::PubAck(a) = p { Some(a.pkid) } else { None }).collect();
    assert_eq!(acked, [7, 8], "{packets:?}");
    assert_eq!(packets.len(), 3, "{packets:?}");
    assert!(closed, "the hub keeps a connection that sent a malformed packet");
    assert_eq!(hub.store().telemetry_records().unwrap().len(), 2);
    assert_eq!(hub.stats().connections_closed_for_errors, 1);
}
