//! Socket syscalls (gVisor: `sys_socket.go`). Only AF_UNIX, served by the
//! sentry's own sockets (`fs::unix`); other families are EAFNOSUPPORT
//! until the network stack arrives (issue #5).

use crate::fs::unix::{Addr, Cred, Endpoint, UnixSocket, AF_UNIX, SCM_MAX_FD, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
use crate::kernel::Task;
use crate::vfs::FileDescription;
use abi::{fcntl, Errno};
use std::sync::{Arc, Mutex};

const SOCK_NONBLOCK: u64 = fcntl::O_NONBLOCK;
const SOCK_CLOEXEC: u64 = fcntl::O_CLOEXEC;
const SOCK_RAW: i32 = 3;
const SUN_LEN: usize = 110;

const MSG_PEEK: u64 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;

const SOL_SOCKET: u64 = 1;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;

const SO_REUSEADDR: u64 = 2;
const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_PASSCRED: u64 = 16;
const SO_PEERCRED: u64 = 17;
const SO_ACCEPTCONN: u64 = 30;
const SO_PROTOCOL: u64 = 38;
const SO_DOMAIN: u64 = 39;
/// Linux's `net.core.wmem_max`/`rmem_max`.
const BUF_MAX: u64 = 212_992;

fn fd_arg(a: u64) -> i64 {
    a as i32 as i64
}

fn cred(task: &Task) -> Cred {
    Cred { pid: task.pid, uid: task.creds.uid, gid: task.creds.gid }
}

fn socket_of(task: &Task, fd: u64) -> Result<Arc<dyn FileDescription>, Errno> {
    let file = task.fds.get(fd_arg(fd))?;
    file.as_unix_socket().ok_or(Errno::ENOTSOCK)?;
    Ok(file)
}

fn ep(file: &Arc<dyn FileDescription>) -> &Arc<Endpoint> {
    &file.as_unix_socket().expect("checked by socket_of").ep
}

fn nonblocking(file: &dyn FileDescription, flags: u64) -> bool {
    file.flags() & fcntl::O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0
}

/// Runs `op`, sleeping on the socket's queue while it answers EAGAIN
/// unless the call is non-blocking.
fn wait<T>(task: &Task, ep: &Endpoint, nonblock: bool, op: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    let mut op = op;
    if nonblock {
        op()
    } else {
        task.block_on(&ep.queue, op)
    }
}

fn log_family_once(domain: u64) {
    static SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap();
    if !seen.contains(&domain) {
        seen.push(domain);
        tracing::warn!("socket family {domain} is not supported yet: EAFNOSUPPORT (logged once)");
    }
}

/// Checks family, type and protocol; returns (type, nonblock, cloexec).
fn socket_args(domain: u64, ty: u64, proto: u64) -> Result<(i32, bool, bool), Errno> {
    if domain != AF_UNIX as u64 {
        log_family_once(domain);
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = match (ty & 0xf) as i32 {
        SOCK_STREAM => SOCK_STREAM,
        SOCK_DGRAM | SOCK_RAW => SOCK_DGRAM,
        SOCK_SEQPACKET => SOCK_SEQPACKET,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    if proto != 0 && proto != AF_UNIX as u64 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok((kind, ty & SOCK_NONBLOCK != 0, ty & SOCK_CLOEXEC != 0))
}

pub fn socket(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (ty, nonblock, cloexec) = socket_args(a[0], a[1], a[2])?;
    let sock = UnixSocket::new(Endpoint::new(ty, cred(task)), nonblock);
    Ok(task.fds.insert(0, Arc::new(sock), cloexec)? as u64)
}

pub fn socketpair(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (ty, nonblock, cloexec) = socket_args(a[0], a[1], a[2])?;
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

/// Reads a `sockaddr_un`: `None` for a lone family (autobind, or
/// AF_UNSPEC for a datagram connect).
fn read_addr(task: &Task, addr: u64, len: u64) -> Result<Option<Addr>, Errno> {
    let len = len as u32 as usize;
    if !(2..=SUN_LEN).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; len];
    task.mm.copy_in(addr, &mut buf)?;
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
    let s = std::str::from_utf8(&raw).map_err(|_| Errno::EINVAL)?;
    let abs = crate::vfs::mount::normalize(&crate::loader::absolute(&task.cwd, s));
    Ok(Some(Addr::path(raw, &abs)))
}

/// Writes a `sockaddr_un` to `addr` with its length at `lenp` (truncated
/// to the caller's buffer, the full length reported, as Linux).
fn write_addr(task: &Task, addr: u64, lenp: u64, a: Option<&Addr>) -> Result<(), Errno> {
    if addr == 0 || lenp == 0 {
        return Ok(());
    }
    let cap: i32 = task.mm.read_obj(lenp)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = AF_UNIX.to_le_bytes().to_vec();
    if let Some(a) = a {
        bytes.extend_from_slice(&a.raw);
    }
    let n = bytes.len().min(cap as usize);
    task.mm.copy_out(addr, &bytes[..n])?;
    task.mm.write_obj(lenp, &(bytes.len() as i32))
}

pub fn bind(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let addr = read_addr(task, a[1], a[2])?;
    ep(&file).bind(addr)?;
    Ok(0)
}

pub fn listen(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    ep(&file).listen(a[1] as i32)?;
    Ok(0)
}

pub fn connect(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let e = ep(&file);
    let len = a[2] as u32 as usize;
    // AF_UNSPEC dissolves a datagram association.
    if len >= 2 && e.ty == SOCK_DGRAM {
        let family: u16 = task.mm.read_obj(a[1])?;
        if family == 0 {
            e.connect(None, cred(task))?;
            return Ok(0);
        }
    }
    let addr = read_addr(task, a[1], a[2])?.ok_or(Errno::EINVAL)?;
    let c = cred(task);
    wait(task, e, nonblocking(&*file, 0), || e.connect(Some(&addr), c))?;
    Ok(0)
}

fn accept_common(task: &mut Task, a: &[u64; 6], flags: u64) -> Result<u64, Errno> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = socket_of(task, a[0])?;
    let e = ep(&file);
    let new = wait(task, e, nonblocking(&*file, 0), || e.accept())?;
    let peer = new.peer_addr().ok().flatten();
    let sock = Arc::new(UnixSocket::new(new, flags & SOCK_NONBLOCK != 0));
    let fd = task.fds.insert(0, sock, flags & SOCK_CLOEXEC != 0)?;
    if let Err(err) = write_addr(task, a[1], a[2], peer.as_ref()) {
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
    let addr = ep(&file).bound();
    write_addr(task, a[1], a[2], addr.as_ref())?;
    Ok(0)
}

pub fn getpeername(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let addr = ep(&file).peer_addr()?;
    write_addr(task, a[1], a[2], addr.as_ref())?;
    Ok(0)
}

pub fn shutdown(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    ep(&file).shutdown(a[1] as i32)?;
    Ok(0)
}

fn sigpipe(task: &Task, e: Errno, flags: u64) -> Errno {
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

/// Sends `data` (with `rights` on the first piece): a blocking stream
/// send takes it all in pieces; EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
fn send_common(
    task: &Task,
    file: &Arc<dyn FileDescription>,
    to: Option<Addr>,
    data: &[u8],
    rights: Vec<Arc<dyn FileDescription>>,
    flags: u64,
) -> Result<u64, Errno> {
    let e = ep(file);
    let nonblock = nonblocking(&**file, flags);
    let c = cred(task);
    let mut done = 0;
    let mut rights = rights;
    loop {
        let r = wait(task, e, nonblock, || e.send(to.as_ref(), &data[done..], &rights, c));
        match r {
            Ok(n) => {
                rights.clear();
                done += n;
                if done >= data.len() || nonblock || e.ty != SOCK_STREAM {
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
    let to = if a[4] != 0 { read_addr(task, a[4], a[5])? } else { None };
    send_common(task, &file, to, &buf, Vec::new(), a[3])
}

pub fn recvfrom(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let (data, r, _) = recv_common(task, &file, a[2].min(0x7fff_f000) as usize, a[3])?;
    task.mm.copy_out(a[1], &data)?;
    // An unbound sender has no address: the length is 0 (Linux).
    match &r.from {
        Some(from) if a[4] != 0 => write_addr(task, a[4], a[5], Some(from))?,
        None if a[4] != 0 && a[5] != 0 => task.mm.write_obj(a[5], &0i32)?,
        _ => {}
    }
    Ok(if a[3] & MSG_TRUNC != 0 && file_ty(&file) != SOCK_STREAM { r.full_len } else { data.len() } as u64)
}

fn file_ty(file: &Arc<dyn FileDescription>) -> i32 {
    ep(file).ty
}

/// Receives up to `len` bytes; MSG_WAITALL on a stream gathers until
/// `len` or end of stream. Returns the bytes, the (first) message's
/// metadata and whether the message was truncated.
fn recv_common(
    task: &Task,
    file: &Arc<dyn FileDescription>,
    len: usize,
    flags: u64,
) -> Result<(Vec<u8>, crate::fs::unix::Received, bool), Errno> {
    let e = ep(file);
    let nonblock = nonblocking(&**file, flags);
    let peek = flags & MSG_PEEK != 0;
    let mut first = wait(task, e, nonblock, || e.recv(len, peek))?;
    let mut data = std::mem::take(&mut first.data);
    let truncated = first.full_len > data.len();
    if e.ty == SOCK_STREAM && flags & MSG_WAITALL != 0 && !peek && !nonblock {
        while data.len() < len && !data.is_empty() && first.rights.is_empty() {
            match task.block_on(&e.queue, || e.recv(len - data.len(), false)) {
                Ok(r) if r.data.is_empty() => break,
                Ok(mut r) => {
                    data.append(&mut r.data);
                    first.rights.append(&mut r.rights);
                }
                Err(_) => break,
            }
        }
    }
    Ok((data, first, truncated))
}

/// `struct msghdr` as seven words: name, namelen, iov, iovlen, control,
/// controllen, flags.
fn read_msghdr(task: &Task, addr: u64) -> Result<[u64; 7], Errno> {
    task.mm.read_obj(addr)
}

fn gather(task: &Task, iov: u64, count: u64) -> Result<Vec<u8>, Errno> {
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

const CMSG_HDR: usize = 16;
fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

/// Parses SCM_RIGHTS and SCM_CREDENTIALS control messages.
fn parse_control(task: &Task, addr: u64, len: u64) -> Result<Vec<Arc<dyn FileDescription>>, Errno> {
    let mut rights = Vec::new();
    if addr == 0 || len == 0 {
        return Ok(rights);
    }
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
        if level as u64 != SOL_SOCKET {
            return Err(Errno::EINVAL);
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
        off += cmsg_align(clen);
    }
    Ok(rights)
}

pub fn sendmsg(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let m = read_msghdr(task, a[1])?;
    let to = if m[0] != 0 && m[1] as u32 != 0 { read_addr(task, m[0], m[1])? } else { None };
    let data = gather(task, m[2], m[3])?;
    let rights = parse_control(task, m[4], m[5])?;
    send_common(task, &file, to, &data, rights, a[2])
}

pub fn recvmsg(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let flags = a[2];
    let m = read_msghdr(task, a[1])?;
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
    let (data, r, truncated) = recv_common(task, &file, total.min(0x7fff_f000), flags)?;
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
    let mut out_flags = 0u32;
    if truncated && file_ty(&file) != SOCK_STREAM {
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
    if !control.is_empty() {
        // The last message's padding may not fit; Linux reports the
        // unpadded length then.
        let n = control.len().min(cap);
        task.mm.copy_out(m[4], &control[..n])?;
    }
    task.mm.write_obj(a[1] + 40, &(control.len().min(cap) as u64))?;
    task.mm.write_obj(a[1] + 48, &out_flags)?;
    if m[0] != 0 {
        // An unbound sender has no address: the length is 0 (Linux).
        let mut namelen = 0;
        if let Some(from) = &r.from {
            let mut bytes = AF_UNIX.to_le_bytes().to_vec();
            bytes.extend_from_slice(&from.raw);
            let cap = m[1] as u32 as usize;
            task.mm.copy_out(m[0], &bytes[..bytes.len().min(cap)])?;
            namelen = bytes.len();
        }
        task.mm.write_obj(a[1] + 8, &(namelen as u32))?;
    }
    Ok(if flags & MSG_TRUNC != 0 && file_ty(&file) != SOCK_STREAM { r.full_len } else { data.len() } as u64)
}

fn push_cmsg(out: &mut Vec<u8>, ty: i32, body: &[u8]) {
    out.resize(cmsg_align(out.len()), 0);
    out.extend_from_slice(&((CMSG_HDR + body.len()) as u64).to_le_bytes());
    out.extend_from_slice(&(SOL_SOCKET as i32).to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(cmsg_align(out.len()), 0);
}

fn int_opt(task: &Task, val: u64, lenp: u64, v: i32) -> Result<u64, Errno> {
    let cap: i32 = task.mm.read_obj(lenp)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = v.to_le_bytes();
    let n = (cap as usize).min(4);
    task.mm.copy_out(val, &bytes[..n])?;
    task.mm.write_obj(lenp, &(n as i32))?;
    Ok(0)
}

pub fn getsockopt(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let e = ep(&file);
    if a[1] != SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    let (val, lenp) = (a[3], a[4]);
    let v = match a[2] {
        SO_TYPE => e.ty,
        SO_ERROR => e.take_error(),
        SO_DOMAIN => AF_UNIX as i32,
        SO_PROTOCOL => 0,
        SO_ACCEPTCONN => e.is_listening() as i32,
        SO_PASSCRED => e.passcred() as i32,
        SO_SNDBUF => e.bufs().0 as i32,
        SO_RCVBUF => e.bufs().1 as i32,
        SO_REUSEADDR => 0,
        SO_PEERCRED => {
            let c = e.peercred().unwrap_or(Cred { pid: 0, uid: u32::MAX, gid: u32::MAX });
            let cap: i32 = task.mm.read_obj(lenp)?;
            if cap < 0 {
                return Err(Errno::EINVAL);
            }
            let bytes = [&c.pid.to_le_bytes()[..], &c.uid.to_le_bytes(), &c.gid.to_le_bytes()].concat();
            let n = (cap as usize).min(12);
            task.mm.copy_out(val, &bytes[..n])?;
            task.mm.write_obj(lenp, &(n as i32))?;
            return Ok(0);
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    int_opt(task, val, lenp, v)
}

pub fn setsockopt(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = socket_of(task, a[0])?;
    let e = ep(&file);
    if a[1] != SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    let known = matches!(a[2], SO_PASSCRED | SO_SNDBUF | SO_RCVBUF | SO_REUSEADDR);
    if !known {
        return Err(Errno::ENOPROTOOPT);
    }
    if (a[4] as u32) < 4 {
        return Err(Errno::EINVAL);
    }
    let v: i32 = task.mm.read_obj(a[3])?;
    // Linux doubles buffer sizes for bookkeeping and reports the double.
    let size = |min: u64| ((v.max(0) as u64).min(BUF_MAX) * 2).max(min) as usize;
    match a[2] {
        SO_PASSCRED => e.set_passcred(v != 0),
        SO_SNDBUF => e.set_bufs(Some(size(4608)), None),
        SO_RCVBUF => e.set_bufs(None, Some(size(2304))),
        _ => {} // SO_REUSEADDR: accepted, nothing to reuse
    }
    Ok(0)
}
