//! Signal syscalls (gVisor: `sys_signal.go`). Delivery itself is in
//! `kernel::delivery` and `kernel::signal_frame`.

use crate::kernel::jobctl;
use crate::kernel::signal::{SigInfo, SI_TKILL, SI_USER};
use crate::kernel::signal_frame;
use crate::kernel::Task;
use abi::signal::*;
use abi::{Errno, Timespec};
use std::time::Duration;

fn valid(sig: u64) -> Result<i32, Errno> {
    let sig = i32::try_from(sig).map_err(|_| Errno::EINVAL)?;
    if (1..=NSIG).contains(&sig) {
        Ok(sig)
    } else {
        Err(Errno::EINVAL)
    }
}

pub fn rt_sigaction(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let sig = valid(a[0])?;
    let old = task.actions.get(sig);
    if a[1] != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let mut new: SigAction = task.mm.read_obj(a[1])?;
        new.mask = SigSet(new.mask).blockable().0;
        task.actions.set(sig, new);
    }
    if a[2] != 0 {
        task.mm.write_obj(a[2], &old)?;
    }
    Ok(0)
}

pub fn rt_sigprocmask(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = task.mask;
    if a[1] != 0 {
        let set = SigSet(task.mm.read_obj::<u64>(a[1])?);
        task.mask = match a[0] {
            SIG_BLOCK => SigSet(old.0 | set.0),
            SIG_UNBLOCK => SigSet(old.0 & !set.0),
            SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        }
        .blockable();
    }
    if a[2] != 0 {
        task.mm.write_obj(a[2], &old.0)?;
    }
    Ok(0)
}

pub fn kill(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let sig = a[1];
    if sig != 0 {
        valid(sig)?;
    }
    if a[0] as i32 == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let targets = task.kernel.procs().kill_targets(task.pid, a[0] as i32)?;
    if sig == 0 {
        return Ok(0);
    }
    let info = SigInfo::from_sender(sig as i32, SI_USER, task.pid, task.creds.uid);
    for (pid, handle) in targets {
        jobctl::on_send(&task.kernel, pid, sig as i32);
        if pid == task.pid {
            task.signal_self(info);
        } else {
            handle.send_signal_info(info);
        }
    }
    Ok(0)
}

/// Sends `sig` to thread `tid`, which must belong to process `tgid` if
/// one is given (tgkill) — any thread of the namespace otherwise (tkill).
/// Sends signal `sig` to thread `tid` (of process `tgid` if given) with
/// the siginfo `info` (SI_TKILL from the caller when `None`).
fn signal_thread(task: &mut Task, tgid: Option<i32>, tid: i32, sig: u64, info: Option<SigInfo>) -> Result<u64, Errno> {
    if tid <= 0 || tgid.is_some_and(|g| g <= 0) {
        return Err(Errno::EINVAL);
    }
    if sig != 0 {
        valid(sig)?;
    }
    let info = info.unwrap_or_else(|| SigInfo::from_sender(sig as i32, SI_TKILL, task.pid, task.creds.uid));
    if tid == task.tid && tgid.is_none_or(|g| g == task.pid) {
        if sig != 0 {
            jobctl::on_send(&task.kernel, task.pid, sig as i32);
            task.signal_self(info);
        }
        return Ok(0);
    }
    let (pid, handle) = task.kernel.procs().thread(tid).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| g != pid) {
        return Err(Errno::ESRCH);
    }
    if sig != 0 {
        jobctl::on_send(&task.kernel, pid, sig as i32);
        handle.send_signal_info(info);
    }
    Ok(0)
}

pub fn tkill(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    signal_thread(task, None, a[0] as i32, a[1], None)
}

pub fn tgkill(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    signal_thread(task, Some(a[0] as i32), a[1] as i32, a[2], None)
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`: a signal with the caller's
/// own siginfo, to one thread. As with `rt_sigqueueinfo`, only the kernel
/// may claim SI_USER/SI_KERNEL (si_code >= 0) or SI_TKILL towards another
/// process.
pub fn rt_tgsigqueueinfo(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut info: SigInfo = task.mm.read_obj(a[3])?;
    let tgid = a[0] as i32;
    if (info.code >= 0 || info.code == SI_TKILL) && tgid != task.pid {
        return Err(Errno::EPERM);
    }
    info.signo = a[2] as i32;
    signal_thread(task, Some(tgid), a[1] as i32, a[2], Some(info))
}

/// `struct stack_t`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
)]
pub struct StackT {
    pub sp: u64,
    pub flags: i32,
    pub pad: i32,
    pub size: u64,
}

pub fn sigaltstack(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let new = if a[0] != 0 { Some(task.mm.read_obj::<StackT>(a[0])?) } else { None };
    let sp = task.regs.rsp;
    let old = signal_frame::do_sigaltstack(task, new, sp)?;
    if a[1] != 0 {
        task.mm.write_obj(a[1], &old)?;
    }
    Ok(0)
}

pub fn rt_sigreturn(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    signal_frame::sigreturn(task)
}

/// Reads a sigset argument whose size must be the kernel's 8 bytes.
fn read_set(task: &Task, addr: u64, size: u64) -> Result<SigSet, Errno> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    Ok(SigSet(task.mm.read_obj::<u64>(addr)?))
}

pub fn rt_sigpending(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    let set = task.pending().set.0 & task.mask.0;
    task.mm.copy_out(a[0], &set.to_le_bytes()[..a[1] as usize])?;
    Ok(0)
}

/// Blocks until a signal that is not discarded arrives (the caller's mask
/// in force); the caller returns ERESTARTNOHAND.
fn wait_for_any_signal(task: &Task) {
    task.wait_signal(None, |p| task.interrupts(p));
}

pub fn rt_sigsuspend(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let set = read_set(task, a[0], a[1])?;
    task.sigstate.saved_mask = Some(task.mask);
    task.mask = set.blockable();
    wait_for_any_signal(task);
    Err(Errno::ERESTARTNOHAND)
}

pub fn pause(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    wait_for_any_signal(task);
    Err(Errno::ERESTARTNOHAND)
}

pub fn rt_sigtimedwait(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let set = read_set(task, a[0], a[3])?.blockable();
    let timeout = if a[2] != 0 {
        let t: Timespec = task.mm.read_obj(a[2])?;
        if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    } else {
        None
    };
    let take = |task: &Task| {
        let mut pending = task.pending();
        pending.next(set.0).and_then(|sig| pending.take(sig))
    };
    let mut got = take(task);
    let mut timed_out = false;
    if got.is_none() && timeout != Some(Duration::ZERO) {
        // The awaited signals are unblocked while waiting, so any of them,
        // or any other deliverable signal, wakes the task.
        let blocked = task.mask;
        task.mask = SigSet(blocked.0 & !set.0);
        let left = task.wait_signal(timeout, |p| p.0 & set.0 != 0 || task.interrupts(p));
        task.mask = blocked;
        timed_out = left.is_zero();
        got = take(task);
    } else if got.is_none() {
        timed_out = true;
    }
    match got {
        Some(info) => {
            if a[1] != 0 {
                task.mm.write_obj(a[1], &info)?;
            }
            Ok(info.signo as u64)
        }
        None if timed_out => Err(Errno::EAGAIN),
        None => Err(Errno::EINTR),
    }
}

pub fn rt_sigqueueinfo(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut info: SigInfo = task.mm.read_obj(a[2])?;
    let pid = a[0] as i32;
    // Only the kernel may claim SI_USER/SI_KERNEL or SI_TKILL for a
    // signal to another process.
    if (info.code >= 0 || info.code == SI_TKILL) && pid != task.pid {
        return Err(Errno::EPERM);
    }
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    let targets = task.kernel.procs().kill_targets(task.pid, pid)?;
    if a[1] == 0 {
        return Ok(0);
    }
    info.signo = valid(a[1])?;
    jobctl::on_send(&task.kernel, pid, info.signo);
    for (target, handle) in targets {
        if target == task.pid {
            task.signal_self(info);
        } else {
            handle.send_signal_info(info);
        }
    }
    Ok(0)
}
