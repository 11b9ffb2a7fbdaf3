//! Advisory file locks (gVisor: `pkg/sentry/fsimpl/lock`; Linux
//! `fs/locks.c`): `flock(2)` locks, and the byte-range record locks of
//! `fcntl(2)`, owned by a process (F_SETLK) or by an open file description
//! (F_OFD_SETLK). The two kinds live apart and never conflict with each
//! other, as on Linux. Locks are keyed by the file's (device, inode).
//!
//! A description-owned lock holds a weak reference to its description: once
//! the last descriptor (or other holder) lets it go, the lock is gone, as
//! Linux releases it on the last `close`. Such locks are swept whenever a
//! descriptor is closed. A process's record locks on a file go when it
//! closes any descriptor of that file, and all of them when it exits.
//!
//! Blocking requests (LOCK_EX without LOCK_NB, F_SETLKW) sleep on one wait
//! queue, woken by every release; F_SETLKW refuses with EDEADLK a wait that
//! would close a cycle of processes waiting on each other's record locks.

use crate::kernel::waiter::WaitQueue;
use crate::kernel::Task;
use crate::vfs::FileDescription;
use abi::Errno;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

pub const F_RDLCK: i16 = 0;
pub const F_WRLCK: i16 = 1;
pub const F_UNLCK: i16 = 2;

/// Who holds a lock.
#[derive(Clone)]
enum Owner {
    /// A process (its tgid): F_SETLK locks.
    Process(i32),
    /// An open file description: flock and F_OFD_SETLK locks.
    Description(Weak<dyn FileDescription>),
}

impl Owner {
    fn same(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Process(a), Owner::Process(b)) => a == b,
            (Owner::Description(a), Owner::Description(b)) => Weak::ptr_eq(a, b),
            _ => false,
        }
    }

    fn alive(&self) -> bool {
        match self {
            Owner::Process(_) => true,
            Owner::Description(d) => d.strong_count() > 0,
        }
    }

    fn pid(&self) -> i32 {
        match self {
            Owner::Process(p) => *p,
            Owner::Description(_) => -1,
        }
    }
}

#[derive(Clone)]
struct Lock {
    owner: Owner,
    write: bool,
    /// `[start, end)`; `end == u64::MAX` reaches past any end of file.
    start: u64,
    end: u64,
}

impl Lock {
    fn conflicts(&self, other: &Lock) -> bool {
        !self.owner.same(&other.owner)
            && (self.write || other.write)
            && self.start < other.end
            && other.start < self.end
    }
}

type Key = (u64, u64);

#[derive(Default)]
struct Tables {
    flocks: HashMap<Key, Vec<Lock>>,
    records: HashMap<Key, Vec<Lock>>,
    /// Processes sleeping in F_SETLKW, and the process they wait for.
    waiting: HashMap<i32, i32>,
}

/// Every advisory lock of the sandbox.
#[derive(Default)]
pub struct FileLocks {
    tables: Mutex<Tables>,
    queue: WaitQueue,
}

/// A byte range to lock, from a `struct flock` already made absolute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

/// What F_GETLK reports: the first lock in the way.
pub struct Conflict {
    pub write: bool,
    pub range: Range,
    pub pid: i32,
}

fn key(file: &dyn FileDescription) -> Result<Key, Errno> {
    let st = file.stat()?;
    Ok((st.dev, st.ino))
}

fn owner_of(file: &Arc<dyn FileDescription>) -> Owner {
    Owner::Description(Arc::downgrade(file))
}

impl Tables {
    fn sweep(&mut self) -> bool {
        let mut swept = false;
        for list in self.flocks.values_mut().chain(self.records.values_mut()) {
            let before = list.len();
            list.retain(|l| l.owner.alive());
            swept |= list.len() != before;
        }
        self.flocks.retain(|_, l| !l.is_empty());
        self.records.retain(|_, l| !l.is_empty());
        swept
    }
}

impl FileLocks {
    /// `flock(2)` on `file`: `write` for LOCK_EX, else LOCK_SH; `wait`
    /// unless LOCK_NB. A lock of the other kind held through the same
    /// description is dropped first (so a failed conversion loses it, as
    /// on Linux).
    pub fn flock(&self, task: &Task, file: &Arc<dyn FileDescription>, write: bool, wait: bool) -> Result<(), Errno> {
        let key = key(&**file)?;
        let want = Lock { owner: owner_of(file), write, start: 0, end: u64::MAX };
        let mut first = true;
        let attempt = || {
            let mut t = self.tables.lock().unwrap();
            t.sweep();
            let list = t.flocks.entry(key).or_default();
            if std::mem::take(&mut first) {
                let before = list.len();
                list.retain(|l| !l.owner.same(&want.owner));
                if list.len() != before {
                    self.queue.notify();
                }
            }
            if list.iter().any(|l| l.conflicts(&want)) {
                return Err(Errno::EAGAIN);
            }
            list.push(want.clone());
            Ok(())
        };
        self.acquire(task, wait, attempt)
    }

    /// LOCK_UN.
    pub fn funlock(&self, file: &Arc<dyn FileDescription>) -> Result<(), Errno> {
        let key = key(&**file)?;
        let owner = owner_of(file);
        let mut t = self.tables.lock().unwrap();
        if let Some(list) = t.flocks.get_mut(&key) {
            list.retain(|l| !l.owner.same(&owner));
        }
        t.sweep();
        self.queue.notify();
        Ok(())
    }

    /// F_SETLK(W) (`ofd` false, owned by process `pid`) or F_OFD_SETLK(W):
    /// `kind` is F_RDLCK, F_WRLCK or F_UNLCK.
    pub fn set_record(
        &self,
        task: &Task,
        file: &Arc<dyn FileDescription>,
        ofd: bool,
        kind: i16,
        range: Range,
        wait: bool,
    ) -> Result<(), Errno> {
        let key = key(&**file)?;
        let owner = if ofd { owner_of(file) } else { Owner::Process(task.pid) };
        if kind == F_UNLCK {
            let mut t = self.tables.lock().unwrap();
            if let Some(list) = t.records.get_mut(&key) {
                carve(list, &owner, range);
            }
            t.sweep();
            self.queue.notify();
            return Ok(());
        }
        let want = Lock { owner: owner.clone(), write: kind == F_WRLCK, start: range.start, end: range.end };
        let attempt = || {
            let mut t = self.tables.lock().unwrap();
            t.sweep();
            let list = t.records.entry(key).or_default();
            if let Some(blocker) = list.iter().find(|l| l.conflicts(&want)).map(|l| l.owner.clone()) {
                if let (true, Owner::Process(me), Owner::Process(them)) = (wait, &owner, &blocker) {
                    if t.would_deadlock(*me, *them) {
                        t.waiting.remove(me);
                        return Err(Errno::EDEADLK);
                    }
                    t.waiting.insert(*me, *them);
                }
                return Err(Errno::EAGAIN);
            }
            carve(list, &want.owner, range);
            list.push(want.clone());
            merge(list, &want.owner);
            if let Owner::Process(me) = &owner {
                t.waiting.remove(me);
            }
            Ok(())
        };
        let result = self.acquire(task, wait, attempt);
        if let (Err(_), Owner::Process(me)) = (&result, &owner) {
            self.tables.lock().unwrap().waiting.remove(me);
        }
        // Another owner's lock may now be mergeable, or ours was reshaped:
        // waiters re-check.
        self.queue.notify();
        result
    }

    /// F_GETLK / F_OFD_GETLK: the first lock that would block `kind` over
    /// `range`, if any.
    pub fn get_record(
        &self,
        task: &Task,
        file: &Arc<dyn FileDescription>,
        ofd: bool,
        kind: i16,
        range: Range,
    ) -> Result<Option<Conflict>, Errno> {
        let key = key(&**file)?;
        let owner = if ofd { owner_of(file) } else { Owner::Process(task.pid) };
        let probe = Lock { owner, write: kind == F_WRLCK, start: range.start, end: range.end };
        let mut t = self.tables.lock().unwrap();
        t.sweep();
        // The lowest one, as Linux's list (by owner, then start) gives it
        // for a single holder.
        let found =
            t.records.get(&key).and_then(|list| list.iter().filter(|l| l.conflicts(&probe)).min_by_key(|l| l.start));
        Ok(found.map(|l| Conflict { write: l.write, range: Range { start: l.start, end: l.end }, pid: l.owner.pid() }))
    }

    /// Process `pid` closed a descriptor of `file` (which it hands over):
    /// its record locks on the file go (POSIX), and a description no
    /// longer held by anyone loses its locks.
    pub fn closed(&self, pid: i32, file: Arc<dyn FileDescription>) {
        if self.is_empty() {
            return;
        }
        let key = key(&*file);
        drop(file);
        let mut t = self.tables.lock().unwrap();
        if let Some(list) = key.ok().and_then(|k| t.records.get_mut(&k)) {
            list.retain(|l| !l.owner.same(&Owner::Process(pid)));
        }
        t.sweep();
        drop(t);
        self.queue.notify();
    }

    fn is_empty(&self) -> bool {
        let t = self.tables.lock().unwrap();
        t.flocks.is_empty() && t.records.is_empty()
    }

    /// Process `pid` has exited: its record locks go.
    pub fn exited(&self, pid: i32) {
        let mut t = self.tables.lock().unwrap();
        if t.records.is_empty() && t.flocks.is_empty() {
            return;
        }
        for list in t.records.values_mut() {
            list.retain(|l| !l.owner.same(&Owner::Process(pid)));
        }
        t.waiting.remove(&pid);
        t.sweep();
        drop(t);
        self.queue.notify();
    }

    fn acquire(&self, task: &Task, wait: bool, mut attempt: impl FnMut() -> Result<(), Errno>) -> Result<(), Errno> {
        if !wait {
            return attempt().map_err(|e| if e == Errno::EAGAIN { Errno::EWOULDBLOCK } else { e });
        }
        // Restarted after a handler with SA_RESTART, as Linux does.
        task.block_on_for(&self.queue, None, attempt)
            .map_err(|e| if e == Errno::EINTR { Errno::ERESTARTSYS } else { e })
    }
}

impl Tables {
    /// Whether `me` waiting for `them` closes a cycle of waiting processes.
    fn would_deadlock(&self, me: i32, them: i32) -> bool {
        let mut cur = them;
        for _ in 0..64 {
            if cur == me {
                return true;
            }
            match self.waiting.get(&cur) {
                Some(&next) => cur = next,
                None => return false,
            }
        }
        false
    }
}

/// Removes `owner`'s locks over `range` from `list`, splitting those that
/// reach past it.
fn carve(list: &mut Vec<Lock>, owner: &Owner, range: Range) {
    let mut kept = Vec::with_capacity(list.len() + 1);
    for l in list.drain(..) {
        if !l.owner.same(owner) || l.end <= range.start || range.end <= l.start {
            kept.push(l);
            continue;
        }
        if l.start < range.start {
            kept.push(Lock { end: range.start, ..l.clone() });
        }
        if l.end > range.end {
            kept.push(Lock { start: range.end, ..l });
        }
    }
    *list = kept;
}

/// Joins `owner`'s locks of one kind that touch or overlap.
fn merge(list: &mut Vec<Lock>, owner: &Owner) {
    let (mut mine, others): (Vec<Lock>, Vec<Lock>) = list.drain(..).partition(|l| l.owner.same(owner));
    mine.sort_by_key(|l| (l.write, l.start));
    let mut merged: Vec<Lock> = Vec::with_capacity(mine.len());
    for l in mine {
        match merged.last_mut() {
            Some(prev) if prev.write == l.write && l.start <= prev.end => prev.end = prev.end.max(l.end),
            _ => merged.push(l),
        }
    }
    *list = others;
    list.extend(merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(pid: i32, write: bool, start: u64, end: u64) -> Lock {
        Lock { owner: Owner::Process(pid), write, start, end }
    }

    fn ranges(list: &[Lock]) -> Vec<(bool, u64, u64)> {
        let mut v: Vec<_> = list.iter().map(|l| (l.write, l.start, l.end)).collect();
        v.sort();
        v
    }

    #[test]
    fn unlocking_the_middle_splits_a_lock() {
        let mut list = vec![lock(1, true, 0, 100)];
        carve(&mut list, &Owner::Process(1), Range { start: 10, end: 20 });
        assert_eq!(ranges(&list), [(true, 0, 10), (true, 20, 100)]);
    }

    #[test]
    fn adjacent_locks_of_one_kind_merge() {
        let mut list =
            vec![lock(1, false, 0, 10), lock(1, false, 10, 20), lock(1, true, 20, 30), lock(2, false, 30, 40)];
        merge(&mut list, &Owner::Process(1));
        assert_eq!(ranges(&list), [(false, 0, 20), (false, 30, 40), (true, 20, 30)]);
    }

    #[test]
    fn only_writes_of_other_owners_conflict() {
        assert!(!lock(1, false, 0, 10).conflicts(&lock(2, false, 5, 15)));
        assert!(lock(1, true, 0, 10).conflicts(&lock(2, false, 5, 15)));
        assert!(!lock(1, true, 0, 10).conflicts(&lock(1, true, 5, 15)));
        assert!(!lock(1, true, 0, 10).conflicts(&lock(2, true, 10, 15)));
    }
}
