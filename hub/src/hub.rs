//! [`Hub`]: a running local hub (listeners, registry, stores), started in-process.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::error::HubError;
use crate::pipeline::{Pipeline, DEFAULT_DEDUPE_WINDOW};
use crate::pki::{self, PkiFiles};
use crate::registry::{DeviceCredentials, Registry};
use crate::server::{accept_loop, Shared};
use crate::stats::{Counters, Stats};
use crate::store::{Store, StoreWriter};

/// The port devices use for IoT Hub (MQTT over TLS), the default of `iotsec hub`.
pub const IOT_HUB_PORT: u16 = 8883;

/// The pid file that marks a data directory in use.
pub const PID_FILE: &str = "hub.pid";

/// How to start a [`Hub`].
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Where the registry, certificates, stores and stats live (created if missing).
    pub data_dir: PathBuf,
    /// TLS port on 127.0.0.1; 0 picks a free one ([`Hub::tls_port`] tells which).
    pub port: u16,
    /// A plain TCP port on 127.0.0.1 as well, if set (0 picks a free one).
    pub plain_port: Option<u16>,
    /// How many recent messages the duplicate check remembers (0 turns it off).
    pub dedupe_window: usize,
    /// Threads serving connections.
    pub worker_threads: usize,
}

impl HubConfig {
    /// A hub keeping its files in `data_dir`, on a free TLS port, without a plain port.
    pub fn new(data_dir: impl Into<PathBuf>) -> HubConfig {
        HubConfig { data_dir: data_dir.into(), port: 0, plain_port: None, dedupe_window: DEFAULT_DEDUPE_WINDOW, worker_threads: 2 }
    }

    /// This config with TLS port `port` (0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// This config with a plain TCP listener on `port` (0: a free one).
    pub fn plain_port(mut self, port: u16) -> Self {
        self.plain_port = Some(port);
        self
    }
}

/// Where a running hub listens: the content of the ready file (`iotsec hub --ready-file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubInfo {
    /// TLS port on 127.0.0.1.
    pub tls_port: u16,
    /// Plain TCP port on 127.0.0.1, if any.
    pub plain_port: Option<u16>,
    /// The CA certificate (PEM) clients must trust.
    pub ca_file: PathBuf,
    /// The data directory (absolute).
    pub data_dir: PathBuf,
    /// The process running the hub.
    pub pid: u32,
    /// The host name devices use (`HostName=` of their connection strings).
    pub host_name: String,
    /// The store directory (`security.jsonl`, `dropped.jsonl`, `telemetry.jsonl`).
    pub store_dir: PathBuf,
}

/// A local IoT Hub running in this process.
///
/// ```no_run
/// use iotsec_hub::{Hub, HubConfig};
/// let hub = Hub::start(HubConfig::new("/tmp/my-hub")).unwrap();
/// let device = hub.add_device("dev1", None).unwrap();
/// // connect with device.connection_string(), trusting hub.ca_file(), to port hub.tls_port()
/// let events = hub.store().security_records().unwrap();
/// hub.stop();
/// ```
pub struct Hub {
    info: HubInfo,
    shared: Arc<Shared>,
    store: Store,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: watch::Sender<bool>,
    stats_saved: Arc<Mutex<Stats>>,
}

impl Hub {
    /// Starts a hub: makes the certificates on first start, opens the registry and stores,
    /// binds its listeners on 127.0.0.1 and returns once they accept connections.
    pub fn start(config: HubConfig) -> Result<Hub, HubError> {
        let HubConfig { data_dir, port, plain_port, dedupe_window, worker_threads } = config;
        std::fs::create_dir_all(&data_dir).map_err(HubError::io(format!("cannot create {}", data_dir.display())))?;
        let data_dir = data_dir.canonicalize().map_err(HubError::io(format!("cannot resolve {}", data_dir.display())))?;
        claim(&data_dir)?;
        let started = Self::start_claimed(data_dir.clone(), port, plain_port, dedupe_window, worker_threads);
        if started.is_err() {
            release(&data_dir);
        }
        started
    }

    fn start_claimed(
        data_dir: PathBuf,
        port: u16,
        plain_port: Option<u16>,
        dedupe_window: usize,
        worker_threads: usize,
    ) -> Result<Hub, HubError> {
        let pki_dir = data_dir.join("pki");
        let pki = match pki::existing(&pki_dir) {
            Some(files) => files,
            None => pki::generate(&pki_dir, "iotsec local hub CA", "iotsec-x509-device").map_err(|e| HubError::Pki(e.to_string()))?,
        };
        let tls = TlsAcceptor::from(server_config(&pki)?);
        let registry = Registry::open(&data_dir)?;
        let host_name = registry.host_name();
        let store = Store::new(&data_dir);
        let writer = StoreWriter::open(&store)?;
        let counters = Arc::new(Counters::from_stats(&Stats::load(&data_dir)?));
        let shared = Arc::new(Shared {
            registry,
            pipeline: Pipeline::new(writer, counters.clone(), dedupe_window),
            counters,
            sessions: Mutex::new(Default::default()),
            next_id: AtomicU64::new(1),
        });

        let tls_listener = bind(port, "TLS")?;
        let plain_listener = plain_port.map(|p| bind(p, "plain")).transpose()?;
        let local_port = |l: &std::net::TcpListener| l.local_addr().map(|a| a.port()).unwrap_or(0);
        let info = HubInfo {
            tls_port: local_port(&tls_listener),
            plain_port: plain_listener.as_ref().map(local_port),
            ca_file: pki.ca_cert.clone(),
            data_dir: data_dir.clone(),
            pid: std::process::id(),
            host_name,
            store_dir: store.dir().to_path_buf(),
        };

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("iotsec-hub")
            .enable_all()
            .build()
            .map_err(HubError::io("cannot start the hub's threads"))?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        {
            let _context = runtime.enter();
            let tls_listener = tokio::net::TcpListener::from_std(tls_listener).map_err(HubError::io("cannot listen"))?;
            runtime.spawn(accept_loop(tls_listener, Some(tls), shared.clone(), shutdown_rx.clone()));
            if let Some(plain) = plain_listener {
                let plain = tokio::net::TcpListener::from_std(plain).map_err(HubError::io("cannot listen"))?;
                runtime.spawn(accept_loop(plain, None, shared.clone(), shutdown_rx.clone()));
            }
        }
        let stats_saved = Arc::new(Mutex::new(shared.counters.snapshot()));
        runtime.spawn(save_stats_periodically(shared.clone(), data_dir.clone(), stats_saved.clone(), shutdown_rx));
        tracing::info!(
            tls_port = info.tls_port,
            plain_port = ?info.plain_port,
            data_dir = %data_dir.display(),
            "local IoT Hub listening on 127.0.0.1"
        );
        Ok(Hub { info, shared, store, runtime: Some(runtime), shutdown, stats_saved })
    }

    /// The TLS port on 127.0.0.1.
    pub fn tls_port(&self) -> u16 {
        self.info.tls_port
    }

    /// The plain TCP port on 127.0.0.1, if the hub has one.
    pub fn plain_port(&self) -> Option<u16> {
        self.info.plain_port
    }

    /// The CA certificate (PEM file) that signed the hub's server certificate.
    pub fn ca_file(&self) -> &Path {
        &self.info.ca_file
    }

    /// The data directory (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.info.data_dir
    }

    /// The host name devices use (`localhost`).
    pub fn host_name(&self) -> &str {
        &self.info.host_name
    }

    /// Ports, CA and paths, as written to the ready file.
    pub fn info(&self) -> &HubInfo {
        &self.info
    }

    /// Writes [`Hub::info`] as JSON to `path` (atomically: readers never see half a file).
    pub fn write_ready_file(&self, path: &Path) -> Result<(), HubError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(HubError::io(format!("cannot create {}", parent.display())))?;
        }
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(&self.info).map_err(|e| HubError::InvalidArgument(e.to_string()))?;
        std::fs::write(&tmp, json).map_err(HubError::io(format!("cannot write {}", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(HubError::io(format!("cannot write {}", path.display())))
    }

    /// The device registry.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// Registers a device (or a module on it) and returns its credentials; see
    /// [`Registry::add_device`].
    pub fn add_device(&self, device_id: &str, module_id: Option<&str>) -> Result<DeviceCredentials, HubError> {
        self.shared.registry.add_device(device_id, module_id)
    }

    /// The stores, to read what the hub received.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops listening, closes every connection and saves the counters.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let Some(runtime) = self.runtime.take() else { return };
        let _ = self.shutdown.send(true);
        // Inside an async context a runtime cannot wait for its threads.
        if tokio::runtime::Handle::try_current().is_ok() {
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
        save_stats(&self.shared, &self.info.data_dir, &self.stats_saved);
        release(&self.info.data_dir);
        tracing::info!(data_dir = %self.info.data_dir.display(), "local IoT Hub stopped");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("info", &self.info).finish_non_exhaustive()
    }
}

fn bind(port: u16, what: &str) -> Result<std::net::TcpListener, HubError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = std::net::TcpListener::bind(address).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            HubError::InvalidArgument(format!("the {what} port {port} on 127.0.0.1 is in use; pick another (0 = any free port)"))
        } else {
            HubError::io(format!("cannot listen on {address}"))(e)
        }
    })?;
    listener.set_nonblocking(true).map_err(HubError::io("cannot listen"))?;
    Ok(listener)
}

fn server_config(pki: &PkiFiles) -> Result<Arc<rustls::ServerConfig>, HubError> {
    use std::io::BufReader;
    let open = |p: &Path| std::fs::File::open(p).map(BufReader::new).map_err(HubError::io(format!("cannot read {}", p.display())));
    let certs = rustls_pemfile::certs(&mut open(&pki.server_cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| HubError::Pki(format!("{}: {e}", pki.server_cert.display())))?;
    let key = rustls_pemfile::private_key(&mut open(&pki.server_key)?)
        .map_err(|e| HubError::Pki(format!("{}: {e}", pki.server_key.display())))?
        .ok_or_else(|| HubError::Pki(format!("{} holds no private key", pki.server_key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| HubError::Pki(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| HubError::Pki(format!("{}: {e}", pki.server_cert.display())))?;
    Ok(Arc::new(config))
}

async fn save_stats_periodically(shared: Arc<Shared>, data_dir: PathBuf, saved: Arc<Mutex<Stats>>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        save_stats(&shared, &data_dir, &saved);
    }
}

fn save_stats(shared: &Shared, data_dir: &Path, saved: &Mutex<Stats>) {
    let now = shared.counters.snapshot();
    let mut last = saved.lock().unwrap_or_else(|p| p.into_inner());
    if *last != now || !data_dir.join(crate::stats::STATS_FILE).exists() {
        match now.save(data_dir) {
            Ok(()) => *last = now,
            Err(e) => tracing::warn!("cannot save the hub's counters: {e}"),
        }
    }
}

/// The pid of a live hub process using `data_dir`, other than this one.
pub fn running_hub_pid(data_dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(data_dir.join(PID_FILE)).ok()?.trim().parse().ok()?;
    let alive = if cfg!(target_os = "linux") { Path::new(&format!("/proc/{pid}")).exists() } else { true };
    (alive && pid != std::process::id()).then_some(pid)
}

fn claim(data_dir: &Path) -> Result<(), HubError> {
    if let Some(pid) = running_hub_pid(data_dir) {
        return Err(HubError::AlreadyRunning { pid, data_dir: data_dir.to_path_buf() });
    }
    let path = data_dir.join(PID_FILE);
    std::fs::write(&path, std::process::id().to_string()).map_err(HubError::io(format!("cannot write {}", path.display())))
}

fn release(data_dir: &Path) {
    let path = data_dir.join(PID_FILE);
    let ours = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok()) == Some(std::process::id());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}
