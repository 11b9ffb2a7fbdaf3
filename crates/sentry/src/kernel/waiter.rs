//! Wait queues: how a task blocks until an object (a pipe, later sockets,
//! eventfds...) changes state (gVisor: `pkg/waiter`). Objects never block:
//! their operations fail with EAGAIN, and the syscall layer registers the
//! task on the object's queue and sleeps until it is notified or a signal
//! interrupts it.

use super::task::{Task, TaskHandle};
use abi::Errno;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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
    /// EINTR.
    pub(crate) fn block_on<T>(&self, queue: &WaitQueue, mut op: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
        let me = self.handle();
        queue.register(&me);
        let result = loop {
            let seen = self.wakeups();
            match op() {
                Err(Errno::EAGAIN) => {
                    if !self.wait_for_wake(seen) {
                        break Err(Errno::EINTR);
                    }
                }
                other => break other,
            }
        };
        queue.unregister(&me);
        result
    }
}
