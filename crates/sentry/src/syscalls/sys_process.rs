//! Process and identity syscalls (gVisor: `sys_thread.go`,
//! `sys_identity.go`, `sys_rlimit.go`, `sys_tls.go`).

use super::sys_file::read_path;
use super::sys_identity::cap_ambient;
use crate::kernel::{caps, ExitStatus, Task, TaskHandle};
use crate::loader::{self, AuxIds};
use abi::{arch_prctl as ap, rlimit, Errno, Rlimit};
use std::sync::Arc;

pub fn getpid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.pid as u64)
}

pub fn gettid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.tid as u64)
}

pub fn getppid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    // The init's parent is outside the namespace: 0.
    Ok(task.kernel.procs().get(task.pid).map_or(0, |p| p.ppid) as u64)
}

/// The process `pid` names (0: the caller).
fn target(task: &Task, pid: u64) -> i32 {
    match pid as i32 {
        0 => task.pid,
        p => p,
    }
}

pub fn getpgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let pid = target(task, a[0]);
    task.kernel.procs().get(pid).map(|p| p.pgid as u64).ok_or(Errno::ESRCH)
}

pub fn getpgrp(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    getpgid(task, &[0; 6])
}

pub fn getsid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let pid = target(task, a[0]);
    task.kernel.procs().get(pid).map(|p| p.sid as u64).ok_or(Errno::ESRCH)
}

pub fn setpgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let pid = target(task, a[0]);
    let pgid = match a[1] as i32 {
        0 => pid,
        g if g < 0 => return Err(Errno::EINVAL),
        g => g,
    };
    let mut procs = task.kernel.procs();
    let me = procs.get(task.pid).ok_or(Errno::ESRCH)?;
    let my_sid = me.sid;
    let p = procs.get(pid).ok_or(Errno::ESRCH)?;
    // Only ourselves or a child of ours, in our session, not a session leader.
    if pid != task.pid && p.ppid != task.pid {
        return Err(Errno::ESRCH);
    }
    if p.sid != my_sid {
        return Err(Errno::EPERM);
    }
    if p.sid == pid {
        return Err(Errno::EPERM);
    }
    // The group must exist in our session unless we are creating it.
    if pgid != pid && !procs.live().any(|(_, q)| q.pgid == pgid && q.sid == my_sid) {
        return Err(Errno::EPERM);
    }
    procs.get_mut(pid).ok_or(Errno::ESRCH)?.pgid = pgid;
    Ok(0)
}

pub fn setsid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    let mut procs = task.kernel.procs();
    let pid = task.pid;
    // A process group leader cannot start a session.
    if procs.live().any(|(_, q)| q.pgid == pid) {
        return Err(Errno::EPERM);
    }
    let me = procs.get_mut(pid).ok_or(Errno::ESRCH)?;
    me.sid = pid;
    me.pgid = pid;
    me.tty = None;
    Ok(pid as u64)
}

pub fn getuid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.creds.uid.into())
}

pub fn geteuid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.creds.euid.into())
}

pub fn getgid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.creds.gid.into())
}

pub fn getegid(task: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.creds.egid.into())
}

fn put_ids(task: &Task, addrs: &[u64], ids: [u32; 3]) -> Result<u64, Errno> {
    for (addr, id) in addrs.iter().zip(ids) {
        task.mm.write_obj(*addr, &id)?;
    }
    Ok(0)
}

pub fn getresuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let c = &task.creds;
    put_ids(task, &a[..3], [c.uid, c.euid, c.suid])
}

pub fn getresgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let c = &task.creds;
    put_ids(task, &a[..3], [c.gid, c.egid, c.sgid])
}

pub fn getgroups(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let size = a[0] as i32;
    let groups = &task.creds.groups;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    task.mm.copy_out(a[1], &bytes)?;
    Ok(groups.len() as u64)
}

/// Ends the calling thread; the process ends with its last thread.
pub fn exit(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.exit = Some(ExitStatus::Code((a[0] & 0xff) as i32));
    task.exit_thread_only = true;
    Ok(0)
}

/// Ends every thread of the process.
pub fn exit_group(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.exit = Some(ExitStatus::Code((a[0] & 0xff) as i32));
    Ok(0)
}

pub fn set_tid_address(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.clear_child_tid = a[0];
    Ok(task.tid as u64)
}

/// sizeof(struct robust_list_head): next, futex_offset, list_op_pending.
const ROBUST_HEAD_SIZE: u64 = 24;

pub fn set_robust_list(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[1] != ROBUST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    task.handle().set_robust_list(a[0]);
    Ok(0)
}

/// `get_robust_list(pid, head_ptr, len_ptr)`: a thread of the caller's own
/// process, or any thread for a caller with CAP_SYS_PTRACE. (Linux's
/// ptrace-read check also lets a process of the same user read it; here
/// that is EPERM.)
pub fn get_robust_list(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let tid = a[0] as i32;
    let head = if tid == 0 {
        task.handle().robust_list()
    } else {
        let (pid, handle) = task.kernel.procs().thread(tid).ok_or(Errno::ESRCH)?;
        if pid != task.pid && !task.creds.capable(crate::kernel::caps::CAP_SYS_PTRACE) {
            return Err(Errno::EPERM);
        }
        handle.robust_list()
    };
    task.mm.write_obj(a[1], &head)?;
    task.mm.write_obj(a[2], &ROBUST_HEAD_SIZE)?;
    Ok(0)
}

pub fn arch_prctl(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const CANONICAL_END: u64 = 0x0000_8000_0000_0000;
    match a[0] {
        ap::ARCH_SET_FS | ap::ARCH_SET_GS => {
            if a[1] >= CANONICAL_END {
                return Err(Errno::EPERM);
            }
            if a[0] == ap::ARCH_SET_FS {
                task.regs.fs_base = a[1];
                task.regs.fs = 0;
            } else {
                task.regs.gs_base = a[1];
                task.regs.gs = 0;
            }
            Ok(0)
        }
        ap::ARCH_GET_FS => task.mm.write_obj(a[1], &task.regs.fs_base).map(|_| 0),
        ap::ARCH_GET_GS => task.mm.write_obj(a[1], &task.regs.gs_base).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn getrlimit(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let r = *task.rlimits.get(a[0] as usize).ok_or(Errno::EINVAL)?;
    task.mm.write_obj(a[1], &r).map(|_| 0)
}

pub fn setrlimit(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    prlimit64(task, &[0, a[0], a[1], 0, 0, 0])
}

pub fn prlimit64(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, resource, new, old) = (a[0] as i32, a[1] as usize, a[2], a[3]);
    if pid != 0 && pid != task.pid {
        // Other processes' limits come with the rest of issue #3.
        return Err(if task.kernel.procs().get(pid).is_some() { Errno::EPERM } else { Errno::ESRCH });
    }
    let cur = *task.rlimits.get(resource).ok_or(Errno::EINVAL)?;
    if new != 0 {
        let r: Rlimit = task.mm.read_obj(new)?;
        if r.cur > r.max {
            return Err(Errno::EINVAL);
        }
        // Raising a hard limit needs CAP_SYS_RESOURCE.
        if r.max > cur.max && !task.creds.capable(caps::CAP_SYS_RESOURCE) {
            return Err(Errno::EPERM);
        }
        if resource == rlimit::RLIMIT_NOFILE as usize && r.max > crate::vfs::MAX_FDS as u64 {
            return Err(Errno::EPERM);
        }
        task.rlimits[resource] = r;
    }
    if old != 0 {
        task.mm.write_obj(old, &cur)?;
    }
    Ok(0)
}

const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_DEADLINE: i32 = 6;
const SCHED_EXT: i32 = 7;
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

/// The thread a scheduling call names: itself for 0, else any thread of
/// the namespace.
fn sched_target(task: &Task, pid: u64) -> Result<TaskHandle, Errno> {
    match pid as i32 {
        p if p < 0 => Err(Errno::EINVAL),
        0 => Ok(task.handle()),
        tid if tid == task.tid => Ok(task.handle()),
        tid => task.kernel.procs().thread(tid).map(|(_, h)| h).ok_or(Errno::ESRCH),
    }
}

/// Linux's `check_same_owner` for changing another process's scheduling
/// (sched_setaffinity, sched_setscheduler, setpriority): the caller's
/// effective uid is the target's, or it has CAP_SYS_NICE; EPERM
/// otherwise. The target is known by its effective uid only (the process
/// table's), where Linux also accepts its real uid.
fn may_reschedule(task: &Task, pid: u64) -> Result<(), Errno> {
    let tid = pid as i32;
    if tid == 0 || tid == task.tid || task.creds.capable(caps::CAP_SYS_NICE) {
        return Ok(());
    }
    let procs = task.kernel.procs();
    let owner = procs.thread(tid).and_then(|(p, _)| procs.get(p)).map(|p| p.uid).ok_or(Errno::ESRCH)?;
    if owner == task.creds.euid {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// The real-time priority range of `policy` (`sched_get_priority_min/max`).
fn priority_range(policy: i32) -> Result<(i32, i32), Errno> {
    match policy {
        SCHED_FIFO | SCHED_RR => Ok((1, 99)),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE | SCHED_EXT => Ok((0, 0)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_get_priority_max(_: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    priority_range(a[0] as i32).map(|(_, max)| max as u64)
}

pub fn sched_get_priority_min(_: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    priority_range(a[0] as i32).map(|(min, _)| min as u64)
}

pub fn sched_getscheduler(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let s = sched_target(task, a[0])?.sched();
    Ok((s.policy | if s.reset_on_fork { SCHED_RESET_ON_FORK } else { 0 }) as u64)
}

pub fn sched_getparam(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let target = sched_target(task, a[0])?;
    task.mm.write_obj(a[1], &target.sched().priority).map(|_| 0)
}

/// Records `policy` (or keeps the current one) with the priority at
/// `param`, by Linux's rules: real-time policies take 1..=99 and need
/// privilege, the others take 0; SCHED_DEADLINE only via sched_setattr.
fn set_scheduler(task: &mut Task, pid: u64, policy: Option<i32>, param: u64) -> Result<u64, Errno> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority: i32 = task.mm.read_obj(param)?;
    let target = sched_target(task, pid)?;
    may_reschedule(task, pid)?;
    let mut s = target.sched();
    if let Some(p) = policy {
        s.reset_on_fork = p & SCHED_RESET_ON_FORK != 0;
        s.policy = p & !SCHED_RESET_ON_FORK;
    }
    if s.policy == SCHED_DEADLINE || s.policy == SCHED_EXT {
        return Err(Errno::EINVAL);
    }
    let (min, max) = priority_range(s.policy)?;
    if !(min..=max).contains(&priority) {
        return Err(Errno::EINVAL);
    }
    if matches!(s.policy, SCHED_FIFO | SCHED_RR) && !task.creds.capable(caps::CAP_SYS_NICE) {
        return Err(Errno::EPERM);
    }
    s.priority = priority;
    target.set_sched(s);
    Ok(0)
}

pub fn sched_setscheduler(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set_scheduler(task, a[0], Some(a[1] as i32), a[2])
}

pub fn sched_setparam(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set_scheduler(task, a[0], None, a[1])
}

/// `sched_rr_get_interval`: Linux's 100 ms round-robin slice for
/// SCHED_RR, 0 for the others (as this host reports for SCHED_OTHER).
pub fn sched_rr_get_interval(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let policy = sched_target(task, a[0])?.sched().policy;
    let ns: i64 = if policy == SCHED_RR { 100_000_000 } else { 0 };
    task.mm.write_obj(a[1], &abi::Timespec { tv_sec: 0, tv_nsec: ns }).map(|_| 0)
}

const PRIO_PROCESS: u64 = 0;
const PRIO_PGRP: u64 = 1;
const PRIO_USER: u64 = 2;

/// The threads `getpriority`/`setpriority` address: a thread, a process
/// group's processes, or the processes of a user (every process here:
/// the sandbox does not keep other processes' credentials in its
/// process table, and a container's processes normally share one uid).
fn priority_targets(task: &Task, which: u64, who: u64) -> Result<Vec<TaskHandle>, Errno> {
    let who = who as i32;
    let found = match which {
        PRIO_PROCESS => vec![sched_target(task, who as u64)?],
        PRIO_PGRP => {
            let procs = task.kernel.procs();
            let pgid = if who == 0 { procs.get(task.pid).map_or(task.pid, |p| p.pgid) } else { who };
            procs.live().filter(|(_, p)| p.pgid == pgid).map(|(_, p)| p.handle.clone()).collect()
        }
        PRIO_USER if who == 0 || who as u32 == task.creds.uid => {
            task.kernel.procs().live().map(|(_, p)| p.handle.clone()).collect()
        }
        PRIO_USER => vec![],
        _ => return Err(Errno::EINVAL),
    };
    if found.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(found)
}

/// `getpriority`: 20 − the lowest nice value among the targets (the raw
/// system call's convention; libc turns it back into a nice value).
pub fn getpriority(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let nice = priority_targets(task, a[0], a[1])?.iter().map(|t| t.sched().nice).min().unwrap_or(0);
    Ok((20 - nice) as u64)
}

/// `setpriority`: the nice value, clamped to −20..=19; lowering it needs
/// privilege (EACCES otherwise).
pub fn setpriority(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let nice = (a[2] as i32).clamp(-20, 19);
    if a[0] == PRIO_PROCESS {
        sched_target(task, a[1])?;
        may_reschedule(task, a[1])?;
    }
    for target in priority_targets(task, a[0], a[1])? {
        let mut s = target.sched();
        if nice < s.nice && !task.creds.capable(caps::CAP_SYS_NICE) {
            return Err(Errno::EACCES);
        }
        s.nice = nice;
        target.set_sched(s);
    }
    Ok(0)
}

pub fn sched_yield(_: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    std::thread::yield_now();
    Ok(0)
}

fn read_strings(task: &Task, mut addr: u64) -> Result<Vec<String>, Errno> {
    const ARG_MAX: usize = 2 << 20;
    let mut out = Vec::new();
    let mut total = 0;
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let p: u64 = task.mm.read_obj(addr)?;
        if p == 0 {
            return Ok(out);
        }
        let s = task.mm.read_cstring(p, 128 * 1024)?;
        total += s.len() + 1;
        if total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(String::from_utf8_lossy(&s).into_owned());
        addr += 8;
    }
}

pub fn execve(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let name = read_path(task, a[0])?;
    let argv = read_strings(task, a[1])?;
    let envp = read_strings(task, a[2])?;
    // The program and its interpreters are named as the task sees the
    // tree (under its root) and opened where that leads.
    let path = loader::absolute(&task.cwd, &name);
    let path = crate::vfs::mount::view(&task.root, &path).unwrap_or(path);
    let c = &task.creds;
    let ids = AuxIds { uid: c.uid, euid: c.euid, gid: c.gid, egid: c.egid };
    let rooted = |p: &str| crate::vfs::mount::rooted(&task.root, &task.cwd, p);
    // Through the mount table: programs in tmpfs or the root's upper layer run too.
    let open = |p: &str| super::sys_file::open_path(task, &rooted(p), abi::fcntl::O_RDONLY);
    let loaded = loader::load(&task.kernel, &open, &path, &argv, &envp, ids)?;
    // The new image is ready: past this point execve does not fail. The
    // other threads go first (Linux's de_thread).
    if task.group.live() > 1 {
        let me = &*task;
        if !task.group.exec_alone(task.tid, || !me.pending().set.contains(abi::signal::SIGKILL)) {
            return Err(Errno::EINTR);
        }
    }
    // The robust mutexes this thread holds are released as at exit.
    crate::kernel::futex::release_robust_list(task);
    if task.tid != task.pid {
        // Another thread exec'd: it becomes the process's only thread and
        // takes the pid, as in Linux. The old leader's sentry thread stays
        // (it waits for the group to end and reports the exit).
        let old = task.tid;
        {
            let mut procs = task.kernel.procs();
            procs.forget_thread(old);
            if let Some(p) = procs.get_mut(task.pid) {
                p.handle = task.handle();
            }
        }
        task.group.rename(old, task.pid);
        task.tid = task.pid;
        task.took_over = true;
    }
    task.mm = Arc::new(loaded.mm);
    if let Some(p) = task.kernel.procs().get_mut(task.pid) {
        p.mm = Arc::downgrade(&task.mm);
    }
    task.regs = loaded.regs;
    task.handle().set_comm(crate::kernel::task::comm_of(&loaded.path));
    task.exe = crate::vfs::mount::rooted(&task.root, &task.cwd, &loaded.path);
    // The old image's program file goes with it (its close, if this was
    // its last holder), the new one was opened and read.
    task.exe_file = crate::vfs::notify::executed(task, &task.exe);
    task.creds.caps.after_exec(task.creds.uid, task.creds.euid);
    super::sys_identity::publish_creds(task);
    task.actions.reset_for_exec();
    crate::kernel::delivery::reset_for_exec(task);
    task.group.timers.delete_posix();
    for file in task.fds.close_on_exec() {
        super::sys_file::release(task, file);
    }
    task.clear_child_tid = 0;
    task.handle().set_robust_list(0);
    // A vfork parent resumes once the child has its own image.
    task.vfork_done.take();
    Ok(0)
}

pub fn prctl(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_GET_KEEPCAPS: u64 = 7;
    const PR_SET_KEEPCAPS: u64 = 8;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_GET_SECCOMP: u64 = 21;
    const PR_CAPBSET_READ: u64 = 23;
    const PR_CAPBSET_DROP: u64 = 24;
    const PR_CAP_AMBIENT: u64 = 47;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    match a[0] {
        PR_SET_NAME => {
            let name = task.mm.read_cstring(a[1], 16).or_else(|e| {
                // Longer names are cut at 15 bytes, as Linux does.
                if e == Errno::ENAMETOOLONG {
                    let mut b = [0u8; 15];
                    task.mm.copy_in(a[1], &mut b).map(|()| b.to_vec())
                } else {
                    Err(e)
                }
            })?;
            task.handle().set_comm(String::from_utf8_lossy(&name[..name.len().min(15)]).into_owned());
            Ok(0)
        }
        PR_GET_NAME => {
            let mut buf = [0u8; 16];
            let comm = task.handle().comm();
            let n = comm.len().min(15);
            buf[..n].copy_from_slice(&comm.as_bytes()[..n]);
            task.mm.copy_out(a[1], &buf).map(|()| 0)
        }
        PR_SET_PDEATHSIG => {
            let sig = i32::try_from(a[1]).ok().filter(|s| (0..=abi::signal::NSIG).contains(s)).ok_or(Errno::EINVAL)?;
            task.pdeath_signal = sig;
            Ok(0)
        }
        PR_GET_PDEATHSIG => task.mm.write_obj(a[1], &task.pdeath_signal).map(|()| 0),
        // Dumpability and keep-caps are recorded and reported back; no core
        // dumps or capability sets exist yet for them to govern.
        PR_GET_DUMPABLE => Ok(u64::from(task.dumpable)),
        PR_SET_DUMPABLE if a[1] <= 1 => {
            task.dumpable = a[1] == 1;
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok(u64::from(task.keepcaps)),
        PR_SET_KEEPCAPS if a[1] <= 1 => {
            task.keepcaps = a[1] == 1;
            Ok(0)
        }
        // The application has no seccomp filter of its own (seccomp(2) is
        // not implemented), so mode 0 is the truth.
        PR_GET_SECCOMP => Ok(0),
        PR_CAPBSET_READ if a[1] <= u64::from(caps::CAP_LAST_CAP) => Ok((task.creds.caps.bounding >> a[1]) & 1),
        PR_CAPBSET_READ => Err(Errno::EINVAL),
        PR_CAPBSET_DROP if a[1] <= u64::from(caps::CAP_LAST_CAP) => {
            if !task.creds.capable(caps::CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            task.creds.caps.bounding &= !(1 << a[1]);
            Ok(0)
        }
        PR_CAPBSET_DROP => Err(Errno::EINVAL),
        PR_CAP_AMBIENT => cap_ambient(task, a[1], a[2], a[3] | a[4]),
        PR_SET_CHILD_SUBREAPER | PR_GET_CHILD_SUBREAPER | PR_SET_NO_NEW_PRIVS | PR_GET_NO_NEW_PRIVS => {
            if task.kernel.first_unimplemented(u64::MAX - 100 - a[0]) {
                tracing::warn!(option = a[0], "prctl option not implemented yet: EINVAL (logged once)");
            }
            Err(Errno::EINVAL)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_getaffinity`: every CPU the sandbox may use.
/// Every CPU the sandbox has, as an affinity mask (at most 64 modelled).
fn all_cpus() -> u64 {
    match crate::kernel::cpus() {
        n if n >= 64 => u64::MAX,
        n => (1 << n) - 1,
    }
}

/// The thread whose affinity `sched_{get,set}affinity` reads or sets: as
/// `sched_target`, but a negative id is no thread (ESRCH), not EINVAL.
fn affinity_target(task: &Task, pid: u64) -> Result<TaskHandle, Errno> {
    if (pid as i32) < 0 {
        return Err(Errno::ESRCH);
    }
    sched_target(task, pid)
}

pub fn sched_getaffinity(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let target = affinity_target(task, a[0])?;
    let len = a[1] as usize;
    // The kernel's mask size: 8 bytes per 64 CPUs; smaller buffers fail.
    let need = crate::kernel::cpus().div_ceil(64) * 8;
    if len < need || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let set = match target.sched().affinity {
        0 => all_cpus(),
        set => set,
    };
    let mut mask = vec![0u8; need];
    mask[..8.min(need)].copy_from_slice(&set.to_le_bytes()[..8.min(need)]);
    task.mm.copy_out(a[2], &mask)?;
    Ok(need as u64)
}

/// `getcpu`: the host CPU and node this thread runs on, as the vDSO's
/// `getcpu` reports them from TSC_AUX (the same numbers).
pub fn getcpu(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (cpu, node) = platform::tsc::cpu_and_node();
    if a[0] != 0 {
        task.mm.write_obj(a[0], &cpu)?;
    }
    if a[1] != 0 {
        task.mm.write_obj(a[1], &node)?;
    }
    Ok(0)
}

/// `sched_setaffinity`: the sentry schedules its own threads; a mask that
/// names at least one CPU is accepted and has no effect.
/// `sched_setaffinity`: records the CPUs of the mask the sandbox has
/// (EINVAL if none), read back by `sched_getaffinity` and inherited by
/// children.
pub fn sched_setaffinity(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let target = affinity_target(task, a[0])?;
    may_reschedule(task, a[0])?;
    let mut mask = vec![0u8; (a[1] as usize).min(1024)];
    task.mm.copy_in(a[2], &mut mask)?;
    let mut word = [0u8; 8];
    let n = mask.len().min(8);
    word[..n].copy_from_slice(&mask[..n]);
    let set = u64::from_le_bytes(word) & all_cpus();
    if set == 0 {
        return Err(Errno::EINVAL);
    }
    target.set_sched(crate::kernel::task::Sched { affinity: set, ..target.sched() });
    Ok(0)
}

/// `unshare(2)` of what moat models apart per task: the UTS and mount
/// namespaces (a copy of the caller's, for a privileged caller), the
/// descriptor table and the filesystem context (cwd, root, umask; a new
/// mount namespace takes a context of its own too, as on Linux).
/// CLONE_SYSVSEM has nothing to undo (there are no SysV semaphores).
/// Other namespaces are not modelled: EINVAL.
pub fn unshare(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SYSVSEM: u64 = 0x40000;
    const CLONE_NEWUTS: u64 = 0x0400_0000;
    const CLONE_NEWNS: u64 = 0x2_0000;
    let flags = a[0];
    if flags & !(CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_NEWUTS | CLONE_NEWNS) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_NEWNS != 0 {
        if !task.creds.capable(caps::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        task.follow_pivots();
        task.mnt = task.mnt.copy();
        task.pivots_seen = 0;
        task.handle().set_mnt(task.mnt.clone());
    }
    if flags & CLONE_NEWUTS != 0 {
        if !task.creds.capable(caps::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let copy = task.uts.lock().unwrap().clone();
        task.uts = Arc::new(std::sync::Mutex::new(copy));
    }
    if flags & CLONE_FILES != 0 && Arc::strong_count(&task.fds) > 1 {
        task.fds = Arc::new(task.fds.fork_copy());
    }
    // A new mount namespace takes its filesystem context along (Linux:
    // CLONE_NEWNS implies CLONE_FS).
    if flags & (CLONE_FS | CLONE_NEWNS) != 0 {
        task.unshare_fs();
    }
    Ok(0)
}
