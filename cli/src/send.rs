//! `iotsec send`: one message, or `--count N` copies pipelined over one connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::{Args, ValueEnum};
use iotsec::{Client, ClientOptions, ConnectionString, ErrorKind, Message, ValidationMode};
use serde_json::Value;

use crate::{input, CliError, CliResult};

#[derive(Clone, Copy, ValueEnum)]
enum Validation {
    /// Refuse a security message that breaks the schema (nothing is sent).
    Strict,
    /// Send it anyway, with a warning listing the violations.
    Warn,
    /// Do not validate.
    Off,
}

#[derive(Args)]
pub(crate) struct SendArgs {
    /// Device or module connection string (HostName=...;DeviceId=...;SharedAccessKey=...).
    #[arg(short = 'c', long, env = "IOTSEC_CONNECTION_STRING", hide_env_values = true, value_name = "CONNECTION_STRING")]
    connection_string: Option<String>,

    /// PEM file with the CA to trust instead of the system roots (a local hub's ca.pem);
    /// default: IOTSEC_CA_FILE.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,

    /// MQTT port (default: IOTSEC_MQTT_PORT, else 8883).
    #[arg(long, value_name = "N")]
    port: Option<u16>,

    /// Message id (`$.mid`).
    #[arg(long, value_name = "ID")]
    message_id: Option<String>,

    /// Content type (`$.ct`), e.g. application/json.
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,

    /// Content encoding (`$.ce`), e.g. utf-8.
    #[arg(long, value_name = "ENCODING")]
    content_encoding: Option<String>,

    /// A custom property; repeat for more (sent in this order).
    #[arg(long = "property", value_name = "KEY=VALUE", value_parser = parse_property)]
    properties: Vec<(String, String)>,

    /// Send as plain telemetry, without the security flag (`$.ifid`).
    #[arg(long)]
    no_security: bool,

    /// Schema validation of a security message before it is sent.
    #[arg(long, value_enum, default_value = "strict")]
    validation: Validation,

    /// Send this many copies, each with fresh event Ids (Events[*].Id), pipelined.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,

    /// How many messages may await their PUBACK at once.
    #[arg(long, default_value_t = 100, value_name = "K", value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,

    /// The message body: a file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some(("", _)) => Err(format!("`{s}` has an empty property name")),
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

pub(crate) fn run(args: SendArgs) -> CliResult {
    let cs_text = args
        .connection_string
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| CliError::usage("no connection string: pass -c/--connection-string or set IOTSEC_CONNECTION_STRING"))?;
    let connection_string = ConnectionString::parse(&cs_text).map_err(|e| CliError::from_core(&e))?;
    let input = input::read(&args.file).map_err(CliError::usage)?;

    let mut template = Message::new(input.bytes.clone());
    if let Some(v) = &args.message_id {
        template.set_message_id(Some(v.as_str()));
    }
    if let Some(v) = &args.content_type {
        template.set_content_type(Some(v.as_str()));
    }
    if let Some(v) = &args.content_encoding {
        template.set_content_encoding(Some(v.as_str()));
    }
    for (k, v) in &args.properties {
        template.set_property(k.as_str(), v.as_str());
    }
    if !args.no_security {
        template.set_as_security_message();
    }
    let validation = match args.validation {
        Validation::Strict => ValidationMode::Strict,
        Validation::Warn => ValidationMode::Warn,
        Validation::Off => ValidationMode::Off,
    };
    let concurrency = args.concurrency;
    let options = ClientOptions {
        ca_file: args.ca.clone(),
        port: args.port,
        validation,
        max_in_flight: concurrency,
        queue_capacity: usize::from(concurrency),
        ..ClientOptions::default()
    };
    let port = options.effective_port().map_err(|e| CliError::from_core(&e))?;
    let client = Client::new(connection_string.clone(), options).map_err(|e| CliError::from_core(&e))?;
    let address = format!("{}:{port}", connection_string.connect_host());
    let what = if args.no_security { "message" } else { "security message" };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start: {e}")))?;
    let copies = Copies::new(&template, args.count);
    let started = Instant::now();
    let outcome = runtime.block_on(send_all(&client, &copies, args.count, concurrency));
    let elapsed = started.elapsed();
    runtime.block_on(client.close());

    match outcome {
        Err(e) => Err(report_failure(&e, &input.label)),
        Ok(Summary { sent, failed, first_error }) => {
            if args.count == 1 {
                let topic = iotsec::topic::telemetry_topic(client.identity(), &template).unwrap_or_default();
                println!("sent 1 {what} as {} to {address}", client.identity());
                println!("  topic: {topic}");
                return Ok(());
            }
            let rate = sent as f64 / elapsed.as_secs_f64().max(1e-9);
            println!(
                "sent {sent} {what}s as {} to {address} in {:.2} s ({rate:.0} msg/s, {concurrency} in flight at most)",
                client.identity(),
                elapsed.as_secs_f64()
            );
            match first_error {
                None => Ok(()),
                Some(e) => Err(CliError::failed(format!("{failed} of {} failed; the first: {}", args.count, e.message()))),
            }
        }
    }
}

/// A failure before anything was sent: the message itself, or the connection.
fn report_failure(e: &iotsec::Error, label: &str) -> CliError {
    match e.kind() {
        ErrorKind::SchemaValidation if matches!(e.violations(), [v] if v.rule == "json" || v.rule == "utf8") => {
            CliError::failed(format!(
                "{label} is not a valid security message: {}; nothing was sent (send it as plain telemetry with --no-security)",
                e.violations()[0]
            ))
        }
        ErrorKind::SchemaValidation => {
            let n = e.violations().len();
            eprintln!("iotsec: {label} is not a valid security message ({n} violation{}); nothing was sent:", if n == 1 { "" } else { "s" });
            for v in e.violations() {
                eprintln!("  {v}");
            }
            eprintln!("(send it anyway with --validation warn or off, or as plain telemetry with --no-security)");
            CliError::silent(1)
        }
        ErrorKind::MessageTooLarge | ErrorKind::InvalidArgument => CliError::usage(e.message()),
        _ => CliError::failed(format!("nothing was sent: {}", e.message())),
    }
}

struct Summary {
    sent: usize,
    failed: usize,
    first_error: Option<iotsec::Error>,
}

/// Sends the first copy alone (it connects, and a bad message or credential fails once, not N
/// times), then the rest with at most `concurrency` awaiting PUBACK.
async fn send_all(client: &Client, copies: &Copies, count: u64, concurrency: u16) -> Result<Summary, iotsec::Error> {
    let bar = progress_bar(count);
    client.send_message(&copies.get(0)).await?;
    bar.inc(1);
    let sent = Arc::new(AtomicUsize::new(1));
    let first_error: Arc<Mutex<Option<iotsec::Error>>> = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let permits = Arc::new(tokio::sync::Semaphore::new(usize::from(concurrency)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..count {
        if first_error.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            // Something broke (the connection, usually): stop queueing more.
            break;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        let message = copies.get(i);
        let (client, bar, sent, failed, first_error) =
            (client.clone(), bar.clone(), sent.clone(), failed.clone(), first_error.clone());
        tasks.spawn(async move {
            match client.send_message(&message).await {
                Ok(()) => {
                    sent.fetch_add(1, Ordering::Relaxed);
                    bar.inc(1);
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                }
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    bar.finish_and_clear();
    let first_error = first_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    let not_queued = usize::try_from(count).unwrap_or(usize::MAX) - sent.load(Ordering::Relaxed) - failed.load(Ordering::Relaxed);
    Ok(Summary { sent: sent.load(Ordering::Relaxed), failed: failed.load(Ordering::Relaxed) + not_queued, first_error })
}

fn progress_bar(count: u64) -> indicatif::ProgressBar {
    if count <= 1 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(count);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} messages, {per_sec}, {eta} left") {
        bar.set_style(style);
    }
    bar
}

/// The copies to send: the file as it is for the first, and with new event Ids for the others
/// (so each copy is a distinct set of events) when the body is a JSON message with `Events`.
struct Copies {
    template: Message,
    json: Option<Value>,
}

impl Copies {
    fn new(template: &Message, count: u64) -> Copies {
        let json = (count > 1)
            .then(|| serde_json::from_slice::<Value>(template.body()).ok())
            .flatten()
            .filter(|v| v.get("Events").is_some_and(Value::is_array));
        Copies { template: template.clone(), json }
    }

    fn get(&self, i: u64) -> Message {
        let (Some(json), true) = (&self.json, i > 0) else { return self.template.clone() };
        let mut value = json.clone();
        if let Some(events) = value.get_mut("Events").and_then(Value::as_array_mut) {
            for event in events.iter_mut().filter_map(Value::as_object_mut) {
                if event.contains_key("Id") {
                    event.insert("Id".into(), Value::String(uuid::Uuid::new_v4().to_string()));
                }
            }
        }
        let mut message = self.template.clone();
        message.set_body(serde_json::to_vec(&value).unwrap_or_default());
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_get_fresh_event_ids() {
        let body = r#"{"Events":[{"Id":"a","Name":"x"},{"Id":"b"}],"AgentId":"z"}"#;
        let copies = Copies::new(&Message::new(body).with_message_id("m"), 3);
        assert_eq!(copies.get(0).body(), body.as_bytes(), "the first copy is the file itself");
        let one: Value = serde_json::from_slice(copies.get(1).body()).unwrap();
        let two: Value = serde_json::from_slice(copies.get(2).body()).unwrap();
        assert_ne!(one["Events"][0]["Id"], "a");
        assert_ne!(one["Events"][0]["Id"], two["Events"][0]["Id"]);
        assert_ne!(one["Events"][0]["Id"], one["Events"][1]["Id"]);
        assert_eq!(one["Events"][0]["Name"], "x");
        assert_eq!(copies.get(2).message_id(), Some("m"));
        let text = Copies::new(&Message::new("plain"), 3);
        assert_eq!(text.get(2).body(), b"plain");
    }

    #[test]
    fn properties_need_a_name_and_an_equals_sign() {
        assert_eq!(parse_property("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(parse_property("a=").unwrap(), ("a".into(), String::new()));
        assert!(parse_property("=b").is_err());
        assert!(parse_property("ab").is_err());
    }
}
