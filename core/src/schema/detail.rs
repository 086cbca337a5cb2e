//! The detailed pass: where a rejected message breaks the schema.
//!
//! Validating the whole message only yields "the root `oneOf` failed", because every event sits
//! under a `oneOf` over 14 event schemas. So, as a person would, this pass checks the message
//! in parts: the envelope; then for each event the schema picked by its `Name` (which is what
//! the `oneOf` means), its generic part, and the IsEmpty/Category rule. Each part's errors are
//! turned into [`Violation`]s with pointers into the whole message ([`super::describe`]).
//!
//! The result is deterministic: violations are de-duplicated and sorted by pointer (array
//! indexes numerically), then rule, then message.

use std::cmp::Ordering;
use std::collections::HashSet;

use jsonschema::ValidationError;
use serde_json::Value;

use super::compiled::Compiled;
use super::describe::{describe, short};
use super::fast::Fast;
use super::kind::{names_list, EventKind};
use super::violation::Violation;

/// Every violation found in `message`, in the order described in the module docs.
pub(crate) fn explain(compiled: &Compiled, message: &Fast<'_>) -> Vec<Violation> {
    let mut found = Found::default();
    found.errors("", compiled.envelope.iter_errors(message));
    let events = message
        .get("Events")
        .and_then(Fast::as_array)
        .unwrap_or_default();
    for (i, event) in events.iter().enumerate() {
        let base = format!("/Events/{i}");
        // The event's own schema first: where both parts flag the same member (a `Category`
        // outside the event's enum), its message is the more precise one and wins the de-dup.
        // A missing or non-string `Name` is left to the generic part.
        if let Some(name) = event.get("Name").and_then(Fast::as_str) {
            match EventKind::from_name(name).and_then(|k| compiled.kinds.get(k.index())) {
                Some(schema) => found.errors(&base, schema.iter_errors(event)),
                None => found.push(unknown_name(&base, name)),
            }
        }
        if !compiled.event.is_valid(event) {
            found.errors(&base, compiled.event.iter_errors(event));
        } else if !compiled.empty_rule.is_valid(event) {
            // Only meaningful once Category, IsEmpty and Payload have the right types.
            found.push(empty_rule(&base, event));
        }
    }
    found.finish()
}

fn unknown_name(base: &str, name: &str) -> Violation {
    Violation::new(
        format!("{base}/Name"),
        "enum",
        format!(
            "`Name` {} is not an event type; expected one of {}",
            short(&Value::from(name)),
            names_list()
        ),
    )
}

/// The IsEmpty/Category rule (`allOf/1` of the event schema): a Periodic event may be empty
/// (`IsEmpty: true`), a Triggered one never; `IsEmpty: false` needs at least one record. The
/// schema states it as a `oneOf` over three combinations, so the rule is `oneOf`; the pointer
/// names the member to change.
fn empty_rule(base: &str, event: &Fast<'_>) -> Violation {
    let category = event
        .get("Category")
        .and_then(Fast::as_str)
        .unwrap_or_default();
    let is_empty = event.get("IsEmpty").and_then(Fast::as_bool);
    let no_records = event
        .get("Payload")
        .and_then(Fast::as_array)
        .is_some_and(<[_]>::is_empty);
    let (pointer, message) = match (category, is_empty, no_records) {
        ("Triggered", Some(true), _) => (
            format!("{base}/IsEmpty"),
            "a Triggered event is never empty: `IsEmpty` must be false and `Payload` hold at least one record".to_string(),
        ),
        ("Triggered", Some(false), true) => (
            format!("{base}/Payload"),
            "`Payload` of a Triggered event must hold at least one record".to_string(),
        ),
        (_, Some(false), true) => (
            format!("{base}/Payload"),
            "`Payload` is empty but `IsEmpty` is false: add a record, or set `IsEmpty` to true".to_string(),
        ),
        _ => (
            base.to_string(),
            "`Category`, `IsEmpty` and `Payload` do not fit together (only a Periodic event may be empty)".to_string(),
        ),
    };
    Violation::new(pointer, "oneOf", message)
}

/// Violations collected so far, without two of the same rule at the same pointer.
#[derive(Default)]
struct Found {
    list: Vec<Violation>,
    seen: HashSet<(String, String)>,
}

impl Found {
    fn errors<'a>(&mut self, base: &str, errors: impl Iterator<Item = ValidationError<'a>>) {
        for error in errors {
            for violation in describe(base, &error) {
                self.push(violation);
            }
        }
    }

    fn push(&mut self, violation: Violation) {
        if self
            .seen
            .insert((violation.pointer.clone(), violation.rule.clone()))
        {
            self.list.push(violation);
        }
    }

    /// Drops what a `type` error at the same pointer already explains (a number is also not in
    /// the enum), then sorts.
    fn finish(self) -> Vec<Violation> {
        let mistyped: HashSet<&str> = self
            .list
            .iter()
            .filter(|v| v.rule == "type")
            .map(|v| v.pointer.as_str())
            .collect();
        let mut list: Vec<Violation> = self
            .list
            .iter()
            .filter(|v| v.rule == "type" || !mistyped.contains(v.pointer.as_str()))
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            compare_pointers(&a.pointer, &b.pointer)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.message.cmp(&b.message))
        });
        list
    }
}

/// Document order for pointers: segment by segment, array indexes compared as numbers.
fn compare_pointers(a: &str, b: &str) -> Ordering {
    let mut a = a.split('/');
    let mut b = b.split('/');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compare_pointers;
    use std::cmp::Ordering::*;

    #[test]
    fn pointers_sort_in_document_order() {
        assert_eq!(compare_pointers("", "/AgentId"), Less);
        assert_eq!(compare_pointers("/Events/2", "/Events/10"), Less);
        assert_eq!(compare_pointers("/Events/2/Payload", "/Events/2"), Greater);
        assert_eq!(compare_pointers("/Events/0/Id", "/Events/0/Id"), Equal);
    }
}
