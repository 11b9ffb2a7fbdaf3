//! `--network=host`: AF_INET and AF_INET6 sockets whose transport is a host
//! socket the sentry made (gVisor: `pkg/sentry/socket/hostinet`). For users
//! who trade isolation for speed: the application's TCP and UDP run on the
//! host kernel's stack, in the network namespace the sandbox was started in.
//!
//! The socket layer stays the sentry's. The application's descriptor is a
//! sentry file description (its fd table, `dup`, `fork`, `SCM_RIGHTS` all
//! see a sentry object); the host descriptor behind it is non-blocking and
//! only ever seen by the sentry. Every call here is a single non-blocking
//! host call that answers at once; an `EAGAIN` goes back to the syscall
//! layer, which sleeps on the socket's wait queue the sentry way (signals,
//! `SO_RCVTIMEO`/`SO_SNDTIMEO`, which stay the sentry's own, poll, select
//! and epoll readiness). What wakes that queue is the **poller**: one
//! sentry thread in `epoll_wait` on an edge-triggered epoll set holding
//! every host socket, which notifies the socket's queue whenever the host
//! reports a change. Readiness itself is a zero-timeout host `poll`.
//!
//! What crosses to the host is checked first: addresses are parsed into
//! `sockaddr_in`/`sockaddr_in6` values and rebuilt (never passed as the
//! application's bytes), send and receive flags are an allowlist (with
//! `MSG_DONTWAIT` and `MSG_NOSIGNAL` always added: the sentry must never
//! block in, or take a `SIGPIPE` from, a host call), socket options are an
//! allowlist with the sizes they may carry ([`OPTIONS`]), and no ancillary
//! data is forwarded either way. Unix and netlink sockets stay the
//! sentry's own in every mode.

use super::SockOpts;
use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply};
use abi::{ioctl, Errno, Stat};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrAny, SocketFlags, SocketType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::addr::{AF_INET, AF_INET6};
const AF_UNSPEC: u16 = 0;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;

/// Send flags forwarded to the host: `MSG_OOB`, `MSG_DONTROUTE`,
/// `MSG_EOR`, `MSG_CONFIRM`, `MSG_MORE`. (`MSG_DONTWAIT`, `MSG_NOSIGNAL`
/// are the sentry's and always set on the host call.)
const SEND_FLAGS: u32 = 0x1 | 0x4 | 0x80 | 0x800 | 0x8000;
/// Receive flags forwarded: `MSG_OOB`, `MSG_PEEK`, `MSG_TRUNC`.
/// (`MSG_WAITALL` is gathered by the syscall layer from single reads.)
const RECV_FLAGS: u32 = 0x1 | 0x2 | 0x20;
/// Flags the syscall layer itself honours, which are not forwarded.
const SENTRY_FLAGS: u32 = 0x40 | 0x100 | 0x4000 | 0x1_0000 | 0x4000_0000;

/// The most one receive takes from a stream at a time (a short read, which
/// streams allow); datagrams are at most 64 KiB.
const RECV_MAX: usize = 1 << 20;

fn errno(e: rustix::io::Errno) -> Errno {
    Errno::new(e.raw_os_error())
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::new(e.raw_os_error().unwrap_or(Errno::EIO.into_raw()))
}

/// Logs once per `what`: flags or options the application asked for that
/// host sockets do not carry.
fn log_once(what: String) {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.contains(&what) {
        tracing::warn!("--network=host: {what} (logged once)");
        seen.push(what);
    }
}

/// The poller: one thread waiting on an edge-triggered epoll set of every
/// host socket, waking each socket's queue when the host says it changed.
struct Poller {
    epoll: OwnedFd,
    /// Every live host socket by its key (also what /proc/net lists).
    socks: Mutex<HashMap<u64, Weak<HostSocket>>>,
    next: AtomicU64,
}

fn poller() -> Result<&'static Poller, Errno> {
    static POLLER: OnceLock<Result<Poller, Errno>> = OnceLock::new();
    static STARTED: std::sync::Once = std::sync::Once::new();
    let p = POLLER
        .get_or_init(|| {
            use rustix::event::epoll;
            let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(errno)?;
            Ok(Poller { epoll, socks: Mutex::new(HashMap::new()), next: AtomicU64::new(1) })
        })
        .as_ref()
        .map_err(|e| *e)?;
    STARTED.call_once(|| {
        if let Err(e) = std::thread::Builder::new().name("hostinet".into()).spawn(move || p.run()) {
            tracing::error!("--network=host: the poller thread did not start ({e}): blocked sockets will not wake");
        }
    });
    Ok(p)
}

impl Poller {
    fn run(&self) {
        use rustix::event::epoll;
        let mut events = Vec::with_capacity(256);
        loop {
            events.clear();
            match epoll::wait(&self.epoll, rustix::buffer::spare_capacity(&mut events), None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    tracing::error!("--network=host: epoll_wait: {e}; the poller stops");
                    return;
                }
            }
            let woken: Vec<Arc<HostSocket>> = {
                let socks = self.socks.lock().unwrap_or_else(|e| e.into_inner());
                events.iter().filter_map(|ev| socks.get(&ev.data.u64()).and_then(Weak::upgrade)).collect()
            };
            for s in woken {
                s.queue.notify();
            }
        }
    }

    /// Watches `sock` for every change, edge-triggered (its key is
    /// already in it).
    fn add(&self, sock: &Arc<HostSocket>) -> Result<(), Errno> {
        use rustix::event::epoll;
        self.socks.lock().unwrap_or_else(|e| e.into_inner()).insert(sock.key, Arc::downgrade(sock));
        let flags = epoll::EventFlags::IN
            | epoll::EventFlags::OUT
            | epoll::EventFlags::PRI
            | epoll::EventFlags::RDHUP
            | epoll::EventFlags::ET;
        epoll::add(&self.epoll, &sock.fd, epoll::EventData::new_u64(sock.key), flags).map_err(errno)
    }

    fn remove(&self, fd: &OwnedFd, key: u64) {
        let _ = rustix::event::epoll::delete(&self.epoll, fd);
        self.socks.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
    }
}

/// Every live host socket, oldest first (for /proc/net).
pub fn sockets() -> Vec<Arc<HostSocket>> {
    let Some(p) = poller().ok() else { return Vec::new() };
    let socks = p.socks.lock().unwrap_or_else(|e| e.into_inner());
    let mut keys: Vec<u64> = socks.keys().copied().collect();
    keys.sort_unstable();
    keys.iter().filter_map(|k| socks.get(k).and_then(Weak::upgrade)).collect()
}

/// An address from the application, parsed (`sockaddr_in` needs 16 bytes,
/// `sockaddr_in6` 24, its scope id when 28 are given). `AF_UNSPEC` is
/// `None`: a datagram disconnect for connect, `INADDR_ANY` for an AF_INET
/// bind (as Linux takes it).
fn parse(raw: &[u8]) -> Result<Option<SocketAddr>, Errno> {
    if raw.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let port = |raw: &[u8]| u16::from_be_bytes([raw[2], raw[3]]);
    match u16::from_le_bytes([raw[0], raw[1]]) {
        AF_INET => {
            if raw.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
            Ok(Some(SocketAddr::V4(SocketAddrV4::new(ip, port(raw)))))
        }
        AF_INET6 => {
            if raw.len() < 24 {
                return Err(Errno::EINVAL);
            }
            let flow = u32::from_be_bytes(raw[4..8].try_into().unwrap());
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&raw[8..24]).unwrap());
            let scope = if raw.len() >= 28 { u32::from_le_bytes(raw[24..28].try_into().unwrap()) } else { 0 };
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(ip, port(raw), flow, scope))))
        }
        AF_UNSPEC => Ok(None),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// A host address as the application reads it.
pub fn sockaddr_bytes(a: &SocketAddr) -> Vec<u8> {
    let mut b = Vec::with_capacity(28);
    match a {
        SocketAddr::V4(v4) => {
            b.extend_from_slice(&AF_INET.to_le_bytes());
            b.extend_from_slice(&v4.port().to_be_bytes());
            b.extend_from_slice(&v4.ip().octets());
            b.extend_from_slice(&[0; 8]);
        }
        SocketAddr::V6(v6) => {
            b.extend_from_slice(&AF_INET6.to_le_bytes());
            b.extend_from_slice(&v6.port().to_be_bytes());
            b.extend_from_slice(&v6.flowinfo().to_be_bytes());
            b.extend_from_slice(&v6.ip().octets());
            b.extend_from_slice(&v6.scope_id().to_le_bytes());
        }
    }
    b
}

fn any_bytes(a: SocketAddrAny) -> Option<Vec<u8>> {
    SocketAddr::try_from(a).ok().map(|a| sockaddr_bytes(&a))
}

/// How a forwarded option's value looks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Val {
    /// An `int`, read and written.
    Int,
    /// An `int` that can only be read.
    IntGet,
    /// A structure of at most this many bytes, read and written.
    Bytes(usize),
    /// A structure of at most this many bytes that can only be read.
    BytesGet(usize),
}

const SOL_SOCKET: i32 = 1;
const SOL_IP: i32 = 0;
const SOL_TCP: i32 = 6;
const SOL_IPV6: i32 = 41;

/// The options forwarded to the host socket: (level, name, value, name for
/// the log). Timeouts are not here (the sentry keeps them: they bound its
/// own sleeps), nor `SO_PEERCRED` (the host's pid and uids mean nothing
/// inside), nor anything that would make the host queue ancillary data or
/// errors the sentry does not pass on (`SO_TIMESTAMP*`, `IP_PKTINFO`,
/// `IP_RECVERR`...), nor what needs privileges the sandbox lacks
/// (`SO_BINDTODEVICE`, `SO_MARK`).
const OPTIONS: &[(i32, i32, Val, &str)] = &[
    (SOL_SOCKET, 2, Val::Int, "SO_REUSEADDR"),
    (SOL_SOCKET, 3, Val::IntGet, "SO_TYPE"),
    (SOL_SOCKET, 4, Val::IntGet, "SO_ERROR"),
    (SOL_SOCKET, 6, Val::Int, "SO_BROADCAST"),
    (SOL_SOCKET, 7, Val::Int, "SO_SNDBUF"),
    (SOL_SOCKET, 8, Val::Int, "SO_RCVBUF"),
    (SOL_SOCKET, 9, Val::Int, "SO_KEEPALIVE"),
    (SOL_SOCKET, 10, Val::Int, "SO_OOBINLINE"),
    (SOL_SOCKET, 12, Val::Int, "SO_PRIORITY"),
    (SOL_SOCKET, 13, Val::Bytes(8), "SO_LINGER"),
    (SOL_SOCKET, 15, Val::Int, "SO_REUSEPORT"),
    (SOL_SOCKET, 16, Val::Int, "SO_PASSCRED"),
    (SOL_SOCKET, 18, Val::Int, "SO_RCVLOWAT"),
    (SOL_SOCKET, 19, Val::Int, "SO_SNDLOWAT"),
    (SOL_SOCKET, 30, Val::IntGet, "SO_ACCEPTCONN"),
    (SOL_SOCKET, 38, Val::IntGet, "SO_PROTOCOL"),
    (SOL_SOCKET, 39, Val::IntGet, "SO_DOMAIN"),
    (SOL_TCP, 1, Val::Int, "TCP_NODELAY"),
    (SOL_TCP, 2, Val::Int, "TCP_MAXSEG"),
    (SOL_TCP, 3, Val::Int, "TCP_CORK"),
    (SOL_TCP, 4, Val::Int, "TCP_KEEPIDLE"),
    (SOL_TCP, 5, Val::Int, "TCP_KEEPINTVL"),
    (SOL_TCP, 6, Val::Int, "TCP_KEEPCNT"),
    (SOL_TCP, 7, Val::Int, "TCP_SYNCNT"),
    (SOL_TCP, 8, Val::Int, "TCP_LINGER2"),
    (SOL_TCP, 9, Val::Int, "TCP_DEFER_ACCEPT"),
    // struct tcp_info: 232 bytes on Linux 6.1, growing with versions.
    (SOL_TCP, 11, Val::BytesGet(256), "TCP_INFO"),
    (SOL_TCP, 12, Val::Int, "TCP_QUICKACK"),
    (SOL_TCP, 13, Val::Bytes(16), "TCP_CONGESTION"),
    (SOL_TCP, 18, Val::Int, "TCP_USER_TIMEOUT"),
    (SOL_TCP, 23, Val::Int, "TCP_FASTOPEN"),
    (SOL_TCP, 25, Val::Int, "TCP_NOTSENT_LOWAT"),
    (SOL_IP, 1, Val::Int, "IP_TOS"),
    (SOL_IP, 2, Val::Int, "IP_TTL"),
    (SOL_IP, 10, Val::Int, "IP_MTU_DISCOVER"),
    (SOL_IP, 14, Val::IntGet, "IP_MTU"),
    (SOL_IPV6, 16, Val::Int, "IPV6_UNICAST_HOPS"),
    (SOL_IPV6, 23, Val::Int, "IPV6_MTU_DISCOVER"),
    (SOL_IPV6, 24, Val::IntGet, "IPV6_MTU"),
    (SOL_IPV6, 26, Val::Int, "IPV6_V6ONLY"),
    (SOL_IPV6, 67, Val::Int, "IPV6_TCLASS"),
];

/// The (level, name) pairs forwarded to host sockets, for the sandbox's
/// seccomp filter (which admits get/setsockopt with these only).
pub fn forwarded_options() -> impl Iterator<Item = (i32, i32)> {
    OPTIONS.iter().map(|(l, n, _, _)| (*l, *n))
}

/// The socket() arguments hostinet makes on the host: (family, type with
/// SOCK_NONBLOCK|SOCK_CLOEXEC, protocol), for the seccomp filter.
pub fn host_socket_args() -> Vec<(u16, u32, u32)> {
    let flags = (SocketFlags::NONBLOCK | SocketFlags::CLOEXEC).bits();
    let mut out = Vec::new();
    for family in [AF_INET, AF_INET6] {
        for (ty, proto) in [(SOCK_STREAM, 6), (SOCK_DGRAM, 17)] {
            for p in [0, proto] {
                out.push((family, ty as u32 | flags, p));
            }
        }
    }
    out
}

fn option(level: u64, name: u64) -> Option<(i32, i32, Val)> {
    OPTIONS.iter().find(|(l, n, _, _)| *l as u64 == level && *n as u64 == name).map(|(l, n, v, _)| (*l, *n, *v))
}

fn refuse_option(level: u64, name: u64) -> Errno {
    log_once(format!("socket option level {level} name {name} is not forwarded to host sockets: ENOPROTOOPT"));
    Errno::ENOPROTOOPT
}

/// A received message.
pub struct Received {
    pub data: Vec<u8>,
    /// The whole datagram's length (`MSG_TRUNC`).
    pub full_len: usize,
    pub from: Option<Vec<u8>>,
}

/// An AF_INET/AF_INET6 socket backed by a host socket.
pub struct HostSocket {
    fd: OwnedFd,
    pub family: u16,
    ty: i32,
    pub ino: u64,
    /// The creator's effective uid, for /proc/net.
    pub uid: u32,
    key: u64,
    queue: WaitQueue,
    common: Mutex<SockOpts>,
    flags: crate::vfs::StatusFlags,
}

impl HostSocket {
    /// socket(2): `ty` is SOCK_STREAM or SOCK_DGRAM and `proto` already
    /// checked against it by the syscall layer.
    pub fn new(family: u16, ty: i32, proto: i32, uid: u32, nonblock: bool) -> Result<Arc<HostSocket>, Errno> {
        let fam = if family == AF_INET { AddressFamily::INET } else { AddressFamily::INET6 };
        let kind = if ty == SOCK_STREAM { SocketType::STREAM } else { SocketType::DGRAM };
        let proto = std::num::NonZeroU32::new(proto as u32).map(rustix::net::Protocol::from_raw);
        let fd =
            rustix::net::socket_with(fam, kind, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, proto).map_err(errno)?;
        HostSocket::adopt(fd, family, ty, uid, nonblock)
    }

    fn adopt(fd: OwnedFd, family: u16, ty: i32, uid: u32, nonblock: bool) -> Result<Arc<HostSocket>, Errno> {
        static NEXT_INO: AtomicU64 = AtomicU64::new(3 << 20);
        let poller = poller()?;
        let sock = Arc::new(HostSocket {
            fd,
            family,
            ty,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            uid,
            key: poller.next.fetch_add(1, Ordering::Relaxed),
            queue: WaitQueue::default(),
            common: Mutex::new(SockOpts::default()),
            flags: crate::vfs::StatusFlags::new(nonblock),
        });
        // On failure the socket's drop takes it out again.
        poller.add(&sock)?;
        Ok(sock)
    }

    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }

    pub fn ty(&self) -> i32 {
        self.ty
    }

    pub fn protocol(&self) -> i32 {
        if self.ty == SOCK_STREAM {
            6
        } else {
            17
        }
    }

    pub fn common(&self) -> SockOpts {
        *self.common.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_common(&self, f: impl FnOnce(&mut SockOpts)) {
        f(&mut self.common.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn bind(&self, raw: &[u8]) -> Result<(), Errno> {
        let addr = match parse(raw)? {
            Some(a) => a,
            // Linux takes AF_UNSPEC as AF_INET for an AF_INET socket when
            // the address is INADDR_ANY.
            None if self.family == AF_INET && raw.len() >= 16 && raw[4..8] == [0; 4] => {
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, u16::from_be_bytes([raw[2], raw[3]])))
            }
            None => return Err(if self.family == AF_INET { Errno::EAFNOSUPPORT } else { Errno::EINVAL }),
        };
        rustix::net::bind(&self.fd, &addr).map_err(errno)
    }

    pub fn listen(&self, backlog: i32) -> Result<(), Errno> {
        rustix::net::listen(&self.fd, backlog).map_err(errno)
    }

    /// connect(2)'s start: Ok(true) when the connection is established or
    /// refused at once, Ok(false) when it is in progress (the host's
    /// EINPROGRESS, or EALREADY for a connect still under way).
    pub fn connect(&self, raw: &[u8]) -> Result<bool, Errno> {
        let r = match parse(raw)? {
            Some(addr) => rustix::net::connect(&self.fd, &addr),
            None => rustix::net::connect_unspec(&self.fd),
        };
        match r {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::INPROGRESS) => Ok(false),
            Err(rustix::io::Errno::ALREADY) => Err(Errno::EALREADY),
            Err(e) => Err(errno(e)),
        }
    }

    /// A blocking connect's wait: EAGAIN while in progress, then the
    /// outcome (`SO_ERROR`, which this consumes as Linux's connect does).
    pub fn connect_finish(&self) -> Result<(), Errno> {
        use abi::poll::{POLLERR, POLLHUP, POLLOUT};
        if self.poll(POLLOUT) & (POLLOUT | POLLERR | POLLHUP) == 0 {
            return Err(Errno::EAGAIN);
        }
        match self.take_error() {
            0 => Ok(()),
            e => {
                // Linux's blocking connect disconnects a socket whose
                // connection failed (back to unconnected: a recv says
                // ENOTCONN, a connect starts afresh); the host socket only
                // saw a non-blocking connect, so do it here (AF_UNSPEC).
                let _ = rustix::net::connect_unspec(&self.fd);
                Err(Errno::new(e))
            }
        }
    }

    /// accept4(2) on a listener: the connection as a new socket
    /// (`nonblock` its O_NONBLOCK) and the peer's address.
    pub fn accept(&self, nonblock: bool) -> Result<(Arc<HostSocket>, Vec<u8>), Errno> {
        let (fd, peer) =
            rustix::net::acceptfrom_with(&self.fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC).map_err(errno)?;
        let peer = peer.and_then(any_bytes).unwrap_or_else(|| AF_UNSPEC.to_le_bytes().to_vec());
        Ok((HostSocket::adopt(fd, self.family, self.ty, self.uid, nonblock)?, peer))
    }

    pub fn local(&self) -> Result<Vec<u8>, Errno> {
        let a = rustix::net::getsockname(&self.fd).map_err(errno)?;
        Ok(any_bytes(a).unwrap_or_else(|| self.unspecified()))
    }

    pub fn peer(&self) -> Result<Vec<u8>, Errno> {
        let a = rustix::net::getpeername(&self.fd).map_err(errno)?.ok_or(Errno::ENOTCONN)?;
        Ok(any_bytes(a).unwrap_or_else(|| self.unspecified()))
    }

    fn unspecified(&self) -> Vec<u8> {
        let a = if self.family == AF_INET {
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))
        };
        sockaddr_bytes(&a)
    }

    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        let how = match how {
            0 => rustix::net::Shutdown::Read,
            1 => rustix::net::Shutdown::Write,
            2 => rustix::net::Shutdown::Both,
            _ => return Err(Errno::EINVAL),
        };
        rustix::net::shutdown(&self.fd, how).map_err(errno)?;
        // The host wakes its own waiters; ours may be in other threads.
        self.queue.notify();
        Ok(())
    }

    fn forwarded(flags: u64, allowed: u32, what: &str) -> u32 {
        let flags = flags as u32;
        let dropped = flags & !(allowed | SENTRY_FLAGS);
        if dropped != 0 {
            log_once(format!("{what} flags {dropped:#x} are not passed to host sockets (ignored)"));
        }
        flags & allowed
    }

    /// One non-blocking send; `to` the application's raw address.
    pub fn send(&self, to: Option<&[u8]>, data: &[u8], flags: u64) -> Result<usize, Errno> {
        let f = SendFlags::from_bits_retain(Self::forwarded(flags, SEND_FLAGS, "send"))
            | SendFlags::DONTWAIT
            | SendFlags::NOSIGNAL;
        let r = match to.map(parse).transpose()?.flatten() {
            Some(addr) => rustix::net::sendto(&self.fd, data, f, &addr),
            None => rustix::net::send(&self.fd, data, f),
        };
        r.map_err(errno)
    }

    /// One non-blocking receive of up to `len` bytes.
    pub fn recv(&self, len: usize, flags: u64) -> Result<Received, Errno> {
        let mut f = RecvFlags::from_bits_retain(Self::forwarded(flags, RECV_FLAGS, "receive")) | RecvFlags::DONTWAIT;
        if self.ty == SOCK_DGRAM {
            // The whole datagram's length, for recvmsg's MSG_TRUNC flag
            // (the syscall layer returns it only if the caller asked).
            f |= RecvFlags::TRUNC;
        }
        let mut buf = vec![0u8; len.min(RECV_MAX)];
        let (n, full, from) = rustix::net::recvfrom(&self.fd, &mut buf[..], f).map_err(errno)?;
        buf.truncate(n);
        // Streams name no sender (Linux leaves msg_namelen 0 for TCP).
        let from = if self.ty == SOCK_STREAM { None } else { from.and_then(any_bytes) };
        Ok(Received { data: buf, full_len: full, from })
    }

    /// `SO_ERROR`, taken (0: none).
    pub fn take_error(&self) -> i32 {
        let mut b = [0u8; 4];
        match hostsys::net::getsockopt(self.fd.as_fd(), SOL_SOCKET, 4, &mut b) {
            Ok(_) => i32::from_ne_bytes(b),
            Err(e) => e.raw_os_error().unwrap_or(Errno::EIO.into_raw()),
        }
    }

    /// getsockopt of a forwarded option, `cap` the caller's length.
    pub fn getsockopt(&self, level: u64, name: u64, cap: usize) -> Result<Vec<u8>, Errno> {
        let (l, n, val) = option(level, name).ok_or_else(|| refuse_option(level, name))?;
        let max = match val {
            Val::Int | Val::IntGet => 4,
            Val::Bytes(m) | Val::BytesGet(m) => m,
        };
        let mut buf = vec![0u8; cap.min(max)];
        let got = hostsys::net::getsockopt(self.fd.as_fd(), l, n, &mut buf).map_err(io_errno)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// setsockopt of a forwarded option with the caller's value (longer
    /// values are cut to the option's size, as Linux reads only that).
    pub fn setsockopt(&self, level: u64, name: u64, val: &[u8]) -> Result<(), Errno> {
        let (l, n, kind) = option(level, name).ok_or_else(|| refuse_option(level, name))?;
        let max = match kind {
            Val::Int => 4,
            Val::Bytes(m) => m,
            // Read-only options: Linux answers ENOPROTOOPT to a set.
            Val::IntGet | Val::BytesGet(_) => return Err(Errno::ENOPROTOOPT),
        };
        hostsys::net::setsockopt(self.fd.as_fd(), l, n, &val[..val.len().min(max)]).map_err(io_errno)
    }

    /// The host's readiness for `mask` (poll.h bits), without waiting.
    pub fn poll(&self, mask: u32) -> u32 {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let ask = PollFlags::from_bits_truncate((mask & 0xffff) as u16 as _)
            | PollFlags::IN
            | PollFlags::OUT
            | PollFlags::PRI
            | PollFlags::RDHUP;
        let mut fds = [PollFd::new(&self.fd, ask)];
        match poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })) {
            Ok(_) => u32::from(fds[0].revents().bits()),
            Err(_) => abi::poll::POLLERR,
        }
    }

    /// (local, peer, state, send queue, receive queue) as /proc/net/tcp
    /// and udp show them; the state is TCP_INFO's (UDP: 1 when connected,
    /// else 7, as Linux).
    pub fn proc_row(&self) -> (SocketAddr, Option<SocketAddr>, u8, i32, i32) {
        let any = || {
            if self.family == AF_INET {
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            } else {
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))
            }
        };
        let local =
            rustix::net::getsockname(&self.fd).ok().and_then(|a| SocketAddr::try_from(a).ok()).unwrap_or_else(any);
        let peer = rustix::net::getpeername(&self.fd).ok().flatten().and_then(|a| SocketAddr::try_from(a).ok());
        let state = if self.ty == SOCK_STREAM {
            let mut info = [0u8; 8];
            match hostsys::net::getsockopt(self.fd.as_fd(), SOL_TCP, 11, &mut info) {
                Ok(n) if n > 0 => info[0],
                _ => 7,
            }
        } else if peer.is_some() {
            1
        } else {
            7
        };
        let tx = self.queued(ioctl::TIOCOUTQ).unwrap_or(0);
        let rx = self.queued(ioctl::FIONREAD).unwrap_or(0);
        (local, peer, state, tx, rx)
    }

    /// FIONREAD or SIOCOUTQ.
    pub fn queued(&self, cmd: u64) -> Result<i32, Errno> {
        hostsys::net::queued(self.fd.as_fd(), cmd).map_err(io_errno)
    }
}

impl Drop for HostSocket {
    fn drop(&mut self) {
        if let Ok(p) = poller() {
            p.remove(&self.fd, self.key);
        }
    }
}

impl FileDescription for HostSocket {
    fn flags(&self) -> u64 {
        self.flags.get()
    }

    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let r = self.recv(buf.len(), 0)?;
        buf[..r.data.len()].copy_from_slice(&r.data);
        Ok(r.data.len())
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.send(None, data, 0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(crate::net::socket_stat(self.ino))
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD | ioctl::TIOCOUTQ => Ok(IoctlReply::Out(self.queued(cmd)?.to_le_bytes().to_vec())),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self) -> String {
        crate::net::socket_path(self.ino)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.poll(mask)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_socket(&self) -> Option<super::SocketRef<'_>> {
        Some(super::SocketRef::Host(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::poll::*;

    fn v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        sockaddr_bytes(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
    }

    fn port_of(raw: &[u8]) -> u16 {
        u16::from_be_bytes([raw[2], raw[3]])
    }

    /// Waits (at most 5 s) until the poller has notified `q` past `seen`.
    fn notified(q: &WaitQueue, seen: u64) -> bool {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < end {
            if q.generation() != seen {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn tcp_over_host_loopback_with_poller_wakeups() {
        let l = HostSocket::new(AF_INET, SOCK_STREAM, 0, 0, false).unwrap();
        l.bind(&v4([127, 0, 0, 1], 0)).unwrap();
        l.listen(4).unwrap();
        let addr = l.local().unwrap();
        assert_eq!(l.accept(false).err(), Some(Errno::EAGAIN));
        let seen = l.queue().generation();
        let c = HostSocket::new(AF_INET, SOCK_STREAM, 0, 0, false).unwrap();
        // Loopback connects at once or reports progress; either way it ends.
        if !c.connect(&addr).unwrap() {
            while c.connect_finish() == Err(Errno::EAGAIN) {}
        }
        assert!(notified(l.queue(), seen), "the listener's queue is woken by the poller");
        assert_ne!(l.poll(POLLIN) & POLLIN, 0);
        let (s, peer) = l.accept(false).unwrap();
        assert_eq!(peer, c.local().unwrap());
        assert_eq!(s.peer().unwrap(), c.local().unwrap());
        assert_eq!(s.recv(10, 0).err(), Some(Errno::EAGAIN));
        let seen = s.queue().generation();
        assert_eq!(c.send(None, b"ping", 0), Ok(4));
        assert!(notified(s.queue(), seen));
        let got = s.recv(10, 0x2).unwrap(); // MSG_PEEK
        assert_eq!(got.data, b"ping");
        assert_eq!(s.queued(ioctl::FIONREAD), Ok(4));
        assert_eq!(s.recv(10, 0).unwrap().data, b"ping");
        c.shutdown(1).unwrap();
        assert!(notified(s.queue(), s.queue().generation()) || s.poll(POLLIN) & POLLIN != 0);
        assert_eq!(s.recv(10, 0).unwrap().data, b"");
        drop(s);
        // The peer is gone: a send fails with EPIPE (or ECONNRESET), and
        // no SIGPIPE reaches this process (MSG_NOSIGNAL).
        let mut e = Ok(0);
        for _ in 0..100 {
            e = c.send(None, b"x", 0);
            if e.is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(matches!(e, Err(Errno::EPIPE) | Err(Errno::ECONNRESET)), "{e:?}");
    }

    #[test]
    fn refused_connect_and_options() {
        // A port nobody listens on: take one, then free it.
        let t = HostSocket::new(AF_INET, SOCK_STREAM, 0, 0, false).unwrap();
        t.bind(&v4([127, 0, 0, 1], 0)).unwrap();
        let addr = t.local().unwrap();
        drop(t);
        let c = HostSocket::new(AF_INET, SOCK_STREAM, 0, 0, true).unwrap();
        let r = match c.connect(&addr) {
            Ok(true) => Ok(()),
            Ok(false) => loop {
                match c.connect_finish() {
                    Err(Errno::EAGAIN) => continue,
                    r => break r,
                }
            },
            Err(e) => Err(e),
        };
        assert_eq!(r, Err(Errno::ECONNREFUSED));
        c.setsockopt(6, 1, &1i32.to_le_bytes()).unwrap(); // TCP_NODELAY
        assert_eq!(c.getsockopt(6, 1, 4).unwrap(), 1i32.to_le_bytes());
        assert_eq!(c.getsockopt(1, 3, 4).unwrap(), SOCK_STREAM.to_le_bytes()); // SO_TYPE
        assert_eq!(c.setsockopt(1, 3, &1i32.to_le_bytes()), Err(Errno::ENOPROTOOPT));
        // SO_BINDTODEVICE is not forwarded.
        assert_eq!(c.setsockopt(1, 25, b"lo\0"), Err(Errno::ENOPROTOOPT));
        assert_eq!(c.bind(&[2, 0]), Err(Errno::EINVAL));
        assert_eq!(c.bind(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(Errno::EAFNOSUPPORT));
    }

    #[test]
    fn udp_keeps_boundaries_and_names_the_sender() {
        let r = HostSocket::new(AF_INET, SOCK_DGRAM, 0, 0, true).unwrap();
        r.bind(&v4([127, 0, 0, 1], 0)).unwrap();
        let to = r.local().unwrap();
        let s = HostSocket::new(AF_INET, SOCK_DGRAM, 0, 0, true).unwrap();
        assert_eq!(s.send(Some(&to), b"one", 0), Ok(3));
        assert_eq!(s.send(Some(&to), b"three", 0), Ok(5));
        let mut got = r.recv(2, 0x20);
        for _ in 0..100 {
            if got.as_ref().err() != Some(&Errno::EAGAIN) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            got = r.recv(2, 0x20);
        }
        let got = got.unwrap();
        assert_eq!((got.data.as_slice(), got.full_len), (&b"on"[..], 3));
        assert_eq!(port_of(got.from.as_ref().unwrap()), port_of(&s.local().unwrap()));
        assert_eq!(r.recv(100, 0).unwrap().data, b"three");
    }
}
