//! Signal syscalls (gVisor: `sys_signal.go`). Dispositions and masks are
//! kept exactly; delivery to handlers arrives with issue #3.

use crate::kernel::Task;
use abi::signal::*;
use abi::Errno;

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

/// Sends `sig` to the task itself (tkill/tgkill of our own tid).
fn signal_init(task: &mut Task, sig: u64) -> Result<u64, Errno> {
    if sig == 0 {
        return Ok(0); // existence check
    }
    let sig = valid(sig)?;
    task.signal_self(sig);
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
    for (pid, handle) in targets {
        if pid == task.pid {
            task.signal_self(sig as i32);
        } else {
            handle.send_signal(sig as i32);
        }
    }
    Ok(0)
}

pub fn tkill(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] as i32 != task.tid {
        return Err(if (a[0] as i32) <= 0 { Errno::EINVAL } else { Errno::ESRCH });
    }
    signal_init(task, a[1])
}

pub fn tgkill(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (tgid, tid) = (a[0] as i32, a[1] as i32);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid != task.pid || tid != task.tid {
        return Err(Errno::ESRCH);
    }
    signal_init(task, a[2])
}

/// `struct stack_t`.
#[repr(C)]
#[derive(
    Clone, Copy, Default, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable, zerocopy::KnownLayout,
)]
pub struct StackT {
    pub sp: u64,
    pub flags: i32,
    pub pad: i32,
    pub size: u64,
}

const SS_DISABLE: i32 = 2;
const MINSIGSTKSZ: u64 = 2048;

pub fn sigaltstack(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = task.altstack;
    if a[0] != 0 {
        let new: StackT = task.mm.read_obj(a[0])?;
        if new.flags & !SS_DISABLE != 0 {
            return Err(Errno::EINVAL);
        }
        if new.flags & SS_DISABLE == 0 && new.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        task.altstack =
            if new.flags & SS_DISABLE != 0 { StackT { flags: SS_DISABLE, ..StackT::default() } } else { new };
    }
    if a[1] != 0 {
        task.mm.write_obj(a[1], &old)?;
    }
    Ok(0)
}
