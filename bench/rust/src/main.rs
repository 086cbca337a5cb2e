//! The Rust side of `bench/run.sh`. Three commands, each printing one JSON line:
//!
//! ```text
//! iotsec-bench send --client raw|raw-main|iotsec --mode await|pipelined --port P --ca CA.pem
//!                   --body FILE --device ID [--count 20000] [--warmup 1000] [--inflight 100]
//! iotsec-bench overhead --body FILE
//! iotsec-bench subscribe --port PLAIN_PORT        (then commands on stdin, see below)
//! ```
//!
//! `send --client raw` is the floor: rumqttc alone, no iotsec code on the send path, the same
//! topic bytes (checked against iotsec's encoder before the run), the same body, the same
//! in-flight window. `await` publishes, polls the event loop until that PUBACK and only then
//! publishes the next, in one task on a runtime worker: the tightest loop an application can
//! write (the thread woken by the socket is the one that publishes next). `pipelined` keeps up
//! to `--inflight` PUBLISHes in flight (a publisher task feeds rumqttc's request channel while
//! the event loop is polled). `--client raw-main` runs the same code the way a
//! `#[tokio::main]` application does, in `block_on` on the main thread (as
//! core/examples/bench_send.rs does): every PUBACK then wakes that thread from a worker.
//!
//! `send --client iotsec` is the iotsec Rust client: `await` awaits every `send_message` from a
//! task on a multi-threaded tokio runtime, as a tokio application does; `pipelined` hands
//! `send_messages` the whole batch.
//!
//! Every message gets its own message id (`$.mid`): `w0..` for the warm-up, `m0..` for the
//! measured messages, so the counting subscriber can check that every one arrived exactly once
//! (at least once: duplicates are allowed by QoS 1 and reported). The measured window runs from
//! the first send to the last acknowledgement and includes creating the messages.
//!
//! `subscribe` connects to the plain listener, subscribes to `devices/#` with QoS 1, prints
//! `ready` once subscribed, and then answers on stdin:
//! `check DEVICE N W` → `{"device":..,"timed":..,"warm":..,"other":..,"total":..,"ok":..}`
//! (`ok`: exactly N distinct `m<i>` with i < N, W distinct `w<i>`, nothing else), `forget DEVICE`,
//! `quit`.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iotsec::{Client, ClientOptions, Identity, Message};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};

const SECURITY_IFID_ENCODED: &str = "urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Args {
        let mut map = HashMap::new();
        let mut it = raw.peekable();
        while let Some(flag) = it.next() {
            let key = flag.strip_prefix("--").unwrap_or_else(|| fail(&format!("unexpected argument `{flag}`")));
            let value = it.next().unwrap_or_else(|| fail(&format!("--{key} needs a value")));
            map.insert(key.to_string(), value);
        }
        Args(map)
    }
    fn str(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or_else(|| fail(&format!("--{key} is required")))
    }
    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        match self.0.get(key) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| fail(&format!("--{key}: `{v}` is not a number"))),
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("iotsec-bench: {message}");
    std::process::exit(2)
}

fn rusage() -> libc::rusage {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut r);
        r
    }
}

/// User + system CPU time of the whole process (every thread), in microseconds.
fn cpu_us() -> f64 {
    let r = rusage();
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    tv(r.ru_utime) + tv(r.ru_stime)
}

/// Peak resident set of this process image (VmHWM: unlike getrusage's ru_maxrss it starts
/// again at exec, so the parent's memory before the exec is not counted).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0))))
        .unwrap_or(0)
}

/// The topic iotsec sends for a security message with message id `mid`, written out by hand
/// so the floor runs no iotsec code (checked against iotsec's encoder once, before timing).
fn raw_topic(device: &str, mid: &str) -> String {
    format!("devices/{device}/messages/events/%24.mid={mid}&%24.ifid={SECURITY_IFID_ENCODED}")
}

fn message(body: &Bytes, mid: String) -> Message {
    Message::new(body.clone()).with_message_id(mid).security()
}

struct Timing {
    connect: Duration,
    elapsed: Duration,
    cpu_us: f64,
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let command = argv.next().unwrap_or_default();
    let args = Args::parse(argv);
    match command.as_str() {
        "send" => send(&args),
        "overhead" => overhead(&args),
        "subscribe" => subscribe(&args),
        _ => fail("usage: iotsec-bench send|overhead|subscribe [--flag value]... (see src/main.rs)"),
    }
}

// ---- send -------------------------------------------------------------------------------------

fn send(a: &Args) {
    let client = a.str("client").to_string();
    let mode = a.str("mode").to_string();
    let port: u16 = a.num("port", 8883);
    let ca = a.str("ca").to_string();
    let device = a.str("device").to_string();
    let count: usize = a.num("count", 20_000);
    let warmup: usize = a.num("warmup", 1_000);
    let inflight: u16 = a.num("inflight", 100);
    let body = Bytes::from(std::fs::read(a.str("body")).unwrap_or_else(|e| fail(&format!("--body: {e}"))));
    if mode != "await" && mode != "pipelined" {
        fail("--mode is await or pipelined");
    }
    // The floor sends exactly the bytes iotsec would.
    let identity = Identity::device(&device).unwrap_or_else(|e| fail(&e.to_string()));
    let reference = iotsec::topic::telemetry_topic(&identity, &message(&body, "m0".into())).unwrap();
    assert_eq!(raw_topic(&device, "m0"), reference, "the floor's topic differs from iotsec's");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let timing = match client.as_str() {
        // On a worker thread, like everything else here: the task that polls the socket is
        // the one that publishes (a caller blocked in `block_on` would be woken by a worker
        // for every PUBACK instead).
        "raw" => {
            let (mode, device, ca) = (mode.clone(), device.clone(), ca.clone());
            rt.block_on(async move { tokio::spawn(async move { raw(&mode, &device, port, &ca, count, warmup, inflight, body).await }).await.unwrap() })
        }
        // The same loop as a `#[tokio::main]` application writes it: on the main thread, in
        // `block_on`, while the runtime's workers drive the socket.
        "raw-main" => rt.block_on(raw(&mode, &device, port, &ca, count, warmup, inflight, body)),
        "iotsec" => rt.block_on(core_client(&mode, &device, port, &ca, count, warmup, inflight, body)),
        _ => fail("--client is raw, raw-main or iotsec"),
    };
    let seconds = timing.elapsed.as_secs_f64();
    println!(
        "{{\"client\":\"{client}\",\"mode\":\"{mode}\",\"count\":{count},\"connect_ms\":{:.3},\"seconds\":{seconds:.4},\"msgs_per_sec\":{:.1},\"cpu_us_per_msg\":{:.3},\"vm_hwm_kb\":{}}}",
        timing.connect.as_secs_f64() * 1e3,
        count as f64 / seconds,
        timing.cpu_us / count as f64,
        peak_rss_kb()
    );
    drop(rt);
}

fn raw_options(device: &str, port: u16, ca: &str, inflight: u16) -> MqttOptions {
    let mut o = MqttOptions::new(device, "localhost", port);
    o.set_clean_session(false).set_inflight(inflight).set_max_packet_size(1 << 20, 1 << 20).set_keep_alive(Duration::from_secs(60));
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap_or_else(|e| fail(&format!("--ca: {e}")));
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))));
    o
}

async fn poll(eventloop: &mut rumqttc::EventLoop) -> Event {
    eventloop.poll().await.unwrap_or_else(|e| fail(&format!("raw rumqttc connection: {e}")))
}

#[allow(clippy::too_many_arguments)]
async fn raw(mode: &str, device: &str, port: u16, ca: &str, count: usize, warmup: usize, inflight: u16, body: Bytes) -> Timing {
    let t0 = Instant::now();
    // Awaiting each PUBACK needs a window of one; pipelined uses the same window as iotsec.
    let window = if mode == "await" { 1 } else { inflight };
    let (client, mut eventloop) = AsyncClient::new(raw_options(device, port, ca, window), (window as usize).max(10));
    while !matches!(poll(&mut eventloop).await, Event::Incoming(Packet::ConnAck(_))) {}
    let connect = t0.elapsed();
    let pipelined = mode == "pipelined";
    raw_phase(&client, &mut eventloop, device, &body, "w", warmup, pipelined).await;
    let (c0, t1) = (cpu_us(), Instant::now());
    raw_phase(&client, &mut eventloop, device, &body, "m", count, pipelined).await;
    let timing = Timing { connect, elapsed: t1.elapsed(), cpu_us: cpu_us() - c0 };
    client.disconnect().await.unwrap();
    while let Ok(ev) = eventloop.poll().await {
        if let Event::Outgoing(Outgoing::Disconnect) = ev {
            break;
        }
    }
    timing
}

/// Sends `n` messages with ids `{prefix}0..`, rumqttc alone.
async fn raw_phase(client: &AsyncClient, eventloop: &mut rumqttc::EventLoop, device: &str, body: &Bytes, prefix: &'static str, n: usize, pipelined: bool) {
    if pipelined {
        let (client, device, body) = (client.clone(), device.to_string(), body.clone());
        let publisher = tokio::spawn(async move {
            for i in 0..n {
                client.publish(raw_topic(&device, &format!("{prefix}{i}")), QoS::AtLeastOnce, false, body.to_vec()).await.unwrap();
            }
        });
        let mut acked = 0;
        while acked < n {
            if let Event::Incoming(Packet::PubAck(_)) = poll(eventloop).await {
                acked += 1;
            }
        }
        publisher.await.unwrap();
    } else {
        for i in 0..n {
            client.try_publish(raw_topic(device, &format!("{prefix}{i}")), QoS::AtLeastOnce, false, body.to_vec()).unwrap();
            while !matches!(poll(eventloop).await, Event::Incoming(Packet::PubAck(_))) {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn core_client(mode: &str, device: &str, port: u16, ca: &str, count: usize, warmup: usize, inflight: u16, body: Bytes) -> Timing {
    let t0 = Instant::now();
    let options = ClientOptions { port: Some(port), ca_file: Some(ca.into()), max_in_flight: inflight, ..Default::default() };
    let cs = format!("HostName=localhost;DeviceId={device};SharedAccessKey={KEY}");
    let client = Client::from_connection_string(&cs, options).unwrap_or_else(|e| fail(&e.to_string()));
    client.connect().await.unwrap_or_else(|e| fail(&format!("connect: {e}")));
    let connect = t0.elapsed();
    let phase = |prefix: &'static str, n: usize| {
        let (client, body, pipelined) = (client.clone(), body.clone(), mode == "pipelined");
        async move {
            if pipelined {
                let batch: Vec<Message> = (0..n).map(|i| message(&body, format!("{prefix}{i}"))).collect();
                for r in client.send_messages(&batch).await {
                    r.unwrap_or_else(|e| fail(&format!("send: {e}")));
                }
            } else {
                // As a tokio application does: the loop is a task on the runtime.
                tokio::spawn(async move {
                    for i in 0..n {
                        client.send_message(&message(&body, format!("{prefix}{i}"))).await.unwrap_or_else(|e| fail(&format!("send: {e}")));
                    }
                })
                .await
                .unwrap();
            }
        }
    };
    phase("w", warmup).await;
    let (c0, t1) = (cpu_us(), Instant::now());
    phase("m", count).await;
    let timing = Timing { connect, elapsed: t1.elapsed(), cpu_us: cpu_us() - c0 };
    client.close().await;
    timing
}

// ---- overhead ---------------------------------------------------------------------------------

/// Nanoseconds per call of `f`: the best of 5 rounds of at least 0.2 s each.
fn per_call(mut f: impl FnMut()) -> f64 {
    let mut n = 1_000u64;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        loop {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            let e = t.elapsed();
            if e >= Duration::from_millis(200) {
                best = best.min(e.as_secs_f64() * 1e9 / n as f64);
                break;
            }
            n *= 2;
        }
    }
    best
}

fn overhead(a: &Args) {
    let body = Bytes::from(std::fs::read(a.str("body")).unwrap_or_else(|e| fail(&format!("--body: {e}"))));
    let identity = Identity::device("bench-overhead").unwrap();
    let create = per_call(|| {
        black_box(Message::new(black_box(body.clone())).security());
    });
    let create_mid = per_call(|| {
        black_box(Message::new(black_box(body.clone())).with_message_id("m12345").security());
    });
    let m = Message::new(body.clone()).with_message_id("m12345").security();
    let topic = per_call(|| {
        black_box(iotsec::topic::telemetry_topic(&identity, black_box(&m)).unwrap());
    });
    let validate = per_call(|| {
        assert!(black_box(iotsec::schema::validate(black_box(&body))).is_empty());
    });
    let is_valid = per_call(|| {
        assert!(black_box(iotsec::schema::is_valid(black_box(&body))));
    });
    println!(
        "{{\"create_flag_ns\":{create:.1},\"create_flag_mid_ns\":{create_mid:.1},\"topic_ns\":{topic:.1},\"validate_ns\":{validate:.1},\"is_valid_ns\":{is_valid:.1}}}"
    );
}

// ---- subscribe --------------------------------------------------------------------------------

#[derive(Default)]
struct Arrivals {
    total: u64,
    mids: HashSet<String>,
    /// Arrivals without a message id.
    anonymous: u64,
}

fn message_id(properties: &str) -> Option<&str> {
    properties.split('&').find_map(|pair| pair.strip_prefix("%24.mid=").or_else(|| pair.strip_prefix("$.mid=")))
}

fn record(state: &Mutex<HashMap<String, Arrivals>>, topic: &str) {
    // devices/{device}/messages/events/{property bag}
    let mut parts = topic.splitn(5, '/');
    let device = parts.nth(1).unwrap_or_default();
    let properties = parts.nth(2).unwrap_or_default();
    let mut state = state.lock().unwrap();
    let entry = state.entry(device.to_string()).or_default();
    entry.total += 1;
    match message_id(properties) {
        Some(mid) => {
            entry.mids.insert(mid.to_string());
        }
        None => entry.anonymous += 1,
    }
}

fn check(state: &Mutex<HashMap<String, Arrivals>>, device: &str, n: usize, w: usize) -> String {
    let state = state.lock().unwrap();
    let (mut timed, mut warm, mut other) = (0usize, 0usize, 0usize);
    let mut total = 0;
    if let Some(a) = state.get(device) {
        total = a.total;
        other = a.anonymous as usize;
        for mid in &a.mids {
            let index = |prefix: char| mid.strip_prefix(prefix).and_then(|i| i.parse::<usize>().ok());
            match (index('m'), index('w')) {
                (Some(i), _) if i < n => timed += 1,
                (_, Some(i)) if i < w => warm += 1,
                _ => other += 1,
            }
        }
    }
    let ok = timed == n && warm == w && other == 0;
    format!("{{\"device\":\"{device}\",\"timed\":{timed},\"warm\":{warm},\"other\":{other},\"total\":{total},\"ok\":{ok}}}")
}

fn subscribe(a: &Args) {
    let port: u16 = a.num("port", 1883);
    let state: Arc<Mutex<HashMap<String, Arrivals>>> = Arc::default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut options = MqttOptions::new(format!("iotsec-bench-counter-{}", std::process::id()), "127.0.0.1", port);
    options.set_clean_session(true).set_keep_alive(Duration::from_secs(60)).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let seen = state.clone();
    std::thread::spawn(move || {
        rt.block_on(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => client.subscribe("devices/#", QoS::AtLeastOnce).await.unwrap(),
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        println!("ready");
                        std::io::stdout().flush().unwrap();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => record(&seen, &p.topic),
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("iotsec-bench subscribe: connection to 127.0.0.1:{port} lost: {e}");
                        std::process::exit(1);
                    }
                }
            }
        })
    });
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["check", device, n, w] => check(&state, device, n.parse().unwrap_or(0), w.parse().unwrap_or(0)),
            ["forget", device] => {
                state.lock().unwrap().remove(*device);
                "{}".to_string()
            }
            ["quit"] => break,
            _ => "{\"error\":\"unknown command\"}".to_string(),
        };
        println!("{reply}");
        std::io::stdout().flush().unwrap();
    }
}
