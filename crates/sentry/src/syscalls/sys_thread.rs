//! Process creation and reaping: clone, fork, vfork, wait4, waitid
//! (gVisor: `sys_thread.go`).

use super::sys_time::{ticks, Rusage};
use crate::kernel::fork::{CloneArgs, CLONE_VFORK, CLONE_VM};
use crate::kernel::process::{CpuTimes, JobEvent, WaitTarget};
use crate::kernel::signal::{CLD_CONTINUED, CLD_EXITED, CLD_KILLED, CLD_STOPPED};
use crate::kernel::{ExitStatus, Task};
use abi::signal::{SIGCHLD, SIGCONT};
use abi::Errno;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub fn clone(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    // x86-64 argument order: flags, stack, parent_tid, child_tid, tls.
    let args = CloneArgs {
        flags: a[0] & !0xff,
        exit_signal: (a[0] & 0xff) as i32,
        stack: a[1],
        parent_tid: a[2],
        child_tid: a[3],
        tls: a[4],
    };
    task.clone_process(&args).map(|pid| pid as u64)
}

/// `struct clone_args` (linux/sched.h), version 0 is the first 64 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
struct CloneArgs3 {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub fn clone3(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const VER0: u64 = 64;
    let size = a[1];
    if !(VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; size as usize];
    task.mm.copy_in(a[0], &mut raw)?;
    // Fields past what we know must be zero (extensible-struct rule).
    let known = std::mem::size_of::<CloneArgs3>();
    if raw.len() > known && raw[known..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    raw.resize(known, 0);
    let c = CloneArgs3::read_from_bytes(&raw).map_err(|_| Errno::EINVAL)?;
    if c.set_tid_size != 0 || c.cgroup != 0 || c.exit_signal > 64 || c.flags & 0xff != 0 {
        return Err(Errno::EINVAL);
    }
    if (c.stack == 0) != (c.stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let args = CloneArgs {
        flags: c.flags,
        exit_signal: c.exit_signal as i32,
        stack: if c.stack == 0 { 0 } else { c.stack + c.stack_size },
        parent_tid: c.parent_tid,
        child_tid: c.child_tid,
        tls: c.tls,
    };
    task.clone_process(&args).map(|pid| pid as u64)
}

pub fn fork(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    let args = CloneArgs { exit_signal: SIGCHLD, ..CloneArgs::default() };
    task.clone_process(&args).map(|pid| pid as u64)
}

pub fn vfork(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    let args = CloneArgs { flags: CLONE_VM | CLONE_VFORK, exit_signal: SIGCHLD, ..CloneArgs::default() };
    task.clone_process(&args).map(|pid| pid as u64)
}

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

/// What a wait found.
enum Waited {
    Exited(ExitStatus, CpuTimes),
    Job(JobEvent),
}

/// The status word `wait4` reports.
fn wait_status(w: &Waited) -> i32 {
    match w {
        Waited::Exited(ExitStatus::Code(c), _) => (c & 0xff) << 8,
        Waited::Exited(ExitStatus::Signal(sig), _) => sig & 0x7f,
        Waited::Job(JobEvent::Stopped(sig)) => (sig << 8) | 0x7f,
        Waited::Job(JobEvent::Continued) => 0xffff,
    }
}

/// Waits for a child selected by `target` to exit (WEXITED), stop
/// (WUNTRACED) or continue (WCONTINUED). Returns its pid and what
/// happened, or `None` with WNOHANG when nothing has yet.
fn wait_child(task: &Task, target: WaitTarget, options: u64) -> Result<Option<(i32, Waited)>, Errno> {
    loop {
        let seen = task.wakeups();
        {
            let mut procs = task.kernel.procs();
            let children = procs.children_matching(task.pid, target);
            if children.is_empty() {
                return Err(Errno::ECHILD);
            }
            let zombie = children.iter().copied().find(|c| procs.get(*c).is_some_and(|p| p.exit.is_some()));
            if let Some(pid) = zombie.filter(|_| options & WEXITED != 0) {
                let found = if options & WNOWAIT != 0 {
                    procs.get(pid).and_then(|p| Some((p.exit?, p.times + p.child_times)))
                } else {
                    procs.reap(pid)
                };
                return Ok(found.map(|(s, t)| (pid, Waited::Exited(s, t))));
            }
            let wanted = |e: &JobEvent| match e {
                JobEvent::Stopped(_) => options & WUNTRACED != 0,
                JobEvent::Continued => options & WCONTINUED != 0,
            };
            let job = children.iter().find_map(|c| {
                procs.get(*c).filter(|p| p.exit.is_none()).and_then(|p| p.job).filter(wanted).map(|e| (*c, e))
            });
            if let Some((pid, event)) = job {
                if options & WNOWAIT == 0 {
                    if let Some(p) = procs.get_mut(pid) {
                        p.job = None;
                    }
                }
                return Ok(Some((pid, Waited::Job(event))));
            }
        }
        if options & WNOHANG != 0 {
            return Ok(None);
        }
        if !task.wait_for_wake(seen) {
            // Restarted after a handler with SA_RESTART, as Linux does.
            return Err(Errno::ERESTARTSYS);
        }
    }
}

pub fn wait4(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, status_addr, options, rusage) = (a[0] as i32, a[1], a[2], a[3]);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let target = match pid {
        -1 => WaitTarget::Any,
        0 => WaitTarget::Group(task.kernel.procs().get(task.pid).map_or(task.pid, |p| p.pgid)),
        p if p > 0 => WaitTarget::Pid(p),
        p => WaitTarget::Group(-p),
    };
    let Some((child, found)) = wait_child(task, target, options | WEXITED)? else { return Ok(0) };
    if status_addr != 0 {
        task.mm.write_obj(status_addr, &wait_status(&found))?;
    }
    if rusage != 0 {
        let times = if let Waited::Exited(_, t) = found { t } else { CpuTimes::default() };
        task.mm.write_obj(rusage, &Rusage::from(times))?;
    }
    Ok(child as u64)
}

pub fn waitid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    let (idtype, id, infop, options, rusage) = (a[0], a[1] as i32, a[2], a[3], a[4]);
    if options & !(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE) != 0
        || options & (WEXITED | WUNTRACED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let target = match idtype {
        P_ALL => WaitTarget::Any,
        P_PID if id > 0 => WaitTarget::Pid(id),
        P_PGID if id >= 0 => {
            WaitTarget::Group(if id == 0 { task.kernel.procs().get(task.pid).map_or(task.pid, |p| p.pgid) } else { id })
        }
        _ => return Err(Errno::EINVAL),
    };
    let found = wait_child(task, target, options)?;
    let mut times = CpuTimes::default();
    if infop != 0 {
        let mut info = [0u8; 128];
        if let Some((pid, found)) = &found {
            let (code, value) = match found {
                Waited::Exited(ExitStatus::Code(c), t) => {
                    times = *t;
                    (CLD_EXITED, c & 0xff)
                }
                Waited::Exited(ExitStatus::Signal(s), t) => {
                    times = *t;
                    (CLD_KILLED, *s)
                }
                Waited::Job(JobEvent::Stopped(s)) => (CLD_STOPPED, *s),
                Waited::Job(JobEvent::Continued) => (CLD_CONTINUED, SIGCONT),
            };
            info[0..4].copy_from_slice(&SIGCHLD.to_le_bytes());
            info[8..12].copy_from_slice(&code.to_le_bytes());
            info[16..20].copy_from_slice(&pid.to_le_bytes());
            info[20..24].copy_from_slice(&task.creds.uid.to_le_bytes());
            info[24..28].copy_from_slice(&value.to_le_bytes());
            info[32..40].copy_from_slice(&ticks(times.user).to_le_bytes());
            info[40..48].copy_from_slice(&ticks(times.system).to_le_bytes());
        }
        task.mm.copy_out(infop, &info)?;
    }
    if rusage != 0 {
        task.mm.write_obj(rusage, &Rusage::from(times))?;
    }
    Ok(0)
}
