//! A whole security message: agent identity plus events, built and validated in one step.

use serde_json::{Map, Value};

use super::event::{Event, Now};
use super::validate::check;
use crate::message::Message;

/// A security message body under construction.
///
/// [`build`](SecurityMessage::build) refuses to produce bytes the service would silently drop:
/// it validates what it serialized and returns [`ErrorKind::SchemaValidation`] with every
/// violation otherwise.
///
/// ```
/// use iotsec::schema::{payload::ProcessCreate, Event, SecurityMessage};
///
/// let body = SecurityMessage::new("e89dc5f5-feac-4c3e-87e2-93c16f010c25", "0.0.1")
///     .event(Event::with(ProcessCreate {
///         executable: "/usr/bin/myApp".into(),
///         process_id: 11750,
///         parent_process_id: 1593,
///         user_id: "1000".into(),
///         command_line: "myApp -a -b".into(),
///         ..Default::default()
///     }))
///     .build()?;
/// assert!(iotsec::schema::is_valid(&body));
/// # Ok::<(), iotsec::Error>(())
/// ```
///
/// [`ErrorKind::SchemaValidation`]: crate::ErrorKind::SchemaValidation
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityMessage {
    /// `AgentId`: a GUID identifying the agent (36 characters).
    pub agent_id: String,
    /// `AgentVersion`: free text, e.g. `1.0.0`.
    pub agent_version: String,
    /// The events, at least one.
    pub events: Vec<Event>,
}

impl SecurityMessage {
    /// A message from agent `agent_id` at `agent_version`, with no events yet.
    pub fn new(agent_id: impl Into<String>, agent_version: impl Into<String>) -> Self {
        SecurityMessage {
            agent_id: agent_id.into(),
            agent_version: agent_version.into(),
            events: Vec::new(),
        }
    }

    /// This message with `event` added.
    pub fn event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    /// Adds `event`.
    pub fn push(&mut self, event: Event) -> &mut Self {
        self.events.push(event);
        self
    }

    /// The message as JSON (not validated), with `MessageSchemaVersion` `"1.0"` and missing
    /// event ids and timestamps filled in (one clock reading for all events).
    pub fn to_value(&self) -> Value {
        let now = Now::take();
        let mut message = Map::new();
        message.insert("AgentVersion".into(), self.agent_version.clone().into());
        message.insert("AgentId".into(), self.agent_id.clone().into());
        message.insert("MessageSchemaVersion".into(), "1.0".into());
        let events = self.events.iter().map(|e| e.to_value_at(&now)).collect();
        message.insert("Events".into(), Value::Array(events));
        Value::Object(message)
    }

    /// The body as compact UTF-8 JSON, validated against the schema.
    pub fn build(&self) -> crate::Result<Vec<u8>> {
        let body = serde_json::to_vec(&self.to_value()).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Internal,
                format!("serializing a security message: {e}"),
            )
        })?;
        check(&body)?;
        Ok(body)
    }

    /// A [`Message`] ready to send: the validated body, flagged as a security message, with
    /// content type `application/json` and content encoding `utf-8`.
    pub fn build_message(&self) -> crate::Result<Message> {
        Ok(Message::new(self.build()?)
            .with_content_type("application/json")
            .with_content_encoding("utf-8")
            .security())
    }
}
