//! `iotsec demo`: the whole story on one machine, no cloud account.
//!
//! 1. start a local hub on free ports in a temporary directory;
//! 2. register a device;
//! 3. send the guide's example message (made schema-valid) as a security message through the
//!    Rust client, and show the topic the hub saw, the decoded properties and the verdict;
//! 4. show the guide's message as published being refused before it leaves the device;
//! 5. send it anyway (validation off) and show the hub's dropped store, which is what the
//!    service would have dropped without a word.

use std::time::Duration;

use iotsec::{Client, ClientOptions, ErrorKind, Message, ValidationMode};
use iotsec_hub::{Hub, HubConfig};

use crate::{CliError, CliResult};

/// The guide's example message made valid (ProcessCreate requires `UserId`, which the guide omits).
const GUIDE_MESSAGE_VALID: &str = include_str!("../../tests/vectors/guide/guide_message_valid.json");
/// The guide's example message exactly as published.
const GUIDE_MESSAGE: &str = include_str!("../../tests/vectors/guide/guide_message.json");

const DEVICE: &str = "demo-device";

fn failed(step: &str) -> impl Fn(iotsec::Error) -> CliError + '_ {
    move |e| CliError::failed(format!("demo: {step}: {}", e.message()))
}

pub(crate) fn run() -> CliResult {
    let dir = tempfile::Builder::new()
        .prefix("iotsec-demo-")
        .tempdir()
        .map_err(|e| CliError::failed(format!("demo: cannot make a temporary directory: {e}")))?;
    let hub = Hub::start(HubConfig::new(dir.path()))?;
    println!("iotsec demo: a local IoT Hub, one device, and the guide's security message\n");
    println!("1. Local hub listening on 127.0.0.1:{} (MQTT over TLS)", hub.tls_port());
    println!("   data, CA and stores in {} (removed when the demo ends)", hub.data_dir().display());

    let device = hub.add_device(DEVICE, None)?;
    println!("\n2. Registered device `{DEVICE}`");
    println!("   {}", device.redacted_connection_string());

    let options = |validation| ClientOptions {
        ca_file: Some(hub.ca_file().to_path_buf()),
        port: Some(hub.tls_port()),
        validation,
        connect_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    let client = Client::from_connection_string(&device.connection_string(), options(ValidationMode::Strict))
        .map_err(failed("creating the client"))?;
    let message = Message::new(GUIDE_MESSAGE_VALID)
        .with_message_id("demo-msg-0001")
        .with_content_type("application/json")
        .with_content_encoding("utf-8")
        .with_property("source", "iotsec demo")
        .security();
    iotsec::runtime::block_on(client.send_message(&message)).map_err(failed("sending the valid message"))?;
    let records = hub.store().security_records()?;
    let Some(first) = records.first() else {
        return Err(CliError::failed("demo: the hub acknowledged the message but stored no event"));
    };
    println!("\n3. Sent the guide's example message, made valid (its ProcessCreate event lacks the required");
    println!("   `UserId`), as a security message. The hub received it on the topic:");
    println!("   {}", first.topic);
    println!("   decoded properties:");
    let width = first.properties.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in &first.properties {
        println!("     {key:width$}  {}", value.as_str().unwrap_or_default());
    }
    println!("   verdict: a valid security message; stored {} event(s) in {}:", records.len(), hub.store().security_file().display());
    for r in &records {
        println!(
            "     {} {} (Id {})",
            r.event["Category"].as_str().unwrap_or("?"),
            r.event["Name"].as_str().unwrap_or("?"),
            r.event["Id"].as_str().unwrap_or("?")
        );
    }

    println!("\n4. The guide's message as published is refused before it leaves the device:");
    match iotsec::runtime::block_on(client.send_message(&Message::new(GUIDE_MESSAGE).security())) {
        Err(e) if e.kind() == ErrorKind::SchemaValidation => {
            println!("   {}: {}", e.kind(), e.message());
            for v in e.violations() {
                println!("     pointer {:<28} rule {:<10} {}", v.pointer, v.rule, v.message);
            }
        }
        Err(e) => return Err(failed("sending the guide's message")(e)),
        Ok(()) => return Err(CliError::failed("demo: the guide's invalid message was sent; validation should have refused it")),
    }
    iotsec::runtime::block_on(client.close());

    let unchecked = Client::from_connection_string(&device.connection_string(), options(ValidationMode::Off))
        .map_err(failed("creating the client"))?;
    iotsec::runtime::block_on(unchecked.send_message(&Message::new(GUIDE_MESSAGE).with_message_id("demo-msg-0002").security()))
        .map_err(failed("sending the guide's message unchecked"))?;
    iotsec::runtime::block_on(unchecked.close());
    let dropped = hub.store().dropped_records()?;
    println!("\n5. Sent anyway (validation off), Defender for IoT would drop it without a word; the local hub");
    println!("   keeps it in {} with the reason:", hub.store().dropped_file().display());
    for r in &dropped {
        for v in &r.violations {
            println!("     message {}: {} [{}] at {}", r.message_id.as_deref().unwrap_or("-"), v.message, v.rule, v.pointer);
        }
    }

    let counts = hub.store().counts()?;
    hub.stop();
    println!(
        "\nDone: {} security event(s) stored, {} message(s) dropped. Run your own hub with `iotsec hub`.",
        counts.security_events, counts.dropped_messages
    );
    Ok(())
}
