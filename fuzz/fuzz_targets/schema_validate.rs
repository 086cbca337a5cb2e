//! The validator never panics, the fast check agrees with the detailed pass, and every
//! rejected body gets at least one violation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let violations = iotsec::schema::validate(body);
    assert_eq!(iotsec::schema::is_valid(body), violations.is_empty());
    if let Ok(text) = std::str::from_utf8(body) {
        assert_eq!(iotsec::schema::validate_str(text), violations);
    }
});
