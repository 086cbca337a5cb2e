//! The connection-string parser never panics on any text, and its errors never quote a secret:
//! a key or signature value placed anywhere in the string (as a value, or pasted as a bare
//! segment) does not appear in the error message.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Arbitrary segments `key=value` (or anything) around the secret.
    before: Vec<String>,
    after: Vec<String>,
    /// Where the secret goes: 0 = SharedAccessKey value, 1 = SharedAccessSignature value,
    /// 2 = a bare segment, 3 = the value of an arbitrary key.
    place: u8,
    other_key: String,
    /// Entropy for the secret (made into base64 text, as real keys are).
    secret_bytes: [u8; 12],
    raw: String,
}

fuzz_target!(|input: Input| {
    // Any text at all: no panic.
    let _ = iotsec::ConnectionString::parse(&input.raw);

    use std::fmt::Write as _;
    let mut secret = String::from("S3cr");
    for b in input.secret_bytes {
        let _ = write!(secret, "{b:02x}");
    }
    let secret_segment = match input.place % 4 {
        0 => format!("SharedAccessKey={secret}"),
        1 => format!("SharedAccessSignature={secret}"),
        2 => secret.clone(),
        _ => format!("{}={secret}", input.other_key),
    };
    let mut parts: Vec<String> = input.before.clone();
    parts.push(secret_segment);
    parts.extend(input.after.iter().cloned());
    let text = parts.join(";");
    // Only meaningful when the secret occurs nowhere else in the input.
    if text.matches(&secret).count() != 1 || (input.place % 4 == 3 && input.other_key.contains(&secret)) {
        return;
    }
    if let Err(e) = iotsec::ConnectionString::parse(&text) {
        assert!(!e.message().contains(&secret), "secret echoed in: {}", e.message());
    }
});
