//! Property tests: every message the encoder accepts decodes back to the same identity and
//! properties, and encoding never produces characters outside the topic grammar.

use iotsec::topic::{parse_telemetry_topic, telemetry_topic};
use iotsec::{Identity, Message};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:@$!()'*,=-]{1,24}"
}

fn any_text() -> impl Strategy<Value = String> {
    prop::string::string_regex(".{0,40}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_parse_gives_back_the_message(
        device in id(),
        module in prop::option::of(id()),
        mid in prop::option::of(any_text()),
        ct in prop::option::of(any_text()),
        exp in prop::option::of(any_text()),
        security in any::<bool>(),
        props in prop::collection::vec(("[^$].{0,20}", any_text()), 0..8),
    ) {
        let identity = match &module {
            Some(m) => Identity::module(device.clone(), m.clone()).unwrap(),
            None => Identity::device(device.clone()).unwrap(),
        };
        let mut message = Message::new("{}");
        message.set_message_id(mid).set_content_type(ct).set_expiry_time_utc(exp);
        if security {
            message.set_as_security_message();
        }
        for (k, v) in props {
            message.set_property(k, v);
        }
        let topic = telemetry_topic(&identity, &message).unwrap();
        let bag = topic.split_once("/messages/events/").unwrap().1;
        prop_assert!(bag.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%&=".contains(&b)), "{}", bag);
        let (parsed_identity, parsed) = parse_telemetry_topic(&topic).unwrap();
        prop_assert_eq!(parsed_identity, identity);
        prop_assert_eq!(parsed.system_properties(), message.system_properties());
        prop_assert_eq!(parsed.properties(), message.properties());
    }

    #[test]
    fn parsing_arbitrary_topics_never_panics(topic in any_text()) {
        let _ = parse_telemetry_topic(&topic);
        let _ = parse_telemetry_topic(&format!("devices/d/messages/events/{topic}"));
    }
}
