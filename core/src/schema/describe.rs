//! Turning one `jsonschema` error into readable [`Violation`]s.
//!
//! Messages are written here rather than taken from the library for three reasons: they must be
//! the same for the same input in every release (the shared test vectors are read by six
//! languages), a `oneOf`/`anyOf` error's own text contains the whole instance, and a user wants
//! the member's name and what it should look like, not the schema's internals.
//!
//! Pointer choice: a `required` error concerns a member that is missing, and a user fixes it by
//! adding exactly that member, so its pointer is the parent object's pointer plus `/` and the
//! member's (escaped) name (`/Events/0/Payload/0/UserId`), not the parent alone. An
//! `additionalProperties` error becomes one violation per unexpected member, at that member's
//! own pointer. Every other rule points at the value that broke it.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

use super::violation::Violation;

/// The violations `error` stands for, with pointers prefixed by `base` (the pointer of the part
/// of the message that was validated).
pub(crate) fn describe(base: &str, error: &ValidationError<'_>) -> Vec<Violation> {
    let pointer = format!("{base}{}", error.instance_path().as_str());
    let instance = error.instance();
    let subject = subject(&pointer);
    let rule = error.kind().keyword().to_string();
    let message = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let at = format!("{pointer}/{}", escape(name));
            return vec![Violation::new(
                at,
                rule,
                format!("`{name}` is required but missing"),
            )];
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unexpected
                .iter()
                .map(|name| {
                    Violation::new(
                        format!("{pointer}/{}", escape(name)),
                        rule.clone(),
                        format!("`{name}` is not a member the schema allows in {subject}"),
                    )
                })
                .collect();
        }
        ValidationErrorKind::Type { kind } => {
            format!(
                "{subject} must be {}, not {}",
                expected_types(kind),
                json_type(instance)
            )
        }
        ValidationErrorKind::Enum { options } => {
            format!(
                "{subject} must be {}; got {}",
                one_of(options),
                short(instance)
            )
        }
        ValidationErrorKind::Format { format } if format == "date-time" => format!(
            "{subject} must be a date-time with an offset, like 2019-01-27T13:48:52Z (RFC 3339; \
             a space may replace the T); got {}",
            short(instance)
        ),
        ValidationErrorKind::Format { format } => {
            format!(
                "{subject} must be {}; got {}",
                format_name(format),
                short(instance)
            )
        }
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
            let length = instance.as_str().map_or(0, |s| s.chars().count());
            let which = if matches!(error.kind(), ValidationErrorKind::MinLength { .. }) {
                "at least"
            } else {
                "at most"
            };
            // In these schemas only the GUID definition constrains a length.
            let guid = if *limit == 36 {
                " (a GUID like 9c647395-b913-4997-a732-a7fe7303b649)"
            } else {
                ""
            };
            format!("{subject} must be {which} {limit} characters long{guid}; it has {length}")
        }
        ValidationErrorKind::MinItems { limit } => {
            let length = instance.as_array().map_or(0, Vec::len);
            format!("{subject} must hold at least {limit} item(s); it has {length}")
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            alternatives(&subject, context, instance)
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            format!("{subject} matches more than one alternative of a `oneOf`; it must match exactly one")
        }
        _ => format!("{subject}: {}", error.masked_with(subject.as_str())),
    };
    vec![Violation::new(pointer, rule, message)]
}

/// A `oneOf`/`anyOf` that no branch matched, e.g. the IPv4-or-IPv6 rule or Login's
/// "`UserId` or `UserName`". Names what each branch wanted, never the instance itself.
fn alternatives(
    subject: &str,
    branches: &[Vec<ValidationError<'static>>],
    instance: &Value,
) -> String {
    let only_required = branches
        .iter()
        .flatten()
        .all(|e| matches!(e.kind(), ValidationErrorKind::Required { .. }));
    if only_required && !branches.is_empty() {
        let mut names: Vec<String> = branches
            .iter()
            .flatten()
            .filter_map(|e| match e.kind() {
                ValidationErrorKind::Required { property } => {
                    property.as_str().map(|n| format!("`{n}`"))
                }
                _ => None,
            })
            .collect();
        names.dedup();
        return format!("{subject} needs at least one of {}", names.join(", "));
    }
    let mut wanted: Vec<String> = Vec::new();
    for branch in branches {
        let parts: Vec<String> = branch.iter().map(|e| want(e.kind())).collect();
        let text = parts.join(" and ");
        if !text.is_empty() && !wanted.contains(&text) {
            wanted.push(text);
        }
    }
    if wanted.is_empty() {
        return format!("{subject} matches none of the allowed alternatives");
    }
    format!(
        "{subject} must be {}; got {}",
        wanted.join(" or "),
        short(instance)
    )
}

/// What one failed keyword of a branch asked for, as a short phrase.
fn want(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::Type { kind } => expected_types(kind),
        ValidationErrorKind::Format { format } => format_name(format),
        ValidationErrorKind::Required { property } => {
            format!("an object with `{}`", property.as_str().unwrap_or_default())
        }
        ValidationErrorKind::Enum { options } => one_of(options),
        other => format!("valid under `{}`", other.keyword()),
    }
}

/// What a value of `format` is called in messages.
fn format_name(format: &str) -> String {
    match format {
        "ipv4" => "an IPv4 address".to_string(),
        "ipv6" => "an IPv6 address".to_string(),
        other => format!("a valid {other}"),
    }
}

fn expected_types(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    names
        .iter()
        .map(|n| with_article(n))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn with_article(type_name: &str) -> String {
    match type_name {
        "integer" | "array" | "object" => format!("an {type_name}"),
        "null" => "null".to_string(),
        _ => format!("a {type_name}"),
    }
}

/// The JSON type of `value`, with an article, as in "must be an integer, not a string".
fn json_type(value: &Value) -> String {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    with_article(name)
}

fn one_of(options: &Value) -> String {
    match options.as_array().map(Vec::as_slice) {
        Some([only]) => short(only),
        Some(list) => format!(
            "one of {}",
            list.iter().map(short).collect::<Vec<_>>().join(", ")
        ),
        None => short(options),
    }
}

/// A short, single-line rendering of `value` for messages: scalars as JSON (strings cut to 40
/// characters), containers by kind only, so no message carries a whole object.
pub(crate) fn short(value: &Value) -> String {
    const MAX: usize = 40;
    match value {
        Value::String(s) if s.chars().count() > MAX => {
            let cut: String = s.chars().take(MAX).collect();
            format!("{}…", Value::String(cut))
        }
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        scalar => scalar.to_string(),
    }
}

/// How a message names the value at `pointer`: `` `UserId` ``, `` `Payload[0]` ``, or "the
/// message" for the root.
fn subject(pointer: &str) -> String {
    let mut segments = pointer.rsplit('/');
    let last = segments.next().unwrap_or_default();
    if pointer.is_empty() {
        return "the message".to_string();
    }
    if last.parse::<u64>().is_ok() {
        let parent = segments.next().unwrap_or_default();
        return format!("`{}[{last}]`", unescape(parent));
    }
    format!("`{}`", unescape(last))
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_escaping() {
        assert_eq!(subject(""), "the message");
        assert_eq!(subject("/Events/0"), "`Events[0]`");
        assert_eq!(subject("/Events/0/Payload/3"), "`Payload[3]`");
        assert_eq!(subject("/Events/0/ExtraDetails/a~1b"), "`a/b`");
        assert_eq!(escape("a/b~c"), "a~1b~0c");
    }

    #[test]
    fn short_never_carries_containers_or_long_strings() {
        assert_eq!(short(&serde_json::json!({"a": 1})), "an object");
        assert_eq!(short(&serde_json::json!([1])), "an array");
        assert_eq!(
            short(&serde_json::json!("x".repeat(100))),
            format!("\"{}\"…", "x".repeat(40))
        );
        assert_eq!(short(&serde_json::json!(1.5)), "1.5");
    }
}
