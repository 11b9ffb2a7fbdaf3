//! signalfd (gVisor: `fsimpl/signalfd`; Linux `fs/signalfd.c`): reading
//! dequeues the caller's pending signals that are in the file's mask, as
//! `struct signalfd_siginfo`. As in Linux, whose file it is does not
//! matter: `read` and `poll` look at the pending signals of the task that
//! calls them (`TaskHandle::current`).
//!
//! The file has a queue for the syscall layer to sleep on, but nothing
//! notifies it: a signal queued for a task counts as a wake-up of that
//! task, so a reader or poller that is the signal's target looks again.
//! A thread polling a signalfd for signals queued to another thread is
//! not woken (Linux wakes it through the shared pending set, which the
//! sentry does not have: process signals go to one chosen thread).

use super::eventfd::{anon_ino, anon_stat};
use crate::kernel::signal::{SigInfo, SI_USER};
use crate::kernel::task::TaskHandle;
use crate::kernel::timer::SI_TIMER;
use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, StatusFlags};
use abi::signal::{SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSTOP, SIGSYS, SIGTRAP};
use abi::{fcntl, Errno, Stat};
use std::sync::atomic::{AtomicU64, Ordering};

/// `sizeof(struct signalfd_siginfo)`.
pub const SIGINFO_SIZE: usize = 128;

pub struct SignalFd {
    mask: AtomicU64,
    flags: StatusFlags,
    queue: WaitQueue,
    ino: u64,
}

/// SIGKILL and SIGSTOP are never read through a signalfd.
fn usable(mask: u64) -> u64 {
    mask & !((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)))
}

impl SignalFd {
    pub fn new(mask: u64, flags: u64) -> SignalFd {
        SignalFd {
            mask: AtomicU64::new(usable(mask)),
            flags: StatusFlags::new(flags & fcntl::O_NONBLOCK != 0),
            queue: WaitQueue::default(),
            ino: anon_ino(),
        }
    }

    /// signalfd on an existing descriptor: replaces the mask.
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(usable(mask), Ordering::Relaxed);
    }

    fn mask(&self) -> u64 {
        self.mask.load(Ordering::Relaxed)
    }
}

/// `struct signalfd_siginfo` for `info`, filled as Linux's
/// `signalfd_copyinfo` does by the siginfo's layout.
pub fn encode(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut out = [0u8; SIGINFO_SIZE];
    let mut put = |off: usize, bytes: &[u8]| out[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &(info.signo as u32).to_ne_bytes());
    put(4, &info.errno.to_ne_bytes());
    put(8, &info.code.to_ne_bytes());
    let (lo, hi) = (info.fields[0] as u32, (info.fields[0] >> 32) as u32);
    let fault = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP].contains(&info.signo);
    let kernel_code = info.code > SI_USER && info.code < crate::kernel::signal::SI_KERNEL;
    if kernel_code && info.signo == SIGCHLD {
        put(12, &lo.to_ne_bytes()); // pid
        put(16, &hi.to_ne_bytes()); // uid
        put(40, &(info.fields[1] as u32).to_ne_bytes()); // status
        put(56, &info.fields[2].to_ne_bytes()); // utime
        put(64, &info.fields[3].to_ne_bytes()); // stime
    } else if kernel_code && fault {
        put(72, &info.fields[0].to_ne_bytes()); // addr
    } else if kernel_code && info.signo == SIGSYS {
        put(88, &info.fields[0].to_ne_bytes()); // call_addr
        put(84, &(info.fields[1] as u32).to_ne_bytes()); // syscall
        put(96, &((info.fields[1] >> 32) as u32).to_ne_bytes()); // arch
    } else if info.code == SI_TIMER {
        put(24, &lo.to_ne_bytes()); // timer id
        put(32, &hi.to_ne_bytes()); // overrun
        put(48, &info.fields[1].to_ne_bytes()); // ptr
        put(44, &(info.fields[1] as u32).to_ne_bytes()); // int
    } else if info.code < 0 {
        // sigqueue, tkill and the other SIL_RT codes: sender and value.
        put(12, &lo.to_ne_bytes());
        put(16, &hi.to_ne_bytes());
        put(48, &info.fields[1].to_ne_bytes());
        put(44, &(info.fields[1] as u32).to_ne_bytes());
    } else {
        put(12, &lo.to_ne_bytes());
        put(16, &hi.to_ne_bytes());
    }
    out
}

impl FileDescription for SignalFd {
    fn flags(&self) -> u64 {
        self.flags.get()
    }
    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }

    /// As many pending signals of the mask as whole records fit; EAGAIN
    /// if none is pending.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let me = TaskHandle::current().ok_or(Errno::EAGAIN)?;
        let mut done = 0;
        while buf.len() - done >= SIGINFO_SIZE {
            let Some(info) = me.take_pending(self.mask()) else { break };
            buf[done..done + SIGINFO_SIZE].copy_from_slice(&encode(&info));
            done += SIGINFO_SIZE;
        }
        if done == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(anon_stat(self.ino))
    }

    fn path(&self) -> String {
        "anon_inode:[signalfd]".into()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    /// Linux `signalfd_poll`: readable while a signal of the mask is
    /// pending for the caller.
    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        let pending = TaskHandle::current().map_or(0, |t| t.pending_set().0);
        if pending & self.mask() != 0 {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_signalfd(&self) -> Option<&SignalFd> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_the_layout() {
        let kill = SigInfo::from_sender(10, SI_USER, 42, 7);
        let b = encode(&kill);
        assert_eq!(u32::from_ne_bytes(b[0..4].try_into().unwrap()), 10);
        assert_eq!(u32::from_ne_bytes(b[12..16].try_into().unwrap()), 42);
        assert_eq!(u32::from_ne_bytes(b[16..20].try_into().unwrap()), 7);
        let mut q = SigInfo::from_sender(34, crate::kernel::signal::SI_QUEUE, 3, 0);
        q.fields[1] = 0x1234;
        let b = encode(&q);
        assert_eq!(i32::from_ne_bytes(b[8..12].try_into().unwrap()), -1);
        assert_eq!(u32::from_ne_bytes(b[44..48].try_into().unwrap()), 0x1234);
        assert_eq!(u64::from_ne_bytes(b[48..56].try_into().unwrap()), 0x1234);
        let c = SigInfo::child(crate::kernel::signal::CLD_EXITED, 9, 3, 0, 0);
        let b = encode(&c);
        assert_eq!(u32::from_ne_bytes(b[12..16].try_into().unwrap()), 9);
        assert_eq!(i32::from_ne_bytes(b[40..44].try_into().unwrap()), 3);
    }

    #[test]
    fn kill_and_stop_are_never_in_the_mask() {
        let s = SignalFd::new(u64::MAX, 0);
        assert_eq!(s.mask() & (1 << (SIGKILL - 1)), 0);
        assert_eq!(s.mask() & (1 << (SIGSTOP - 1)), 0);
        s.set_mask(1 << 1);
        assert_eq!(s.mask(), 2);
    }
}
