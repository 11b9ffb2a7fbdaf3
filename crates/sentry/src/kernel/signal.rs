//! Signal dispositions, masks, pending sets and siginfo (gVisor:
//! `kernel/task_signals.go`). Delivery to application handlers is in
//! `delivery` (which signal, restarts) and `signal_frame` (the frame).

use abi::signal::*;
use std::time::Instant;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `si_code` values (asm-generic/siginfo.h).
pub const SI_USER: i32 = 0;
/// `si_code`s of SIGCHLD.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TKILL: i32 = -6;

/// The signals Linux dequeues first: those a faulting instruction raises.
pub const SYNCHRONOUS: u64 = (1 << (SIGSEGV - 1))
    | (1 << (SIGBUS - 1))
    | (1 << (SIGILL - 1))
    | (1 << (SIGTRAP - 1))
    | (1 << (SIGFPE - 1))
    | (1 << (SIGSYS - 1));

/// `siginfo_t` as the kernel lays it out on x86-64: 128 bytes, the union
/// at offset 16 (kill: pid, uid; fault: addr; sigqueue: pid, uid, value).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub pad: i32,
    pub fields: [u64; 14],
}

impl SigInfo {
    fn new(signo: i32, code: i32) -> SigInfo {
        SigInfo { signo, errno: 0, code, pad: 0, fields: [0; 14] }
    }

    /// From a sender: kill (SI_USER), tkill/tgkill (SI_TKILL), sigqueue.
    pub fn from_sender(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = u64::from(pid as u32) | (u64::from(uid) << 32);
        i
    }

    /// SIGCHLD about child `pid` (`code`: CLD_EXITED, CLD_KILLED,
    /// CLD_STOPPED, CLD_CONTINUED), with its status and CPU ticks.
    pub fn child(code: i32, pid: i32, status: i32, utime: i64, stime: i64) -> SigInfo {
        let mut i = SigInfo::new(abi::signal::SIGCHLD, code);
        i.fields[0] = u64::from(pid as u32);
        i.fields[1] = u64::from(status as u32);
        i.fields[2] = utime as u64;
        i.fields[3] = stime as u64;
        i
    }

    /// Raised by the kernel itself (SI_KERNEL: pid and uid 0).
    pub fn kernel(signo: i32) -> SigInfo {
        SigInfo::new(signo, SI_KERNEL)
    }

    /// A synchronous fault at `addr` with the platform's `si_code`.
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = addr;
        i
    }

    /// Whether this describes a hardware fault (si_addr is meaningful).
    pub fn is_fault(&self) -> bool {
        SYNCHRONOUS & (1 << (self.signo - 1)) != 0 && self.code > 0 && self.code != SI_KERNEL
    }

    pub fn addr(&self) -> u64 {
        self.fields[0]
    }
}

/// Signals pending for a task, with the siginfo of each. As on Linux, a
/// standard signal already pending is not queued twice, while every
/// instance of a real-time signal is queued, each with its own siginfo,
/// and delivered in the order sent.
#[derive(Clone)]
pub struct PendingSignals {
    pub set: SigSet,
    /// The siginfo of the first pending instance of each signal.
    info: [SigInfo; NSIG as usize],
    /// Further instances of pending real-time signals, oldest first.
    queued: std::collections::VecDeque<SigInfo>,
}

/// At most this many further real-time signal instances wait per task
/// (Linux counts RLIMIT_SIGPENDING per user; it is about this size).
const MAX_QUEUED: usize = 1 << 15;

impl Default for PendingSignals {
    fn default() -> PendingSignals {
        PendingSignals {
            set: SigSet::default(),
            info: [SigInfo::new(0, 0); NSIG as usize],
            queued: std::collections::VecDeque::new(),
        }
    }
}

impl PendingSignals {
    /// Queues `info`; false if it was dropped: a standard signal already
    /// pending, or a real-time one over the queue's limit.
    pub fn add(&mut self, info: SigInfo) -> bool {
        let sig = info.signo;
        if !(1..=NSIG).contains(&sig) {
            return false;
        }
        if self.set.contains(sig) {
            if sig < SIGRTMIN || self.queued.len() >= MAX_QUEUED {
                return false;
            }
            self.queued.push_back(info);
            return true;
        }
        self.set.0 |= 1 << (sig - 1);
        self.info[(sig - 1) as usize] = info;
        true
    }

    /// Dequeues the oldest instance of `sig`, with its siginfo.
    pub fn take(&mut self, sig: i32) -> Option<SigInfo> {
        if !self.set.contains(sig) {
            return None;
        }
        let first = self.info[(sig - 1) as usize];
        match self.queued.iter().position(|i| i.signo == sig) {
            Some(at) => self.info[(sig - 1) as usize] = self.queued.remove(at).expect("found above"),
            None => self.set.0 &= !(1 << (sig - 1)),
        }
        Some(first)
    }

    /// The signal Linux would dequeue first among `among`: synchronous
    /// ones first, then the lowest number.
    pub fn next(&self, among: u64) -> Option<i32> {
        let candidates = self.set.0 & among;
        let pick = if candidates & SYNCHRONOUS != 0 { candidates & SYNCHRONOUS } else { candidates };
        (pick != 0).then(|| pick.trailing_zeros() as i32 + 1)
    }
}

/// How to continue a sleep that a signal interrupted, if the application
/// ends up calling `restart_syscall` (Linux: `struct restart_block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartBlock {
    /// A relative nanosleep: sleep until `deadline`; write what is left to
    /// `rem` (if not 0) when interrupted again.
    Sleep { deadline: Instant, rem: u64 },
}

/// Per-task signal bookkeeping beyond the mask and the dispositions.
#[derive(Debug, Default, Clone)]
pub struct SignalState {
    /// Set by a sleep that returned ERESTART_RESTARTBLOCK.
    pub restart: Option<RestartBlock>,
    /// The mask to restore once a signal was handled (sigsuspend's
    /// TIF_RESTORE_SIGMASK): it goes in the frame's uc_sigmask.
    pub saved_mask: Option<SigSet>,
}

/// What the default disposition of a signal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    CoreDump,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: i32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => {
            DefaultAction::CoreDump
        }
        _ => DefaultAction::Terminate,
    }
}

/// The signal dispositions of a thread group (shared by its threads, and
/// by `CLONE_SIGHAND` children): one action per signal.
#[derive(Debug)]
pub struct SignalActions {
    actions: std::sync::Mutex<[SigAction; NSIG as usize]>,
}

impl Default for SignalActions {
    fn default() -> SignalActions {
        SignalActions { actions: std::sync::Mutex::new([SigAction::default(); NSIG as usize]) }
    }
}

impl SignalActions {
    fn lock(&self) -> std::sync::MutexGuard<'_, [SigAction; NSIG as usize]> {
        self.actions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, sig: i32) -> SigAction {
        self.lock()[(sig - 1) as usize]
    }

    pub fn set(&self, sig: i32, act: SigAction) {
        self.lock()[(sig - 1) as usize] = act;
    }

    /// A copy for a child that does not share them (fork).
    pub fn fork_copy(&self) -> SignalActions {
        SignalActions { actions: std::sync::Mutex::new(*self.lock()) }
    }

    /// What execve leaves: handlers reset to default, ignored stays ignored.
    pub fn reset_for_exec(&self) {
        for a in self.lock().iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }
}

/// The fate of a pending signal, given the disposition in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Discard,
    /// Ends the thread group with this signal.
    Kill,
    /// Runs the application's handler on a signal frame.
    Handler,
    /// Job control: not modelled yet, discarded with a log line.
    JobControl,
}

pub fn fate(sig: i32, act: &SigAction) -> Fate {
    if sig == SIGKILL {
        return Fate::Kill;
    }
    if sig == SIGSTOP {
        return Fate::JobControl;
    }
    match act.handler {
        SIG_IGN => Fate::Discard,
        SIG_DFL => match default_action(sig) {
            DefaultAction::Terminate | DefaultAction::CoreDump => Fate::Kill,
            // SIGCONT continues a stopped process when it is sent; its
            // delivery is then ignored (Linux `sig_kernel_ignore`).
            DefaultAction::Ignore | DefaultAction::Continue => Fate::Discard,
            DefaultAction::Stop => Fate::JobControl,
        },
        _ => Fate::Handler,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_follow_dispositions() {
        let dfl = SigAction::default();
        let ign = SigAction { handler: SIG_IGN, ..dfl };
        let handler = SigAction { handler: 0x401000, ..dfl };
        assert_eq!(fate(SIGTERM, &dfl), Fate::Kill);
        assert_eq!(fate(SIGCHLD, &dfl), Fate::Discard);
        assert_eq!(fate(SIGTERM, &ign), Fate::Discard);
        assert_eq!(fate(SIGKILL, &ign), Fate::Kill);
        assert_eq!(fate(SIGTERM, &handler), Fate::Handler);
        assert_eq!(fate(SIGTSTP, &dfl), Fate::JobControl);
        assert_eq!(fate(SIGCONT, &dfl), Fate::Discard);
    }

    #[test]
    fn siginfo_is_128_bytes_with_the_union_at_16() {
        assert_eq!(std::mem::size_of::<SigInfo>(), 128);
        let i = SigInfo::from_sender(SIGUSR1, SI_TKILL, 7, 1000);
        let b = i.as_bytes();
        assert_eq!(&b[0..4], &SIGUSR1.to_le_bytes());
        assert_eq!(&b[8..12], &SI_TKILL.to_le_bytes());
        assert_eq!(&b[16..20], &7i32.to_le_bytes());
        assert_eq!(&b[20..24], &1000u32.to_le_bytes());
        let f = SigInfo::fault(SIGSEGV, 2, 0xdead_b000);
        assert_eq!(&f.as_bytes()[16..24], &0xdead_b000u64.to_le_bytes());
        assert!(f.is_fault());
        assert!(!i.is_fault());
    }

    #[test]
    fn pending_dequeues_synchronous_first_and_does_not_queue_twice() {
        let mut p = PendingSignals::default();
        assert!(p.add(SigInfo::kernel(SIGUSR2)));
        assert!(p.add(SigInfo::from_sender(SIGHUP, SI_USER, 1, 0)));
        assert!(!p.add(SigInfo::kernel(SIGHUP)), "a pending standard signal is not queued twice");
        assert!(p.add(SigInfo::fault(SIGSEGV, 1, 0)));
        assert_eq!(p.next(u64::MAX), Some(SIGSEGV));
        assert_eq!(p.take(SIGSEGV).unwrap().code, 1);
        assert_eq!(p.next(u64::MAX), Some(SIGHUP));
        assert_eq!(p.take(SIGHUP).unwrap().code, SI_USER);
        assert_eq!(p.next(!(1 << (SIGUSR2 - 1))), None);
        assert_eq!(p.take(SIGHUP), None);
    }

    #[test]
    fn real_time_signals_queue_every_instance_in_order() {
        let mut p = PendingSignals::default();
        for code in [-1, -2, -3] {
            assert!(p.add(SigInfo::new(SIGRTMIN + 1, code)));
        }
        assert!(p.add(SigInfo::new(SIGRTMIN, -9)));
        assert_eq!(p.next(u64::MAX), Some(SIGRTMIN));
        assert_eq!(p.take(SIGRTMIN).unwrap().code, -9);
        assert_eq!(p.take(SIGRTMIN), None);
        let codes: Vec<i32> = std::iter::from_fn(|| p.take(SIGRTMIN + 1)).map(|i| i.code).collect();
        assert_eq!(codes, [-1, -2, -3]);
        assert!(p.set.0 == 0);
    }
}
