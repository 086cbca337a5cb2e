//! The hub's error type.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong starting or using a hub. Messages name the file or argument at fault and
/// never contain a key or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the hub was doing (names the file or address).
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An argument is unusable (a device id with a `/`, a port already in use, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// A file in the data directory cannot be read as what it should be.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The certificates could not be made or loaded.
    #[error("certificates: {0}")]
    Pki(String),
    /// Another hub process is using the data directory.
    #[error("another hub (pid {pid}) is using {data_dir}; stop it first (or delete {data_dir}/hub.pid if no hub runs)")]
    AlreadyRunning {
        /// Its process id.
        pid: u32,
        /// The data directory.
        data_dir: PathBuf,
    },
}

impl HubError {
    /// An [`HubError::Io`] with `context`.
    pub(crate) fn io(context: impl fmt::Display) -> impl FnOnce(std::io::Error) -> HubError {
        let context = context.to_string();
        move |source| HubError::Io { context, source }
    }

    /// An [`HubError::Corrupt`] for `path`.
    pub(crate) fn corrupt(path: &Path, message: impl fmt::Display) -> HubError {
        HubError::Corrupt { path: path.to_path_buf(), message: message.to_string() }
    }
}

impl From<iotsec::Error> for HubError {
    fn from(e: iotsec::Error) -> Self {
        HubError::InvalidArgument(e.message().to_string())
    }
}
