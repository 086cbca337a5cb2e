//! A real mosquitto on 127.0.0.1 for tests: TLS listener (certificates made at test time), a
//! TLS listener that requires a client certificate (X.509 devices), and a plain listener for
//! the recorder. Started as a child process and stopped by its PID when dropped.
//!
//! Restart tests (the soak, reconnect tests) start it with [`MosquittoOptions::persistence`]
//! and stop and start it again with [`Mosquitto::terminate`] / [`Mosquitto::kill`] and
//! [`Mosquitto::restart`]: the same ports, certificates and config, and with persistence on,
//! the same sessions (subscriptions and queued messages of `clean_session=false` clients).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iotsec_hub::pki::{self, PkiFiles};

/// How to start a [`Mosquitto`].
#[derive(Clone, Debug, Default)]
pub struct MosquittoOptions {
    /// Keep sessions (subscriptions, queued and in-flight QoS 1/2 messages of clients that
    /// connect with `clean_session=false`) in `DIR/persist/mosquitto.db`. mosquitto writes the
    /// file when it ends on SIGTERM (and every [`autosave_interval`](Self::autosave_interval)
    /// seconds), and reads it when it starts, so a subscriber misses nothing across a
    /// [`terminate`](Mosquitto::terminate) + [`restart`](Mosquitto::restart). After a SIGKILL only the last autosave
    /// survives.
    pub persistence: bool,
    /// With persistence: seconds between autosaves (0 = mosquitto's default, 1,800 s).
    pub autosave_interval: u32,
}

/// A running mosquitto.
pub struct Mosquitto {
    child: Option<Child>,
    config_file: PathBuf,
    /// Directory holding config, certificates and the log.
    pub dir: PathBuf,
    /// TLS port (server certificate for `localhost` / `127.0.0.1`).
    pub tls_port: u16,
    /// TLS port that requires a client certificate signed by the same CA.
    pub mtls_port: u16,
    /// Plain TCP port (the recorder subscribes here).
    pub plain_port: u16,
    /// The certificates; `pki.ca_cert` is what clients trust.
    pub pki: PkiFiles,
    /// A CA that signed nothing here: trusting it must make TLS fail.
    pub wrong_ca: PathBuf,
    /// mosquitto's log (client ids and usernames of every CONNECT appear here).
    pub log_file: PathBuf,
}

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port on 127.0.0.1")
}

fn mosquitto_binary() -> PathBuf {
    for candidate in ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"] {
        if Path::new(candidate).is_file() {
            return PathBuf::from(candidate);
        }
    }
    PathBuf::from("mosquitto")
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || std::fs::read_to_string("/proc/self/status")
            .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
            .unwrap_or(false)
}

impl Mosquitto {
    /// Makes certificates and a config in `dir`, starts mosquitto and waits until it listens.
    pub fn start(dir: &Path) -> std::io::Result<Mosquitto> {
        Mosquitto::start_with(dir, &MosquittoOptions::default())
    }

    /// [`Mosquitto::start`] with options (persistence).
    pub fn start_with(dir: &Path, options: &MosquittoOptions) -> std::io::Result<Mosquitto> {
        std::fs::create_dir_all(dir)?;
        let pki = pki::generate(&dir.join("pki"), "iotsec test CA", "x509-device").map_err(std::io::Error::other)?;
        let wrong = pki::generate(&dir.join("wrong-pki"), "unrelated CA", "nobody").map_err(std::io::Error::other)?;
        let (tls_port, mtls_port, plain_port) = (free_port(), free_port(), free_port());
        let log_file = dir.join("mosquitto.log");
        let _ = std::fs::remove_file(&log_file);
        // Root would otherwise drop to the `mosquitto` user, who cannot read these files.
        let user = if is_root() { "user root\n" } else { "" };
        let persistence = if options.persistence {
            let persist_dir = dir.join("persist");
            std::fs::create_dir_all(&persist_dir)?;
            let autosave = match options.autosave_interval {
                0 => String::new(),
                n => format!("autosave_interval {n}\n"),
            };
            // mosquitto wants the location to end with a slash.
            format!("persistence true\npersistence_location {}/\npersistence_file mosquitto.db\n{autosave}", persist_dir.display())
        } else {
            "persistence false\n".to_string()
        };
        let config = format!(
            "{user}per_listener_settings false\nallow_anonymous true\n{persistence}\
             log_dest file {log}\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
             connection_messages true\nset_tcp_nodelay true\nmax_inflight_messages 0\nmax_queued_messages 0\n\
             listener {plain_port} 127.0.0.1\n\
             listener {tls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n\
             listener {mtls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\ncafile {ca}\nrequire_certificate true\nuse_identity_as_username true\n",
            log = log_file.display(),
            cert = pki.server_cert.display(),
            key = pki.server_key.display(),
            ca = pki.ca_cert.display(),
        );
        let config_file = dir.join("mosquitto.conf");
        std::fs::write(&config_file, config)?;
        let mut m = Mosquitto {
            child: None,
            config_file,
            dir: dir.to_path_buf(),
            tls_port,
            mtls_port,
            plain_port,
            pki,
            wrong_ca: wrong.ca_cert,
            log_file,
        };
        m.spawn()?;
        Ok(m)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&self.config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start mosquitto (install it: scripts/install-deps.sh): {e}")))?;
        self.child = Some(child);
        self.wait_listening(Duration::from_secs(10))
    }

    fn wait_listening(&mut self, timeout: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let up = [self.plain_port, self.tls_port, self.mtls_port]
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if up {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().map(Child::try_wait).transpose()?.flatten() {
                self.child = None;
                let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(std::io::Error::other(format!("mosquitto exited ({status}) before listening:\n{}", tail.join("\n"))));
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!("mosquitto did not listen within {} s", timeout.as_secs())));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id (tests that restart the broker kill it by this); 0 while stopped.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Whether mosquitto runs (was started and has not been stopped or died).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Stops mosquitto with SIGTERM (by PID) and waits for it to exit. With persistence on,
    /// mosquitto writes its sessions and queued messages to disk before it exits, so a
    /// [`restart`](Self::restart) loses nothing it had acknowledged. Falls back to SIGKILL
    /// after `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> std::io::Result<()> {
        let Some(child) = self.child.as_mut() else { return Ok(()) };
        let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).stderr(Stdio::null()).status()?;
        if !status.success() {
            // Already gone; reap it.
            let _ = child.wait();
            self.child = None;
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        loop {
            if child.try_wait()?.is_some() {
                self.child = None;
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(std::io::Error::other(format!("mosquitto did not exit within {} s of SIGTERM; killed", timeout.as_secs())));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts mosquitto again after [`terminate`](Self::terminate) or [`kill`](Self::kill):
    /// same config, ports and certificates (and, with persistence, the saved sessions).
    /// Waits until it listens. A running mosquitto is left alone.
    pub fn restart(&mut self) -> std::io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.child = None;
        self.spawn()
    }

    /// The `(client id, username)` of every CONNECT mosquitto logged so far.
    pub fn connections(&self) -> Vec<(String, String)> {
        let Ok(file) = std::fs::File::open(&self.log_file) else { return Vec::new() };
        BufReader::new(file).lines().map_while(Result::ok).filter_map(|l| parse_connect_line(&l)).collect()
    }

    /// Kills mosquitto (SIGKILL, by PID) and waits for it. Nothing is saved: with
    /// persistence on, a restart finds the sessions as of the last autosave.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `... New client connected from 127.0.0.1:5 as dev1 (p2, c0, k60, u'user').`
fn parse_connect_line(line: &str) -> Option<(String, String)> {
    let rest = line.split_once("New client connected from ")?.1;
    let rest = rest.split_once(" as ")?.1;
    let (client_id, flags) = rest.split_once(" (")?;
    let username = flags.split_once("u'").map(|(_, u)| u.trim_end_matches(").").trim_end_matches('\'').to_string()).unwrap_or_default();
    Some((client_id.to_string(), username))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_mosquitto_connect_lines() {
        let l = "1700000000: New client connected from 127.0.0.1:40000 as dev1/mod1 (p2, c0, k60, u'localhost/dev1/mod1/?api-version=2021-04-12&DeviceClientType=x').";
        assert_eq!(
            super::parse_connect_line(l),
            Some(("dev1/mod1".into(), "localhost/dev1/mod1/?api-version=2021-04-12&DeviceClientType=x".into()))
        );
        assert_eq!(super::parse_connect_line("1: New connection from 127.0.0.1:1 on port 2."), None);
    }
}
