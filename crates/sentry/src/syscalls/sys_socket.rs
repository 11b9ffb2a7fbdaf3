//! Socket syscalls (gVisor: `sys_socket.go`), dispatched by family:
//! AF_UNIX (`fs::unix`), AF_INET/AF_INET6 (`net::inet`; with
//! `--network=host`, `net::hostinet`, whose transport is a host socket the
//! sentry drives) and AF_NETLINK/NETLINK_ROUTE (`net::netlink`), all the
//! sentry's own file descriptions. Addresses travel between here and the families as the
//! raw `sockaddr` bytes the application wrote or will read, except Unix
//! path names, which need the caller's working directory.

use crate::fs::unix::{
    Addr, Cred, Endpoint, Node, UnixSocket, AF_UNIX, SCM_MAX_FD, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM,
};
use crate::kernel::Task;
use crate::net::addr::{AF_INET, AF_INET6};
use crate::net::hostinet::HostSocket;
use crate::net::inet::{InetFile, InetSocket, Proto, SendCtl, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE};
use crate::net::netlink::{NetlinkSocket, AF_NETLINK, NETLINK_ROUTE};
use crate::net::{iface, SocketRef};
use crate::vfs::FileDescription;
use abi::{fcntl, Errno};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(super) const SOCK_NONBLOCK: u64 = fcntl::O_NONBLOCK;
pub(super) const SOCK_CLOEXEC: u64 = fcntl::O_CLOEXEC;
pub(super) const SOCK_RAW: i32 = 3;
pub(super) const SUN_LEN: usize = 110;
/// Largest socket address read from the application (`sockaddr_storage`).
pub(super) const ADDR_MAX: usize = 128;

pub(super) const MSG_PEEK: u64 = 0x2;
pub(super) const MSG_CTRUNC: u32 = 0x8;
pub(super) const MSG_TRUNC: u64 = 0x20;
pub(super) const MSG_DONTWAIT: u64 = 0x40;
pub(super) const MSG_WAITALL: u64 = 0x100;
pub(super) const MSG_NOSIGNAL: u64 = 0x4000;
pub(super) const MSG_WAITFORONE: u64 = 0x10000;
pub(super) const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;

pub(super) const SOL_SOCKET: u64 = 1;
pub(super) const SOL_IP: u64 = 0;
pub(super) const SOL_IPV6: u64 = 41;
pub(super) const SOL_NETLINK: u64 = 270;
pub(super) const SCM_RIGHTS: i32 = 1;
pub(super) const SCM_CREDENTIALS: i32 = 2;

pub(super) const SO_REUSEADDR: u64 = 2;
pub(super) const SO_TYPE: u64 = 3;
pub(super) const SO_ERROR: u64 = 4;
pub(super) const SO_BROADCAST: u64 = 6;
pub(super) const SO_SNDBUF: u64 = 7;
pub(super) const SO_RCVBUF: u64 = 8;
pub(super) const SO_KEEPALIVE: u64 = 9;
pub(super) const SO_OOBINLINE: u64 = 10;
pub(super) const SO_PRIORITY: u64 = 12;
pub(super) const SO_LINGER: u64 = 13;
pub(super) const SO_REUSEPORT: u64 = 15;
pub(super) const SO_PASSCRED: u64 = 16;
pub(super) const SO_PEERCRED: u64 = 17;
pub(super) const SO_RCVLOWAT: u64 = 18;
pub(super) const SO_SNDLOWAT: u64 = 19;
pub(super) const SO_RCVTIMEO: u64 = 20;
pub(super) const SO_SNDTIMEO: u64 = 21;
pub(super) const SO_ACCEPTCONN: u64 = 30;
pub(super) const SO_PROTOCOL: u64 = 38;
pub(super) const SO_DOMAIN: u64 = 39;

pub(super) const TCP_NODELAY: u64 = 1;
pub(super) const TCP_MAXSEG: u64 = 2;
pub(super) const TCP_CORK: u64 = 3;
pub(super) const TCP_KEEPIDLE: u64 = 4;
pub(super) const TCP_KEEPINTVL: u64 = 5;
pub(super) const TCP_KEEPCNT: u64 = 6;
pub(super) const TCP_INFO: u64 = 11;
pub(super) const TCP_CONGESTION: u64 = 13;
pub(super) const IP_TOS: u64 = 1;
pub(super) const IP_TTL: u64 = 2;
pub(super) const IPV6_UNICAST_HOPS: u64 = 16;
pub(super) const IPV6_V6ONLY: u64 = 26;
pub(super) const IPV6_RECVHOPLIMIT: u64 = 51;
pub(super) const IPV6_HOPLIMIT: u64 = 52;
pub(super) const IPV6_RECVTCLASS: u64 = 66;
pub(super) const IPV6_TCLASS: u64 = 67;
pub(super) const SOL_UDP: u64 = 17;
pub(super) const SOL_UDPLITE: u64 = 136;
pub(super) const UDPLITE_SEND_CSCOV: u64 = 10;
pub(super) const UDPLITE_RECV_CSCOV: u64 = 11;
/// Linux's `net.core.wmem_max`/`rmem_max`.
pub(super) const BUF_MAX: u64 = 212_992;

pub(super) fn fd_arg(a: u64) -> i64 {
    a as i32 as i64
}

pub(super) fn cred(task: &Task) -> Cred {
    Cred { pid: task.pid, uid: task.creds.uid, gid: task.creds.gid }
}

pub(super) fn socket_of(task: &Task, fd: u64) -> Result<Arc<dyn FileDescription>, Errno> {
    let file = task.fds.get(fd_arg(fd))?;
    file.as_socket().ok_or(Errno::ENOTSOCK)?;
    Ok(file)
}

pub(super) fn sock(file: &Arc<dyn FileDescription>) -> SocketRef<'_> {
    file.as_socket().expect("checked by socket_of")
}

pub(super) fn nonblocking(file: &dyn FileDescription, flags: u64) -> bool {
    file.flags() & fcntl::O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0
}

/// Runs `op`, sleeping on the socket's queue while it answers EAGAIN
/// unless the call is non-blocking; `timeout` (SO_RCVTIMEO/SO_SNDTIMEO)
/// ends the wait with EAGAIN.
pub(super) fn wait<T>(
    task: &Task,
    s: SocketRef<'_>,
    nonblock: bool,
    timeout: Option<Duration>,
    op: impl FnMut() -> Result<T, Errno>,
) -> Result<T, Errno> {
    let mut op = op;
    if nonblock {
        op()
    } else {
        task.block_on_for(s.queue(), timeout, op)
    }
}

pub(super) fn log_family_once(domain: u64) {
    static SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap();
    if !seen.contains(&domain) {
        seen.push(domain);
        tracing::warn!("socket family {domain} is not supported: EAFNOSUPPORT (logged once)");
    }
}

/// Checks type flags; returns (type, nonblock, cloexec).
pub(super) fn type_args(ty: u64) -> Result<(i32, bool, bool), Errno> {
    if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(((ty & 0xf) as i32, ty & SOCK_NONBLOCK != 0, ty & SOCK_CLOEXEC != 0))
}

/// Checks a Unix socket's type and protocol.
pub(super) fn unix_kind(kind: i32, proto: u64) -> Result<i32, Errno> {
    let kind = match kind {
        SOCK_STREAM => SOCK_STREAM,
        SOCK_DGRAM | SOCK_RAW => SOCK_DGRAM,
        SOCK_SEQPACKET => SOCK_SEQPACKET,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    if proto != 0 && proto != AF_UNIX as u64 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(kind)
}

pub fn socket(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (domain, proto) = (a[0], a[2]);
    let (kind, nonblock, cloexec) = type_args(a[1])?;
    let file: Arc<dyn FileDescription> = match domain as u16 {
        AF_UNIX if domain == AF_UNIX as u64 => {
            Arc::new(UnixSocket::new(Endpoint::new(unix_kind(kind, proto)?, cred(task)), nonblock))
        }
        AF_INET | AF_INET6 if domain < 0x10000 => {
            let p = match (kind, proto as i32) {
                (SOCK_STREAM, 0 | IPPROTO_TCP) => Proto::Tcp,
                (SOCK_DGRAM, 0 | IPPROTO_UDP) => Proto::Udp,
                (SOCK_DGRAM, IPPROTO_UDPLITE) => Proto::UdpLite,
                // Ping sockets: net.ipv4.ping_group_range is Linux's default
                // "1 0", no group may.
                (SOCK_DGRAM, IPPROTO_ICMP) if domain == AF_INET as u64 => return Err(Errno::EACCES),
                (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
                // Raw sockets need CAP_NET_RAW; the sentry has raw IPv4 ICMP
                // (ping) in its own stack, not under --network=host.
                (SOCK_RAW, _) if !task.creds.capable(crate::kernel::caps::CAP_NET_RAW) => return Err(Errno::EPERM),
                (SOCK_RAW, IPPROTO_ICMP) if domain == AF_INET as u64 && crate::net::host().is_none() => Proto::Icmp,
                (SOCK_RAW, _) => return Err(Errno::EPROTONOSUPPORT),
                _ => return Err(Errno::ESOCKTNOSUPPORT),
            };
            if crate::net::host().is_some() {
                HostSocket::new(domain as u16, kind, proto as i32, task.creds.euid, nonblock)?
                    as Arc<dyn FileDescription>
            } else {
                Arc::new(InetFile::new(InetSocket::new(domain as u16, p, task.creds.euid), nonblock))
            }
        }
        AF_NETLINK if domain == AF_NETLINK as u64 => {
            if kind != SOCK_RAW && kind != SOCK_DGRAM {
                return Err(Errno::ESOCKTNOSUPPORT);
            }
            if proto != NETLINK_ROUTE {
                return Err(Errno::EPROTONOSUPPORT);
            }
            Arc::new(NetlinkSocket::new(kind, nonblock))
        }
        _ => {
            log_family_once(domain);
            return Err(Errno::EAFNOSUPPORT);
        }
    };
    Ok(task.fds.insert(0, file, cloexec)? as u64)
}

pub fn socketpair(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (kind, nonblock, cloexec) = type_args(a[1])?;
    match a[0] as u16 {
        AF_UNIX if a[0] == AF_UNIX as u64 => {}
        AF_INET | AF_INET6 | AF_NETLINK => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    let ty = unix_kind(kind, a[2])?;
    let (x, y) = Endpoint::pair(ty, cred(task));
    let fx = task.fds.insert(0, Arc::new(UnixSocket::new(x, nonblock)), cloexec)?;
    let fy = match task.fds.insert(0, Arc::new(UnixSocket::new(y, nonblock)), cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.fds.remove(fx);
            return Err(e);
        }
    };
    if let Err(e) = task.mm.write_obj(a[3], &[fx as i32, fy as i32]) {
        let _ = task.fds.remove(fx);
        let _ = task.fds.remove(fy);
        return Err(e);
    }
    Ok(0)
}

/// Reads the raw bytes of a socket address (at most `sockaddr_storage`).
pub(super) fn read_raw_addr(task: &Task, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as u32 as usize;
    if len > ADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; len];
    task.mm.copy_in(addr, &mut buf)?;
    Ok(buf)
}

/// A `sockaddr_un` as a Unix address: `None` for a lone family (autobind,
/// or AF_UNSPEC for a datagram connect).
pub(super) fn unix_addr(task: &Task, buf: &[u8]) -> Result<Option<Addr>, Errno> {
    if !(2..=SUN_LEN).contains(&buf.len()) {
        return Err(Errno::EINVAL);
    }
    let family = u16::from_le_bytes([buf[0], buf[1]]);
    if family != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    let path = &buf[2..];
    if path.is_empty() {
        return Ok(None);
    }
    if path[0] == 0 {
        return Ok(Some(Addr::abstract_name(path.to_vec())));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    let raw = path[..end].to_vec();
    // An absolute name starts at the task's root (chroot).
    let name = if raw.starts_with(b"/") && task.root != "/" {
        [task.root.as_bytes(), &absolute_name("/", &raw)].concat()
    } else {
        absolute_name(&task.cwd, &raw)
    };
    Ok(Some(Addr::path(raw.clone(), &name)))
}

/// A socket path name made absolute and normal, as bytes: Linux takes
/// any bytes but NUL in a name, UTF-8 or not, and the name table is keyed
/// by them (moat keeps no file system node for a bound socket).
pub(super) fn absolute_name(cwd: &str, raw: &[u8]) -> Vec<u8> {
    let mut full = Vec::new();
    if raw.first() != Some(&b'/') {
        full.extend_from_slice(cwd.as_bytes());
        full.push(b'/');
    }
    full.extend_from_slice(raw);
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in full.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = Vec::new();
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// A Unix address to send or connect to, with what the file system holds
/// at its path (followed through symlinks, as Linux's lookup does).
pub(super) fn unix_target(task: &Task, buf: &[u8]) -> Result<Option<Addr>, Errno> {
    let Some(mut addr) = unix_addr(task, buf)? else { return Ok(None) };
    if let Some(path) = addr.fs_path() {
        addr.node = match super::sys_file::stat_abs(task, path, true) {
            Ok(st) if st.mode & 0o170000 == crate::fs::tmpfs::S_IFSOCK => Node::Socket(st.dev, st.ino),
            Ok(_) => Node::Other,
            Err(Errno::ENOENT) => Node::Missing,
            Err(e) => return Err(e),
        };
    }
    Ok(Some(addr))
}

/// Binding a path name makes a socket node there (Linux `unix_bind_bsd`:
/// a name that exists is EADDRINUSE; the directory's errors, EROFS...,
/// are the caller's). A file system that makes no socket nodes
/// (EOPNOTSUPP) leaves the socket to go by name alone.
pub(super) fn make_socket_node(task: &Task, mut addr: Addr) -> Result<Addr, Errno> {
    let Some(path) = addr.fs_path().map(str::to_owned) else { return Ok(addr) };
    if super::sys_file::stat_abs(task, &path, false).is_ok() {
        return Err(Errno::EADDRINUSE);
    }
    let (fs, inner) = super::sys_file::resolve(task, &path, false)?;
    match fs.mknod(task, &inner, crate::fs::tmpfs::S_IFSOCK | 0o777, 0) {
        Ok(()) => {}
        Err(Errno::EOPNOTSUPP) => return Ok(addr),
        Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
        Err(e) => return Err(e),
    }
    let st = super::sys_file::stat_abs(task, &path, false)?;
    addr.node = Node::Socket(st.dev, st.ino);
    Ok(addr)
}

/// Binds a Unix socket; a node made for it goes again if the bind fails.
pub(super) fn unix_bind(task: &Task, ep: &Arc<Endpoint>, raw: &[u8]) -> Result<(), Errno> {
    let addr = match unix_addr(task, raw)? {
        Some(a) => Some(make_socket_node(task, a)?),
        None => None,
    };
    let made =
        addr.as_ref().filter(|a| matches!(a.node, Node::Socket(..))).and_then(|a| a.fs_path().map(str::to_owned));
    let r = ep.bind(addr);
    if let (Err(_), Some(path)) = (&r, made) {
        if let Ok((fs, inner)) = super::sys_file::resolve(task, &path, false) {
            let _ = fs.unlink(task, &inner);
        }
    }
    r
}

pub(super) fn unix_bytes(a: Option<&Addr>) -> Vec<u8> {
    let mut bytes = AF_UNIX.to_le_bytes().to_vec();
    if let Some(a) = a {
        bytes.extend_from_slice(&a.raw);
    }
    bytes
}

/// Writes a socket address to `addr` with its length at `lenp` (truncated
/// to the caller's buffer, the full length reported, as Linux).
pub(super) fn write_addr(task: &Task, addr: u64, lenp: u64, bytes: &[u8]) -> Result<(), Errno> {
    if addr == 0 || lenp == 0 {
        return Ok(());
    }
    let cap: i32 = task.mm.read_obj(lenp)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let n = bytes.len().min(cap as usize);
    task.mm.copy_out(addr, &bytes[..n])?;
    task.mm.write_obj(lenp, &(bytes.len() as i32))
}

pub fn bind(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let raw = read_raw_addr(task, a[1], a[2])?;
    match sock(&file) {
        SocketRef::Unix(u) => unix_bind(task, &u.ep, &raw)?,
        SocketRef::Inet(i) => {
            if raw.len() < 2 {
                return Err(Errno::EINVAL);
            }
            i.sock.bind(&raw)?
        }
        SocketRef::Host(h) => h.bind(&raw)?,
        SocketRef::Netlink(n) => n.bind(&raw, task.pid)?,
    }
    Ok(0)
}

pub fn listen(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    match sock(&file) {
        SocketRef::Unix(u) => u.ep.listen(a[1] as i32)?,
        SocketRef::Inet(i) => i.sock.listen(a[1] as i32)?,
        SocketRef::Host(h) => h.listen(a[1] as i32)?,
        SocketRef::Netlink(_) => return Err(Errno::EOPNOTSUPP),
    }
    Ok(0)
}

pub fn connect(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let s = sock(&file);
    let raw = read_raw_addr(task, a[1], a[2])?;
    let nonblock = nonblocking(&*file, 0);
    match s {
        SocketRef::Unix(u) => {
            let e = &u.ep;
            // AF_UNSPEC dissolves a datagram association.
            if raw.len() >= 2 && e.ty == SOCK_DGRAM && raw[..2] == [0, 0] {
                e.connect(None, cred(task))?;
                return Ok(0);
            }
            let addr = unix_target(task, &raw)?.ok_or(Errno::EINVAL)?;
            let c = cred(task);
            wait(task, s, nonblock, s.common().sndtimeo, || e.connect(Some(&addr), c))?;
        }
        SocketRef::Inet(i) => {
            // A full accept queue: sleep until the listener accepts (a
            // timeout leaves the connect in progress, as Linux reports it).
            wait(task, s, nonblock, s.common().sndtimeo, || i.sock.connect(&raw, nonblock)).map_err(|e| {
                if e == Errno::EAGAIN {
                    Errno::EINPROGRESS
                } else {
                    e
                }
            })?
        }
        SocketRef::Host(h) => {
            let done = match h.connect(&raw) {
                Ok(done) => done,
                // A blocking connect into one still under way waits for
                // it, as Linux's does (a restarted connect, say).
                Err(Errno::EALREADY) if !nonblock => false,
                Err(e) => return Err(e),
            };
            if !done && nonblock {
                return Err(Errno::EINPROGRESS);
            }
            if !done {
                // SO_SNDTIMEO passing leaves the connect in progress.
                wait(task, s, false, s.common().sndtimeo, || h.connect_finish()).map_err(|e| {
                    if e == Errno::EAGAIN {
                        Errno::EINPROGRESS
                    } else {
                        e
                    }
                })?
            }
        }
        SocketRef::Netlink(n) => n.connect(&raw, task.pid)?,
    }
    Ok(0)
}

pub(super) fn accept_common(task: &mut Task, a: &[u64; 6], flags: u64) -> Result<u64, Errno> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = socket_of(task, a[0])?;
    let s = sock(&file);
    let nonblock = nonblocking(&*file, 0);
    let timeout = s.common().rcvtimeo;
    let (new, peer): (Arc<dyn FileDescription>, Vec<u8>) = match s {
        SocketRef::Unix(u) => {
            let new = wait(task, s, nonblock, timeout, || u.ep.accept())?;
            let peer = unix_bytes(new.peer_addr().ok().flatten().as_ref());
            (Arc::new(UnixSocket::new(new, flags & SOCK_NONBLOCK != 0)), peer)
        }
        SocketRef::Inet(i) => {
            let new = wait(task, s, nonblock, timeout, || i.sock.accept())?;
            let peer = new.peer()?.to_bytes(new.family);
            (Arc::new(InetFile::new(new, flags & SOCK_NONBLOCK != 0)), peer)
        }
        SocketRef::Host(h) => {
            let (new, peer) = wait(task, s, nonblock, timeout, || h.accept(flags & SOCK_NONBLOCK != 0))?;
            (new as Arc<dyn FileDescription>, peer)
        }
        SocketRef::Netlink(_) => return Err(Errno::EOPNOTSUPP),
    };
    let fd = task.fds.insert(0, new, flags & SOCK_CLOEXEC != 0)?;
    if let Err(err) = write_addr(task, a[1], a[2], &peer) {
        let _ = task.fds.remove(fd);
        return Err(err);
    }
    Ok(fd as u64)
}

pub fn accept(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    accept_common(task, a, 0)
}

pub fn accept4(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    accept_common(task, a, a[3])
}

pub fn getsockname(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let bytes = match sock(&file) {
        SocketRef::Unix(u) => unix_bytes(u.ep.bound().as_ref()),
        SocketRef::Inet(i) => i.sock.local().to_bytes(i.sock.family),
        SocketRef::Host(h) => h.local()?,
        SocketRef::Netlink(n) => NetlinkSocket::addr_bytes(n.port_id()),
    };
    write_addr(task, a[1], a[2], &bytes)?;
    Ok(0)
}

pub fn getpeername(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let bytes = match sock(&file) {
        SocketRef::Unix(u) => unix_bytes(u.ep.peer_addr()?.as_ref()),
        SocketRef::Inet(i) => i.sock.peer()?.to_bytes(i.sock.family),
        SocketRef::Host(h) => h.peer()?,
        SocketRef::Netlink(_) => NetlinkSocket::addr_bytes(0),
    };
    write_addr(task, a[1], a[2], &bytes)?;
    Ok(0)
}

pub fn shutdown(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    match sock(&file) {
        SocketRef::Unix(u) => u.ep.shutdown(a[1] as i32)?,
        SocketRef::Inet(i) => i.sock.shutdown(a[1] as i32)?,
        SocketRef::Host(h) => h.shutdown(a[1] as i32)?,
        SocketRef::Netlink(_) => return Err(Errno::EOPNOTSUPP),
    }
    Ok(0)
}

pub(super) fn sigpipe(task: &Task, e: Errno, flags: u64) -> Errno {
    if e == Errno::EPIPE && flags & MSG_NOSIGNAL == 0 {
        let info = crate::kernel::signal::SigInfo::from_sender(
            abi::signal::SIGPIPE,
            crate::kernel::signal::SI_USER,
            task.pid,
            task.creds.uid,
        );
        task.signal_self(info);
    }
    e
}

/// Sends `data` (with `rights` on the first piece; `to` the raw
/// destination): a blocking stream send takes it all in pieces; EPIPE
/// raises SIGPIPE unless MSG_NOSIGNAL.
pub(super) fn send_common(
    task: &Task,
    file: &Arc<dyn FileDescription>,
    to: Option<Vec<u8>>,
    data: &[u8],
    control: Control,
    flags: u64,
) -> Result<u64, Errno> {
    let Control { rights, ip: ctl } = control;
    let s = sock(file);
    let nonblock = nonblocking(&**file, flags);
    let timeout = s.common().sndtimeo;
    let c = cred(task);
    let unix_to = match (s, &to) {
        (SocketRef::Unix(_), Some(raw)) => unix_target(task, raw)?,
        _ => None,
    };
    if !rights.is_empty() && !matches!(s, SocketRef::Unix(_)) {
        return Err(Errno::EINVAL);
    }
    let mut done = 0;
    let mut rights = rights;
    loop {
        let r = wait(task, s, nonblock, timeout, || match s {
            SocketRef::Unix(u) => u.ep.send(unix_to.as_ref(), &data[done..], &rights, c),
            SocketRef::Inet(i) => i.sock.send(to.as_deref(), &data[done..], ctl),
            SocketRef::Host(h) => h.send(to.as_deref(), &data[done..], flags),
            SocketRef::Netlink(n) => n.send(to.as_deref(), &data[done..], task.pid),
        });
        match r {
            Ok(n) => {
                rights.clear();
                done += n;
                if done >= data.len() || nonblock || !s.is_stream() {
                    return Ok(done as u64);
                }
            }
            Err(_) if done > 0 => return Ok(done as u64),
            Err(err) => return Err(sigpipe(task, err, flags)),
        }
    }
}

pub fn sendto(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let mut buf = vec![0u8; a[2].min(0x7fff_f000) as usize];
    task.mm.copy_in(a[1], &mut buf)?;
    let to = if a[4] != 0 { Some(read_raw_addr(task, a[4], a[5])?) } else { None };
    send_common(task, &file, to, &buf, Control::default(), a[3])
}

/// What a receive returned, whatever the family.
pub(super) struct Got {
    data: Vec<u8>,
    /// The whole datagram's length (MSG_TRUNC).
    full_len: usize,
    rights: Vec<Arc<dyn FileDescription>>,
    cred: Option<Cred>,
    /// The sender's address as the application reads it.
    from: Option<Vec<u8>>,
    /// Protocol-level control messages (level, type, data).
    cmsgs: Vec<(i32, i32, Vec<u8>)>,
}

/// One receive attempt of up to `len` bytes (EAGAIN when nothing yet);
/// `flags` as the application gave them (MSG_PEEK is `peek`).
pub(super) fn recv_once(s: SocketRef<'_>, len: usize, peek: bool, nonblock: bool, flags: u64) -> Result<Got, Errno> {
    match s {
        SocketRef::Unix(u) => {
            let r = u.ep.recv(len, peek)?;
            let from = r.from.as_ref().map(|a| unix_bytes(Some(a)));
            Ok(Got { data: r.data, full_len: r.full_len, rights: r.rights, cred: r.cred, from, cmsgs: Vec::new() })
        }
        SocketRef::Inet(i) => {
            let r = i.sock.recv(len, peek, nonblock)?;
            Ok(Got { data: r.data, full_len: r.full_len, rights: Vec::new(), cred: None, from: r.from, cmsgs: r.cmsgs })
        }
        SocketRef::Host(h) => {
            let flags = if peek { flags | MSG_PEEK } else { flags & !MSG_PEEK };
            let r = h.recv(len, flags)?;
            Ok(Got {
                data: r.data,
                full_len: r.full_len,
                rights: Vec::new(),
                cred: None,
                from: r.from,
                cmsgs: Vec::new(),
            })
        }
        SocketRef::Netlink(n) => {
            let (data, full_len, from) = n.recv(len, peek)?;
            Ok(Got { data, full_len, rights: Vec::new(), cred: None, from: Some(from), cmsgs: Vec::new() })
        }
    }
}

/// Receives up to `len` bytes; MSG_WAITALL on a stream gathers until
/// `len` or end of stream.
pub(super) fn recv_common(task: &Task, file: &Arc<dyn FileDescription>, len: usize, flags: u64) -> Result<Got, Errno> {
    let s = sock(file);
    let nonblock = nonblocking(&**file, flags);
    let peek = flags & MSG_PEEK != 0;
    let timeout = s.common().rcvtimeo;
    let mut got = wait(task, s, nonblock, timeout, || recv_once(s, len, peek, nonblock, flags))?;
    if s.is_stream() && flags & MSG_WAITALL != 0 && !peek && !nonblock {
        while got.data.len() < len && !got.data.is_empty() && got.rights.is_empty() {
            match task.block_on_for(s.queue(), timeout, || recv_once(s, len - got.data.len(), false, false, flags)) {
                Ok(r) if r.data.is_empty() => break,
                Ok(mut r) => {
                    got.data.append(&mut r.data);
                    got.rights.append(&mut r.rights);
                }
                Err(_) => break,
            }
        }
        got.full_len = got.data.len();
    }
    Ok(got)
}

pub fn recvfrom(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let r = recv_common(task, &file, a[2].min(0x7fff_f000) as usize, a[3])?;
    task.mm.copy_out(a[1], &r.data)?;
    // No sender address (an unbound Unix sender, a stream): length 0.
    match &r.from {
        Some(from) if a[4] != 0 => write_addr(task, a[4], a[5], from)?,
        None if a[4] != 0 && a[5] != 0 => task.mm.write_obj(a[5], &0i32)?,
        _ => {}
    }
    Ok(if a[3] & MSG_TRUNC != 0 && !sock(&file).is_stream() { r.full_len } else { r.data.len() } as u64)
}

/// `struct msghdr` as seven words: name, namelen, iov, iovlen, control,
/// controllen, flags.
pub(super) fn read_msghdr(task: &Task, addr: u64) -> Result<[u64; 7], Errno> {
    task.mm.read_obj(addr)
}

pub(super) fn gather(task: &Task, iov: u64, count: u64) -> Result<Vec<u8>, Errno> {
    if count > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    let mut buf = Vec::new();
    for i in 0..count {
        let v: [u64; 2] = task.mm.read_obj(iov + i * 16)?;
        if (v[1] as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let start = buf.len();
        buf.resize(start + v[1].min(0x7fff_f000) as usize, 0);
        task.mm.copy_in(v[0], &mut buf[start..])?;
    }
    Ok(buf)
}

pub(super) const CMSG_HDR: usize = 16;
pub(super) fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

/// What sendmsg's control messages asked for.
#[derive(Default)]
pub(super) struct Control {
    rights: Vec<Arc<dyn FileDescription>>,
    ip: SendCtl,
}

/// Parses sendmsg's control messages as Linux does per family: SOL_SOCKET
/// ones (SCM_RIGHTS, SCM_CREDENTIALS) everywhere, though only Unix
/// sockets take them (`__scm_send`; others answer EINVAL); IPV6_HOPLIMIT
/// and IPV6_TCLASS on an AF_INET6 datagram socket (`ip6_datagram_send_ctl`:
/// an int each, -1 to 255, else EINVAL; other IPv6 types are EINVAL too);
/// other levels are skipped (Unix, TCP). IP-level messages on an AF_INET
/// datagram socket (IP_TTL, IP_TOS, IP_PKTINFO), and any but SOL_SOCKET
/// on a host socket (`--network=host`), are not implemented: EINVAL,
/// logged once.
pub(super) fn parse_control(task: &Task, s: SocketRef<'_>, addr: u64, len: u64) -> Result<Control, Errno> {
    let mut rights = Vec::new();
    let mut ip = SendCtl::default();
    if addr == 0 || len == 0 {
        return Ok(Control { rights, ip });
    }
    let dgram6 = matches!(s, SocketRef::Inet(i) if i.sock.proto.is_dgram() && i.sock.family == AF_INET6);
    let dgram4 = matches!(s, SocketRef::Inet(i) if i.sock.proto.is_dgram() && i.sock.family == AF_INET);
    if len > 1 << 20 {
        return Err(Errno::ENOBUFS);
    }
    let mut buf = vec![0u8; len as usize];
    task.mm.copy_in(addr, &mut buf)?;
    let mut off = 0;
    while off + CMSG_HDR <= buf.len() {
        let clen = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap()) as usize;
        let level = i32::from_le_bytes(buf[off + 8..off + 12].try_into().unwrap());
        let ty = i32::from_le_bytes(buf[off + 12..off + 16].try_into().unwrap());
        if clen < CMSG_HDR || off + clen > buf.len() {
            return Err(Errno::EINVAL);
        }
        let body = &buf[off + CMSG_HDR..off + clen];
        off += cmsg_align(clen);
        if level as u64 == SOL_IPV6 && dgram6 {
            let v = match <[u8; 4]>::try_from(body) {
                Ok(b) if (-1..=255).contains(&i32::from_le_bytes(b)) => i32::from_le_bytes(b),
                _ => return Err(Errno::EINVAL),
            };
            match ty as u64 {
                IPV6_HOPLIMIT => ip.hoplimit = Some(v),
                IPV6_TCLASS => ip.tclass = Some(v),
                _ => return Err(Errno::EINVAL),
            }
            continue;
        }
        // Host sockets (--network=host) forward no ancillary data.
        if (level as u64 == SOL_IP && dgram4) || (level as u64 != SOL_SOCKET && matches!(s, SocketRef::Host(_))) {
            log_cmsg_once(level, ty);
            return Err(Errno::EINVAL);
        }
        if level as u64 != SOL_SOCKET {
            continue;
        }
        match ty {
            SCM_RIGHTS => {
                let n = body.len() / 4;
                if rights.len() + n > SCM_MAX_FD {
                    return Err(Errno::EINVAL);
                }
                for c in body.chunks_exact(4) {
                    let fd = i32::from_le_bytes(c.try_into().unwrap());
                    rights.push(task.fds.get(fd as i64)?);
                }
            }
            SCM_CREDENTIALS => {
                if body.len() < 12 {
                    return Err(Errno::EINVAL);
                }
                let pid = i32::from_le_bytes(body[0..4].try_into().unwrap());
                let uid = u32::from_le_bytes(body[4..8].try_into().unwrap());
                let gid = u32::from_le_bytes(body[8..12].try_into().unwrap());
                if pid != task.pid || uid != task.creds.uid || gid != task.creds.gid {
                    return Err(Errno::EPERM);
                }
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(Control { rights, ip })
}

pub(super) fn log_cmsg_once(level: i32, ty: i32) {
    static SEEN: Mutex<Vec<(i32, i32)>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.contains(&(level, ty)) {
        seen.push((level, ty));
        tracing::warn!("sendmsg control message level {level} type {ty} is not supported: EINVAL (logged once)");
    }
}

/// sendmsg on the `msghdr` at `hdr`.
pub(super) fn sendmsg_at(task: &Task, file: &Arc<dyn FileDescription>, hdr: u64, flags: u64) -> Result<u64, Errno> {
    let m = read_msghdr(task, hdr)?;
    let to = if m[0] != 0 && m[1] as u32 != 0 { Some(read_raw_addr(task, m[0], m[1])?) } else { None };
    let data = gather(task, m[2], m[3])?;
    let control = parse_control(task, sock(file), m[4], m[5])?;
    send_common(task, file, to, &data, control, flags)
}

pub fn sendmsg(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    sendmsg_at(task, &file, a[1], a[2])
}

/// recvmsg into the `msghdr` at `hdr`.
pub(super) fn recvmsg_at(task: &Task, file: &Arc<dyn FileDescription>, hdr: u64, flags: u64) -> Result<u64, Errno> {
    let m = read_msghdr(task, hdr)?;
    if m[3] > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    let mut iovs = Vec::new();
    let mut total = 0usize;
    for i in 0..m[3] {
        let v: [u64; 2] = task.mm.read_obj(m[2] + i * 16)?;
        if (v[1] as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total.saturating_add(v[1] as usize);
        iovs.push(v);
    }
    let r = recv_common(task, file, total.min(0x7fff_f000), flags)?;
    let data = &r.data;
    // Scatter.
    let mut off = 0;
    for v in &iovs {
        if off >= data.len() {
            break;
        }
        let n = (v[1] as usize).min(data.len() - off);
        task.mm.copy_out(v[0], &data[off..off + n])?;
        off += n;
    }
    let stream = sock(file).is_stream();
    let mut out_flags = 0u32;
    if r.full_len > data.len() && !stream {
        out_flags |= MSG_TRUNC as u32;
    }
    // Control messages: credentials first, then descriptors (Linux scm_recv).
    let cap = if m[4] == 0 { 0 } else { m[5] as usize };
    let mut control = Vec::new();
    if let Some(c) = r.cred {
        if control.len() + CMSG_HDR + 12 <= cap {
            push_cmsg(
                &mut control,
                SCM_CREDENTIALS,
                &[&c.pid.to_le_bytes()[..], &c.uid.to_le_bytes(), &c.gid.to_le_bytes()].concat(),
            );
        } else {
            out_flags |= MSG_CTRUNC;
        }
    }
    if !r.rights.is_empty() {
        let room = cap.saturating_sub(control.len());
        let fit = if room >= CMSG_HDR { ((room - CMSG_HDR) / 4).min(r.rights.len()) } else { 0 };
        if fit < r.rights.len() {
            out_flags |= MSG_CTRUNC;
        }
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let mut fds = Vec::new();
        for f in r.rights.iter().take(fit) {
            match task.fds.insert(0, f.clone(), cloexec) {
                Ok(fd) => fds.extend_from_slice(&(fd as i32).to_le_bytes()),
                Err(_) => {
                    out_flags |= MSG_CTRUNC;
                    break;
                }
            }
        }
        if !fds.is_empty() {
            push_cmsg(&mut control, SCM_RIGHTS, &fds);
        }
    }
    for (level, ty, body) in &r.cmsgs {
        put_cmsg(&mut control, cap, &mut out_flags, *level, *ty, body);
    }
    if !control.is_empty() {
        // The last message's padding may not fit; Linux reports the
        // unpadded length then.
        let n = control.len().min(cap);
        task.mm.copy_out(m[4], &control[..n])?;
    }
    task.mm.write_obj(hdr + 40, &(control.len().min(cap) as u64))?;
    task.mm.write_obj(hdr + 48, &out_flags)?;
    if m[0] != 0 {
        // No sender address (an unbound Unix sender, a stream): length 0.
        let mut namelen = 0;
        if let Some(from) = &r.from {
            let cap = m[1] as u32 as usize;
            task.mm.copy_out(m[0], &from[..from.len().min(cap)])?;
            namelen = from.len();
        }
        task.mm.write_obj(hdr + 8, &(namelen as u32))?;
    }
    Ok(if flags & MSG_TRUNC != 0 && !stream { r.full_len } else { data.len() } as u64)
}

pub fn recvmsg(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    recvmsg_at(task, &file, a[1], a[2])
}

/// `struct mmsghdr`: a `msghdr` (56 bytes) and `msg_len`, padded to 64.
pub(super) const MMSGHDR: u64 = 64;
/// Linux's `UIO_MAXIOV`: the most messages one call handles.
pub(super) const MMSG_MAX: u64 = 1024;

/// sendmmsg(2): sends until one fails; an error after the first message
/// is not reported (Linux keeps it for the next call as `sk_err` only for
/// some families; the count sent is what the caller sees).
pub fn sendmmsg(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let (vec, count, flags) = (a[1], a[2].min(MMSG_MAX), a[3]);
    let mut sent = 0;
    while sent < count {
        let hdr = vec + sent * MMSGHDR;
        match sendmsg_at(task, &file, hdr, flags) {
            Ok(n) => task.mm.write_obj(hdr + 56, &(n as u32))?,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
        sent += 1;
    }
    Ok(sent)
}

/// recvmmsg(2): after the first message, MSG_WAITFORONE turns on
/// MSG_DONTWAIT; the timeout is checked between messages, as Linux does.
pub fn recvmmsg(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let (vec, count, mut flags) = (a[1], a[2].min(MMSG_MAX), a[3]);
    let deadline = if a[4] != 0 {
        let ts: [i64; 2] = task.mm.read_obj(a[4])?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        Some(std::time::Instant::now() + Duration::new(ts[0] as u64, ts[1] as u32))
    } else {
        None
    };
    let mut got = 0;
    while got < count {
        let hdr = vec + got * MMSGHDR;
        match recvmsg_at(task, &file, hdr, flags) {
            Ok(n) => task.mm.write_obj(hdr + 56, &(n as u32))?,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        got += 1;
        if flags & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
    }
    if let (Some(d), true) = (deadline, a[4] != 0) {
        let left = d.saturating_duration_since(std::time::Instant::now());
        task.mm.write_obj(a[4], &[left.as_secs() as i64, i64::from(left.subsec_nanos())])?;
    }
    Ok(got)
}

/// Linux `put_cmsg`: a message that does not fit whole is cut to the
/// room left (MSG_CTRUNC), its header then giving the cut length; without
/// room for a header nothing is written (MSG_CTRUNC).
pub(super) fn put_cmsg(out: &mut Vec<u8>, cap: usize, flags: &mut u32, level: i32, ty: i32, body: &[u8]) {
    out.resize(cmsg_align(out.len()).min(cap.max(out.len())), 0);
    let room = cap.saturating_sub(out.len());
    if room < CMSG_HDR {
        *flags |= MSG_CTRUNC;
        return;
    }
    let full = CMSG_HDR + body.len();
    let len = if full > room {
        *flags |= MSG_CTRUNC;
        room
    } else {
        full
    };
    out.extend_from_slice(&(len as u64).to_le_bytes());
    out.extend_from_slice(&level.to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&body[..len - CMSG_HDR]);
    let end = out.len() - len + cmsg_align(full).min(room);
    out.resize(end, 0);
}

pub(super) fn push_cmsg(out: &mut Vec<u8>, ty: i32, body: &[u8]) {
    out.resize(cmsg_align(out.len()), 0);
    out.extend_from_slice(&((CMSG_HDR + body.len()) as u64).to_le_bytes());
    out.extend_from_slice(&(SOL_SOCKET as i32).to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(cmsg_align(out.len()), 0);
}

/// Interface ioctls on any socket (Linux `sock_ioctl` → `dev_ioctl`);
/// `None` for commands that are not socket-level.
pub fn socket_ioctl(task: &Task, cmd: u64, arg: u64) -> Option<Result<u64, Errno>> {
    if iface::is_if_ioctl(cmd) {
        let run = || {
            let mut req = [0u8; iface::IFREQ_LEN];
            task.mm.copy_in(arg, &mut req)?;
            let out = iface::if_ioctl(cmd, &req)?;
            task.mm.copy_out(arg, &out).map(|_| 0)
        };
        return Some(run());
    }
    if cmd != iface::SIOCGIFCONF {
        return None;
    }
    let run = || {
        // struct ifconf { int ifc_len; (pad) char *ifc_buf; }
        let conf: [u64; 2] = task.mm.read_obj(arg)?;
        let len = conf[0] as u32 as i32;
        let records = iface::ifconf_records();
        let n = if conf[1] == 0 {
            records.len()
        } else {
            let fit = (len.max(0) as usize / iface::IFREQ_LEN) * iface::IFREQ_LEN;
            let n = fit.min(records.len());
            task.mm.copy_out(conf[1], &records[..n])?;
            n
        };
        task.mm.write_obj(arg, &(n as i32)).map(|_| 0)
    };
    Some(run())
}
