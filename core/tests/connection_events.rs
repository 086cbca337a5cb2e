//! Connection state changes (`Client::state_changes`, what every language's connection events
//! are built on) against a real mosquitto that is killed by its PID and started again on the
//! same ports: connected, then reconnecting (with attempt numbers and the reason), then
//! connected again; a send made during the outage completes after the reconnect and arrives.

use std::time::{Duration, Instant};

use iotsec::client::Backoff;
use iotsec::{ChangeReason, Client, ClientOptions, ConnectionState, ConnectionStatus, ErrorKind, Message, StateChange, StateChanges};
use iotsec_testkit::{test_connection_string, Mosquitto, Recorder};

async fn next(changes: &mut StateChanges, within: Duration) -> StateChange {
    tokio::time::timeout(within, changes.next()).await.expect("a state change in time").expect("the client is alive")
}

/// Reads changes until one in state `name` arrives; returns everything read.
async fn until(changes: &mut StateChanges, name: &str, within: Duration) -> Vec<StateChange> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let c = next(changes, left).await;
        let done = c.state.name() == name;
        seen.push(c);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_and_restarted_gives_reconnecting_then_connected_and_sends_complete() {
    let dir = tempfile::tempdir().unwrap();
    let mut mosquitto = Mosquitto::start(dir.path()).unwrap();
    let options = ClientOptions {
        ca_file: Some(mosquitto.pki.ca_cert.clone()),
        port: Some(mosquitto.tls_port),
        reconnect: Backoff { initial: Duration::from_millis(200), max: Duration::from_millis(800), jitter: 0.1 },
        ..Default::default()
    };
    let client = Client::from_connection_string(&test_connection_string("events-dev", None), options).unwrap();
    let mut changes = client.state_changes();
    client.connect().await.unwrap();
    let first = until(&mut changes, "connected", Duration::from_secs(5)).await;
    assert_eq!(first.iter().map(|c| c.state.name()).collect::<Vec<_>>(), ["connecting", "connected"]);
    assert_eq!(first[0].status, None, "connecting is not an SDK status");
    assert_eq!((first[1].reason, first[1].status), (ChangeReason::ConnectionOk, Some(ConnectionStatus::Connected)));

    mosquitto.kill();
    let lost = next(&mut changes, Duration::from_secs(5)).await;
    match &lost.state {
        ConnectionState::Reconnecting { attempt, reason } => {
            assert_eq!(*attempt, 1);
            assert_eq!(reason.kind(), ErrorKind::ConnectionLost, "{reason}");
        }
        other => panic!("expected reconnecting, got {other}"),
    }
    assert_eq!((lost.reason, lost.status), (ChangeReason::NoNetwork, Some(ConnectionStatus::DisconnectedRetrying)));
    // A send made while the broker is down waits in the queue.
    let sender = client.clone();
    let during = tokio::spawn(async move { sender.send_message(&Message::new("during the outage").with_message_id("outage-1")).await });
    // Let at least one more attempt fail, then bring the broker back on the same ports.
    let retry = next(&mut changes, Duration::from_secs(5)).await;
    assert!(matches!(retry.state, ConnectionState::Reconnecting { attempt: 2, .. }), "{}", retry.state);
    assert_eq!(retry.status, None, "a second failed attempt is not reported again to SDK-style callbacks");
    assert!(!during.is_finished(), "the send waits for the connection");
    mosquitto.restart().unwrap();
    let recorder = Recorder::start(mosquitto.plain_port, None).unwrap();
    let back = until(&mut changes, "connected", Duration::from_secs(10)).await;
    let last = back.last().unwrap();
    assert_eq!((last.reason, last.status), (ChangeReason::ConnectionOk, Some(ConnectionStatus::Connected)));
    tokio::time::timeout(Duration::from_secs(10), during).await.expect("the send completes").unwrap().unwrap();
    // The outage send was acknowledged by the restarted broker; the recorder (subscribed after
    // the restart, maybe after that send) sees the next one arrive.
    client.send_message(&Message::new("after").with_message_id("after-1")).await.unwrap();
    let got = recorder.wait_until(Duration::from_secs(10), |r| r.iter().any(|x| x.topic.ends_with("%24.mid=after-1")));
    assert!(got.iter().any(|x| x.topic == "devices/events-dev/messages/events/%24.mid=after-1"), "{got:?}");
    let connects = mosquitto.connections().iter().filter(|(id, _)| id == "events-dev").count();
    assert!(connects >= 2, "{connects} CONNECTs");

    client.close().await;
    let end = until(&mut changes, "closed", Duration::from_secs(5)).await;
    let names: Vec<_> = end.iter().map(|c| (c.state.name(), c.reason, c.status)).collect();
    assert_eq!(
        names,
        [("disconnected", ChangeReason::ClientClose, Some(ConnectionStatus::Disconnected)), ("closed", ChangeReason::ClientClose, None)]
    );
    drop(client);
    assert!(tokio::time::timeout(Duration::from_secs(5), changes.next()).await.unwrap().is_none(), "the stream ends with the client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_renewal_is_a_planned_reconnect_with_expired_sas_token() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path()).unwrap();
    let options = ClientOptions {
        ca_file: Some(mosquitto.pki.ca_cert.clone()),
        port: Some(mosquitto.tls_port),
        token_lifetime: Duration::from_secs(5),
        ..Default::default()
    };
    let client = Client::from_connection_string(&test_connection_string("events-renew", None), options).unwrap();
    let mut changes = client.state_changes();
    client.connect().await.unwrap();
    until(&mut changes, "connected", Duration::from_secs(5)).await;
    // A 5 s token is renewed about 2 s before it expires; sends keep flowing meanwhile.
    let started = Instant::now();
    let mut renewal = None;
    while started.elapsed() < Duration::from_secs(8) && renewal.is_none() {
        client.send_message(&Message::new("tick")).await.unwrap();
        if let Ok(Some(c)) = tokio::time::timeout(Duration::from_millis(100), changes.next()).await {
            renewal = Some(c);
        }
    }
    let renewal = renewal.expect("a renewal within 8 s");
    assert!(matches!(renewal.state, ConnectionState::Reconnecting { attempt: 0, .. }), "{}", renewal.state);
    assert_eq!((renewal.reason, renewal.status), (ChangeReason::ExpiredSasToken, Some(ConnectionStatus::DisconnectedRetrying)));
    let back = until(&mut changes, "connected", Duration::from_secs(5)).await;
    assert_eq!(back.last().unwrap().status, Some(ConnectionStatus::Connected));
    client.send_message(&Message::new("after renewal")).await.unwrap();
    client.close().await;
}
