//! The device registry: devices and modules with their shared access keys, kept in
//! `DATA_DIR/registry.json`.
//!
//! Like IoT Hub's identity registry, each device (and each module on a device) has a generated
//! 256-bit key; a device proves who it is with a SAS token signed by that key. `iotsec hub
//! add-device` writes the file from another process while a hub runs, so the hub re-reads it
//! whenever it changed on disk. Writers take a lock file and replace the file atomically.
//!
//! The file holds keys: it is created readable by its owner only, and nothing here prints a
//! key except [`DeviceCredentials::connection_string`], which exists to print one on purpose.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use iotsec::sas::SharedAccessKey;
use iotsec::Identity;
use serde::{Deserialize, Serialize};

use crate::error::HubError;

/// The registry's file name inside the data directory.
pub const REGISTRY_FILE: &str = "registry.json";

/// The host name the hub answers to (connection strings say `HostName=localhost`).
pub const DEFAULT_HOST_NAME: &str = "localhost";

/// Bytes in a generated key (IoT Hub's keys are 256-bit too).
const KEY_BYTES: usize = 32;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RegistryData {
    #[serde(default = "default_host_name")]
    host_name: String,
    #[serde(default)]
    devices: BTreeMap<String, DeviceEntry>,
}

fn default_host_name() -> String {
    DEFAULT_HOST_NAME.to_string()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DeviceEntry {
    primary_key: String,
    created_at: String,
    #[serde(default)]
    modules: BTreeMap<String, ModuleEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ModuleEntry {
    primary_key: String,
    created_at: String,
}

/// The file's modification time and length when it was last read.
type Stamp = Option<(SystemTime, u64)>;

struct Cached {
    data: RegistryData,
    stamp: Stamp,
}

/// The device registry of one data directory.
pub struct Registry {
    path: PathBuf,
    lock_path: PathBuf,
    cache: Mutex<Cached>,
}

/// A registered device or module and its key: what a connection string is made of.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCredentials {
    identity: Identity,
    host_name: String,
    key: SharedAccessKey,
    created: bool,
}

impl DeviceCredentials {
    /// The device or module.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The hub's host name (`localhost`).
    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// The shared access key.
    pub fn key(&self) -> &SharedAccessKey {
        &self.key
    }

    /// Whether [`Registry::add_device`] created it just now (`false`: it was registered already
    /// and keeps its key).
    pub fn created(&self) -> bool {
        self.created
    }

    /// `HostName=localhost;DeviceId=d[;ModuleId=m];SharedAccessKey=...`. It contains the key:
    /// print it only where the user asked for it.
    pub fn connection_string(&self) -> String {
        let module = self.identity.module_id().map(|m| format!(";ModuleId={m}")).unwrap_or_default();
        format!(
            "HostName={};DeviceId={}{module};SharedAccessKey={}",
            self.host_name,
            self.identity.device_id(),
            self.key.to_base64()
        )
    }

    /// The connection string with the key replaced by `<redacted>`, for logs and demos.
    pub fn redacted_connection_string(&self) -> String {
        let module = self.identity.module_id().map(|m| format!(";ModuleId={m}")).unwrap_or_default();
        format!("HostName={};DeviceId={}{module};SharedAccessKey=<redacted>", self.host_name, self.identity.device_id())
    }
}

impl fmt::Debug for DeviceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCredentials")
            .field("identity", &self.identity)
            .field("host_name", &self.host_name)
            .field("key", &"<redacted>")
            .field("created", &self.created)
            .finish()
    }
}

impl Registry {
    /// The registry of `data_dir` (created if missing; the file is written on the first
    /// [`Registry::add_device`]).
    pub fn open(data_dir: &Path) -> Result<Registry, HubError> {
        std::fs::create_dir_all(data_dir).map_err(HubError::io(format!("cannot create {}", data_dir.display())))?;
        let path = data_dir.join(REGISTRY_FILE);
        let (data, stamp) = read(&path)?;
        Ok(Registry { lock_path: data_dir.join("registry.lock"), path, cache: Mutex::new(Cached { data, stamp }) })
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The host name devices must use in their user name and SAS tokens.
    pub fn host_name(&self) -> String {
        self.refreshed().data.host_name.clone()
    }

    /// Registers `device_id` (and `module_id` on it, registering the device too if needed) with
    /// a new random key. Registering again is not an error: the existing key is returned
    /// (with [`DeviceCredentials::created`] false), so scripts can run it repeatedly.
    pub fn add_device(&self, device_id: &str, module_id: Option<&str>) -> Result<DeviceCredentials, HubError> {
        let identity = match module_id {
            None => Identity::device(device_id)?,
            Some(m) => Identity::module(device_id, m)?,
        };
        let _lock = FileLock::acquire(&self.lock_path)?;
        // Another process may have written since we last looked.
        let (mut data, _) = read(&self.path)?;
        let now = now_rfc3339();
        let device = data.devices.entry(identity.device_id().to_string()).or_insert_with(|| DeviceEntry {
            primary_key: String::new(),
            created_at: now.clone(),
            modules: BTreeMap::new(),
        });
        let mut created = false;
        if device.primary_key.is_empty() {
            device.primary_key = random_key()?.to_base64();
            created = true;
        }
        let mut changed = created;
        let mut key = device.primary_key.clone();
        if let Some(m) = identity.module_id() {
            let module = device
                .modules
                .entry(m.to_string())
                .or_insert_with(|| ModuleEntry { primary_key: String::new(), created_at: now.clone() });
            created = module.primary_key.is_empty();
            if created {
                module.primary_key = random_key()?.to_base64();
                changed = true;
            }
            key = module.primary_key.clone();
        }
        if changed {
            write(&self.path, &data)?;
        }
        let host_name = data.host_name.clone();
        let stamp = stamp_of(&self.path);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Cached { data, stamp };
        let key = SharedAccessKey::from_base64(&key).map_err(|_| HubError::corrupt(&self.path, "a key is not base64"))?;
        Ok(DeviceCredentials { identity, host_name, key, created })
    }

    /// The credentials of a registered device or module, `None` if it is not registered. The
    /// file is re-read first if it changed on disk.
    pub fn credentials(&self, identity: &Identity) -> Option<DeviceCredentials> {
        let cached = self.refreshed();
        let device = cached.data.devices.get(identity.device_id())?;
        let key = match identity.module_id() {
            None => &device.primary_key,
            Some(m) => &device.modules.get(m)?.primary_key,
        };
        let key = SharedAccessKey::from_base64(key).ok()?;
        Some(DeviceCredentials { identity: identity.clone(), host_name: cached.data.host_name.clone(), key, created: false })
    }

    /// Every registered device and module, devices first in name order, each followed by its
    /// modules.
    pub fn identities(&self) -> Vec<Identity> {
        let cached = self.refreshed();
        let mut out = Vec::new();
        for (device_id, device) in &cached.data.devices {
            if let Ok(d) = Identity::device(device_id.as_str()) {
                out.push(d);
            }
            for module_id in device.modules.keys() {
                if let Ok(m) = Identity::module(device_id.as_str(), module_id.as_str()) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// The cache, re-read from disk if the file changed (a bad file keeps the last good copy).
    fn refreshed(&self) -> std::sync::MutexGuard<'_, Cached> {
        let mut cached = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = stamp_of(&self.path);
        if stamp != cached.stamp {
            match read(&self.path) {
                Ok((data, stamp)) => *cached = Cached { data, stamp },
                Err(e) => tracing::warn!("keeping the registry read earlier: {e}"),
            }
        }
        cached
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("path", &self.path).finish_non_exhaustive()
    }
}

fn stamp_of(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn read(path: &Path) -> Result<(RegistryData, Stamp), HubError> {
    let stamp = stamp_of(path);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((RegistryData { host_name: default_host_name(), devices: BTreeMap::new() }, None))
        }
        Err(e) => return Err(HubError::io(format!("cannot read {}", path.display()))(e)),
    };
    let data: RegistryData = serde_json::from_str(&text).map_err(|e| HubError::corrupt(path, format!("not a registry file: {e}")))?;
    Ok((data, stamp))
}

fn write(path: &Path, data: &RegistryData) -> Result<(), HubError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(data).map_err(|e| HubError::corrupt(path, e))?;
    write_private(&tmp, &text).map_err(HubError::io(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(HubError::io(format!("cannot replace {}", path.display())))
}

/// Writes a file readable by its owner only (it holds keys).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A 256-bit key from the operating system's random number generator (through ring).
fn random_key() -> Result<SharedAccessKey, HubError> {
    let mut bytes = vec![0u8; KEY_BYTES];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| HubError::InvalidArgument("the system's random number generator failed".into()))?;
    Ok(SharedAccessKey::from_bytes(bytes))
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A lock file (`create_new`), so two `add-device` runs do not overwrite each other. A lock
/// older than 30 s is left over from a crash and is taken over.
struct FileLock {
    path: PathBuf,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, HubError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(FileLock { path: path.to_path_buf() });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(30));
                    if stale {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if Instant::now() > deadline {
                        return Err(HubError::InvalidArgument(format!(
                            "{} is locked by another process for over 10 s",
                            path.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(HubError::io(format!("cannot create {}", path.display()))(e)),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_device_is_idempotent_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path()).unwrap();
        let a = r.add_device("dev1", None).unwrap();
        assert!(a.created());
        assert_eq!(a.key().to_base64().len(), 44, "32 bytes in base64");
        let again = r.add_device("dev1", None).unwrap();
        assert!(!again.created());
        assert_eq!(again.key(), a.key());
        let m = r.add_device("dev1", Some("mod1")).unwrap();
        assert!(m.created());
        assert_ne!(m.key(), a.key());
        assert!(m.connection_string().starts_with("HostName=localhost;DeviceId=dev1;ModuleId=mod1;SharedAccessKey="));

        let reopened = Registry::open(dir.path()).unwrap();
        assert_eq!(reopened.credentials(&Identity::device("dev1").unwrap()).unwrap().key(), a.key());
        assert_eq!(reopened.credentials(&Identity::module("dev1", "mod1").unwrap()).unwrap().key(), m.key());
        assert!(reopened.credentials(&Identity::device("dev2").unwrap()).is_none());
        assert_eq!(reopened.identities().len(), 2);
    }

    #[test]
    fn sees_devices_another_process_added() {
        let dir = tempfile::tempdir().unwrap();
        let hub_side = Registry::open(dir.path()).unwrap();
        let id = Identity::device("late").unwrap();
        assert!(hub_side.credentials(&id).is_none());
        let cli_side = Registry::open(dir.path()).unwrap();
        let added = cli_side.add_device("late", None).unwrap();
        assert_eq!(hub_side.credentials(&id).unwrap().key(), added.key());
    }

    #[test]
    fn refuses_bad_ids_by_name_and_never_prints_keys() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path()).unwrap();
        let e = r.add_device("a/b", None).unwrap_err().to_string();
        assert!(e.starts_with("DeviceId"), "{e}");
        let e = r.add_device("a", Some("")).unwrap_err().to_string();
        assert!(e.starts_with("ModuleId"), "{e}");
        let c = r.add_device("d", None).unwrap();
        let key = c.key().to_base64();
        assert!(!format!("{c:?}").contains(&key));
        assert!(!c.redacted_connection_string().contains(&key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(r.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "registry readable by others: {mode:o}");
        }
    }
}
