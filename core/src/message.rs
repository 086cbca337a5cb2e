//! A device-to-cloud message: body bytes, system properties, custom properties, security flag.
//!
//! The shape follows the official SDKs (`Message` in C#, Python, Node and Java,
//! `IOTHUB_MESSAGE_HANDLE` in C) so each language package maps onto it one to one. Cloning is
//! cheap for the body ([`Bytes`] is reference counted), which keeps the send path free of copies.

use std::collections::HashMap;

use bytes::Bytes;

/// The interface id that marks a message as a security message (`$.ifid`).
pub const SECURITY_INTERFACE_ID: &str = "urn:azureiot:Security:SecurityAgent:1";

/// IoT Hub's device-to-cloud message size limit (256 KiB), applied to the body.
pub const MAX_BODY_BYTES: usize = 262_144;

/// MQTT's limit on a topic name; the topic carries every property.
pub const MAX_TOPIC_BYTES: usize = 65_535;

/// The system properties IoT Hub understands, as the SDKs name them.
///
/// Each is sent in the topic's property bag under its wire key (`$.mid`, ...); see
/// [`crate::topic`]. `None` means "not sent".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SystemProperties {
    /// `$.mid`: message id.
    pub message_id: Option<String>,
    /// `$.cid`: correlation id.
    pub correlation_id: Option<String>,
    /// `$.uid`: user id.
    pub user_id: Option<String>,
    /// `$.to`: destination.
    pub to: Option<String>,
    /// `$.ct`: content type (e.g. `application/json`).
    pub content_type: Option<String>,
    /// `$.ce`: content encoding (e.g. `utf-8`).
    pub content_encoding: Option<String>,
    /// `$.on`: output name (modules routing to an output).
    pub output_name: Option<String>,
    /// `$.exp`: absolute expiry time, as an ISO 8601 string (sent verbatim).
    pub expiry_time_utc: Option<String>,
    /// `$.ifid`: interface id; [`SECURITY_INTERFACE_ID`] for a security message.
    pub interface_id: Option<String>,
    /// `$.sub`: component name (IoT Plug and Play).
    pub component_name: Option<String>,
}

/// A device-to-cloud telemetry message.
///
/// ```
/// use iotsec::Message;
/// let msg = Message::new(r#"{"AgentId":"..."}"#)
///     .with_message_id("m-1")
///     .with_content_type("application/json")
///     .with_property("site", "plant 7")
///     .security();
/// assert!(msg.is_security_message());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Message {
    body: Bytes,
    system: SystemProperties,
    properties: Vec<(String, String)>,
    index: PropertyIndex,
}

/// Positions of the custom properties by name, built once a message has more than a few, so
/// that setting n properties costs O(n), not O(n²) (100,000 properties from a binding's map
/// take milliseconds). Not part of the message's value: equality, hashing and `Debug` ignore it.
#[derive(Clone, Default)]
struct PropertyIndex(Option<HashMap<String, usize>>);

/// Below this many properties a linear scan is cheaper than an index.
const INDEX_FROM: usize = 16;

impl PartialEq for PropertyIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for PropertyIndex {}

impl std::hash::Hash for PropertyIndex {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for PropertyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

macro_rules! system_property {
    ($field:ident, $get:ident, $set:ident, $with:ident, $doc:literal) => {
        #[doc = concat!("The ", $doc, ", if set.")]
        pub fn $get(&self) -> Option<&str> {
            self.system.$field.as_deref()
        }

        #[doc = concat!("Sets the ", $doc, " (`None` removes it).")]
        pub fn $set(&mut self, value: Option<impl Into<String>>) -> &mut Self {
            self.system.$field = value.map(Into::into);
            self
        }

        #[doc = concat!("This message with the ", $doc, " set (builder style).")]
        pub fn $with(mut self, value: impl Into<String>) -> Self {
            self.system.$field = Some(value.into());
            self
        }
    };
}

impl Message {
    /// A message with `body` (bytes, `Vec<u8>`, `&'static str`, `String`, ...).
    pub fn new(body: impl Into<Bytes>) -> Self {
        Message { body: body.into(), ..Message::default() }
    }

    /// A message whose body is a copy of `body`.
    pub fn from_slice(body: &[u8]) -> Self {
        Message::new(Bytes::copy_from_slice(body))
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as shared bytes (cheap to clone).
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text, if it is UTF-8.
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Bytes>) -> &mut Self {
        self.body = body.into();
        self
    }

    /// All system properties.
    pub fn system_properties(&self) -> &SystemProperties {
        &self.system
    }

    /// All system properties, mutable.
    pub fn system_properties_mut(&mut self) -> &mut SystemProperties {
        &mut self.system
    }

    system_property!(message_id, message_id, set_message_id, with_message_id, "message id (`$.mid`)");
    system_property!(correlation_id, correlation_id, set_correlation_id, with_correlation_id, "correlation id (`$.cid`)");
    system_property!(user_id, user_id, set_user_id, with_user_id, "user id (`$.uid`)");
    system_property!(to, to, set_to, with_to, "destination (`$.to`)");
    system_property!(content_type, content_type, set_content_type, with_content_type, "content type (`$.ct`)");
    system_property!(content_encoding, content_encoding, set_content_encoding, with_content_encoding, "content encoding (`$.ce`)");
    system_property!(output_name, output_name, set_output_name, with_output_name, "output name (`$.on`)");
    system_property!(expiry_time_utc, expiry_time_utc, set_expiry_time_utc, with_expiry_time_utc, "absolute expiry time (`$.exp`, ISO 8601)");
    system_property!(interface_id, interface_id, set_interface_id, with_interface_id, "interface id (`$.ifid`)");
    system_property!(component_name, component_name, set_component_name, with_component_name, "component name (`$.sub`)");

    /// Marks this message as a security message: sets the interface id to
    /// [`SECURITY_INTERFACE_ID`]. Nothing else changes (as in the C#, Python and Node SDKs; the
    /// C and Java SDKs also overwrite the content encoding, iotsec does not).
    pub fn set_as_security_message(&mut self) -> &mut Self {
        self.system.interface_id = Some(SECURITY_INTERFACE_ID.to_string());
        self
    }

    /// This message marked as a security message (builder style).
    pub fn security(mut self) -> Self {
        self.set_as_security_message();
        self
    }

    /// Whether the interface id is the security one.
    pub fn is_security_message(&self) -> bool {
        self.system.interface_id.as_deref() == Some(SECURITY_INTERFACE_ID)
    }

    /// Custom (application) properties, in insertion order.
    pub fn properties(&self) -> &[(String, String)] {
        &self.properties
    }

    /// The value of custom property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        let position = match &self.index.0 {
            Some(index) => index.get(name).copied(),
            None => self.properties.iter().position(|(k, _)| k == name),
        };
        position.map(|i| self.properties[i].1.as_str())
    }

    /// Where custom property `name` is, building the index when there are many.
    fn position(&mut self, name: &str) -> Option<usize> {
        if self.properties.len() < INDEX_FROM {
            return self.properties.iter().position(|(k, _)| k == name);
        }
        let properties = &self.properties;
        let index = self.index.0.get_or_insert_with(|| {
            properties.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect()
        });
        index.get(name).copied()
    }

    /// Sets custom property `name`; an existing one keeps its position and gets the new value.
    pub fn set_property(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        match self.position(&name) {
            Some(i) => self.properties[i].1 = value,
            None => {
                if let Some(index) = &mut self.index.0 {
                    index.insert(name.clone(), self.properties.len());
                }
                self.properties.push((name, value));
            }
        }
        self
    }

    /// This message with custom property `name` set (builder style).
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_property(name, value);
        self
    }

    /// Removes custom property `name`, returning its value.
    pub fn remove_property(&mut self, name: &str) -> Option<String> {
        let index = self.position(name)?;
        // Positions after it move: the index is rebuilt when next needed.
        self.index.0 = None;
        Some(self.properties.remove(index).1)
    }

    /// Removes every custom property.
    pub fn clear_properties(&mut self) -> &mut Self {
        self.properties.clear();
        self.index.0 = None;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_flag_sets_only_the_interface_id() {
        let mut m = Message::new("{}").with_content_encoding("utf-8");
        assert!(!m.is_security_message());
        m.set_as_security_message();
        assert!(m.is_security_message());
        assert_eq!(m.interface_id(), Some(SECURITY_INTERFACE_ID));
        assert_eq!(m.content_encoding(), Some("utf-8"));
        assert_eq!(m.body(), b"{}");
    }

    #[test]
    fn properties_keep_insertion_order_and_replace_in_place() {
        let mut m = Message::new(Vec::new());
        m.set_property("b", "1").set_property("a", "2").set_property("b", "3");
        assert_eq!(m.properties(), &[("b".into(), "3".into()), ("a".into(), "2".into())]);
        assert_eq!(m.property("a"), Some("2"));
        assert_eq!(m.remove_property("b"), Some("3".into()));
        assert_eq!(m.property("b"), None);
    }

    #[test]
    fn many_properties_are_set_in_linear_time_with_the_same_semantics() {
        let mut m = Message::new("");
        let started = std::time::Instant::now();
        for i in 0..100_000 {
            m.set_property(format!("p{i}"), "v");
        }
        m.set_property("p5", "again").set_property("p99999", "last");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(m.properties().len(), 100_000);
        assert_eq!(m.properties()[5], ("p5".to_string(), "again".to_string()));
        assert_eq!(m.property("p99999"), Some("last"));
        assert_eq!(m.remove_property("p0"), Some("v".into()));
        assert_eq!(m.property("p1"), Some("v"));
        m.set_property("p1", "moved");
        assert_eq!(m.properties()[0], ("p1".to_string(), "moved".to_string()));
        let copy = m.clone();
        assert_eq!(copy, m);
        m.clear_properties();
        assert_eq!(m.property("p1"), None);
        assert_eq!(m, Message::new(""));
    }

    #[test]
    fn plain_setters_clear_with_none() {
        let mut m = Message::new("x").with_message_id("1");
        m.set_message_id(None::<String>);
        assert_eq!(m.message_id(), None);
        m.set_message_id(Some("2"));
        assert_eq!(m.message_id(), Some("2"));
    }
}
