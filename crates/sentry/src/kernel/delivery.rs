//! Signal delivery on the way back to the application (Linux:
//! `arch_do_signal_or_restart`, `get_signal`; gVisor: `task_signals.go`):
//! which pending signal goes first, what happens to the system call it
//! interrupted (the ERESTART* codes), and forced (synchronous) signals.
//!
//! Handlers return ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND or
//! ERESTART_RESTARTBLOCK when a signal interrupts them; dispatch stores the
//! code in `rax` like any errno and this module turns it into EINTR or a
//! restart before the application runs again, so the codes never reach it.

use super::signal::{fate, Fate, SigInfo, SignalState, SYNCHRONOUS};
use super::signal_frame;
use super::task::Task;
use super::ExitStatus;
use abi::signal::{SigAction, SigSet, SA_RESTART, SIGKILL, SIGSEGV, SIG_IGN};
use abi::{Errno, Sysno};

/// The `syscall` instruction is two bytes: a restart re-executes it.
const SYSCALL_INSN_LEN: u64 = 2;

fn restart_code(rax: u64) -> Option<Errno> {
    let e = Errno::new(-(rax as i64) as i32);
    [Errno::ERESTARTSYS, Errno::ERESTARTNOINTR, Errno::ERESTARTNOHAND, Errno::ERESTART_RESTARTBLOCK]
        .contains(&e)
        .then_some(e)
}

/// The system call the task stopped in, if its result is a restart code.
fn interrupted_syscall(task: &Task) -> Option<Errno> {
    if (task.regs.orig_rax as i64) < 0 {
        return None;
    }
    restart_code(task.regs.rax)
}

fn set_errno(task: &mut Task, e: Errno) {
    task.regs.rax = (-(e.into_raw() as i64)) as u64;
}

/// Re-executes the interrupted `syscall` instruction with `rax` = `nr`.
fn restart(task: &mut Task, nr: u64) {
    task.regs.rax = nr;
    task.regs.rip = task.regs.rip.wrapping_sub(SYSCALL_INSN_LEN);
}

/// A handler is about to run: Linux's `handle_signal` prologue.
fn restart_before_handler(task: &mut Task, act: &SigAction) {
    let Some(code) = interrupted_syscall(task) else { return };
    match code {
        Errno::ERESTARTNOINTR => restart(task, task.regs.orig_rax),
        Errno::ERESTARTSYS if act.flags & SA_RESTART != 0 => restart(task, task.regs.orig_rax),
        _ => set_errno(task, Errno::EINTR),
    }
}

/// No handler ran: the interrupted call is restarted whatever its code.
fn restart_without_handler(task: &mut Task) {
    match interrupted_syscall(task) {
        Some(Errno::ERESTART_RESTARTBLOCK) => restart(task, Sysno::restart_syscall.id() as u64),
        Some(_) => restart(task, task.regs.orig_rax),
        None => {}
    }
}

/// A dequeued signal whose default action the task carries out.
enum Dequeued {
    Kill(i32),
    Stop(i32),
}

/// Acts on the pending signals that are not blocked: kills, discards, or
/// pushes one handler frame per deliverable handled signal (the last one
/// pushed runs first, as on Linux), then settles the interrupted syscall.
pub fn handle_pending_signals(task: &mut Task) {
    let mut delivered = false;
    while task.exit.is_none() {
        // Another thread stopped the group: stop here until continued.
        if task.group.stopped() {
            task.sleep_while_stopped();
        }
        let next = {
            let mut pending = task.pending();
            let mut found = None;
            let deliverable = !task.mask.blockable().0;
            while let Some(sig) = pending.next(deliverable) {
                let info = pending.take(sig).expect("next() returns a pending signal");
                match fate(sig, &task.actions.get(sig)) {
                    Fate::Kill => {
                        found = Some(Err(Dequeued::Kill(sig)));
                        break;
                    }
                    Fate::Discard => {}
                    Fate::JobControl => {
                        found = Some(Err(Dequeued::Stop(sig)));
                        break;
                    }
                    Fate::Handler => {
                        found = Some(Ok(info));
                        break;
                    }
                }
            }
            found
        };
        let info = match next {
            None => break,
            Some(Err(Dequeued::Kill(sig))) => {
                task.exit = Some(ExitStatus::Signal(sig));
                break;
            }
            Some(Err(Dequeued::Stop(sig))) => {
                super::jobctl::stop(task, sig);
                continue;
            }
            Some(Ok(info)) => info,
        };
        let act = task.actions.get(info.signo);
        restart_before_handler(task, &act);
        delivered = true;
        if let Err(e) = signal_frame::setup_frame(task, info, &act) {
            tracing::debug!(sig = info.signo, "cannot set up the signal frame ({e:?}): SIGSEGV");
            force_sigsegv(task, info.signo);
        }
    }
    if task.exit.is_some() {
        return;
    }
    if !delivered {
        restart_without_handler(task);
        if let Some(saved) = task.sigstate.saved_mask.take() {
            task.mask = saved;
        }
    }
}

/// Queues a signal the task cannot block or ignore (Linux:
/// `force_sig_info`): if it is blocked or ignored, it is unblocked and its
/// disposition reset to the default.
pub fn force_signal(task: &mut Task, info: SigInfo) {
    let sig = info.signo;
    let act = task.actions.get(sig);
    let blocked = task.mask.contains(sig);
    if blocked || act.handler == SIG_IGN {
        task.actions.set(sig, SigAction::default());
        if blocked {
            task.mask = SigSet(task.mask.0 & !(1 << (sig - 1)));
        }
    }
    // A fault must not be lost behind an earlier kill of the same signal.
    let mut pending = task.pending();
    if SYNCHRONOUS & (1 << (sig - 1)) != 0 {
        pending.take(sig);
    }
    pending.add(info);
}

/// The frame for `sig` could not be written (Linux: `force_sigsegv`): a
/// SIGSEGV handler that can't run is reset first so this ends in a kill.
pub fn force_sigsegv(task: &mut Task, sig: i32) {
    if sig == SIGSEGV {
        task.actions.set(SIGSEGV, SigAction::default());
    }
    force_signal(task, SigInfo::kernel(SIGSEGV));
}

/// What execve does to signal state beyond the dispositions (Linux
/// `setup_new_exec`): the alternate stack is gone (its flags stay, as on
/// Linux), and so is any restart block; the mask and pending signals stay.
pub fn reset_for_exec(task: &mut Task) {
    task.altstack.sp = 0;
    task.altstack.size = 0;
    task.sigstate = SignalState::default();
}

/// The platform failed under the task: nothing sane is left to run.
pub fn platform_failure(task: &mut Task, what: &str) {
    tracing::error!("platform failure during signal delivery, killing the task: {what}");
    task.exit = Some(ExitStatus::Signal(SIGKILL));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_codes_are_recognised() {
        let raw = |e: Errno| (-(e.into_raw() as i64)) as u64;
        assert_eq!(restart_code(raw(Errno::ERESTARTSYS)), Some(Errno::ERESTARTSYS));
        assert_eq!(restart_code(raw(Errno::ERESTART_RESTARTBLOCK)), Some(Errno::ERESTART_RESTARTBLOCK));
        assert_eq!(restart_code(raw(Errno::EINTR)), None);
        assert_eq!(restart_code(0), None);
        assert_eq!(restart_code(0x7fff_0000_0000), None);
    }
}
