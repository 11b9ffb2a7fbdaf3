//! The process tree of the container's PID namespace: pids, parents and
//! children, process groups and sessions, zombies until reaped (gVisor:
//! `kernel/threads.go`, `task_exit.go`).
//!
//! One lock (the kernel's `procs`) guards the whole tree, like Linux's
//! tasklist_lock. Lock order: `procs` before any task's signal state.
//! Today every process has one thread (tid == pid); thread groups come
//! with the rest of issue #3.

use super::signal::{SigInfo, CLD_CONTINUED, CLD_EXITED, CLD_KILLED, CLD_STOPPED};
use super::thread_group::ThreadGroup;
use super::{ExitStatus, TaskHandle};
use abi::signal::{SA_NOCLDSTOP, SIGCHLD, SIGCONT, SIGKILL};
use abi::Errno;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Largest pid (`/proc/sys/kernel/pid_max` default).
pub const PID_MAX: i32 = 4_194_304;

pub struct Process {
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub children: BTreeSet<i32>,
    /// Set when the process has exited: it is a zombie until reaped.
    pub exit: Option<ExitStatus>,
    /// The signal the parent gets when this process exits.
    pub exit_signal: i32,
    /// The leader thread's handle.
    pub handle: TaskHandle,
    pub group: Arc<ThreadGroup>,
    /// CPU time of the process (user, system), final once it has exited.
    pub times: CpuTimes,
    /// CPU time of its reaped children, and theirs (`RUSAGE_CHILDREN`).
    pub child_times: CpuTimes,
    /// The process's address space (replaced at execve), for the OOM killer
    /// and `moat ps` (its command line).
    pub mm: std::sync::Weak<crate::mm::MemoryManager>,
    /// The leader's effective uid, as `moat ps` reports it (kept in step by
    /// the set*uid calls).
    pub uid: u32,
    /// The leader's capability sets, for other processes' capget (kept in
    /// step like `uid`).
    pub caps: super::caps::Caps,
    /// When the process was created (wall clock, for `moat ps`).
    pub started: std::time::SystemTime,
    /// Its signal dispositions (whether it wants SIGCHLD for stops).
    pub actions: Arc<super::signal::SignalActions>,
    /// A stop or continue not yet reported to a `wait` of the parent.
    pub job: Option<JobEvent>,
    /// The controlling terminal (Linux's `signal->tty`): inherited by
    /// fork, dropped by setsid.
    pub tty: Option<crate::fs::tty::Terminal>,
}

/// A job-control change of a process, for its parent's `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    Stopped(i32),
    Continued,
}

impl Process {
    /// Where a signal to the process goes: the leader while it runs, else
    /// another live thread (Linux picks any thread not blocking it).
    pub fn signal_target(&self) -> TaskHandle {
        self.group.threads().into_iter().next().map_or_else(|| self.handle.clone(), |(_, h)| h)
    }

    /// Wakes whichever of its threads sleeps in `wait4`/`waitid`: any
    /// thread of a process may wait for the process's children.
    pub fn wake_waiters(&self) {
        self.handle.wake();
        for (_, h) in self.group.threads() {
            if !h.same(&self.handle) {
                h.wake();
            }
        }
    }
}

#[derive(Default)]
pub struct ProcessTable {
    procs: BTreeMap<i32, Process>,
    /// Threads other than leaders: tid → (pid, handle). Tids and pids are
    /// one number space.
    threads: BTreeMap<i32, (i32, TaskHandle)>,
    last_pid: i32,
}

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: std::time::Duration,
    pub system: std::time::Duration,
}

impl std::ops::Add for CpuTimes {
    type Output = CpuTimes;
    fn add(self, o: CpuTimes) -> CpuTimes {
        CpuTimes { user: self.user + o.user, system: self.system + o.system }
    }
}

/// Clock ticks (`USER_HZ`, 100 per second), the unit of `times` and of
/// SIGCHLD's siginfo.
pub fn ticks(d: std::time::Duration) -> i64 {
    (d.as_millis() / 10) as i64
}

/// Which children a wait call accepts (`wait4`'s pid argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitTarget {
    Any,
    Pid(i32),
    Group(i32),
}

impl ProcessTable {
    /// The next free pid, as Linux allocates them: increasing, wrapping.
    pub fn alloc_pid(&mut self) -> Result<i32, Errno> {
        for _ in 0..PID_MAX {
            self.last_pid = if self.last_pid >= PID_MAX - 1 { 2 } else { self.last_pid + 1 };
            let id = self.last_pid;
            if !self.procs.contains_key(&id)
                && !self.threads.contains_key(&id)
                && !self.procs.values().any(|p| p.pgid == id || p.sid == id)
            {
                return Ok(id);
            }
        }
        Err(Errno::EAGAIN)
    }

    pub fn insert(&mut self, pid: i32, proc: Process) {
        if let Some(parent) = self.procs.get_mut(&proc.ppid) {
            parent.children.insert(pid);
        }
        self.last_pid = self.last_pid.max(pid);
        self.procs.insert(pid, proc);
    }

    pub fn add_thread(&mut self, tid: i32, pid: i32, handle: TaskHandle) {
        self.threads.insert(tid, (pid, handle));
    }

    pub fn forget_thread(&mut self, tid: i32) {
        self.threads.remove(&tid);
    }

    /// The thread `tid` (a leader or not): its process and handle.
    pub fn thread(&self, tid: i32) -> Option<(i32, TaskHandle)> {
        match self.procs.get(&tid) {
            Some(p) if p.exit.is_none() && p.group.threads().iter().any(|(t, _)| *t == tid) => {
                Some((tid, p.handle.clone()))
            }
            Some(_) => None,
            None => self.threads.get(&tid).cloned(),
        }
    }

    pub fn get(&self, pid: i32) -> Option<&Process> {
        self.procs.get(&pid)
    }

    pub fn get_mut(&mut self, pid: i32) -> Option<&mut Process> {
        self.procs.get_mut(&pid)
    }

    /// Every process, zombies included, by pid.
    pub fn all(&self) -> impl Iterator<Item = (i32, &Process)> {
        self.procs.iter().map(|(&pid, p)| (pid, p))
    }

    /// Live (not yet exited) processes.
    pub fn live(&self) -> impl Iterator<Item = (i32, &Process)> {
        self.procs.iter().filter(|(_, p)| p.exit.is_none()).map(|(&pid, p)| (pid, p))
    }

    /// Removes a process that failed to start.
    pub fn remove(&mut self, pid: i32) {
        if let Some(p) = self.procs.remove(&pid) {
            if let Some(parent) = self.procs.get_mut(&p.ppid) {
                parent.children.remove(&pid);
            }
        }
    }

    /// Records that `pid` exited: it becomes a zombie, its children are
    /// handed to the init, and the parent (and the init, if it got
    /// zombies) is told. When the init itself exits, every other process
    /// of the namespace is killed, as Linux does.
    pub fn exit(&mut self, pid: i32, status: ExitStatus, times: CpuTimes) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        p.exit = Some(status);
        p.times = times;
        let children = std::mem::take(&mut p.children);
        let (ppid, exit_signal) = (p.ppid, p.exit_signal);
        if p.sid == pid {
            if let Some(tty) = p.tty.take() {
                self.leader_exited(pid, &tty);
            }
        }
        if pid == 1 {
            for (_, other) in self.live() {
                other.handle.send_signal(SIGKILL);
            }
            return;
        }
        let mut orphan_zombies = false;
        for c in &children {
            if let Some(child) = self.procs.get_mut(c) {
                child.ppid = 1;
                orphan_zombies |= child.exit.is_some();
            }
        }
        if let Some(init) = self.procs.get_mut(&1) {
            init.children.extend(children);
            if orphan_zombies {
                init.wake_waiters();
            }
        }
        if let Some(parent) = self.procs.get(&ppid) {
            if exit_signal != 0 {
                let (code, value) = match status {
                    ExitStatus::Code(c) => (CLD_EXITED, c & 0xff),
                    ExitStatus::Signal(s) => (CLD_KILLED, s),
                };
                let mut info = SigInfo::child(code, pid, value, ticks(times.user), ticks(times.system));
                info.signo = exit_signal;
                parent.handle.send_signal_info(info);
            }
            parent.wake_waiters();
        }
    }

    /// A session leader with a controlling terminal exited (Linux's
    /// `disassociate_ctty(1)`): the terminal's foreground group gets
    /// SIGHUP, and the session loses the terminal.
    fn leader_exited(&mut self, sid: i32, tty: &crate::fs::tty::Terminal) {
        let fg = tty.job.get().pgrp;
        tty.job.set(crate::fs::tty::JobState::default());
        for p in self.procs.values_mut().filter(|p| p.sid == sid) {
            if p.tty.as_ref().is_some_and(|t| t.same(tty)) {
                p.tty = None;
            }
        }
        let Some(fg) = fg else { return };
        for p in self.procs.values().filter(|p| p.pgid == fg && p.exit.is_none()) {
            p.signal_target().send_signal_info(SigInfo::kernel(abi::signal::SIGHUP));
        }
    }

    /// Records a stop or continue of `pid` for its parent's `wait` and
    /// tells the parent with SIGCHLD, unless it asked not to hear of stops
    /// (SA_NOCLDSTOP).
    pub fn job_event(&mut self, pid: i32, event: JobEvent) {
        let Some(p) = self.procs.get_mut(&pid) else { return };
        p.job = Some(event);
        let ppid = p.ppid;
        let Some(parent) = self.procs.get(&ppid) else { return };
        if parent.actions.get(SIGCHLD).flags & SA_NOCLDSTOP == 0 {
            let (code, status) = match event {
                JobEvent::Stopped(sig) => (CLD_STOPPED, sig),
                JobEvent::Continued => (CLD_CONTINUED, SIGCONT),
            };
            parent.handle.send_signal_info(SigInfo::child(code, pid, status, 0, 0));
        }
        parent.wake_waiters();
    }

    /// Whether process group `pgid` is orphaned: no member has a parent
    /// in another group of the same session (Linux's
    /// `will_become_orphaned_pgrp`). Its members ignore TSTP, TTIN, TTOU.
    pub fn pgrp_orphaned(&self, pgid: i32) -> bool {
        !self
            .procs
            .values()
            .filter(|p| p.pgid == pgid && p.exit.is_none())
            .any(|p| self.procs.get(&p.ppid).is_some_and(|parent| parent.pgid != pgid && parent.sid == p.sid))
    }

    /// Children of `parent` that `target` selects.
    pub fn children_matching(&self, parent: i32, target: WaitTarget) -> Vec<i32> {
        let Some(p) = self.procs.get(&parent) else { return vec![] };
        p.children
            .iter()
            .copied()
            .filter(|c| match target {
                WaitTarget::Any => true,
                WaitTarget::Pid(pid) => *c == pid,
                WaitTarget::Group(g) => self.procs.get(c).is_some_and(|cp| cp.pgid == g),
            })
            .collect()
    }

    /// The processes `kill(pid, ...)` from `sender` reaches: one process,
    /// the sender's group (0), a group (-pgid), or everyone but the init
    /// and the sender (-1). ESRCH if none.
    pub fn kill_targets(&self, sender: i32, pid: i32) -> Result<Vec<(i32, TaskHandle)>, Errno> {
        let my_pgid = self.procs.get(&sender).map_or(sender, |p| p.pgid);
        let targets: Vec<(i32, TaskHandle)> = self
            .procs
            .iter()
            .filter(|(&p, proc)| match pid {
                0 => proc.pgid == my_pgid,
                -1 => p != 1 && p != sender,
                n if n > 0 => p == n,
                n => proc.pgid == -n,
            })
            // Zombies accept signals and ignore them; only a pid lookup
            // may name one.
            .filter(|(&p, proc)| proc.exit.is_none() || p == pid)
            .map(|(&p, proc)| (p, proc.signal_target()))
            .collect();
        if targets.is_empty() {
            Err(Errno::ESRCH)
        } else {
            Ok(targets)
        }
    }

    /// Removes a zombie and returns its status.
    /// Removes a zombie and returns its status and CPU time (its own plus
    /// its reaped children's), which its parent now counts as its children's.
    pub fn reap(&mut self, pid: i32) -> Option<(ExitStatus, CpuTimes)> {
        let p = self.procs.get(&pid)?;
        let (status, times, ppid) = (p.exit?, p.times + p.child_times, p.ppid);
        self.remove(pid);
        if let Some(parent) = self.procs.get_mut(&ppid) {
            parent.child_times = parent.child_times + times;
        }
        Some((status, times))
    }
}
