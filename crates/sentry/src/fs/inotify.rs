//! inotify (gVisor: `vfs/inotify.go`; Linux `fs/notify/inotify/`): watches
//! on inodes, and instances whose queue of events a `read` drains.
//!
//! A watch hangs on an inode, named by the `(st_dev, st_ino)` pair `stat`
//! reports for it, the same identity every file system here already gives
//! a path and a descriptor of one file: hard links and renames keep their
//! watches, as on Linux. The [`Notifier`] (one per kernel) maps an inode to
//! the instances watching it; the syscall layer reports each change to it
//! where the change is made (`vfs::notify`), so every file system gets
//! events without knowing of inotify. When no watch exists anywhere the
//! syscall layer's only cost is one atomic load ([`Notifier::active`]).
//!
//! Lock order: the notifier's map, then an instance's state; neither is
//! held while taking the other in the reverse order (an instance drops
//! its lock before it tells the notifier a watch went).

use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply, StatusFlags};
use abi::{fcntl, ioctl, Errno, Stat};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

// Event bits (linux/inotify.h).
pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
pub const IN_UNMOUNT: u32 = 0x2000;
pub const IN_Q_OVERFLOW: u32 = 0x4000;
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;
pub const IN_ALL_EVENTS: u32 = 0xfff;
/// The bits `inotify_add_watch` accepts (Linux `ALL_INOTIFY_BITS`).
pub const VALID_MASK: u32 =
    IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT;

/// `/proc/sys/fs/inotify/` defaults, as Linux's. Only `max_queued_events`
/// is enforced: the sandbox runs one user's processes, and the instance
/// and watch counts are bounded by the descriptor table and memory.
pub const MAX_QUEUED_EVENTS: usize = 16384;
pub const MAX_USER_INSTANCES: usize = 128;
pub const MAX_USER_WATCHES: usize = 8192;

/// The size of `struct inotify_event` without its name.
const EVENT_HEADER: usize = 16;

/// An inode, as `(st_dev, st_ino)`.
pub type InodeId = (u64, u64);

pub fn inode_id(st: &Stat) -> InodeId {
    (st.dev, st.ino)
}

/// The watches on each inode: the instance and its wd for it.
type WatchMap = HashMap<InodeId, Vec<(Weak<Instance>, i32)>>;

/// Which instances watch which inodes, and the cookie counter of moves.
#[derive(Default)]
pub struct Notifier {
    /// How many watches exist: zero makes every hook a single load.
    watches: AtomicUsize,
    by_inode: Mutex<WatchMap>,
    cookie: AtomicU32,
    /// Instances and watches per user (effective uid), held to
    /// `MAX_USER_INSTANCES` and `MAX_USER_WATCHES` (Linux's ucounts).
    users: Mutex<HashMap<u32, (usize, usize)>>,
    /// dnotify registrations (`fcntl(F_NOTIFY)`), by directory; each
    /// counts in `watches` too.
    dnotify: Mutex<HashMap<InodeId, Vec<DnMark>>>,
    /// How a dnotify event reaches its process: SIGIO to the pid; false
    /// if the process is gone (its registrations go too). Set by the
    /// kernel.
    signaller: std::sync::OnceLock<Box<dyn Fn(i32) -> bool + Send + Sync>>,
    /// Watched inodes that are directories (IN_UNMOUNT carries IN_ISDIR).
    dirs: Mutex<std::collections::HashSet<InodeId>>,
}

/// One dnotify registration: a directory's open file description (by
/// identity) in one process, and the events (`IN_*`) it asked for.
struct DnMark {
    description: usize,
    owner: i32,
    mask: u32,
    multishot: bool,
}

/// `F_NOTIFY`'s argument bits.
pub const DN_ACCESS: u32 = 0x1;
pub const DN_MODIFY: u32 = 0x2;
pub const DN_CREATE: u32 = 0x4;
pub const DN_DELETE: u32 = 0x8;
pub const DN_RENAME: u32 = 0x10;
pub const DN_ATTRIB: u32 = 0x20;
pub const DN_MULTISHOT: u32 = 0x8000_0000;

/// The inotify events a dnotify mask hears (Linux `convert_arg`; a rename
/// within the directory is its moves).
fn dnotify_events(arg: u32) -> u32 {
    let mut mask = 0;
    for (dn, events) in [
        (DN_ACCESS, IN_ACCESS),
        (DN_MODIFY, IN_MODIFY),
        (DN_CREATE, IN_CREATE | IN_MOVED_TO),
        (DN_DELETE, IN_DELETE | IN_MOVED_FROM),
        (DN_RENAME, IN_MOVED_FROM | IN_MOVED_TO),
        (DN_ATTRIB, IN_ATTRIB),
    ] {
        if arg & dn != 0 {
            mask |= events;
        }
    }
    mask
}

/// One event to report: to the watches of `inode` without a name, and to
/// those of `parent` (a directory) naming the child.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub inode: Option<InodeId>,
    pub parent: Option<(InodeId, &'a str)>,
    /// The child was unlinked while open: `IN_EXCL_UNLINK` parent watches
    /// do not hear of it.
    pub unlinked: bool,
}

impl Notifier {
    /// Whether any watch exists (the hooks' fast path).
    pub fn active(&self) -> bool {
        self.watches.load(Ordering::Relaxed) != 0
    }

    /// A cookie tying an `IN_MOVED_FROM` to its `IN_MOVED_TO`.
    pub fn next_cookie(&self) -> u32 {
        self.cookie.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchMap> {
        self.by_inode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn watchers(&self, id: InodeId) -> Vec<(Arc<Instance>, i32)> {
        self.lock()
            .get(&id)
            .map(|v| v.iter().filter_map(|(i, wd)| Some((i.upgrade()?, *wd))).collect())
            .unwrap_or_default()
    }

    /// Reports `mask` (one event bit, with IN_ISDIR for a directory) to
    /// the watches that ask for it: the parent's first, naming the child,
    /// then the inode's own, as Linux's `fsnotify`.
    pub fn notify(&self, target: Target<'_>, mask: u32, cookie: u32) {
        if !self.active() {
            return;
        }
        if let Some((dir, name)) = target.parent {
            for (inst, wd) in self.watchers(dir) {
                inst.event(self, wd, mask, cookie, Some(name), target.unlinked);
            }
            self.dnotify_event(dir, mask);
        }
        if let Some(id) = target.inode {
            for (inst, wd) in self.watchers(id) {
                inst.event(self, wd, mask, cookie, None, false);
            }
        }
    }

    /// Whether any dnotify registration exists (close's fast path).
    pub fn has_dnotify(&self) -> bool {
        self.active() && !self.dnotify.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Sets how dnotify signals a process (see the field).
    pub fn set_signaller(&self, signal: Box<dyn Fn(i32) -> bool + Send + Sync>) {
        let _ = self.signaller.set(signal);
    }

    /// `fcntl(F_NOTIFY)` with a non-empty `arg` on the directory `dir`
    /// through `description` by process `owner`: a registration, or more
    /// events for the one it has (Linux `attach_dn` adds masks up).
    pub fn dnotify_set(&self, dir: InodeId, description: usize, owner: i32, arg: u32) {
        let (mask, multishot) = (dnotify_events(arg), arg & DN_MULTISHOT != 0);
        let mut map = self.dnotify.lock().unwrap_or_else(|e| e.into_inner());
        let marks = map.entry(dir).or_default();
        match marks.iter_mut().find(|m| m.description == description && m.owner == owner) {
            Some(m) => {
                m.mask |= mask;
                m.multishot |= multishot;
            }
            None => {
                marks.push(DnMark { description, owner, mask, multishot });
                self.watches.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Drops the registration of `description` by `owner` on `dir`: an
    /// empty `F_NOTIFY`, or any close of a descriptor of it by the owner
    /// (Linux `dnotify_flush`).
    pub fn dnotify_clear(&self, dir: InodeId, description: usize, owner: i32) {
        self.dnotify_retain(dir, |m| !(m.description == description && m.owner == owner));
    }

    /// Keeps the registrations on `dir` that `keep` says to.
    fn dnotify_retain(&self, dir: InodeId, keep: impl FnMut(&mut DnMark) -> bool) {
        let mut map = self.dnotify.lock().unwrap_or_else(|e| e.into_inner());
        let Some(marks) = map.get_mut(&dir) else { return };
        let before = marks.len();
        marks.retain_mut(keep);
        self.watches.fetch_sub(before - marks.len(), Ordering::Relaxed);
        if marks.is_empty() {
            map.remove(&dir);
        }
    }

    /// dnotify's part of an event `mask` on an entry of `dir`: SIGIO to
    /// each registration that asked for it, which then goes unless
    /// DN_MULTISHOT (and goes anyway once its process has).
    fn dnotify_event(&self, dir: InodeId, mask: u32) {
        let mut to_signal = Vec::new();
        self.dnotify_retain(dir, |m| {
            if m.mask & mask & IN_ALL_EVENTS == 0 {
                return true;
            }
            to_signal.push(m.owner);
            m.multishot
        });
        let Some(signal) = self.signaller.get() else { return };
        for owner in to_signal {
            if !signal(owner) {
                self.dnotify_retain(dir, |m| m.owner != owner);
            }
        }
    }

    /// The inode is gone (its last link removed): `IN_DELETE_SELF` to its
    /// watches (without IN_ISDIR, as Linux), then each watch goes with
    /// `IN_IGNORED`.
    pub fn inode_gone(&self, id: InodeId) {
        if self.active() {
            self.end_watches(id, IN_DELETE_SELF);
        }
    }

    /// The file system whose inodes have device number `dev` was
    /// unmounted: each watch on one of them hears IN_UNMOUNT (with
    /// IN_ISDIR for a directory) and goes with IN_IGNORED, the newest
    /// inode first, as Linux walks a superblock's inodes; its dnotify
    /// registrations go silently.
    pub fn unmounted(&self, dev: u64) {
        if !self.active() {
            return;
        }
        let mut ids: Vec<InodeId> = self.lock().keys().filter(|id| id.0 == dev).copied().collect();
        ids.sort_by_key(|id| std::cmp::Reverse(id.1));
        for id in ids {
            let isdir = self.dirs.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            self.end_watches(id, IN_UNMOUNT | if isdir { IN_ISDIR } else { 0 });
        }
        let dirs: Vec<InodeId> =
            self.dnotify.lock().unwrap_or_else(|e| e.into_inner()).keys().filter(|id| id.0 == dev).copied().collect();
        for dir in dirs {
            self.dnotify_retain(dir, |_| false);
        }
    }

    /// Records that the watched inode `id` is a directory.
    pub fn watched_dir(&self, id: InodeId) {
        self.dirs.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
    }

    /// Ends every watch on `id`: `last` to each, then IN_IGNORED.
    fn end_watches(&self, id: InodeId, last: u32) {
        let Some(watchers) = self.lock().remove(&id) else { return };
        // Whoever takes an entry out of the map uncounts it: a dying
        // instance's Drop or a racing rm_watch will not find these.
        self.watches.fetch_sub(watchers.len(), Ordering::Relaxed);
        for (inst, wd) in watchers.iter().filter_map(|(i, wd)| Some((i.upgrade()?, *wd))) {
            if last & IN_UNMOUNT != 0 {
                // Like IN_IGNORED, heard whatever the watch asked for.
                inst.push(wd, last, 0, None);
            } else {
                inst.event(self, wd, last, 0, None, false);
            }
            if inst.forget(wd) {
                inst.push(wd, IN_IGNORED, 0, None);
            }
        }
    }

    /// Counts one more instance (`instance`) or watch for `uid`, if the
    /// limit allows: EMFILE past the instances, ENOSPC past the watches.
    fn charge(&self, uid: u32, instance: bool) -> Result<(), Errno> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let (instances, watches) = users.entry(uid).or_default();
        match instance {
            true if *instances >= MAX_USER_INSTANCES => Err(Errno::EMFILE),
            true => {
                *instances += 1;
                Ok(())
            }
            false if *watches >= MAX_USER_WATCHES => Err(Errno::ENOSPC),
            false => {
                *watches += 1;
                Ok(())
            }
        }
    }

    /// Uncounts `instances` instances and `watches` watches of `uid`.
    fn uncharge(&self, uid: u32, instances: usize, watches: usize) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = users.get_mut(&uid) {
            n.0 = n.0.saturating_sub(instances);
            n.1 = n.1.saturating_sub(watches);
            if *n == (0, 0) {
                users.remove(&uid);
            }
        }
    }

    fn add(&self, id: InodeId, inst: &Arc<Instance>, wd: i32) {
        self.lock().entry(id).or_default().push((Arc::downgrade(inst), wd));
        self.watches.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops the map's entry for watch `wd` of `inst` on `id`.
    fn remove(&self, id: InodeId, inst: *const Instance, wd: i32) {
        let mut map = self.lock();
        if let Some(v) = map.get_mut(&id) {
            let before = v.len();
            v.retain(|(i, w)| !(std::ptr::eq(i.as_ptr(), inst) && *w == wd));
            if v.len() < before {
                self.watches.fetch_sub(1, Ordering::Relaxed);
            }
            if v.is_empty() {
                map.remove(&id);
            }
        }
    }
}

struct Watch {
    inode: InodeId,
    mask: u32,
}

struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Option<String>,
}

impl Event {
    /// The name field's length: the name, its NUL, padded to the header's
    /// size (Linux `round_up(name_len + 1, sizeof(struct inotify_event))`).
    fn name_len(&self) -> usize {
        self.name.as_ref().map_or(0, |n| (n.len() + 1).div_ceil(EVENT_HEADER) * EVENT_HEADER)
    }
    fn size(&self) -> usize {
        EVENT_HEADER + self.name_len()
    }
    fn same(&self, other: &Event) -> bool {
        self.wd == other.wd && self.mask == other.mask && self.cookie == other.cookie && self.name == other.name
    }
}

#[derive(Default)]
struct State {
    watches: HashMap<i32, Watch>,
    by_inode: HashMap<InodeId, i32>,
    /// The last wd given; wds are not reused (Linux's `idr_alloc_cyclic`).
    last_wd: i32,
    queue: VecDeque<Event>,
    /// Bytes a read of the whole queue returns (FIONREAD).
    bytes: usize,
    /// Whether the overflow event is in the queue (at most once).
    overflowed: bool,
}

/// An inotify instance: the description `inotify_init1` returns.
pub struct Instance {
    state: Mutex<State>,
    flags: StatusFlags,
    queue: WaitQueue,
    ino: u64,
    notifier: Arc<Notifier>,
    /// The user the instance and its watches count against.
    uid: u32,
}

impl Instance {
    /// A new instance of user `uid`: EMFILE past its
    /// `max_user_instances`.
    pub fn new(notifier: Arc<Notifier>, nonblock: bool, uid: u32) -> Result<Arc<Instance>, Errno> {
        notifier.charge(uid, true)?;
        // Linux opens the instance O_RDONLY: a write is EBADF.
        let flags = StatusFlags::new(nonblock);
        flags.set(flags.get() & !fcntl::O_ACCMODE);
        Ok(Arc::new(Instance {
            state: Mutex::default(),
            flags,
            queue: WaitQueue::default(),
            ino: super::eventfd::anon_ino(),
            notifier,
            uid,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `inotify_add_watch` once the path is resolved to `inode`: the wd of
    /// the instance's watch on it, new or changed. `mask` is checked.
    pub fn add_watch(self: &Arc<Self>, inode: InodeId, mask: u32) -> Result<i32, Errno> {
        let events = mask & (IN_ALL_EVENTS | IN_EXCL_UNLINK | IN_ONESHOT);
        let mut st = self.lock();
        if let Some(&wd) = st.by_inode.get(&inode) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            let w = st.watches.get_mut(&wd).expect("by_inode and watches agree");
            w.mask = if mask & IN_MASK_ADD != 0 { w.mask | events } else { events };
            return Ok(wd);
        }
        self.notifier.charge(self.uid, false)?;
        let wd = st.last_wd.checked_add(1).unwrap_or(1);
        st.last_wd = wd;
        st.watches.insert(wd, Watch { inode, mask: events });
        st.by_inode.insert(inode, wd);
        drop(st);
        self.notifier.add(inode, self, wd);
        Ok(wd)
    }

    /// `inotify_rm_watch`: the watch goes with an `IN_IGNORED`.
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        let inode = {
            let mut st = self.lock();
            let w = st.watches.remove(&wd).ok_or(Errno::EINVAL)?;
            st.by_inode.remove(&w.inode);
            w.inode
        };
        self.notifier.uncharge(self.uid, 0, 1);
        self.notifier.remove(inode, self, wd);
        self.push(wd, IN_IGNORED, 0, None);
        Ok(())
    }

    /// Forgets watch `wd` (its inode went); false if it was gone already.
    fn forget(&self, wd: i32) -> bool {
        let mut st = self.lock();
        match st.watches.remove(&wd) {
            Some(w) => {
                st.by_inode.remove(&w.inode);
                self.notifier.uncharge(self.uid, 0, 1);
                true
            }
            None => false,
        }
    }

    /// An event for watch `wd`, if its mask asks for it.
    fn event(&self, notifier: &Notifier, wd: i32, mask: u32, cookie: u32, name: Option<&str>, unlinked: bool) {
        let oneshot_inode = {
            let st = self.lock();
            let Some(w) = st.watches.get(&wd) else { return };
            if w.mask & mask & IN_ALL_EVENTS == 0 || (unlinked && w.mask & IN_EXCL_UNLINK != 0) {
                return;
            }
            (w.mask & IN_ONESHOT != 0).then_some(w.inode)
        };
        self.push(wd, mask, cookie, name);
        if let Some(inode) = oneshot_inode {
            if self.forget(wd) {
                notifier.remove(inode, self, wd);
                self.push(wd, IN_IGNORED, 0, None);
            }
        }
    }

    /// Queues an event: merged into an identical last one, or replaced by
    /// the overflow event when the queue is full (Linux
    /// `fsnotify_insert_event`, `inotify_merge`).
    fn push(&self, wd: i32, mask: u32, cookie: u32, name: Option<&str>) {
        let mut st = self.lock();
        let event = if st.queue.len() >= MAX_QUEUED_EVENTS {
            if st.overflowed {
                return;
            }
            st.overflowed = true;
            Event { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: None }
        } else {
            let event = Event { wd, mask, cookie, name: name.map(str::to_string) };
            if mask & IN_IGNORED == 0 && st.queue.back().is_some_and(|last| last.same(&event)) {
                return;
            }
            event
        };
        st.bytes += event.size();
        st.queue.push_back(event);
        drop(st);
        self.queue.notify();
    }
}

impl Drop for Instance {
    /// The last descriptor closed: the instance's watches go with it.
    fn drop(&mut self) {
        let watches: Vec<(i32, InodeId)> = self.lock().watches.iter().map(|(wd, w)| (*wd, w.inode)).collect();
        for (wd, inode) in &watches {
            self.notifier.remove(*inode, self, *wd);
        }
        self.notifier.uncharge(self.uid, 1, watches.len());
    }
}

/// What `inotify_init1` installs: the instance (held also by the syscall
/// layer for `inotify_add_watch`, which finds it by `as_inotify`).
pub struct InotifyFile(pub Arc<Instance>);

impl FileDescription for InotifyFile {
    fn flags(&self) -> u64 {
        self.0.flags.get()
    }
    fn set_flags(&self, flags: u64) {
        self.0.flags.set(flags);
    }

    /// Whole events only: EINVAL when the first does not fit, EAGAIN when
    /// there are none.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut st = self.0.lock();
        let first = st.queue.front().ok_or(Errno::EAGAIN)?;
        if first.size() > buf.len() {
            return Err(Errno::EINVAL);
        }
        let mut done = 0;
        while let Some(e) = st.queue.front() {
            let size = e.size();
            if done + size > buf.len() {
                break;
            }
            let out = &mut buf[done..done + size];
            out[0..4].copy_from_slice(&e.wd.to_ne_bytes());
            out[4..8].copy_from_slice(&e.mask.to_ne_bytes());
            out[8..12].copy_from_slice(&e.cookie.to_ne_bytes());
            out[12..16].copy_from_slice(&(e.name_len() as u32).to_ne_bytes());
            out[16..].fill(0);
            if let Some(name) = &e.name {
                out[16..16 + name.len()].copy_from_slice(name.as_bytes());
            }
            if e.mask & IN_Q_OVERFLOW != 0 {
                st.overflowed = false;
            }
            st.bytes -= size;
            st.queue.pop_front();
            done += size;
        }
        Ok(done)
    }

    /// Linux gives inotify descriptors `noop_llseek`.
    fn seek(&self, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::eventfd::anon_stat(self.0.ino))
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD => Ok(IoctlReply::Out((self.0.lock().bytes as i32).to_ne_bytes().to_vec())),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self) -> String {
        "anon_inode:inotify".into()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.0.queue)
    }

    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        if self.0.lock().queue.is_empty() {
            0
        } else {
            POLLIN | POLLRDNORM
        }
    }

    fn pollable(&self) -> bool {
        true
    }

    fn as_inotify(&self) -> Option<&Arc<Instance>> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(f: &InotifyFile) -> Vec<(i32, u32, u32, String)> {
        let mut buf = vec![0u8; 1 << 20];
        let Ok(n) = f.read(&mut buf) else { return Vec::new() };
        let mut out = Vec::new();
        let mut p = 0;
        while p < n {
            let word = |o: usize| u32::from_ne_bytes(buf[p + o..p + o + 4].try_into().unwrap());
            let len = word(12) as usize;
            let name = buf[p + 16..p + 16 + len].split(|&b| b == 0).next().unwrap();
            out.push((word(0) as i32, word(4), word(8), String::from_utf8(name.to_vec()).unwrap()));
            p += 16 + len;
        }
        out
    }

    fn target(inode: InodeId) -> Target<'static> {
        Target { inode: Some(inode), parent: None, unlinked: false }
    }

    #[test]
    fn watches_share_wds_per_inode_and_coalesce() {
        let n = Arc::new(Notifier::default());
        let i = Instance::new(n.clone(), true, 0).unwrap();
        let f = InotifyFile(i.clone());
        assert!(!n.active());
        assert_eq!(i.add_watch((1, 2), IN_MODIFY), Ok(1));
        assert_eq!(i.add_watch((1, 2), IN_ATTRIB | IN_MASK_ADD), Ok(1));
        assert_eq!(i.add_watch((1, 2), IN_ATTRIB | IN_MASK_CREATE), Err(Errno::EEXIST));
        assert_eq!(i.add_watch((1, 3), IN_CREATE), Ok(2));
        assert!(n.active());
        n.notify(target((1, 2)), IN_MODIFY, 0);
        n.notify(target((1, 2)), IN_MODIFY, 0);
        n.notify(target((1, 2)), IN_ATTRIB, 0);
        n.notify(Target { inode: None, parent: Some(((1, 3), "child")), unlinked: false }, IN_CREATE, 0);
        n.notify(target((1, 2)), IN_OPEN, 0);
        assert_eq!(
            events(&f),
            vec![(1, IN_MODIFY, 0, "".into()), (1, IN_ATTRIB, 0, "".into()), (2, IN_CREATE, 0, "child".into())]
        );
        assert_eq!(f.read(&mut [0u8; 64]), Err(Errno::EAGAIN));
        i.rm_watch(1).unwrap();
        assert_eq!(i.rm_watch(1), Err(Errno::EINVAL));
        assert_eq!(events(&f), vec![(1, IN_IGNORED, 0, "".into())]);
        drop(f);
        drop(i);
        assert!(!n.active());
    }

    #[test]
    fn reads_take_whole_events_and_the_queue_overflows_once() {
        let n = Arc::new(Notifier::default());
        let i = Instance::new(n.clone(), true, 0).unwrap();
        let f = InotifyFile(i.clone());
        i.add_watch((1, 1), IN_OPEN | IN_CLOSE_NOWRITE).unwrap();
        for k in 0..MAX_QUEUED_EVENTS + 5 {
            n.notify(target((1, 1)), if k % 2 == 0 { IN_OPEN } else { IN_CLOSE_NOWRITE }, 0);
        }
        assert_eq!(f.read(&mut [0u8; 15]), Err(Errno::EINVAL));
        let all = events(&f);
        assert_eq!(all.len(), MAX_QUEUED_EVENTS + 1);
        assert_eq!(all.last().unwrap(), &(-1, IN_Q_OVERFLOW, 0, "".into()));
    }

    #[test]
    fn oneshot_and_inode_gone_end_the_watch() {
        let n = Arc::new(Notifier::default());
        let i = Instance::new(n.clone(), true, 0).unwrap();
        let f = InotifyFile(i.clone());
        i.add_watch((1, 1), IN_ATTRIB | IN_ONESHOT).unwrap();
        i.add_watch((1, 2), IN_ATTRIB).unwrap();
        n.notify(target((1, 1)), IN_ATTRIB, 0);
        n.notify(target((1, 1)), IN_ATTRIB, 0);
        n.inode_gone((1, 2));
        assert_eq!(
            events(&f),
            vec![(1, IN_ATTRIB, 0, "".into()), (1, IN_IGNORED, 0, "".into()), (2, IN_IGNORED, 0, "".into())]
        );
        assert!(!n.active());
    }

    #[test]
    fn instances_and_watches_count_against_their_user() {
        let n = Arc::new(Notifier::default());
        let mine: Vec<_> = (0..MAX_USER_INSTANCES).map(|_| Instance::new(n.clone(), true, 7).unwrap()).collect();
        assert_eq!(Instance::new(n.clone(), true, 7).err(), Some(Errno::EMFILE));
        assert!(Instance::new(n.clone(), true, 8).is_ok(), "another user's count");
        let i = &mine[0];
        for ino in 0..MAX_USER_WATCHES as u64 {
            i.add_watch((1, ino), IN_MODIFY).unwrap();
        }
        assert_eq!(i.add_watch((1, u64::MAX), IN_MODIFY), Err(Errno::ENOSPC));
        assert!(i.add_watch((1, 0), IN_ACCESS).is_ok(), "changing a watch adds none");
        i.rm_watch(1).unwrap();
        assert!(mine[1].add_watch((2, 0), IN_MODIFY).is_ok(), "a removed watch frees its place");
        drop(mine);
        let again: Vec<_> = (0..MAX_USER_INSTANCES).map(|_| Instance::new(n.clone(), true, 7)).collect();
        assert!(again.iter().all(Result::is_ok), "closed instances and their watches are uncounted");
    }
}
