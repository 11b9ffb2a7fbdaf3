//! epoll instances (gVisor: `pkg/sentry/kernel/epoll`, Linux
//! `fs/eventpoll.c`): a file holding an interest list of other files,
//! keyed by (descriptor number, description) as Linux keys it.
//!
//! Readiness is computed when asked, not pushed by callbacks: `collect`
//! walks the interest list and asks each file. Level-triggered entries are
//! reported while ready. Edge-triggered ones approximate Linux's "reported
//! once per wake-up of the file": an entry is reported again when the
//! file's wait queue was notified since the last report (any change of a
//! pipe, in either direction, where Linux filters wake-ups by the events
//! the entry asks for) or when it became ready for events it was not ready
//! for before (files without a queue). The ready order is the interest
//! list's, rotated after a `maxevents` cut so no entry starves; Linux
//! reports in the order files became ready.
//!
//! Entries hold their file weakly: one whose description has gone (its
//! last descriptor closed) is dropped the next time the list is walked.

use crate::kernel::waiter::WaitQueue;
use crate::vfs::FileDescription;
use abi::poll::*;
use abi::{fcntl, Errno, Stat};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Bits of an entry's events that are options, not events.
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What an EPOLLEXCLUSIVE entry may ask for (Linux `EPOLLEXCLUSIVE_OK_BITS`).
const EXCLUSIVE_OK: u32 =
    POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

struct Entry {
    fd: i64,
    file: Weak<dyn FileDescription>,
    /// With EPOLLERR|EPOLLHUP added; only the private bits once a
    /// one-shot entry has fired (until EPOLL_CTL_MOD re-arms it).
    events: u32,
    data: u64,
    /// Edge-triggered state: the file's queue generation and readiness
    /// when last looked at.
    last_gen: u64,
    last_ready: u32,
}

/// The address of a description, to compare identities.
fn addr(f: &dyn FileDescription) -> *const () {
    f as *const dyn FileDescription as *const ()
}

fn generation(f: &dyn FileDescription) -> u64 {
    f.wait_queue().map_or(0, WaitQueue::generation)
}

impl Entry {
    fn is(&self, fd: i64, file: &dyn FileDescription) -> bool {
        self.fd == fd && std::ptr::addr_eq(self.file.as_ptr(), addr(file))
    }

    /// The events to report now, if any; `consume` records the report
    /// (edge-triggered and one-shot state).
    fn poll(&mut self, file: &dyn FileDescription, consume: bool) -> u32 {
        let ready = file.readiness(self.events & !PRIVATE_BITS) & self.events & !PRIVATE_BITS;
        let gen = generation(file);
        let edge = self.events & EPOLLET != 0;
        let report = ready != 0 && (!edge || gen != self.last_gen || ready & !self.last_ready != 0);
        if consume {
            self.last_gen = gen;
            self.last_ready = ready;
            if report && self.events & EPOLLONESHOT != 0 {
                self.events &= PRIVATE_BITS;
            }
        }
        if report {
            ready
        } else {
            0
        }
    }
}

/// An epoll instance.
pub struct EpollFile {
    entries: Mutex<Vec<Entry>>,
    /// Notified when the interest list changes, so that a waiter looks
    /// again at a file just added.
    queue: WaitQueue,
    flags: AtomicU64,
}

impl Default for EpollFile {
    fn default() -> EpollFile {
        EpollFile { entries: Mutex::default(), queue: WaitQueue::default(), flags: AtomicU64::new(fcntl::O_RDWR) }
    }
}

impl EpollFile {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `target` is this instance or watches it, directly or
    /// through nested instances (Linux: ELOOP).
    fn reaches_me(&self, target: &dyn FileDescription, depth: usize) -> bool {
        if std::ptr::addr_eq(addr(target), self as *const EpollFile as *const ()) {
            return true;
        }
        depth < 5 && target.watched().iter().any(|f| self.reaches_me(&**f, depth + 1))
    }

    /// `epoll_ctl` on (`fd`, `file`), once the syscall layer has checked
    /// the descriptors.
    pub fn ctl(&self, op: u64, fd: i64, file: &Arc<dyn FileDescription>, events: u32, data: u64) -> Result<(), Errno> {
        if !file.pollable() {
            return Err(Errno::EPERM);
        }
        let exclusive = op != EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0;
        if exclusive && (op == EPOLL_CTL_MOD || file.as_epoll().is_some() || events & !EXCLUSIVE_OK != 0) {
            return Err(Errno::EINVAL);
        }
        if std::ptr::addr_eq(addr(&**file), self as *const EpollFile as *const ()) {
            return Err(Errno::EINVAL);
        }
        if op == EPOLL_CTL_ADD && file.as_epoll().is_some() && self.reaches_me(&**file, 0) {
            return Err(Errno::ELOOP);
        }
        let mut entries = self.lock();
        entries.retain(|e| e.file.strong_count() > 0);
        let found = entries.iter().position(|e| e.is(fd, &**file));
        match (op, found) {
            (EPOLL_CTL_ADD, None) => entries.push(Entry {
                fd,
                file: Arc::downgrade(file),
                events: events | POLLERR | POLLHUP,
                data,
                last_gen: generation(&**file),
                last_ready: 0,
            }),
            (EPOLL_CTL_ADD, Some(_)) => return Err(Errno::EEXIST),
            (EPOLL_CTL_DEL, Some(i)) => {
                entries.remove(i);
            }
            (EPOLL_CTL_MOD, Some(i)) if entries[i].events & EPOLLEXCLUSIVE == 0 => {
                let e = &mut entries[i];
                e.events = events | POLLERR | POLLHUP;
                e.data = data;
                // Re-polled as Linux's ep_modify does: reported if ready.
                e.last_gen = generation(&**file);
                e.last_ready = 0;
            }
            (EPOLL_CTL_MOD, Some(_)) => return Err(Errno::EINVAL),
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => return Err(Errno::ENOENT),
            _ => return Err(Errno::EINVAL),
        }
        drop(entries);
        self.queue.notify();
        Ok(())
    }

    /// Up to `max` ready (events, data) pairs, recording the reports.
    pub fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        let mut entries = self.lock();
        entries.retain(|e| e.file.strong_count() > 0);
        let mut out = Vec::new();
        let mut cut = None;
        for (i, e) in entries.iter_mut().enumerate() {
            if out.len() == max {
                cut = Some(i);
                break;
            }
            let Some(file) = e.file.upgrade() else { continue };
            let ready = e.poll(&*file, true);
            if ready != 0 {
                out.push((ready, e.data));
            }
        }
        if let Some(i) = cut {
            entries.rotate_left(i);
        }
        out
    }
}

impl FileDescription for EpollFile {
    fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn stat(&self) -> Result<Stat, Errno> {
        // An anonymous inode: no file type bits, as on Linux.
        Ok(Stat { mode: 0o600, nlink: 1, blksize: 4096, ..Stat::default() })
    }

    fn path(&self) -> String {
        "anon_inode:[eventpoll]".to_string()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    /// Readable while an entry would be reported.
    fn readiness(&self, _mask: u32) -> u32 {
        let mut entries = self.lock();
        let any = entries.iter_mut().any(|e| e.file.upgrade().is_some_and(|f| e.poll(&*f, false) != 0));
        if any {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn pollable(&self) -> bool {
        true
    }

    fn watched(&self) -> Vec<Arc<dyn FileDescription>> {
        self.lock().iter().filter_map(|e| e.file.upgrade()).collect()
    }

    fn as_epoll(&self) -> Option<&EpollFile> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::pipe::new_pipe;

    fn pipe() -> (Arc<dyn FileDescription>, Arc<dyn FileDescription>) {
        let (r, w) = new_pipe(0);
        (Arc::new(r), Arc::new(w))
    }

    #[test]
    fn level_triggered_reports_while_ready() {
        let ep = EpollFile::default();
        let (r, w) = pipe();
        ep.ctl(EPOLL_CTL_ADD, 3, &r, POLLIN, 7).unwrap();
        assert_eq!(ep.collect(8), vec![]);
        assert_eq!(ep.readiness(POLLIN), 0);
        w.write(b"x").unwrap();
        assert_eq!(ep.readiness(POLLIN), POLLIN | POLLRDNORM);
        assert_eq!(ep.collect(8), vec![(POLLIN, 7)]);
        assert_eq!(ep.collect(8), vec![(POLLIN, 7)]);
        r.read(&mut [0u8; 4]).unwrap();
        assert_eq!(ep.collect(8), vec![]);
    }

    #[test]
    fn edge_triggered_reports_each_change_once() {
        let ep = EpollFile::default();
        let (r, w) = pipe();
        ep.ctl(EPOLL_CTL_ADD, 3, &r, POLLIN | EPOLLET, 1).unwrap();
        w.write(b"x").unwrap();
        assert_eq!(ep.collect(8), vec![(POLLIN, 1)]);
        assert_eq!(ep.collect(8), vec![]);
        assert_eq!(ep.readiness(POLLIN), 0);
        w.write(b"y").unwrap();
        assert_eq!(ep.collect(8), vec![(POLLIN, 1)]);
        assert_eq!(ep.collect(8), vec![]);
    }

    #[test]
    fn oneshot_fires_once_until_modified() {
        let ep = EpollFile::default();
        let (r, w) = pipe();
        ep.ctl(EPOLL_CTL_ADD, 3, &r, POLLIN | EPOLLONESHOT, 1).unwrap();
        w.write(b"x").unwrap();
        assert_eq!(ep.collect(8), vec![(POLLIN, 1)]);
        assert_eq!(ep.collect(8), vec![]);
        ep.ctl(EPOLL_CTL_MOD, 3, &r, POLLIN | EPOLLONESHOT, 2).unwrap();
        assert_eq!(ep.collect(8), vec![(POLLIN, 2)]);
    }

    #[test]
    fn ctl_errors_and_closing() {
        let ep = EpollFile::default();
        let (r, w) = pipe();
        ep.ctl(EPOLL_CTL_ADD, 3, &r, POLLIN, 1).unwrap();
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 3, &r, POLLIN, 1), Err(Errno::EEXIST));
        // Another number for the same description is another entry.
        ep.ctl(EPOLL_CTL_ADD, 5, &r, POLLIN, 2).unwrap();
        assert_eq!(ep.ctl(EPOLL_CTL_MOD, 4, &w, POLLOUT, 1), Err(Errno::ENOENT));
        assert_eq!(ep.ctl(EPOLL_CTL_DEL, 4, &w, 0, 0), Err(Errno::ENOENT));
        assert_eq!(ep.ctl(EPOLL_CTL_MOD, 3, &r, POLLIN | EPOLLEXCLUSIVE, 1), Err(Errno::EINVAL));
        ep.ctl(EPOLL_CTL_DEL, 5, &r, 0, 0).unwrap();
        // A hung-up read end reports POLLHUP even unasked.
        drop(w);
        assert_eq!(ep.collect(8), vec![(POLLHUP, 1)]);
        // The last reference gone, the entry goes too.
        drop(r);
        assert_eq!(ep.collect(8), vec![]);
        assert!(ep.watched().is_empty());
    }

    #[test]
    fn nesting_loops_are_refused() {
        let a: Arc<dyn FileDescription> = Arc::new(EpollFile::default());
        let b: Arc<dyn FileDescription> = Arc::new(EpollFile::default());
        a.as_epoll().unwrap().ctl(EPOLL_CTL_ADD, 4, &b, POLLIN, 0).unwrap();
        assert_eq!(b.as_epoll().unwrap().ctl(EPOLL_CTL_ADD, 3, &a, POLLIN, 0), Err(Errno::ELOOP));
        assert_eq!(a.as_epoll().unwrap().ctl(EPOLL_CTL_ADD, 3, &a, POLLIN, 0), Err(Errno::EINVAL));
        // The outer instance is readable when the inner one is.
        let (r, w) = pipe();
        b.as_epoll().unwrap().ctl(EPOLL_CTL_ADD, 5, &r, POLLIN, 9).unwrap();
        assert_eq!(a.readiness(POLLIN), 0);
        w.write(b"x").unwrap();
        assert_eq!(a.as_epoll().unwrap().collect(4), vec![(POLLIN, 0)]);
    }
}
