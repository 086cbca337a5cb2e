//! Routing received telemetry like the service does, and storing it.
//!
//! A PUBLISH on `devices/{d}[/modules/{m}]/messages/events/{property bag}` is decoded with
//! core's [`iotsec::topic::parse_telemetry_topic`]. A message whose `$.ifid` is
//! [`iotsec::SECURITY_INTERFACE_ID`] is a security message: validated against the schema with
//! core's validator, stored one line per event when valid, or stored with its violations in the
//! dropped store (where the service would drop it silently). Anything else is telemetry.
//!
//! Delivery is at least once, so a client may send a message again after a reconnect. A
//! message with a `$.mid` whose device, topic and body equal one of the recent ones is counted
//! as a duplicate and not stored twice.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use iotsec::topic::{parse_telemetry_topic, property_pairs};
use iotsec::{Identity, Message, MAX_BODY_BYTES};
use rumqttc::{Publish, QoS};
use serde::Serialize;
use serde_json::Value;

use crate::registry::now_rfc3339;
use crate::stats::{add, Counters};
use crate::store::{body_fields, DroppedRecord, Kind, Properties, SecurityRecord, StoredViolation, StoreWriter, TelemetryRecord};

/// How many recent message keys the duplicate check remembers, by default.
pub const DEFAULT_DEDUPE_WINDOW: usize = 100_000;

/// What happened to a batch of publishes.
pub(crate) struct Routed {
    /// How many publishes, from the start of the batch, were handled (stored or duplicates)
    /// and may be acknowledged.
    pub accepted: usize,
    /// Why the connection must be closed, when a publish broke the rules (it and the ones
    /// after it are not handled).
    pub error: Option<String>,
}

pub(crate) struct Pipeline {
    writer: StoreWriter,
    counters: Arc<Counters>,
    dedupe: Mutex<Dedupe>,
}

impl Pipeline {
    pub fn new(writer: StoreWriter, counters: Arc<Counters>, dedupe_window: usize) -> Pipeline {
        Pipeline { writer, counters, dedupe: Mutex::new(Dedupe::new(dedupe_window)) }
    }

    /// Where the pipeline writes.
    pub fn writer(&self) -> &StoreWriter {
        &self.writer
    }

    /// Routes and stores `publishes` from the connection of `identity`. Lines are written
    /// before this returns, so the caller may acknowledge the accepted ones.
    pub fn route(&self, identity: &Identity, publishes: &[Publish]) -> Routed {
        let mut lines: [Vec<u8>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let mut accepted = 0;
        let mut error = None;
        let c = &self.counters;
        for publish in publishes {
            match self.route_one(identity, publish, &mut lines) {
                Ok(()) => accepted += 1,
                Err(why) => {
                    error = Some(why);
                    break;
                }
            }
        }
        for (kind, bytes) in [(Kind::Security, &lines[0]), (Kind::Dropped, &lines[1]), (Kind::Telemetry, &lines[2])] {
            if let Err(e) = self.writer.append(kind, bytes) {
                // Not acknowledging makes the client send them again later.
                tracing::error!("cannot write the {kind:?} store: {e}");
                return Routed { accepted: 0, error: Some(format!("the hub cannot write its store: {e}")) };
            }
        }
        add(&c.messages_received, accepted as u64);
        Routed { accepted, error }
    }

    fn route_one(&self, identity: &Identity, publish: &Publish, lines: &mut [Vec<u8>; 3]) -> Result<(), String> {
        let topic = publish.topic.as_str();
        if publish.qos == QoS::ExactlyOnce {
            return Err(format!("PUBLISH with QoS 2 on `{}`: IoT Hub does not support QoS 2", shorten(topic)));
        }
        let (sender, message) = parse_telemetry_topic(topic).map_err(|e| {
            format!(
                "PUBLISH on `{}`, which a device may not publish to ({}); telemetry goes to `{}`",
                shorten(topic),
                e.message(),
                identity.telemetry_topic_base()
            )
        })?;
        if sender != *identity {
            return Err(format!("`{identity}` published on `{}`, a topic of `{sender}`", shorten(topic)));
        }
        let body = &publish.payload[..];
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("a message body of {} bytes; IoT Hub accepts at most {MAX_BODY_BYTES}", body.len()));
        }
        if let Some(mid) = message.message_id() {
            if !self.dedupe.lock().unwrap_or_else(|p| p.into_inner()).first_time(identity, mid, topic, body) {
                add(&self.counters.duplicates, 1);
                tracing::debug!(client_id = %identity, message_id = mid, "duplicate message (re-delivery): not stored again");
                return Ok(());
            }
        }
        let head = Head::new(identity, topic, &message);
        if message.is_security_message() {
            self.security(head, body, lines);
        } else {
            let (text, base64) = body_fields(body);
            let record = TelemetryRecord {
                device_id: head.device_id,
                module_id: head.module_id,
                topic: head.topic,
                properties: head.properties,
                message_id: head.message_id,
                received_at: head.received_at,
                body: text,
                body_base64: base64,
            };
            push_line(&mut lines[Kind::Telemetry as usize], &record);
            add(&self.counters.telemetry_messages, 1);
        }
        Ok(())
    }

    fn security(&self, head: Head, body: &[u8], lines: &mut [Vec<u8>; 3]) {
        let parsed = serde_json::from_slice::<Value>(body);
        let violations = match &parsed {
            Ok(value) => iotsec::schema::validate_value(value),
            // Not JSON (or not UTF-8): the validator says where reading stopped.
            Err(_) => iotsec::schema::validate(body),
        };
        match parsed {
            Ok(value) if violations.is_empty() => {
                let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
                let (agent_id, agent_version, schema) = (text("AgentId"), text("AgentVersion"), text("MessageSchemaVersion"));
                let events = value.get("Events").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                for (index, event) in events.iter().enumerate() {
                    let record = SecurityRecord {
                        device_id: head.device_id.clone(),
                        module_id: head.module_id.clone(),
                        topic: head.topic.clone(),
                        properties: head.properties.clone(),
                        message_id: head.message_id.clone(),
                        received_at: head.received_at.clone(),
                        agent_id: agent_id.clone(),
                        agent_version: agent_version.clone(),
                        message_schema_version: schema.clone(),
                        event_index: index,
                        event: event.clone(),
                    };
                    push_line(&mut lines[Kind::Security as usize], &record);
                }
                add(&self.counters.security_messages, 1);
                add(&self.counters.security_events, events.len() as u64);
            }
            _ => {
                tracing::info!(
                    device_id = %head.device_id,
                    module_id = head.module_id.as_deref().unwrap_or(""),
                    violations = violations.len(),
                    "security message breaks the schema (the service would drop it): {}",
                    violations.first().map(ToString::to_string).unwrap_or_default()
                );
                let (text, base64) = body_fields(body);
                let record = DroppedRecord {
                    device_id: head.device_id,
                    module_id: head.module_id,
                    topic: head.topic,
                    properties: head.properties,
                    message_id: head.message_id,
                    received_at: head.received_at,
                    violations: violations.iter().map(StoredViolation::from).collect(),
                    body: text,
                    body_base64: base64,
                };
                push_line(&mut lines[Kind::Dropped as usize], &record);
                add(&self.counters.dropped_messages, 1);
            }
        }
    }
}

/// The fields every record starts with.
struct Head {
    device_id: String,
    module_id: Option<String>,
    topic: String,
    properties: Properties,
    message_id: Option<String>,
    received_at: String,
}

impl Head {
    fn new(identity: &Identity, topic: &str, message: &Message) -> Head {
        let properties =
            property_pairs(message).into_iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        Head {
            device_id: identity.device_id().to_string(),
            module_id: identity.module_id().map(str::to_string),
            topic: topic.to_string(),
            properties,
            message_id: message.message_id().map(str::to_string),
            received_at: now_rfc3339(),
        }
    }
}

fn push_line(out: &mut Vec<u8>, record: &impl Serialize) {
    if serde_json::to_writer(&mut *out, record).is_ok() {
        out.push(b'\n');
    }
}

/// A topic for a log line: long ones are cut (topics may be 64 KiB).
fn shorten(topic: &str) -> String {
    const MAX: usize = 200;
    if topic.len() <= MAX {
        return topic.to_string();
    }
    let mut end = MAX;
    while !topic.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &topic[..end], topic.len())
}

/// The keys of the most recent messages (a 64-bit hash of identity, `$.mid`, topic and body),
/// oldest forgotten first.
struct Dedupe {
    capacity: usize,
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    hasher: RandomState,
}

impl Dedupe {
    fn new(capacity: usize) -> Dedupe {
        Dedupe { capacity, seen: HashSet::new(), order: VecDeque::new(), hasher: RandomState::new() }
    }

    /// Whether this message is new (and remembers it).
    fn first_time(&mut self, identity: &Identity, mid: &str, topic: &str, body: &[u8]) -> bool {
        if self.capacity == 0 {
            return true;
        }
        let key = self.hasher.hash_one((identity.device_id(), identity.module_id(), mid, topic, body));
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_remembers_a_bounded_window() {
        let id = Identity::device("d").unwrap();
        let mut d = Dedupe::new(2);
        assert!(d.first_time(&id, "1", "t", b"x"));
        assert!(!d.first_time(&id, "1", "t", b"x"));
        assert!(d.first_time(&id, "1", "t", b"y"), "same id, other body: a different message");
        assert!(d.first_time(&Identity::device("e").unwrap(), "1", "t", b"x"), "other device");
        assert!(d.first_time(&id, "1", "t", b"x"), "forgotten after two newer ones");
    }

    #[test]
    fn shortens_long_topics_on_char_boundaries() {
        let long = "é".repeat(300);
        let s = shorten(&long);
        assert!(s.ends_with("(600 bytes)"), "{s}");
        assert_eq!(shorten("short"), "short");
    }
}
