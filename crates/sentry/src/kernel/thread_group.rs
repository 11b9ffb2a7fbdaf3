//! A thread group: the threads of one process (gVisor:
//! `kernel/thread_group.go`). It knows its live threads, and whether the
//! group as a whole is exiting (`exit_group`, a fatal signal), in which case
//! every thread ends and the group's status is the first one recorded.
//!
//! On the ptrace platform the leader's sentry thread created the stub
//! process, and the stub dies with it (PDEATHSIG, EXITKILL). So the leader's
//! thread stays until every other thread has gone, as a Linux thread-group
//! leader stays a zombie until its group is empty.

use super::task::TaskHandle;
use super::ExitStatus;
use abi::signal::SIGKILL;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
struct State {
    threads: Vec<(i32, TaskHandle)>,
    exit: Option<ExitStatus>,
}

#[derive(Default)]
pub struct ThreadGroup {
    state: Mutex<State>,
    changed: Condvar,
    /// Set while a thread's execve ends the group's other threads: they
    /// exit alone instead of taking the group with them.
    execing: std::sync::atomic::AtomicBool,
    /// The signal that stopped the group (job control), 0 when running.
    /// Atomic so a thread can check it under its own signal lock.
    stop: AtomicI32,
    /// Interval and POSIX timers.
    pub timers: super::timer::ProcessTimers,
}

impl ThreadGroup {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, tid: i32, handle: TaskHandle) {
        self.lock().threads.push((tid, handle));
    }

    pub fn live(&self) -> usize {
        self.lock().threads.len()
    }

    /// The live threads.
    pub fn threads(&self) -> Vec<(i32, TaskHandle)> {
        self.lock().threads.clone()
    }

    /// The group is ending with `status` (the first caller's wins): every
    /// other thread is killed.
    pub fn begin_exit(&self, me: i32, status: ExitStatus) {
        let mut st = self.lock();
        if st.exit.is_some() {
            return;
        }
        st.exit = Some(status);
        for (tid, h) in &st.threads {
            if *tid != me {
                h.send_signal(SIGKILL);
            }
        }
    }

    /// Whether the group is stopped (job control).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) != 0
    }

    /// Stops the group by `sig`: every thread but `me` is interrupted and
    /// stops on its way back to the application. False if the group was
    /// already stopped, or is exiting.
    pub fn begin_stop(&self, me: i32, sig: i32) -> bool {
        let others = {
            let st = self.lock();
            if st.exit.is_some() || self.stop.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                return false;
            }
            st.threads.iter().filter(|(t, _)| *t != me).map(|(_, h)| h.clone()).collect::<Vec<_>>()
        };
        others.iter().for_each(TaskHandle::interrupt);
        true
    }

    /// Continues a stopped group; true if it was stopped.
    pub fn end_stop(&self) -> bool {
        if self.stop.swap(0, Ordering::SeqCst) == 0 {
            return false;
        }
        let threads = self.threads();
        // The flag is clear before any thread is woken (see
        // Task::sleep_while_stopped, which checks it under its own lock).
        threads.iter().for_each(|(_, h)| h.wake());
        true
    }

    /// The group's status, if it is exiting as a whole.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.lock().exit
    }

    /// Thread `tid` has finished with `status`; true if it was the last.
    /// When every thread has exited on its own, the last one's status is
    /// the process's, as in Linux.
    pub fn remove(&self, tid: i32, status: ExitStatus) -> bool {
        let mut st = self.lock();
        st.threads.retain(|(t, _)| *t != tid);
        let last = st.threads.is_empty();
        if last && st.exit.is_none() {
            st.exit = Some(status);
        }
        self.changed.notify_all();
        last
    }

    /// Blocks until every thread has gone, calling `tick` now and then
    /// (the waiting leader still acts on fatal signals sent to the process).
    /// Thread `from` is now known as `to` (it took over the leader's pid
    /// in an execve).
    pub fn rename(&self, from: i32, to: i32) {
        if let Some(entry) = self.lock().threads.iter_mut().find(|(t, _)| *t == from) {
            entry.0 = to;
        }
    }

    /// Whether an execve is ending the other threads (Linux's `de_thread`).
    pub fn execing(&self) -> bool {
        self.execing.load(Ordering::SeqCst)
    }

    /// For execve by thread `me`: kills every other thread and waits until
    /// they are gone. False (and nothing changes for `me`) if the group is
    /// already exiting or `alive` says `me` was killed meanwhile.
    pub fn exec_alone(&self, me: i32, alive: impl Fn() -> bool) -> bool {
        {
            let st = self.lock();
            if st.exit.is_some() {
                return false;
            }
            self.execing.store(true, Ordering::SeqCst);
            for (tid, h) in &st.threads {
                if *tid != me {
                    h.send_signal(SIGKILL);
                }
            }
        }
        let mut st = self.lock();
        while st.threads.iter().any(|(t, _)| *t != me) && alive() {
            st = self.changed.wait_timeout(st, Duration::from_millis(20)).unwrap_or_else(|e| e.into_inner()).0;
        }
        let alone = st.threads.iter().all(|(t, _)| *t == me);
        self.execing.store(false, Ordering::SeqCst);
        alone
    }

    pub fn wait_empty(&self, mut tick: impl FnMut()) {
        let mut st = self.lock();
        while !st.threads.is_empty() {
            drop(st);
            tick();
            st = self.lock();
            if st.threads.is_empty() {
                break;
            }
            st = self.changed.wait_timeout(st, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}
