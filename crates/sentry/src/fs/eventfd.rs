//! eventfd (gVisor: `fsimpl/eventfd`; Linux `fs/eventfd.c`): a 64-bit
//! counter that `write` adds to and `read` takes from. As with pipes, the
//! operations never block here: they answer EAGAIN and the syscall layer
//! sleeps on the counter's queue.

use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, StatusFlags};
use abi::{fcntl, Errno, Stat};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// `EFD_SEMAPHORE`: each read takes 1.
pub const EFD_SEMAPHORE: u64 = 1;
/// The largest value the counter holds: a write that would pass it waits.
pub const MAX_COUNT: u64 = 0xffff_ffff_ffff_fffe;

/// Inode numbers of anonymous files (eventfd, timerfd, signalfd), which
/// Linux gives from its one anon inode; distinct numbers do no harm.
pub fn anon_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `fstat` of an anonymous file: mode 0600 without a type, as Linux's
/// anon inode.
pub fn anon_stat(ino: u64) -> Stat {
    Stat { mode: 0o600, nlink: 1, ino, blksize: 4096, ..Stat::default() }
}

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    flags: StatusFlags,
    queue: WaitQueue,
    ino: u64,
}

impl EventFd {
    /// `flags`: `EFD_SEMAPHORE` and `O_NONBLOCK` (already checked).
    pub fn new(initval: u64, flags: u64) -> EventFd {
        EventFd {
            count: Mutex::new(initval),
            semaphore: flags & EFD_SEMAPHORE != 0,
            flags: StatusFlags::new(flags & fcntl::O_NONBLOCK != 0),
            queue: WaitQueue::default(),
            ino: anon_ino(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FileDescription for EventFd {
    fn flags(&self) -> u64 {
        self.flags.get()
    }
    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }

    /// Takes the whole count (or 1 in semaphore mode); EAGAIN at zero.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut count = self.lock();
        if *count == 0 {
            return Err(Errno::EAGAIN);
        }
        let took = if self.semaphore { 1 } else { *count };
        *count -= took;
        drop(count);
        buf[..8].copy_from_slice(&took.to_ne_bytes());
        self.queue.notify();
        Ok(8)
    }

    /// Adds to the count; EAGAIN while the sum would pass `MAX_COUNT`,
    /// EINVAL for the value 2^64-1 and for writes of other than 8 bytes
    /// (a read may ask for more).
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let bytes: [u8; 8] = data.try_into().map_err(|_| Errno::EINVAL)?;
        let add = u64::from_ne_bytes(bytes);
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut count = self.lock();
        if MAX_COUNT - *count < add {
            return Err(Errno::EAGAIN);
        }
        *count += add;
        drop(count);
        if add > 0 {
            self.queue.notify();
        }
        Ok(8)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(anon_stat(self.ino))
    }

    fn path(&self) -> String {
        "anon_inode:[eventfd]".into()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    /// Linux `eventfd_poll`: readable above zero, writable while 1 more fits.
    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        let count = *self.lock();
        let mut ready = 0;
        if count > 0 {
            ready |= POLLIN | POLLRDNORM;
        }
        if count < MAX_COUNT {
            ready |= POLLOUT | POLLWRNORM;
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
    use abi::poll::*;

    fn read(e: &EventFd) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        e.read(&mut b).map(|_| u64::from_ne_bytes(b))
    }

    #[test]
    fn counter_and_semaphore() {
        let e = EventFd::new(0, 0);
        assert_eq!(read(&e), Err(Errno::EAGAIN));
        assert_eq!(e.write(&5u64.to_ne_bytes()), Ok(8));
        assert_eq!(e.write(&2u64.to_ne_bytes()), Ok(8));
        assert_eq!(read(&e), Ok(7));
        assert_eq!(read(&e), Err(Errno::EAGAIN));
        let s = EventFd::new(2, EFD_SEMAPHORE);
        assert_eq!(read(&s), Ok(1));
        assert_eq!(read(&s), Ok(1));
        assert_eq!(read(&s), Err(Errno::EAGAIN));
    }

    #[test]
    fn sizes_and_overflow() {
        let e = EventFd::new(0, 0);
        assert_eq!(e.write(&[1, 0, 0, 0]), Err(Errno::EINVAL));
        assert_eq!(e.write(&[1; 16]), Err(Errno::EINVAL));
        assert_eq!(e.read(&mut [0u8; 4]), Err(Errno::EINVAL));
        assert_eq!(e.write(&u64::MAX.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(e.write(&MAX_COUNT.to_ne_bytes()), Ok(8));
        assert_eq!(e.readiness(POLLIN | POLLOUT), POLLIN | POLLRDNORM);
        assert_eq!(e.write(&1u64.to_ne_bytes()), Err(Errno::EAGAIN));
        assert_eq!(e.write(&0u64.to_ne_bytes()), Ok(8));
        assert_eq!(read(&e), Ok(MAX_COUNT));
        assert_eq!(e.readiness(POLLIN | POLLOUT), POLLOUT | POLLWRNORM);
    }
}
