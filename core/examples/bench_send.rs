//! Send throughput, iotsec against a raw rumqttc loop, in one run (issue: core client bench).
//!
//! ```text
//! cargo run --release -p iotsec --example bench_send -- [--count 20000] [--inflight 100]
//!     [--modes raw-await,await,thread-await,thread-callback,raw-pipelined,pipelined] [--rounds 3] [--port P --ca CA.pem] [--json]
//! ```
//! Without `--port`, it starts its own mosquitto (TLS on 127.0.0.1, `set_tcp_nodelay true`).
//! Every mode sends the same guide-sized security message (499 bytes, the guide's example
//! made valid) on the same topic bytes. `raw-*` is the floor: rumqttc alone, no iotsec, same
//! in-flight window: `raw-await` publishes, polls until the PUBACK and only then publishes the
//! next, all in one task on the runtime (the tightest loop an application can write); `raw-pipelined` keeps up
//! to `--inflight` PUBLISHes in flight. `await` awaits each `send_message` from a task on a
//! multi-threaded runtime (as a tokio application does); `pipelined` hands `send_messages` the
//! whole batch. `thread-await` and `thread-callback` are the language packages' case: a plain
//! `std::thread` (not a tokio worker; the session runs on iotsec's shared runtime) awaits each
//! send with `send_message_blocking` (Java, C#), or with `send_message_with` and a condition
//! variable (the C runner); their floor is `raw-await`. Each round runs every mode in turn; the
//! median round of each mode is reported (messages/second, client CPU per message, context
//! switches per message, ratio to raw).
//! Other languages' benchmarks run the `raw-*` modes with `--json` as their floor.

use std::time::{Duration, Instant};

use iotsec::{Client, ClientOptions, Message};
use rumqttc::{
    AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport,
};

const BODY: &str = include_str!("../../tests/vectors/guide/bench_message.json");

struct Args {
    count: usize,
    inflight: u16,
    modes: Vec<String>,
    port: Option<u16>,
    ca: Option<String>,
    json: bool,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args {
        count: 20_000,
        inflight: 100,
        modes: vec![
            "raw-await".into(),
            "await".into(),
            "thread-await".into(),
            "thread-callback".into(),
            "raw-pipelined".into(),
            "pipelined".into(),
        ],
        port: None,
        ca: None,
        json: false,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => a.count = value().parse().expect("--count N"),
            "--inflight" => a.inflight = value().parse().expect("--inflight N"),
            "--modes" => a.modes = value().split(',').map(str::to_string).collect(),
            "--port" => a.port = Some(value().parse().expect("--port N")),
            "--ca" => a.ca = Some(value()),
            "--json" => a.json = true,
            "--rounds" => a.rounds = value().parse().expect("--rounds N"),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// `struct rusage` of Linux on 64-bit targets (two `timeval`s, then 14 longs).
#[repr(C)]
#[derive(Default)]
struct RUsage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut RUsage) -> i32;
}

/// User + system CPU time and context switches (voluntary + involuntary) of this process,
/// every thread, ended ones included.
fn usage() -> (Duration, u64) {
    let mut u = RUsage::default();
    // SAFETY: `RUsage` has the layout of `struct rusage` on 64-bit Linux; RUSAGE_SELF = 0.
    if unsafe { getrusage(0, &mut u) } != 0 {
        return (Duration::ZERO, 0);
    }
    let us = |tv: [i64; 2]| Duration::from_micros((tv[0] * 1_000_000 + tv[1]) as u64);
    // rest: maxrss ixrss idrss isrss minflt majflt nswap inblock oublock msgsnd msgrcv nsignals nvcsw nivcsw
    (us(u.utime) + us(u.stime), (u.rest[12] + u.rest[13]) as u64)
}

struct Outcome {
    mode: String,
    elapsed: Duration,
    cpu: Duration,
    switches: u64,
}

fn measure(mode: &str, f: impl FnOnce()) -> Outcome {
    let ((c0, s0), t0) = (usage(), Instant::now());
    f();
    let elapsed = t0.elapsed();
    let (c1, s1) = usage();
    Outcome {
        mode: mode.to_string(),
        elapsed,
        cpu: c1.saturating_sub(c0),
        switches: s1.saturating_sub(s0),
    }
}

fn raw_options(device: &str, port: u16, ca: &str, inflight: u16) -> MqttOptions {
    let mut o = MqttOptions::new(device, "localhost", port);
    o.set_clean_session(false)
        .set_inflight(inflight)
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_keep_alive(Duration::from_secs(60));
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates({
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(ca).expect("read CA");
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(cert.unwrap()).unwrap();
        }
        roots
    })
    .with_no_client_auth();
    o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
        std::sync::Arc::new(config),
    )));
    o
}

/// rumqttc alone: publish `count` messages with at most `window` in flight.
async fn raw_pipelined(
    device: &str,
    port: u16,
    ca: &str,
    count: usize,
    window: u16,
    topic: String,
) {
    let (client, mut eventloop) = AsyncClient::new(
        raw_options(device, port, ca, window),
        (window as usize).max(10),
    );
    let publisher = tokio::spawn(async move {
        for _ in 0..count {
            client
                .publish(
                    topic.clone(),
                    QoS::AtLeastOnce,
                    false,
                    BODY.as_bytes().to_vec(),
                )
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    while acked < count {
        if let Event::Incoming(Packet::PubAck(_)) =
            eventloop.poll().await.expect("raw rumqttc connection")
        {
            acked += 1;
        }
    }
    let client = publisher.await.unwrap();
    client.disconnect().await.unwrap();
    while let Ok(ev) = eventloop.poll().await {
        if let Event::Outgoing(Outgoing::Disconnect) = ev {
            break;
        }
    }
}

/// rumqttc alone, awaiting each PUBACK before publishing the next, in one task: the tightest
/// loop an application can write (no hand-off between tasks at all).
async fn raw_await(device: &str, port: u16, ca: &str, count: usize, topic: String) {
    let (client, mut eventloop) = AsyncClient::new(raw_options(device, port, ca, 1), 10);
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) =
            eventloop.poll().await.expect("raw rumqttc connection")
        {
            break;
        }
    }
    for _ in 0..count {
        client
            .try_publish(
                topic.clone(),
                QoS::AtLeastOnce,
                false,
                BODY.as_bytes().to_vec(),
            )
            .unwrap();
        loop {
            if let Event::Incoming(Packet::PubAck(_)) =
                eventloop.poll().await.expect("raw rumqttc connection")
            {
                break;
            }
        }
    }
}

fn main() {
    let a = args();
    let _broker;
    let (port, ca) = match (a.port, a.ca.clone()) {
        (Some(p), Some(ca)) => (p, ca),
        _ => {
            let dir = std::env::temp_dir().join(format!("iotsec-bench-{}", std::process::id()));
            let m = iotsec_testkit::Mosquitto::start(&dir).expect("start mosquitto");
            let r = (m.tls_port, m.pki.ca_cert.display().to_string());
            _broker = m;
            r
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let message = Message::new(BODY).security();
    let mut all = Vec::new();
    for _round in 0..a.rounds {
        for mode in &a.modes {
            let device = format!("bench-{mode}");
            let identity = iotsec::Identity::device(&device).unwrap();
            let topic = iotsec::topic::telemetry_topic(&identity, &message).unwrap();
            let options = ClientOptions {
                port: Some(port),
                ca_file: Some(ca.clone().into()),
                max_in_flight: a.inflight,
                ..Default::default()
            };
            let outcome = match mode.as_str() {
                "raw-pipelined" => measure(mode, || {
                    rt.block_on(raw_pipelined(
                        &device, port, &ca, a.count, a.inflight, topic,
                    ))
                }),
                "raw-await" => measure(mode, || {
                    // A task on the runtime, as the `await` mode's loop: the worker the socket
                    // wakes for a PUBACK is the one that publishes the next message.
                    let (ca, n) = (ca.clone(), a.count);
                    rt.block_on(async move {
                        tokio::spawn(async move { raw_await(&device, port, &ca, n, topic).await })
                            .await
                            .unwrap()
                    })
                }),
                "await" | "pipelined" => {
                    let client = Client::from_connection_string(
                        &iotsec_testkit::test_connection_string(&device, None),
                        options,
                    )
                    .unwrap();
                    rt.block_on(client.connect()).unwrap();
                    let o = measure(mode, || {
                        rt.block_on(async {
                            if mode == "await" {
                                let (c, m, n) = (client.clone(), message.clone(), a.count);
                                // As a tokio user would: the loop is a task on a runtime.
                                tokio::spawn(async move {
                                    for _ in 0..n {
                                        c.send_message(&m).await.unwrap();
                                    }
                                })
                                .await
                                .unwrap();
                            } else {
                                let batch = vec![message.clone(); a.count];
                                for r in client.send_messages(&batch).await {
                                    r.unwrap();
                                }
                            }
                        })
                    });
                    rt.block_on(client.close());
                    o
                }
                "thread-await" | "thread-callback" => {
                    // A foreign caller: its own thread, no tokio context, so the session runs on
                    // iotsec's shared runtime, as for every language package.
                    let (mode, n, m) = (mode.clone(), a.count, message.clone());
                    std::thread::spawn(move || {
                        let client = Client::from_connection_string(
                            &iotsec_testkit::test_connection_string(&device, None),
                            options,
                        )
                        .unwrap();
                        client.connect_blocking().unwrap();
                        let o = measure(&mode, || {
                            if mode == "thread-await" {
                                for _ in 0..n {
                                    client.send_message_blocking(&m).unwrap();
                                }
                            } else {
                                // The C runner's loop: a completion callback signals a condvar.
                                use std::sync::{Arc, Condvar, Mutex};
                                let done = Arc::new((Mutex::new(0usize), Condvar::new()));
                                for i in 0..n {
                                    let d = done.clone();
                                    client
                                        .send_message_with(&m, move |r| {
                                            r.unwrap();
                                            *d.0.lock().unwrap() += 1;
                                            d.1.notify_one();
                                        })
                                        .unwrap();
                                    let mut g = done.0.lock().unwrap();
                                    while *g <= i {
                                        g = done.1.wait(g).unwrap();
                                    }
                                }
                            }
                        });
                        client.close_blocking();
                        o
                    })
                    .join()
                    .unwrap()
                }
                other => panic!("unknown mode {other}"),
            };
            all.push(outcome);
        }
    }
    // The median round of each mode: modes alternate within a round, so a burst of load on
    // this shared machine hits iotsec and its floor alike.
    let outcomes: Vec<Outcome> = a
        .modes
        .iter()
        .map(|mode| {
            let mut runs: Vec<&Outcome> = all.iter().filter(|o| &o.mode == mode).collect();
            runs.sort_by_key(|o| o.elapsed);
            let median = runs[runs.len() / 2];
            Outcome {
                mode: median.mode.clone(),
                elapsed: median.elapsed,
                cpu: median.cpu,
                switches: median.switches,
            }
        })
        .collect();
    let rate = |o: &Outcome| a.count as f64 / o.elapsed.as_secs_f64();
    let find = |m: &str| outcomes.iter().find(|o| o.mode == m).map(rate);
    for o in &outcomes {
        let floor = if o.mode.contains("pipelined") {
            find("raw-pipelined")
        } else {
            find("raw-await")
        };
        let ratio = floor.map(|f| rate(o) / f);
        let cpu_us = o.cpu.as_secs_f64() * 1e6 / a.count as f64;
        let switches = o.switches as f64 / a.count as f64;
        if a.json {
            println!(
                "{{\"mode\":\"{}\",\"count\":{},\"inflight\":{},\"seconds\":{:.4},\"msgs_per_sec\":{:.1},\"cpu_us_per_msg\":{:.2},\"switches_per_msg\":{:.2},\"ratio_to_raw\":{}}}",
                o.mode, a.count, a.inflight, o.elapsed.as_secs_f64(), rate(o), cpu_us, switches, ratio.map(|r| format!("{r:.3}")).unwrap_or("null".into())
            );
        } else {
            println!(
                "{:<16} {:>9.0} msg/s  {:>6.1} µs CPU/msg  {:>5.1} ctx sw/msg  {}",
                o.mode,
                rate(o),
                cpu_us,
                switches,
                ratio.map(|r| format!("{r:.2}x raw")).unwrap_or_default()
            );
        }
    }
}
