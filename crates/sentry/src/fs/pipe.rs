//! Pipes (gVisor: `pkg/sentry/kernel/pipe`): a bounded byte buffer shared
//! by a read end and a write end. Operations never block here; they fail
//! with EAGAIN and the syscall layer waits on the pipe's queue.

use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply};
use abi::{fcntl, ioctl, Errno, Stat};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Default capacity (`/proc/sys/fs/pipe-max-size` default is larger; this
/// is Linux's default per pipe).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct State {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

struct Pipe {
    state: Mutex<State>,
    queue: WaitQueue,
    ino: u64,
}

/// One end of a pipe, as an open file description.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    writer: bool,
    flags: AtomicU64,
}

/// Creates a pipe: (read end, write end).
pub fn new_pipe(flags: u64) -> (PipeEnd, PipeEnd) {
    static NEXT_INO: AtomicU64 = AtomicU64::new(1);
    let pipe = Arc::new(Pipe {
        state: Mutex::new(State { buf: VecDeque::new(), readers: 1, writers: 1 }),
        queue: WaitQueue::default(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    });
    let status = flags & fcntl::O_NONBLOCK;
    (
        PipeEnd { pipe: pipe.clone(), writer: false, flags: AtomicU64::new(fcntl::O_RDONLY | status) },
        PipeEnd { pipe, writer: true, flags: AtomicU64::new(fcntl::O_WRONLY | status) },
    )
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut st = self.pipe.state.lock().unwrap();
        if self.writer {
            st.writers -= 1;
        } else {
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
        let room = PIPE_CAPACITY - st.buf.len();
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

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    /// Linux `pipe_poll`: the read end is readable with data and hung up
    /// once no writer is left; the write end is writable while a
    /// PIPE_BUF write fits and in error once no reader is left.
    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        let st = self.pipe.state.lock().unwrap();
        let mut ready = 0;
        if !self.writer {
            if !st.buf.is_empty() {
                ready |= POLLIN | POLLRDNORM;
            }
            if st.writers == 0 {
                ready |= POLLHUP;
            }
        } else {
            if PIPE_CAPACITY - st.buf.len() >= PIPE_BUF {
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
    fn notify_counts_generations() {
        let (r, w) = new_pipe(0);
        let g = r.wait_queue().unwrap().generation();
        w.write(b"x").unwrap();
        assert!(r.wait_queue().unwrap().generation() > g);
    }
}
