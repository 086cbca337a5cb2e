//! Runs every case of the shared schema vectors (`tests/vectors/schema/*.json`, format in
//! `tests/vectors/README.md`) against `iotsec::schema`.
//!
//! Set `IOTSEC_VECTORS_PRINT=1` to print what the validator reports for every case (useful when
//! writing new cases: check the output makes sense before copying it into a vector).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use iotsec::schema::{self, TextPosition, Violation};
use iotsec::ErrorKind;
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The body bytes of a case: `body` (serialized compactly), `body_text` or `body_base64`.
fn body_of(case: &Value) -> Vec<u8> {
    if let Some(body) = case.get("body") {
        serde_json::to_vec(body).expect("serialize body")
    } else if let Some(text) = case.get("body_text").and_then(Value::as_str) {
        text.as_bytes().to_vec()
    } else if let Some(b64) = case.get("body_base64").and_then(Value::as_str) {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("body_base64")
    } else {
        panic!("case {} has no body", case["name"])
    }
}

fn position_of(expected: &Value) -> Option<TextPosition> {
    let p = expected.get("position")?;
    let field = |name: &str| p[name].as_u64().expect("position field") as usize;
    Some(TextPosition {
        offset: field("offset"),
        line: field("line"),
        column: field("column"),
    })
}

/// Checks one case; returns a description of every mismatch.
fn run_case(file: &str, case: &Value) -> Vec<String> {
    let name = format!("{file}: {}", case["name"].as_str().unwrap_or("?"));
    let body = body_of(case);
    let expect_valid = case["valid"].as_bool().expect("valid flag");
    let got = schema::validate(&body);
    if std::env::var_os("IOTSEC_VECTORS_PRINT").is_some() {
        println!("{name}:");
        for v in &got {
            println!("    {v}");
        }
    }
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(format!("{name}: {what}"));

    if schema::is_valid(&body) != expect_valid {
        fail(format!(
            "is_valid() = {}, expected {expect_valid}",
            !expect_valid
        ));
    }
    if got.is_empty() != expect_valid {
        fail(format!(
            "validate() gave {} violation(s), expected valid = {expect_valid}",
            got.len()
        ));
    }
    match (schema::check(&body), expect_valid) {
        (Ok(()), true) => {}
        (Err(e), false)
            if e.kind() == ErrorKind::SchemaValidation && e.violations() == got.as_slice() => {}
        (other, _) => fail(format!("check() = {other:?}")),
    }
    if let Some(value) = case.get("body") {
        if schema::validate_value(value) != got {
            fail("validate_value() differs from validate()".into());
        }
    }
    if let Ok(text) = std::str::from_utf8(&body) {
        if schema::validate_str(text) != got {
            fail("validate_str() differs from validate()".into());
        }
    }
    if schema::validate(&body) != got {
        fail("validate() is not deterministic".into());
    }

    let expected = case
        .get("violations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let want: Vec<(&str, &str)> = expected
        .iter()
        .map(|v| {
            (
                v["pointer"].as_str().expect("pointer"),
                v["rule"].as_str().expect("rule"),
            )
        })
        .collect();
    let have: Vec<(&str, &str)> = got
        .iter()
        .map(|v| (v.pointer.as_str(), v.rule.as_str()))
        .collect();
    if want != have {
        fail(format!(
            "violations (pointer, rule) = {have:?}, expected {want:?}"
        ));
        return problems;
    }
    for (exp, v) in expected.iter().zip(&got) {
        check_details(exp, v, &mut fail);
    }
    problems
}

fn check_details(expected: &Value, got: &Violation, fail: &mut impl FnMut(String)) {
    if let Some(position) = position_of(expected) {
        if got.position != Some(position) {
            fail(format!(
                "{}: position {:?}, expected {position:?}",
                got.pointer, got.position
            ));
        }
    }
    for needle in expected
        .get("message_contains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let needle = needle.as_str().expect("message_contains entry");
        if !got.message.contains(needle) {
            fail(format!(
                "{}: message {:?} does not contain {needle:?}",
                got.pointer, got.message
            ));
        }
    }
    if got.message.is_empty() || got.message.len() > 400 {
        fail(format!(
            "{}: message length {} (must be short and present)",
            got.pointer,
            got.message.len()
        ));
    }
}

#[test]
fn every_schema_vector_case() {
    let dir = vectors_dir().join("schema");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/vectors/schema")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut total, mut valid, mut problems) = (0, 0, Vec::new());
    for path in &files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let doc = read_json(path);
        assert!(doc["description"].is_string(), "{file}: description");
        for case in doc["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: cases"))
        {
            total += 1;
            valid += usize::from(case["valid"] == true);
            problems.extend(run_case(&file, case));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(total >= 40, "only {total} cases");
    assert!(
        valid >= 14 && total - valid >= 26,
        "{valid} valid of {total}"
    );
    println!(
        "{total} schema vector cases ({valid} valid) in {} files",
        files.len()
    );
}

/// The guide's example, stored verbatim, is invalid exactly where `UserId` is missing; the
/// corrected copy is valid; the vector case `guide_example` holds the same message.
#[test]
fn guide_example_files() {
    let guide = vectors_dir().join("guide");
    let original = std::fs::read(guide.join("guide_message.json")).expect("guide_message.json");
    let violations = schema::validate(&original);
    let pairs: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.pointer.as_str(), v.rule.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("/Events/0/Payload/0/UserId", "required")],
        "{violations:?}"
    );
    assert!(violations[0].message.contains("UserId"));

    let fixed =
        std::fs::read(guide.join("guide_message_valid.json")).expect("guide_message_valid.json");
    assert_eq!(schema::validate(&fixed), Vec::new());

    let vectors = read_json(&vectors_dir().join("schema/guide.json"));
    let case = &vectors["cases"][0];
    assert_eq!(case["name"], "guide_example");
    assert_eq!(
        case["body"],
        serde_json::from_slice::<Value>(&original).expect("json")
    );
    assert_eq!(
        vectors["cases"][1]["body"],
        serde_json::from_slice::<Value>(&fixed).expect("json")
    );
}
