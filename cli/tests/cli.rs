//! The `iotsec` binary, run as a user would: every subcommand, the bad inputs, and a real hub
//! process on 127.0.0.1 receiving what `iotsec send` sent over TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_iotsec");

fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/guide").join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn iotsec(args: &[&str]) -> Run {
    iotsec_with(args, |_| {})
}

fn iotsec_with(args: &[&str], setup: impl FnOnce(&mut Command)) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).timeout(Duration::from_secs(120));
    for var in ["IOTSEC_CONNECTION_STRING", "IOTSEC_CA_FILE", "IOTSEC_MQTT_PORT", "IOTSEC_HUB_DATA_DIR", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    setup(&mut cmd);
    let out = cmd.output().expect("iotsec runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // Never a panic or a stack trace, whatever the input.
    assert!(!run.stderr.contains("panicked") && !run.stderr.contains("stack backtrace"), "{}", run.stderr);
    run
}

/// An error is one line on standard error.
fn one_line_error(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {}", run.stderr);
    assert!(lines[0].starts_with("iotsec: "), "{}", lines[0]);
    lines[0]
}

#[test]
fn help_lists_every_subcommand_and_no_arguments_is_a_usage_error() {
    let help = iotsec(&["--help"]);
    assert_eq!(help.code, 0);
    for sub in ["demo", "validate", "send", "hub"] {
        assert!(help.stdout.contains(sub), "{}", help.stdout);
    }
    assert_eq!(iotsec(&[]).code, 2);
    assert_eq!(iotsec(&["frobnicate"]).code, 2);
    let hub_help = iotsec(&["hub", "--help"]);
    assert!(hub_help.stdout.contains("add-device") && hub_help.stdout.contains("stats"), "{}", hub_help.stdout);
    assert!(iotsec(&["--version"]).stdout.starts_with("iotsec "));
    let secret = "HostName=x;DeviceId=d;SharedAccessKey=c2VjcmV0LWtleS12YWx1ZQ==";
    let send_help = iotsec_with(&["send", "--help"], |c| {
        c.env("IOTSEC_CONNECTION_STRING", secret);
    });
    assert!(send_help.stdout.contains("IOTSEC_CONNECTION_STRING") && !send_help.stdout.contains("c2VjcmV0"), "{}", send_help.stdout);
}

#[test]
fn validate_reports_every_violation_with_pointer_and_rule() {
    let valid = vector("guide_message_valid.json");
    let guide = vector("guide_message.json");
    let ok = iotsec(&["validate", valid.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.ends_with(": valid\n"), "{}", ok.stdout);

    let bad = iotsec(&["validate", guide.to_str().unwrap()]);
    assert_eq!(bad.code, 1);
    assert!(bad.stdout.contains("invalid (1 violation)"), "{}", bad.stdout);
    assert!(bad.stdout.contains("/Events/0/Payload/0/UserId") && bad.stdout.contains("[required]"), "{}", bad.stdout);

    let both = iotsec(&["validate", "--json", valid.to_str().unwrap(), guide.to_str().unwrap()]);
    assert_eq!(both.code, 1);
    let objects: Vec<Value> = both.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["valid"], true);
    assert_eq!(objects[0]["violations"], serde_json::json!([]));
    assert_eq!(objects[1]["file"], guide.to_str().unwrap());
    assert_eq!(objects[1]["valid"], false);
    let v = &objects[1]["violations"][0];
    assert_eq!((v["pointer"].as_str(), v["rule"].as_str()), (Some("/Events/0/Payload/0/UserId"), Some("required")));
    assert!(v["message"].as_str().unwrap().contains("UserId"));
}

#[test]
fn validate_reads_standard_input() {
    let body = std::fs::read(vector("guide_message_valid.json")).unwrap();
    let run = iotsec_with(&["validate", "-"], |c| {
        c.write_stdin(body);
    });
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "standard input: valid\n");
    let twice = iotsec(&["validate", "-", "-"]);
    assert_eq!(twice.code, 2);
    assert!(one_line_error(&twice).contains("only once"));
}

#[test]
fn validate_bad_inputs_get_clear_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let run = iotsec(&["validate", missing.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).ends_with("nope.json: no such file"), "{}", run.stderr);

    let run = iotsec(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains("is a directory"), "{}", run.stderr);

    let not_json = dir.path().join("broken.json");
    std::fs::write(&not_json, "{\n  \"AgentId\": oops\n}").unwrap();
    let run = iotsec(&["validate", not_json.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("[json] at line 2, column"), "{}", run.stdout);
    let run = iotsec(&["validate", "--json", not_json.to_str().unwrap()]);
    let o: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!((o["violations"][0]["rule"].as_str(), o["violations"][0]["line"].as_u64()), (Some("json"), Some(2)));

    let latin1 = dir.path().join("latin1.json");
    std::fs::write(&latin1, b"{\"AgentId\": \"caf\xe9\"}").unwrap();
    let run = iotsec(&["validate", latin1.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("[utf8]"), "{}", run.stdout);

    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; iotsec::MAX_BODY_BYTES + 1]).unwrap();
    let run = iotsec(&["validate", big.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains("larger than 262144 bytes"), "{}", run.stderr);

    // An endless input is refused after the limit, not read to the end (which never comes).
    let started = Instant::now();
    let run = iotsec(&["validate", "/dev/zero"]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains("larger than"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));

    let mixed = iotsec(&["validate", vector("guide_message_valid.json").to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(mixed.code, 2, "an unreadable file outranks the others");
    assert!(mixed.stderr.contains("1 valid, 0 invalid, 1 unreadable"), "{}", mixed.stderr);

    assert_eq!(iotsec(&["validate"]).code, 2, "no file is a usage error");
}

#[test]
fn send_bad_inputs_get_clear_one_line_errors() {
    let valid = vector("guide_message_valid.json");
    let valid = valid.to_str().unwrap();
    let run = iotsec(&["send", valid]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains("no connection string"), "{}", run.stderr);

    let secret = "NMgJDvdKTxjLi+xBxxkDDEwDJxEvOE5u8BiT0mVgPeg=";
    let typo = format!("HostName=localhost;DeviceId=d;SharedAccesKey={secret}");
    let run = iotsec(&["send", "-c", &typo, valid]);
    assert_eq!(run.code, 2);
    let line = one_line_error(&run);
    assert!(line.contains("SharedAccesKey") && line.contains("SharedAccessKey"), "names the key and suggests the right one: {line}");
    assert!(!run.stderr.contains(secret), "the key is never echoed");

    let no_device = format!("HostName=localhost;SharedAccessKey={secret}");
    let run = iotsec_with(&["send", valid], |c| {
        c.env("IOTSEC_CONNECTION_STRING", &no_device);
    });
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains("`DeviceId` is missing"), "{}", run.stderr);

    let good = format!("HostName=localhost;DeviceId=d;SharedAccessKey={secret}");
    let run = iotsec(&["send", "-c", &good, "/no/such/file.json"]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains("/no/such/file.json: no such file"));

    for bad in [&["--property", "novalue"][..], &["--count", "0"], &["--concurrency", "0"], &["--validation", "lax"], &["--port", "70000"]] {
        let mut args = vec!["send", "-c", &good];
        args.extend_from_slice(bad);
        args.push(valid);
        let run = iotsec(&args);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
        assert!(!run.stderr.contains(secret));
    }

    // A bad message is refused before any connection is tried (nothing listens on port 9).
    let guide = vector("guide_message.json");
    let run = iotsec(&["send", "-c", &good, "--port", "9", guide.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nothing was sent") && run.stderr.contains("/Events/0/Payload/0/UserId"), "{}", run.stderr);
    assert!(run.stderr.contains("[required]"), "{}", run.stderr);

    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("notes.txt");
    std::fs::write(&not_json, "line one\nline two").unwrap();
    let run = iotsec(&["send", "-c", &good, "--port", "9", not_json.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let line = one_line_error(&run);
    assert!(line.contains("not JSON") && line.contains("line 1, column 1") && line.contains("--no-security"), "{line}");

    let run = iotsec(&["send", "-c", &good, "--port", "9", valid]);
    assert_eq!(run.code, 1);
    assert!(one_line_error(&run).contains("localhost:9"), "{}", run.stderr);
}

/// `iotsec hub` as a child process, stopped by its PID when the test ends.
struct HubProcess {
    child: Child,
    info: Value,
    log: PathBuf,
    ready: PathBuf,
}

impl HubProcess {
    fn start(data: &Path, ready: &Path, log: &Path) -> HubProcess {
        let child = std::process::Command::new(BIN)
            .args(["hub", "--data-dir", data.to_str().unwrap(), "--port", "0", "--plain-port", "0", "--ready-file", ready.to_str().unwrap()])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "no ready file; log: {}", std::fs::read_to_string(log).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(20));
        }
        let info: Value = serde_json::from_slice(&std::fs::read(ready).unwrap()).unwrap();
        HubProcess { child, info, log: log.to_path_buf(), ready: ready.to_path_buf() }
    }

    fn port(&self) -> String {
        self.info["tls_port"].to_string()
    }

    fn ca(&self) -> String {
        self.info["ca_file"].as_str().unwrap().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits: the hub stops cleanly and exits 0.
    fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the hub did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        // Only our own child, by its PID; harmless if it already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn hub_add_device_send_and_stats_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hub = HubProcess::start(&data, &dir.path().join("hub.json"), &dir.path().join("hub.log"));
    for key in ["tls_port", "plain_port", "ca_file", "data_dir", "pid"] {
        assert!(!hub.info[key].is_null(), "{key} in {}", hub.info);
    }
    assert_eq!(hub.info["pid"].as_u64(), Some(u64::from(hub.child.id())));
    let data_str = data.to_str().unwrap();

    let add = iotsec(&["hub", "add-device", "--data-dir", data_str, "dev1"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    assert_eq!(add.stdout.lines().count(), 1);
    let cs = add.stdout.trim().to_string();
    assert!(cs.starts_with("HostName=localhost;DeviceId=dev1;SharedAccessKey="), "{cs}");
    let again = iotsec(&["hub", "add-device", "--data-dir", data_str, "dev1"]);
    assert_eq!(again.stdout.trim(), cs, "registering again keeps the key");
    assert!(again.stderr.contains("registered already"));
    let module = iotsec(&["hub", "add-device", "--data-dir", data_str, "dev1", "--module", "mod1"]);
    assert!(module.stdout.starts_with("HostName=localhost;DeviceId=dev1;ModuleId=mod1;SharedAccessKey="), "{}", module.stdout);
    let bad = iotsec(&["hub", "add-device", "--data-dir", data_str, "a/b"]);
    assert_eq!(bad.code, 2);
    assert!(one_line_error(&bad).contains("DeviceId"), "{}", bad.stderr);

    let valid = vector("guide_message_valid.json");
    let valid = valid.to_str().unwrap();
    let (port, ca) = (hub.port(), hub.ca());

    // One security message, with properties.
    let run = iotsec(&["send", "-c", &cs, "--ca", &ca, "--port", &port, "--message-id", "cli-1", "--content-type", "application/json", "--content-encoding", "utf-8", "--property", "site=plant 7", valid]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let topic = "devices/dev1/messages/events/%24.mid=cli-1&%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&site=plant%207";
    assert!(run.stdout.contains("sent 1 security message as dev1") && run.stdout.contains(topic), "{}", run.stdout);

    // The module, configured through the environment only (as the guide's code would be).
    let run = iotsec_with(&["send", valid], |c| {
        c.env("IOTSEC_CONNECTION_STRING", module.stdout.trim()).env("IOTSEC_CA_FILE", &ca).env("IOTSEC_MQTT_PORT", &port);
    });
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Many copies, pipelined, each with fresh event ids.
    let run = iotsec(&["send", "-c", &cs, "--ca", &ca, "--port", &port, "--count", "300", "--concurrency", "25", valid]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("sent 300 security messages as dev1") && run.stdout.contains("msg/s"), "{}", run.stdout);

    // Plain telemetry from standard input; an invalid message sent anyway; a strict refusal.
    let run = iotsec_with(&["send", "-c", &cs, "--ca", &ca, "--port", &port, "--no-security", "--property", "kind=reading", "-"], |c| {
        c.write_stdin("temperature=21");
    });
    assert_eq!(run.code, 0, "{}", run.stderr);
    let guide = vector("guide_message.json");
    let run = iotsec(&["send", "-c", &cs, "--ca", &ca, "--port", &port, "--validation", "off", "--message-id", "unchecked", guide.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = iotsec(&["send", "-c", &cs, "--ca", &ca, "--port", &port, guide.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let run = iotsec(&["send", "-c", &cs, "--ca", &ca, "--port", &port, "--validation", "warn", "--message-id", "warned", guide.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("WARN") && run.stderr.contains("/Events/0/Payload/0/UserId"), "warn mode shows the violation: {}", run.stderr);

    // A wrong key: refused with CONNACK 5, and the hub's log says why.
    let forged = cs.rsplit_once("SharedAccessKey=").map(|(head, _)| format!("{head}SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).unwrap();
    let run = iotsec(&["send", "-c", &forged, "--ca", &ca, "--port", &port, valid]);
    assert_eq!(run.code, 1);
    assert!(one_line_error(&run).contains("CONNACK 5"), "{}", run.stderr);
    let log = hub.log();
    assert!(log.contains("refused CONNECT") && log.contains("signature does not match the key registered for `dev1`"), "{log}");
    // A wrong CA: the TLS handshake fails, and says what to do.
    let wrong_ca = dir.path().join("wrong");
    iotsec_hub::pki::generate(&wrong_ca, "unrelated CA", "x").unwrap();
    let run = iotsec(&["send", "-c", &cs, "--ca", wrong_ca.join("ca.pem").to_str().unwrap(), "--port", &port, valid]);
    assert_eq!(run.code, 1);
    assert!(one_line_error(&run).contains("TLS"), "{}", run.stderr);

    // What the hub stored.
    let store = data.join("store");
    let security = lines(&store.join("security.jsonl"));
    assert_eq!(security.len(), 302);
    assert_eq!(security[0]["topic"], topic);
    assert_eq!(security[0]["properties"]["site"], "plant 7");
    assert_eq!(security[1]["module_id"], "mod1");
    let mut ids: Vec<&str> = security[2..].iter().map(|r| r["event"]["Id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 300, "every copy has its own event id");
    let telemetry = lines(&store.join("telemetry.jsonl"));
    assert_eq!((telemetry.len(), telemetry[0]["body"].as_str(), telemetry[0]["properties"]["kind"].as_str()), (1, Some("temperature=21"), Some("reading")));
    let dropped = lines(&store.join("dropped.jsonl"));
    assert_eq!(dropped.len(), 2);
    assert_eq!((dropped[0]["message_id"].as_str(), dropped[1]["message_id"].as_str()), (Some("unchecked"), Some("warned")));
    assert_eq!(dropped[0]["violations"][0]["pointer"], "/Events/0/Payload/0/UserId");

    // stats, while it runs (its counters are saved twice a second) and after it stopped
    let deadline = Instant::now() + Duration::from_secs(10);
    let s: Value = loop {
        let stats = iotsec(&["hub", "stats", "--data-dir", data_str, "--json"]);
        assert_eq!(stats.code, 0, "{}", stats.stderr);
        let s: Value = serde_json::from_str(stats.stdout.trim()).unwrap();
        if s["connections_refused"].as_u64() == Some(1) || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((s["security_events"].as_u64(), s["dropped_messages"].as_u64(), s["telemetry_messages"].as_u64()), (Some(302), Some(2), Some(1)));
    assert_eq!(s["running_pid"].as_u64(), Some(u64::from(hub.child.id())));
    assert_eq!(s["connections_refused"].as_u64(), Some(1));
    assert_eq!(s["registered"].as_u64(), Some(2));
    let human = iotsec(&["hub", "stats", "--data-dir", data_str]);
    assert!(human.stdout.contains("security events:") && human.stdout.contains("302"), "{}", human.stdout);

    // A second hub on the same data directory is refused.
    let second = iotsec(&["hub", "--data-dir", data_str, "--port", "0"]);
    assert_eq!(second.code, 1);
    assert!(one_line_error(&second).contains("another hub"), "{}", second.stderr);

    let ready = hub.ready.clone();
    assert_eq!(hub.terminate(), 0);
    assert!(!ready.exists(), "the ready file goes away with the hub");
    assert!(!data.join("hub.pid").exists());
    let after = iotsec(&["hub", "stats", "--data-dir", data_str, "--json"]);
    let s: Value = serde_json::from_str(after.stdout.trim()).unwrap();
    assert_eq!((s["running_pid"].clone(), s["duplicates"].as_u64(), s["security_events"].as_u64()), (Value::Null, Some(0), Some(302)));
}

#[test]
fn hub_stats_of_an_empty_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = iotsec(&["hub", "stats", "--data-dir", dir.path().join("none").to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(one_line_error(&run).contains("holds no hub data"));
}

#[test]
fn hub_refuses_a_port_in_use_by_name() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = iotsec(&["hub", "--data-dir", dir.path().to_str().unwrap(), "--port", &port]);
    assert_eq!(run.code, 2);
    assert!(one_line_error(&run).contains(&format!("port {port} on 127.0.0.1 is in use")), "{}", run.stderr);
}

#[test]
fn demo_runs_end_to_end() {
    let run = iotsec(&["demo"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(out.contains("devices/demo-device/messages/events/%24.mid=demo-msg-0001&"), "{out}");
    assert!(out.contains("%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"), "{out}");
    assert!(out.contains("$.ifid  urn:azureiot:Security:SecurityAgent:1"), "{out}");
    assert!(out.contains("verdict: a valid security message"), "{out}");
    assert!(out.contains("pointer /Events/0/Payload/0/UserId") && out.contains("rule required"), "{out}");
    assert!(!out.contains("SharedAccessKey=") || out.contains("SharedAccessKey=<redacted>"), "{out}");
}
