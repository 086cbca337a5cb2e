//! Schema validation speed: the send-path check of a valid ~700-byte message (JSON parsing
//! included), and the detailed pass on rejected messages.
//!
//! `cargo bench -p iotsec --bench validation` runs the criterion benches, then prints a summary
//! measured in the same run: iotsec's rate, python-jsonschema's rate on the same message and
//! schemas (`scripts/bench_python_jsonschema.py`, which installs python-jsonschema into
//! `target/bench-venv` the first time), and their ratio. Set `IOTSEC_BENCH_SKIP_PYTHON=1` to
//! leave Python out. Targets: ≥ 300,000 validations/s; a rejected message explained in ≤ 10 µs.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use iotsec::schema;
use serde_json::{json, Value};

/// A valid 704-byte message: one ConnectionCreate event with every member set.
fn valid_message() -> Value {
    json!({
        "AgentVersion": "0.0.1",
        "AgentId": "e89dc5f5-feac-4c3e-87e2-93c16f010c25",
        "MessageSchemaVersion": "1.0",
        "Events": [{
            "EventType": "Security", "Category": "Triggered", "Name": "ConnectionCreate", "IsEmpty": false,
            "PayloadSchemaVersion": "1.0", "Id": "5c2b4c1e-0f8a-4f3e-9a53-6a1c8d3b2e10",
            "TimestampLocal": "2019-01-27 15:48:53+02:00", "TimestampUTC": "2019-01-27 13:48:53Z",
            "Payload": [{
                "RemoteAddress": "20.38.114.105", "RemotePort": "443", "LocalAddress": "192.168.1.20",
                "LocalPort": "51234", "Direction": "Out", "Protocol": "TCP", "ProcessId": 11750, "UserId": "1000",
                "Executable": "/usr/bin/curl",
                "CommandLine": "curl --silent https://contoso.azure-devices.net/status",
                "ExtraDetails": {"ParentProcessId": "1593", "UserName": "aUser"}
            }]
        }]
    })
}

/// The guide's example: rejected for one missing member.
fn guide_message() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/guide/guide_message.json");
    let value: Value =
        serde_json::from_slice(&std::fs::read(path).expect("guide_message.json")).expect("json");
    serde_json::to_vec(&value).expect("serialize")
}

/// The valid message with three faults in three parts (envelope, event, record).
fn three_faults() -> Vec<u8> {
    let mut m = valid_message();
    m["AgentId"] = json!("e89dc5f5");
    m["Events"][0]["TimestampUTC"] = json!("2019-02-30 13:48:53Z");
    m["Events"][0]["Payload"][0]["RemoteAddress"] = json!("20.38.114.305");
    serde_json::to_vec(&m).expect("serialize")
}

fn benches(c: &mut Criterion) {
    let value = valid_message();
    let body = serde_json::to_vec(&value).expect("serialize");
    assert!(schema::is_valid(&body));
    let guide = guide_message();
    let faults = three_faults();
    assert_eq!(schema::validate(&guide).len(), 1);
    assert_eq!(schema::validate(&faults).len(), 3);

    let mut group = c.benchmark_group("valid");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("is_valid incl. parse ({} B)", body.len()), |b| {
        b.iter(|| schema::is_valid(black_box(&body)))
    });
    group.bench_function("is_valid_value pre-parsed", |b| {
        b.iter(|| schema::is_valid_value(black_box(&value)))
    });
    group.bench_function("validate incl. parse", |b| {
        b.iter(|| schema::validate(black_box(&body)))
    });
    group.finish();

    let mut group = c.benchmark_group("rejected");
    group.bench_function("guide example, 1 violation", |b| {
        b.iter(|| schema::validate(black_box(&guide)))
    });
    group.bench_function("3 violations", |b| {
        b.iter(|| schema::validate(black_box(&faults)))
    });
    let mut no_agent = valid_message();
    if let Some(members) = no_agent.as_object_mut() {
        members.remove("AgentId");
    }
    let no_agent = serde_json::to_vec(&no_agent).expect("serialize");
    group.bench_function("missing AgentId, root-level violation", |b| {
        b.iter(|| schema::validate(black_box(&no_agent)))
    });
    group.finish();
}

/// Runs `f` for about `budget` and returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..1_000 {
        f();
    }
    let (start, mut calls) = (Instant::now(), 0u64);
    while start.elapsed() < budget {
        for _ in 0..1_000 {
            f();
        }
        calls += 1_000;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

fn grouped(n: f64) -> String {
    let digits = format!("{n:.0}");
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The rate python-jsonschema reaches on `body`, or why it could not be measured.
fn python_rate(body: &[u8]) -> Result<(f64, String), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let file = root.join("target/bench-message.json");
    std::fs::write(&file, body).map_err(|e| format!("writing {}: {e}", file.display()))?;
    let output = Command::new("python3")
        .arg(root.join("scripts/bench_python_jsonschema.py"))
        .arg("--body")
        .arg(&file)
        .output()
        .map_err(|e| format!("running python3: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() {
        return Err(format!(
            "{stdout} {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let number = stdout
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| format!("unexpected output: {stdout}"))?;
    Ok((number, stdout))
}

fn summary() {
    let body = serde_json::to_vec(&valid_message()).expect("serialize");
    let guide = guide_message();
    let faults = three_faults();
    let budget = Duration::from_secs(2);
    let valid = rate(budget, || {
        black_box(schema::is_valid(black_box(&body)));
    });
    let guide_rate = rate(budget, || {
        black_box(schema::validate(black_box(&guide)));
    });
    let faults_rate = rate(budget, || {
        black_box(schema::validate(black_box(&faults)));
    });
    println!();
    println!("== schema validation summary (same run) ==");
    println!("iotsec (Rust):      {:>9} validations/s (parse + is_valid, {}-byte message; target >= 300,000)", grouped(valid), body.len());
    println!(
        "rejected, detailed: {:>9.2} us (guide example, 1 violation), {:.2} us (3 violations); target <= 10 us",
        1e6 / guide_rate,
        1e6 / faults_rate
    );
    if std::env::var_os("IOTSEC_BENCH_SKIP_PYTHON").is_some() {
        println!("python-jsonschema:  skipped (IOTSEC_BENCH_SKIP_PYTHON)");
        return;
    }
    match python_rate(&body) {
        Ok((python, line)) => {
            println!("{line}");
            println!("ratio: iotsec is {:.0}x python-jsonschema", valid / python);
        }
        Err(why) => println!("python-jsonschema:  not measured: {why}"),
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` does not and only smoke-tests.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
