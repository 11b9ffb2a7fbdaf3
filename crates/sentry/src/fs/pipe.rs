//! Pipes (gVisor: `pkg/sentry/kernel/pipe`): a bounded byte buffer shared
//! by a read end and a write end. Operations never block here; they fail
//! with EAGAIN and the syscall layer waits on the pipe's queue.
//!
//! Named pipes (FIFOs, Linux `fs/pipe.c` `fifo_open`): the file systems
//! that hold FIFO inodes (tmpfs, the overlay) open them with [`open_fifo`],
//! keyed by (device, inode): every opener of one inode shares one pipe,
//! which lives while any of them has it open (its data is lost when the
//! last closes, as on Linux). An end opened `O_RDWR` reads and writes.
//! Opening blocks until the other side appears; that wait is the syscall
//! layer's ([`PipeEnd::partner_ready`]), as the file system must not sleep.

use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply};
use abi::{fcntl, ioctl, Errno, Stat};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Default capacity, Linux's default per pipe.
pub const PIPE_CAPACITY: usize = 65536;
/// The most `F_SETPIPE_SZ` grants without CAP_SYS_RESOURCE
/// (`/proc/sys/fs/pipe-max-size`).
pub const PIPE_MAX_SIZE: usize = 1 << 20;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct State {
    buf: VecDeque<u8>,
    /// How many bytes the buffer may hold (`F_SETPIPE_SZ`).
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Opens of a read (write) side so far: a FIFO opener waits until
    /// the other side's count moves (Linux `r_counter`/`w_counter`).
    read_opens: u64,
    write_opens: u64,
}

struct Pipe {
    state: Mutex<State>,
    queue: WaitQueue,
    ino: u64,
}

/// One end of a pipe, as an open file description (a FIFO opened
/// `O_RDWR` is both).
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    reader: bool,
    writer: bool,
    flags: AtomicU64,
    /// For a FIFO end opened without its partner: the partner's open
    /// count when this end was opened.
    partner_opens: Option<u64>,
    /// For a FIFO reader opened while no writer was there: the writers'
    /// open count then; POLLHUP waits until it moves.
    hup_mark: Option<u64>,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

fn new_shared() -> Arc<Pipe> {
    Arc::new(Pipe {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            capacity: PIPE_CAPACITY,
            readers: 0,
            writers: 0,
            read_opens: 0,
            write_opens: 0,
        }),
        queue: WaitQueue::default(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    })
}

/// Creates a pipe: (read end, write end).
pub fn new_pipe(flags: u64) -> (PipeEnd, PipeEnd) {
    let pipe = new_shared();
    {
        let mut st = pipe.state.lock().unwrap();
        st.readers = 1;
        st.writers = 1;
    }
    let status = flags & fcntl::O_NONBLOCK;
    let end = |reader: bool, acc: u64| PipeEnd {
        pipe: pipe.clone(),
        reader,
        writer: !reader,
        flags: AtomicU64::new(acc | status),
        partner_opens: None,
        hup_mark: None,
    };
    (end(true, fcntl::O_RDONLY), end(false, fcntl::O_WRONLY))
}

/// The pipes of FIFO inodes that are open, by (device, inode).
static FIFOS: Mutex<BTreeMap<(u64, u64), Weak<Pipe>>> = Mutex::new(BTreeMap::new());

/// Opens the FIFO inode `key` with `open(2)` `flags`, as Linux's
/// `fifo_open` does but without its sleep: `O_WRONLY|O_NONBLOCK` with no
/// reader is ENXIO; an end that must wait for its partner says so through
/// [`PipeEnd::partner_ready`].
pub fn open_fifo(key: (u64, u64), flags: u64) -> Result<PipeEnd, Errno> {
    let pipe = {
        let mut fifos = FIFOS.lock().unwrap();
        fifos.retain(|_, p| p.strong_count() > 0);
        match fifos.get(&key).and_then(Weak::upgrade) {
            Some(p) => p,
            None => {
                let p = new_shared();
                fifos.insert(key, Arc::downgrade(&p));
                p
            }
        }
    };
    let acc = flags & fcntl::O_ACCMODE;
    let nonblock = flags & fcntl::O_NONBLOCK != 0;
    let (reader, writer) = match acc {
        fcntl::O_RDONLY => (true, false),
        fcntl::O_WRONLY => (false, true),
        _ => (true, true),
    };
    let mut st = pipe.state.lock().unwrap();
    let (mut partner_opens, mut hup_mark) = (None, None);
    if reader {
        st.readers += 1;
        st.read_opens += 1;
        if !writer && st.writers == 0 {
            hup_mark = Some(st.write_opens);
            if !nonblock {
                partner_opens = hup_mark;
            }
        }
    }
    if writer {
        if !reader && st.readers == 0 {
            if nonblock {
                return Err(Errno::ENXIO);
            }
            partner_opens = Some(st.read_opens);
        }
        st.writers += 1;
        st.write_opens += 1;
    }
    drop(st);
    pipe.queue.notify();
    let status = flags & (fcntl::O_NONBLOCK | fcntl::O_APPEND);
    Ok(PipeEnd { pipe, reader, writer, flags: AtomicU64::new(acc | status), partner_opens, hup_mark })
}

impl PipeEnd {
    /// For a FIFO end opened while its other side was missing: EAGAIN
    /// until an opener of the other side has come (and perhaps gone
    /// already), as Linux's `wait_for_partner`. Ok at once otherwise.
    pub fn partner_ready(&self) -> Result<(), Errno> {
        let Some(seen) = self.partner_opens else { return Ok(()) };
        let st = self.pipe.state.lock().unwrap();
        let now = if self.reader { st.write_opens } else { st.read_opens };
        if now != seen {
            Ok(())
        } else {
            Err(Errno::EAGAIN)
        }
    }

    /// Whether the open must wait for [`partner_ready`](Self::partner_ready).
    pub fn waits_for_partner(&self) -> bool {
        self.partner_opens.is_some()
    }

    /// Whether `self` and `other` are ends of one pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.pipe, &other.pipe)
    }

    pub fn queue(&self) -> &WaitQueue {
        &self.pipe.queue
    }

    /// Splices into the pipe (Linux `wait_for_space` then the source's
    /// `splice_read`): `fill` is lent room for up to `max` bytes, as much
    /// as the pipe takes now, and says how many it wrote there. EPIPE
    /// once no reader is left, EAGAIN while the pipe is full or `fill`
    /// has nothing yet. The pipe stays locked while `fill` runs, so
    /// nothing it reads can be lost to another writer.
    pub fn fill_from(&self, max: usize, fill: impl FnOnce(&mut [u8]) -> Result<usize, Errno>) -> Result<usize, Errno> {
        let mut st = self.pipe.state.lock().unwrap();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let room = st.capacity.saturating_sub(st.buf.len()).min(max);
        if room == 0 {
            return Err(Errno::EAGAIN);
        }
        let mut chunk = vec![0u8; room];
        let n = fill(&mut chunk)?;
        st.buf.extend(&chunk[..n]);
        drop(st);
        if n > 0 {
            self.pipe.queue.notify();
        }
        Ok(n)
    }

    /// Splices out of the pipe (Linux `splice_from_pipe`): `drain` is
    /// offered up to `max` of the pipe's bytes and says how many it
    /// took; those leave the pipe. 0 when the pipe is empty and has no
    /// writer, EAGAIN when it is empty and has one, or when `drain` can
    /// take nothing yet. The pipe stays locked while `drain` runs (as
    /// Linux holds its pipe mutex), so no reader sees the bytes twice.
    pub fn drain_to(&self, max: usize, drain: impl FnOnce(&[u8]) -> Result<usize, Errno>) -> Result<usize, Errno> {
        let mut st = self.pipe.state.lock().unwrap();
        if st.buf.is_empty() {
            return if st.writers == 0 { Ok(0) } else { Err(Errno::EAGAIN) };
        }
        let n = max.min(st.buf.len());
        let taken = drain(&st.buf.make_contiguous()[..n])?;
        st.buf.drain(..taken);
        drop(st);
        if taken > 0 {
            self.pipe.queue.notify();
        }
        Ok(taken)
    }

    /// Moves up to `max` bytes from this pipe to `dst`'s (`keep`: copies
    /// them, as `tee` does), as much as both allow now. The checks run in
    /// Linux's order (`ipipe_prep`, then `opipe_prep`): 0 when this pipe
    /// is empty with no writer, EAGAIN while it is empty, EPIPE when
    /// `dst` has no reader, EAGAIN while `dst` is full. The caller has
    /// refused two ends of one pipe.
    pub fn pipe_to(&self, dst: &PipeEnd, max: usize, keep: bool) -> Result<usize, Errno> {
        // Two splices in opposite directions lock in the same order.
        let src_first = Arc::as_ptr(&self.pipe) < Arc::as_ptr(&dst.pipe);
        let (a, b) = if src_first { (&self.pipe, &dst.pipe) } else { (&dst.pipe, &self.pipe) };
        let (mut first, mut second) = (a.state.lock().unwrap(), b.state.lock().unwrap());
        let (src, out) = if src_first { (&mut *first, &mut *second) } else { (&mut *second, &mut *first) };
        if src.buf.is_empty() {
            return if src.writers == 0 { Ok(0) } else { Err(Errno::EAGAIN) };
        }
        if out.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let n = max.min(src.buf.len()).min(out.capacity.saturating_sub(out.buf.len()));
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        out.buf.extend(src.buf.range(..n));
        if !keep {
            src.buf.drain(..n);
        }
        drop((first, second));
        self.pipe.queue.notify();
        dst.pipe.queue.notify();
        Ok(n)
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut st = self.pipe.state.lock().unwrap();
        if self.writer {
            st.writers -= 1;
        }
        if self.reader {
            st.readers -= 1;
        }
        drop(st);
        self.pipe.queue.notify();
    }
}

impl FileDescription for PipeEnd {
    fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut st = self.pipe.state.lock().unwrap();
        if buf.is_empty() {
            return Ok(0);
        }
        if st.buf.is_empty() {
            return if st.writers == 0 { Ok(0) } else { Err(Errno::EAGAIN) };
        }
        let n = buf.len().min(st.buf.len());
        for (dst, src) in buf.iter_mut().zip(st.buf.drain(..n)) {
            *dst = src;
        }
        drop(st);
        self.pipe.queue.notify();
        Ok(n)
    }

    /// Writes what fits; a write of at most PIPE_BUF bytes is all or
    /// nothing. EPIPE once no reader is left.
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut st = self.pipe.state.lock().unwrap();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let room = st.capacity.saturating_sub(st.buf.len());
        if data.is_empty() {
            return Ok(0);
        }
        if room == 0 || (data.len() <= PIPE_BUF && room < data.len()) {
            return Err(Errno::EAGAIN);
        }
        let n = room.min(data.len());
        st.buf.extend(&data[..n]);
        drop(st);
        self.pipe.queue.notify();
        Ok(n)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat { mode: 0o010600, nlink: 1, ino: self.pipe.ino, blksize: PIPE_BUF as i64, ..Stat::default() })
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD => {
                let n = self.pipe.state.lock().unwrap().buf.len() as i32;
                Ok(IoctlReply::Out(n.to_le_bytes().to_vec()))
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self) -> String {
        format!("pipe:[{}]", self.pipe.ino)
    }

    fn fallocate(&self, _mode: u32, _offset: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::ESPIPE)
    }

    fn pipe_size(&self) -> Result<usize, Errno> {
        Ok(self.pipe.state.lock().unwrap().capacity)
    }

    /// Linux's `pipe_set_size`: rounded up to a power-of-two number of
    /// pages; above `PIPE_MAX_SIZE` only with CAP_SYS_RESOURCE (EPERM);
    /// never below what the pipe holds (EBUSY).
    fn set_pipe_size(&self, size: u64, privileged: bool) -> Result<usize, Errno> {
        let size =
            size.max(abi::PAGE_SIZE).checked_next_power_of_two().filter(|&s| s <= 1 << 31).ok_or(Errno::EINVAL)?
                as usize;
        if size > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        let mut st = self.pipe.state.lock().unwrap();
        if st.buf.len() > size {
            return Err(Errno::EBUSY);
        }
        st.capacity = size;
        drop(st);
        self.pipe.queue.notify();
        Ok(size)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    fn as_pipe(&self) -> Option<&PipeEnd> {
        Some(self)
    }

    /// Linux `pipe_poll`: the read end is readable with data and hung up
    /// once no writer is left; the write end is writable while a
    /// PIPE_BUF write fits and in error once no reader is left.
    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        let st = self.pipe.state.lock().unwrap();
        let mut ready = 0;
        if self.reader {
            if !st.buf.is_empty() {
                ready |= POLLIN | POLLRDNORM;
            }
            // A FIFO reader that has never seen a writer is not hung up
            // (Linux compares `w_counter` with the count at open).
            if st.writers == 0 && self.hup_mark.is_none_or(|seen| st.write_opens != seen) {
                ready |= POLLHUP;
            }
        }
        if self.writer {
            if st.capacity.saturating_sub(st.buf.len()) >= PIPE_BUF {
                ready |= POLLOUT | POLLWRNORM;
            }
            if st.readers == 0 {
                ready |= POLLERR;
            }
        }
        ready
    }

    fn pollable(&self) -> bool {
        true
    }

    // Pipes hold no attributes (pipefs has no handler), but Linux checks
    // the `user.*` type rule first.
    fn getxattr(&self, _task: &crate::kernel::Task, name: &str) -> Result<Vec<u8>, Errno> {
        Err(super::xattr::unsupported(0o010000, name, false))
    }
    fn setxattr(&self, _task: &crate::kernel::Task, name: &str, _value: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(super::xattr::unsupported(0o010000, name, true))
    }
    fn listxattr(&self, _task: &crate::kernel::Task) -> Result<Vec<String>, Errno> {
        Ok(Vec::new())
    }
    fn removexattr(&self, _task: &crate::kernel::Task, name: &str) -> Result<(), Errno> {
        Err(super::xattr::unsupported(0o010000, name, true))
    }
}

/// An open FIFO: the pipe end for data, and the file system's own
/// description of the inode for its attributes (which also keeps an
/// unlinked inode alive while it is open).
pub struct FifoFile {
    end: PipeEnd,
    node: Arc<dyn FileDescription>,
}

impl FifoFile {
    pub fn new(end: PipeEnd, node: Arc<dyn FileDescription>) -> FifoFile {
        FifoFile { end, node }
    }
}

impl FileDescription for FifoFile {
    fn flags(&self) -> u64 {
        self.end.flags()
    }
    fn set_flags(&self, flags: u64) {
        self.end.set_flags(flags)
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.end.read(buf)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.end.write(data)
    }
    fn setattr(&self, task: &crate::kernel::Task, attr: &crate::vfs::mount::SetAttr) -> Result<(), Errno> {
        self.node.setattr(task, attr)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }
    fn statfs(&self) -> Result<abi::Statfs, Errno> {
        self.node.statfs()
    }
    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        self.end.ioctl(cmd)
    }
    fn path(&self) -> String {
        self.node.path()
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        self.end.wait_queue()
    }
    fn readiness(&self, mask: u32) -> u32 {
        self.end.readiness(mask)
    }
    fn pollable(&self) -> bool {
        true
    }
    fn as_pipe(&self) -> Option<&PipeEnd> {
        Some(&self.end)
    }
    fn getxattr(&self, task: &crate::kernel::Task, name: &str) -> Result<Vec<u8>, Errno> {
        self.node.getxattr(task, name)
    }
    fn setxattr(&self, task: &crate::kernel::Task, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        self.node.setxattr(task, name, value, flags)
    }
    fn listxattr(&self, task: &crate::kernel::Task) -> Result<Vec<String>, Errno> {
        self.node.listxattr(task)
    }
    fn removexattr(&self, task: &crate::kernel::Task, name: &str) -> Result<(), Errno> {
        self.node.removexattr(task, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_eof_and_epipe() {
        let (r, w) = new_pipe(0);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf), Err(Errno::EAGAIN));
        assert_eq!(w.write(b"abc"), Ok(3));
        assert_eq!(r.read(&mut buf), Ok(3));
        assert_eq!(&buf[..3], b"abc");
        drop(w);
        assert_eq!(r.read(&mut buf), Ok(0));
        let (r, w) = new_pipe(0);
        drop(r);
        assert_eq!(w.write(b"x"), Err(Errno::EPIPE));
    }

    #[test]
    fn small_writes_are_atomic() {
        let (_r, w) = new_pipe(0);
        let big = vec![7u8; PIPE_CAPACITY - 10];
        assert_eq!(w.write(&big), Ok(PIPE_CAPACITY - 10));
        assert_eq!(w.write(&[1u8; 20]), Err(Errno::EAGAIN));
        assert_eq!(w.write(&[1u8; 10]), Ok(10));
    }

    #[test]
    fn readiness_of_both_ends() {
        use abi::poll::*;
        let (r, w) = new_pipe(0);
        assert_eq!(r.readiness(POLLIN), 0);
        assert_eq!(w.readiness(POLLOUT), POLLOUT | POLLWRNORM);
        w.write(b"x").unwrap();
        assert_eq!(r.readiness(POLLIN), POLLIN | POLLRDNORM);
        // Less than PIPE_BUF of room: not writable.
        w.write(&vec![0u8; PIPE_CAPACITY - PIPE_BUF]).unwrap();
        assert_eq!(w.readiness(POLLOUT), 0);
        drop(w);
        assert_eq!(r.readiness(POLLIN), POLLIN | POLLRDNORM | POLLHUP);
        let mut buf = vec![0u8; PIPE_CAPACITY];
        r.read(&mut buf).unwrap();
        // Empty and no writer: hung up, not readable (Linux pipe_poll).
        assert_eq!(r.readiness(POLLIN), POLLHUP);
        let (r, w) = new_pipe(0);
        drop(r);
        assert_eq!(w.readiness(POLLOUT), POLLOUT | POLLWRNORM | POLLERR);
    }

    #[test]
    fn fifo_opens_share_one_pipe_and_wait_for_partners() {
        let key = (u64::MAX, 1);
        assert_eq!(open_fifo(key, fcntl::O_WRONLY | fcntl::O_NONBLOCK).err(), Some(Errno::ENXIO));
        let r = open_fifo(key, fcntl::O_RDONLY).unwrap();
        assert!(r.waits_for_partner());
        assert_eq!(r.partner_ready(), Err(Errno::EAGAIN));
        // No writer ever: not hung up.
        assert_eq!(r.readiness(abi::poll::POLLIN), 0);
        let w = open_fifo(key, fcntl::O_WRONLY).unwrap();
        assert!(!w.waits_for_partner());
        assert_eq!(r.partner_ready(), Ok(()));
        w.write(b"hi").unwrap();
        drop(w);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf), Ok(2));
        assert_eq!(r.read(&mut buf), Ok(0));
        assert_eq!(r.readiness(abi::poll::POLLIN), abi::poll::POLLHUP);
        let rw = open_fifo(key, fcntl::O_RDWR).unwrap();
        assert!(!rw.waits_for_partner());
        rw.write(b"x").unwrap();
        assert_eq!(r.read(&mut buf), Ok(1));
        drop((r, rw));
        // The last close drops the pipe: a new opener gets a new one.
        assert!(FIFOS.lock().unwrap().get(&key).is_none_or(|p| p.strong_count() == 0));
    }

    #[test]
    fn notify_counts_generations() {
        let (r, w) = new_pipe(0);
        let g = r.wait_queue().unwrap().generation();
        w.write(b"x").unwrap();
        assert!(r.wait_queue().unwrap().generation() > g);
    }
}
