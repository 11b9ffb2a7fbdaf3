//! timerfd (gVisor: `fsimpl/timerfd`; Linux `fs/timerfd.c`): a timer of
//! `kernel::timer` whose expiries are counted for `read` instead of
//! raising a signal. The timer's notify adds the expiries (one plus the
//! overruns) to the count and wakes the file's queue.

use super::eventfd::{anon_ino, anon_stat};
use crate::kernel::timer::{Timer, TimerClock};
use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, StatusFlags};
use abi::{fcntl, Errno, Stat};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the timer's thread and the file share.
#[derive(Default)]
struct Ticks {
    /// Expiries since the last read or settime.
    count: Mutex<u64>,
    queue: WaitQueue,
}

pub struct TimerFd {
    /// The clock id it was made on (`CLOCK_REALTIME`...).
    pub clock: u64,
    timer: Arc<Timer>,
    ticks: Arc<Ticks>,
    flags: StatusFlags,
    ino: u64,
}

impl TimerFd {
    /// A disarmed timer on `clock`; `flags` may hold `O_NONBLOCK`. Every
    /// clock counts monotonic time: an absolute time is turned into a
    /// relative one when the timer is set (the sandbox cannot set the
    /// realtime clock, so it does not jump under a timer).
    pub fn new(clock: u64, flags: u64) -> TimerFd {
        let ticks = Arc::new(Ticks::default());
        let weak = Arc::downgrade(&ticks);
        let notify = Box::new(move |overrun: u32| {
            let Some(ticks) = weak.upgrade() else { return false };
            let mut count = ticks.count.lock().unwrap_or_else(|e| e.into_inner());
            *count = count.saturating_add(1 + u64::from(overrun));
            drop(count);
            ticks.queue.notify();
            true
        });
        TimerFd {
            clock,
            timer: Timer::new(TimerClock::Monotonic, notify),
            ticks,
            flags: StatusFlags::new(flags & fcntl::O_NONBLOCK != 0),
            ino: anon_ino(),
        }
    }

    fn count(&self) -> std::sync::MutexGuard<'_, u64> {
        self.ticks.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms (or with a zero `value`, disarms) the timer, forgetting the
    /// expiries not read yet; returns the previous (left, interval).
    pub fn set(&self, value: Duration, interval: Duration) -> (Duration, Duration) {
        *self.count() = 0;
        self.timer.set(value, interval)
    }

    /// (left, interval); zero left when disarmed.
    pub fn get(&self) -> (Duration, Duration) {
        self.timer.get()
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        self.timer.cancel();
    }
}

impl FileDescription for TimerFd {
    fn flags(&self) -> u64 {
        self.flags.get()
    }
    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }

    /// The number of expiries since the last read; EAGAIN if none.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let n = std::mem::take(&mut *self.count());
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        buf[..8].copy_from_slice(&n.to_ne_bytes());
        Ok(8)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(anon_stat(self.ino))
    }

    fn path(&self) -> String {
        "anon_inode:[timerfd]".into()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.ticks.queue)
    }

    /// Linux `timerfd_poll`: readable once it expired; never writable.
    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        if *self.count() > 0 {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_timerfd(&self) -> Option<&TimerFd> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::poll::*;

    #[test]
    fn counts_expiries_and_settime_resets() {
        let t = TimerFd::new(1, 0);
        let mut b = [0u8; 8];
        assert_eq!(t.read(&mut b), Err(Errno::EAGAIN));
        assert_eq!(t.read(&mut [0u8; 4]), Err(Errno::EINVAL));
        t.set(Duration::from_millis(1), Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(t.readiness(POLLIN), POLLIN | POLLRDNORM);
        assert_eq!(t.read(&mut b), Ok(8));
        assert!(u64::from_ne_bytes(b) >= 5, "{}", u64::from_ne_bytes(b));
        t.set(Duration::ZERO, Duration::ZERO);
        assert_eq!(t.get(), (Duration::ZERO, Duration::ZERO));
        assert_eq!(t.readiness(POLLIN), 0);
        assert_eq!(t.read(&mut b), Err(Errno::EAGAIN));
    }
}
