//! Clocks and sleeps (gVisor: `sys_time.go`). The clocks are the host's;
//! CPU-time clocks report the sentry thread's own time until per-task
//! accounting exists (issue #3).

use crate::kernel::signal::RestartBlock;
use crate::kernel::timer::{Itimer, Notification, PosixTimer};
use crate::kernel::Task;
use abi::{clock::*, Errno, Timespec, Timeval};
use rustix::time::{clock_gettime as host_clock, ClockId};
use std::time::{Duration, Instant};

fn host_id(clock: u64) -> Result<ClockId, Errno> {
    Ok(match clock {
        CLOCK_REALTIME => ClockId::Realtime,
        CLOCK_MONOTONIC => ClockId::Monotonic,
        CLOCK_PROCESS_CPUTIME_ID => ClockId::ProcessCPUTime,
        CLOCK_THREAD_CPUTIME_ID => ClockId::ThreadCPUTime,
        CLOCK_MONOTONIC_RAW => ClockId::MonotonicRaw,
        CLOCK_REALTIME_COARSE => ClockId::RealtimeCoarse,
        CLOCK_MONOTONIC_COARSE => ClockId::MonotonicCoarse,
        CLOCK_BOOTTIME => ClockId::Boottime,
        _ => return Err(Errno::EINVAL),
    })
}

pub(super) fn now(clock: u64) -> Result<Timespec, Errno> {
    let t = if clock == CLOCK_TAI {
        let tai = rustix::time::clock_gettime_dynamic(rustix::time::DynamicClockId::Tai);
        tai.map_err(|e| Errno::new(e.raw_os_error()))?
    } else {
        host_clock(host_id(clock)?)
    };
    Ok(Timespec { tv_sec: t.tv_sec, tv_nsec: t.tv_nsec })
}

pub fn clock_gettime(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let t = match a[0] {
        // The application's own CPU time, not the sandbox's.
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => {
            let c = task.cpu_times();
            to_timespec(c.user + c.system)
        }
        clock => now(clock)?,
    };
    task.mm.write_obj(a[1], &t).map(|_| 0)
}

pub fn clock_getres(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    now(a[0])?;
    let coarse = matches!(a[0], CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE);
    let res = Timespec { tv_sec: 0, tv_nsec: if coarse { 4_000_000 } else { 1 } };
    if a[1] != 0 {
        task.mm.write_obj(a[1], &res)?;
    }
    Ok(0)
}

pub fn gettimeofday(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] != 0 {
        let t = now(CLOCK_REALTIME)?;
        task.mm.write_obj(a[0], &Timeval { tv_sec: t.tv_sec, tv_usec: t.tv_nsec / 1000 })?;
    }
    if a[1] != 0 {
        task.mm.write_obj(a[1], &[0u32; 2])?; // struct timezone: UTC
    }
    Ok(0)
}

pub fn time(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let t = now(CLOCK_REALTIME)?.tv_sec as u64;
    if a[0] != 0 {
        task.mm.write_obj(a[0], &t)?;
    }
    Ok(t)
}

pub(super) fn duration(t: &Timespec) -> Result<Duration, Errno> {
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
}

pub(super) fn to_timespec(d: Duration) -> Timespec {
    Timespec { tv_sec: d.as_secs() as i64, tv_nsec: i64::from(d.subsec_nanos()) }
}

/// Sleeps until `deadline`. On a signal, stores the time left at `rem`
/// and returns ERESTART_RESTARTBLOCK, as Linux does: the application sees
/// EINTR if a handler runs, and otherwise `restart_syscall` continues the
/// sleep to the same deadline.
fn sleep_until(task: &mut Task, deadline: Instant, rem: u64) -> Result<u64, Errno> {
    let left = task.sleep(deadline.saturating_duration_since(Instant::now()));
    if left.is_zero() {
        return Ok(0);
    }
    if rem != 0 {
        task.mm.write_obj(rem, &to_timespec(left))?;
    }
    task.sigstate.restart = Some(RestartBlock::Sleep { deadline, rem });
    Err(Errno::ERESTART_RESTARTBLOCK)
}

fn sleep_for(task: &mut Task, d: Duration, rem: u64) -> Result<u64, Errno> {
    let deadline = Instant::now().checked_add(d).ok_or(Errno::EINVAL)?;
    sleep_until(task, deadline, rem)
}

/// `restart_syscall(2)`: continues what the restart block says; EINTR if
/// there is none (Linux `do_no_restart_syscall`).
pub fn restart_syscall(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    match task.sigstate.restart.take() {
        Some(RestartBlock::Sleep { deadline, rem }) => sleep_until(task, deadline, rem),
        None => Err(Errno::EINTR),
    }
}

pub fn nanosleep(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let req: Timespec = task.mm.read_obj(a[0])?;
    let d = duration(&req)?;
    sleep_for(task, d, a[1])
}

pub fn clock_nanosleep(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const TIMER_ABSTIME: u64 = 1;
    let (clock, flags) = (a[0], a[1]);
    if matches!(clock, CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EINVAL);
    }
    let req: Timespec = task.mm.read_obj(a[2])?;
    let want = duration(&req)?;
    if flags & TIMER_ABSTIME != 0 {
        let cur = duration(&now(clock)?)?;
        // An absolute sleep is restarted as it was called (Linux:
        // ERESTARTNOHAND): EINTR if a handler ran, no remainder.
        let left = task.sleep(want.saturating_sub(cur));
        return if left.is_zero() { Ok(0) } else { Err(Errno::ERESTARTNOHAND) };
    }
    host_id(clock)?;
    sleep_for(task, want, a[3])
}

/// `struct itimerval`.
#[repr(C)]
#[derive(
    Clone, Copy, Default, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable, zerocopy::KnownLayout,
)]
struct ItimerVal {
    interval: Timeval,
    value: Timeval,
}

const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

fn timeval(d: Duration) -> Timeval {
    Timeval { tv_sec: d.as_secs() as i64, tv_usec: i64::from(d.subsec_micros()) }
}

fn from_timeval(t: &Timeval) -> Result<Duration, Errno> {
    if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000))
}

fn itimer(which: u64) -> Result<Itimer, Errno> {
    match which {
        ITIMER_REAL => Ok(Itimer::Real),
        ITIMER_VIRTUAL => Ok(Itimer::Virtual),
        ITIMER_PROF => Ok(Itimer::Prof),
        _ => Err(Errno::EINVAL),
    }
}

pub fn getitimer(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (left, interval) = task.group.timers.itimer(&task.kernel, task.pid, itimer(a[0])?).get();
    task.mm.write_obj(a[1], &ItimerVal { interval: timeval(interval), value: timeval(left) }).map(|_| 0)
}

pub fn setitimer(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let which = itimer(a[0])?;
    let new: ItimerVal = if a[1] == 0 { ItimerVal::default() } else { task.mm.read_obj(a[1])? };
    let (value, interval) = (from_timeval(&new.value)?, from_timeval(&new.interval)?);
    let (left, old_interval) = task.group.timers.itimer(&task.kernel, task.pid, which).set(value, interval);
    if a[2] != 0 {
        task.mm.write_obj(a[2], &ItimerVal { interval: timeval(old_interval), value: timeval(left) })?;
    }
    Ok(0)
}

pub fn alarm(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let secs = Duration::from_secs(u64::from(a[0] as u32));
    let (left, _) = task.group.timers.itimer(&task.kernel, task.pid, Itimer::Real).set(secs, Duration::ZERO);
    // Whole seconds left, rounded up, as alarm(2) reports them.
    Ok(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

/// `struct itimerspec`.
#[repr(C)]
#[derive(
    Clone, Copy, Default, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable, zerocopy::KnownLayout,
)]
pub(super) struct ItimerSpec {
    pub(super) interval: Timespec,
    pub(super) value: Timespec,
}

/// `struct sigevent`: the value, signal and kind, and the thread id of
/// SIGEV_THREAD_ID (the rest of the union is libc's business).
#[repr(C)]
#[derive(
    Clone, Copy, Default, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::KnownLayout, zerocopy::Immutable,
)]
struct SigEvent {
    value: u64,
    signo: i32,
    notify: i32,
    tid: i32,
    pad: i32,
}

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const TIMER_ABSTIME: u64 = 1;

/// The clocks POSIX timers may use: EINVAL for unknown ones, EOPNOTSUPP for
/// the raw and coarse clocks and the alarm clocks (no wake-up device), as
/// Linux answers here. (The thread's CPU clock counts the process's; see
/// kernel::timer.)
fn timer_clock(clock: u64) -> Result<u64, Errno> {
    match clock {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_BOOTTIME
        | CLOCK_TAI
        | CLOCK_PROCESS_CPUTIME_ID
        | CLOCK_THREAD_CPUTIME_ID => Ok(clock),
        CLOCK_MONOTONIC_RAW
        | CLOCK_REALTIME_COARSE
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_REALTIME_ALARM
        | CLOCK_BOOTTIME_ALARM => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EINVAL),
    }
}

pub fn timer_create(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let clock = timer_clock(a[0])?;
    let how = if a[1] == 0 {
        // No sigevent: SIGALRM to the process, with the timer's id as value.
        Notification::Signal { signo: abi::signal::SIGALRM, value: None, tid: None }
    } else {
        let ev: SigEvent = task.mm.read_obj(a[1])?;
        let signal = |tid| {
            if !(1..=abi::signal::NSIG).contains(&ev.signo) {
                return Err(Errno::EINVAL);
            }
            Ok(Notification::Signal { signo: ev.signo, value: Some(ev.value), tid })
        };
        match ev.notify {
            SIGEV_NONE => Notification::None,
            SIGEV_SIGNAL | SIGEV_THREAD => signal(None)?,
            n if n == SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                if !task.group.threads().iter().any(|(t, _)| *t == ev.tid) {
                    return Err(Errno::EINVAL);
                }
                signal(Some(ev.tid))?
            }
            _ => return Err(Errno::EINVAL),
        }
    };
    let timers = &task.group.timers;
    let id = timers.create(&task.kernel, task.pid, clock, how)?;
    if let Err(e) = task.mm.write_obj(a[2], &id) {
        timers.delete(id);
        return Err(e);
    }
    Ok(0)
}

fn posix_timer(task: &Task, id: u64) -> Result<PosixTimer, Errno> {
    task.group.timers.posix(id as i32).filter(|_| id <= i32::MAX as u64).ok_or(Errno::EINVAL)
}

pub(super) fn itimerspec((left, interval): (Duration, Duration)) -> ItimerSpec {
    ItimerSpec { interval: to_timespec(interval), value: to_timespec(left) }
}

pub fn timer_settime(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let PosixTimer { clock, timer } = posix_timer(task, a[0])?;
    let new: ItimerSpec = task.mm.read_obj(a[2])?;
    let (mut value, interval) = (duration(&new.value)?, duration(&new.interval)?);
    if a[1] & TIMER_ABSTIME != 0 && !value.is_zero() {
        // An absolute time on the timer's clock, from now; a time already
        // past expires at once.
        let now = match clock {
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => task.mm.space().cpu_time(),
            clock => duration(&now(clock)?)?,
        };
        value = value.saturating_sub(now).max(Duration::from_nanos(1));
    }
    let old = timer.set(value, interval);
    if a[3] != 0 {
        task.mm.write_obj(a[3], &itimerspec(old))?;
    }
    Ok(0)
}

pub fn timer_gettime(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let timer = posix_timer(task, a[0])?.timer;
    task.mm.write_obj(a[1], &itimerspec(timer.get())).map(|_| 0)
}

pub fn timer_getoverrun(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(u64::from(posix_timer(task, a[0])?.timer.overrun()))
}

pub fn timer_delete(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    posix_timer(task, a[0])?;
    task.group.timers.delete(a[0] as i32);
    Ok(0)
}

pub use crate::kernel::process::ticks;

/// `struct rusage`: CPU times; the counters after them are not kept (zero).
#[repr(C)]
#[derive(Clone, Copy, Default, zerocopy::IntoBytes, zerocopy::Immutable)]
pub struct Rusage {
    utime: Timeval,
    stime: Timeval,
    counters: [i64; 14],
}

impl From<crate::kernel::process::CpuTimes> for Rusage {
    fn from(t: crate::kernel::process::CpuTimes) -> Rusage {
        let tv = |d: Duration| Timeval { tv_sec: d.as_secs() as i64, tv_usec: i64::from(d.subsec_micros()) };
        Rusage { utime: tv(t.user), stime: tv(t.system), counters: [0; 14] }
    }
}

pub fn getrusage(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const RUSAGE_SELF: i64 = 0;
    const RUSAGE_CHILDREN: i64 = -1;
    const RUSAGE_THREAD: i64 = 1;
    let times = match a[0] as i32 as i64 {
        RUSAGE_SELF | RUSAGE_THREAD => task.cpu_times(),
        RUSAGE_CHILDREN => task.kernel.procs().get(task.pid).map(|p| p.child_times).unwrap_or_default(),
        _ => return Err(Errno::EINVAL),
    };
    task.mm.write_obj(a[1], &Rusage::from(times)).map(|()| 0)
}

pub fn times(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] != 0 {
        let own = task.cpu_times();
        let children = task.kernel.procs().get(task.pid).map(|p| p.child_times).unwrap_or_default();
        let tms = [ticks(own.user), ticks(own.system), ticks(children.user), ticks(children.system)];
        task.mm.write_obj(a[0], &tms)?;
    }
    Ok(ticks(task.kernel.started.elapsed()) as u64)
}
