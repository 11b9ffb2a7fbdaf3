//! Wait queues: how a task blocks until an object (a pipe, later sockets,
//! eventfds...) changes state (gVisor: `pkg/waiter`). Objects never block:
//! their operations fail with EAGAIN, and the syscall layer registers the
//! task on the object's queue and sleeps until it is notified or a signal
//! interrupts it.

use super::task::{Task, TaskHandle};
use abi::Errno;
use std::sync::Mutex;

#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<TaskHandle>>,
}

impl WaitQueue {
    /// Wakes every registered task; each re-checks its condition.
    pub fn notify(&self) {
        for w in self.waiters.lock().unwrap().iter() {
            w.wake();
        }
    }

    fn register(&self, h: &TaskHandle) {
        self.waiters.lock().unwrap().push(h.clone());
    }

    fn unregister(&self, h: &TaskHandle) {
        self.waiters.lock().unwrap().retain(|w| !w.same(h));
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
