//! The control-socket protocol between the host-side runtime (`moat
//! start|kill|state|wait ...`) and the sandbox (`moat boot`).
//!
//! A request and its response are each one frame on a Unix stream socket:
//! a little-endian `u32` length, then that many bytes of JSON. File
//! descriptors ride along with a frame's first byte as `SCM_RIGHTS`.
//! gVisor's counterpart is `runsc/boot/controller.go` over `pkg/urpc`.

pub mod frame;
pub mod launch;

use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

pub use frame::{recv_frame, send_frame, FrameError};

/// What the runtime asks of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Let the container's init run (`moat start`).
    Start,
    /// Deliver `signo` to the container's init, or with `all` to every
    /// process of the container (`moat kill [--all]`).
    Signal { signo: i32, all: bool },
    /// Deliver `signo` to process `pid` of the container (signals
    /// forwarded by a waiting `moat exec`).
    SignalProcess { pid: i32, signo: i32 },
    /// A signal the host's line discipline sent for the terminal of
    /// process `pid` (an exec'd process with `--tty`): delivered to the
    /// foreground group of that terminal inside, or for SIGHUP a hangup.
    SignalTerminal { pid: i32, signo: i32 },
    /// Block until the container's init has exited, then report how.
    Wait,
    /// Report the container's state as the sandbox sees it.
    State,
    /// Start a new process in the running container (`moat exec`). The
    /// frame carries its stdin, stdout and stderr, in that order; the
    /// answer is `Pid`.
    Exec(Box<ExecSpec>),
    /// Block until process `pid`, started by `Exec`, has exited; the
    /// answer is `Exited`.
    WaitPid { pid: i32 },
    /// List the container's processes; the answer is `Processes`.
    Processes,
    /// Stop every task from running application code (`moat pause`).
    Pause,
    /// Let them run again (`moat resume`).
    Resume,
    /// The container's resource use as its kernel counts it (`moat
    /// events`); the answer is `Stats`.
    Stats,
}

/// What the sandbox's kernel counts of the container's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// Application memory: the memory-file pages the container holds, in bytes.
    pub memory_usage: u64,
    /// The spec's memory limit, which the sentry enforces.
    pub memory_limit: Option<u64>,
    /// Processes killed for going over it.
    pub oom_kills: u64,
    /// Live processes in the container's pid namespace.
    pub pids: u64,
}

/// A process for `Exec`, complete: the runtime has already merged the
/// container's defaults (env, cwd, user) with the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// `process.terminal`: the three descriptors are one terminal (a
    /// host pty slave), which becomes the process's controlling terminal.
    #[serde(default)]
    pub terminal: bool,
    /// `process.capabilities`, by name (none: what the uid would hold).
    #[serde(default)]
    pub capabilities: Option<CapabilityNames>,
}

/// The five capability sets of an OCI process, as names (`CAP_KILL`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityNames {
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub bounding: Vec<String>,
    pub ambient: Vec<String>,
}

/// One process as the sandbox's kernel sees it (`moat ps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// `R` running application code, `S` in the kernel (a system call, a
    /// wait, paused), `Z` exited and not yet reaped.
    pub state: char,
    /// Creation time, in seconds since the Unix epoch.
    pub started: u64,
    /// CPU time of its application code, in milliseconds.
    pub cpu_ms: u64,
    pub cmdline: Vec<String>,
}

/// What the sandbox answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Ok,
    State(SandboxState),
    Exited(ExitStatus),
    /// The pid of a process started by `Exec`.
    Pid(i32),
    Processes(Vec<ProcessInfo>),
    Stats(SandboxStats),
    Error {
        message: String,
    },
}

/// The container as the sandbox sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SandboxState {
    /// Built, waiting for `Start`.
    Created,
    /// The init process runs.
    Running,
    /// Started, and paused: no task runs application code.
    Paused,
    /// The init process has exited.
    Stopped(ExitStatus),
}

/// How a container's init process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    /// `exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl ExitStatus {
    /// The status a shell would report: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c & 0xff,
            ExitStatus::Signal(s) => 128 + s,
        }
    }
}

/// Errors of a control-socket call, naming the socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot connect to the sandbox's control socket {path}: {source} (is the sandbox still running?)")]
    Connect {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("control socket {path}: {source}")]
    Frame {
        path: String,
        #[source]
        source: FrameError,
    },
    #[error("the sandbox refused the request: {0}")]
    Refused(String),
}

/// A connection to a sandbox's control socket.
pub struct Client {
    stream: UnixStream,
    path: String,
}

/// The longest path a Unix socket address holds (`sun_path`, less the NUL).
const SUN_PATH_MAX: usize = 107;

/// Calls `f` with `path`, or, if it is too long for a socket address (as
/// under containerd's state directories: `/var/run/docker/runtime-runc/
/// moby/<64 hex digits>/control.sock`), with a short path naming the same
/// file through a descriptor of its directory, `/proc/self/fd/N/NAME`.
pub fn with_socket_path<T>(path: &Path, f: impl FnOnce(&Path) -> std::io::Result<T>) -> std::io::Result<T> {
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return f(path);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return f(path) };
    let dir = std::fs::File::open(dir)?;
    let short = Path::new("/proc/self/fd").join(std::os::fd::AsRawFd::as_raw_fd(&dir).to_string()).join(name);
    let r = f(&short);
    drop(dir);
    r
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, ControlError> {
        let stream = with_socket_path(path, |p| UnixStream::connect(p))
            .map_err(|source| ControlError::Connect { path: path.display().to_string(), source })?;
        Ok(Client { stream, path: path.display().to_string() })
    }

    /// Sends `req` (with `fds`) and returns the sandbox's answer; an
    /// `Error` answer becomes `ControlError::Refused`.
    pub fn call(&mut self, req: &Request, fds: &[OwnedFd]) -> Result<Response, ControlError> {
        let frame_err = |source| ControlError::Frame { path: self.path.clone(), source };
        send_frame(&self.stream, req, fds).map_err(frame_err)?;
        let (resp, _fds): (Response, _) = recv_frame(&self.stream).map_err(frame_err)?;
        match resp {
            Response::Error { message } => Err(ControlError::Refused(message)),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn long_socket_paths_work_through_the_directory() {
        let base = std::env::temp_dir().join(format!("moat-sock-{}", std::process::id()));
        let dir = base.join("d".repeat(100));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("control.sock");
        assert!(path.as_os_str().len() > SUN_PATH_MAX);
        assert!(UnixListener::bind(&path).is_err(), "the plain path should be too long");
        let listener = with_socket_path(&path, |p| UnixListener::bind(p)).unwrap();
        assert!(path.exists(), "the socket is at the long path");
        with_socket_path(&path, |p| UnixStream::connect(p)).unwrap();
        assert!(listener.accept().is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
