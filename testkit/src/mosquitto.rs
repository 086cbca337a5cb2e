//! A real mosquitto on 127.0.0.1 for tests: TLS listener (certificates made at test time), a
//! TLS listener that requires a client certificate (X.509 devices), and a plain listener for
//! the recorder. Started as a child process and stopped by its PID when dropped.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iotsec_hub::pki::{self, PkiFiles};

/// A running mosquitto.
pub struct Mosquitto {
    child: Child,
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
        std::fs::create_dir_all(dir)?;
        let pki = pki::generate(&dir.join("pki"), "iotsec test CA", "x509-device").map_err(std::io::Error::other)?;
        let wrong = pki::generate(&dir.join("wrong-pki"), "unrelated CA", "nobody").map_err(std::io::Error::other)?;
        let (tls_port, mtls_port, plain_port) = (free_port(), free_port(), free_port());
        let log_file = dir.join("mosquitto.log");
        let _ = std::fs::remove_file(&log_file);
        // Root would otherwise drop to the `mosquitto` user, who cannot read these files.
        let user = if is_root() { "user root\n" } else { "" };
        let config = format!(
            "{user}per_listener_settings false\nallow_anonymous true\npersistence false\n\
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
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start mosquitto (install it: scripts/install-deps.sh): {e}")))?;
        let mut m = Mosquitto { child, dir: dir.to_path_buf(), tls_port, mtls_port, plain_port, pki, wrong_ca: wrong.ca_cert, log_file };
        m.wait_listening(Duration::from_secs(10))?;
        Ok(m)
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
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
                return Err(std::io::Error::other(format!("mosquitto exited ({status}) before listening:\n{log}")));
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other("mosquitto did not listen within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id (tests that restart the broker kill it by this).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `(client id, username)` of every CONNECT mosquitto logged so far.
    pub fn connections(&self) -> Vec<(String, String)> {
        let Ok(file) = std::fs::File::open(&self.log_file) else { return Vec::new() };
        BufReader::new(file).lines().map_while(Result::ok).filter_map(|l| parse_connect_line(&l)).collect()
    }

    /// Kills mosquitto (SIGKILL, by PID) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
