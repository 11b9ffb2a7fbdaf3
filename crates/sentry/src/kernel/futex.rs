//! Futexes (gVisor: `pkg/sentry/kernel/futex`): wait queues keyed by a
//! user address, with the compare-and-sleep that makes them race-free.
//!
//! Keys are (process, address) for private futexes and words in private
//! memory (threads share their process's key space); a word in shared
//! memory is keyed by where it lives, its memory-file offset or its host
//! file and offset, so processes sharing a MAP_SHARED mapping meet on the
//! same key.

use super::task::TaskHandle;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub type Key = (crate::mm::WordSpace, u64);

/// The key of the futex word at `addr` in process `pid`'s memory `mm`.
pub fn key(mm: &crate::mm::MemoryManager, pid: i32, addr: u64, private: bool) -> Key {
    match mm.shared_key(addr).filter(|_| !private) {
        Some(key) => key,
        None => (crate::mm::WordSpace::Process(pid), addr),
    }
}

struct Waiter {
    handle: TaskHandle,
    bitset: u32,
    woken: Arc<AtomicBool>,
}

#[derive(Default)]
pub struct Futexes {
    queues: Mutex<HashMap<Key, Vec<Waiter>>>,
}

/// A task's place in a futex queue; `woken` turns true when a waker takes it.
pub struct Ticket {
    key: Key,
    woken: Arc<AtomicBool>,
}

impl Ticket {
    pub fn woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
}

impl Futexes {
    /// Queues the caller on `key` if `check` (run under the futex lock, so
    /// no wake-up can slip between the check and the queueing) allows it.
    pub fn enqueue<E>(
        &self,
        key: Key,
        bitset: u32,
        handle: TaskHandle,
        check: impl FnOnce() -> Result<(), E>,
    ) -> Result<Ticket, E> {
        let mut q = self.queues.lock().unwrap();
        check()?;
        let woken = Arc::new(AtomicBool::new(false));
        q.entry(key).or_default().push(Waiter { handle, bitset, woken: woken.clone() });
        Ok(Ticket { key, woken })
    }

    /// Leaves the queue (after a timeout or a signal); true if a waker took
    /// us in the meantime, which then counts as a wake-up.
    pub fn dequeue(&self, ticket: &Ticket) -> bool {
        let mut q = self.queues.lock().unwrap();
        let mine = |w: &Waiter| Arc::ptr_eq(&w.woken, &ticket.woken);
        // Requeueing may have moved us: look in our queue first, then all.
        let key = if q.get(&ticket.key).is_some_and(|l| l.iter().any(mine)) {
            Some(ticket.key)
        } else {
            q.iter().find(|(_, l)| l.iter().any(mine)).map(|(k, _)| *k)
        };
        if let Some(key) = key {
            let list = q.get_mut(&key).expect("found above");
            list.retain(|w| !mine(w));
            if list.is_empty() {
                q.remove(&key);
            }
        }
        ticket.woken()
    }

    /// Wakes up to `n` waiters on `key` whose bitset meets `bitset`.
    pub fn wake(&self, key: Key, n: usize, bitset: u32) -> usize {
        let mut q = self.queues.lock().unwrap();
        let Some(list) = q.get_mut(&key) else { return 0 };
        let mut woken = 0;
        list.retain(|w| {
            if woken < n && w.bitset & bitset != 0 {
                woken += 1;
                w.woken.store(true, Ordering::SeqCst);
                w.handle.wake();
                false
            } else {
                true
            }
        });
        if list.is_empty() {
            q.remove(&key);
        }
        woken
    }

    /// Wakes up to `n` waiters on `from` and moves up to `m` of the rest to
    /// `to`; returns how many were woken plus moved. `check` runs under
    /// the lock (FUTEX_CMP_REQUEUE's value comparison).
    pub fn requeue<E>(
        &self,
        from: Key,
        to: Key,
        n: usize,
        m: usize,
        check: impl FnOnce() -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut q = self.queues.lock().unwrap();
        check()?;
        let mut list = q.remove(&from).unwrap_or_default();
        let wake_n = n.min(list.len());
        for w in list.drain(..wake_n) {
            w.woken.store(true, Ordering::SeqCst);
            w.handle.wake();
        }
        let move_n = m.min(list.len());
        let moved: Vec<Waiter> = list.drain(..move_n).collect();
        if !list.is_empty() {
            q.insert(from, list);
        }
        if !moved.is_empty() {
            // A moved waiter's ticket still names `from`; `dequeue` looks
            // it up by identity in both queues.
            q.entry(to).or_default().extend(moved);
        }
        Ok(wake_n + move_n)
    }
}
