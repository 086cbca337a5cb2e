//! Any message the encoder accepts decodes back to the same identity and properties.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    device: String,
    module: Option<String>,
    message_id: Option<String>,
    correlation_id: Option<String>,
    content_type: Option<String>,
    expiry: Option<String>,
    security: bool,
    properties: Vec<(String, String)>,
}

fuzz_target!(|input: Input| {
    let identity = match &input.module {
        Some(m) => iotsec::Identity::module(input.device.clone(), m.clone()),
        None => iotsec::Identity::device(input.device.clone()),
    };
    let Ok(identity) = identity else { return };
    let mut message = iotsec::Message::new(Vec::new());
    message
        .set_message_id(input.message_id.clone())
        .set_correlation_id(input.correlation_id.clone())
        .set_content_type(input.content_type.clone())
        .set_expiry_time_utc(input.expiry.clone());
    if input.security {
        message.set_as_security_message();
    }
    for (k, v) in &input.properties {
        message.set_property(k.clone(), v.clone());
    }
    let Ok(topic) = iotsec::topic::telemetry_topic(&identity, &message) else { return };
    let (parsed_identity, parsed) = iotsec::topic::parse_telemetry_topic(&topic).expect("an encoded topic parses");
    assert_eq!(parsed_identity, identity);
    assert_eq!(parsed.system_properties(), message.system_properties());
    // Custom keys that collide with system wire keys are decoded as system properties.
    let custom: Vec<_> = message.properties().iter().filter(|(k, _)| !k.starts_with("$.")).cloned().collect();
    let parsed_custom: Vec<_> = parsed.properties().iter().filter(|(k, _)| !k.starts_with("$.")).cloned().collect();
    assert_eq!(parsed_custom, custom);
});
