//! getsockopt and setsockopt (gVisor: `socket/*/getsockopt`): the
//! options every family keeps (SOL_SOCKET), the inet levels (IP, IPv6,
//! TCP, UDP-Lite), netlink's, and host sockets' allowlist. The socket
//! syscalls themselves are `sys_socket.rs`'s.

use super::sys_socket::*;
use crate::fs::unix::Cred;
use crate::kernel::Task;
use crate::net::addr::AF_INET6;
use crate::net::hostinet::HostSocket;
use crate::net::inet::{InetSocket, Proto, IPPROTO_TCP};
use crate::net::SocketRef;
use abi::Errno;
use std::time::Duration;

/// Copies an option value out, truncated to the caller's length.
fn opt_out(task: &Task, val: u64, lenp: u64, bytes: &[u8]) -> Result<u64, Errno> {
    let cap: i32 = task.mm.read_obj(lenp)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (cap as usize).min(bytes.len());
    task.mm.copy_out(val, &bytes[..n])?;
    task.mm.write_obj(lenp, &(n as i32))?;
    Ok(0)
}

fn timeval(t: Option<Duration>) -> Vec<u8> {
    let t = t.unwrap_or_default();
    [(t.as_secs() as i64).to_le_bytes(), i64::from(t.subsec_micros()).to_le_bytes()].concat()
}

/// (send, receive) buffer sizes as SO_SNDBUF/SO_RCVBUF report them.
fn bufs(s: SocketRef<'_>) -> (usize, usize) {
    match s {
        SocketRef::Unix(u) => u.ep.bufs(),
        SocketRef::Inet(i) => {
            let o = i.sock.opts();
            (o.sndbuf, o.rcvbuf)
        }
        // Host sockets forward SO_SNDBUF/SO_RCVBUF (`host_getsockopt`).
        SocketRef::Host(_) => (0, 0),
        SocketRef::Netlink(n) => n.bufs(),
    }
}

fn sol_socket_get(task: &Task, s: SocketRef<'_>, name: u64, val: u64, lenp: u64) -> Result<u64, Errno> {
    let common = s.common();
    let int = |v: i32| opt_out(task, val, lenp, &v.to_le_bytes());
    match name {
        SO_TYPE => int(s.ty()),
        SO_DOMAIN => int(i32::from(s.family())),
        SO_PROTOCOL => int(match s {
            SocketRef::Inet(i) => i.sock.proto.number(),
            _ => 0,
        }),
        SO_ERROR => int(match s {
            SocketRef::Unix(u) => u.ep.take_error(),
            SocketRef::Inet(i) => i.sock.take_error(),
            SocketRef::Host(h) => h.take_error(),
            SocketRef::Netlink(_) => 0,
        }),
        SO_ACCEPTCONN => int(match s {
            SocketRef::Unix(u) => u.ep.is_listening(),
            SocketRef::Inet(i) => i.sock.is_listening(),
            SocketRef::Host(h) => h.getsockopt(SOL_SOCKET, SO_ACCEPTCONN, 4)? == 1i32.to_le_bytes(),
            SocketRef::Netlink(_) => false,
        } as i32),
        SO_SNDBUF => int(bufs(s).0 as i32),
        SO_RCVBUF => int(bufs(s).1 as i32),
        SO_REUSEADDR | SO_REUSEPORT => int(match s {
            SocketRef::Inet(i) if name == SO_REUSEADDR => i.sock.reuseaddr.load(std::sync::atomic::Ordering::Relaxed),
            SocketRef::Inet(i) => i.sock.reuseport.load(std::sync::atomic::Ordering::Relaxed),
            _ => false,
        } as i32),
        SO_KEEPALIVE => int(common.keepalive as i32),
        SO_BROADCAST => int(common.broadcast as i32),
        SO_OOBINLINE => int(common.oobinline as i32),
        SO_PRIORITY => int(common.priority),
        SO_RCVLOWAT | SO_SNDLOWAT => int(1),
        SO_LINGER => opt_out(task, val, lenp, &[common.linger.0.to_le_bytes(), common.linger.1.to_le_bytes()].concat()),
        SO_RCVTIMEO => opt_out(task, val, lenp, &timeval(common.rcvtimeo)),
        SO_SNDTIMEO => opt_out(task, val, lenp, &timeval(common.sndtimeo)),
        SO_PASSCRED => int(matches!(s, SocketRef::Unix(u) if u.ep.passcred()) as i32),
        SO_PEERCRED => {
            let c = match s {
                SocketRef::Unix(u) => u.ep.peercred(),
                _ => None,
            };
            let c = c.unwrap_or(Cred { pid: 0, uid: u32::MAX, gid: u32::MAX });
            let bytes = [&c.pid.to_le_bytes()[..], &c.uid.to_le_bytes(), &c.gid.to_le_bytes()].concat();
            opt_out(task, val, lenp, &bytes)
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}

fn inet_get(task: &Task, sock: &InetSocket, level: u64, name: u64, val: u64, lenp: u64) -> Result<u64, Errno> {
    let o = sock.opts();
    let int = |v: i32| opt_out(task, val, lenp, &v.to_le_bytes());
    match (level, name) {
        (SOL_IP, IP_TTL) => int(o.ttl),
        (SOL_IP, IP_TOS) => int(o.tos),
        (SOL_IPV6, IPV6_V6ONLY) if sock.family == AF_INET6 => {
            int(sock.v6only.load(std::sync::atomic::Ordering::Relaxed) as i32)
        }
        (SOL_IPV6, IPV6_UNICAST_HOPS) if sock.family == AF_INET6 => int(if o.hops6 < 0 { 64 } else { o.hops6 }),
        (SOL_IPV6, IPV6_TCLASS) if sock.family == AF_INET6 => int(o.tclass6),
        (SOL_IPV6, IPV6_RECVHOPLIMIT) if sock.family == AF_INET6 => int(o.recv_hoplimit as i32),
        (SOL_IPV6, IPV6_RECVTCLASS) if sock.family == AF_INET6 => int(o.recv_tclass as i32),
        // Linux `udp_lib_getsockopt`: either level; a UDP socket reads 0.
        (SOL_UDP | SOL_UDPLITE, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) if sock.proto.is_dgram() => {
            let v = if name == UDPLITE_SEND_CSCOV { o.cscov_send } else { o.cscov_recv };
            int(i32::from(v.unwrap_or(0)))
        }
        (l, _) if l == IPPROTO_TCP as u64 && sock.proto != Proto::Tcp => Err(Errno::EOPNOTSUPP),
        (l, n) if l == IPPROTO_TCP as u64 => match n {
            TCP_NODELAY => int(o.nodelay as i32),
            TCP_CORK => int(o.cork as i32),
            TCP_KEEPIDLE => int(o.keepidle),
            TCP_KEEPINTVL => int(o.keepintvl),
            TCP_KEEPCNT => int(o.keepcnt),
            TCP_MAXSEG => int(if sock.tcp_state() == 1 { 32768 } else { 536 }),
            TCP_INFO => opt_out(task, val, lenp, &sock.tcp_info()),
            TCP_CONGESTION => opt_out(task, val, lenp, b"cubic\0\0\0\0\0\0\0\0\0\0\0"),
            _ => Err(Errno::ENOPROTOOPT),
        },
        _ => Err(Errno::ENOPROTOOPT),
    }
}

pub fn getsockopt(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let s = sock(&file);
    let (level, name, val, lenp) = (a[1], a[2], a[3], a[4]);
    match (s, level) {
        (SocketRef::Host(h), _) => host_getsockopt(task, h, level, name, val, lenp),
        (_, SOL_SOCKET) => sol_socket_get(task, s, name, val, lenp),
        (SocketRef::Inet(i), _) => inet_get(task, &i.sock, level, name, val, lenp),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// SO_RCVTIMEO/SO_SNDTIMEO's `struct timeval` (zero: no timeout).
fn read_timeval(task: &Task, val: u64, len: u64) -> Result<Option<Duration>, Errno> {
    if (len as u32) < 16 {
        return Err(Errno::EINVAL);
    }
    let tv: [i64; 2] = task.mm.read_obj(val)?;
    if !(0..1_000_000).contains(&tv[1]) {
        return Err(Errno::EDOM);
    }
    if tv[0] < 0 || (tv[0] == 0 && tv[1] == 0) {
        return Ok(None);
    }
    Ok(Some(Duration::new(tv[0] as u64, 0) + Duration::from_micros(tv[1] as u64)))
}

fn sol_socket_set(task: &Task, s: SocketRef<'_>, name: u64, val: u64, len: u64) -> Result<u64, Errno> {
    match name {
        SO_RCVTIMEO => {
            let t = read_timeval(task, val, len)?;
            s.set_common(|c| c.rcvtimeo = t);
            return Ok(0);
        }
        SO_SNDTIMEO => {
            let t = read_timeval(task, val, len)?;
            s.set_common(|c| c.sndtimeo = t);
            return Ok(0);
        }
        SO_LINGER => {
            if (len as u32) < 8 {
                return Err(Errno::EINVAL);
            }
            let l: [i32; 2] = task.mm.read_obj(val)?;
            s.set_common(|c| c.linger = (i32::from(l[0] != 0), l[1].max(0)));
            return Ok(0);
        }
        _ => {}
    }
    let known = matches!(
        name,
        SO_PASSCRED
            | SO_SNDBUF
            | SO_RCVBUF
            | SO_REUSEADDR
            | SO_REUSEPORT
            | SO_KEEPALIVE
            | SO_BROADCAST
            | SO_OOBINLINE
            | SO_PRIORITY
    );
    if !known {
        return Err(Errno::ENOPROTOOPT);
    }
    if (len as u32) < 4 {
        return Err(Errno::EINVAL);
    }
    let v: i32 = task.mm.read_obj(val)?;
    // Linux doubles buffer sizes for bookkeeping and reports the double.
    let size = |min: u64| ((v.max(0) as u64).min(BUF_MAX) * 2).max(min) as usize;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    match (name, s) {
        (SO_PASSCRED, SocketRef::Unix(u)) => u.ep.set_passcred(v != 0),
        (SO_PASSCRED, _) => {}
        (SO_SNDBUF, SocketRef::Unix(u)) => u.ep.set_bufs(Some(size(4608)), None),
        (SO_RCVBUF, SocketRef::Unix(u)) => u.ep.set_bufs(None, Some(size(2304))),
        (SO_SNDBUF, SocketRef::Netlink(n)) => n.set_bufs(Some(size(4608)), None),
        (SO_RCVBUF, SocketRef::Netlink(n)) => n.set_bufs(None, Some(size(2304))),
        (SO_SNDBUF, SocketRef::Inet(i)) => i.sock.set_opts(|o| {
            o.sndbuf = size(4608);
            o.sndbuf_locked = true;
        }),
        (SO_RCVBUF, SocketRef::Inet(i)) => i.sock.set_opts(|o| o.rcvbuf = size(2304)),
        (SO_REUSEADDR, SocketRef::Inet(i)) => i.sock.reuseaddr.store(v != 0, relaxed),
        (SO_REUSEPORT, SocketRef::Inet(i)) => i.sock.reuseport.store(v != 0, relaxed),
        // Unix and netlink sockets have no ports to share.
        (SO_REUSEADDR | SO_REUSEPORT, _) => {}
        (SO_KEEPALIVE, _) => s.set_common(|c| c.keepalive = v != 0),
        (SO_BROADCAST, _) => s.set_common(|c| c.broadcast = v != 0),
        (SO_OOBINLINE, _) => s.set_common(|c| c.oobinline = v != 0),
        (SO_PRIORITY, _) if !(0..=6).contains(&v) && !task.creds.capable(crate::kernel::caps::CAP_NET_ADMIN) => {
            return Err(Errno::EPERM)
        }
        (SO_PRIORITY, _) => s.set_common(|c| c.priority = v),
        _ => unreachable!("filtered by `known`"),
    }
    Ok(0)
}

fn inet_set(task: &Task, sock: &InetSocket, level: u64, name: u64, val: u64, len: u64) -> Result<u64, Errno> {
    if (len as u32) < 4 {
        return Err(Errno::EINVAL);
    }
    let v: i32 = task.mm.read_obj(val)?;
    let in_range = |lo: i32, hi: i32| if (lo..=hi).contains(&v) { Ok(v) } else { Err(Errno::EINVAL) };
    match (level, name) {
        (SOL_IP, IP_TTL) => {
            let ttl = if v == -1 { 64 } else { in_range(1, 255)? };
            sock.set_opts(|o| o.ttl = ttl);
        }
        (SOL_IP, IP_TOS) => sock.set_opts(|o| o.tos = v & 0xff),
        (SOL_IPV6, IPV6_V6ONLY) if sock.family == AF_INET6 => {
            // Linux: fixed once the socket has a local port.
            if sock.local().port != 0 {
                return Err(Errno::EINVAL);
            }
            sock.v6only.store(v != 0, std::sync::atomic::Ordering::Relaxed);
        }
        (SOL_IPV6, IPV6_UNICAST_HOPS) if sock.family == AF_INET6 => {
            let v = in_range(-1, 255)?;
            sock.set_opts(|o| o.hops6 = v);
        }
        (SOL_IPV6, IPV6_TCLASS) if sock.family == AF_INET6 => {
            let v = in_range(-1, 255)?.max(0);
            sock.set_opts(|o| o.tclass6 = v);
        }
        (SOL_IPV6, IPV6_RECVHOPLIMIT) if sock.family == AF_INET6 => sock.set_opts(|o| o.recv_hoplimit = v != 0),
        (SOL_IPV6, IPV6_RECVTCLASS) if sock.family == AF_INET6 => sock.set_opts(|o| o.recv_tclass = v != 0),
        // Linux `udp_lib_setsockopt`: a coverage below 8 (the header) but
        // not 0 is 8, above 65535 is 65535.
        (SOL_UDP | SOL_UDPLITE, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) if sock.proto == Proto::UdpLite => {
            let cov = if v != 0 && v < 8 { 8 } else { v.min(0xffff) } as u16;
            if name == UDPLITE_SEND_CSCOV {
                sock.set_opts(|o| o.cscov_send = Some(cov));
            } else {
                sock.set_opts(|o| o.cscov_recv = Some(cov));
            }
        }
        (l, _) if l == IPPROTO_TCP as u64 && sock.proto != Proto::Tcp => return Err(Errno::EOPNOTSUPP),
        (l, n) if l == IPPROTO_TCP as u64 => match n {
            TCP_NODELAY => sock.set_opts(|o| o.nodelay = v != 0),
            TCP_CORK => sock.set_opts(|o| o.cork = v != 0),
            TCP_KEEPIDLE => {
                let v = in_range(1, 32767)?;
                sock.set_opts(|o| o.keepidle = v);
            }
            TCP_KEEPINTVL => {
                let v = in_range(1, 32767)?;
                sock.set_opts(|o| o.keepintvl = v);
            }
            TCP_KEEPCNT => {
                let v = in_range(1, 127)?;
                sock.set_opts(|o| o.keepcnt = v);
            }
            _ => return Err(Errno::ENOPROTOOPT),
        },
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

pub fn setsockopt(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let s = sock(&file);
    let (level, name, val, len) = (a[1], a[2], a[3], a[4]);
    match (s, level) {
        (SocketRef::Host(h), _) => host_setsockopt(task, h, level, name, val, len),
        (_, SOL_SOCKET) => sol_socket_set(task, s, name, val, len),
        (SocketRef::Inet(i), _) => inet_set(task, &i.sock, level, name, val, len),
        // NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK...: requests are answered
        // the same either way.
        (SocketRef::Netlink(_), SOL_NETLINK) => Ok(0),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// getsockopt on a host socket: the timeouts (the sentry's own sleeps)
/// and SO_PEERCRED (no credentials for an inet peer) are answered here,
/// the options of `hostinet`'s allowlist by the host socket.
fn host_getsockopt(task: &Task, h: &HostSocket, level: u64, name: u64, val: u64, lenp: u64) -> Result<u64, Errno> {
    if level == SOL_SOCKET && matches!(name, SO_RCVTIMEO | SO_SNDTIMEO | SO_PEERCRED) {
        return sol_socket_get(task, SocketRef::Host(h), name, val, lenp);
    }
    let cap: i32 = task.mm.read_obj(lenp)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = h.getsockopt(level, name, cap as usize)?;
    task.mm.copy_out(val, &bytes)?;
    task.mm.write_obj(lenp, &(bytes.len() as i32))?;
    Ok(0)
}

/// setsockopt on a host socket: timeouts stay the sentry's, the
/// allowlist goes to the host socket (the value copied in, at most the
/// largest option's size).
fn host_setsockopt(task: &Task, h: &HostSocket, level: u64, name: u64, val: u64, len: u64) -> Result<u64, Errno> {
    if level == SOL_SOCKET && matches!(name, SO_RCVTIMEO | SO_SNDTIMEO) {
        return sol_socket_set(task, SocketRef::Host(h), name, val, len);
    }
    let mut buf = vec![0u8; (len as u32 as usize).min(256)];
    task.mm.copy_in(val, &mut buf)?;
    h.setsockopt(level, name, &buf)?;
    Ok(0)
}
