//! What the sandbox's control server asks of the kernel on behalf of the
//! runtime (gVisor: `pkg/sentry/control/proc.go` and `Kernel.Pause`):
//! start a process from outside (`moat exec`), list the processes (`moat
//! ps`), signal them all (`moat kill --all`), pause and resume every task.
//!
//! Pausing is a gate in each task's run loop (`Task::pass_pause_gate`),
//! passed before the task handles its signals and enters the application:
//! a paused task never runs application code. `pause` sets the flag and
//! interrupts every task, so those in the application come out at once
//! (the interrupt is remembered by one about to go in); tasks blocked in a
//! system call stay blocked and stop at the gate when the call ends. A
//! pending SIGKILL opens the gate for its task, so a paused container can
//! be killed.

use super::task::{Task, TaskHandle};
use super::{ExitStatus, Kernel, ProcessSpec};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime};

/// A process started by [`Kernel::spawn_process`].
pub struct Spawned {
    pub pid: i32,
    /// Receives the process's status once it has exited and been reaped.
    pub exit: mpsc::Receiver<ExitStatus>,
}

/// One process as `moat ps` shows it: plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// `R` (running application code), `S` (in the sentry: a system call,
    /// a wait, the pause gate) or `Z` (exited, not yet reaped).
    pub state: char,
    pub started: SystemTime,
    /// CPU time its application code has used.
    pub cpu: Duration,
    /// The arguments of its current program.
    pub cmdline: Vec<String>,
}

impl Kernel {
    /// Starts a new process with no parent (ppid 0), in a session and
    /// process group of its own, as runsc does for `exec`: same file
    /// systems, same pid namespace as the init. It runs on a new sentry
    /// thread (its stub's tracer). Returns once the program is loaded; the
    /// error is a message for the user (e.g. the executable is missing).
    /// Nobody waits for such a process inside, so its thread reaps it and
    /// reports its status on `Spawned::exit`.
    pub fn spawn_process(self: &Arc<Kernel>, spec: ProcessSpec) -> Result<Spawned, String> {
        let pid = self.procs().alloc_pid().map_err(|_| "no free process id in the sandbox".to_string())?;
        let (loaded_tx, loaded_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        let kernel = self.clone();
        std::thread::Builder::new()
            .name(format!("task-{pid}"))
            .spawn(move || {
                let task = match Task::new_process(&kernel, spec, pid) {
                    Ok(task) => task,
                    Err(msg) => {
                        let _ = loaded_tx.send(Err(msg));
                        return;
                    }
                };
                let _ = loaded_tx.send(Ok(()));
                let status = task.run();
                kernel.procs().reap(pid);
                let _ = exit_tx.send(status);
            })
            .map_err(|e| format!("cannot start a sentry thread for the process: {e}"))?;
        loaded_rx.recv().map_err(|_| "the new process's thread died while loading".to_string())??;
        Ok(Spawned { pid, exit: exit_rx })
    }

    /// The container's resource use as the sentry counts it.
    pub fn stats(&self) -> control::SandboxStats {
        control::SandboxStats {
            memory_usage: self.memfile.committed(),
            memory_limit: self.memory_limit,
            oom_kills: self.oom_kills.load(std::sync::atomic::Ordering::Relaxed),
            pids: self.procs().live().count() as u64,
        }
    }

    /// The processes of the pid namespace, by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let procs = self.procs();
        procs
            .all()
            .map(|(pid, p)| {
                let mm = p.mm.upgrade();
                let cpu = match (&p.exit, &mm) {
                    (None, Some(mm)) => mm.space().cpu_time(),
                    _ => p.times.user,
                };
                let cmdline = mm
                    .map(|mm| mm.cmdline())
                    .unwrap_or_default()
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                let state = if p.exit.is_some() {
                    'Z'
                } else if p.group.threads().iter().any(|(_, h)| h.in_application()) {
                    'R'
                } else {
                    'S'
                };
                ProcessInfo { pid, ppid: p.ppid, uid: p.uid, state, started: p.started, cpu, cmdline }
            })
            .collect()
    }

    /// Sends `signo` from outside (SI_USER, pid 0) to every live process;
    /// returns how many it reached.
    pub fn signal_all(&self, signo: i32) -> usize {
        let pids: Vec<i32> = self.procs().live().map(|(pid, _)| pid).collect();
        pids.into_iter().filter(|&pid| self.signal_process(pid, signo)).count()
    }

    /// Sends `signo` from outside to process `pid`; false if it does not
    /// exist or has exited.
    pub fn signal_process(&self, pid: i32, signo: i32) -> bool {
        super::jobctl::on_send(self, pid, signo);
        self.signal_live(pid, super::signal::SigInfo::from_sender(signo, super::signal::SI_USER, 0, 0))
    }

    /// Sends `sig` from the kernel (SI_KERNEL) to process `pid`, as
    /// dnotify's SIGIO; false if it does not exist or has exited.
    pub fn signal_process_from_kernel(&self, pid: i32, sig: i32) -> bool {
        super::jobctl::on_send(self, pid, sig);
        self.signal_live(pid, super::signal::SigInfo::kernel(sig))
    }

    fn signal_live(&self, pid: i32, info: super::signal::SigInfo) -> bool {
        match self.procs().get(pid) {
            Some(p) if p.exit.is_none() => {
                p.signal_target().send_signal_info(info);
                true
            }
            _ => false,
        }
    }

    /// Sends `sig` from the kernel (SI_KERNEL) to every live process of
    /// group `pgid`, as a terminal does to its foreground group.
    pub fn signal_pgrp(&self, pgid: i32, sig: i32) {
        let targets = self.procs().kill_targets(0, -pgid).unwrap_or_default();
        for (pid, handle) in targets {
            super::jobctl::on_send(self, pid, sig);
            handle.send_signal_info(super::signal::SigInfo::kernel(sig));
        }
    }

    /// Sends `sig` to the foreground process group of process `pid`'s
    /// controlling terminal (the sandbox forwarding what the host's line
    /// discipline sent it); false if it has none.
    pub fn signal_terminal_foreground(&self, pid: i32, sig: i32) -> bool {
        let tty = self.procs().get(pid).and_then(|p| p.tty.clone());
        match tty {
            Some(t) if t.job.get().pgrp.is_some() => {
                t.job.signal_foreground(sig);
                true
            }
            _ => false,
        }
    }

    /// Session `sid` loses its controlling terminal (the one of `job`).
    pub(crate) fn drop_terminal(&self, sid: i32, job: &Arc<crate::fs::tty::Job>) {
        let mut procs = self.procs();
        let members: Vec<i32> = procs.all().filter(|(_, p)| p.sid == sid).map(|(pid, _)| pid).collect();
        for pid in members {
            if let Some(p) = procs.get_mut(pid) {
                if p.tty.as_ref().is_some_and(|t| Arc::ptr_eq(&t.job, job)) {
                    p.tty = None;
                }
            }
        }
    }

    /// Process `pid`'s controlling terminal hung up (see `Job::hangup`).
    pub fn terminal_hangup(&self, pid: i32) {
        let tty = self.procs().get(pid).and_then(|p| p.tty.clone());
        if let Some(t) = tty {
            t.job.hangup();
        }
    }

    /// Whether the kernel is paused.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Stops every task from running application code until `resume`.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        for h in self.all_tasks() {
            h.interrupt();
        }
    }

    /// Lets the tasks run again.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        for h in self.all_tasks() {
            h.notify();
        }
    }

    /// Every live thread of every process.
    fn all_tasks(&self) -> Vec<TaskHandle> {
        self.procs().live().flat_map(|(_, p)| p.group.threads().into_iter().map(|(_, h)| h)).collect()
    }
}
