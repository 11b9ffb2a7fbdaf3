//! Descriptors that report events: eventfd, timerfd, signalfd, and
//! memfd_create (gVisor: `sys_eventfd.go`, `sys_timerfd.go`,
//! `sys_signalfd.go`, `sys_file.go`'s MemfdCreate). The files are in
//! `fs::{eventfd, timerfd, signalfd, memfd}`.

use super::sys_time::{duration, itimerspec, now, ItimerSpec};
use crate::fs::eventfd::{EventFd, EFD_SEMAPHORE};
use crate::fs::memfd;
use crate::fs::signalfd::SignalFd;
use crate::fs::timerfd::TimerFd;
use crate::kernel::Task;
use abi::{clock::*, fcntl, Errno};
use std::sync::Arc;
use std::time::Duration;

/// `EFD_CLOEXEC`, `TFD_CLOEXEC`, `SFD_CLOEXEC` are `O_CLOEXEC`, the
/// `*_NONBLOCK` flags `O_NONBLOCK`.
const CLOEXEC: u64 = fcntl::O_CLOEXEC;
const NONBLOCK: u64 = fcntl::O_NONBLOCK;

fn install(task: &Task, file: Arc<dyn crate::vfs::FileDescription>, flags: u64) -> Result<u64, Errno> {
    task.fds.insert(0, file, flags & CLOEXEC != 0).map(|fd| fd as u64)
}

fn eventfd_common(task: &Task, initval: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !(EFD_SEMAPHORE | CLOEXEC | NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    install(task, Arc::new(EventFd::new(initval as u32 as u64, flags)), flags)
}

pub fn eventfd(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    eventfd_common(task, a[0], 0)
}

pub fn eventfd2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    eventfd_common(task, a[0], a[1] as u32 as u64)
}

/// Linux `timerfd_create`: the alarm clocks need CAP_WAKE_ALARM (here:
/// euid 0) and then count as their plain clocks.
pub fn timerfd_create(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (clock, flags) = (a[0] as u32 as u64, a[1] as u32 as u64);
    if flags & !(CLOEXEC | NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME => {}
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if task.creds.capable(crate::kernel::caps::CAP_WAKE_ALARM) => {}
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    install(task, Arc::new(TimerFd::new(clock, flags)), flags)
}

const TFD_TIMER_ABSTIME: u64 = 1;
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;

fn with_timerfd<T>(task: &Task, fd: u64, f: impl FnOnce(&TimerFd) -> Result<T, Errno>) -> Result<T, Errno> {
    let file = task.fds.get(fd as i32 as i64)?;
    f(file.as_timerfd().ok_or(Errno::EINVAL)?)
}

/// The clock a timerfd's absolute times are on.
fn base_clock(clock: u64) -> u64 {
    match clock {
        CLOCK_REALTIME_ALARM => CLOCK_REALTIME,
        CLOCK_BOOTTIME_ALARM => CLOCK_BOOTTIME,
        c => c,
    }
}

/// `TFD_TIMER_CANCEL_ON_SET` is accepted; it never fires, since the
/// sandbox cannot set the realtime clock.
pub fn timerfd_settime(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[1] as u32 as u64;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let new: ItimerSpec = task.mm.read_obj(a[2])?;
    let (mut value, interval) = (duration(&new.value)?, duration(&new.interval)?);
    let old = with_timerfd(task, a[0], |t| {
        if flags & TFD_TIMER_ABSTIME != 0 && !value.is_zero() {
            // A time already past expires at once.
            value = value.saturating_sub(duration(&now(base_clock(t.clock))?)?).max(Duration::from_nanos(1));
        }
        Ok(t.set(value, interval))
    })?;
    if a[3] != 0 {
        task.mm.write_obj(a[3], &itimerspec(old))?;
    }
    Ok(0)
}

pub fn timerfd_gettime(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let cur = with_timerfd(task, a[0], |t| Ok(t.get()))?;
    task.mm.write_obj(a[1], &itimerspec(cur)).map(|_| 0)
}

fn signalfd_common(task: &Task, fd: u64, mask_addr: u64, size: u64, flags: u64) -> Result<u64, Errno> {
    if size != 8 || flags & !(CLOEXEC | NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = task.mm.read_obj(mask_addr)?;
    let fd = fd as i32 as i64;
    if fd == -1 {
        return install(task, Arc::new(SignalFd::new(mask, flags)), flags);
    }
    let file = task.fds.get(fd)?;
    file.as_signalfd().ok_or(Errno::EINVAL)?.set_mask(mask);
    Ok(fd as u64)
}

pub fn signalfd(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    signalfd_common(task, a[0], a[1], a[2], 0)
}

pub fn signalfd4(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    signalfd_common(task, a[0], a[1], a[2], a[3] as u32 as u64)
}

/// Linux `memfd_create`. MFD_HUGETLB is refused (EINVAL: no huge pages
/// here, as on a kernel without hugetlbfs pages).
pub fn memfd_create(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    use memfd::*;
    let flags = a[1] as u32 as u64;
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0
        || flags & (MFD_EXEC | MFD_NOEXEC_SEAL) == MFD_EXEC | MFD_NOEXEC_SEAL
    {
        return Err(Errno::EINVAL);
    }
    let name = task.mm.read_cstring(a[0], NAME_MAX + 1).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::EINVAL,
        e => e,
    })?;
    let name = String::from_utf8_lossy(&name).into_owned();
    let file = MemFd::create(task, &name, flags)?;
    let cloexec = if flags & MFD_CLOEXEC != 0 { CLOEXEC } else { 0 };
    install(task, Arc::new(file), cloexec)
}
