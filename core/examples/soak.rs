//! Soak: nothing is lost while the broker, the hub or the sending process is killed and restarted
//! (issue 12, "Show it").
//!
//! ```text
//! cargo run --release -p iotsec --example soak -- MODE [--messages 50000] [--restarts 5]
//!     [--signal term|kill] [--seed N] [--timeout 600] [--dir DIR] [--keep]
//!     [--latency-ms MS] [--queue-capacity N] [--token-lifetime SECS]
//! MODE: mosquitto | hub | durable | all
//! ```
//! (`scripts/soak.sh` runs the full set, `scripts/test-soak.sh` the short one for CI.)
//!
//! Every mode sends `--messages` guide-sized security messages (the body of
//! `tests/vectors/guide/bench_message.json`, 499 bytes, validated before sending), each with its
//! own message id `soak-{run}-{n}`, pipelined through one `iotsec::Client` over TLS, and kills
//! something by its PID `--restarts` times at random points:
//!
//! - `mosquitto`: the broker (mosquitto with persistence on), SIGTERM by default, then starts it
//!   again on the same ports with the same certificates. A recorder subscribed with a persistent
//!   session (`clean_session=false`, fixed client id, QoS 2) checks that every id arrived.
//!   SIGTERM, because mosquitto writes its persistence file (the recorder's subscription and the
//!   messages queued for it) only when it exits cleanly or at an autosave: after a SIGKILL it
//!   restarts without the messages it had acknowledged to the client but not yet delivered to
//!   the recorder, and those count as lost although the client did its part. `--signal kill`
//!   runs that variant anyway (with a 1 s autosave, which narrows but does not close the gap).
//! - `hub`: the local hub (`iotsec_hub::Hub`, run by this program re-executing itself in a
//!   `hub-server` role, so it is a separate process), SIGKILL by default: the hub stores a
//!   message before it acknowledges it, so even a SIGKILL must lose nothing. Restarted on the same
//!   data directory and port; every id must be in its `security.jsonl`. Its duplicate counter
//!   (messages re-sent after a reconnect that it recognised and did not store again) is reported.
//! - `durable`: the *sender* (this program re-executing itself in a `sender` role with
//!   `ClientOptions::durable_queue` set) is killed with SIGKILL and restarted. The sender appends
//!   a message id to `accepted.log` only after `send_message_with` returned `Ok` (the durable
//!   queue committed it), and a restarted sender continues after the last accepted id. Every
//!   accepted id must reach mosquitto (the broker is not restarted in this mode).
//!
//! The client reconnects with a short back-off here (100 ms doubling to 2 s, instead of the
//! default 1 s to 30 s) so a run with five restarts finishes in seconds, not minutes; sends made
//! while disconnected wait in the client's bounded queue (10,000, policy `Block`). The kill
//! points are drawn from `--seed` (printed) between 5 % and 75 % of the messages; each restart
//! waits until the client has reconnected after the previous one and acknowledgements flow, so
//! every restart cuts live traffic. The client connects before the first restart: a *first*
//! connection that fails is reported to the sends (a wrong CA or port must not wait forever).
//!
//! `--latency-ms` puts a proxy adding that delay each way between the client and the broker or
//! hub (`iotsec_testkit::LatencyProxy`): loopback round trips hide bugs that a real link shows.
//! `--token-lifetime` makes the client renew its SAS token (a planned reconnect) that often.
//!
//! Each run prints one summary line
//! `soak MODE: messages=N restarts=R lost=L duplicates=D seconds=S sends_ok=.. sends_failed=..
//! incomplete=.. signal=.. seed=.. ... PASS|FAIL`: `lost` counts ids that never arrived,
//! `duplicates` the extra copies that did (re-sends after a reconnect, and for mosquitto also the
//! broker's re-deliveries to the recorder after a restart), `incomplete` sends whose completion
//! never ran. In durable mode `sends_*` are those of the last sender (the one not killed, which
//! started at `last_sender_from`), and the ids that must arrive are the `accepted` ones. The
//! hub's own duplicate counter (`hub_counted_duplicates`) loses what it counted since its last
//! save (twice a second) at each SIGKILL. The program exits non-zero if any run lost a message,
//! had a send fail or not complete, or ran past `--timeout` seconds.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iotsec::client::Backoff;
use iotsec::{Client, ClientOptions, Message};
use iotsec_testkit::{test_connection_string, Mosquitto, MosquittoOptions, Recorder, RecorderOptions};

const BODY: &str = include_str!("../../tests/vectors/guide/bench_message.json");

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Signal {
    Term,
    Kill,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
        }
    }
}

#[derive(Clone, Debug)]
struct Args {
    mode: String,
    messages: usize,
    restarts: usize,
    signal: Option<Signal>,
    seed: u64,
    timeout: Duration,
    dir: Option<PathBuf>,
    keep: bool,
    latency: Duration,
    queue_capacity: Option<usize>,
    token_lifetime: Option<Duration>,
    // Internal roles.
    port: u16,
    ca: PathBuf,
    queue: PathBuf,
    accepted: PathBuf,
    run: String,
    data_dir: PathBuf,
    ready_file: PathBuf,
    connection_string: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: soak MODE [--messages N] [--restarts R] [--signal term|kill] [--seed N] [--timeout SECS] [--dir DIR] [--keep]\n\
         \x20          [--latency-ms MS]   (client traffic through a proxy adding MS each way)\n\
         \x20          [--queue-capacity N] [--token-lifetime SECS]   (client options; defaults 10,000 and 3,600)\n\
         MODE: mosquitto | hub | durable | all"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mode = it.next().unwrap_or_else(|| usage());
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let mut a = Args {
        mode,
        messages: 50_000,
        restarts: 5,
        signal: None,
        seed,
        timeout: Duration::from_secs(600),
        dir: None,
        keep: false,
        latency: Duration::ZERO,
        queue_capacity: None,
        token_lifetime: None,
        port: 0,
        ca: PathBuf::new(),
        queue: PathBuf::new(),
        accepted: PathBuf::new(),
        run: String::new(),
        data_dir: PathBuf::new(),
        ready_file: PathBuf::new(),
        connection_string: String::new(),
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--messages" => a.messages = value().parse().unwrap_or_else(|_| usage()),
            "--restarts" => a.restarts = value().parse().unwrap_or_else(|_| usage()),
            "--signal" => {
                a.signal = Some(match value().to_ascii_lowercase().as_str() {
                    "term" | "sigterm" => Signal::Term,
                    "kill" | "sigkill" => Signal::Kill,
                    _ => usage(),
                })
            }
            "--seed" => a.seed = value().parse().unwrap_or_else(|_| usage()),
            "--timeout" => a.timeout = Duration::from_secs(value().parse().unwrap_or_else(|_| usage())),
            "--dir" => a.dir = Some(PathBuf::from(value())),
            "--keep" => a.keep = true,
            "--queue-capacity" => a.queue_capacity = Some(value().parse().unwrap_or_else(|_| usage())),
            "--token-lifetime" => a.token_lifetime = Some(Duration::from_secs(value().parse().unwrap_or_else(|_| usage()))),
            "--latency-ms" => a.latency = Duration::from_millis(value().parse().unwrap_or_else(|_| usage())),
            "--port" => a.port = value().parse().unwrap_or_else(|_| usage()),
            "--ca" => a.ca = PathBuf::from(value()),
            "--queue" => a.queue = PathBuf::from(value()),
            "--accepted" => a.accepted = PathBuf::from(value()),
            "--run" => a.run = value(),
            "--data-dir" => a.data_dir = PathBuf::from(value()),
            "--ready-file" => a.ready_file = PathBuf::from(value()),
            "--connection-string" => a.connection_string = value(),
            _ => usage(),
        }
    }
    a
}

/// PIDs of child processes this program started and has not reaped, so a run that overstays
/// its time limit can stop them (by PID) before exiting.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn track_child(pid: u32) {
    if pid != 0 {
        CHILDREN.lock().unwrap().push(pid);
    }
}

fn untrack_child(pid: u32) {
    CHILDREN.lock().unwrap().retain(|p| *p != pid);
}

fn signal_pid(pid: u32, signal: Signal) -> bool {
    Command::new("kill")
        .arg(format!("-{}", signal.name()))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn main() {
    install_log();
    let a = args();
    match a.mode.as_str() {
        "sender" => std::process::exit(sender(&a)),
        "hub-server" => std::process::exit(hub_server(&a)),
        "mosquitto" | "hub" | "durable" | "all" => {}
        _ => usage(),
    }
    let modes: Vec<&str> = if a.mode == "all" { vec!["mosquitto", "hub", "durable"] } else { vec![a.mode.as_str()] };
    let mut failed = 0;
    for (i, mode) in modes.iter().enumerate() {
        let seed = a.seed.wrapping_add(i as u64);
        let outcome = run_bounded(mode, &a, seed);
        println!("{}", outcome.line());
        if !outcome.passed() {
            failed += 1;
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

/// What one run measured.
#[derive(Default, Debug)]
struct Outcome {
    mode: String,
    messages: usize,
    restarts: usize,
    /// Ids that had to arrive (all of them; in durable mode, the accepted ones).
    expected: usize,
    lost: usize,
    duplicates: usize,
    seconds: f64,
    sends_ok: usize,
    sends_failed: usize,
    incomplete: usize,
    extra: Vec<(String, String)>,
    error: Option<String>,
    signal: &'static str,
    seed: u64,
}

impl Outcome {
    fn passed(&self) -> bool {
        self.error.is_none() && self.lost == 0 && self.sends_failed == 0 && self.incomplete == 0 && self.expected > 0
    }

    fn line(&self) -> String {
        let mut s = format!(
            "soak {}: messages={} restarts={} lost={} duplicates={} seconds={:.1} sends_ok={} sends_failed={} incomplete={} signal={} seed={}",
            self.mode,
            self.messages,
            self.restarts,
            self.lost,
            self.duplicates,
            self.seconds,
            self.sends_ok,
            self.sends_failed,
            self.incomplete,
            self.signal,
            self.seed
        );
        for (k, v) in &self.extra {
            s.push_str(&format!(" {k}={v}"));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(" error=\"{}\"", e.replace('"', "'")));
        }
        s.push_str(if self.passed() { " PASS" } else { " FAIL" });
        s
    }
}

/// Runs one mode; a run still going `timeout` + 30 s after it started is stopped (children
/// killed by PID) and reported as failed.
fn run_bounded(mode: &str, a: &Args, seed: u64) -> Outcome {
    let done = Arc::new(AtomicBool::new(false));
    let guard = {
        let (done, mode, timeout) = (done.clone(), mode.to_string(), a.timeout);
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < timeout + Duration::from_secs(30) {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            println!("soak {mode}: did not finish within {} s FAIL", timeout.as_secs() + 30);
            for pid in CHILDREN.lock().unwrap().iter() {
                signal_pid(*pid, Signal::Kill);
            }
            std::process::exit(3);
        })
    };
    let t0 = Instant::now();
    let work = workdir(a, mode);
    let mut outcome = match mode {
        "mosquitto" => soak_mosquitto(a, seed, &work),
        "hub" => soak_hub(a, seed, &work),
        _ => soak_durable(a, seed, &work),
    };
    outcome.mode = mode.to_string();
    outcome.seed = seed;
    outcome.seconds = t0.elapsed().as_secs_f64();
    if outcome.seconds > a.timeout.as_secs_f64() && outcome.error.is_none() {
        outcome.error = Some(format!("took longer than --timeout {} s", a.timeout.as_secs()));
    }
    done.store(true, Ordering::SeqCst);
    let _ = guard.join();
    if !a.keep && outcome.passed() {
        let _ = std::fs::remove_dir_all(&work);
        if a.dir.is_none() {
            // The per-process base directory, once empty.
            let _ = work.parent().map(std::fs::remove_dir);
        }
    } else {
        eprintln!("soak {mode}: files kept in {}", work.display());
    }
    outcome
}

fn workdir(a: &Args, mode: &str) -> PathBuf {
    let base = a.dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("iotsec-soak-{}", std::process::id())));
    let dir = base.join(mode);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the work directory");
    dir.canonicalize().unwrap_or(dir)
}

/// `n` distinct points in `[lo, hi)`, sorted (where in the run the restarts happen).
fn kill_points(rng: &mut fastrand::Rng, n: usize, lo: usize, hi: usize) -> Vec<usize> {
    let mut points: Vec<usize> = (0..n).map(|_| rng.usize(lo..hi.max(lo + 1))).collect();
    points.sort_unstable();
    points
}

fn message_id(run: &str, n: usize) -> String {
    format!("soak-{run}-{n}")
}

fn message(run: &str, n: usize) -> Message {
    Message::new(BODY).security().with_message_id(message_id(run, n))
}

/// The `n` of `soak-{run}-{n}` in a topic's `$.mid`, if the message belongs to this run.
fn id_in_topic(topic: &str, run: &str) -> Option<usize> {
    let mid = topic.split_once("%24.mid=")?.1;
    let mid = mid.split('&').next()?;
    parse_id(mid, run)
}

fn parse_id(mid: &str, run: &str) -> Option<usize> {
    mid.strip_prefix("soak-")?.strip_prefix(run)?.strip_prefix('-')?.parse().ok()
}

/// Occurrences of each id `0..n`.
struct Tally {
    counts: Vec<u32>,
    foreign: usize,
}

impl Tally {
    fn new(n: usize) -> Tally {
        Tally { counts: vec![0; n], foreign: 0 }
    }

    fn add(&mut self, id: Option<usize>) {
        match id.and_then(|i| self.counts.get_mut(i)) {
            Some(c) => *c += 1,
            None => self.foreign += 1,
        }
    }

    fn missing<'a>(&'a self, wanted: impl Iterator<Item = usize> + 'a) -> impl Iterator<Item = usize> + 'a {
        wanted.filter(|i| self.counts.get(*i).copied().unwrap_or(0) == 0)
    }

    fn duplicates(&self) -> usize {
        self.counts.iter().map(|c| c.saturating_sub(1) as usize).sum()
    }
}

fn recorder_tally(recorder: &Recorder, run: &str, n: usize) -> Tally {
    recorder.with_records(|records| {
        let mut t = Tally::new(n);
        for r in records {
            t.add(id_in_topic(&r.topic, run));
        }
        t
    })
}

/// Waits (until `deadline`) for every id in `wanted` to appear in the tally `f` returns.
fn wait_for_ids(deadline: Instant, wanted: &[usize], mut f: impl FnMut() -> Tally) -> Tally {
    loop {
        let t = f();
        if t.missing(wanted.iter().copied()).next().is_none() || Instant::now() >= deadline {
            return t;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The port the client uses: `port`, or a latency proxy in front of it with `--latency-ms`.
fn via_latency(a: &Args, port: u16, o: &mut Outcome) -> (u16, Option<iotsec_testkit::LatencyProxy>) {
    if a.latency.is_zero() {
        return (port, None);
    }
    o.extra.push(("latency_ms".into(), a.latency.as_millis().to_string()));
    match iotsec_testkit::LatencyProxy::start(port, a.latency) {
        Ok(p) => (p.port, Some(p)),
        Err(e) => {
            o.error = Some(format!("cannot start the latency proxy: {e}"));
            (port, None)
        }
    }
}

fn client_options(a: &Args, port: u16, ca: &Path) -> ClientOptions {
    let defaults = ClientOptions::default();
    ClientOptions {
        port: Some(port),
        ca_file: Some(ca.to_path_buf()),
        // Short, so five restarts cost seconds (the default is 1 s doubling to 30 s).
        reconnect: Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(2), jitter: 0.2 },
        queue_capacity: a.queue_capacity.unwrap_or(defaults.queue_capacity),
        token_lifetime: a.token_lifetime.unwrap_or(defaults.token_lifetime),
        ..defaults
    }
}

/// Sends `run`'s messages `range` through `client` on a thread; counts accepted and completed.
#[derive(Default)]
struct Progress {
    accepted: AtomicUsize,
    ok: AtomicUsize,
    failed: AtomicUsize,
    errors: Mutex<BTreeMap<String, usize>>,
}

impl Progress {
    fn fail(&self, what: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        *self.errors.lock().unwrap().entry(what).or_default() += 1;
    }

    fn completed(&self) -> usize {
        self.ok.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }

    fn error_summary(&self) -> Option<String> {
        let errors = self.errors.lock().unwrap();
        (!errors.is_empty()).then(|| errors.iter().map(|(k, v)| format!("{v}x {k}")).collect::<Vec<_>>().join("; "))
    }
}

fn spawn_sender(client: Client, run: String, n: usize, progress: Arc<Progress>) -> std::thread::JoinHandle<()> {
    if std::env::var_os("SOAK_PROGRESS").is_some() {
        let p = progress.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while p.completed() < n {
                std::thread::sleep(Duration::from_millis(500));
                eprintln!("{:6.1} s: accepted {} ok {} failed {}", t0.elapsed().as_secs_f64(), p.accepted.load(Ordering::SeqCst), p.ok.load(Ordering::SeqCst), p.failed.load(Ordering::SeqCst));
            }
        });
    }
    std::thread::spawn(move || {
        for i in 0..n {
            let p = progress.clone();
            let sent = client.send_message_with(&message(&run, i), move |r| match r {
                Ok(()) => {
                    p.ok.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => p.fail(format!("{:?}: {}", e.kind(), e.message())),
            });
            if let Err(e) = sent {
                progress.fail(format!("send call: {:?}: {}", e.kind(), e.message()));
            }
            progress.accepted.fetch_add(1, Ordering::SeqCst);
        }
    })
}

/// Waits (polling every millisecond: at 20,000 messages a second, every millisecond counts) until
/// `point` messages are acknowledged, the client has reconnected since the last kill and
/// acknowledgements flow since the last restart. False if the deadline passed or every send
/// completed first.
fn wait_for_kill_point(deadline: Instant, progress: &Progress, n: usize, point: usize, connects_at_kill: usize, ok_at_restart: usize) -> bool {
    loop {
        let ok = progress.ok.load(Ordering::SeqCst);
        if CONNECTED.load(Ordering::SeqCst) > connects_at_kill && ok >= point && ok > ok_at_restart && ok < n {
            return true;
        }
        if Instant::now() >= deadline || progress.completed() >= n {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn fail(mut o: Outcome, e: impl std::fmt::Display) -> Outcome {
    o.error = Some(e.to_string());
    o
}

// ---------------------------------------------------------------------------------------------
// mosquitto

fn soak_mosquitto(a: &Args, seed: u64, work: &Path) -> Outcome {
    let signal = a.signal.unwrap_or(Signal::Term);
    let mut o = Outcome { messages: a.messages, expected: a.messages, signal: signal.name(), ..Default::default() };
    let deadline = Instant::now() + a.timeout;
    let mut rng = fastrand::Rng::with_seed(seed);
    let run = format!("{:06x}", rng.u32(..0xff_ffff));
    let options = MosquittoOptions { persistence: true, autosave_interval: if signal == Signal::Kill { 1 } else { 0 } };
    let mut broker = match Mosquitto::start_with(&work.join("broker"), &options) {
        Ok(b) => b,
        Err(e) => return fail(o, format!("cannot start mosquitto: {e}")),
    };
    track_child(broker.pid());
    let recorder = match Recorder::start_with(
        broker.plain_port,
        RecorderOptions { persistent_session: true, client_id: Some(format!("soak-recorder-{run}")), file: None },
    ) {
        Ok(r) => r,
        Err(e) => return fail(o, format!("cannot start the recorder: {e}")),
    };
    let (port, _proxy) = via_latency(a, broker.tls_port, &mut o);
    let client = match Client::from_connection_string(&test_connection_string("soak-mosquitto", None), client_options(a, port, &broker.pki.ca_cert)) {
        Ok(c) => c,
        Err(e) => return fail(o, e),
    };
    let connects_before = CONNECTED.load(Ordering::SeqCst);
    if let Err(e) = stream_with_restarts(a, &mut o, &mut rng, &client, &run, deadline, |o, down| {
        let pid = broker.pid();
        let stopped = match signal {
            Signal::Term => broker.terminate(Duration::from_secs(30)),
            Signal::Kill => {
                broker.kill();
                Ok(())
            }
        };
        untrack_child(pid);
        if let Err(e) = stopped {
            o.error = Some(format!("stopping mosquitto: {e}"));
        }
        std::thread::sleep(down);
        if let Err(e) = broker.restart() {
            o.error = Some(format!("restarting mosquitto: {e}"));
            return false;
        }
        track_child(broker.pid());
        true
    }) {
        return fail(o, e);
    }
    let wanted: Vec<usize> = (0..a.messages).collect();
    let grace = (Instant::now() + Duration::from_secs(60)).min(deadline.max(Instant::now() + Duration::from_secs(10)));
    let tally = wait_for_ids(grace, &wanted, || recorder_tally(&recorder, &run, a.messages));
    report_tally(&mut o, &tally, &wanted);
    o.extra.push(("connects".into(), (CONNECTED.load(Ordering::SeqCst) - connects_before).to_string()));
    client.close_blocking();
    let pid = broker.pid();
    drop(broker);
    untrack_child(pid);
    o
}

/// Connects `client` (a *first* connect that fails is the run's error), streams the run's
/// messages through it from a sender thread, and calls `restart` at each kill point with how
/// long to stay down; `restart` stops and starts what the run kills and returns `false` when
/// it could not start it again. Fills in the send counts of `o`.
fn stream_with_restarts(
    a: &Args,
    o: &mut Outcome,
    rng: &mut fastrand::Rng,
    client: &Client,
    run: &str,
    deadline: Instant,
    mut restart: impl FnMut(&mut Outcome, Duration) -> bool,
) -> Result<(), String> {
    // Restarts start once the client is established: a *first* connect that fails is reported
    // to the sends (wrong CA, key or port must not wait forever), later losses are retried.
    let mut connects_at_kill = CONNECTED.load(Ordering::SeqCst);
    client.connect_blocking().map_err(|e| format!("first connect: {e}"))?;
    let progress = Arc::new(Progress::default());
    let mut ok_at_restart = 0;
    let sender = spawn_sender(client.clone(), run.to_string(), a.messages, progress.clone());

    for point in kill_points(rng, a.restarts, a.messages / 20, a.messages * 3 / 4) {
        // Each restart interrupts live traffic: the client has reconnected since the last one
        // and acknowledgements flow again.
        if !wait_for_kill_point(deadline, &progress, a.messages, point, connects_at_kill, ok_at_restart) {
            o.error.get_or_insert(format!("the stream ended after {} of {} restarts (too few messages?)", o.restarts, a.restarts));
            break;
        }
        connects_at_kill = CONNECTED.load(Ordering::SeqCst);
        // Down for a while: the client retries with back-off, sends wait in its queue.
        if !restart(o, Duration::from_millis(rng.u64(100..1500))) {
            break;
        }
        o.restarts += 1;
        ok_at_restart = progress.ok.load(Ordering::SeqCst);
    }
    let _ = sender.join();
    let all_done = wait_until(deadline, || progress.completed() >= a.messages);
    o.sends_ok = progress.ok.load(Ordering::SeqCst);
    o.sends_failed = progress.failed.load(Ordering::SeqCst);
    o.incomplete = a.messages - progress.completed().min(a.messages);
    if !all_done {
        o.error.get_or_insert_with(|| "some sends never completed".into());
    }
    if let Some(e) = progress.error_summary() {
        o.extra.push(("send_errors".into(), format!("\"{e}\"")));
    }
    Ok(())
}

fn report_tally(o: &mut Outcome, tally: &Tally, wanted: &[usize]) {
    let missing: Vec<usize> = tally.missing(wanted.iter().copied()).collect();
    o.lost = missing.len();
    o.duplicates = tally.duplicates();
    if !missing.is_empty() {
        let sample: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        o.extra.push(("lost_ids".into(), sample.join(",")));
    }
    if tally.foreign > 0 {
        o.extra.push(("foreign".into(), tally.foreign.to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// hub

/// The `hub-server` role: a local hub in this process until SIGTERM (SIGKILL also works: the hub
/// stores a message before it acknowledges it).
fn hub_server(a: &Args) -> i32 {
    let config = iotsec_hub::HubConfig::new(&a.data_dir).port(a.port);
    let hub = match iotsec_hub::Hub::start(config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("hub-server: {e}");
            return 1;
        }
    };
    if let Err(e) = hub.write_ready_file(&a.ready_file) {
        eprintln!("hub-server: {e}");
        return 1;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    let _ = std::fs::remove_file(&a.ready_file);
    hub.stop();
    0
}

struct HubProcess {
    child: Child,
    info: iotsec_hub::HubInfo,
}

fn start_hub_process(data_dir: &Path, port: u16, ready_file: &Path) -> Result<HubProcess, String> {
    let _ = std::fs::remove_file(ready_file);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.with_extension("log"))
        .map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("hub-server")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--port")
        .arg(port.to_string())
        .arg("--ready-file")
        .arg(ready_file)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the hub: {e}"))?;
    track_child(child.id());
    let t0 = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(ready_file) {
            if let Ok(info) = serde_json::from_str::<iotsec_hub::HubInfo>(&text) {
                return Ok(HubProcess { child, info });
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            untrack_child(child.id());
            return Err(format!("the hub exited ({status}) before it listened; see {}", data_dir.with_extension("log").display()));
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            untrack_child(child.id());
            return Err("the hub did not listen within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop_process(child: &mut Child, signal: Signal) -> Result<(), String> {
    let pid = child.id();
    if !signal_pid(pid, signal) {
        let _ = child.wait();
        untrack_child(pid);
        return Ok(());
    }
    let t0 = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            untrack_child(pid);
            return Ok(());
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            untrack_child(pid);
            return Err(format!("process {pid} did not exit within 30 s of SIG{}; killed", signal.name()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Message ids per line of the hub's `security.jsonl` (one line per event; the soak's message
/// has one event).
fn hub_tally(store_file: &Path, run: &str, n: usize) -> Tally {
    let mut t = Tally::new(n);
    let Ok(file) = std::fs::File::open(store_file) else { return t };
    #[derive(serde::Deserialize)]
    struct Line {
        message_id: Option<String>,
    }
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        if let Ok(l) = serde_json::from_str::<Line>(&line) {
            t.add(l.message_id.as_deref().and_then(|m| parse_id(m, run)));
        }
    }
    t
}

fn soak_hub(a: &Args, seed: u64, work: &Path) -> Outcome {
    let signal = a.signal.unwrap_or(Signal::Kill);
    let mut o = Outcome { messages: a.messages, expected: a.messages, signal: signal.name(), ..Default::default() };
    let deadline = Instant::now() + a.timeout;
    let mut rng = fastrand::Rng::with_seed(seed);
    let run = format!("{:06x}", rng.u32(..0xff_ffff));
    let data_dir = work.join("hub-data");
    let ready = work.join("hub.json");
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        return fail(o, e);
    }
    let device = match iotsec_hub::Registry::open(&data_dir).and_then(|r| r.add_device("soak-hub", None)) {
        Ok(d) => d,
        Err(e) => return fail(o, format!("cannot register the device: {e}")),
    };
    let mut hub = match start_hub_process(&data_dir, 0, &ready) {
        Ok(h) => h,
        Err(e) => return fail(o, e),
    };
    let (port, ca, store_file) = (hub.info.tls_port, hub.info.ca_file.clone(), hub.info.store_dir.join("security.jsonl"));
    let (client_port, _proxy) = via_latency(a, port, &mut o);
    let client = match Client::from_connection_string(&device.connection_string(), client_options(a, client_port, &ca)) {
        Ok(c) => c,
        Err(e) => return fail(o, e),
    };
    let connects_before = CONNECTED.load(Ordering::SeqCst);
    if let Err(e) = stream_with_restarts(a, &mut o, &mut rng, &client, &run, deadline, |o, down| {
        if let Err(e) = stop_process(&mut hub.child, signal) {
            o.error = Some(e);
        }
        std::thread::sleep(down);
        hub = match start_hub_process(&data_dir, port, &ready) {
            Ok(h) => h,
            Err(e) => {
                o.error = Some(format!("restarting the hub: {e}"));
                return false;
            }
        };
        true
    }) {
        return fail(o, e);
    }
    o.extra.push(("connects".into(), (CONNECTED.load(Ordering::SeqCst) - connects_before).to_string()));
    client.close_blocking();
    // A clean stop saves the hub's counters.
    if let Err(e) = stop_process(&mut hub.child, Signal::Term) {
        o.error.get_or_insert(e);
    }
    let wanted: Vec<usize> = (0..a.messages).collect();
    // Acknowledged means stored: no waiting needed, but a short grace costs nothing.
    let tally = wait_for_ids(Instant::now() + Duration::from_secs(5), &wanted, || hub_tally(&store_file, &run, a.messages));
    report_tally(&mut o, &tally, &wanted);
    match iotsec_hub::Stats::load(&data_dir) {
        Ok(stats) => {
            o.extra.push(("hub_counted_duplicates".into(), stats.duplicates.to_string()));
        }
        Err(e) => o.extra.push(("hub_stats".into(), format!("\"{e}\""))),
    }
    o
}

// ---------------------------------------------------------------------------------------------
// durable

/// Reads `accepted.log` from `offset`, adding complete lines' ids to `ids`; returns the new
/// offset (a line without its newline is left for the next read).
fn read_accepted(path: &Path, offset: &mut u64, ids: &mut Vec<usize>) {
    let Ok(mut f) = std::fs::File::open(path) else { return };
    if f.seek(std::io::SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut buf = String::new();
    if f.read_to_string(&mut buf).is_err() {
        return;
    }
    let complete = buf.rfind('\n').map(|i| i + 1).unwrap_or(0);
    for line in buf[..complete].lines() {
        if let Ok(n) = line.trim().parse() {
            ids.push(n);
        }
    }
    *offset += complete as u64;
}

fn start_sender(a: &Args, port: u16, ca: &Path, queue: &Path, accepted: &Path, run: &str, log: &Path) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .arg("sender")
        .arg("--port")
        .arg(port.to_string())
        .arg("--ca")
        .arg(ca)
        .arg("--queue")
        .arg(queue)
        .arg("--accepted")
        .arg(accepted)
        .arg("--messages")
        .arg(a.messages.to_string())
        .arg("--run")
        .arg(run)
        .arg("--connection-string")
        .arg(test_connection_string("soak-durable", None))
        .args(a.queue_capacity.map(|q| vec!["--queue-capacity".to_string(), q.to_string()]).unwrap_or_default())
        .args(a.token_lifetime.map(|t| vec!["--token-lifetime".to_string(), t.as_secs().to_string()]).unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the sender: {e}"))?;
    track_child(child.id());
    Ok(child)
}

fn soak_durable(a: &Args, seed: u64, work: &Path) -> Outcome {
    let signal = Signal::Kill;
    let mut o = Outcome { messages: a.messages, signal: signal.name(), ..Default::default() };
    let deadline = Instant::now() + a.timeout;
    let mut rng = fastrand::Rng::with_seed(seed);
    let run = format!("{:06x}", rng.u32(..0xff_ffff));
    let mut broker = match Mosquitto::start_with(&work.join("broker"), &MosquittoOptions { persistence: true, autosave_interval: 0 }) {
        Ok(b) => b,
        Err(e) => return fail(o, format!("cannot start mosquitto: {e}")),
    };
    track_child(broker.pid());
    let recorder = match Recorder::start_with(
        broker.plain_port,
        RecorderOptions { persistent_session: true, client_id: Some(format!("soak-recorder-{run}")), file: None },
    ) {
        Ok(r) => r,
        Err(e) => return fail(o, format!("cannot start the recorder: {e}")),
    };
    let (queue, accepted_log, sender_log) = (work.join("queue.redb"), work.join("accepted.log"), work.join("sender.log"));
    let mut accepted: Vec<usize> = Vec::new();
    let mut offset = 0u64;
    let (port, _proxy) = via_latency(a, broker.tls_port, &mut o);
    let points = kill_points(&mut rng, a.restarts, a.messages / 20, a.messages * 3 / 4);
    let mut kills = 0;
    let mut final_status = None;
    for k in 0..=points.len() {
        let mut child = match start_sender(a, port, &broker.pki.ca_cert, &queue, &accepted_log, &run, &sender_log) {
            Ok(c) => c,
            Err(e) => {
                o.error = Some(e);
                break;
            }
        };
        let pid = child.id();
        if let Some(&point) = points.get(k) {
            // Kill it (SIGKILL, by PID) once it has accepted `point` messages in all, or at
            // once if it is already past that (then it dies while recovering).
            let reached = wait_until(deadline, || {
                read_accepted(&accepted_log, &mut offset, &mut accepted);
                accepted.len() >= point || matches!(child.try_wait(), Ok(Some(_)))
            });
            if !reached {
                o.error = Some("the sender made no progress before the deadline".into());
            }
            std::thread::sleep(Duration::from_millis(rng.u64(0..50)));
            if let Ok(Some(status)) = child.try_wait() {
                o.error.get_or_insert(format!("the sender ended before it was killed ({status}); see {}", sender_log.display()));
            }
            let _ = child.kill();
            let _ = child.wait();
            untrack_child(pid);
            kills += 1;
            if !reached {
                break;
            }
        } else {
            let finished = wait_until(deadline, || matches!(child.try_wait(), Ok(Some(_))));
            if !finished {
                let _ = child.kill();
                let _ = child.wait();
                o.error.get_or_insert("the last sender did not finish before the deadline".into());
            }
            final_status = child.try_wait().ok().flatten();
            untrack_child(pid);
        }
    }
    o.restarts = kills;
    read_accepted(&accepted_log, &mut offset, &mut accepted);
    let mut wanted = accepted.clone();
    wanted.sort_unstable();
    wanted.dedup();
    o.expected = wanted.len();
    o.extra.push(("accepted".into(), wanted.len().to_string()));
    o.extra.push(("accepted_twice".into(), (accepted.len() - wanted.len()).to_string()));
    // The last sender's own summary (sends it made, how they completed).
    let summary = std::fs::read_to_string(&sender_log)
        .unwrap_or_default()
        .lines()
        .rev()
        .find(|l| l.starts_with("sender:"))
        .map(str::to_string);
    if let Some(s) = &summary {
        for kv in s.trim_start_matches("sender:").split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                match k {
                    "start" => o.extra.push(("last_sender_from".into(), v.to_string())),
                    "ok" => o.sends_ok = v.parse().unwrap_or(0),
                    "failed" => o.sends_failed = v.parse().unwrap_or(0),
                    "incomplete" => o.incomplete = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
    }
    match final_status {
        Some(s) if s.success() => {}
        Some(s) => {
            o.error.get_or_insert(format!("the last sender failed ({s}); see {}", sender_log.display()));
        }
        None => {
            o.error.get_or_insert("the last sender did not finish".into());
        }
    }
    if wanted.len() < a.messages {
        o.error.get_or_insert(format!("only {} of {} messages were accepted", wanted.len(), a.messages));
    }
    let grace = (Instant::now() + Duration::from_secs(60)).min(deadline.max(Instant::now() + Duration::from_secs(10)));
    let tally = wait_for_ids(grace, &wanted, || recorder_tally(&recorder, &run, a.messages));
    report_tally(&mut o, &tally, &wanted);
    let pid = broker.pid();
    broker.kill();
    untrack_child(pid);
    o
}

/// The `sender` role of the durable mode: continues after the last id in `accepted.log`, logs
/// each id once `send_message_with` returned `Ok` (the durable queue committed it), waits for
/// every send to complete, closes the client and prints `sender: ...`.
fn sender(a: &Args) -> i32 {
    // A line cut short by a kill (it cannot happen with one small append, but be sure) would
    // run into the next one: cut it off.
    let mut text = std::fs::read_to_string(&a.accepted).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        let keep = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
        text.truncate(keep);
        if let Err(e) = std::fs::write(&a.accepted, &text) {
            eprintln!("sender: cannot repair {}: {e}", a.accepted.display());
            return 1;
        }
    }
    let start = text.lines().filter_map(|l| l.trim().parse::<usize>().ok()).max().map(|n| n + 1).unwrap_or(0);
    let options = ClientOptions { durable_queue: Some(a.queue.clone()), ..client_options(a, a.port, &a.ca) };
    // The killed sender's file lock goes with its process; allow a moment anyway.
    let t0 = Instant::now();
    let client = loop {
        match Client::from_connection_string(&a.connection_string, options.clone()) {
            Ok(c) => break c,
            Err(e) if e.kind() == iotsec::ErrorKind::Io && t0.elapsed() < Duration::from_secs(10) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                eprintln!("sender: {e}");
                return 1;
            }
        }
    };
    let mut log = match std::fs::OpenOptions::new().create(true).append(true).open(&a.accepted) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sender: cannot open {}: {e}", a.accepted.display());
            return 1;
        }
    };
    eprintln!("sender {}: starting at {start} of {}", std::process::id(), a.messages);
    let progress = Arc::new(Progress::default());
    let mut sent = 0;
    for n in start..a.messages {
        let p = progress.clone();
        let r = client.send_message_with(&message(&a.run, n), move |r| match r {
            Ok(()) => {
                p.ok.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => p.fail(format!("{:?}: {}", e.kind(), e.message())),
        });
        match r {
            Ok(()) => {
                sent += 1;
                // One write per id: a kill lands before or after it, never inside.
                if let Err(e) = log.write_all(format!("{n}\n").as_bytes()) {
                    eprintln!("sender: cannot append to {}: {e}", a.accepted.display());
                    return 1;
                }
            }
            Err(e) => {
                eprintln!("sender: send {n} refused: {e}");
                progress.fail(format!("send call: {:?}", e.kind()));
            }
        }
    }
    let t0 = Instant::now();
    while progress.completed() < sent && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // close() waits for what is still outstanding, the re-sent leftovers of earlier runs too.
    client.close_blocking();
    let ok = progress.ok.load(Ordering::SeqCst);
    let failed = progress.failed.load(Ordering::SeqCst);
    let incomplete = sent - progress.completed().min(sent);
    println!(
        "sender: start={start} sent={sent} ok={ok} failed={failed} incomplete={incomplete} errors=\"{}\"",
        progress.error_summary().unwrap_or_default()
    );
    if failed == 0 && incomplete == 0 {
        0
    } else {
        1
    }
}

// ---------------------------------------------------------------------------------------------
// logging

/// How many times a client in this process logged "connected" (first connect and reconnects).
static CONNECTED: AtomicUsize = AtomicUsize::new(0);

/// Prints the client's warnings (and errors) to stderr, so a soak shows reconnects and anything
/// odd (e.g. "tracker out of step"), and counts connections. `SOAK_LOG=info` shows more.
fn install_log() {
    struct Log(tracing::Level);
    struct Fields(String);
    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.insert_str(0, &format!("{value:?} "));
            } else {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
    }
    impl tracing::Subscriber for Log {
        fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
            *m.level() <= self.0 || m.target().starts_with("iotsec::client")
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, e: &tracing::Event<'_>) {
            let mut f = Fields(String::new());
            e.record(&mut f);
            if f.0.starts_with("connected ") {
                CONNECTED.fetch_add(1, Ordering::SeqCst);
            }
            if *e.metadata().level() > self.0 {
                return;
            }
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "{}.{:03} {} {}: {}", t.as_secs(), t.subsec_millis(), e.metadata().level(), e.metadata().target(), f.0.trim_end());
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
    let level = match std::env::var("SOAK_LOG").unwrap_or_default().to_ascii_lowercase().as_str() {
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "error" => tracing::Level::ERROR,
        _ => tracing::Level::WARN,
    };
    let _ = tracing::subscriber::set_global_default(Log(level));
}
