//! `iotsec hub`, `iotsec hub add-device`, `iotsec hub stats`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use iotsec_hub::{running_hub_pid, Hub, HubConfig, Registry, Stats, Store, IOT_HUB_PORT};
use serde_json::json;

use crate::{CliError, CliResult};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct HubArgs {
    #[command(subcommand)]
    action: Option<HubAction>,

    #[command(flatten)]
    run: RunArgs,
}

impl HubArgs {
    /// Whether this runs the hub (rather than a management subcommand).
    pub fn runs_hub(&self) -> bool {
        self.action.is_none()
    }
}

#[derive(Args)]
struct DataDir {
    /// Where the hub keeps its registry, certificates and stores
    /// [default: IOTSEC_HUB_DATA_DIR, else $XDG_DATA_HOME/iotsec/hub, else ~/.local/share/iotsec/hub]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    data_dir: DataDir,

    /// MQTT over TLS port on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N", default_value_t = IOT_HUB_PORT)]
    port: u16,

    /// Also listen for plain MQTT (no TLS) on this port of 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N")]
    plain_port: Option<u16>,

    /// Once listening, write the ports, CA file and data directory to this file as JSON
    /// ({"tls_port", "plain_port", "ca_file", "data_dir", "pid", ...}).
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum HubAction {
    /// Register a device (or a module on it) and print its connection string.
    AddDevice {
        #[command(flatten)]
        data_dir: DataDir,

        /// The device id.
        #[arg(value_name = "DEVICE_ID")]
        device_id: String,

        /// Register this module on the device instead (the device is registered too if needed).
        #[arg(long, value_name = "MODULE_ID")]
        module: Option<String>,
    },
    /// Show what the hub stored: counts per store, duplicates, connections.
    Stats {
        #[command(flatten)]
        data_dir: DataDir,

        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// The data directory: `--data-dir`, else `IOTSEC_HUB_DATA_DIR`, else the user's data
/// directory, else `./.iotsec-hub`.
fn data_dir(arg: &DataDir) -> PathBuf {
    if let Some(d) = &arg.data_dir {
        return d.clone();
    }
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env("IOTSEC_HUB_DATA_DIR") {
        return d;
    }
    if let Some(d) = env("XDG_DATA_HOME") {
        return d.join("iotsec").join("hub");
    }
    if let Some(home) = env("HOME") {
        return home.join(".local").join("share").join("iotsec").join("hub");
    }
    PathBuf::from(".iotsec-hub")
}

pub(crate) fn run(args: HubArgs) -> CliResult {
    match args.action {
        None => run_hub(args.run),
        Some(HubAction::AddDevice { data_dir: dir, device_id, module }) => add_device(&data_dir(&dir), &device_id, module.as_deref()),
        Some(HubAction::Stats { data_dir: dir, json }) => stats(&data_dir(&dir), json),
    }
}

fn run_hub(args: RunArgs) -> CliResult {
    let dir = data_dir(&args.data_dir);
    let mut config = HubConfig::new(&dir).port(args.port);
    if let Some(p) = args.plain_port {
        config = config.plain_port(p);
    }
    let hub = Hub::start(config)?;
    if let Some(f) = &args.ready_file {
        hub.write_ready_file(f)?;
    }
    let info = hub.info();
    println!("iotsec hub: a local IoT Hub on 127.0.0.1:{} (MQTT over TLS)", info.tls_port);
    if let Some(p) = info.plain_port {
        println!("  plain MQTT:   127.0.0.1:{p}");
    }
    println!("  CA to trust:  {}  (IOTSEC_CA_FILE)", info.ca_file.display());
    println!("  data:         {}", info.data_dir.display());
    println!("  add a device: iotsec hub add-device --data-dir {} DEVICE_ID", info.data_dir.display());
    println!("  stop:         Ctrl-C (or SIGTERM)");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot wait for signals: {e}")))?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).map_err(|e| CliError::failed(format!("cannot handle SIGTERM: {e}")))?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        Ok::<(), CliError>(())
    })?;
    let stats = hub.stats();
    hub.stop();
    if let Some(f) = &args.ready_file {
        let _ = std::fs::remove_file(f);
    }
    println!(
        "iotsec hub: stopped ({} security events, {} dropped, {} telemetry, {} duplicates in all)",
        stats.security_events, stats.dropped_messages, stats.telemetry_messages, stats.duplicates
    );
    Ok(())
}

fn add_device(dir: &Path, device_id: &str, module: Option<&str>) -> CliResult {
    let credentials = Registry::open(dir)?.add_device(device_id, module)?;
    if !credentials.created() {
        eprintln!("iotsec: `{}` was registered already; its key is unchanged", credentials.identity());
    }
    println!("{}", credentials.connection_string());
    Ok(())
}

fn stats(dir: &Path, as_json: bool) -> CliResult {
    if !dir.is_dir() {
        return Err(CliError::failed(format!(
            "{} holds no hub data (start a hub there: iotsec hub --data-dir {})",
            dir.display(),
            dir.display()
        )));
    }
    let store = Store::new(dir);
    let counts = store.counts()?;
    let stats = Stats::load(dir)?;
    let running = running_hub_pid(dir);
    let devices = Registry::open(dir)?.identities().len();
    if as_json {
        println!(
            "{}",
            json!({
                "data_dir": dir,
                "running_pid": running,
                "registered": devices,
                "security_events": counts.security_events,
                "dropped_messages": counts.dropped_messages,
                "telemetry_messages": counts.telemetry_messages,
                "security_messages": stats.security_messages,
                "duplicates": stats.duplicates,
                "messages_received": stats.messages_received,
                "connections_accepted": stats.connections_accepted,
                "connections_refused": stats.connections_refused,
                "connections_closed_for_errors": stats.connections_closed_for_errors,
            })
        );
        return Ok(());
    }
    println!("hub data in {}", dir.display());
    match running {
        Some(pid) => println!("  running:            yes (pid {pid})"),
        None => println!("  running:            no"),
    }
    println!("  devices & modules:  {devices}");
    println!("  security events:    {:>8}   {}", counts.security_events, store.security_file().display());
    println!("  dropped messages:   {:>8}   {}  (security messages that break the schema)", counts.dropped_messages, store.dropped_file().display());
    println!("  telemetry messages: {:>8}   {}", counts.telemetry_messages, store.telemetry_file().display());
    println!("  duplicates:         {:>8}   (re-deliveries not stored again)", stats.duplicates);
    println!(
        "  connections:        {:>8} accepted, {} refused, {} closed for breaking the rules",
        stats.connections_accepted, stats.connections_refused, stats.connections_closed_for_errors
    );
    Ok(())
}
