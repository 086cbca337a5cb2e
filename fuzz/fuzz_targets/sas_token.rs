//! Parsing a SAS token (what the hub does with every CONNECT password) never panics, and a
//! token that parses verifies only against the key that signed it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(parsed) = iotsec::sas::ParsedSasToken::parse(text) {
        let key = iotsec::sas::SharedAccessKey::from_bytes(vec![7; 32]);
        let _ = parsed.is_signed_by(&key);
        let resigned = iotsec::sas::SasToken::sign(&key, &parsed.resource, parsed.expiry, parsed.key_name.as_deref());
        let again = iotsec::sas::ParsedSasToken::parse(resigned.expose()).expect("a signed token parses");
        assert!(again.is_signed_by(&key));
        assert_eq!(again.resource, parsed.resource);
    }
});
