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

/// Bits of a robust futex word (`futex(2)`): the owner's tid, "a waiter
/// sleeps" and "the owner died".
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// Linux's `ROBUST_LIST_LIMIT`: a cyclic list cannot hold the exit forever.
const ROBUST_LIST_LIMIT: usize = 2048;

/// Linux's `exit_robust_list`, run when a thread exits or execs: every
/// robust mutex the thread still holds (its `set_robust_list` list, and
/// the one it was taking or releasing) is marked FUTEX_OWNER_DIED and one
/// waiter is woken, so the next owner learns of it (EOWNERDEAD).
pub fn release_robust_list(task: &super::Task) {
    let handle = task.handle();
    let head = handle.robust_list();
    if head == 0 {
        return;
    }
    handle.set_robust_list(0);
    let mm = &task.mm;
    let (Ok(first), Ok(offset), Ok(pending)) =
        (mm.read_obj::<u64>(head), mm.read_obj::<i64>(head + 8), mm.read_obj::<u64>(head + 16))
    else {
        return;
    };
    // Each pointer's low bit says whether the mutex is a PI one.
    let word = |entry: u64| (entry & !1).wrapping_add(offset as u64);
    let mut entry = first;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry & !1 == head {
            break;
        }
        let next = mm.read_obj::<u64>(entry & !1);
        if entry != pending {
            owner_died(task, word(entry), false);
        }
        match next {
            Ok(next) => entry = next,
            Err(_) => return,
        }
    }
    if pending != 0 {
        owner_died(task, word(pending), pending & 1 == 0);
    }
}

/// Linux's `handle_futex_death` for the word at `addr`: if the exiting
/// thread owns it, mark the owner dead and wake a waiter. A pending
/// operation on a free non-PI word wakes a waiter too (the thread may have
/// died between releasing it and waking).
fn owner_died(task: &super::Task, addr: u64, pending_plain: bool) {
    if !addr.is_multiple_of(4) {
        return;
    }
    let Ok(value) = task.mm.read_obj::<u32>(addr) else { return };
    let wake = |task: &super::Task| {
        let key = key(&task.mm, task.pid, addr, false);
        task.kernel.futexes.wake(key, 1, u32::MAX);
    };
    if pending_plain && value == 0 {
        wake(task);
        return;
    }
    if value & FUTEX_TID_MASK != task.tid as u32 {
        return;
    }
    if task.mm.write_obj(addr, &((value & FUTEX_WAITERS) | FUTEX_OWNER_DIED)).is_ok() && value & FUTEX_WAITERS != 0 {
        wake(task);
    }
}
