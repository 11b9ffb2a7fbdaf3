//! The stack: one smoltcp interface on the sandbox's network card, its
//! sockets, and the thread that runs it when no application call does.
//!
//! Every operation takes the stack's lock, does its work on the smoltcp
//! socket, then polls the interface at once, so what a `send` queued
//! leaves now and what arrived meanwhile is taken in. The poll thread
//! sleeps in `poll(2)` on the packet socket and an eventfd until a frame
//! arrives, a timer of the stack (retransmission, delayed ACK, TIME_WAIT)
//! is due, or an operation moved that deadline earlier and kicked it.
//! After each poll the sockets whose state, queued input or queued output
//! changed are notified, so the sentry wakes the tasks waiting on them.

use crate::device::PacketDevice;
use crate::{NetConfig, NicConfig, RouteConfig};
use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::{Duration as SDuration, Instant as SInstant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

/// What the stack calls when a socket may have become ready.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// Buffer sizes of a TCP connection: enough window for a fast veth.
const TCP_RX: usize = 1 << 20;
const TCP_TX: usize = 1 << 20;
const UDP_PACKETS: usize = 256;
const UDP_BYTES: usize = 256 << 10;
/// At most this many listening smoltcp sockets stand ready per listener:
/// each takes one SYN (smoltcp has no SYN queue of its own).
const MAX_LISTEN_POOL: usize = 16;
/// How long the poll thread looks for the next frame after one before
/// it sleeps.
const SPIN: std::time::Duration = std::time::Duration::from_micros(50);
/// Closed TCP sockets kept for reuse.
const MAX_SPARE: usize = 32;
/// How long a connection waits for an answer before it gives up with
/// ETIMEDOUT: the handshake (Linux's six SYN retries take about 127 s) and
/// unacknowledged data alike.
const GIVE_UP: std::time::Duration = std::time::Duration::from_secs(127);

/// A connected (or connecting) TCP socket of the stack.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TcpId(SocketHandle);
/// A listening TCP port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ListenId(u64);
/// A bound UDP port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UdpId(SocketHandle);
/// An ICMP echo identifier (a ping socket's).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IcmpId(SocketHandle);

/// A TCP socket as `poll` sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStatus {
    /// The handshake is still going on.
    pub connecting: bool,
    /// The handshake completed (the connection may have ended since).
    pub established: bool,
    /// Bytes can be read, or the peer's FIN (a read returns 0).
    pub readable: bool,
    pub peer_closed: bool,
    pub writable: bool,
    /// The connection is gone (reset, refused, or closed both ways).
    pub closed: bool,
    /// A pending error: ECONNREFUSED, ECONNRESET, ETIMEDOUT.
    pub error: Option<i32>,
    pub recv_queue: usize,
    pub send_queue: usize,
    /// Linux's TCP state number, for /proc/net/tcp and TCP_INFO.
    pub linux_state: u8,
}

/// An interface as the sentry shows it (netlink, ioctls, /proc/net).
#[derive(Clone, Debug)]
pub struct NicInfo {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: usize,
    pub addrs: Vec<(IpAddr, u8)>,
}

struct Conn {
    notify: Notify,
    /// What the application last heard of: (state, queued in, queued out).
    seen: (tcp::State, usize, usize),
    ever_established: bool,
    error: Option<i32>,
    /// When the application started the connection (None: accepted).
    started: Option<std::time::Instant>,
}

struct Listener {
    port: u16,
    addr: Option<IpAddress>,
    pool: usize,
    /// Sockets in LISTEN, waiting for a SYN.
    idle: Vec<SocketHandle>,
    /// Sockets past their SYN, not yet established.
    embryos: Vec<SocketHandle>,
    /// Established connections, for accept.
    ready: VecDeque<SocketHandle>,
    notify: Notify,
}

struct Inner {
    iface: Interface,
    dev: PacketDevice,
    sockets: SocketSet<'static>,
    conns: HashMap<SocketHandle, Conn>,
    /// UDP and ICMP sockets: their notifier and queued bytes last seen.
    udps: HashMap<SocketHandle, (Notify, usize)>,
    /// An ICMP message a MSG_PEEK took out of its socket.
    icmp_peeked: HashMap<SocketHandle, (Vec<u8>, IpAddress)>,
    listeners: HashMap<u64, Listener>,
    next_listener: u64,
    /// Connections the application closed, finishing their FIN exchange.
    closing: Vec<SocketHandle>,
    /// Closed sockets kept for their buffers.
    spare: Vec<SocketHandle>,
    /// When the poll thread wakes by itself next (None: only on a frame).
    wake_at: Option<SInstant>,
}

pub struct Stack {
    inner: Mutex<Inner>,
    kick: OwnedFd,
    /// The packet socket, also the device's: the poll thread waits on it
    /// without the lock.
    dev_fd: Arc<OwnedFd>,
    nic: NicInfo,
    routes: Vec<RouteConfig>,
    epoch: std::time::Instant,
}

fn now(epoch: std::time::Instant) -> SInstant {
    SInstant::from_micros(epoch.elapsed().as_micros() as i64)
}

fn linux_state(s: tcp::State) -> u8 {
    use tcp::State::*;
    match s {
        Established => 1,
        SynSent => 2,
        SynReceived => 3,
        FinWait1 => 4,
        FinWait2 => 5,
        TimeWait => 6,
        Closed => 7,
        CloseWait => 8,
        LastAck => 9,
        Listen => 10,
        Closing => 11,
    }
}

impl Stack {
    /// Starts the stack on the first interface of `cfg` (None when it has
    /// none: the sandbox has loopback only). Further interfaces are not
    /// supported yet and are said so in the log.
    pub fn start(cfg: NetConfig) -> std::io::Result<Option<Arc<Stack>>> {
        let mut nics = cfg.nics.into_iter();
        let Some(nic) = nics.next() else { return Ok(None) };
        for other in nics {
            tracing::warn!(name = other.name, "only one network interface is supported: this one stays down");
        }
        let NicConfig { name, index, mac, mtu, addrs, fd } = nic;
        let info = NicInfo { name: name.clone(), index, mac, mtu, addrs: addrs.clone() };
        let fd = Arc::new(fd);
        let mut dev = PacketDevice::new(fd.clone(), mtu);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        let mut seed = [0u8; 8];
        rustix::rand::getrandom(&mut seed, rustix::rand::GetRandomFlags::empty())?;
        config.random_seed = u64::from_ne_bytes(seed);
        let epoch = std::time::Instant::now();
        let mut iface = Interface::new(config, &mut dev, now(epoch));
        iface.update_ip_addrs(|ips| {
            for (ip, prefix) in &addrs {
                if ips.push(IpCidr::new(IpAddress::from(*ip), *prefix)).is_err() {
                    tracing::warn!(%ip, "too many addresses on {name}: this one is left out");
                }
            }
        });
        let routes: Vec<RouteConfig> = cfg.routes.into_iter().filter(|r| r.nic == name).collect();
        for r in &routes {
            let Some(gw) = r.gateway else { continue };
            let route = smoltcp::iface::Route {
                cidr: IpCidr::new(IpAddress::from(r.dst), r.prefix),
                via_router: IpAddress::from(gw),
                preferred_until: None,
                expires_at: None,
            };
            let mut full = false;
            iface.routes_mut().update(|t| full = t.push(route).is_err());
            if full {
                tracing::warn!(dst = %r.dst, "too many routes: this one is left out");
            }
        }
        let kick =
            rustix::event::eventfd(0, rustix::event::EventfdFlags::NONBLOCK | rustix::event::EventfdFlags::CLOEXEC)?;
        let stack = Arc::new(Stack {
            inner: Mutex::new(Inner {
                iface,
                dev,
                sockets: SocketSet::new(Vec::new()),
                conns: HashMap::new(),
                udps: HashMap::new(),
                icmp_peeked: HashMap::new(),
                listeners: HashMap::new(),
                next_listener: 1,
                closing: Vec::new(),
                spare: Vec::new(),
                wake_at: None,
            }),
            kick,
            dev_fd: fd,
            nic: info,
            routes,
            epoch,
        });
        tracing::info!(nic = stack.nic.name, addrs = ?stack.nic.addrs, "network stack up");
        let runner = stack.clone();
        std::thread::Builder::new().name("netstack".into()).spawn(move || runner.run())?;
        Ok(Some(stack))
    }

    pub fn nic(&self) -> &NicInfo {
        &self.nic
    }

    pub fn routes(&self) -> &[RouteConfig] {
        &self.routes
    }

    /// Whether `ip` is one of the interface's own addresses.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.nic.addrs.iter().any(|(a, _)| *a == ip)
    }

    /// Whether a packet for `ip` has somewhere to go: an on-link subnet
    /// of the interface, or a route.
    pub fn reaches(&self, ip: IpAddr) -> bool {
        let on_link = self.nic.addrs.iter().any(|(a, p)| same_prefix(*a, ip, *p));
        on_link || self.routes.iter().any(|r| same_prefix(r.dst, ip, r.prefix))
    }

    /// The source address for traffic to `dst` (smoltcp's choice).
    pub fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        let g = self.lock();
        let src = g.iface.get_source_address(&IpAddress::from(dst))?;
        Some(src.into())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the stack, then polls, notifies, and wakes the poll
    /// thread if a timer now falls before its sleep ends.
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.lock();
        let g = &mut *guard;
        let r = f(g);
        let t = now(self.epoch);
        g.poll(t);
        let next = g.iface.poll_at(t, &g.sockets);
        let kick = match (next, g.wake_at) {
            (Some(n), Some(w)) => n < w,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if kick {
            g.wake_at = next;
        }
        drop(guard);
        if kick {
            let _ = rustix::io::write(&self.kick, &1u64.to_ne_bytes());
        }
        r
    }

    fn run(self: Arc<Self>) {
        let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
        let mut busy = false;
        loop {
            let timeout = {
                let mut g = self.lock();
                let t = now(self.epoch);
                g.poll(t);
                let g = &mut *g;
                let next = g.iface.poll_at(t, &g.sockets);
                g.wake_at = next;
                next.map(|n| if n > t { (n - t).total_micros() } else { 0 })
            };
            let ts = timeout.map(|us| rustix::time::Timespec {
                tv_sec: (us / 1_000_000) as i64,
                tv_nsec: ((us % 1_000_000) * 1000) as i64,
            });
            let mut fds = [PollFd::new(&*self.dev_fd, PollFlags::IN), PollFd::new(&self.kick, PollFlags::IN)];
            // Right after traffic the next frame is usually close behind
            // (the peer's answer): look for it a little while before
            // sleeping, which costs a cross-CPU wake-up here.
            let mut ready = 0;
            if busy {
                let until = std::time::Instant::now() + SPIN;
                while ready == 0 && std::time::Instant::now() < until {
                    ready = rustix::event::poll(&mut fds, Some(&zero)).unwrap_or(0);
                }
            }
            if ready == 0 {
                let _ = rustix::event::poll(&mut fds, ts.as_ref());
            }
            busy = !fds[0].revents().is_empty();
            if !fds[1].revents().is_empty() {
                let mut b = [0u8; 8];
                let _ = rustix::io::read(&self.kick, &mut b);
            }
        }
    }

    // ---- TCP ----

    /// Starts a connection from `local` (its port chosen by the caller;
    /// an unspecified address picks the source) to `remote`.
    pub fn tcp_connect(&self, local: SocketAddr, remote: SocketAddr, notify: Notify) -> Result<TcpId, Errno> {
        self.with(|g| {
            let h = fresh_tcp(&mut g.sockets, &mut g.spare);
            let sock = g.sockets.get_mut::<tcp::Socket>(h);
            let local_ep = IpListenEndpoint {
                addr: (!local.ip().is_unspecified()).then(|| IpAddress::from(local.ip())),
                port: local.port(),
            };
            let remote_ep = IpEndpoint::new(IpAddress::from(remote.ip()), remote.port());
            if let Err(e) = sock.connect(g.iface.context(), remote_ep, local_ep) {
                retire(&mut g.sockets, &mut g.spare, h);
                return Err(match e {
                    tcp::ConnectError::Unaddressable => Errno::NETUNREACH,
                    tcp::ConnectError::InvalidState => Errno::ISCONN,
                });
            }
            let mut conn = Conn::new(notify);
            conn.started = Some(std::time::Instant::now());
            g.conns.insert(h, conn);
            Ok(TcpId(h))
        })
    }

    pub fn tcp_status(&self, id: TcpId) -> TcpStatus {
        let g = self.lock();
        let Some(conn) = g.conns.get(&id.0) else { return TcpStatus { closed: true, ..TcpStatus::default() } };
        let s = g.sockets.get::<tcp::Socket>(id.0);
        let state = s.state();
        use tcp::State::*;
        let connecting = matches!(state, SynSent | SynReceived);
        let peer_closed = conn.ever_established && !s.may_recv() && !connecting;
        TcpStatus {
            connecting,
            established: conn.ever_established || (!connecting && state != Closed),
            readable: s.can_recv() || peer_closed,
            peer_closed,
            writable: s.may_send() && s.send_queue() < s.send_capacity(),
            closed: state == Closed,
            error: conn.error,
            recv_queue: s.recv_queue(),
            send_queue: s.send_queue(),
            linux_state: linux_state(state),
        }
    }

    /// Takes the pending error (SO_ERROR).
    pub fn tcp_take_error(&self, id: TcpId) -> Option<i32> {
        self.lock().conns.get_mut(&id.0).and_then(|c| c.error.take())
    }

    /// Queues what fits of `data`: EAGAIN when nothing does, EPIPE once
    /// this side or the connection is finished.
    pub fn tcp_send(&self, id: TcpId, data: &[u8]) -> Result<usize, Errno> {
        self.with(|g| {
            let s = g.sockets.get_mut::<tcp::Socket>(id.0);
            if !s.may_send() {
                return Err(if s.state() == tcp::State::SynSent { Errno::AGAIN } else { Errno::PIPE });
            }
            match s.send_slice(data) {
                Ok(0) if !data.is_empty() => Err(Errno::AGAIN),
                Ok(n) => Ok(n),
                Err(_) => Err(Errno::PIPE),
            }
        })
    }

    /// Reads into `buf`: Ok(0) at the peer's FIN, EAGAIN when nothing
    /// has arrived yet.
    pub fn tcp_recv(&self, id: TcpId, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        let mut op = |g: &mut Inner| {
            let s = g.sockets.get_mut::<tcp::Socket>(id.0);
            let r = if peek { s.peek_slice(buf) } else { s.recv_slice(buf) };
            match r {
                Ok(0) if !buf.is_empty() => {
                    if s.may_recv() || matches!(s.state(), tcp::State::SynSent | tcp::State::SynReceived) {
                        Err(Errno::AGAIN)
                    } else {
                        Ok(0)
                    }
                }
                Ok(n) => Ok(n),
                Err(tcp::RecvError::Finished) => Ok(0),
                Err(tcp::RecvError::InvalidState) => Err(Errno::NOTCONN),
            }
        };
        if peek {
            op(&mut self.lock())
        } else {
            // Reading opens the window: let the peer know now.
            self.with(op)
        }
    }

    /// shutdown(SHUT_WR): sends FIN once the queue drains.
    pub fn tcp_shutdown_write(&self, id: TcpId) {
        self.with(|g| g.sockets.get_mut::<tcp::Socket>(id.0).close());
    }

    /// The application let go of the socket: an orderly close (FIN) when
    /// everything it received was read, else a reset, as Linux does. The
    /// socket lingers until its FIN exchange is over.
    pub fn tcp_close(&self, id: TcpId) {
        self.with(|g| {
            g.conns.remove(&id.0);
            let s = g.sockets.get_mut::<tcp::Socket>(id.0);
            if s.recv_queue() > 0 {
                s.abort();
            } else {
                s.close();
            }
            g.closing.push(id.0);
        })
    }

    pub fn tcp_set_nodelay(&self, id: TcpId, nodelay: bool) {
        self.lock().sockets.get_mut::<tcp::Socket>(id.0).set_nagle_enabled(!nodelay);
    }

    pub fn tcp_endpoints(&self, id: TcpId) -> Option<(SocketAddr, SocketAddr)> {
        let g = self.lock();
        let s = g.sockets.get::<tcp::Socket>(id.0);
        let (l, r) = (s.local_endpoint()?, s.remote_endpoint()?);
        Some((SocketAddr::new(l.addr.into(), l.port), SocketAddr::new(r.addr.into(), r.port)))
    }

    /// Listens on `local` (unspecified address: every address of the
    /// interface) with room for `backlog` handshakes at once.
    pub fn tcp_listen(&self, local: SocketAddr, backlog: usize, notify: Notify) -> Result<ListenId, Errno> {
        self.with(|g| {
            let id = g.next_listener;
            g.next_listener += 1;
            let addr = (!local.ip().is_unspecified()).then(|| IpAddress::from(local.ip()));
            let mut l = Listener {
                port: local.port(),
                addr,
                pool: backlog.clamp(2, MAX_LISTEN_POOL),
                idle: Vec::new(),
                embryos: Vec::new(),
                ready: VecDeque::new(),
                notify,
            };
            l.refill(&mut g.sockets, &mut g.spare)?;
            g.listeners.insert(id, l);
            Ok(ListenId(id))
        })
    }

    /// An established connection, if one is waiting.
    pub fn tcp_accept(&self, id: ListenId, notify: Notify) -> Option<TcpId> {
        self.with(|g| {
            let h = g.listeners.get_mut(&id.0)?.ready.pop_front()?;
            let mut conn = Conn::new(notify);
            conn.ever_established = true;
            g.conns.insert(h, conn);
            Some(TcpId(h))
        })
    }

    pub fn tcp_acceptable(&self, id: ListenId) -> bool {
        self.lock().listeners.get(&id.0).is_some_and(|l| !l.ready.is_empty())
    }

    pub fn tcp_unlisten(&self, id: ListenId) {
        self.with(|g| {
            let Some(l) = g.listeners.remove(&id.0) else { return };
            for h in l.idle.into_iter().chain(l.embryos).chain(l.ready) {
                g.sockets.get_mut::<tcp::Socket>(h).abort();
                g.closing.push(h);
            }
        })
    }

    // ---- UDP ----

    pub fn udp_bind(&self, local: SocketAddr, notify: Notify) -> Result<UdpId, Errno> {
        self.with(|g| {
            let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0u8; UDP_BYTES]);
            let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0u8; UDP_BYTES]);
            let mut s = udp::Socket::new(rx, tx);
            let ep = IpListenEndpoint {
                addr: (!local.ip().is_unspecified()).then(|| IpAddress::from(local.ip())),
                port: local.port(),
            };
            s.bind(ep).map_err(|_| Errno::ADDRINUSE)?;
            let h = g.sockets.add(s);
            g.udps.insert(h, (notify, 0));
            Ok(UdpId(h))
        })
    }

    /// Sends one datagram to `dst` (from `src`, when the socket has a
    /// fixed address). EAGAIN when the queue is full.
    pub fn udp_send(&self, id: UdpId, src: Option<IpAddr>, dst: SocketAddr, data: &[u8]) -> Result<usize, Errno> {
        self.with(|g| {
            let s = g.sockets.get_mut::<udp::Socket>(id.0);
            let mut meta = udp::UdpMetadata::from(IpEndpoint::new(IpAddress::from(dst.ip()), dst.port()));
            meta.local_address = src.filter(|a| !a.is_unspecified()).map(IpAddress::from);
            match s.send_slice(data, meta) {
                Ok(()) => Ok(data.len()),
                Err(udp::SendError::BufferFull) => Err(Errno::AGAIN),
                Err(udp::SendError::Unaddressable) => Err(Errno::NETUNREACH),
            }
        })
    }

    /// The next datagram: (bytes copied, its full length, its sender).
    pub fn udp_recv(&self, id: UdpId, buf: &mut [u8], peek: bool) -> Result<(usize, usize, SocketAddr), Errno> {
        let mut g = self.lock();
        let s = g.sockets.get_mut::<udp::Socket>(id.0);
        let (data, from) = if peek {
            let (d, m) = s.peek().map_err(|_| Errno::AGAIN)?;
            (d, m.endpoint)
        } else {
            let (d, m) = s.recv().map_err(|_| Errno::AGAIN)?;
            (d, m.endpoint)
        };
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok((n, data.len(), SocketAddr::new(from.addr.into(), from.port)))
    }

    /// Size of the next datagram waiting, if any.
    pub fn udp_pending(&self, id: UdpId) -> Option<usize> {
        let mut g = self.lock();
        let s = g.sockets.get_mut::<udp::Socket>(id.0);
        s.peek().ok().map(|(d, _)| d.len())
    }

    pub fn udp_close(&self, id: UdpId) {
        self.with(|g| {
            g.udps.remove(&id.0);
            g.sockets.remove(id.0);
        })
    }

    // ---- ICMP echo ----

    /// Takes echo identifier `ident`: replies carrying it come here.
    pub fn icmp_bind(&self, ident: u16, notify: Notify) -> Result<IcmpId, Errno> {
        self.with(|g| {
            let rx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0u8; 64 << 10]);
            let tx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0u8; 64 << 10]);
            let mut s = icmp::Socket::new(rx, tx);
            s.bind(icmp::Endpoint::Ident(ident)).map_err(|_| Errno::ADDRINUSE)?;
            let h = g.sockets.add(s);
            g.udps.insert(h, (notify, 0));
            Ok(IcmpId(h))
        })
    }

    /// Sends one ICMP message (header and data, as the application built
    /// it; the checksum is computed again) to `dst`.
    pub fn icmp_send(&self, id: IcmpId, dst: IpAddr, message: &[u8]) -> Result<usize, Errno> {
        self.with(|g| {
            let s = g.sockets.get_mut::<icmp::Socket>(id.0);
            match s.send_slice(message, IpAddress::from(dst)) {
                Ok(()) => Ok(message.len()),
                Err(icmp::SendError::BufferFull) => Err(Errno::AGAIN),
                Err(icmp::SendError::Unaddressable) => Err(Errno::NETUNREACH),
            }
        })
    }

    /// The next ICMP message for the identifier: (bytes copied, its full
    /// length, its sender).
    pub fn icmp_recv(&self, id: IcmpId, buf: &mut [u8], peek: bool) -> Result<(usize, usize, IpAddr), Errno> {
        let mut g = self.lock();
        let g = &mut *g;
        // smoltcp cannot peek an ICMP socket: a peeked message waits here.
        let (data, from) = match g.icmp_peeked.remove(&id.0) {
            Some(m) => m,
            None => {
                let s = g.sockets.get_mut::<icmp::Socket>(id.0);
                let (d, a) = s.recv().map_err(|_| Errno::AGAIN)?;
                (d.to_vec(), a)
            }
        };
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        let full = data.len();
        if peek {
            g.icmp_peeked.insert(id.0, (data, from));
        }
        Ok((n, full, from.into()))
    }

    pub fn icmp_pending(&self, id: IcmpId) -> bool {
        let g = self.lock();
        g.icmp_peeked.contains_key(&id.0) || g.sockets.get::<icmp::Socket>(id.0).can_recv()
    }

    pub fn icmp_close(&self, id: IcmpId) {
        self.with(|g| {
            g.icmp_peeked.remove(&id.0);
            g.udps.remove(&id.0);
            g.sockets.remove(id.0);
        })
    }
}

fn same_prefix(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix.min(32) as u32) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix.min(128) as u32) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// A closed TCP socket with Linux's defaults: a spare one if there is
/// one, else a new one. Buffers are most of what a connection costs
/// (allocating and zeroing them took longer than the rest of an HTTP
/// request), so finished sockets are kept for reuse.
fn fresh_tcp(sockets: &mut SocketSet<'static>, spare: &mut Vec<SocketHandle>) -> SocketHandle {
    let h = spare.pop().unwrap_or_else(|| {
        sockets
            .add(tcp::Socket::new(tcp::SocketBuffer::new(vec![0u8; TCP_RX]), tcp::SocketBuffer::new(vec![0u8; TCP_TX])))
    });
    let s = sockets.get_mut::<tcp::Socket>(h);
    // Nagle on, keepalive off, delayed ACKs (smoltcp's 10 ms).
    s.set_nagle_enabled(true);
    s.set_keep_alive(None);
    s.set_ack_delay(Some(SDuration::from_millis(10)));
    s.set_timeout(Some(SDuration::from_micros(GIVE_UP.as_micros() as u64)));
    h
}

/// Takes a socket nobody uses any more out of play: reset if still open,
/// kept as a spare up to `MAX_SPARE`, else dropped.
fn retire(sockets: &mut SocketSet<'static>, spare: &mut Vec<SocketHandle>, h: SocketHandle) {
    let s = sockets.get_mut::<tcp::Socket>(h);
    if s.state() != tcp::State::Closed {
        s.abort();
    }
    if spare.len() < MAX_SPARE {
        spare.push(h);
    } else {
        sockets.remove(h);
    }
}

impl Conn {
    fn new(notify: Notify) -> Conn {
        Conn { notify, seen: (tcp::State::Closed, 0, 0), ever_established: false, error: None, started: None }
    }
}

impl Listener {
    /// Tops the pool of listening sockets up.
    fn refill(&mut self, sockets: &mut SocketSet<'static>, spare: &mut Vec<SocketHandle>) -> Result<(), Errno> {
        while self.idle.len() < self.pool {
            let h = fresh_tcp(sockets, spare);
            let at = IpListenEndpoint { addr: self.addr, port: self.port };
            if sockets.get_mut::<tcp::Socket>(h).listen(at).is_err() {
                retire(sockets, spare, h);
                return Err(Errno::ADDRINUSE);
            }
            self.idle.push(h);
        }
        Ok(())
    }
}

impl Inner {
    fn poll(&mut self, t: SInstant) {
        self.iface.poll(t, &mut self.dev, &mut self.sockets);
        self.tend_listeners();
        self.reap();
        self.notify_changes();
    }

    /// Moves sockets that took a SYN out of the pool, established ones
    /// to the accept queue, and drops handshakes that failed.
    fn tend_listeners(&mut self) {
        for l in self.listeners.values_mut() {
            let (sockets, spare) = (&mut self.sockets, &mut self.spare);
            let mut grew = false;
            let state = |s: &SocketSet<'static>, h: SocketHandle| s.get::<tcp::Socket>(h).state();
            let (still, taken): (Vec<_>, Vec<_>) =
                l.idle.drain(..).partition(|h| state(sockets, *h) == tcp::State::Listen);
            l.idle = still;
            l.embryos.extend(taken);
            let mut embryos = std::mem::take(&mut l.embryos);
            embryos.retain(|&h| match state(sockets, h) {
                tcp::State::SynReceived => true,
                tcp::State::Closed | tcp::State::Listen => {
                    retire(sockets, spare, h);
                    false
                }
                _ => {
                    l.ready.push_back(h);
                    grew = true;
                    false
                }
            });
            l.embryos = embryos;
            if let Err(e) = l.refill(sockets, spare) {
                tracing::warn!(port = l.port, "refilling the listen pool: {e}");
            }
            if grew {
                (l.notify)();
            }
        }
    }

    /// Forgets the sockets the application has let go of once their
    /// exchange of FINs is over. TIME_WAIT is not kept (nor is it between
    /// local sockets): a late duplicate of the peer's FIN is answered
    /// with a reset.
    fn reap(&mut self) {
        let (sockets, spare) = (&mut self.sockets, &mut self.spare);
        self.closing.retain(|&h| {
            let state = sockets.get::<tcp::Socket>(h).state();
            let done = matches!(state, tcp::State::Closed | tcp::State::TimeWait);
            if done {
                retire(sockets, spare, h);
            }
            !done
        });
    }

    fn notify_changes(&mut self) {
        for (h, c) in self.conns.iter_mut() {
            let s = self.sockets.get::<tcp::Socket>(*h);
            let now = (s.state(), s.recv_queue(), s.send_queue());
            if now == c.seen {
                continue;
            }
            let before = c.seen.0;
            c.seen = now;
            use tcp::State::*;
            match now.0 {
                SynSent | SynReceived | Listen => {}
                Closed => {
                    // A handshake ends in a reset (refused) or in silence
                    // until the socket's timeout (timed out).
                    let timed_out = c.started.is_some_and(|t| t.elapsed() >= GIVE_UP);
                    if !c.ever_established {
                        c.error.get_or_insert(libc_errno(if timed_out { Errno::TIMEDOUT } else { Errno::CONNREFUSED }));
                    } else if !matches!(before, TimeWait | LastAck | Closing | Closed) {
                        c.error.get_or_insert(libc_errno(Errno::CONNRESET));
                    }
                }
                _ => c.ever_established = true,
            }
            (c.notify)();
        }
        for (h, (notify, seen)) in self.udps.iter_mut() {
            // UDP and ICMP sockets, both datagram queues.
            let now = match self.sockets.get::<smoltcp::socket::Socket>(*h) {
                smoltcp::socket::Socket::Udp(s) => s.recv_queue() + s.send_queue(),
                smoltcp::socket::Socket::Icmp(s) => s.recv_queue() + s.send_queue(),
                _ => 0,
            };
            if now != *seen {
                *seen = now;
                notify();
            }
        }
    }
}

fn libc_errno(e: Errno) -> i32 {
    e.raw_os_error()
}
