//! No secret in any log line or error text: a full connect, send, SAS renewal and send against a
//! real mosquitto at TRACE (iotsec's records and, through `log`, rumqttc's and rustls'), plus the
//! errors and `Debug` output of the credential-bearing types, searched for the key in every
//! encoding and the signature of every token the session may have signed. (Each language
//! package has the same test for its own log and error path.)

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iotsec::sas::{unix_now, ParsedSasToken, SasToken, SharedAccessKey};
use iotsec::{Client, ClientOptions, ConnectionString, Message};
use iotsec_testkit::{test_connection_string, Mosquitto, Recorder};

/// Everything the subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The key in every form a careless log line could carry it, and the signature of every token
/// for `resource` expiring between `from` and `to` (raw and as written in a token).
fn secret_forms(key_b64: &str, resource: &str, from: u64, to: u64) -> Vec<String> {
    let key = SharedAccessKey::from_base64(key_b64).unwrap();
    let raw: Vec<u8> = base64_decode(key_b64);
    let mut forms = vec![key_b64.to_string(), key_b64.trim_end_matches('=').to_string(), percent(key_b64), hex(&raw)];
    for expiry in from..=to {
        let token = SasToken::sign(&key, resource, expiry, None);
        let sig = ParsedSasToken::parse(token.expose()).unwrap().signature;
        let written = token.expose().split("sig=").nth(1).unwrap().split('&').next().unwrap().to_string();
        forms.extend([sig.clone(), sig.trim_end_matches('=').to_string(), written, token.expose().to_string()]);
    }
    forms
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_and_errors_of_connect_send_and_renewal_hold_no_key_or_signature() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let dir = tempfile::tempdir().unwrap();
    let mosquitto = Mosquitto::start(dir.path()).unwrap();
    let recorder = Recorder::start(mosquitto.plain_port, None).unwrap();
    let cs = test_connection_string("secrets-dev", None);
    let parsed = ConnectionString::parse(&cs).unwrap();
    let key_b64 = cs.split("SharedAccessKey=").nth(1).unwrap().split(';').next().unwrap().to_string();
    let resource = format!("{}/devices/{}", parsed.host_name, parsed.identity.device_id());

    let started = unix_now();
    let options = ClientOptions {
        ca_file: Some(mosquitto.pki.ca_cert.clone()),
        port: Some(mosquitto.tls_port),
        token_lifetime: Duration::from_secs(5),
        ..Default::default()
    };
    let client = Client::from_connection_string(&cs, options).unwrap();
    let mut texts = vec![format!("{parsed:?}"), format!("{:?}", parsed.credential)];
    client.send_message(&Message::new("before renewal").with_message_id("s-1")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    // Renewed: connected a second time, with a new token.
    while captured.text().matches("iotsec::client::session: connected").count() < 2 {
        if Instant::now() > deadline {
            let log = captured.text();
            let iotsec: Vec<&str> = log.lines().filter(|l| l.contains("iotsec")).collect();
            panic!("no renewal within 15 s; iotsec's records:\n{}", iotsec[iotsec.len().saturating_sub(30)..].join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.send_message(&Message::new("after renewal").with_message_id("s-2")).await.unwrap();
    let got = recorder.wait_until(Duration::from_secs(10), |r| r.len() >= 2);
    assert_eq!(got.len(), 2, "both messages arrived: {got:?}");
    client.close().await;

    // Errors that carry credentials nearby: a refused token (wrong CA gives TLS, so use a
    // connection string whose key does not decode, and one that names an unknown key).
    let bad_key = cs.replace(&key_b64, &format!("{}!", &key_b64[..key_b64.len() - 1]));
    let refused = Client::from_connection_string(&bad_key, ClientOptions::default()).err().expect("a key that is not base64 is refused");
    texts.push(refused.to_string());
    texts.push(format!("{refused:?}"));
    let typo = cs.replace("SharedAccessKey=", "SharedAccesKey=");
    let error = ConnectionString::parse(&typo).unwrap_err();
    texts.push(error.to_string());
    texts.push(format!("{error:?}"));
    let ended = unix_now();

    let log = captured.text();
    assert!(log.lines().count() > 50 && log.contains("TRACE") && log.contains("rumqttc"), "the log is at TRACE: {} lines", log.lines().count());
    let everything = format!("{log}\n{}", texts.join("\n"));
    let token_lifetime = 5;
    let leaked: Vec<String> = secret_forms(&key_b64, &resource, started.saturating_sub(2), ended + token_lifetime + 2)
        .into_iter()
        .filter(|form| everything.contains(form.as_str()))
        .map(|form| format!("{}...", &form[..6.min(form.len())]))
        .collect();
    assert!(leaked.is_empty(), "secrets found in the log or errors: {leaked:?}");
    assert!(!everything.contains("sig="), "no SAS token text");
    assert!(!everything.contains("SharedAccessKey="), "no connection string key field");
}
