//! Timers: `alarm` and the three interval timers of `setitimer`, and POSIX
//! timers (`timer_create`) (gVisor: `kernel/time`, `task_itimer.go`,
//! `ptimer.go`).
//!
//! A timer counts on a clock: the monotonic clock, or the CPU time of a
//! process's address space (its application threads' time, as the stub's
//! CPU clock measures it). An armed timer has one sentry thread that waits
//! for the deadline on a condition variable; re-arming or deleting the
//! timer bumps its generation and wakes that thread, which then ends. A
//! monotonic deadline is slept to exactly; a CPU-time deadline is checked
//! every few milliseconds (at most `CPU_TICK`, sooner when little is left),
//! as Linux checks CPU timers at its tick.
//!
//! On expiry the timer calls its `notify` action with the overrun count
//! (periods missed because the sentry thread woke late); `notify` returns
//! false when its target is gone, which disarms the timer.

use super::signal::SigInfo;
use super::task::TaskHandle;
use super::Kernel;
use abi::signal::{SIGALRM, SIGPROF, SIGVTALRM};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// The longest a CPU-time timer goes unchecked.
const CPU_TICK: Duration = Duration::from_millis(4);

/// What a timer counts.
pub enum TimerClock {
    /// Wall-clock time that never jumps (CLOCK_MONOTONIC; REALTIME and
    /// BOOTTIME timers are relative, so they count the same).
    Monotonic,
    /// Process CPU time, read by the function (None once the process is
    /// gone).
    Cpu(Box<dyn Fn() -> Option<Duration> + Send + Sync>),
}

/// The expiry action: given the overrun count, delivers the signal; false
/// if the target no longer exists.
pub type Notify = Box<dyn Fn(u32) -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    /// The deadline on the timer's clock (since `epoch` for the monotonic
    /// clock), when armed.
    deadline: Option<Duration>,
    interval: Duration,
    generation: u64,
    /// Overruns of the last expiry (`timer_getoverrun`).
    overrun: u32,
}

pub struct Timer {
    clock: TimerClock,
    notify: Notify,
    epoch: Instant,
    state: Mutex<State>,
    changed: Condvar,
}

impl Timer {
    pub fn new(clock: TimerClock, notify: Notify) -> Arc<Timer> {
        Arc::new(Timer {
            clock,
            notify,
            epoch: Instant::now(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timer's clock now; None if a CPU clock's process is gone.
    fn now(&self) -> Option<Duration> {
        match &self.clock {
            TimerClock::Monotonic => Some(self.epoch.elapsed()),
            TimerClock::Cpu(read) => read(),
        }
    }

    /// Time left and interval (zero left when disarmed).
    pub fn get(&self) -> (Duration, Duration) {
        let now = self.now();
        let st = self.lock();
        let left = match (st.deadline, now) {
            (Some(d), Some(now)) => d.saturating_sub(now).max(Duration::from_nanos(1)),
            _ => Duration::ZERO,
        };
        (left, st.interval)
    }

    pub fn overrun(&self) -> u32 {
        self.lock().overrun
    }

    /// Arms the timer to expire after `value` and then every `interval`
    /// (a zero `value` disarms it); returns the previous (left, interval).
    pub fn set(self: &Arc<Self>, value: Duration, interval: Duration) -> (Duration, Duration) {
        let old = self.get();
        let now = self.now();
        let mut st = self.lock();
        st.generation += 1;
        st.interval = interval;
        st.overrun = 0;
        st.deadline = match now {
            Some(now) if !value.is_zero() => Some(now + value),
            _ => None,
        };
        self.changed.notify_all();
        if st.deadline.is_some() {
            let (me, generation) = (self.clone(), st.generation);
            let spawned = std::thread::Builder::new().name("timer".into()).spawn(move || me.run(generation));
            if let Err(e) = spawned {
                tracing::error!("arming a timer: {e}");
                st.deadline = None;
            }
        }
        old
    }

    /// Disarms the timer for good (its owner is going away).
    pub fn cancel(&self) {
        let mut st = self.lock();
        st.generation += 1;
        st.deadline = None;
        self.changed.notify_all();
    }

    /// The armed timer's thread: waits for each deadline of `generation`.
    /// The clock is read without the lock held (a CPU clock takes the
    /// process table's lock, which is held when a process exits and cancels
    /// its timers).
    fn run(&self, generation: u64) {
        loop {
            let now = self.now();
            let mut st = self.lock();
            if st.generation != generation {
                return;
            }
            let (Some(deadline), Some(now)) = (st.deadline, now) else {
                st.deadline = None;
                return;
            };
            if now < deadline {
                let wait = match self.clock {
                    TimerClock::Monotonic => deadline - now,
                    TimerClock::Cpu(_) => (deadline - now).min(CPU_TICK),
                };
                drop(self.changed.wait_timeout(st, wait).unwrap_or_else(|e| e.into_inner()));
                continue;
            }
            // Expired. Periods that passed while we were late are overruns.
            let mut overrun = 0u32;
            if st.interval.is_zero() {
                st.deadline = None;
            } else {
                let mut next = deadline + st.interval;
                while next <= now {
                    next += st.interval;
                    overrun = overrun.saturating_add(1);
                }
                st.deadline = Some(next);
            }
            st.overrun = overrun;
            drop(st);
            if !(self.notify)(overrun) {
                let mut st = self.lock();
                if st.generation == generation {
                    st.deadline = None;
                }
                return;
            }
        }
    }
}

/// `setitimer`'s timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Itimer {
    /// Wall-clock time; SIGALRM (also `alarm`).
    Real = 0,
    /// The process's user CPU time; SIGVTALRM.
    Virtual = 1,
    /// The process's CPU time; SIGPROF.
    Prof = 2,
}

/// `si_code` of a POSIX timer's signal.
pub const SI_TIMER: i32 = -2;

/// Where a POSIX timer's expiry goes (`struct sigevent`).
#[derive(Debug, Clone, Copy)]
pub enum Notification {
    /// SIGEV_NONE: nothing; the timer can only be read.
    None,
    /// SIGEV_SIGNAL (and SIGEV_THREAD, which libc builds on it): `signo`
    /// with `value` (the timer's id if None) to the process, or to thread
    /// `tid` (SIGEV_THREAD_ID).
    Signal { signo: i32, value: Option<u64>, tid: Option<i32> },
}

/// The timers of one process: its interval timers, made on first use,
/// and its POSIX timers by id. Not inherited by fork; execve keeps the
/// interval timers and deletes the POSIX ones, as in Linux.
#[derive(Default)]
pub struct ProcessTimers {
    itimers: Mutex<[Option<Arc<Timer>>; 3]>,
    posix: Mutex<PosixTimers>,
}

#[derive(Default)]
struct PosixTimers {
    timers: BTreeMap<i32, PosixTimer>,
    next_id: i32,
}

/// A POSIX timer and the clock id it was made on.
#[derive(Clone)]
pub struct PosixTimer {
    pub clock: u64,
    pub timer: Arc<Timer>,
}

/// Most POSIX timers a process may have (Linux bounds them by
/// RLIMIT_SIGPENDING; this is its default here).
pub const MAX_POSIX_TIMERS: usize = 4096;

/// The live process `pid`'s signal target (its leader, or another thread).
fn process_target(kernel: &Weak<Kernel>, pid: i32) -> Option<TaskHandle> {
    let kernel = kernel.upgrade()?;
    let procs = kernel.procs();
    procs.get(pid).filter(|p| p.exit.is_none()).map(|p| p.signal_target())
}

/// A clock of the live process `pid`'s CPU time (its application threads').
fn process_cpu_clock(kernel: Weak<Kernel>, pid: i32) -> TimerClock {
    TimerClock::Cpu(Box::new(move || {
        let kernel = kernel.upgrade()?;
        let mm = kernel.procs().get(pid).filter(|p| p.exit.is_none()).and_then(|p| p.mm.upgrade())?;
        Some(mm.space().cpu_time())
    }))
}

impl ProcessTimers {
    /// Interval timer `which` of process `pid`.
    pub fn itimer(&self, kernel: &Arc<Kernel>, pid: i32, which: Itimer) -> Arc<Timer> {
        let mut timers = self.itimers.lock().unwrap_or_else(|e| e.into_inner());
        timers[which as usize]
            .get_or_insert_with(|| {
                let weak = Arc::downgrade(kernel);
                let (clock, signo) = match which {
                    Itimer::Real => (TimerClock::Monotonic, SIGALRM),
                    Itimer::Virtual => (process_cpu_clock(weak.clone(), pid), SIGVTALRM),
                    Itimer::Prof => (process_cpu_clock(weak.clone(), pid), SIGPROF),
                };
                let notify: Notify = Box::new(move |_| {
                    process_target(&weak, pid).map(|t| t.send_signal_info(SigInfo::kernel(signo))).is_some()
                });
                Timer::new(clock, notify)
            })
            .clone()
    }

    /// Creates a POSIX timer of process `pid` on `clock` (a CPU-time clock
    /// counts the process's CPU time, any other the monotonic clock);
    /// returns its id.
    pub fn create(&self, kernel: &Arc<Kernel>, pid: i32, clock: u64, how: Notification) -> Result<i32, abi::Errno> {
        use abi::clock::{CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
        let mut posix = self.posix.lock().unwrap_or_else(|e| e.into_inner());
        if posix.timers.len() >= MAX_POSIX_TIMERS {
            return Err(abi::Errno::EAGAIN);
        }
        // Ids count up from 0 per process, skipping those in use.
        let mut id = posix.next_id;
        while posix.timers.contains_key(&id) {
            id = id.checked_add(1).unwrap_or(0);
        }
        posix.next_id = id.checked_add(1).unwrap_or(0);
        let weak = Arc::downgrade(kernel);
        let counts = match clock {
            CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => process_cpu_clock(weak.clone(), pid),
            _ => TimerClock::Monotonic,
        };
        let notify: Notify = match how {
            Notification::None => {
                let weak = weak.clone();
                Box::new(move |_| process_target(&weak, pid).is_some())
            }
            Notification::Signal { signo, value, tid } => Box::new(move |overrun| {
                let target = match tid {
                    None => process_target(&weak, pid),
                    Some(tid) => weak.upgrade().and_then(|k| {
                        let procs = k.procs();
                        let p = procs.get(pid).filter(|p| p.exit.is_none())?;
                        p.group.threads().into_iter().find(|(t, _)| *t == tid).map(|(_, h)| h)
                    }),
                };
                let Some(target) = target else { return false };
                let mut info = SigInfo::kernel(signo);
                info.code = SI_TIMER;
                info.fields[0] = u64::from(id as u32) | (u64::from(overrun) << 32);
                info.fields[1] = value.unwrap_or(id as u64);
                target.send_signal_info(info);
                true
            }),
        };
        posix.timers.insert(id, PosixTimer { clock, timer: Timer::new(counts, notify) });
        Ok(id)
    }

    pub fn posix(&self, id: i32) -> Option<PosixTimer> {
        self.posix.lock().unwrap_or_else(|e| e.into_inner()).timers.get(&id).cloned()
    }

    /// `timer_delete`: false if there is no such timer.
    pub fn delete(&self, id: i32) -> bool {
        let timer = self.posix.lock().unwrap_or_else(|e| e.into_inner()).timers.remove(&id);
        timer.map(|t| t.timer.cancel()).is_some()
    }

    /// At execve: the POSIX timers go.
    pub fn delete_posix(&self) {
        let timers = std::mem::take(&mut self.posix.lock().unwrap_or_else(|e| e.into_inner()).timers);
        timers.values().for_each(|t| t.timer.cancel());
    }

    /// At exit: every timer stops.
    pub fn cancel_all(&self) {
        self.delete_posix();
        let itimers = self.itimers.lock().unwrap_or_else(|e| e.into_inner()).clone();
        itimers.iter().flatten().for_each(|t| t.cancel());
    }
}
