//! A borrowed JSON tree: what every validator of iotsec reads.
//!
//! Parsing a ~700-byte message into `serde_json::Value` costs about four times as much as
//! validating it: every key and string is allocated and every object hashed (the workspace
//! enables `preserve_order`). This tree borrows strings from the body (allocating only the few
//! that contain escapes) and keeps object members in a vector; `jsonschema` validates it
//! through its custom-representation support ([`FastJson`]). A `Value` handed in by a caller
//! is viewed the same way, borrowing its strings ([`Fast::from_value`]).
//!
//! The tree judges exactly as `Value` would: it is parsed by the same `serde_json` parser with
//! the same limits, and a member name repeated in one object keeps only its last value, as
//! `Value` does.

use std::borrow::Cow;
use std::fmt;

use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use jsonschema::JsonType;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One JSON value borrowing its strings from the parsed body where it can.
#[derive(Debug)]
pub(crate) enum Fast<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Fast<'a>>),
    Object(Vec<(Cow<'a, str>, Fast<'a>)>),
}

/// Parses `body` with the same grammar and limits as `serde_json::from_slice::<Value>`.
pub(crate) fn parse(body: &[u8]) -> Result<Fast<'_>, serde_json::Error> {
    let mut tree: Fast<'_> = serde_json::from_slice(body)?;
    tree.keep_last_of_repeated_names();
    Ok(tree)
}

impl<'a> Fast<'a> {
    /// A view of `value` that borrows its strings.
    ///
    /// Below 128 levels (`serde_json`'s parser limit) containers become `null`, so a deeply
    /// nested `Value` built in code cannot exhaust the stack. Nothing that deep can be valid
    /// (the schema's deepest value, an `ExtraDetails` entry, is 6 levels down), and the
    /// container holding it is reported just the same.
    pub(crate) fn from_value(value: &'a Value) -> Self {
        Fast::view(value, 0)
    }

    fn view(value: &'a Value, depth: usize) -> Self {
        const LIMIT: usize = 128;
        match value {
            Value::Null => Fast::Null,
            Value::Bool(b) => Fast::Bool(*b),
            Value::Number(n) => Fast::Number(n.clone()),
            Value::String(s) => Fast::String(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) if depth >= LIMIT => Fast::Null,
            Value::Array(items) => {
                Fast::Array(items.iter().map(|v| Fast::view(v, depth + 1)).collect())
            }
            Value::Object(map) => Fast::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Fast::view(v, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// The member `name` of an object.
    pub(crate) fn get(&self, name: &str) -> Option<&Fast<'a>> {
        match self {
            Fast::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Fast::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Fast::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub(crate) fn as_array(&self) -> Option<&[Fast<'a>]> {
        match self {
            Fast::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Drops every member whose name appears again later in the same object.
    fn keep_last_of_repeated_names(&mut self) {
        match self {
            Fast::Array(items) => items.iter_mut().for_each(Fast::keep_last_of_repeated_names),
            Fast::Object(members) => {
                if has_repeats(members) {
                    let mut seen = std::collections::HashSet::with_capacity(members.len());
                    let mut keep: Vec<bool> = members
                        .iter()
                        .rev()
                        .map(|(k, _)| seen.insert(k.clone()))
                        .collect();
                    keep.reverse();
                    let mut flags = keep.into_iter();
                    members.retain(|_| flags.next().unwrap_or(true));
                }
                members
                    .iter_mut()
                    .for_each(|(_, v)| v.keep_last_of_repeated_names());
            }
            _ => {}
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Fast::Null => Value::Null,
            Fast::Bool(b) => Value::Bool(*b),
            Fast::Number(n) => Value::Number(n.clone()),
            Fast::String(s) => Value::String(s.to_string()),
            Fast::Array(items) => Value::Array(items.iter().map(Fast::to_value).collect()),
            Fast::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

fn has_repeats(members: &[(Cow<'_, str>, Fast<'_>)]) -> bool {
    if members.len() <= 32 {
        members
            .iter()
            .enumerate()
            .any(|(i, (k, _))| members[..i].iter().any(|(p, _)| p == k))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        !members.iter().all(|(k, _)| seen.insert(k.as_ref()))
    }
}

impl<'de> de::Deserialize<'de> for Fast<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FastVisitor)
    }
}

struct FastVisitor;

impl<'de> Visitor<'de> for FastVisitor {
    type Value = Fast<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Fast<'de>, E> {
        Ok(Fast::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Fast<'de>, E> {
        Ok(Fast::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Fast<'de>, E> {
        Ok(Fast::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Fast<'de>, E> {
        // serde_json hands out finite floats only, as it does when building a `Value`.
        Ok(Number::from_f64(v).map_or(Fast::Null, Fast::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Fast<'de>, E> {
        Ok(Fast::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Fast<'de>, E> {
        Ok(Fast::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Fast<'de>, E> {
        Ok(Fast::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Fast<'de>, E> {
        Ok(Fast::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fast<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Fast::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Fast::Object(members))
    }
}

/// A member name, borrowed when it has no escapes (serde's own `Cow` always allocates).
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The [`Fast`] tree as a `jsonschema` instance representation.
pub(crate) struct FastJson;

impl Json for FastJson {
    type Node<'a> = &'a Fast<'a>;
    type PreparedKey = String;
    type StringBuffer = Option<Fast<'static>>;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(
        buffer: &mut Option<Fast<'static>>,
        string: &str,
        f: impl FnOnce(Self::Node<'_>) -> T,
    ) -> T {
        f(buffer.insert(Fast::String(Cow::Owned(string.to_owned()))))
    }
}

impl<'a> Node<'a, FastJson> for &'a Fast<'a> {
    type Object = &'a [(Cow<'a, str>, Fast<'a>)];
    type Array = &'a [Fast<'a>];
    type Number = &'a Number;

    fn as_object(&self) -> Option<Self::Object> {
        match self {
            Fast::Object(members) => Some(members),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<Self::Array> {
        match self {
            Fast::Array(items) => Some(items),
            _ => None,
        }
    }
    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Fast::String(s) => Some(Cow::Borrowed(s.as_ref())),
            _ => None,
        }
    }
    fn as_number(&self) -> Option<&'a Number> {
        match self {
            Fast::Number(n) => Some(n),
            _ => None,
        }
    }
    fn as_boolean(&self) -> Option<bool> {
        match self {
            Fast::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn is_null(&self) -> bool {
        matches!(self, Fast::Null)
    }
    fn json_type(&self) -> JsonType {
        match self {
            Fast::Null => JsonType::Null,
            Fast::Bool(_) => JsonType::Boolean,
            Fast::Number(_) => JsonType::Number,
            Fast::String(_) => JsonType::String,
            Fast::Array(_) => JsonType::Array,
            Fast::Object(_) => JsonType::Object,
        }
    }
    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(Fast::to_value(self))
    }
    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(
            std::ptr::from_ref::<Fast<'a>>(*self) as usize
        ))
    }
}

impl<'a> Object<'a, FastJson> for &'a [(Cow<'a, str>, Fast<'a>)] {
    type Node = &'a Fast<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn get(&self, key: &String) -> Option<&'a Fast<'a>> {
        self.iter()
            .find(|(name, _)| name.as_ref() == key.as_str())
            .map(|(_, value)| value)
    }
    fn members(&self) -> Members<'a> {
        Members(self.iter())
    }
}

/// Iterator over an object's members.
pub(crate) struct Members<'a>(std::slice::Iter<'a, (Cow<'a, str>, Fast<'a>)>);

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a Fast<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(name, value)| (name.as_ref(), value))
    }
}

impl<'a> Array<'a, FastJson> for &'a [Fast<'a>] {
    type Node = &'a Fast<'a>;
    type ElementsIter = std::slice::Iter<'a, Fast<'a>>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn elements(&self) -> Self::ElementsIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_round_trips() {
        let body = br#"{"a": "plain", "b\n": "esc\"aped", "n": [1, -2, 1.5, true, null], "o": {}}"#;
        let tree = parse(body).expect("parsed");
        let Fast::Object(members) = &tree else {
            panic!("object")
        };
        assert!(matches!(members[0].0, Cow::Borrowed("a")));
        assert!(matches!(members[0].1, Fast::String(Cow::Borrowed("plain"))));
        assert!(matches!(members[1].0, Cow::Owned(_)));
        let value: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(tree.to_value(), value);
        assert_eq!(Fast::from_value(&value).to_value(), value);
    }

    #[test]
    fn repeated_names_keep_the_last_value_as_value_does() {
        for body in [
            &br#"{"a": 1, "b": 2, "a": 3}"#[..],
            br#"[{"x": {"a": 1, "b": 2, "a": 3, "a": {"c": 1, "c": 2}}}]"#,
        ] {
            let value: Value = serde_json::from_slice(body).expect("json");
            assert_eq!(parse(body).expect("parsed").to_value(), value);
        }
        let many: Vec<String> = (0..100).map(|i| format!("\"k{}\": {i}", i % 40)).collect();
        let body = format!("{{{}}}", many.join(","));
        let value: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(parse(body.as_bytes()).expect("parsed").to_value(), value);
    }

    #[test]
    fn deep_values_from_code_are_cut_off() {
        let mut deep = serde_json::json!("leaf");
        for _ in 0..10_000 {
            deep = Value::Array(vec![deep]);
        }
        let mut levels = 0;
        let view = Fast::from_value(&deep);
        let mut at = &view;
        while let Fast::Array(items) = at {
            levels += 1;
            at = &items[0];
        }
        assert_eq!(levels, 128);
        assert!(matches!(at, Fast::Null));
        // serde_json's own drop of `deep` recurses; take it apart iteratively.
        while let Value::Array(mut items) = deep {
            deep = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn same_errors_as_serde_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for body in [
            &b"{"[..],
            b"\"\xff\"",
            b"1e400",
            b"",
            b"{} x",
            deep.as_bytes(),
        ] {
            let fast = parse(body).expect_err("not JSON").to_string();
            let slow = serde_json::from_slice::<Value>(body)
                .expect_err("not JSON")
                .to_string();
            assert_eq!(fast, slow);
        }
    }
}
