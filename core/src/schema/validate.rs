//! Validating a body: the public entry points.
//!
//! The send path only needs yes or no, so [`is_valid`] parses into a borrowed tree
//! ([`super::fast`]) and asks the whole-message validator, about a microsecond each for a
//! typical message. Explanations cost more and are only computed for rejects
//! ([`super::detail`]), on the same tree. Bytes that are not UTF-8 or not JSON get one violation with
//! the position where reading stopped.

use serde_json::Value;

use super::compiled::compiled;
use super::detail::explain;
use super::fast::{parse, Fast};
use super::violation::{TextPosition, Violation};
use crate::error::{Error, ErrorKind};

/// Every way `body` breaks the security-message schema; empty means valid.
///
/// Bytes that are not UTF-8 give one violation with rule `utf8`, text that is not JSON one with
/// rule `json`; both have pointer `""` and the [`TextPosition`] of the first bad byte.
pub fn validate(body: &[u8]) -> Vec<Violation> {
    match parse(body) {
        Ok(tree) => validate_tree(&tree),
        Err(error) => vec![unreadable(body, &error)],
    }
}

/// [`validate`] for a body already known to be text.
pub fn validate_str(body: &str) -> Vec<Violation> {
    validate(body.as_bytes())
}

/// [`validate`] for a parsed message.
pub fn validate_value(value: &Value) -> Vec<Violation> {
    match compiled() {
        Ok(c) if c.root.is_valid(value) => Vec::new(),
        _ => validate_tree(&Fast::from_value(value)),
    }
}

/// Whether `body` is a valid security message (the fast check of the send path).
pub fn is_valid(body: &[u8]) -> bool {
    let (Ok(compiled), Ok(tree)) = (compiled(), parse(body)) else {
        return false;
    };
    compiled.fast_root.is_valid(&tree)
}

/// Whether a parsed message is valid.
pub fn is_valid_value(value: &Value) -> bool {
    compiled().is_ok_and(|c| c.root.is_valid(value))
}

/// `Ok(())` if `body` is valid, else an [`ErrorKind::SchemaValidation`] error carrying every
/// violation.
pub fn check(body: &[u8]) -> crate::Result<()> {
    if let Err(why) = compiled() {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("schema validator unavailable: {why}"),
        ));
    }
    let violations = validate(body);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::schema(violations))
    }
}

/// The fast check, then on a reject the detailed pass.
fn validate_tree(tree: &Fast<'_>) -> Vec<Violation> {
    let compiled = match compiled() {
        Ok(c) => c,
        Err(why) => return vec![Violation::new("", "internal", format!("iotsec bug: {why}"))],
    };
    if compiled.fast_root.is_valid(tree) {
        return Vec::new();
    }
    let mut violations = explain(compiled, tree);
    if violations.is_empty() {
        // The parts are the whole schema, so this should not happen; never say "invalid"
        // without saying something.
        violations.push(Violation::new(
            "",
            "oneOf",
            "the message does not match the security message schema v1.0",
        ));
    }
    violations
}

/// The one violation of a body that cannot be read: not UTF-8, or not JSON.
fn unreadable(body: &[u8], error: &serde_json::Error) -> Violation {
    match std::str::from_utf8(body) {
        Err(e) => {
            let at = position(body, e.valid_up_to());
            Violation::new(
                "",
                "utf8",
                format!(
                    "the body is not UTF-8: invalid byte at offset {}",
                    at.offset
                ),
            )
            .at(at)
        }
        Ok(_) => json_violation(body, error),
    }
}

fn json_violation(body: &[u8], error: &serde_json::Error) -> Violation {
    // serde_json counts lines from 1 and columns in bytes from 1 (0 before the first byte).
    let line_start = match error.line() {
        0 | 1 => 0,
        line => body
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(body.len(), |(i, _)| i + 1),
    };
    let offset = (line_start + error.column().saturating_sub(1)).min(body.len());
    Violation::new("", "json", format!("the body is not JSON: {error}")).at(position(body, offset))
}

/// Line and column (both 1-based, column in bytes) of byte `offset` in `body`.
fn position(body: &[u8], offset: usize) -> TextPosition {
    let before = &body[..offset.min(body.len())];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    TextPosition {
        offset,
        line,
        column: offset - line_start + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_position_is_the_first_bad_byte() {
        let v = validate(b"{\n  \"a\": \"\xff\"}");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule, "utf8");
        assert_eq!(
            v[0].position,
            Some(TextPosition {
                offset: 10,
                line: 2,
                column: 9
            })
        );
    }

    #[test]
    fn json_position_matches_serde_json() {
        let v = validate(b"{\n  \"a\": tru }");
        assert_eq!(v[0].rule, "json");
        let p = v[0].position.expect("position");
        assert_eq!((p.line, p.column), (2, 11), "{}", v[0]);
        assert_eq!(p.offset, 12);
        let empty = validate(b"");
        assert_eq!(
            empty[0].position,
            Some(TextPosition {
                offset: 0,
                line: 1,
                column: 1
            })
        );
    }
}
