//! How the runtime launches the two sandbox processes: the command lines of
//! the hidden `moat boot` and `moat gofer` subcommands, and the start-up
//! handshake on the sync socket. Both sides use these types, so the
//! command line is written in one place.
//!
//! Handshake on `--sync-fd` (a stream socketpair; the runtime holds the
//! other end):
//! 1. boot, already in its new PID namespace, joins the container's network
//!    namespace and (with `--network=sandbox`) takes its interfaces, then
//!    unshares user, mount, IPC, UTS and (but with `--network=host`)
//!    network namespaces, and writes
//!    [`SYNC_UNSHARED`];
//! 2. the runtime writes boot's `uid_map`/`gid_map` (65534 → 65534) and
//!    answers [`SYNC_MAPPED`];
//! 3. boot confines itself, builds the kernel from the spec and writes
//!    [`SYNC_READY`], or [`SYNC_FAILED`] followed by a UTF-8 error message,
//!    and closes the socket.

use std::path::PathBuf;

pub const SYNC_UNSHARED: u8 = b'U';
pub const SYNC_MAPPED: u8 = b'M';
pub const SYNC_READY: u8 = b'R';
pub const SYNC_FAILED: u8 = b'E';

/// The uid and gid the sandbox runs as, inside its user namespace and on
/// the host alike (`nobody`).
pub const SANDBOX_ID: u32 = 65534;

/// `--network`: how the container reaches the network (runsc's modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// The sandbox's own TCP/IP stack drives the interfaces of the
    /// container's network namespace through raw packet sockets; the host
    /// side keeps no address on them (the default, as in runsc).
    Sandbox,
    /// Loopback only.
    None,
    /// Application sockets are host sockets the sentry drives, in the
    /// namespace the sandbox runs in (runsc's hostinet).
    Host,
}

impl NetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Sandbox => "sandbox",
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
        }
    }

    /// Parses a mode, with the error the user sees (naming the flag).
    /// Every mode is supported now.
    pub fn parse_supported(s: &str) -> Result<NetworkMode, String> {
        s.parse()
    }
}

impl std::str::FromStr for NetworkMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sandbox" => Ok(NetworkMode::Sandbox),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            _ => Err(format!("--network={s}: unknown network mode (one of sandbox, none, host)")),
        }
    }
}

impl std::fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Arguments of `moat boot`.
#[derive(Debug, Clone, clap::Args)]
pub struct BootArgs {
    /// The bundle whose config.json describes the container.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The container id.
    #[arg(long)]
    pub id: String,
    /// Listening Unix socket for control requests.
    #[arg(long)]
    pub control_fd: i32,
    /// Connected socket to this container's gofer.
    #[arg(long)]
    pub gofer_fd: i32,
    /// The handshake socket (see the module docs).
    #[arg(long)]
    pub sync_fd: i32,
    /// A file in the state directory where the sandbox records the init's
    /// exit status (`Code N` / `Signal N`) before it exits.
    #[arg(long)]
    pub exit_fd: i32,
    /// Where log lines go; stderr of the sandbox belongs to the container.
    #[arg(long)]
    pub log_fd: Option<i32>,
    #[arg(long, default_value = "text")]
    pub log_format: String,
    #[arg(long)]
    pub debug: bool,
    /// Log every application syscall.
    #[arg(long)]
    pub strace: bool,
    #[arg(long, default_value = "ptrace")]
    pub platform: String,
    /// `sandbox`, `none` or `host`.
    #[arg(long, default_value = "sandbox")]
    pub network: String,
    /// runsc's `--overlay2` for the root: `root:memory` or `none`.
    #[arg(long, default_value = "root:memory")]
    pub overlay2: String,
}

impl BootArgs {
    /// The argument vector after `moat boot`.
    pub fn to_argv(&self) -> Vec<String> {
        let mut v = vec![
            format!("--bundle={}", self.bundle.display()),
            format!("--id={}", self.id),
            format!("--control-fd={}", self.control_fd),
            format!("--gofer-fd={}", self.gofer_fd),
            format!("--sync-fd={}", self.sync_fd),
            format!("--exit-fd={}", self.exit_fd),
            format!("--log-format={}", self.log_format),
            format!("--platform={}", self.platform),
            format!("--network={}", self.network),
            format!("--overlay2={}", self.overlay2),
        ];
        if let Some(fd) = self.log_fd {
            v.push(format!("--log-fd={fd}"));
        }
        if self.debug {
            v.push("--debug".into());
        }
        if self.strace {
            v.push("--strace".into());
        }
        v
    }
}

/// Arguments of `moat gofer`.
#[derive(Debug, Clone, clap::Args)]
pub struct GoferArgs {
    /// The bundle whose config.json names the root file system.
    #[arg(long)]
    pub bundle: PathBuf,
    /// Connected socket to the sandbox.
    #[arg(long)]
    pub sock_fd: i32,
    #[arg(long)]
    pub log_fd: Option<i32>,
    #[arg(long, default_value = "text")]
    pub log_format: String,
    #[arg(long)]
    pub debug: bool,
    /// runsc's `--overlay2`: unless `none`, the sentry never changes the
    /// root, and the gofer refuses any change to it (EROFS) itself.
    #[arg(long, default_value = "root:memory")]
    pub overlay2: String,
}

impl GoferArgs {
    /// The argument vector after `moat gofer`.
    pub fn to_argv(&self) -> Vec<String> {
        let mut v = vec![
            format!("--bundle={}", self.bundle.display()),
            format!("--sock-fd={}", self.sock_fd),
            format!("--log-format={}", self.log_format),
            format!("--overlay2={}", self.overlay2),
        ];
        if let Some(fd) = self.log_fd {
            v.push(format!("--log-fd={fd}"));
        }
        if self.debug {
            v.push("--debug".into());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        boot: BootArgs,
    }

    #[test]
    fn boot_args_round_trip() {
        let a = BootArgs {
            bundle: "/b".into(),
            id: "c1".into(),
            control_fd: 3,
            gofer_fd: 4,
            sync_fd: 5,
            exit_fd: 6,
            log_fd: Some(7),
            log_format: "json".into(),
            debug: true,
            strace: true,
            platform: "ptrace".into(),
            network: "sandbox".into(),
            overlay2: "none".into(),
        };
        let argv = std::iter::once("x".to_string()).chain(a.to_argv());
        let b = Wrap::parse_from(argv).boot;
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn network_modes() {
        for m in [NetworkMode::Sandbox, NetworkMode::None, NetworkMode::Host] {
            assert_eq!(m.as_str().parse::<NetworkMode>(), Ok(m));
        }
        assert_eq!(NetworkMode::parse_supported("none"), Ok(NetworkMode::None));
        assert_eq!(NetworkMode::parse_supported("sandbox"), Ok(NetworkMode::Sandbox));
        assert_eq!(NetworkMode::parse_supported("host"), Ok(NetworkMode::Host));
        let e = NetworkMode::parse_supported("bridge").unwrap_err();
        assert!(e.contains("--network=bridge") && e.contains("unknown network mode"), "{e}");
    }
}
