//! AF_INET and AF_INET6 sockets (gVisor: `pkg/sentry/socket/netstack`).
//! Traffic between the sandbox's own addresses (loopback, and the
//! interface's addresses under `--network=sandbox`) never leaves the
//! sentry; traffic with anyone else goes through the network stack
//! (`netstack`, smoltcp over the interface's packet socket).
//!
//! * **Addresses** (`net::addr`) are kept in IPv6 form, IPv4 ones v4-mapped
//!   (`::ffff:a.b.c.d`), so one comparison serves both families. An AF_INET
//!   socket only ever holds mapped addresses; an AF_INET6 socket bound to
//!   `::` also receives IPv4 traffic unless `IPV6_V6ONLY` is set.
//! * **The port table** is sentry-wide (one network namespace): per
//!   protocol and port, the sockets bound there. Binding follows Linux's
//!   `inet_csk_bind_conflict`/`udp_lib_lport_inuse`: address sets that
//!   overlap conflict (EADDRINUSE) unless both sockets set SO_REUSEADDR and
//!   (TCP) the older one is not listening, or both set SO_REUSEPORT under
//!   one uid; `listen` checks again against listeners. Port 0 picks an
//!   ephemeral port from 32768–60999 (Linux's `ip_local_port_range`).
//!   Addresses that are not the sandbox's own nor wildcards are
//!   EADDRNOTAVAIL for bind; a destination neither local nor reachable
//!   through the stack's interface and routes is ENETUNREACH.
//!   The table also hands out the ports of the stack's connections.
//! * **Local TCP**: `connect` finds the listener covering the destination
//!   and queues a new, already-established socket on its accept queue; the
//!   two sides' data then moves through a pair of joined Unix stream
//!   endpoints (`fs::unix::Endpoint`: byte queues, shutdown bits, EPIPE,
//!   readiness and the wait queue all come from there). There is no
//!   handshake, no segments, no retransmission and no TIME_WAIT: the TCP
//!   state machine does not run between local sockets. A non-blocking
//!   connect answers EINPROGRESS, as Linux does on loopback, with the
//!   outcome already decided: either established (the next connect
//!   returns 0, then EISCONN) or refused (SO_ERROR reads ECONNREFUSED;
//!   poll reports POLLERR|POLLHUP). A blocking connect that finds more
//!   than `backlog` connections pending sleeps until an accept makes room
//!   (Linux's client retries its SYN); a non-blocking one is queued
//!   regardless.
//! * **Local UDP**: a datagram goes straight into the receiving socket's
//!   queue (dropped when its receive buffer is full, as Linux does). A
//!   datagram for a port nobody has bound is dropped; if the sender is
//!   connected it gets ECONNREFUSED on its next call, Linux's reaction to
//!   the ICMP port unreachable that loopback delivers at once.
//! * **Through the stack** (`St::ext`): a connect to a remote address
//!   starts a handshake in the stack (EINPROGRESS, or the syscall layer
//!   sleeps until it ends: established, ECONNREFUSED, ETIMEDOUT); a
//!   listener on the wildcard or an interface address also listens in the
//!   stack, and `accept` takes local connections first, then the stack's;
//!   a UDP socket bound to the wildcard or an interface address holds its
//!   port in the stack too, and reads local datagrams first. Readiness
//!   comes from the stack's view of the connection, and the stack
//!   notifies the socket's wait queue when it changes.

use super::addr::{
    ip_to_std, is_loopback, is_mapped, parse_addr, Addr, AddrSet, AF_INET, AF_INET6, ANY4, ANY6, LOOPBACK4, LOOPBACK6,
};
use super::SockOpts;
use crate::fs::unix::{Cred, Endpoint, SHUT_RCV, SHUT_SEND, SOCK_DGRAM, SOCK_STREAM};
use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply};
use abi::{ioctl, Errno, Stat};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

mod external;
mod file;
mod ports;
mod report;
use external::{ext_readiness, ipv4_packet, stack, Ext, SOCK_RAW};
pub use file::InetFile;
pub use ports::bound_sockets;
use ports::table;

pub const IPPROTO_TCP: i32 = 6;
pub const IPPROTO_UDP: i32 = 17;
pub const IPPROTO_UDPLITE: i32 = 136;
pub const IPPROTO_ICMP: i32 = 1;
/// Linux's `ip_local_port_range`.
pub const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;
/// Largest UDP payloads over IPv4 and IPv6 (65535 less the headers).
const UDP_MAX_V4: usize = 65507;
const UDP_MAX_V6: usize = 65527;
/// What a TCP sender may queue at its peer unless SO_SNDBUF says otherwise:
/// Linux's autotuning ceiling (`tcp_wmem[2]`).
const TCP_QUEUE: usize = 4 << 20;
/// Linux's defaults: `tcp_wmem[1]`, `tcp_rmem[1]`, `wmem_default`.
const TCP_SNDBUF: usize = 16384;
const TCP_RCVBUF: usize = 131072;
const UDP_BUF: usize = 212_992;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Proto {
    Tcp,
    Udp,
    /// UDP-Lite (RFC 3828): UDP with a partial checksum coverage and its
    /// own port space. Local traffic only: smoltcp has no UDP-Lite.
    UdpLite,
    /// A raw IPv4 ICMP socket (`ping` as root, CAP_NET_RAW): messages go
    /// out as the application built them, and come back with their IPv4
    /// header; no port. The sandbox's own addresses answer echo requests
    /// themselves; others are reached through the stack.
    Icmp,
}

impl Proto {
    pub fn is_dgram(self) -> bool {
        self != Proto::Tcp
    }

    pub fn number(self) -> i32 {
        match self {
            Proto::Tcp => IPPROTO_TCP,
            Proto::Udp => IPPROTO_UDP,
            Proto::UdpLite => IPPROTO_UDPLITE,
            Proto::Icmp => IPPROTO_ICMP,
        }
    }
}

/// TCP's view of a socket.
enum Tcp {
    Closed,
    /// `waiting`: blocking connects that found the accept queue full.
    Listening {
        backlog: usize,
        pending: VecDeque<Arc<InetSocket>>,
        waiting: Vec<Weak<InetSocket>>,
    },
    /// `connecting`: a non-blocking connect answered EINPROGRESS and no
    /// connect has reported the outcome yet.
    Connected {
        connecting: bool,
    },
    /// A non-blocking connect was refused; SO_ERROR has the reason.
    Refused,
}

/// What a connection attempt met at the listener.
enum Enqueued {
    Established(Arc<InetSocket>),
    Full,
    NotListening,
}

/// Options of the IP and TCP levels, recorded and read back.
#[derive(Clone, Copy, Debug)]
pub struct InetOpts {
    pub nodelay: bool,
    pub cork: bool,
    pub keepidle: i32,
    pub keepintvl: i32,
    pub keepcnt: i32,
    pub ttl: i32,
    pub tos: i32,
    pub sndbuf: usize,
    pub rcvbuf: usize,
    /// SO_SNDBUF was set: it bounds what this socket queues at its peer.
    pub sndbuf_locked: bool,
    /// IPV6_UNICAST_HOPS (-1: the route's default, 64) and IPV6_TCLASS.
    pub hops6: i32,
    pub tclass6: i32,
    /// IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS: deliver them as control messages.
    pub recv_hoplimit: bool,
    pub recv_tclass: bool,
    /// UDPLITE_SEND_CSCOV and UDPLITE_RECV_CSCOV, once set (Linux's
    /// UDPLITE_SEND_CC / UDPLITE_RECV_CC flags with pcslen / pcrlen).
    pub cscov_send: Option<u16>,
    pub cscov_recv: Option<u16>,
}

/// The IPv6 hop limit a packet leaves with when nothing set one
/// (`net.ipv6.conf.*.hop_limit`).
const DEFAULT_HOPS: i32 = 64;

/// Per-packet IPv6 settings from sendmsg's control messages
/// (IPV6_HOPLIMIT, IPV6_TCLASS; -1 there means the socket's setting).
#[derive(Clone, Copy, Debug, Default)]
pub struct SendCtl {
    pub hoplimit: Option<i32>,
    pub tclass: Option<i32>,
}

/// A queued datagram and what its IPv6 header carried.
#[derive(Clone)]
struct Dgram {
    data: Vec<u8>,
    from: Addr,
    hoplimit: u8,
    tclass: u8,
}

struct St {
    local: Option<Addr>,
    /// bind named the address / the port (Linux's SOCK_BINDADDR_LOCK and
    /// SOCK_BINDPORT_LOCK): a UDP disconnect keeps what was named.
    bind_locks: (bool, bool),
    peer: Option<Addr>,
    tcp: Tcp,
    error: i32,
    dgrams: VecDeque<Dgram>,
    dgram_bytes: usize,
    /// UDP: the shutdown bits. TCP: the ones this side's own `shutdown`
    /// set (the stream's bits also count the peer's close, which on TCP
    /// ends only our receiving side).
    shutdown: u8,
    common: SockOpts,
    opts: InetOpts,
    /// The network stack's side (`--network=sandbox`): a connection with
    /// a peer beyond this sandbox, a listener for such connections, a UDP
    /// port that hears from off the sandbox.
    ext: Ext,
    /// Local TCP: the other end, and what became of it (`Gone`: closed,
    /// the next send meets its reset; `Reset`: the connection is over).
    local_peer: Option<Weak<InetSocket>>,
    peer_end: PeerEnd,
}

/// What a local TCP connection's other end did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PeerEnd {
    Open,
    Gone,
    Reset,
}

/// Whether `ip` is this sandbox's own: loopback or an interface's address.
fn is_local(ip: &[u8; 16]) -> bool {
    is_loopback(ip) || stack().is_some_and(|s| s.is_local(ip_to_std(ip)))
}

fn is_wildcard(ip: &[u8; 16]) -> bool {
    *ip == ANY4 || *ip == ANY6
}

/// Where a packet goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// To a socket of this sandbox.
    Local,
    /// Out through the network stack.
    Out,
}

/// One AF_INET or AF_INET6 socket.
pub struct InetSocket {
    pub family: u16,
    pub proto: Proto,
    pub ino: u64,
    uid: u32,
    /// TCP: the byte stream, joined with the peer's once connected; its
    /// wait queue is the socket's. UDP: unused but for its queue.
    stream: Arc<Endpoint>,
    pub listening: AtomicBool,
    pub reuseaddr: AtomicBool,
    pub reuseport: AtomicBool,
    pub v6only: AtomicBool,
    st: Mutex<St>,
}

/// What a receive returned.
pub struct Received {
    pub data: Vec<u8>,
    pub full_len: usize,
    pub from: Option<Vec<u8>>,
    /// Control messages (level, type, data): IPV6_HOPLIMIT, IPV6_TCLASS.
    pub cmsgs: Vec<(i32, i32, Vec<u8>)>,
}

fn no_cred() -> Cred {
    Cred { pid: 0, uid: 0, gid: 0 }
}

impl InetSocket {
    pub fn new(family: u16, proto: Proto, uid: u32) -> Arc<InetSocket> {
        static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 20);
        let (sndbuf, rcvbuf) = match proto {
            Proto::Tcp => (TCP_SNDBUF, TCP_RCVBUF),
            Proto::Udp | Proto::UdpLite | Proto::Icmp => (UDP_BUF, UDP_BUF),
        };
        let stream = Endpoint::new(SOCK_STREAM, no_cred());
        stream.set_bufs(Some(TCP_QUEUE), Some(TCP_QUEUE));
        Arc::new(InetSocket {
            family,
            proto,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            uid,
            stream,
            listening: AtomicBool::new(false),
            reuseaddr: AtomicBool::new(false),
            reuseport: AtomicBool::new(false),
            v6only: AtomicBool::new(false),
            st: Mutex::new(St {
                local: None,
                bind_locks: (false, false),
                peer: None,
                tcp: Tcp::Closed,
                error: 0,
                dgrams: VecDeque::new(),
                dgram_bytes: 0,
                shutdown: 0,
                common: SockOpts::default(),
                ext: Ext::default(),
                local_peer: None,
                peer_end: PeerEnd::Open,
                opts: InetOpts {
                    nodelay: false,
                    cork: false,
                    keepidle: 7200,
                    keepintvl: 75,
                    keepcnt: 9,
                    ttl: 64,
                    tos: 0,
                    sndbuf,
                    rcvbuf,
                    sndbuf_locked: false,
                    hops6: -1,
                    tclass6: 0,
                    recv_hoplimit: false,
                    recv_tclass: false,
                    cscov_send: None,
                    cscov_recv: None,
                },
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn queue(&self) -> &WaitQueue {
        &self.stream.queue
    }

    pub fn ty(&self) -> i32 {
        match self.proto {
            Proto::Tcp => SOCK_STREAM,
            Proto::Udp | Proto::UdpLite => SOCK_DGRAM,
            Proto::Icmp => SOCK_RAW,
        }
    }

    fn bound_set(&self) -> Option<AddrSet> {
        let local = self.lock().local?;
        Some(AddrSet::of(local.ip, self.family, self.v6only.load(Ordering::Relaxed)))
    }

    fn unspecified(&self) -> Addr {
        Addr { ip: if self.family == AF_INET { ANY4 } else { ANY6 }, port: 0 }
    }

    /// bind(2) with an already parsed address.
    pub fn bind(self: &Arc<Self>, raw: &[u8]) -> Result<(), Errno> {
        let addr = match parse_addr(raw, self.family, false) {
            // Linux accepts AF_UNSPEC with INADDR_ANY on an AF_INET socket.
            Err(Errno::EAFNOSUPPORT) if self.family == AF_INET && raw[..2] == [0, 0] && raw[4..8] == [0; 4] => {
                Addr { ip: ANY4, port: u16::from_be_bytes([raw[2], raw[3]]) }
            }
            r => r?.0,
        };
        if is_mapped(&addr.ip) && self.family == AF_INET6 && self.v6only.load(Ordering::Relaxed) {
            return Err(Errno::EINVAL);
        }
        let local_ok = is_local(&addr.ip) || addr.ip == ANY4 || (self.family == AF_INET6 && addr.ip == ANY6);
        if !local_ok {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if self.proto == Proto::Icmp {
            // A raw socket has an address and no port.
            self.lock().local = Some(Addr { port: 0, ..addr });
            return Ok(());
        }
        if addr.port != 0 && addr.port < 1024 && self.uid != 0 {
            return Err(Errno::EACCES);
        }
        if self.lock().local.is_some() {
            return Err(Errno::EINVAL);
        }
        self.take_port(addr)?;
        self.lock().bind_locks = (addr.ip != ANY4 && addr.ip != ANY6, addr.port != 0);
        self.open_udp_port()
    }

    /// Enters the port table at `addr` (port 0: an ephemeral one).
    fn take_port(self: &Arc<Self>, mut addr: Addr) -> Result<(), Errno> {
        let mut t = table();
        if addr.port == 0 {
            addr.port = t.ephemeral(self.proto)?;
        } else if t.conflicts(self, addr.ip, addr.port) {
            return Err(Errno::EADDRINUSE);
        }
        t.insert(self, addr.port);
        self.lock().local = Some(addr);
        Ok(())
    }

    /// The source address for a packet to `dst` from this socket.
    fn source_for(&self, local: Addr, dst: &[u8; 16]) -> [u8; 16] {
        if !is_wildcard(&local.ip) {
            local.ip
        } else if !is_loopback(dst) && is_local(dst) {
            *dst
        } else if let Some(src) = stack().filter(|_| !is_local(dst)).and_then(|s| s.source_for(ip_to_std(dst))) {
            super::addr::ip_from_std(src)
        } else if is_mapped(dst) {
            LOOPBACK4
        } else {
            LOOPBACK6
        }
    }

    /// Binds to an ephemeral port on the wildcard if unbound; returns the
    /// local address.
    fn autobind(self: &Arc<Self>) -> Result<Addr, Errno> {
        if let Some(a) = self.lock().local {
            return Ok(a);
        }
        self.take_port(self.unspecified())?;
        self.open_udp_port()?;
        Ok(self.lock().local.expect("just bound"))
    }

    /// Where a packet for `dst` goes: the wildcard means this host; the
    /// sandbox's own addresses stay inside; others leave through the
    /// network stack if it has a route, else there is none.
    fn route(&self, mut dst: Addr) -> Result<(Addr, Path), Errno> {
        if dst.ip == ANY4 {
            dst.ip = LOOPBACK4;
        } else if dst.ip == ANY6 {
            dst.ip = LOOPBACK6;
        }
        if is_mapped(&dst.ip) && self.family == AF_INET6 && self.v6only.load(Ordering::Relaxed) {
            return Err(Errno::ENETUNREACH);
        }
        if is_local(&dst.ip) {
            return Ok((dst, Path::Local));
        }
        match stack() {
            Some(s) if s.reaches(ip_to_std(&dst.ip)) => Ok((dst, Path::Out)),
            _ => Err(Errno::ENETUNREACH),
        }
    }

    /// Fixes the local address for traffic to `dst` (Linux sets the
    /// receive address on connect when the bind left it open).
    fn settle_local(self: &Arc<Self>, dst: &Addr) -> Result<Addr, Errno> {
        let local = self.autobind()?;
        let ip = self.source_for(local, &dst.ip);
        let settled = Addr { ip, port: local.port };
        self.lock().local = Some(settled);
        Ok(settled)
    }

    pub fn local(&self) -> Addr {
        self.lock().local.unwrap_or(self.unspecified())
    }

    pub fn peer(&self) -> Result<Addr, Errno> {
        let st = self.lock();
        match (&st.tcp, self.proto) {
            (Tcp::Connected { .. }, Proto::Tcp) | (_, Proto::Udp | Proto::UdpLite | Proto::Icmp) => {
                st.peer.ok_or(Errno::ENOTCONN)
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    pub fn connect(self: &Arc<Self>, raw: &[u8], nonblock: bool) -> Result<(), Errno> {
        match self.proto {
            Proto::Tcp => self.tcp_connect(raw, nonblock),
            Proto::Udp | Proto::UdpLite => self.udp_connect(raw),
            Proto::Icmp => {
                let (dst, _) = parse_addr(raw, self.family, true)?;
                let (dst, _) = self.route(dst)?;
                self.lock().peer = Some(Addr { port: 0, ..dst });
                Ok(())
            }
        }
    }

    fn tcp_connect(self: &Arc<Self>, raw: &[u8], nonblock: bool) -> Result<(), Errno> {
        {
            let mut st = self.lock();
            match st.tcp {
                Tcp::Listening { .. } => return Err(Errno::EISCONN),
                Tcp::Connected { connecting: true } if st.ext.conn.is_some() => {
                    drop(st);
                    return self.ext_connect_progress(nonblock);
                }
                Tcp::Connected { connecting: true } => {
                    st.tcp = Tcp::Connected { connecting: false };
                    return Ok(());
                }
                Tcp::Connected { .. } => return Err(Errno::EISCONN),
                Tcp::Refused => {
                    st.tcp = Tcp::Closed;
                    let e = std::mem::take(&mut st.error);
                    return Err(if e != 0 { Errno::new(e) } else { Errno::ECONNABORTED });
                }
                Tcp::Closed => {}
            }
        }
        let (dst, _) = parse_addr(raw, self.family, false)?;
        let (dst, path) = self.route(dst)?;
        let local = self.settle_local(&dst)?;
        if path == Path::Out {
            return self.ext_connect(local, dst, nonblock);
        }
        let listener = {
            let t = table();
            let candidates = t.live(Proto::Tcp, dst.port);
            let covering = |s: &&Arc<InetSocket>| {
                s.listening.load(Ordering::Relaxed) && s.bound_set().is_some_and(|set| set.covers(&dst.ip))
            };
            let exact = candidates.iter().filter(covering).find(|s| s.local().ip == dst.ip).cloned();
            exact.or_else(|| candidates.iter().find(covering).cloned())
        };
        let waiter = if nonblock { None } else { Some(self) };
        let server = match listener.as_ref().map(|l| l.enqueue(local, dst, waiter)) {
            Some(Enqueued::Established(s)) => Some(s),
            // The syscall layer sleeps until an accept makes room.
            Some(Enqueued::Full) => return Err(Errno::EAGAIN),
            Some(Enqueued::NotListening) | None => None,
        };
        let Some(server) = server else {
            let mut st = self.lock();
            if nonblock {
                st.tcp = Tcp::Refused;
                st.error = Errno::ECONNREFUSED.into_raw();
                drop(st);
                self.queue().notify();
                return Err(Errno::EINPROGRESS);
            }
            drop(st);
            self.release_port();
            return Err(Errno::ECONNREFUSED);
        };
        Endpoint::join(&self.stream, &server.stream);
        server.lock().local_peer = Some(Arc::downgrade(self));
        let sndbuf = {
            let mut st = self.lock();
            st.tcp = Tcp::Connected { connecting: nonblock };
            st.peer = Some(dst);
            st.local_peer = Some(Arc::downgrade(&server));
            st.opts.sndbuf_locked.then_some(st.opts.sndbuf)
        };
        if let Some(b) = sndbuf {
            self.stream.set_bufs(Some(b), None);
        }
        let listener = listener.expect("server came from it");
        listener.queue().notify();
        self.queue().notify();
        if nonblock {
            return Err(Errno::EINPROGRESS);
        }
        Ok(())
    }

    /// A listener takes a connection from `client` to `dst`: a new
    /// established socket on its accept queue. A full queue (more than
    /// `backlog` pending, Linux's `sk_acceptq_is_full`) turns `waiter`
    /// away and notifies it after the next accept; without a waiter (a
    /// non-blocking connect) the connection is queued anyway.
    fn enqueue(self: &Arc<Self>, client: Addr, dst: Addr, waiter: Option<&Arc<InetSocket>>) -> Enqueued {
        let server = InetSocket::new(self.family, Proto::Tcp, self.uid);
        // An accepted socket inherits the listener's options (Linux's sk_clone).
        let copy = |to: &AtomicBool, from: &AtomicBool| to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        copy(&server.reuseaddr, &self.reuseaddr);
        copy(&server.reuseport, &self.reuseport);
        copy(&server.v6only, &self.v6only);
        {
            let mut ls = self.lock();
            let (common, opts) = (ls.common, ls.opts);
            let Tcp::Listening { pending, backlog, waiting } = &mut ls.tcp else { return Enqueued::NotListening };
            if let Some(w) = waiter.filter(|_| pending.len() > *backlog) {
                waiting.push(Arc::downgrade(w));
                return Enqueued::Full;
            }
            let mut ss = server.lock();
            ss.local = Some(dst);
            ss.peer = Some(client);
            ss.tcp = Tcp::Connected { connecting: false };
            ss.common = common;
            ss.opts = opts;
            drop(ss);
            pending.push_back(server.clone());
        }
        table().insert(&server, dst.port);
        Enqueued::Established(server)
    }

    pub fn listen(self: &Arc<Self>, backlog: i32) -> Result<(), Errno> {
        if self.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let local = self.autobind()?;
        {
            let t = table();
            let mine = AddrSet::of(local.ip, self.family, self.v6only.load(Ordering::Relaxed));
            let reuseport = self.reuseport.load(Ordering::Relaxed);
            let clash = t.live(Proto::Tcp, local.port).iter().any(|o| {
                !std::ptr::eq(&**o, &**self)
                    && o.listening.load(Ordering::Relaxed)
                    && o.bound_set().is_some_and(|s| s.overlaps(&mine))
                    && !(reuseport && o.reuseport.load(Ordering::Relaxed) && o.uid == self.uid)
            });
            if clash {
                return Err(Errno::EADDRINUSE);
            }
        }
        // Linux: a backlog above somaxconn (or negative) is somaxconn.
        let backlog =
            if backlog < 0 { crate::fs::unix::SOMAXCONN } else { (backlog as usize).min(crate::fs::unix::SOMAXCONN) };
        let mut st = self.lock();
        match &mut st.tcp {
            Tcp::Connected { .. } | Tcp::Refused => return Err(Errno::EINVAL),
            Tcp::Listening { backlog: b, .. } => *b = backlog,
            t @ Tcp::Closed => *t = Tcp::Listening { backlog, pending: VecDeque::new(), waiting: Vec::new() },
        }
        let ext_wanted = st.ext.listen.is_none() && !is_loopback(&local.ip);
        drop(st);
        self.listening.store(true, Ordering::Relaxed);
        if let Some(stack) = stack().filter(|_| ext_wanted) {
            // Connections from off the sandbox arrive through the stack.
            match stack.tcp_listen(local.to_std(), backlog, self.notifier()) {
                Ok(id) => self.lock().ext.listen = Some(id),
                Err(e) => tracing::warn!(port = local.port, "the network stack cannot listen here: {e}"),
            }
        }
        Ok(())
    }

    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// Takes an established connection (EAGAIN when none; EINVAL when not
    /// listening).
    pub fn accept(&self) -> Result<Arc<InetSocket>, Errno> {
        if self.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.lock();
        let ext = st.ext.listen;
        let Tcp::Listening { pending, waiting, .. } = &mut st.tcp else { return Err(Errno::EINVAL) };
        let Some(taken) = pending.pop_front() else {
            drop(st);
            return self.ext_accept(ext);
        };
        let waiting = std::mem::take(waiting);
        drop(st);
        for w in waiting.iter().filter_map(Weak::upgrade) {
            w.queue().notify();
        }
        Ok(taken)
    }

    fn udp_connect(self: &Arc<Self>, raw: &[u8]) -> Result<(), Errno> {
        if raw.len() >= 2 && raw[..2] == [0, 0] {
            // AF_UNSPEC dissolves the association; what bind did not name
            // is forgotten, the port given up (Linux `__udp_disconnect`).
            let release = {
                let mut st = self.lock();
                st.peer = None;
                let (addr_locked, port_locked) = st.bind_locks;
                let unspecified = self.unspecified();
                if let Some(local) = st.local.as_mut().filter(|_| !addr_locked) {
                    local.ip = unspecified.ip;
                }
                !port_locked
            };
            if release {
                self.release_port();
            }
            return Ok(());
        }
        let (dst, _) = parse_addr(raw, self.family, true)?;
        let (dst, path) = self.route(dst)?;
        if path == Path::Out && self.proto == Proto::UdpLite {
            return Err(udplite_out());
        }
        self.settle_local(&dst)?;
        self.lock().peer = Some(dst);
        Ok(())
    }

    /// Sends `data` (`to`: a datagram's destination, as the application
    /// wrote it). EAGAIN when a TCP peer is full.
    pub fn send(self: &Arc<Self>, to: Option<&[u8]>, data: &[u8], ctl: SendCtl) -> Result<usize, Errno> {
        match self.proto {
            Proto::Tcp => self.tcp_send(data),
            Proto::Udp | Proto::UdpLite => {
                let to = match to {
                    Some(raw) => Some(parse_addr(raw, self.family, true)?.0),
                    None => None,
                };
                self.udp_send(to, data, ctl)
            }
            Proto::Icmp => {
                let to = match to {
                    Some(raw) => Some(parse_addr(raw, self.family, true)?.0),
                    None => None,
                };
                self.icmp_send(to, data)
            }
        }
    }

    fn tcp_send(&self, data: &[u8]) -> Result<usize, Errno> {
        let ext = {
            let mut st = self.lock();
            if st.error != 0 {
                return Err(Errno::new(std::mem::take(&mut st.error)));
            }
            if !matches!(st.tcp, Tcp::Connected { .. }) {
                return Err(Errno::EPIPE);
            }
            if st.shutdown & SHUT_SEND != 0 || st.peer_end == PeerEnd::Reset {
                return Err(Errno::EPIPE);
            }
            if st.peer_end == PeerEnd::Gone && st.ext.conn.is_none() {
                // The peer's socket is closed: the data goes out and the
                // reset it draws arrives in CLOSE_WAIT, which Linux
                // (`tcp_reset`) records as EPIPE for the next call.
                if !data.is_empty() {
                    st.peer_end = PeerEnd::Reset;
                    st.error = Errno::EPIPE.into_raw();
                    drop(st);
                    self.queue().notify();
                }
                return Ok(data.len());
            }
            st.ext.conn
        };
        match (ext, stack()) {
            (Some(id), Some(stack)) => {
                if let Some(e) = stack.tcp_take_error(id) {
                    return Err(Errno::new(e));
                }
                stack.tcp_send(id, data).map_err(|e| Errno::new(e.raw_os_error()))
            }
            _ => self.stream.send(None, data, &[], no_cred()),
        }
    }

    fn udp_send(self: &Arc<Self>, to: Option<Addr>, data: &[u8], ctl: SendCtl) -> Result<usize, Errno> {
        let (peer, shut, opts) = {
            let mut st = self.lock();
            // A refusal heard earlier is reported by the next call.
            if st.error != 0 {
                return Err(Errno::new(std::mem::take(&mut st.error)));
            }
            (st.peer, st.shutdown, st.opts)
        };
        if shut & SHUT_SEND != 0 {
            return Err(Errno::EPIPE);
        }
        let dst = to.or(peer).ok_or(Errno::EDESTADDRREQ)?;
        let max = if self.family == AF_INET || is_mapped(&dst.ip) { UDP_MAX_V4 } else { UDP_MAX_V6 };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        let (dst, path) = self.route(dst)?;
        let local = self.autobind()?;
        let src = Addr { ip: self.source_for(local, &dst.ip), port: local.port };
        if path == Path::Out && self.proto == Proto::UdpLite {
            return Err(udplite_out());
        }
        if path == Path::Out {
            let (Some(stack), Some(id)) = (stack(), self.lock().ext.udp) else { return Err(Errno::ENETUNREACH) };
            let from = (!is_wildcard(&local.ip)).then(|| ip_to_std(&local.ip));
            return stack.udp_send(id, from, dst.to_std(), data).map_err(|e| Errno::new(e.raw_os_error()));
        }
        let target = {
            let t = table();
            let mut best: Option<(u8, Arc<InetSocket>)> = None;
            for s in t.live(self.proto, dst.port) {
                let (set, peer) = (s.bound_set(), s.lock().peer);
                if !set.is_some_and(|set| set.covers(&dst.ip)) || peer.is_some_and(|p| p != src) {
                    continue;
                }
                let score = u8::from(s.local().ip == dst.ip) + u8::from(peer.is_some());
                if best.as_ref().is_none_or(|(b, _)| score > *b) {
                    best = Some((score, s));
                }
            }
            best.map(|(_, s)| s)
        };
        let Some(target) = target else {
            if peer.is_some() {
                // ICMP port unreachable: a connected socket hears of it.
                self.lock().error = Errno::ECONNREFUSED.into_raw();
                self.queue().notify();
            }
            return Ok(data.len());
        };
        let hoplimit = match ctl.hoplimit.filter(|h| *h >= 0).unwrap_or(opts.hops6) {
            -1 => DEFAULT_HOPS,
            h => h,
        } as u8;
        // Linux takes a per-packet -1 as is (it reads back as 255).
        let tclass = ctl.tclass.unwrap_or(opts.tclass6) as u8;
        {
            let mut ts = target.lock();
            let covered =
                self.proto != Proto::UdpLite || udplite_accepts(opts.cscov_send, ts.opts.cscov_recv, data.len());
            if covered && ts.dgram_bytes + data.len() <= ts.opts.rcvbuf {
                ts.dgram_bytes += data.len();
                ts.dgrams.push_back(Dgram { data: data.to_vec(), from: src, hoplimit, tclass });
            }
        }
        target.queue().notify();
        Ok(data.len())
    }

    /// Receives up to `len` bytes. EAGAIN when nothing is there yet; an
    /// empty result at end of stream (UDP after SHUT_RD: only for a
    /// blocking caller, as Linux).
    pub fn recv(&self, len: usize, peek: bool, nonblock: bool) -> Result<Received, Errno> {
        let mut st = self.lock();
        if st.peer_end == PeerEnd::Reset && matches!(st.tcp, Tcp::Connected { .. }) {
            // Linux `tcp_recvmsg`: queued data first; then a reset met in
            // ESTABLISHED reports ECONNRESET once, and the end of the
            // stream (or one the peer had finished, CLOSE_WAIT) reads 0.
            drop(st);
            if let Ok(r) = self.stream.recv(len, peek) {
                if !r.data.is_empty() {
                    return Ok(Received { full_len: r.data.len(), data: r.data, from: None, cmsgs: Vec::new() });
                }
            }
            let mut st = self.lock();
            if st.error == Errno::ECONNRESET.into_raw() {
                st.error = 0;
                return Err(Errno::ECONNRESET);
            }
            return Ok(Received { data: Vec::new(), full_len: 0, from: None, cmsgs: Vec::new() });
        }
        if st.error != 0 {
            return Err(Errno::new(std::mem::take(&mut st.error)));
        }
        if self.proto == Proto::Tcp {
            if !matches!(st.tcp, Tcp::Connected { .. }) {
                return Err(Errno::ENOTCONN);
            }
            if let (Some(id), Some(stack)) = (st.ext.conn, stack()) {
                if st.shutdown & SHUT_RCV != 0 {
                    return Ok(Received { data: Vec::new(), full_len: 0, from: None, cmsgs: Vec::new() });
                }
                drop(st);
                if let Some(e) = stack.tcp_take_error(id) {
                    return Err(Errno::new(e));
                }
                let queued = stack.tcp_status(id).recv_queue;
                let mut data = vec![0u8; len.min(queued.max(1))];
                let n = stack.tcp_recv(id, &mut data, peek).map_err(|e| Errno::new(e.raw_os_error()))?;
                data.truncate(n);
                return Ok(Received { full_len: n, data, from: None, cmsgs: Vec::new() });
            }
            drop(st);
            let r = self.stream.recv(len, peek)?;
            return Ok(Received { full_len: r.data.len(), data: r.data, from: None, cmsgs: Vec::new() });
        }
        let local_dgram = if peek { st.dgrams.front().cloned() } else { st.dgrams.pop_front() };
        if local_dgram.is_none() {
            if let (Some(id), Some(stack)) = (st.ext.icmp, stack()) {
                let mut buf = vec![0u8; 65536];
                if let Ok((n, _, from)) = stack.icmp_recv(id, &mut buf, peek) {
                    let from = Addr::from_std(std::net::SocketAddr::new(from, 0));
                    let local = st.local.unwrap_or(self.unspecified());
                    let to = self.source_for(local, &from.ip);
                    let mut packet = ipv4_packet(&from.ip, &to, &buf[..n]);
                    let full_len = packet.len();
                    packet.truncate(len);
                    return Ok(Received {
                        data: packet,
                        full_len,
                        from: Some(from.to_bytes(self.family)),
                        cmsgs: Vec::new(),
                    });
                }
            }
            if let (Some(id), Some(stack)) = (st.ext.udp, stack()) {
                let mut buf = vec![0u8; len];
                if let Ok((n, full_len, from)) = stack.udp_recv(id, &mut buf, peek) {
                    buf.truncate(n);
                    return Ok(Received {
                        data: buf,
                        full_len,
                        from: Some(Addr::from_std(from).to_bytes(self.family)),
                        cmsgs: Vec::new(),
                    });
                }
            }
        }
        let Some(Dgram { data, from, hoplimit, tclass }) = local_dgram else {
            if st.shutdown & SHUT_RCV != 0 && !nonblock {
                return Ok(Received { data: Vec::new(), full_len: 0, from: None, cmsgs: Vec::new() });
            }
            return Err(Errno::EAGAIN);
        };
        if !peek {
            st.dgram_bytes -= data.len();
        }
        // Linux `ip6_datagram_recv_specific_ctl`, in its order; an IPv4
        // packet reaching an AF_INET6 socket carries no IPv6 header.
        let mut cmsgs = Vec::new();
        if self.family == AF_INET6 && !is_mapped(&from.ip) {
            if st.opts.recv_hoplimit {
                cmsgs.push((SOL_IPV6, IPV6_HOPLIMIT, i32::from(hoplimit).to_le_bytes().to_vec()));
            }
            if st.opts.recv_tclass {
                cmsgs.push((SOL_IPV6, IPV6_TCLASS, i32::from(tclass).to_le_bytes().to_vec()));
            }
        }
        let full_len = data.len();
        let mut data = data;
        data.truncate(len);
        Ok(Received { data, full_len, from: Some(from.to_bytes(self.family)), cmsgs })
    }

    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        let mode = match how {
            0 => SHUT_RCV,
            1 => SHUT_SEND,
            2 => SHUT_RCV | SHUT_SEND,
            _ => return Err(Errno::EINVAL),
        };
        let mut st = self.lock();
        match (self.proto, &st.tcp) {
            (Proto::Tcp, Tcp::Connected { .. }) => {
                st.shutdown |= mode;
                let ext = st.ext.conn;
                drop(st);
                if let (Some(id), Some(stack)) = (ext, stack()) {
                    if mode & SHUT_SEND != 0 {
                        stack.tcp_shutdown_write(id);
                    }
                    self.queue().notify();
                    return Ok(());
                }
                self.stream.shutdown(how)
            }
            (Proto::Tcp, Tcp::Listening { .. }) => Ok(()),
            (Proto::Tcp, _) => Err(Errno::ENOTCONN),
            (Proto::Udp | Proto::UdpLite | Proto::Icmp, _) => {
                // Linux sets the bits even when it answers ENOTCONN.
                st.shutdown |= mode;
                let connected = st.peer.is_some();
                drop(st);
                self.queue().notify();
                if connected {
                    Ok(())
                } else {
                    Err(Errno::ENOTCONN)
                }
            }
        }
    }

    fn release_port(&self) {
        let local = self.lock().local.take();
        if let Some(a) = local {
            table().remove(self, a.port);
        }
    }

    /// The last file referring to the socket went away.
    pub(crate) fn close(&self) {
        self.close_as(false);
    }

    /// Closes; a local TCP connection's peer hears a FIN, or a reset when
    /// data was left unread here or `reset` (a listener dropping the
    /// connections nobody accepted), as Linux `tcp_close` decides.
    fn close_as(&self, reset: bool) {
        self.listening.store(false, Ordering::Relaxed);
        self.release_port();
        let (tcp, dgrams, ext, local_peer) = {
            let mut st = self.lock();
            st.dgram_bytes = 0;
            (
                std::mem::replace(&mut st.tcp, Tcp::Closed),
                std::mem::take(&mut st.dgrams),
                std::mem::take(&mut st.ext),
                st.local_peer.take(),
            )
        };
        if let (Tcp::Connected { .. }, Some(peer)) = (&tcp, local_peer.and_then(|w| w.upgrade())) {
            let reset = reset || self.stream.unread() > 0;
            let mut ps = peer.lock();
            if ps.peer_end == PeerEnd::Open {
                if reset {
                    ps.peer_end = PeerEnd::Reset;
                    ps.error = Errno::ECONNRESET.into_raw();
                } else {
                    ps.peer_end = PeerEnd::Gone;
                }
            }
            drop(ps);
            peer.queue().notify();
        }
        drop(dgrams);
        if let Some(stack) = stack() {
            if let Some(id) = ext.conn {
                stack.tcp_close(id);
            }
            if let Some(id) = ext.listen {
                stack.tcp_unlisten(id);
            }
            if let Some(id) = ext.icmp {
                stack.icmp_close(id);
            }
            if let Some(id) = ext.udp {
                stack.udp_close(id);
            }
        }
        if let Tcp::Listening { pending, waiting, .. } = tcp {
            for s in pending {
                s.close_as(true);
            }
            // Connects waiting for room try again and are refused.
            for w in waiting.iter().filter_map(Weak::upgrade) {
                w.queue().notify();
            }
        }
        self.stream.close();
    }

    /// Linux `tcp_poll` / `udp_poll`.
    pub fn readiness(&self) -> u32 {
        use abi::poll::*;
        let st = self.lock();
        let err = if st.error != 0 { POLLERR } else { 0 };
        if self.proto.is_dgram() {
            let mut r = POLLOUT | POLLWRNORM | POLLWRBAND | err;
            let ext_ready = || {
                st.ext.udp.zip(stack()).is_some_and(|(id, s)| s.udp_pending(id).is_some())
                    || st.ext.icmp.zip(stack()).is_some_and(|(id, s)| s.icmp_pending(id))
            };
            if !st.dgrams.is_empty() || ext_ready() {
                r |= POLLIN | POLLRDNORM;
            }
            if st.shutdown & SHUT_RCV != 0 {
                r |= POLLIN | POLLRDNORM | POLLRDHUP;
            }
            if st.shutdown == SHUT_RCV | SHUT_SEND {
                r |= POLLHUP;
            }
            return r;
        }
        match &st.tcp {
            Tcp::Listening { pending, .. } => {
                let ext = st.ext.listen.zip(stack()).is_some_and(|(id, s)| s.tcp_acceptable(id));
                if pending.is_empty() && !ext {
                    0
                } else {
                    POLLIN | POLLRDNORM
                }
            }
            Tcp::Connected { .. } if st.ext.conn.is_some() => {
                let (own, id) = (st.shutdown, st.ext.conn.expect("checked"));
                drop(st);
                let Some(stack) = stack() else { return POLLERR };
                ext_readiness(&stack.tcp_status(id), own) | err
            }
            Tcp::Closed => POLLOUT | POLLWRNORM | POLLHUP | err,
            Tcp::Refused => POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLHUP | err,
            Tcp::Connected { .. } if st.peer_end == PeerEnd::Reset => {
                POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLHUP | err
            }
            Tcp::Connected { .. } => {
                // POLLHUP once both directions are done: the peer's FIN and
                // our own SHUT_WR (a closed peer alone is CLOSE_WAIT).
                let own = st.shutdown;
                drop(st);
                let hup = self.stream.shutdown_bits() & SHUT_RCV != 0 && own & SHUT_SEND != 0;
                (self.stream.readiness() & !POLLHUP) | if hup { POLLHUP } else { 0 } | err
            }
        }
    }

    pub fn take_error(&self) -> i32 {
        let mut st = self.lock();
        let own = std::mem::take(&mut st.error);
        match (own, st.ext.conn, stack()) {
            (0, Some(id), Some(stack)) => {
                drop(st);
                stack.tcp_take_error(id).unwrap_or(0)
            }
            _ => own,
        }
    }

    /// Bytes waiting to be read: the stream's, or the next datagram's.
    pub fn unread(&self) -> Result<usize, Errno> {
        let st = self.lock();
        match (&st.tcp, self.proto) {
            (_, Proto::Udp | Proto::UdpLite | Proto::Icmp) => Ok(st.dgrams.front().map_or(0, |d| d.data.len())),
            (Tcp::Listening { .. }, _) => Err(Errno::EINVAL),
            _ => match (st.ext.conn, stack()) {
                (Some(id), Some(stack)) => Ok(stack.tcp_status(id).recv_queue),
                _ => Ok(self.stream.unread()),
            },
        }
    }

    pub fn common(&self) -> SockOpts {
        self.lock().common
    }
    pub fn set_common(&self, f: impl FnOnce(&mut SockOpts)) {
        f(&mut self.lock().common)
    }
    pub fn opts(&self) -> InetOpts {
        self.lock().opts
    }
    pub fn set_opts(&self, f: impl FnOnce(&mut InetOpts)) {
        let (sndbuf, ext, nodelay) = {
            let mut st = self.lock();
            f(&mut st.opts);
            (st.opts.sndbuf_locked.then_some(st.opts.sndbuf), st.ext.conn, st.opts.nodelay)
        };
        if let Some(b) = sndbuf {
            self.stream.set_bufs(Some(b), None);
        }
        if let (Some(id), Some(stack)) = (ext, stack()) {
            stack.tcp_set_nodelay(id, nodelay);
        }
    }
}

pub const SOL_IPV6: i32 = 41;
pub const IPV6_HOPLIMIT: i32 = 52;
pub const IPV6_TCLASS: i32 = 67;

/// UDP-Lite to a peer beyond the sandbox: the network stack (smoltcp)
/// has no UDP-Lite, so the sentry says so rather than send plain UDP.
fn udplite_out() -> Errno {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        tracing::warn!("UDP-Lite beyond the sandbox's own addresses is not supported: EOPNOTSUPP (logged once)");
    }
    Errno::EOPNOTSUPP
}

/// Whether a UDP-Lite receiver takes a datagram of `len` payload bytes
/// (Linux `udplite_csum_outgoing` on the sender, `udp_queue_rcv_one_skb`
/// on the receiver): a sender coverage below the whole packet (8-byte
/// header included) is partial, and a receiver that set
/// UDPLITE_RECV_CSCOV drops partial coverage below its minimum (0: it
/// wants full coverage).
fn udplite_accepts(send: Option<u16>, recv: Option<u16>, len: usize) -> bool {
    let cscov = match send {
        Some(c) if c > 0 && usize::from(c) < len + 8 => c,
        _ => return true,
    };
    match recv {
        None => true,
        Some(0) => false,
        Some(min) => cscov >= min,
    }
}

#[cfg(test)]
mod tests;
