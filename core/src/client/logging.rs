//! An opt-in log on standard error for the language packages (`IOTSEC_LOG=trace`).
//!
//! iotsec logs through `tracing` (and its dependencies, rumqttc and rustls, through `log`).
//! A Rust program installs its own subscriber; Python, Node.js, Java, C# and C programs have
//! none, so their packages call [`init_logging_from_env`] when they load: with `IOTSEC_LOG`
//! set, every record (iotsec's, rumqttc's, rustls') goes to standard error, one line each.
//! Nothing is logged that contains a key, a SAS token or a signature, at any level.

/// The environment variable naming what to log: a level (`error`, `warn`, `info`, `debug`,
/// `trace`) or a `tracing` filter (`iotsec=debug,rumqttc=trace`). Unset or empty: nothing.
pub const ENV_LOG: &str = "IOTSEC_LOG";

/// Installs a log on standard error when `IOTSEC_LOG` is set. Does nothing (and returns
/// `false`) when it is unset or empty, when the process already has a `tracing` subscriber,
/// or on a second call. A filter that does not parse logs at `info` and says so.
pub fn init_logging_from_env() -> bool {
    use std::sync::OnceLock;
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let Some(spec) = std::env::var(ENV_LOG).ok().filter(|v| !v.trim().is_empty()) else {
            return false;
        };
        let (filter, bad) = match tracing_subscriber::EnvFilter::try_new(spec.trim()) {
            Ok(f) => (f, false),
            Err(_) => (tracing_subscriber::EnvFilter::new("info"), true),
        };
        let installed = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_thread_names(true)
            .try_init()
            .is_ok();
        if installed && bad {
            tracing::warn!("{ENV_LOG}=`{spec}` is not a level or filter; logging at info");
        }
        installed
    })
}
