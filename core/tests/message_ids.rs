//! `ClientOptions::message_ids`: off by default (what is sent is what the official SDKs send),
//! and with `WhenUnset` every message arrives at a real mosquitto with a `$.mid` of its own,
//! while a message id the caller set is kept.

use std::time::Duration;

use iotsec::{Client, ClientOptions, Message, MessageIdPolicy};
use iotsec_testkit::{test_connection_string, Mosquitto, Recorder};

/// The `$.mid` of a received topic, if any.
fn mid(topic: &str) -> Option<&str> {
    let bag = topic.split("/messages/events/").nth(1)?;
    bag.split('&').find_map(|kv| kv.strip_prefix("%24.mid="))
}

async fn received_topics(policy: MessageIdPolicy, device: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path()).unwrap();
    let recorder = Recorder::start(mosquitto.plain_port, None).unwrap();
    let options = ClientOptions {
        ca_file: Some(mosquitto.pki.ca_cert.clone()),
        port: Some(mosquitto.tls_port),
        message_ids: policy,
        ..Default::default()
    };
    let client = Client::from_connection_string(&test_connection_string(device, None), options).unwrap();
    let plain = Message::new("no id");
    client.send_message(&plain).await.unwrap();
    client.send_message(&plain).await.unwrap();
    client.send_message(&Message::new("own id").with_message_id("mine-1")).await.unwrap();
    assert_eq!(plain.message_id(), None, "the caller's message is not changed");
    client.close().await;
    let got = recorder.wait_until(Duration::from_secs(10), |r| r.len() >= 3);
    assert_eq!(got.len(), 3, "{got:?}");
    got.into_iter().map(|r| r.topic).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_messages_are_sent_as_they_are() {
    let topics = received_topics(MessageIdPolicy::default(), "ids-never").await;
    assert_eq!(topics[0], "devices/ids-never/messages/events/");
    assert_eq!(topics[1], "devices/ids-never/messages/events/");
    assert_eq!(topics[2], "devices/ids-never/messages/events/%24.mid=mine-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_unset_every_message_gets_its_own_uuid_and_set_ids_are_kept() {
    let topics = received_topics(MessageIdPolicy::WhenUnset, "ids-auto").await;
    let first = mid(&topics[0]).expect("an id");
    let second = mid(&topics[1]).expect("an id");
    for id in [first, second] {
        let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.get_version_num(), 4);
    }
    assert_ne!(first, second, "each message has its own id");
    assert_eq!(topics[2], "devices/ids-auto/messages/events/%24.mid=mine-1");
}

#[test]
fn policy_names_parse_as_the_language_packages_spell_them() {
    let parse = |value: &str| {
        let mut options = ClientOptions::default();
        options.set_by_name("message_ids", value).map(|()| options.message_ids)
    };
    for name in ["when_unset", "WhenUnset", "when-unset", "WHEN_UNSET"] {
        assert_eq!(parse(name).ok(), Some(MessageIdPolicy::WhenUnset), "{name}");
    }
    assert_eq!(parse("Never").ok(), Some(MessageIdPolicy::Never));
    assert!(parse("always").is_err());
    assert_eq!(MessageIdPolicy::WhenUnset.name(), "when_unset");
}
