//! `iotsec-testkit up --dir DIR`: starts mosquitto (TLS, mutual TLS and plain listeners on
//! 127.0.0.1) and a recorder, writes `DIR/env.json` (ports, CA and log paths, the recorder's
//! JSON Lines file) and runs until SIGTERM or SIGINT, then stops mosquitto (by its PID).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use iotsec_testkit::{Mosquitto, Recorder};

#[derive(Parser)]
#[command(name = "iotsec-testkit", about = "Start a real broker and a recorder for iotsec tests")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start mosquitto and the recorder; write DIR/env.json; run until told to stop.
    Up {
        /// Directory for config, certificates, logs and env.json.
        #[arg(long)]
        dir: PathBuf,
    },
}

fn main() {
    let Cli { command: Command::Up { dir } } = Cli::parse();
    if let Err(e) = up(dir) {
        eprintln!("iotsec-testkit: {e}");
        std::process::exit(1);
    }
}

fn up(dir: PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let mosquitto = Mosquitto::start(&dir.join("mosquitto"))?;
    let received = dir.join("received.jsonl");
    let _ = std::fs::remove_file(&received);
    let _recorder = Recorder::start(mosquitto.plain_port, Some(received.clone()))?;
    let env = serde_json::json!({
        "tls_port": mosquitto.tls_port,
        "mtls_port": mosquitto.mtls_port,
        "plain_port": mosquitto.plain_port,
        "ca_file": mosquitto.pki.ca_cert,
        "wrong_ca_file": mosquitto.wrong_ca,
        "client_cert": mosquitto.pki.client_cert,
        "client_key": mosquitto.pki.client_key,
        "log_file": mosquitto.log_file,
        "received_file": received,
        "mosquitto_pid": mosquitto.pid(),
        "testkit_pid": std::process::id(),
    });
    let tmp = dir.join("env.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&env)?)?;
    std::fs::rename(&tmp, dir.join("env.json"))?;
    println!("{env}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        std::io::Result::Ok(())
    })?;
    drop(mosquitto);
    Ok(())
}
