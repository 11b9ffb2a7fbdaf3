//! splice, tee and vmsplice (Linux `fs/splice.c`; gVisor: `sys_splice.go`).
//! One end is always a pipe; the bytes move in the sentry, between the
//! pipe's buffer and the other file's own read and write (a file at an
//! offset or its position, a socket, a second pipe, the caller's memory).
//! Nothing is lent by reference: `SPLICE_F_MOVE` and `SPLICE_F_GIFT` are
//! hints Linux may ignore too, and the data is copied once.

use super::sys_file::{fd_arg, gather, iovecs, scatter, sigpipe, MAX_RW};
use crate::fs::pipe::PipeEnd;
use crate::kernel::waiter::WaitQueue;
use crate::kernel::Task;
use crate::vfs::notify::{accessed, modified};
use crate::vfs::{readable, writable, FileDescription};
use abi::{fcntl, Errno};
use std::time::Duration;

const SPLICE_F_NONBLOCK: u64 = 2;
/// MOVE | NONBLOCK | MORE | GIFT.
const SPLICE_F_ALL: u64 = 0xf;

/// Host streams (host stdio) notify no queue: a splice waiting on one
/// looks again this often.
const HOST_SLICE: Duration = Duration::from_millis(50);

/// Whether `file` would not block on `events` now: always for the
/// sentry's own files (their operations answer EAGAIN instead), by a
/// zero-timeout poll for a host stream.
fn host_ready(file: &dyn FileDescription, events: rustix::event::PollFlags) -> bool {
    use rustix::event::{poll, PollFd, Timespec};
    let Some(fd) = file.host_stream() else { return true };
    let mut fds = [PollFd::new(&fd, events)];
    matches!(poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0)
}

/// Runs `op` until it stops answering EAGAIN (once, if `nonblock`),
/// sleeping on `queues`; with `other` a host stream, in slices.
fn until_moved(
    task: &Task,
    queues: &[&WaitQueue],
    other: &dyn FileDescription,
    nonblock: bool,
    mut op: impl FnMut() -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    if nonblock {
        return op();
    }
    let host = other.host_stream().is_some();
    loop {
        match task.block_on_queues(queues, host.then_some(HOST_SLICE), &mut op) {
            Err(Errno::EAGAIN) if host => {}
            r => return r,
        }
    }
}

/// Reads the `loff_t` at `addr` (none when `addr` is 0) for a file that
/// must support positioned I/O (EINVAL for a socket or a host stream,
/// as Linux's FMODE_PREAD/PWRITE check; EINVAL for a negative offset).
fn read_offset(task: &Task, addr: u64, file: &dyn FileDescription) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if file.wait_queue().is_some() || file.host_stream().is_some() {
        return Err(Errno::EINVAL);
    }
    let off = task.mm.read_obj::<i64>(addr)?;
    u64::try_from(off).map(Some).map_err(|_| Errno::EINVAL)
}

fn nonblocking(file: &dyn FileDescription) -> bool {
    file.flags() & fcntl::O_NONBLOCK != 0
}

pub fn splice(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (in_addr, out_addr, len, flags) = (a[1], a[3], a[4].min(MAX_RW) as usize, a[5]);
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (input, output) = (task.fds.get(fd_arg(a[0]))?, task.fds.get(fd_arg(a[2]))?);
    readable(&*input)?;
    writable(&*output)?;
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let n = match (input.as_pipe(), output.as_pipe()) {
        (Some(src), Some(dst)) => {
            if in_addr != 0 || out_addr != 0 {
                return Err(Errno::ESPIPE);
            }
            if src.same_pipe(dst) {
                return Err(Errno::EINVAL);
            }
            let nonblock = nonblock || nonblocking(&*input) || nonblocking(&*output);
            let queues = [src.queue(), dst.queue()];
            until_moved(task, &queues, &*input, nonblock, || src.pipe_to(dst, len, false))
                .map_err(|e| sigpipe(task, e))?
        }
        (Some(src), None) => {
            if in_addr != 0 {
                return Err(Errno::ESPIPE);
            }
            let mut off = read_offset(task, out_addr, &*output)?;
            if output.flags() & fcntl::O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            let n = from_pipe(task, src, &*output, off.as_mut(), len, nonblock || nonblocking(&*input))?;
            if let Some(o) = off {
                task.mm.write_obj(out_addr, &(o as i64))?;
            }
            n
        }
        (None, Some(dst)) => {
            if out_addr != 0 {
                return Err(Errno::ESPIPE);
            }
            let mut off = read_offset(task, in_addr, &*input)?;
            let n = to_pipe(task, &*input, off.as_mut(), dst, len, nonblock || nonblocking(&*output))?;
            if let Some(o) = off {
                task.mm.write_obj(in_addr, &(o as i64))?;
            }
            n
        }
        (None, None) => return Err(Errno::EINVAL),
    };
    accessed(task, &*input, n);
    modified(task, &*output, n);
    Ok(n as u64)
}

/// Moves what the pipe holds (after waiting for its first byte) to
/// `output`, at `*off` when given (advancing it) or at its position.
fn from_pipe(
    task: &Task,
    src: &PipeEnd,
    output: &dyn FileDescription,
    off: Option<&mut u64>,
    len: usize,
    nonblock: bool,
) -> Result<usize, Errno> {
    with_file(task, src, output, off, nonblock, |at| {
        src.drain_to(len, |data| {
            if !host_ready(output, rustix::event::PollFlags::OUT) {
                return Err(Errno::EAGAIN);
            }
            match at {
                Some(o) => output.pwrite(data, o),
                None => output.write(data),
            }
        })
    })
}

/// Reads from `input` (at `*off` when given, advancing it, or at its
/// position) into the pipe, as much as the pipe has room for once it has
/// some.
fn to_pipe(
    task: &Task,
    input: &dyn FileDescription,
    off: Option<&mut u64>,
    dst: &PipeEnd,
    len: usize,
    nonblock: bool,
) -> Result<usize, Errno> {
    with_file(task, dst, input, off, nonblock, |at| {
        dst.fill_from(len, |buf| {
            if !host_ready(input, rustix::event::PollFlags::IN) {
                return Err(Errno::EAGAIN);
            }
            match at {
                Some(o) => input.pread(buf, o),
                None => input.read(buf),
            }
        })
    })
}

/// Runs `op` (one move between `pipe` and `file`, at the offset it is
/// given or at the file's position) until it moves something, waiting
/// for the pipe and for `file` (a stream that is not ready says EAGAIN,
/// and is waited for unless it is non-blocking); then advances `*off`.
fn with_file(
    task: &Task,
    pipe: &PipeEnd,
    file: &dyn FileDescription,
    off: Option<&mut u64>,
    nonblock: bool,
    mut op: impl FnMut(Option<u64>) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let nonblock = nonblock || (file.wait_queue().is_some() && nonblocking(file));
    let queues: Vec<&WaitQueue> = std::iter::once(pipe.queue()).chain(file.wait_queue()).collect();
    let at = off.as_deref().copied();
    let n = until_moved(task, &queues, file, nonblock, || op(at)).map_err(|e| sigpipe(task, e))?;
    if let Some(o) = off {
        *o += n as u64;
    }
    Ok(n)
}

pub fn tee(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (len, flags) = (a[2].min(MAX_RW) as usize, a[3]);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let (input, output) = (task.fds.get(fd_arg(a[0]))?, task.fds.get(fd_arg(a[1]))?);
    readable(&*input)?;
    writable(&*output)?;
    let (Some(src), Some(dst)) = (input.as_pipe(), output.as_pipe()) else { return Err(Errno::EINVAL) };
    if src.same_pipe(dst) {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || nonblocking(&*input) || nonblocking(&*output);
    let queues = [src.queue(), dst.queue()];
    let n =
        until_moved(task, &queues, &*input, nonblock, || src.pipe_to(dst, len, true)).map_err(|e| sigpipe(task, e))?;
    Ok(n as u64)
}

/// vmsplice: into the pipe from the caller's buffers when the descriptor
/// is open for writing, out of it into them otherwise (Linux
/// `vmsplice_type`). Either way it waits once, for room or for data, and
/// moves what fits.
pub fn vmsplice(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[3];
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(fd_arg(a[0]))?;
    let access = file.flags() & fcntl::O_ACCMODE;
    let pipe = file.as_pipe().ok_or(Errno::EBADF)?;
    let iovs = iovecs(task, a[1], a[2])?;
    let total = iovs.iter().map(|v| v.len).sum::<u64>().min(MAX_RW) as usize;
    if total == 0 {
        return Ok(0);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || nonblocking(&*file);
    let queues = [pipe.queue()];
    let n = if access == fcntl::O_WRONLY || access == fcntl::O_RDWR {
        let data = gather(task, &iovs)?;
        until_moved(task, &queues, &*file, nonblock, || {
            pipe.fill_from(data.len(), |room| {
                room.copy_from_slice(&data[..room.len()]);
                Ok(room.len())
            })
        })
        .map_err(|e| sigpipe(task, e))?
    } else {
        until_moved(task, &queues, &*file, nonblock, || {
            pipe.drain_to(total, |data| scatter(task, &iovs, data).map(|()| data.len()))
        })?
    };
    Ok(n as u64)
}
