//! The runtime's error type.

use crate::status::{Action, Status};
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("cannot {action} container {id}: it is {status}")]
    WrongStatus { id: String, action: Action, status: Status },
    #[error("container {0} is {1}; stop it or use --force")]
    StillRunning(String, Status),
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Spec { path: PathBuf, message: String },
    /// A command line that cannot be acted on.
    #[error("{0}")]
    Usage(String),
    #[error("{0} not supported yet")]
    Unsupported(String),
    #[error("container {id}: the sandbox failed to start: {message}")]
    SandboxStart { id: String, message: String },
    #[error("container {id}: {source}")]
    Control {
        id: String,
        #[source]
        source: control::ControlError,
    },
    #[error("container {id}: the sandbox answered {answer} to {request}")]
    Protocol { id: String, request: &'static str, answer: String },
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A `linux.resources` value the kernel refused.
    #[error("{field} = {value:?}: cannot write it to {path}: {source}")]
    CgroupSetting {
        field: &'static str,
        value: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{stage} hook {index} ({path}) failed: {message}")]
    Hook { stage: &'static str, index: usize, path: String, message: String },
    #[error("corrupt state file {path}: {source}")]
    CorruptState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// An `Io` error about `path`, for `map_err`.
    pub fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
        move |source| Error::Io { op, path: path.to_path_buf(), source }
    }

    /// A `Sys` error about what was being done, for `map_err`.
    pub fn sys<E: Into<std::io::Error>>(what: impl Into<String>) -> impl FnOnce(E) -> Error {
        let what = what.into();
        move |e| Error::Sys { what, source: e.into() }
    }
}
