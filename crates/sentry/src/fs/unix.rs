//! Unix-domain sockets inside the sentry (gVisor: `pkg/sentry/socket/unix`);
//! never host sockets. An endpoint owns its receive queue: a sender appends
//! messages to its peer's queue. Operations never block here; they answer
//! EAGAIN and the syscall layer sleeps on the socket's own queue. A sender
//! that found its peer full (or a listener's backlog full) registers in the
//! peer's `waiting` list and is notified when the peer takes data (Linux's
//! `peer_wait`).
//!
//! Names: abstract names (a leading NUL) live in a sentry-wide table, as in
//! a network namespace. Path names live in the same table, keyed by the
//! absolute path: the socket file does NOT appear in the file system
//! (stat of the path fails, unlink does not free the name; the name is
//! freed when the socket is closed).
//!
//! Shutdown follows Linux: `shutdown` sets bits on the socket and the
//! opposite bits on its peer; close sets both of the peer's bits.

use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply};
use abi::{ioctl, Errno, Stat};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

pub const AF_UNIX: u16 = 1;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_SEQPACKET: i32 = 5;
/// Receive side shut down (`RCV_SHUTDOWN`).
pub const SHUT_RCV: u8 = 1;
/// Send side shut down (`SEND_SHUTDOWN`).
pub const SHUT_SEND: u8 = 2;
/// Linux's `net.core.wmem_default`/`rmem_default`.
pub const DEFAULT_BUF: usize = 212_992;
/// Linux's `SOMAXCONN`.
pub const SOMAXCONN: usize = 4096;
/// Most descriptors in one SCM_RIGHTS message (`SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;

/// A socket address: the bytes of `sun_path` as reported back
/// (abstract: leading NUL and the name; path: the path and a NUL), and
/// the key in the name table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub raw: Vec<u8>,
    key: Vec<u8>,
    /// The path's file system node, as the syscall layer found or made it.
    pub node: Node,
}

/// A path name's node in the file system (Linux finds a bound socket
/// through its inode; moat through the name, checked against the node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// Not looked at: abstract names, names the file systems cannot hold
    /// (not UTF-8), and sockets bound where no socket node can be made
    /// (a file system that makes none): these go by name alone.
    Untracked,
    Missing,
    /// A socket node: (st_dev, st_ino).
    Socket(u64, u64),
    Other,
}

impl Addr {
    pub fn abstract_name(raw: Vec<u8>) -> Addr {
        Addr { key: raw.clone(), raw, node: Node::Untracked }
    }
    /// A path name: `raw` as given (without the NUL), `absolute` the key.
    pub fn path(mut raw: Vec<u8>, absolute: &[u8]) -> Addr {
        raw.push(0);
        Addr { raw, key: absolute.to_vec(), node: Node::Untracked }
    }
    /// The absolute path of a path name, if the file systems can hold it.
    pub fn fs_path(&self) -> Option<&str> {
        (!self.is_abstract()).then(|| std::str::from_utf8(&self.key).ok()).flatten()
    }
    pub fn is_abstract(&self) -> bool {
        self.key.first() == Some(&0)
    }
}

/// Credentials carried by a message or a connection (`struct ucred`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

struct Msg {
    data: Vec<u8>,
    /// Bytes of `data` already read (stream sockets read messages in part).
    off: usize,
    rights: Vec<Arc<dyn FileDescription>>,
    cred: Cred,
    from: Option<Addr>,
}

enum Conn {
    None,
    Listening { backlog: usize, pending: VecDeque<Arc<Endpoint>> },
    Connected(Arc<Endpoint>),
}

struct St {
    conn: Conn,
    bound: Option<Addr>,
    recv: VecDeque<Msg>,
    recv_bytes: usize,
    shutdown: u8,
    closed: bool,
    waiting: Vec<Weak<Endpoint>>,
    rcvbuf: usize,
    sndbuf: usize,
    passcred: bool,
    error: i32,
    peercred: Option<Cred>,
}

/// The state of one socket, shared with its peer and the name table.
pub struct Endpoint {
    pub ty: i32,
    pub queue: WaitQueue,
    ino: u64,
    /// The creator's credentials (reported to peers of a listener).
    cred: Cred,
    st: Mutex<St>,
}

/// What a receive returned.
pub struct Received {
    pub data: Vec<u8>,
    /// The whole message's length (datagrams; MSG_TRUNC).
    pub full_len: usize,
    pub rights: Vec<Arc<dyn FileDescription>>,
    pub cred: Option<Cred>,
    pub from: Option<Addr>,
}

/// Bound names: the socket and the node its bind made.
type Names = HashMap<Vec<u8>, (Weak<Endpoint>, Node)>;

fn names() -> &'static Mutex<Names> {
    static NAMES: OnceLock<Mutex<Names>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// The socket bound to `addr`. Abstract names are looked up per socket
/// type, as Linux hashes them (a mismatch is ECONNREFUSED); a path name of
/// another type is EPROTOTYPE. A path whose bind made a node is found
/// only through that node: gone (unlinked) is ENOENT, another file in its
/// place (or a socket node nobody is bound to) ECONNREFUSED, as Linux's
/// `unix_find_bsd`.
fn lookup(addr: &Addr, ty: i32) -> Result<Arc<Endpoint>, Errno> {
    let entry = names().lock().unwrap().get(&addr.key).and_then(|(w, n)| Some((w.upgrade()?, *n)));
    let found = match (entry, addr.node) {
        (Some((ep, Node::Socket(dev, ino))), at) if at != Node::Untracked => match at {
            Node::Socket(d, i) if (d, i) == (dev, ino) => Some(ep),
            Node::Missing => return Err(Errno::ENOENT),
            _ => return Err(Errno::ECONNREFUSED),
        },
        (Some((ep, _)), _) => Some(ep),
        (None, Node::Socket(..) | Node::Other) => return Err(Errno::ECONNREFUSED),
        (None, _) => None,
    };
    match found {
        Some(ep) if ep.ty != ty && addr.is_abstract() => Err(Errno::ECONNREFUSED),
        Some(ep) if ep.ty != ty => Err(Errno::EPROTOTYPE),
        Some(ep) if !ep.st.lock().unwrap().closed => Ok(ep),
        _ if addr.is_abstract() => Err(Errno::ECONNREFUSED),
        _ => Err(Errno::ENOENT),
    }
}

fn notify_all(eps: Vec<Arc<Endpoint>>) {
    for ep in eps {
        ep.queue.notify();
    }
}

impl Endpoint {
    pub fn new(ty: i32, cred: Cred) -> Arc<Endpoint> {
        static NEXT_INO: AtomicU64 = AtomicU64::new(1);
        Arc::new(Endpoint {
            ty,
            queue: WaitQueue::default(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            cred,
            st: Mutex::new(St {
                conn: Conn::None,
                bound: None,
                recv: VecDeque::new(),
                recv_bytes: 0,
                shutdown: 0,
                closed: false,
                waiting: Vec::new(),
                rcvbuf: DEFAULT_BUF,
                sndbuf: DEFAULT_BUF,
                passcred: false,
                error: 0,
                peercred: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn connection_oriented(&self) -> bool {
        self.ty != SOCK_DGRAM
    }

    /// Two connected endpoints (`socketpair`).
    pub fn pair(ty: i32, cred: Cred) -> (Arc<Endpoint>, Arc<Endpoint>) {
        let (a, b) = (Endpoint::new(ty, cred), Endpoint::new(ty, cred));
        Endpoint::join(&a, &b);
        (a, b)
    }

    /// Connects two fresh endpoints to each other; each reports the
    /// other's creator as its peer. Also the data path of a connected TCP
    /// socket over loopback (`net::inet`).
    pub fn join(a: &Arc<Endpoint>, b: &Arc<Endpoint>) {
        for (x, y) in [(a, b), (b, a)] {
            let mut st = x.lock();
            st.conn = Conn::Connected(y.clone());
            st.peercred = Some(y.cred);
        }
    }

    fn peer(&self) -> Option<Arc<Endpoint>> {
        match &self.lock().conn {
            Conn::Connected(p) => Some(p.clone()),
            _ => None,
        }
    }

    /// Wakes the senders waiting for room in this endpoint.
    fn wake_waiting(&self) {
        let waiting: Vec<Arc<Endpoint>> = self.lock().waiting.drain(..).filter_map(|w| w.upgrade()).collect();
        notify_all(waiting);
    }

    fn add_waiting(st: &mut St, me: &Arc<Endpoint>) {
        if !st.waiting.iter().any(|w| w.as_ptr() == Arc::as_ptr(me)) {
            st.waiting.push(Arc::downgrade(me));
        }
    }

    pub fn bind(self: &Arc<Self>, addr: Option<Addr>) -> Result<(), Errno> {
        let mut st = self.lock();
        if st.bound.is_some() {
            return Err(Errno::EINVAL);
        }
        let mut table = names().lock().unwrap();
        let addr = match addr {
            // A fresh socket node: whoever held the name had its node
            // unlinked, and lost the name with it.
            Some(a) if matches!(a.node, Node::Socket(..)) => a,
            Some(a) => {
                if table.get(&a.key).and_then(|(w, _)| w.upgrade()).is_some() {
                    return Err(Errno::EADDRINUSE);
                }
                a
            }
            None => {
                // Autobind: five hex digits after a NUL, as Linux.
                static NEXT: AtomicU64 = AtomicU64::new(1);
                loop {
                    let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0xfffff;
                    let mut raw = vec![0u8];
                    raw.extend(format!("{n:05x}").bytes());
                    let a = Addr::abstract_name(raw);
                    if table.get(&a.key).and_then(|(w, _)| w.upgrade()).is_none() {
                        break a;
                    }
                }
            }
        };
        table.insert(addr.key.clone(), (Arc::downgrade(self), addr.node));
        st.bound = Some(addr);
        Ok(())
    }

    pub fn bound(&self) -> Option<Addr> {
        self.lock().bound.clone()
    }

    pub fn peer_addr(&self) -> Result<Option<Addr>, Errno> {
        let peer = self.peer().ok_or(Errno::ENOTCONN)?;
        Ok(peer.bound())
    }

    pub fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !self.connection_oriented() {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = (backlog.max(0) as usize).min(SOMAXCONN);
        let mut st = self.lock();
        if st.bound.is_none() {
            return Err(Errno::EINVAL);
        }
        match &mut st.conn {
            Conn::Connected(_) => return Err(Errno::EINVAL),
            Conn::Listening { backlog: b, .. } => *b = backlog,
            c @ Conn::None => *c = Conn::Listening { backlog, pending: VecDeque::new() },
        }
        drop(st);
        self.wake_waiting();
        self.queue.notify();
        Ok(())
    }

    pub fn is_listening(&self) -> bool {
        matches!(self.lock().conn, Conn::Listening { .. })
    }

    /// Connects to the socket bound to `addr`. Connection-oriented: queues
    /// a new endpoint on the listener's backlog (EAGAIN when it is full).
    /// Datagram: sets the default destination (`None`: AF_UNSPEC, dissolve).
    pub fn connect(self: &Arc<Self>, addr: Option<&Addr>, cred: Cred) -> Result<(), Errno> {
        if !self.connection_oriented() {
            let target = match addr {
                Some(a) => Some(lookup(a, self.ty)?),
                None => None,
            };
            if target.as_ref().is_some_and(|t| t.ty != self.ty) {
                return Err(Errno::EPROTOTYPE);
            }
            let mut st = self.lock();
            st.conn = target.map_or(Conn::None, Conn::Connected);
            drop(st);
            self.queue.notify();
            return Ok(());
        }
        let addr = addr.ok_or(Errno::EINVAL)?;
        match self.lock().conn {
            Conn::Listening { .. } => return Err(Errno::EINVAL),
            Conn::Connected(_) => return Err(Errno::EISCONN),
            Conn::None => {}
        }
        let listener = lookup(addr, self.ty)?;
        if listener.ty != self.ty {
            return Err(Errno::EPROTOTYPE);
        }
        let server = Endpoint::new(self.ty, listener.cred);
        {
            let mut ls = listener.lock();
            if ls.closed {
                return Err(Errno::ECONNREFUSED);
            }
            let (sndbuf, rcvbuf, bound) = (ls.sndbuf, ls.rcvbuf, ls.bound.clone());
            let Conn::Listening { backlog, pending } = &mut ls.conn else { return Err(Errno::ECONNREFUSED) };
            // Linux `unix_recvq_full`: more than `backlog` pending.
            if pending.len() > *backlog {
                Self::add_waiting(&mut ls, self);
                return Err(Errno::EAGAIN);
            }
            let mut ss = server.lock();
            ss.conn = Conn::Connected(self.clone());
            ss.peercred = Some(cred);
            ss.bound = bound;
            ss.sndbuf = sndbuf;
            ss.rcvbuf = rcvbuf;
            drop(ss);
            pending.push_back(server.clone());
        }
        {
            let mut st = self.lock();
            st.conn = Conn::Connected(server);
            st.peercred = Some(listener.cred);
        }
        listener.queue.notify();
        self.queue.notify();
        Ok(())
    }

    /// Takes a pending connection (EAGAIN when none).
    pub fn accept(&self) -> Result<Arc<Endpoint>, Errno> {
        if !self.connection_oriented() {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.lock();
        let Conn::Listening { pending, .. } = &mut st.conn else { return Err(Errno::EINVAL) };
        let ep = pending.pop_front().ok_or(Errno::EAGAIN)?;
        drop(st);
        self.wake_waiting();
        self.queue.notify();
        Ok(ep)
    }

    /// Sends one message (`to`: a datagram's destination). Stream sockets
    /// take what fits; datagrams and seqpackets all or nothing. EAGAIN when
    /// the peer is full (the sender is then notified when it has room).
    pub fn send(
        self: &Arc<Self>,
        to: Option<&Addr>,
        data: &[u8],
        rights: &[Arc<dyn FileDescription>],
        cred: Cred,
    ) -> Result<usize, Errno> {
        let target = {
            let st = self.lock();
            if st.shutdown & SHUT_SEND != 0 {
                return Err(Errno::EPIPE);
            }
            let connected = match &st.conn {
                Conn::Connected(p) => Some(p.clone()),
                _ => None,
            };
            drop(st);
            match (self.connection_oriented(), to, connected) {
                (true, _, Some(p)) => p,
                (false, Some(to), _) => return self.send_to(lookup(to, self.ty)?, data, rights, cred, true),
                (false, None, Some(p)) => p,
                (_, _, None) => return Err(Errno::ENOTCONN),
            }
        };
        self.send_to(target, data, rights, cred, false)
    }

    fn send_to(
        self: &Arc<Self>,
        target: Arc<Endpoint>,
        data: &[u8],
        rights: &[Arc<dyn FileDescription>],
        cred: Cred,
        explicit: bool,
    ) -> Result<usize, Errno> {
        let (from, limit) = {
            let st = self.lock();
            (st.bound.clone(), st.sndbuf)
        };
        if target.ty != self.ty {
            return Err(Errno::EPROTOTYPE);
        }
        let stream = self.ty == SOCK_STREAM;
        if !stream && data.len() > limit {
            return Err(Errno::EMSGSIZE);
        }
        let mut ts = target.lock();
        if ts.closed {
            return Err(if self.connection_oriented() { Errno::EPIPE } else { Errno::ECONNREFUSED });
        }
        if explicit {
            // A datagram socket connected elsewhere refuses others (EPERM).
            if let Conn::Connected(p) = &ts.conn {
                if !Arc::ptr_eq(p, self) {
                    return Err(Errno::EPERM);
                }
            }
        }
        if self.connection_oriented() && ts.shutdown & SHUT_RCV != 0 {
            return Err(Errno::EPIPE);
        }
        let room = limit.saturating_sub(ts.recv_bytes);
        let n = if stream {
            if room == 0 && !data.is_empty() {
                Self::add_waiting(&mut ts, self);
                return Err(Errno::EAGAIN);
            }
            room.min(data.len())
        } else {
            if data.len() > room && !ts.recv.is_empty() {
                Self::add_waiting(&mut ts, self);
                return Err(Errno::EAGAIN);
            }
            data.len()
        };
        if stream && n == 0 && rights.is_empty() {
            return Ok(0);
        }
        ts.recv_bytes += n;
        ts.recv.push_back(Msg { data: data[..n].to_vec(), off: 0, rights: rights.to_vec(), cred, from });
        drop(ts);
        target.queue.notify();
        Ok(n)
    }

    /// Receives up to `len` bytes: from one message (datagram, seqpacket)
    /// or across messages (stream, stopping at descriptors). EAGAIN when
    /// empty; an empty result at end of stream.
    pub fn recv(&self, len: usize, peek: bool) -> Result<Received, Errno> {
        let mut st = self.lock();
        if let Conn::Listening { .. } = st.conn {
            return Err(Errno::EINVAL);
        }
        let want_cred = st.passcred;
        let mut out = Received { data: Vec::new(), full_len: 0, rights: Vec::new(), cred: None, from: None };
        if st.recv.is_empty() {
            if st.shutdown & SHUT_RCV != 0 {
                return Ok(out);
            }
            if self.ty == SOCK_SEQPACKET && !matches!(st.conn, Conn::Connected(_)) {
                return Err(Errno::ENOTCONN);
            }
            return Err(Errno::EAGAIN);
        }
        let taken;
        if self.ty == SOCK_STREAM {
            let mut i = 0;
            let mut total = 0;
            while i < st.recv.len() && out.data.len() < len {
                let m = &mut st.recv[i];
                if !m.rights.is_empty() && !out.data.is_empty() {
                    break;
                }
                if i == 0 {
                    out.cred = Some(m.cred);
                    out.from = m.from.clone();
                }
                let k = (len - out.data.len()).min(m.data.len() - m.off);
                out.data.extend_from_slice(&m.data[m.off..m.off + k]);
                let had_rights = !m.rights.is_empty();
                if peek {
                    out.rights.extend(m.rights.iter().cloned());
                } else {
                    out.rights.append(&mut m.rights);
                    m.off += k;
                }
                total += k;
                i += 1;
                if had_rights {
                    break;
                }
            }
            taken = if peek { 0 } else { total };
            out.full_len = out.data.len();
            if !peek {
                while st.recv.front().is_some_and(|m| m.off >= m.data.len() && m.rights.is_empty()) {
                    st.recv.pop_front();
                }
            }
        } else {
            let m = if peek {
                let m = &st.recv[0];
                Msg { data: m.data.clone(), off: 0, rights: m.rights.clone(), cred: m.cred, from: m.from.clone() }
            } else {
                st.recv.pop_front().unwrap()
            };
            taken = if peek { 0 } else { m.data.len() };
            out.full_len = m.data.len();
            out.data = m.data;
            out.data.truncate(len);
            out.rights = m.rights;
            out.cred = Some(m.cred);
            out.from = m.from;
        }
        st.recv_bytes -= taken;
        if !want_cred {
            out.cred = None;
        }
        drop(st);
        if taken > 0 {
            self.wake_waiting();
            self.queue.notify();
        }
        Ok(out)
    }

    /// `shutdown(how)`: SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2.
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        let mode = match how {
            0 => SHUT_RCV,
            1 => SHUT_SEND,
            2 => SHUT_RCV | SHUT_SEND,
            _ => return Err(Errno::EINVAL),
        };
        let peer = {
            let mut st = self.lock();
            st.shutdown |= mode;
            match &st.conn {
                Conn::Connected(p) if self.connection_oriented() => Some(p.clone()),
                Conn::Connected(_) | Conn::None => None,
                Conn::Listening { .. } => None,
            }
        };
        if let Some(p) = &peer {
            let mut peer_mode = 0;
            if mode & SHUT_RCV != 0 {
                peer_mode |= SHUT_SEND;
            }
            if mode & SHUT_SEND != 0 {
                peer_mode |= SHUT_RCV;
            }
            p.lock().shutdown |= peer_mode;
            p.queue.notify();
            p.wake_waiting();
        }
        self.queue.notify();
        self.wake_waiting();
        Ok(())
    }

    /// The socket's last reference went away.
    pub(crate) fn close(&self) {
        let (conn, recv, waiting) = {
            let mut st = self.lock();
            st.closed = true;
            st.shutdown = SHUT_RCV | SHUT_SEND;
            if let Some(a) = st.bound.take() {
                let mut table = names().lock().unwrap();
                if table.get(&a.key).is_some_and(|(w, _)| std::ptr::eq(w.as_ptr(), self)) {
                    table.remove(&a.key);
                }
            }
            st.recv_bytes = 0;
            (std::mem::replace(&mut st.conn, Conn::None), std::mem::take(&mut st.recv), std::mem::take(&mut st.waiting))
        };
        match conn {
            Conn::Connected(p) if self.connection_oriented() => {
                p.lock().shutdown = SHUT_RCV | SHUT_SEND;
                p.queue.notify();
                p.wake_waiting();
            }
            Conn::Listening { pending, .. } => {
                for ep in pending {
                    ep.close();
                }
            }
            _ => {}
        }
        notify_all(waiting.into_iter().filter_map(|w| w.upgrade()).collect());
        self.queue.notify();
        // Descriptors in flight are closed here, outside every lock.
        drop(recv);
    }

    /// Linux `unix_poll` / `unix_dgram_poll`.
    pub fn readiness(self: &Arc<Self>) -> u32 {
        use abi::poll::*;
        let st = self.lock();
        let mut ready = 0;
        if st.error != 0 {
            ready |= POLLERR;
        }
        if st.shutdown & SHUT_RCV != 0 {
            ready |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if st.shutdown == SHUT_RCV | SHUT_SEND {
            ready |= POLLHUP;
        }
        if !st.recv.is_empty() {
            ready |= POLLIN | POLLRDNORM;
        }
        let peer = match &st.conn {
            Conn::Listening { pending, .. } => {
                if !pending.is_empty() {
                    ready |= POLLIN | POLLRDNORM;
                }
                return ready;
            }
            Conn::None if self.connection_oriented() => {
                ready |= POLLHUP;
                None
            }
            Conn::None => None,
            Conn::Connected(p) => Some(p.clone()),
        };
        let limit = st.sndbuf;
        drop(st);
        let writable = match peer {
            None => true,
            Some(p) => {
                let mut ps = p.lock();
                let ok = ps.closed || ps.recv_bytes * 4 <= limit;
                if !ok {
                    Self::add_waiting(&mut ps, self);
                }
                ok
            }
        };
        if writable {
            ready |= POLLOUT | POLLWRNORM | POLLWRBAND;
        }
        ready
    }

    pub fn peercred(&self) -> Option<Cred> {
        self.lock().peercred
    }
    pub fn take_error(&self) -> i32 {
        std::mem::take(&mut self.lock().error)
    }
    pub fn passcred(&self) -> bool {
        self.lock().passcred
    }
    pub fn set_passcred(&self, on: bool) {
        self.lock().passcred = on;
    }
    pub fn bufs(&self) -> (usize, usize) {
        let st = self.lock();
        (st.sndbuf, st.rcvbuf)
    }
    pub fn set_bufs(&self, snd: Option<usize>, rcv: Option<usize>) {
        let mut st = self.lock();
        if let Some(s) = snd {
            st.sndbuf = s;
        }
        if let Some(r) = rcv {
            st.rcvbuf = r;
        }
    }
    /// `SHUT_RCV`/`SHUT_SEND` bits as they stand.
    pub fn shutdown_bits(&self) -> u8 {
        self.lock().shutdown
    }
    pub fn unread(&self) -> usize {
        let st = self.lock();
        st.recv.iter().map(|m| m.data.len() - m.off).sum()
    }
}

/// /proc/net/unix: the sockets that hold a name (Linux lists unnamed ones
/// too).
pub fn proc_net_unix() -> String {
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    let live: Vec<Arc<Endpoint>> = names().lock().unwrap().values().filter_map(|(w, _)| w.upgrade()).collect();
    let mut live = live;
    live.sort_by_key(|e| e.ino);
    for ep in live {
        let st = ep.lock();
        let (flags, state) = match st.conn {
            Conn::Listening { .. } => (0x10000, 1),
            Conn::Connected(_) => (0, 3),
            Conn::None => (0, 1),
        };
        let path = st.bound.as_ref().map(|a| {
            let raw = a.raw.strip_suffix(&[0]).unwrap_or(&a.raw);
            let mut p = String::from_utf8_lossy(raw).into_owned();
            if a.is_abstract() {
                p.replace_range(..1, "@");
            }
            p
        });
        out.push_str(&format!(
            "0000000000000000: 00000002 00000000 {flags:08X} {:04X} {state:02X} {} {}\n",
            ep.ty,
            ep.ino,
            path.unwrap_or_default()
        ));
    }
    out
}

/// A socket as an open file description.
pub struct UnixSocket {
    pub ep: Arc<Endpoint>,
    flags: crate::vfs::StatusFlags,
    pub opts: Mutex<crate::net::SockOpts>,
}

impl UnixSocket {
    pub fn new(ep: Arc<Endpoint>, nonblock: bool) -> UnixSocket {
        UnixSocket { ep, flags: crate::vfs::StatusFlags::new(nonblock), opts: Mutex::default() }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.ep.close();
    }
}

impl FileDescription for UnixSocket {
    fn flags(&self) -> u64 {
        self.flags.get()
    }

    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }

    /// read(2): descriptors in flight are dropped, as Linux does.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() && self.ep.ty == SOCK_STREAM {
            return Ok(0);
        }
        let r = self.ep.recv(buf.len(), false)?;
        buf[..r.data.len()].copy_from_slice(&r.data);
        Ok(r.data.len())
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.ep.send(None, data, &[], self.ep.cred)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(crate::net::socket_stat(self.ep.ino))
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD => Ok(IoctlReply::Out((self.ep.unread() as i32).to_le_bytes().to_vec())),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self) -> String {
        crate::net::socket_path(self.ep.ino)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.ep.queue)
    }

    fn readiness(&self, _mask: u32) -> u32 {
        self.ep.readiness()
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_socket(&self) -> Option<crate::net::SocketRef<'_>> {
        Some(crate::net::SocketRef::Unix(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::poll::*;

    fn cred() -> Cred {
        Cred { pid: 1, uid: 0, gid: 0 }
    }

    fn abs(name: &str) -> Addr {
        let mut raw = vec![0u8];
        raw.extend(name.bytes());
        Addr::abstract_name(raw)
    }

    #[test]
    fn stream_bytes_flow_and_eof() {
        let (a, b) = Endpoint::pair(SOCK_STREAM, cred());
        assert_eq!(b.recv(8, false).err(), Some(Errno::EAGAIN));
        assert_eq!(a.send(None, b"hel", &[], cred()), Ok(3));
        assert_eq!(a.send(None, b"lo", &[], cred()), Ok(2));
        assert_eq!(b.readiness() & POLLIN, POLLIN);
        assert_eq!(b.recv(4, true).unwrap().data, b"hell");
        assert_eq!(b.recv(4, false).unwrap().data, b"hell");
        assert_eq!(b.recv(4, false).unwrap().data, b"o");
        a.shutdown(1).unwrap();
        assert_eq!(b.recv(4, false).unwrap().data, b"");
        assert_ne!(b.readiness() & POLLRDHUP, 0);
        assert_eq!(a.send(None, b"x", &[], cred()), Err(Errno::EPIPE));
        let sb = UnixSocket::new(b, false);
        drop(sb);
        assert_eq!(a.recv(1, false).unwrap().data, b"");
        assert_ne!(a.readiness() & POLLHUP, 0);
    }

    #[test]
    fn dgram_keeps_boundaries() {
        let (a, b) = Endpoint::pair(SOCK_DGRAM, cred());
        a.send(None, b"one", &[], cred()).unwrap();
        a.send(None, b"three", &[], cred()).unwrap();
        let r = b.recv(2, false).unwrap();
        assert_eq!((r.data.as_slice(), r.full_len), (&b"on"[..], 3));
        assert_eq!(b.recv(100, false).unwrap().data, b"three");
        assert_eq!(b.recv(100, false).err(), Some(Errno::EAGAIN));
    }

    #[test]
    fn rights_pass_a_pipe_end() {
        let (a, b) = Endpoint::pair(SOCK_STREAM, cred());
        let (r, w) = crate::fs::pipe::new_pipe(0);
        let r: Arc<dyn FileDescription> = Arc::new(r);
        a.send(None, b"x", std::slice::from_ref(&r), cred()).unwrap();
        drop(r);
        w.write(b"data").unwrap();
        let got = b.recv(10, false).unwrap();
        assert_eq!(got.rights.len(), 1);
        let mut buf = [0u8; 8];
        assert_eq!(got.rights[0].read(&mut buf), Ok(4));
    }

    #[test]
    fn backlog_and_accept() {
        let l = Endpoint::new(SOCK_STREAM, cred());
        l.bind(Some(abs("moat-unit-backlog"))).unwrap();
        let c0 = Endpoint::new(SOCK_STREAM, cred());
        assert_eq!(c0.connect(Some(&abs("moat-unit-backlog")), cred()), Err(Errno::ECONNREFUSED));
        l.listen(0).unwrap();
        assert_eq!(l.accept().err(), Some(Errno::EAGAIN));
        let c1 = Endpoint::new(SOCK_STREAM, cred());
        c1.connect(Some(&abs("moat-unit-backlog")), cred()).unwrap();
        let c2 = Endpoint::new(SOCK_STREAM, cred());
        assert_eq!(c2.connect(Some(&abs("moat-unit-backlog")), cred()), Err(Errno::EAGAIN));
        assert_ne!(l.readiness() & POLLIN, 0);
        let s = l.accept().unwrap();
        c2.connect(Some(&abs("moat-unit-backlog")), cred()).unwrap();
        c1.send(None, b"ping", &[], cred()).unwrap();
        assert_eq!(s.recv(8, false).unwrap().data, b"ping");
        assert_eq!(s.bound(), Some(abs("moat-unit-backlog")));
        let other = Endpoint::new(SOCK_STREAM, cred());
        assert_eq!(other.bind(Some(abs("moat-unit-backlog"))), Err(Errno::EADDRINUSE));
    }

    #[test]
    fn autobind_names() {
        let a = Endpoint::new(SOCK_DGRAM, cred());
        a.bind(None).unwrap();
        let raw = a.bound().unwrap().raw;
        assert_eq!(raw.len(), 6);
        assert_eq!(raw[0], 0);
    }
}
