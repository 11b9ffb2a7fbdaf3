//! Job control: stopping and continuing whole processes (Linux:
//! `do_signal_stop`, and `prepare_signal`'s handling of SIGCONT and the
//! stop signals; gVisor: `task_stop.go`, `task_signals.go`).
//!
//! * When a thread dequeues a stop signal whose action is the default, its
//!   thread group stops: every other thread is interrupted and stops on
//!   its way back to the application (a thread blocked in a system call
//!   stops when the call returns), the parent hears of it (SIGCHLD with
//!   CLD_STOPPED unless it set SA_NOCLDSTOP, and `wait` with WUNTRACED).
//!   SIGTSTP, SIGTTIN and SIGTTOU are discarded in an orphaned process
//!   group, as in Linux; SIGSTOP always stops.
//! * Sending SIGCONT (whatever its disposition) discards pending stop
//!   signals and continues a stopped group at once, reported as
//!   CLD_CONTINUED and to `wait` with WCONTINUED; sending a stop signal
//!   discards a pending SIGCONT.
//! * SIGKILL ends a stopped process.

use super::process::JobEvent;
use super::task::Task;
use super::Kernel;
use abi::signal::{SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU};

const fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// The stop signals.
pub const STOP_MASK: u64 = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

/// Runs as `sig` is sent to process `pid`, before it is queued.
pub fn on_send(kernel: &Kernel, pid: i32, sig: i32) {
    let is_stop = (1..=64).contains(&sig) && STOP_MASK & bit(sig) != 0;
    if sig != SIGCONT && !is_stop {
        return;
    }
    let mut procs = kernel.procs();
    let Some(group) = procs.get(pid).filter(|p| p.exit.is_none()).map(|p| p.group.clone()) else { return };
    let discard = if sig == SIGCONT { STOP_MASK } else { bit(SIGCONT) };
    for (_, thread) in group.threads() {
        thread.discard_pending(discard);
    }
    if sig == SIGCONT && group.end_stop() {
        procs.job_event(pid, JobEvent::Continued);
    }
}

/// The task dequeued stop signal `sig` with the default action: stops its
/// thread group (unless the signal is discarded) and sleeps until the
/// group is continued or killed.
pub fn stop(task: &Task, sig: i32) {
    {
        let mut procs = task.kernel.procs();
        let pgid = procs.get(task.pid).map_or(task.pid, |p| p.pgid);
        if sig != SIGSTOP && procs.pgrp_orphaned(pgid) {
            return;
        }
        if task.group.begin_stop(task.tid, sig) {
            procs.job_event(task.pid, JobEvent::Stopped(sig));
        }
    }
    task.sleep_while_stopped();
}
