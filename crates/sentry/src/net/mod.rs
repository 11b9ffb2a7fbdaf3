//! The socket layer's non-Unix families (gVisor: `pkg/sentry/socket/{netstack,netlink}`).
//!
//! * `inet`: AF_INET and AF_INET6, with one sentry-wide port table (the
//!   sandbox is one network namespace). Between the sandbox's own
//!   addresses, connected TCP moves bytes through the same stream
//!   endpoints as Unix sockets (`fs::unix::Endpoint`) and no TCP state
//!   machine runs; with anyone else, through the network stack.
//! * The network stack (`netstack` crate, started here from the
//!   `--network=sandbox` interfaces boot took from the container's network
//!   namespace): smoltcp over the interface's `AF_PACKET` socket.
//! * `netlink`: NETLINK_ROUTE answering link, address and route dumps, so
//!   `getifaddrs()`, `ip addr` and `ip route` work.
//! * `iface`: the interfaces (`lo`, and the stack's card) as the ioctls
//!   and /proc/net see them.
//! * `hostinet` (`--network=host`): AF_INET and AF_INET6 sockets whose
//!   transport is a host socket the sentry drives; the interfaces and
//!   routes the application sees are the namespace's, read by boot.
//!
//! Unix-domain sockets stay in `fs::unix`; what the families share (the
//! socket options every family keeps, the description's flags) is here.

pub mod addr;
pub mod hostinet;
pub mod iface;
pub mod inet;
pub mod netlink;

use crate::fs::unix::UnixSocket;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

static STACK: OnceLock<Arc<netstack::Stack>> = OnceLock::new();

/// Starts the network stack on the sandbox's interfaces (`--network=sandbox`;
/// nothing to do when there are none). One per sandbox: the sandbox is one
/// network namespace.
pub fn start(cfg: netstack::NetConfig) {
    match netstack::Stack::start(cfg) {
        Ok(Some(stack)) => {
            if STACK.set(stack).is_err() {
                tracing::error!("a second network stack was started: ignored");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!("the network stack did not start ({e}): loopback only"),
    }
}

/// The network stack, when the sandbox has an interface besides `lo`.
pub fn stack() -> Option<&'static Arc<netstack::Stack>> {
    STACK.get()
}

/// `--network=host`: the sandbox's network namespace as boot read it
/// before confinement (every interface, `lo` included, and the main
/// table's routes), for `ip addr`, `getifaddrs` and the interface ioctls.
#[derive(Debug, Default, Clone)]
pub struct HostNetConfig {
    pub nics: Vec<HostNic>,
    pub routes: Vec<netstack::RouteConfig>,
}

/// One interface of the host's namespace.
#[derive(Debug, Clone)]
pub struct HostNic {
    pub name: String,
    pub index: u32,
    /// `IFF_*` as the host reports them.
    pub flags: u32,
    /// `ARPHRD_*`.
    pub arphrd: u16,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub addrs: Vec<(std::net::IpAddr, u8)>,
}

static HOST: OnceLock<HostNetConfig> = OnceLock::new();

/// Switches AF_INET/AF_INET6 sockets to host sockets (`--network=host`).
pub fn start_host(cfg: HostNetConfig) {
    for nic in &cfg.nics {
        let addrs: Vec<String> = nic.addrs.iter().map(|(ip, p)| format!("{ip}/{p}")).collect();
        tracing::info!(nic = nic.name, index = nic.index, addrs = ?addrs, "--network=host: interface");
    }
    if HOST.set(cfg).is_err() {
        tracing::error!("--network=host was configured twice: the second ignored");
    }
}

/// The host network, when inet sockets are host sockets.
pub fn host() -> Option<&'static HostNetConfig> {
    HOST.get()
}

/// The routes through the interfaces besides `lo`: the network stack's or
/// the host namespace's.
pub fn routes() -> Vec<netstack::RouteConfig> {
    if let Some(h) = host() {
        return h.routes.clone();
    }
    stack().map(|s| s.routes().to_vec()).unwrap_or_default()
}

/// A socket file, by family: what the socket syscalls dispatch on.
#[derive(Clone, Copy)]
pub enum SocketRef<'a> {
    Unix(&'a UnixSocket),
    Inet(&'a inet::InetFile),
    /// AF_INET/AF_INET6 over a host socket (`--network=host`).
    Host(&'a hostinet::HostSocket),
    Netlink(&'a netlink::NetlinkSocket),
}

/// SOL_SOCKET options that every family stores the same way. Timeouts are
/// honoured by the syscall layer; the others are recorded and read back.
#[derive(Clone, Copy, Debug, Default)]
pub struct SockOpts {
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
    pub keepalive: bool,
    /// `struct linger`: on/off and seconds.
    pub linger: (i32, i32),
    pub broadcast: bool,
    pub priority: i32,
    pub oobinline: bool,
}

impl SocketRef<'_> {
    /// The queue a blocked caller sleeps on.
    pub fn queue(&self) -> &crate::kernel::waiter::WaitQueue {
        match self {
            SocketRef::Unix(s) => &s.ep.queue,
            SocketRef::Inet(s) => s.sock.queue(),
            SocketRef::Host(s) => s.queue(),
            SocketRef::Netlink(s) => &s.queue,
        }
    }

    pub fn family(&self) -> u16 {
        match self {
            SocketRef::Unix(_) => crate::fs::unix::AF_UNIX,
            SocketRef::Inet(s) => s.sock.family,
            SocketRef::Host(s) => s.family,
            SocketRef::Netlink(_) => netlink::AF_NETLINK,
        }
    }

    /// `SOCK_STREAM`, `SOCK_DGRAM`...
    pub fn ty(&self) -> i32 {
        match self {
            SocketRef::Unix(s) => s.ep.ty,
            SocketRef::Inet(s) => s.sock.ty(),
            SocketRef::Host(s) => s.ty(),
            SocketRef::Netlink(s) => s.ty,
        }
    }

    /// Byte-stream sockets read across sends and take partial sends.
    pub fn is_stream(&self) -> bool {
        self.ty() == crate::fs::unix::SOCK_STREAM
    }

    pub fn common(&self) -> SockOpts {
        match self {
            SocketRef::Unix(s) => *s.opts.lock().unwrap_or_else(|e| e.into_inner()),
            SocketRef::Inet(s) => s.sock.common(),
            SocketRef::Host(s) => s.common(),
            SocketRef::Netlink(s) => s.common(),
        }
    }

    pub fn set_common(&self, f: impl FnOnce(&mut SockOpts)) {
        match self {
            SocketRef::Unix(s) => f(&mut s.opts.lock().unwrap_or_else(|e| e.into_inner())),
            SocketRef::Inet(s) => s.sock.set_common(f),
            SocketRef::Host(s) => s.set_common(f),
            SocketRef::Netlink(s) => s.set_common(f),
        }
    }
}

/// What fstat reports for a socket (`S_IFSOCK`, mode 0777), and its
/// /proc/self/fd link text.
pub fn socket_stat(ino: u64) -> abi::Stat {
    abi::Stat { mode: 0o140777, nlink: 1, ino, blksize: 4096, ..abi::Stat::default() }
}
pub fn socket_path(ino: u64) -> String {
    format!("socket:[{ino}]")
}
