//! Wait queues: how a task blocks until an object (a pipe, later sockets,
//! eventfds...) changes state (gVisor: `pkg/waiter`). Objects never block:
//! their operations fail with EAGAIN, and the syscall layer registers the
//! task on the object's queue and sleeps until it is notified or a signal
//! interrupts it.

use super::task::{Task, TaskHandle, Wake};
use crate::vfs::FileDescription;
use abi::Errno;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<TaskHandle>>,
    /// Counts notifications: edge-triggered epoll reports a ready file
    /// again once its queue has been notified since the last report.
    generation: AtomicU64,
}

impl WaitQueue {
    /// Wakes every registered task; each re-checks its condition.
    pub fn notify(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for w in self.waiters.lock().unwrap().iter() {
            w.wake();
        }
    }

    /// How many times the queue was notified.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn register(&self, h: &TaskHandle) {
        self.waiters.lock().unwrap().push(h.clone());
    }

    pub(crate) fn unregister(&self, h: &TaskHandle) {
        let mut waiters = self.waiters.lock().unwrap();
        // One registration per call: a task may wait on a queue twice
        // (the same pipe end listed twice in a poll set).
        if let Some(i) = waiters.iter().position(|w| w.same(h)) {
            waiters.swap_remove(i);
        }
    }
}

impl Task {
    /// Runs `op` until it stops failing with EAGAIN, sleeping on `queue`
    /// between tries. A signal that would interrupt ends the wait with
    /// EINTR; `timeout` (a socket's SO_RCVTIMEO/SO_SNDTIMEO) with EAGAIN.
    pub(crate) fn block_on_for<T>(
        &self,
        queue: &WaitQueue,
        timeout: Option<Duration>,
        op: impl FnMut() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        self.block_on_queues(&[queue], timeout, op)
    }

    /// Like [`block_on_for`](Self::block_on_for), woken by any of
    /// `queues` (a splice waits for its pipe and the file at the other
    /// end).
    pub(crate) fn block_on_queues<T>(
        &self,
        queues: &[&WaitQueue],
        timeout: Option<Duration>,
        mut op: impl FnMut() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let me = self.handle();
        for q in queues {
            q.register(&me);
        }
        let result = loop {
            let seen = self.wakeups();
            match op() {
                Err(Errno::EAGAIN) => match self.wait_for_wake_until(seen, deadline) {
                    Wake::Woken => {}
                    Wake::Interrupted => break Err(Errno::EINTR),
                    Wake::TimedOut => break Err(Errno::EAGAIN),
                },
                other => break other,
            }
        };
        for q in queues {
            q.unregister(&me);
        }
        result
    }
}

/// How `Task::wait_ready` ended.
pub(crate) enum Readiness<T> {
    Ready(T),
    TimedOut,
    Interrupted,
}

/// Host streams notify no queue: a waiter that watches one polls it
/// again this often.
const HOST_SLICE: Duration = Duration::from_millis(50);

/// epoll instances nest at most this deep (Linux `EP_MAX_NESTS`).
const MAX_NESTING: usize = 5;

/// The files among `files` (and those nested epoll instances watch) that
/// have a queue; `host` is set if one of them is a host stream.
fn queued_files(
    files: &[Arc<dyn FileDescription>],
    out: &mut Vec<Arc<dyn FileDescription>>,
    host: &mut bool,
    depth: usize,
) {
    if depth > MAX_NESTING {
        return;
    }
    for f in files {
        *host |= f.host_stream().is_some();
        if f.wait_queue().is_some() {
            out.push(f.clone());
        }
        let watched = f.watched();
        if !watched.is_empty() {
            queued_files(&watched, out, host, depth + 1);
        }
    }
}

impl Task {
    /// poll/select/epoll_wait's sleep (Linux `do_poll`): runs `check`
    /// until it finds something ready, sleeping between tries on the queue
    /// of every file in `files` until `deadline` (`None`: no deadline; a
    /// past deadline checks once). Host streams are re-polled every
    /// `HOST_SLICE`. A signal that would interrupt ends the wait.
    pub(crate) fn wait_ready<T>(
        &self,
        files: &[Arc<dyn FileDescription>],
        deadline: Option<Instant>,
        mut check: impl FnMut() -> Option<T>,
    ) -> Readiness<T> {
        let (mut queued, mut host) = (Vec::new(), false);
        queued_files(files, &mut queued, &mut host, 0);
        let me = self.handle();
        for q in queued.iter().filter_map(|f| f.wait_queue()) {
            q.register(&me);
        }
        let result = loop {
            let seen = self.wakeups();
            if let Some(t) = check() {
                break Readiness::Ready(t);
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break Readiness::TimedOut;
            }
            let slice = host.then(|| now + HOST_SLICE);
            let until = match (deadline, slice) {
                (Some(d), Some(s)) => Some(d.min(s)),
                (d, s) => d.or(s),
            };
            if self.wait_for_wake_until(seen, until) == Wake::Interrupted {
                break Readiness::Interrupted;
            }
        };
        for q in queued.iter().filter_map(|f| f.wait_queue()) {
            q.unregister(&me);
        }
        result
    }
}
