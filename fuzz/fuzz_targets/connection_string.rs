//! The connection-string parser never panics, and its errors never quote a key or signature.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(e) = iotsec::ConnectionString::parse(text) {
        for secret_key in ["SharedAccessKey=", "SharedAccessSignature="] {
            for part in text.split(';') {
                if let Some(value) = part.trim_start().strip_prefix(secret_key) {
                    // Short values can occur in the message by coincidence (e.g. "a").
                    if value.len() >= 8 {
                        assert!(!e.message().contains(value), "secret value echoed in: {}", e.message());
                    }
                }
            }
        }
    }
});
