//! The telemetry topic and its property bag (WIRE.md section 2), both directions.
//!
//! IoT Hub's MQTT surface carries every message property in the topic name:
//! `devices/{d}[/modules/{m}]/messages/events/` followed by `key=value` pairs joined by `&`.
//! The bytes must match the official SDKs exactly, so the order of system properties and the
//! percent-encoding set are fixed here, in one place, and tested against captured vectors.
//! The inverse ([`parse_telemetry_topic`]) is what the local hub uses to read a publish.

use std::fmt::Write as _;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::message::{Message, SystemProperties, MAX_BODY_BYTES, MAX_TOPIC_BYTES};

/// RFC 3986: everything but `A-Z a-z 0-9 - . _ ~` is encoded, as UTF-8 bytes with upper-case hex.
pub const RFC3986_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Wire keys of the system properties, in the order the SDKs write them.
const SYSTEM_KEYS: [&str; 10] = ["$.on", "$.mid", "$.cid", "$.uid", "$.to", "$.ct", "$.ce", "$.ifid", "$.exp", "$.sub"];

fn system_values(p: &SystemProperties) -> [Option<&str>; 10] {
    [
        p.output_name.as_deref(),
        p.message_id.as_deref(),
        p.correlation_id.as_deref(),
        p.user_id.as_deref(),
        p.to.as_deref(),
        p.content_type.as_deref(),
        p.content_encoding.as_deref(),
        p.interface_id.as_deref(),
        p.expiry_time_utc.as_deref(),
        p.component_name.as_deref(),
    ]
}

fn system_slot<'a>(p: &'a mut SystemProperties, key: &str) -> Option<&'a mut Option<String>> {
    Some(match key {
        "$.on" => &mut p.output_name,
        "$.mid" => &mut p.message_id,
        "$.cid" => &mut p.correlation_id,
        "$.uid" => &mut p.user_id,
        "$.to" => &mut p.to,
        "$.ct" => &mut p.content_type,
        "$.ce" => &mut p.content_encoding,
        "$.ifid" => &mut p.interface_id,
        "$.exp" => &mut p.expiry_time_utc,
        "$.sub" => &mut p.component_name,
        _ => return None,
    })
}

/// Percent-encodes `s` per RFC 3986 (the encoding of topic keys and values and of SAS fields).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986_ENCODE_SET).to_string()
}

/// The property bag of `message` as `(wire key, value)` pairs, not yet percent-encoded, in the
/// order [`telemetry_topic`] writes them: system properties under their wire keys (`$.mid`,
/// `$.ct`, ..., `$.ifid`) first, then the custom properties in insertion order.
///
/// The local hub uses it to show a received message's properties exactly as the topic carried them.
pub fn property_pairs(message: &Message) -> Vec<(&str, &str)> {
    pairs(message).collect()
}

fn pairs(message: &Message) -> impl Iterator<Item = (&str, &str)> {
    SYSTEM_KEYS
        .iter()
        .zip(system_values(message.system_properties()))
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .chain(message.properties().iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The topic `message` is published on for `identity`, property bag included.
///
/// Fails with [`ErrorKind::MessageTooLarge`] when the body is over 262,144 bytes or the topic
/// over 65,535 bytes, and with [`ErrorKind::InvalidArgument`] for an empty property name: both
/// before anything is sent.
pub fn telemetry_topic(identity: &Identity, message: &Message) -> Result<String> {
    let body_len = message.body().len();
    if body_len > MAX_BODY_BYTES {
        return Err(Error::new(
            ErrorKind::MessageTooLarge,
            format!("message body is {body_len} bytes; IoT Hub accepts at most {MAX_BODY_BYTES}"),
        ));
    }
    if let Some((name, _)) = message.properties().iter().find(|(k, _)| k.starts_with("$.")) {
        return Err(Error::invalid_argument(format!(
            "custom property `{name}`: names starting with `$.` are reserved for system properties"
        )));
    }
    let mut topic = String::with_capacity(96 + 48 * message.properties().len());
    identity.write_topic_base(&mut topic);
    let mut first = true;
    for (key, value) in pairs(message) {
        if key.is_empty() {
            return Err(Error::invalid_argument("a custom property has an empty name"));
        }
        if !first {
            topic.push('&');
        }
        first = false;
        // Writing into a String cannot fail.
        let _ = write!(topic, "{}={}", utf8_percent_encode(key, RFC3986_ENCODE_SET), utf8_percent_encode(value, RFC3986_ENCODE_SET));
        if topic.len() > MAX_TOPIC_BYTES {
            break;
        }
    }
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(Error::new(
            ErrorKind::MessageTooLarge,
            format!("the topic with its properties is over {MAX_TOPIC_BYTES} bytes, MQTT's limit"),
        ));
    }
    Ok(topic)
}

/// Reads a telemetry topic back: the identity it belongs to and a [`Message`] (empty body)
/// holding its system and custom properties.
///
/// Unknown `$.` keys are kept as custom properties under their wire name.
pub fn parse_telemetry_topic(topic: &str) -> Result<(Identity, Message)> {
    let bad = |why: &str| Error::invalid_argument(format!("not an IoT Hub telemetry topic: {why}"));
    let rest = topic.strip_prefix("devices/").ok_or_else(|| bad("it does not start with `devices/`"))?;
    let (device_id, rest) = rest.split_once('/').ok_or_else(|| bad("no `/` after the device id"))?;
    let (identity, bag) = if let Some(rest) = rest.strip_prefix("modules/") {
        let (module_id, rest) = rest.split_once('/').ok_or_else(|| bad("no `/` after the module id"))?;
        let bag = rest.strip_prefix("messages/events/").ok_or_else(|| bad("no `messages/events/` after the module id"))?;
        (Identity::module(device_id, module_id)?, bag)
    } else {
        let bag = rest.strip_prefix("messages/events/").ok_or_else(|| bad("no `messages/events/` after the device id"))?;
        (Identity::device(device_id)?, bag)
    };
    let mut message = Message::default();
    for pair in bag.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key)?;
        let value = decode(raw_value)?;
        match system_slot(message.system_properties_mut(), &key) {
            Some(slot) => *slot = Some(value),
            None => {
                message.set_property(key, value);
            }
        }
    }
    Ok((identity, message))
}

fn decode(s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::invalid_argument("a topic property decodes to bytes that are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SECURITY_INTERFACE_ID;

    const IFID: &str = "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1";

    fn golden() -> Message {
        Message::new(vec![b'x'; 483])
            .security()
            .with_message_id("golden-msg-0001")
            .with_content_type("application/json")
            .with_content_encoding("utf-8")
            .with_property("customProp", "customValue")
    }

    #[test]
    fn golden_device_topic() {
        let t = telemetry_topic(&Identity::device("dev-py").unwrap(), &golden()).unwrap();
        assert_eq!(t, format!("devices/dev-py/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&{IFID}&customProp=customValue"));
    }

    #[test]
    fn golden_module_topic() {
        let t = telemetry_topic(&Identity::module("dev-py", "mod1").unwrap(), &golden()).unwrap();
        assert_eq!(t, format!("devices/dev-py/modules/mod1/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&{IFID}&customProp=customValue"));
    }

    #[test]
    fn golden_security_flag_only() {
        let t = telemetry_topic(&Identity::device("dev1").unwrap(), &Message::new("{}").security()).unwrap();
        assert_eq!(t, format!("devices/dev1/messages/events/{IFID}"));
    }

    #[test]
    fn property_pairs_follow_the_topic_order() {
        let m = golden();
        assert_eq!(
            property_pairs(&m),
            vec![
                ("$.mid", "golden-msg-0001"),
                ("$.ct", "application/json"),
                ("$.ce", "utf-8"),
                ("$.ifid", SECURITY_INTERFACE_ID),
                ("customProp", "customValue"),
            ]
        );
        let (_, parsed) = parse_telemetry_topic(&telemetry_topic(&Identity::device("d").unwrap(), &m).unwrap()).unwrap();
        assert_eq!(property_pairs(&parsed), property_pairs(&m));
    }

    fn python_sdk_message(fill: &str) -> Message {
        let v = |s: &str| if fill.is_empty() { s.to_string() } else { format!("{s}{fill}x") };
        let mut m = Message::new("body").security();
        m.set_output_name(Some(v("output")))
            .set_message_id(Some(v("1234")))
            .set_correlation_id(Some(v("5678")))
            .set_user_id(Some(v("userid")))
            .set_content_encoding(Some(v("utf-8")))
            .set_content_type(Some(v("type")))
            .set_expiry_time_utc(Some("2019-02-02T00:00:00"));
        m
    }

    #[test]
    fn python_sdk_vector_all_system_properties() {
        let t = telemetry_topic(&Identity::device("d").unwrap(), &python_sdk_message("")).unwrap();
        let suffix = t.strip_prefix("devices/d/messages/events/").unwrap();
        assert_eq!(suffix, format!("%24.on=output&%24.mid=1234&%24.cid=5678&%24.uid=userid&%24.ct=type&%24.ce=utf-8&{IFID}&%24.exp=2019-02-02T00%3A00%3A00"));
    }

    #[test]
    fn python_sdk_vectors_with_space_slash_hash() {
        for (fill, enc) in [(" ", "%20"), ("/", "%2F"), ("#", "%23")] {
            let t = telemetry_topic(&Identity::device("d").unwrap(), &python_sdk_message(fill)).unwrap();
            for name in ["output", "1234", "5678", "userid", "type", "utf-8"] {
                assert!(t.contains(&format!("={name}{enc}x")), "{fill:?}: {t}");
            }
            assert!(!t.contains('+'), "space must never become '+': {t}");
        }
    }

    #[test]
    fn special_characters_vector() {
        let m = Message::new("").with_message_id("mid sp/sl!*'()~é").with_property("uni", "é€");
        let t = telemetry_topic(&Identity::device("d").unwrap(), &m).unwrap();
        assert_eq!(t, "devices/d/messages/events/%24.mid=mid%20sp%2Fsl%21%2A%27%28%29~%C3%A9&uni=%C3%A9%E2%82%AC");
    }

    #[test]
    fn component_and_to_are_encoded_in_order() {
        let m = Message::new("").with_component_name("thermo stat").with_to("/devices/x").with_message_id("m");
        let t = telemetry_topic(&Identity::device("d").unwrap(), &m).unwrap();
        assert_eq!(t, "devices/d/messages/events/%24.mid=m&%24.to=%2Fdevices%2Fx&%24.sub=thermo%20stat");
    }

    #[test]
    fn limits_are_enforced_exactly() {
        let id = Identity::device("d").unwrap();
        assert!(telemetry_topic(&id, &Message::new(vec![0u8; MAX_BODY_BYTES])).is_ok());
        let e = telemetry_topic(&id, &Message::new(vec![0u8; MAX_BODY_BYTES + 1])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
        let base = "devices/d/messages/events/".len();
        let fits = Message::new("").with_property("k", "v".repeat(MAX_TOPIC_BYTES - base - 2));
        assert_eq!(telemetry_topic(&id, &fits).unwrap().len(), MAX_TOPIC_BYTES);
        let over = Message::new("").with_property("k", "v".repeat(MAX_TOPIC_BYTES - base - 1));
        assert_eq!(telemetry_topic(&id, &over).unwrap_err().kind(), ErrorKind::MessageTooLarge);
    }

    #[test]
    fn custom_names_that_look_like_system_keys_are_refused() {
        let m = Message::new("").with_message_id("real").with_property("$.mid", "fake");
        let e = telemetry_topic(&Identity::device("d").unwrap(), &m).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("`$.mid`"), "{e}");
    }

    #[test]
    fn empty_property_name_is_refused() {
        let m = Message::new("").with_property("", "v");
        let e = telemetry_topic(&Identity::device("d").unwrap(), &m).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn parse_inverts_encode() {
        let original = golden().with_property("sp ace&=#/", "é€ & = #").with_component_name("c");
        for id in [Identity::device("dev-py").unwrap(), Identity::module("dev-py", "mod1").unwrap()] {
            let topic = telemetry_topic(&id, &original).unwrap();
            let (parsed_id, parsed) = parse_telemetry_topic(&topic).unwrap();
            assert_eq!(parsed_id, id);
            assert_eq!(parsed.system_properties(), original.system_properties());
            assert_eq!(parsed.properties(), original.properties());
            assert!(parsed.is_security_message());
            assert_eq!(parsed.interface_id(), Some(SECURITY_INTERFACE_ID));
        }
    }

    #[test]
    fn parse_refuses_other_topics() {
        for t in ["devices/d/messages/devicebound/", "x/d/messages/events/", "devices/d", "devices//messages/events/"] {
            assert!(parse_telemetry_topic(t).is_err(), "{t}");
        }
        assert!(parse_telemetry_topic("devices/d/messages/events/k=%FF").is_err());
    }
}
