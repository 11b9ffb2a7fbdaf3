//! File syscalls: read/write family, open/close, stat, descriptors
//! (gVisor: `sys_file.go`, `sys_read_write.go`, `sys_stat.go`).

use super::sys_lock as lock;
use crate::kernel::waiter::WaitQueue;
use crate::kernel::Task;
use crate::vfs::mount::FileSystem;
use crate::vfs::notify::{self, accessed, modified};
use crate::vfs::{readable, writable, DirEntry, FileDescription, IoctlReply};
use abi::{fcntl, ioctl as io, stat, Errno, IoVec, Statx, StatxTimestamp};
use std::sync::Arc;

/// Longest path accepted (`PATH_MAX`).
const PATH_MAX: usize = 4096;
/// Largest single transfer Linux performs (`MAX_RW_COUNT`).
pub(super) const MAX_RW: u64 = 0x7fff_f000;
const IOV_MAX: u64 = 1024;

pub(super) fn fd_arg(a: u64) -> i64 {
    a as i32 as i64
}

pub(super) fn read_path(task: &Task, addr: u64) -> Result<String, Errno> {
    let bytes = task.mm.read_cstring(addr, PATH_MAX)?;
    if bytes.is_empty() {
        return Err(Errno::ENOENT);
    }
    String::from_utf8(bytes).map_err(|_| Errno::ENOENT)
}

/// Resolves `path` relative to `dirfd` into an absolute path inside the
/// container's root, confined to the task's root (`chroot`).
pub(super) fn at_path(task: &Task, dirfd: i64, path: &str) -> Result<String, Errno> {
    if path.starts_with('/') {
        return Ok(crate::vfs::mount::rooted(&task.root, &task.cwd, path));
    }
    let base = if dirfd == fcntl::AT_FDCWD { task.cwd.clone() } else { task.fds.get_raw(dirfd)?.path() };
    Ok(crate::vfs::mount::rooted(&task.root, &base, path))
}

/// The file system serving the absolute `path` and the path within it,
/// after following the synthetic file systems' links on the way.
pub(super) fn resolve(task: &Task, path: &str, follow: bool) -> Result<(Arc<dyn FileSystem>, String), Errno> {
    task.mnt.resolve(task, path, follow)
}

/// The attributes of the absolute `path`.
pub(super) fn stat_abs(task: &Task, path: &str, follow: bool) -> Result<abi::Stat, Errno> {
    let (fs, inner) = resolve(task, path, follow)?;
    fs.stat(task, &inner, follow)
}

/// The queue to block on for `file`, unless it is non-blocking.
fn blocking_queue(file: &dyn FileDescription) -> Option<&WaitQueue> {
    file.wait_queue().filter(|_| file.flags() & fcntl::O_NONBLOCK == 0)
}

/// Waits until a blocking host stream is ready for `events`, in slices so
/// that a signal (`moat kill`, a timer) can interrupt the wait: the sentry
/// never sits in a host read it cannot leave.
fn wait_host(task: &Task, file: &dyn FileDescription, events: rustix::event::PollFlags) -> Result<(), Errno> {
    use rustix::event::{poll, PollFd, Timespec};
    let Some(fd) = file.host_stream().filter(|_| file.flags() & fcntl::O_NONBLOCK == 0) else { return Ok(()) };
    let slice = Timespec { tv_sec: 0, tv_nsec: 100_000_000 };
    loop {
        let mut fds = [PollFd::new(&fd, events)];
        match poll(&mut fds, Some(&slice)) {
            Ok(n) if n > 0 => return Ok(()),
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Errno::new(e.raw_os_error())),
        }
        if task.interrupted() {
            return Err(Errno::EINTR);
        }
    }
}

/// A socket's SO_RCVTIMEO (`send`: SO_SNDTIMEO); no timeout for other files.
fn socket_timeout(file: &dyn FileDescription, send: bool) -> Option<std::time::Duration> {
    let opts = file.as_socket()?.common();
    if send {
        opts.sndtimeo
    } else {
        opts.rcvtimeo
    }
}

/// Reads, waiting while the file has nothing yet (pipes, host stdio).
fn read_waiting(task: &Task, file: &dyn FileDescription, buf: &mut [u8]) -> Result<usize, Errno> {
    super::sys_tty::before_read(task, file)?;
    // A pty in raw mode with VMIN 0 and VTIME > 0: 0 when the time is up.
    if let Some(timeout) = file.as_tty().and_then(|t| t.term.driver.read_timeout()) {
        if let Some(q) = blocking_queue(file) {
            return match task.block_on_for(q, Some(timeout), || file.read(buf)) {
                Err(Errno::EAGAIN) => Ok(0),
                r => r,
            };
        }
    }
    match blocking_queue(file) {
        Some(q) => task.block_on_for(q, socket_timeout(file, false), || file.read(buf)),
        None => {
            wait_host(task, file, rustix::event::PollFlags::IN)?;
            file.read(buf)
        }
    }
}

/// Writes all of `data` to a blocking file (pipes take it in pieces), or
/// what the file takes at once to a non-blocking one. A pipe without
/// readers also raises SIGPIPE, as Linux does.
fn write_waiting(task: &Task, file: &dyn FileDescription, data: &[u8]) -> Result<usize, Errno> {
    super::sys_tty::before_write(task, file)?;
    let result = match blocking_queue(file) {
        None => wait_host(task, file, rustix::event::PollFlags::OUT).and_then(|()| file.write(data)),
        Some(q) => {
            let mut done = 0;
            while done < data.len() {
                match task.block_on_for(q, socket_timeout(file, true), || file.write(&data[done..])) {
                    Ok(n) => done += n,
                    Err(_) if done > 0 => break,
                    Err(e) => return Err(sigpipe(task, e)),
                }
            }
            Ok(done)
        }
    };
    result.map_err(|e| sigpipe(task, e))
}

pub(super) fn sigpipe(task: &Task, e: Errno) -> Errno {
    if e == Errno::EPIPE {
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

/// `read`/`pread` of a host-backed file straight into application memory
/// (`FileDescription::read_direct`); None for other files.
fn read_direct(
    task: &Task,
    file: &dyn FileDescription,
    addr: u64,
    len: usize,
    at: Option<u64>,
) -> Option<Result<usize, Errno>> {
    file.read_direct(at, &mut |fd, offset| task.mm.read_file_into(addr, len, fd, offset))
}

/// `write`/`pwrite` of a host-backed file straight from application
/// memory (`FileDescription::write_direct`); None for other files.
fn write_direct(
    task: &Task,
    file: &dyn FileDescription,
    addr: u64,
    len: usize,
    at: Option<u64>,
) -> Option<Result<usize, Errno>> {
    file.write_direct(at, &mut |fd, offset| task.mm.write_file_from(addr, len, fd, offset))
}

pub fn read(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    readable(&*file)?;
    let len = a[2].min(MAX_RW) as usize;
    if let Some(n) = read_direct(task, &*file, a[1], len, None) {
        return Ok(accessed(task, &*file, n?) as u64);
    }
    let mut buf = task.take_buffer(len);
    let n = read_waiting(task, &*file, &mut buf[..len]).and_then(|n| task.mm.copy_out(a[1], &buf[..n]).map(|()| n));
    task.give_buffer(buf);
    Ok(accessed(task, &*file, n?) as u64)
}

pub fn pread64(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    readable(&*file)?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let len = a[2].min(MAX_RW) as usize;
    if let Some(n) = read_direct(task, &*file, a[1], len, Some(a[3])) {
        return Ok(accessed(task, &*file, n?) as u64);
    }
    let mut buf = task.take_buffer(len);
    let n = file.pread(&mut buf[..len], a[3]).and_then(|n| task.mm.copy_out(a[1], &buf[..n]).map(|()| n));
    task.give_buffer(buf);
    Ok(accessed(task, &*file, n?) as u64)
}

pub fn write(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    writable(&*file)?;
    let len = a[2].min(MAX_RW) as usize;
    if let Some(n) = write_direct(task, &*file, a[1], len, None) {
        return Ok(modified(task, &*file, n?) as u64);
    }
    let mut buf = task.take_buffer(len);
    let n = task.mm.copy_in(a[1], &mut buf[..len]).and_then(|()| write_waiting(task, &*file, &buf[..len]));
    task.give_buffer(buf);
    Ok(modified(task, &*file, n?) as u64)
}

pub fn pwrite64(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    writable(&*file)?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let len = a[2].min(MAX_RW) as usize;
    if let Some(n) = write_direct(task, &*file, a[1], len, Some(a[3])) {
        return Ok(modified(task, &*file, n?) as u64);
    }
    let mut buf = task.take_buffer(len);
    let n = task.mm.copy_in(a[1], &mut buf[..len]).and_then(|()| file.pwrite(&buf[..len], a[3]));
    task.give_buffer(buf);
    Ok(modified(task, &*file, n?) as u64)
}

/// Moves up to `count` bytes from `input` to `output` in the sentry (no
/// host splice: the two may be any of our files), reading at `*in_off`
/// when given (and advancing it) or at the file position otherwise, and
/// writing at `out_off` likewise.
fn transfer(
    task: &Task,
    input: &dyn FileDescription,
    in_off: Option<&mut u64>,
    output: &dyn FileDescription,
    mut out_off: Option<&mut u64>,
    count: u64,
) -> Result<u64, Errno> {
    const CHUNK: usize = 64 * 1024;
    let mut buf = vec![0u8; CHUNK.min(count.min(MAX_RW) as usize)];
    let (mut done, mut in_off) = (0u64, in_off);
    while done < count.min(MAX_RW) {
        let want = buf.len().min((count - done) as usize);
        let n = match in_off.as_deref_mut() {
            Some(off) => input.pread(&mut buf[..want], *off),
            None => read_waiting(task, input, &mut buf[..want]),
        };
        let n = match n {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let w = match out_off.as_deref_mut() {
            Some(off) => output.pwrite(&buf[..n], *off),
            None => write_waiting(task, output, &buf[..n]),
        };
        let w = match w {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if let Some(off) = in_off.as_deref_mut() {
            *off += w as u64;
        }
        if let Some(off) = out_off.as_deref_mut() {
            *off += w as u64;
        }
        done += w as u64;
        if w < n {
            break;
        }
    }
    Ok(done)
}

pub fn sendfile(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (output, input) = (task.fds.get(fd_arg(a[0]))?, task.fds.get(fd_arg(a[1]))?);
    readable(&*input)?;
    writable(&*output)?;
    if input.wait_queue().is_some() {
        return Err(Errno::EINVAL); // the input must be a file, not a pipe or socket
    }
    let mut off = if a[2] != 0 { Some(task.mm.read_obj::<i64>(a[2])?) } else { None };
    if off.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let mut pos = off.map(|o| o as u64);
    let n = transfer(task, &*input, pos.as_mut(), &*output, None, a[3])?;
    accessed(task, &*input, n as usize);
    modified(task, &*output, n as usize);
    if let (Some(p), Some(o)) = (pos, off.as_mut()) {
        *o = p as i64;
        task.mm.write_obj(a[2], o)?;
    }
    Ok(n)
}

pub fn copy_file_range(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (input, output) = (task.fds.get(fd_arg(a[0]))?, task.fds.get(fd_arg(a[2]))?);
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    readable(&*input)?;
    writable(&*output)?;
    if output.flags() & fcntl::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let regular = |f: &dyn FileDescription| f.stat().map(|st| st.mode & 0o170000 == 0o100000).unwrap_or(false);
    if !regular(&*input) || !regular(&*output) {
        return Err(Errno::EINVAL);
    }
    let read_off = |addr: u64| -> Result<Option<u64>, Errno> {
        if addr == 0 {
            return Ok(None);
        }
        let o = task.mm.read_obj::<i64>(addr)?;
        u64::try_from(o).map(Some).map_err(|_| Errno::EINVAL)
    };
    let (mut in_off, mut out_off) = (read_off(a[1])?, read_off(a[3])?);
    let n = transfer(task, &*input, in_off.as_mut(), &*output, out_off.as_mut(), a[4])?;
    accessed(task, &*input, n as usize);
    modified(task, &*output, n as usize);
    if let Some(o) = in_off {
        task.mm.write_obj(a[1], &(o as i64))?;
    }
    if let Some(o) = out_off {
        task.mm.write_obj(a[3], &(o as i64))?;
    }
    Ok(n)
}

pub(super) fn iovecs(task: &Task, addr: u64, count: u64) -> Result<Vec<IoVec>, Errno> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(count as usize);
    let mut total: u64 = 0;
    for i in 0..count {
        let iov: IoVec = task.mm.read_obj(addr + i * 16)?;
        if (iov.len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total.saturating_add(iov.len);
        v.push(iov);
    }
    if total > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// Gathers the buffers of `iovs` into one (up to MAX_RW bytes), so that a
/// vectored write is one write, as atomic as a write(2) of the same bytes.
pub(super) fn gather(task: &Task, iovs: &[IoVec]) -> Result<Vec<u8>, Errno> {
    let mut buf = Vec::new();
    for iov in iovs {
        let take = iov.len.min(MAX_RW - buf.len() as u64) as usize;
        let start = buf.len();
        buf.resize(start + take, 0);
        task.mm.copy_in(iov.base, &mut buf[start..])?;
    }
    Ok(buf)
}

/// Spreads the first `n` bytes of `buf` over `iovs`.
pub(super) fn scatter(task: &Task, iovs: &[IoVec], buf: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    for iov in iovs {
        if done >= buf.len() {
            break;
        }
        let take = (iov.len as usize).min(buf.len() - done);
        task.mm.copy_out(iov.base, &buf[done..done + take])?;
        done += take;
    }
    Ok(())
}

fn read_buffer(iovs: &[IoVec]) -> Vec<u8> {
    vec![0u8; iovs.iter().map(|v| v.len).sum::<u64>().min(MAX_RW) as usize]
}

pub fn writev(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    writable(&*file)?;
    let buf = gather(task, &iovecs(task, a[1], a[2])?)?;
    let n = write_waiting(task, &*file, &buf)?;
    Ok(modified(task, &*file, n) as u64)
}

pub fn readv(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    readable(&*file)?;
    let iovs = iovecs(task, a[1], a[2])?;
    let mut buf = read_buffer(&iovs);
    let n = read_waiting(task, &*file, &mut buf)?;
    scatter(task, &iovs, &buf[..n])?;
    Ok(accessed(task, &*file, n) as u64)
}

/// `RWF_*` flags of preadv2/pwritev2 (uapi/linux/fs.h).
const RWF_HIPRI: u64 = 0x01;
const RWF_DSYNC: u64 = 0x02;
const RWF_SYNC: u64 = 0x04;
const RWF_NOWAIT: u64 = 0x08;
const RWF_APPEND: u64 = 0x10;
const RWF_NOAPPEND: u64 = 0x20;
const RWF_ATOMIC: u64 = 0x40;
const RWF_DONTCACHE: u64 = 0x80;
const RWF_SUPPORTED: u64 =
    RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND | RWF_ATOMIC | RWF_DONTCACHE;

/// Linux `kiocb_set_rw_flags`: HIPRI, DSYNC and SYNC change nothing for
/// files held in memory; NOWAIT makes a blocking file answer EAGAIN (host
/// streams cannot promise it: EOPNOTSUPP); ATOMIC and DONTCACHE need
/// direct I/O or a page cache no file here has (EOPNOTSUPP).
fn check_rw_flags(file: &dyn FileDescription, flags: u64) -> Result<(), Errno> {
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & (RWF_APPEND | RWF_NOAPPEND) == RWF_APPEND | RWF_NOAPPEND {
        return Err(Errno::EINVAL);
    }
    if flags & RWF_NOWAIT != 0 && file.host_stream().is_some() {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & (RWF_ATOMIC | RWF_DONTCACHE) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// The offset argument of preadv/pwritev (`pos_l`: on x86-64 the whole
/// offset; `pos_h` is shifted out). `current` (the *2 calls): -1 means the
/// file position.
fn vector_offset(a: u64, current: bool) -> Result<Option<u64>, Errno> {
    match a as i64 {
        -1 if current => Ok(None),
        o if o < 0 => Err(Errno::EINVAL),
        o => Ok(Some(o as u64)),
    }
}

fn preadv_common(task: &Task, a: &[u64; 6], current: bool, flags: u64) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    readable(&*file)?;
    let iovs = iovecs(task, a[1], a[2])?;
    let offset = vector_offset(a[3], current)?;
    check_rw_flags(&*file, flags)?;
    let mut buf = read_buffer(&iovs);
    let n = match offset {
        Some(off) => file.pread(&mut buf, off)?,
        None if flags & RWF_NOWAIT != 0 => file.read(&mut buf)?,
        None => read_waiting(task, &*file, &mut buf)?,
    };
    scatter(task, &iovs, &buf[..n])?;
    Ok(accessed(task, &*file, n) as u64)
}

fn pwritev_common(task: &Task, a: &[u64; 6], current: bool, flags: u64) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    writable(&*file)?;
    let iovs = iovecs(task, a[1], a[2])?;
    let offset = vector_offset(a[3], current)?;
    check_rw_flags(&*file, flags)?;
    // RWF_NOAPPEND would write at the offset despite O_APPEND, which the
    // files here cannot do (their pwrite appends then, as Linux's does):
    // refused rather than ignored.
    if flags & RWF_NOAPPEND != 0 && file.flags() & fcntl::O_APPEND != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let buf = gather(task, &iovs)?;
    // RWF_APPEND writes at the end whatever the offset, as O_APPEND.
    let offset = match offset {
        Some(_) if flags & RWF_APPEND != 0 && file.stat()?.mode & 0o170000 == 0o100000 => {
            Some(file.stat()?.size as u64)
        }
        o => o,
    };
    let n = match offset {
        Some(off) => file.pwrite(&buf, off).map_err(|e| sigpipe(task, e))?,
        None if flags & RWF_NOWAIT != 0 => file.write(&buf).map_err(|e| sigpipe(task, e))?,
        None => write_waiting(task, &*file, &buf)?,
    };
    Ok(modified(task, &*file, n) as u64)
}

pub fn preadv(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    preadv_common(task, a, false, 0)
}

pub fn pwritev(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    pwritev_common(task, a, false, 0)
}

pub fn preadv2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    preadv_common(task, a, true, a[5])
}

pub fn pwritev2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    pwritev_common(task, a, true, a[5])
}

/// Opens an absolute path through the mount table (following symlinks),
/// as the kernel itself does for execve.
pub(crate) fn open_path(task: &Task, path: &str, flags: u64) -> Result<Arc<dyn FileDescription>, Errno> {
    let (fs, inner) = resolve(task, path, true)?;
    fs.open(task, &inner, flags, 0)
}

fn open_common(task: &mut Task, dirfd: i64, path_addr: u64, flags: u64, mode: u64) -> Result<u64, Errno> {
    let path = at_path(task, dirfd, &read_path(task, path_addr)?)?;
    open_abs(task, &path, flags, mode)
}

/// Opens the whole-namespace `path` with `open(2)` `flags` into a new
/// descriptor.
pub(super) fn open_abs(task: &mut Task, path: &str, flags: u64, mode: u64) -> Result<u64, Errno> {
    let path = path.to_string();
    if flags & fcntl::O_PATH != 0 {
        let file = open_o_path(task, &path, flags)?;
        return task.fds.insert(0, file, flags & fcntl::O_CLOEXEC != 0).map(|fd| fd as u64);
    }
    // O_CREAT|O_EXCL never follows a link in the last component.
    let excl = flags & (fcntl::O_CREAT | fcntl::O_EXCL) == fcntl::O_CREAT | fcntl::O_EXCL;
    let (fs, inner) = resolve(task, &path, flags & fcntl::O_NOFOLLOW == 0 && !excl)?;
    // Whether the open makes the file (IN_CREATE), asked only if watched.
    let existed = (flags & fcntl::O_CREAT != 0 && task.kernel.inotify.active())
        .then(|| fs.stat(task, &inner, flags & fcntl::O_NOFOLLOW == 0).is_ok());
    let file = fs.open(task, &inner, flags & !fcntl::O_CLOEXEC, (mode & 0o7777) as u32)?;
    notify::opened(task, &path, &*file, existed, flags);
    if let Some(end) = file.as_pipe().filter(|e| e.waits_for_partner()) {
        // A FIFO opened for reading (writing) alone waits for a writer
        // (reader). A signal ends the wait; the open restarts under
        // SA_RESTART (Linux: ERESTARTSYS from `wait_for_partner`).
        let queue = file.wait_queue().expect("pipes have a queue");
        match task.block_on_for(queue, None, || end.partner_ready()) {
            Ok(()) => {}
            Err(Errno::EINTR) => return Err(Errno::ERESTARTSYS),
            Err(e) => return Err(e),
        }
    }
    task.fds.insert(0, file, flags & fcntl::O_CLOEXEC != 0).map(|fd| fd as u64)
}

/// `open(O_PATH)`: names the file at `path` (the link itself with
/// O_NOFOLLOW) without opening it; only search permission on the way is
/// needed. Linux ignores every other flag but O_DIRECTORY, O_NOFOLLOW and
/// O_CLOEXEC.
fn open_o_path(task: &Task, path: &str, flags: u64) -> Result<Arc<dyn FileDescription>, Errno> {
    let follow = flags & fcntl::O_NOFOLLOW == 0;
    let (fs, inner, named) = task.mnt.resolve_named(task, path, follow)?;
    let stat = fs.stat(task, &inner, follow)?;
    if flags & fcntl::O_DIRECTORY != 0 && stat.mode & 0o170000 != 0o040000 {
        return Err(Errno::ENOTDIR);
    }
    let statfs = fs.statfs(task, &inner).ok();
    let kept = fcntl::O_PATH | (flags & (fcntl::O_DIRECTORY | fcntl::O_NOFOLLOW));
    Ok(Arc::new(crate::vfs::PathFile { path: normalize(&named), stat, statfs, flags: kept }))
}

pub fn open(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    open_common(task, fcntl::AT_FDCWD, a[0], a[1], a[2])
}

pub fn openat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    open_common(task, fd_arg(a[0]), a[1], a[2], a[3])
}

pub fn creat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    open_common(task, fcntl::AT_FDCWD, a[0], fcntl::O_CREAT | fcntl::O_WRONLY | fcntl::O_TRUNC, a[1])
}

pub fn close(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.remove(fd_arg(a[0]))?;
    release(task, file);
    Ok(0)
}

/// A descriptor of `file` was closed: its locks go, its process's dnotify
/// registration through it goes, and inotify hears of the description's
/// last close.
pub(super) fn release(task: &Task, file: Arc<dyn FileDescription>) {
    if task.kernel.inotify.has_dnotify() {
        if let Ok(st) = file.stat() {
            let dir = crate::fs::inotify::inode_id(&st);
            task.kernel.inotify.dnotify_clear(dir, description_id(&file), task.pid);
        }
    }
    notify::closing(task, &file);
    task.kernel.locks.closed(task.pid, file);
}

fn stat_path(task: &Task, dirfd: i64, path_addr: u64, flags: u64) -> Result<abi::Stat, Errno> {
    let raw = task.mm.read_cstring(path_addr, PATH_MAX)?;
    if raw.is_empty() {
        if flags & fcntl::AT_EMPTY_PATH != 0 {
            return task.fds.get_raw(dirfd)?.stat();
        }
        return Err(Errno::ENOENT);
    }
    let path = at_path(task, dirfd, std::str::from_utf8(&raw).map_err(|_| Errno::ENOENT)?)?;
    stat_abs(task, &path, flags & fcntl::AT_SYMLINK_NOFOLLOW == 0)
}

pub fn stat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let st = stat_path(task, fcntl::AT_FDCWD, a[0], 0)?;
    task.mm.write_obj(a[1], &st).map(|_| 0)
}

pub fn lstat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let st = stat_path(task, fcntl::AT_FDCWD, a[0], fcntl::AT_SYMLINK_NOFOLLOW)?;
    task.mm.write_obj(a[1], &st).map(|_| 0)
}

pub fn fstat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let st = task.fds.get_raw(fd_arg(a[0]))?.stat()?;
    task.mm.write_obj(a[1], &st).map(|_| 0)
}

pub fn newfstatat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[3] & !(fcntl::AT_EMPTY_PATH | fcntl::AT_SYMLINK_NOFOLLOW | 0x800/* AT_NO_AUTOMOUNT */) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_path(task, fd_arg(a[0]), a[1], a[3])?;
    task.mm.write_obj(a[2], &st).map(|_| 0)
}

pub fn lseek(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.fds.get(fd_arg(a[0]))?.seek(a[1] as i64, a[2] as u32)
}

pub fn ioctl(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let fd = fd_arg(a[0]);
    let file = task.fds.get(fd)?;
    if let Some(r) = file.as_tty().and_then(|t| super::sys_tty::ioctl(task, t, a[1] & 0xffff_ffff, a[2])) {
        return r;
    }
    match a[1] & 0xffff_ffff {
        io::FIOCLEX => task.fds.set_cloexec(fd, true).map(|_| 0),
        io::FIONCLEX => task.fds.set_cloexec(fd, false).map(|_| 0),
        io::FIONBIO => {
            let on: i32 = task.mm.read_obj(a[2])?;
            let flags = file.flags() & !fcntl::O_NONBLOCK;
            file.set_flags(if on != 0 { flags | fcntl::O_NONBLOCK } else { flags });
            Ok(0)
        }
        cmd if file.as_socket().is_some() && super::sys_socket::socket_ioctl(task, cmd, a[2]).is_some() => {
            super::sys_socket::socket_ioctl(task, cmd, a[2]).expect("just checked")
        }
        cmd => match file.ioctl(cmd)? {
            IoctlReply::Value(v) => Ok(v),
            IoctlReply::Out(bytes) => task.mm.copy_out(a[2], &bytes).map(|_| 0),
        },
    }
}

/// memfd seals (linux/fcntl.h).
const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const F_ADD_SEALS: u64 = 1033;
const F_GET_SEALS: u64 = 1034;
const F_NOTIFY: u64 = 1026;

pub fn fcntl(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let fd = fd_arg(a[0]);
    let file = task.fds.get_raw(fd)?;
    // An O_PATH descriptor has only the commands on the descriptor itself.
    let on_descriptor = [fcntl::F_DUPFD, fcntl::F_DUPFD_CLOEXEC, fcntl::F_GETFD, fcntl::F_SETFD, fcntl::F_GETFL];
    if file.flags() & fcntl::O_PATH != 0 && !on_descriptor.contains(&a[1]) {
        return Err(Errno::EBADF);
    }
    match a[1] {
        fcntl::F_DUPFD | fcntl::F_DUPFD_CLOEXEC => {
            let min = usize::try_from(a[2] as i32).map_err(|_| Errno::EINVAL)?;
            task.fds.insert(min, file, a[1] == fcntl::F_DUPFD_CLOEXEC).map(|fd| fd as u64)
        }
        fcntl::F_GETFD => Ok(u64::from(task.fds.cloexec(fd)?)),
        fcntl::F_SETFD => task.fds.set_cloexec(fd, a[2] & fcntl::FD_CLOEXEC != 0).map(|_| 0),
        fcntl::F_GETFL => Ok(file.flags()),
        fcntl::F_SETFL => {
            let settable = fcntl::O_APPEND | fcntl::O_NONBLOCK;
            file.set_flags((file.flags() & !settable) | (a[2] & settable));
            Ok(0)
        }
        F_ADD_SEALS => file.add_seals(a[2] as u32).map(|_| 0),
        lock::F_GETLK | lock::F_SETLK | lock::F_SETLKW | lock::F_OFD_GETLK | lock::F_OFD_SETLK | lock::F_OFD_SETLKW => {
            lock::fcntl_lock(task, &file, a[1], a[2])
        }
        F_GET_SEALS => file.seals().map(u64::from).ok_or(Errno::EINVAL),
        F_SETPIPE_SZ => {
            let privileged = task.creds.capable(crate::kernel::caps::CAP_SYS_RESOURCE);
            file.set_pipe_size(a[2], privileged).map(|n| n as u64)
        }
        F_GETPIPE_SZ => file.pipe_size().map(|n| n as u64),
        F_NOTIFY => dnotify(task, &file, a[2] as u32),
        _ => Err(Errno::EINVAL),
    }
}

/// `fcntl(F_NOTIFY)`: SIGIO to this process on the events `arg` asks for
/// in a directory (`fs::inotify`'s dnotify part); an empty mask clears.
fn dnotify(task: &Task, file: &Arc<dyn FileDescription>, arg: u32) -> Result<u64, Errno> {
    use crate::fs::inotify::{inode_id, DN_MULTISHOT};
    let st = file.stat()?;
    let (dir, description) = (inode_id(&st), description_id(file));
    if arg & !DN_MULTISHOT == 0 {
        task.kernel.inotify.dnotify_clear(dir, description, task.pid);
        return Ok(0);
    }
    if st.mode & 0o170000 != 0o040000 {
        return Err(Errno::ENOTDIR);
    }
    task.kernel.inotify.dnotify_set(dir, description, task.pid, arg);
    Ok(0)
}

/// An open file description's identity (what dnotify registrations name).
fn description_id(file: &Arc<dyn FileDescription>) -> usize {
    Arc::as_ptr(file) as *const () as usize
}

pub fn dup(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get_raw(fd_arg(a[0]))?;
    task.fds.insert(0, file, false).map(|fd| fd as u64)
}

fn dup_to(task: &mut Task, old: i64, new: i64, cloexec: bool) -> Result<u64, Errno> {
    let file = task.fds.get_raw(old)?;
    let new_idx = usize::try_from(new).ok().filter(|&n| n < crate::vfs::MAX_FDS).ok_or(Errno::EBADF)?;
    if let Some(old) = task.fds.set(new_idx, file, cloexec) {
        release(task, old);
    }
    Ok(new as u64)
}

pub fn dup2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    if old == new {
        return task.fds.get_raw(old).map(|_| new as u64);
    }
    dup_to(task, old, new, false)
}

pub fn dup3(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    if old == new || a[2] & !fcntl::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    dup_to(task, old, new, a[2] & fcntl::O_CLOEXEC != 0)
}

fn access_check(task: &Task, dirfd: i64, path_addr: u64, mode: u64, flags: u64) -> Result<u64, Errno> {
    const AT_EACCESS: u64 = 0x200;
    if mode & !7 != 0 || flags & !(AT_EACCESS | fcntl::AT_SYMLINK_NOFOLLOW | fcntl::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_path(task, dirfd, path_addr, flags)?;
    let (uid, gid) =
        if flags & AT_EACCESS != 0 { (task.creds.euid, task.creds.egid) } else { (task.creds.uid, task.creds.gid) };
    if mode == 0 {
        return Ok(0);
    }
    // Linux's access(2) checks with the real ids, and with the permitted
    // set for real root (the effective set for AT_EACCESS).
    let set = if flags & AT_EACCESS != 0 { task.creds.caps.effective } else { task.creds.caps.permitted };
    let overrides = uid == 0 || flags & AT_EACCESS != 0;
    let bits = if overrides && set & (1 << crate::kernel::caps::CAP_DAC_OVERRIDE) != 0 {
        // DAC_OVERRIDE reads and writes anything, and executes what anyone may.
        let x = if st.mode & 0o111 != 0 || st.mode & 0o170000 == 0o040000 { 1 } else { 0 };
        6 | x
    } else if st.uid == uid {
        (st.mode >> 6) & 7
    } else if st.gid == gid || task.creds.groups.contains(&st.gid) {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    if u64::from(bits) & mode == mode {
        Ok(0)
    } else {
        Err(Errno::EACCES)
    }
}

pub fn access(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    access_check(task, fcntl::AT_FDCWD, a[0], a[1], 0)
}

pub fn faccessat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    access_check(task, fd_arg(a[0]), a[1], a[2], 0)
}

pub fn faccessat2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    access_check(task, fd_arg(a[0]), a[1], a[2], a[3])
}

fn readlink_common(task: &mut Task, dirfd: i64, path_addr: u64, buf: u64, size: u64) -> Result<u64, Errno> {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let raw = task.mm.read_cstring(path_addr, PATH_MAX)?;
    let path = if raw.is_empty() && dirfd != fcntl::AT_FDCWD {
        // An empty path reads the link `dirfd` names (an O_PATH|O_NOFOLLOW
        // descriptor of it).
        let file = task.fds.get_raw(dirfd)?;
        if file.stat()?.mode & 0o170000 != 0o120000 {
            return Err(Errno::ENOENT);
        }
        file.path()
    } else {
        at_path(task, dirfd, &read_path(task, path_addr)?)?
    };
    let (fs, inner) = resolve(task, &path, false)?;
    let mut target = fs.readlink(task, &inner)?;
    // procfs's links (cwd, exe, root, fd/N) name whole-namespace paths:
    // shown relative to the reader's root, as Linux's d_path.
    if fs.name() == "proc" && target.starts_with('/') {
        if let Some(seen) = crate::vfs::mount::view(&task.root, &target) {
            target = seen;
        }
    }
    let n = target.len().min(size as usize);
    task.mm.copy_out(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

pub fn readlink(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    readlink_common(task, fcntl::AT_FDCWD, a[0], a[1], a[2])
}

pub fn readlinkat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    readlink_common(task, fd_arg(a[0]), a[1], a[2], a[3])
}

pub fn getcwd(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    // Relative to the task's root; Linux marks a directory outside it.
    let cwd = crate::vfs::mount::view(&task.root, &task.cwd).unwrap_or_else(|| format!("(unreachable){}", task.cwd));
    let mut bytes = cwd.into_bytes();
    bytes.push(0);
    if (a[1] as usize) < bytes.len() {
        return Err(Errno::ERANGE);
    }
    task.mm.copy_out(a[0], &bytes)?;
    Ok(bytes.len() as u64)
}

/// `chroot(2)`: the path is walked with the caller's credentials (ENOENT,
/// ENOTDIR, EACCES), needs search permission, then CAP_SYS_CHROOT (EPERM),
/// in Linux's order. The root is shared with the tasks sharing the
/// caller's filesystem context (CLONE_FS: its threads); children inherit
/// it.
pub fn chroot(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = at_path(task, fcntl::AT_FDCWD, &read_path(task, a[0])?)?;
    let st = stat_abs(task, &path, true)?;
    if st.mode & 0o170000 != 0o040000 {
        return Err(Errno::ENOTDIR);
    }
    if !task.creds.permits(st.mode, st.uid, st.gid, true, 1) {
        return Err(Errno::EACCES);
    }
    if !task.creds.capable(crate::kernel::caps::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    task.root = normalize(&path);
    task.publish_fs();
    Ok(0)
}

pub fn chdir(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = at_path(task, fcntl::AT_FDCWD, &read_path(task, a[0])?)?;
    let st = stat_abs(task, &path, true)?;
    if st.mode & 0o170000 != 0o040000 {
        return Err(Errno::ENOTDIR);
    }
    task.cwd = normalize(&path);
    task.publish_fs();
    Ok(0)
}

use crate::vfs::mount::normalize;

pub fn pipe2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const O_DIRECT: u64 = 0o40000;
    let flags = a[1];
    if flags & !(fcntl::O_CLOEXEC | fcntl::O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & O_DIRECT != 0 {
        // Packet mode is not implemented; refusing beats ignoring it.
        return Err(Errno::EINVAL);
    }
    let (r, w) = crate::fs::pipe::new_pipe(flags);
    let cloexec = flags & fcntl::O_CLOEXEC != 0;
    let rfd = task.fds.insert(0, Arc::new(r), cloexec)?;
    let wfd = match task.fds.insert(0, Arc::new(w), cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.fds.remove(rfd);
            return Err(e);
        }
    };
    let fds = [rfd as i32, wfd as i32];
    if let Err(e) = task.mm.write_obj(a[0], &fds) {
        let _ = task.fds.remove(rfd);
        let _ = task.fds.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

pub fn pipe(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    pipe2(task, &[a[0], 0, 0, 0, 0, 0])
}

pub fn umask(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = task.umask;
    task.umask = (a[0] & 0o777) as u32;
    task.publish_fs();
    Ok(old.into())
}

// Directories and the stat family (gVisor: `sys_getdents.go`, `sys_stat.go`).

/// Fills a `getdents` buffer from `file`'s position on. `record` lays out
/// one entry; EINVAL if even the first one does not fit.
fn getdents_common(task: &mut Task, a: &[u64; 6], record: fn(&DirEntry<'_>) -> Vec<u8>) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    let cap = (a[2] as u32 as u64).min(MAX_RW) as usize;
    let mut buf = Vec::new();
    let mut too_small = false;
    file.readdir(&mut |e| {
        let rec = record(e);
        if buf.len() + rec.len() > cap {
            too_small = buf.is_empty();
            return false;
        }
        buf.extend_from_slice(&rec);
        true
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    task.mm.copy_out(a[1], &buf)?;
    // Linux's iterate_dir reports an access even at the end.
    notify::file_event(task, &*file, crate::fs::inotify::IN_ACCESS);
    Ok(buf.len() as u64)
}

/// `struct linux_dirent64`: d_ino, d_off, d_reclen, d_type, then the
/// NUL-terminated name, padded to 8 bytes.
fn dirent64_record(e: &DirEntry<'_>) -> Vec<u8> {
    let reclen = (19 + e.name.len() + 1).next_multiple_of(8);
    let mut rec = Vec::with_capacity(reclen);
    rec.extend_from_slice(&e.ino.to_le_bytes());
    rec.extend_from_slice(&e.next_off.to_le_bytes());
    rec.extend_from_slice(&(reclen as u16).to_le_bytes());
    rec.push(e.d_type);
    rec.extend_from_slice(e.name);
    rec.resize(reclen, 0);
    rec
}

/// The old `struct linux_dirent`: d_ino, d_off, d_reclen, the
/// NUL-terminated name, and d_type in the record's last byte.
fn dirent_record(e: &DirEntry<'_>) -> Vec<u8> {
    let reclen = (18 + e.name.len() + 2).next_multiple_of(8);
    let mut rec = Vec::with_capacity(reclen);
    rec.extend_from_slice(&e.ino.to_le_bytes());
    rec.extend_from_slice(&e.next_off.to_le_bytes());
    rec.extend_from_slice(&(reclen as u16).to_le_bytes());
    rec.extend_from_slice(e.name);
    rec.resize(reclen, 0);
    rec[reclen - 1] = e.d_type;
    rec
}

pub fn getdents64(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    getdents_common(task, a, dirent64_record)
}

pub fn getdents(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    getdents_common(task, a, dirent_record)
}

/// `struct statx` from what `stat` knows: the basic stats, no birth time.
fn statx_from(st: &abi::Stat) -> Statx {
    let ts = |t: &abi::Timespec| StatxTimestamp { tv_sec: t.tv_sec, tv_nsec: t.tv_nsec as u32, reserved: 0 };
    // glibc's major()/minor() of a kernel dev_t.
    let major = |d: u64| (((d >> 8) & 0xfff) | ((d >> 32) & !0xfff)) as u32;
    let minor = |d: u64| ((d & 0xff) | ((d >> 12) & !0xff)) as u32;
    Statx {
        mask: stat::STATX_BASIC_STATS,
        blksize: st.blksize as u32,
        nlink: st.nlink as u32,
        uid: st.uid,
        gid: st.gid,
        mode: st.mode as u16,
        ino: st.ino,
        size: st.size as u64,
        blocks: st.blocks as u64,
        atime: ts(&st.atime),
        ctime: ts(&st.ctime),
        mtime: ts(&st.mtime),
        rdev_major: major(st.rdev),
        rdev_minor: minor(st.rdev),
        dev_major: major(st.dev),
        dev_minor: minor(st.dev),
        ..Statx::default()
    }
}

pub fn statx(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (dirfd, path_addr, flags, mask) = (fd_arg(a[0]), a[1], a[2], a[3] as u32);
    let sync = fcntl::AT_STATX_FORCE_SYNC | fcntl::AT_STATX_DONT_SYNC;
    let valid = fcntl::AT_SYMLINK_NOFOLLOW | fcntl::AT_NO_AUTOMOUNT | fcntl::AT_EMPTY_PATH | sync;
    if flags & !valid != 0 || flags & sync == sync || mask & stat::STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    // Every field we have costs nothing to fill, so all are filled
    // whatever the mask asks: Linux too may return more than was asked.
    let empty = flags & fcntl::AT_EMPTY_PATH != 0 && (path_addr == 0 || first_byte(task, path_addr)? == 0);
    let st = if empty {
        if dirfd == fcntl::AT_FDCWD {
            stat_abs(task, &task.cwd, true)?
        } else {
            task.fds.get_raw(dirfd)?.stat()?
        }
    } else {
        stat_path(task, dirfd, path_addr, flags)?
    };
    task.mm.write_obj(a[4], &statx_from(&st)).map(|_| 0)
}

pub(super) fn first_byte(task: &Task, addr: u64) -> Result<u8, Errno> {
    let mut b = [0u8; 1];
    task.mm.copy_in(addr, &mut b)?;
    Ok(b[0])
}

pub fn statfs(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = at_path(task, fcntl::AT_FDCWD, &read_path(task, a[0])?)?;
    let (fs, inner) = resolve(task, &path, true)?;
    let st = fs.statfs(task, &inner)?;
    task.mm.write_obj(a[1], &st).map(|_| 0)
}

pub fn fstatfs(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let st = task.fds.get_raw(fd_arg(a[0]))?.statfs()?;
    task.mm.write_obj(a[1], &st).map(|_| 0)
}

// Changes to the tree (gVisor: `sys_file.go`'s mkdir, unlink, rename,
// link, symlink; `sys_stat.go`'s chmod/chown/truncate/utimensat). Each
// goes to the file system serving the path; the gofer's root answers
// EROFS until writable gofer files arrive.

/// `sync` and `syncfs`: nothing the sandbox holds needs writing (the root
/// overlay's writes and tmpfs live in its memory by design), and writes to
/// host-backed files are already in the host's page cache, written back
/// on the host's schedule; an application that needs them on disk calls
/// `fsync`, which reaches the host file.
pub fn sync(_task: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(0)
}

pub fn syncfs(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.fds.get(fd_arg(a[0]))?;
    Ok(0)
}

pub fn fsync(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.fds.get(fd_arg(a[0]))?.sync().map(|()| 0)
}

pub fn fchdir(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get_raw(fd_arg(a[0]))?;
    if file.stat()?.mode & 0o170000 != 0o040000 {
        return Err(Errno::ENOTDIR);
    }
    task.cwd = normalize(&file.path());
    task.publish_fs();
    Ok(0)
}

pub fn close_range(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const CLOSE_RANGE_UNSHARE: u64 = 1 << 1;
    const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2]);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 && Arc::strong_count(&task.fds) > 1 {
        // Stop sharing the table first, as Linux's unshare_fd does.
        task.fds = Arc::new(task.fds.fork_copy());
    }
    for file in task.fds.close_range(first as usize, last as usize, flags & CLOSE_RANGE_CLOEXEC != 0) {
        release(task, file);
    }
    Ok(0)
}

/// `sync_file_range`: a range of a file's dirty pages written back, as
/// `fsync` would (the whole file; the range is what Linux checks).
pub fn sync_file_range(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const WAIT_BEFORE: u64 = 1;
    const WRITE: u64 = 2;
    const WAIT_AFTER: u64 = 4;
    let (offset, nbytes, flags) = (a[1] as i64, a[2] as i64, a[3]);
    if flags & !(WAIT_BEFORE | WRITE | WAIT_AFTER) != 0
        || offset < 0
        || nbytes < 0
        || offset.checked_add(nbytes).is_none()
    {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(fd_arg(a[0]))?;
    if !matches!(file.stat()?.mode & 0o170000, 0o100000 | 0o040000 | 0o120000 | 0o060000) {
        return Err(Errno::ESPIPE);
    }
    if flags & (WRITE | WAIT_AFTER) != 0 {
        file.sync()?;
    }
    Ok(0)
}

/// `readahead`: a hint, like `fadvise64`'s WILLNEED, checked as Linux
/// checks it (a readable regular file).
pub fn readahead(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    readable(&*file).map_err(|_| Errno::EBADF)?;
    if file.stat()?.mode & 0o170000 != 0o100000 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn fadvise64(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    if file.wait_queue().is_some() {
        return Err(Errno::ESPIPE); // pipes (and sockets) take no advice
    }
    if (a[2] as i64) < 0 || a[3] > 5 {
        return Err(Errno::EINVAL);
    }
    // Advice about caching changes no result a program can see.
    Ok(0)
}

#[cfg(test)]
mod dir_tests {
    use super::*;

    #[test]
    fn dirent_records_are_laid_out_as_linux_does() {
        let e = DirEntry { ino: 7, next_off: 3, d_type: 4, name: b"abcde" };
        let r = dirent64_record(&e);
        assert_eq!(r.len(), 32); // 19 + 5 + NUL = 25, rounded up to 8
        assert_eq!(&r[0..8], &7u64.to_le_bytes());
        assert_eq!(&r[8..16], &3i64.to_le_bytes());
        assert_eq!(&r[16..18], &32u16.to_le_bytes());
        assert_eq!(r[18], 4);
        assert_eq!(&r[19..25], b"abcde\0");
        let r = dirent_record(&e);
        assert_eq!(r.len(), 32); // 18 + 5 + NUL + d_type = 25, rounded up to 8
        assert_eq!(&r[18..24], b"abcde\0");
        assert_eq!(r[31], 4);
        let long = DirEntry { name: b"abcdef", ..e };
        assert_eq!(dirent64_record(&long).len(), 32);
        assert_eq!(dirent64_record(&DirEntry { name: &[b'x'; 13], ..e }).len(), 40);
    }

    #[test]
    fn statx_splits_device_numbers() {
        let st = abi::Stat { dev: (8 << 8) | 1, rdev: 0x1234_5678_9abc, mode: 0o40755, ..abi::Stat::default() };
        let sx = statx_from(&st);
        assert_eq!((sx.dev_major, sx.dev_minor), (8, 1));
        // Large numbers round-trip through the makedev encoding.
        let (ma, mi) = (sx.rdev_major as u64, sx.rdev_minor as u64);
        let dev = ((ma & 0xfff) << 8) | ((ma & !0xfff) << 32) | (mi & 0xff) | ((mi & !0xff) << 12);
        assert_eq!(dev, st.rdev);
        assert_eq!(sx.mode, 0o40755);
        assert_eq!(sx.mask, stat::STATX_BASIC_STATS);
    }
}
