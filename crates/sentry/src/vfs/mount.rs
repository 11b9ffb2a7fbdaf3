//! Mount namespaces and their mount tables (gVisor: `vfs/mount.go`, much
//! reduced): which file system serves an absolute path. The kernel builds
//! one table at boot (the gofer's tree at `/`, devfs at `/dev`, procfs at
//! `/proc`, the spec's mounts); each task holds a [`MountNamespace`], shared
//! across fork and copied by CLONE_NEWNS, which mount(2), umount2(2) and
//! pivot_root(2) change (`syscalls/sys_mount.rs`).
//!
//! A table is a tree, as Linux's: each [`Mount`] names its parent, and a
//! path is served by the mount a walk from the namespace's root reaches
//! (at each prefix of the path, the child mount attached there; of mounts
//! stacked on one point, the last). The walk is done when the table
//! changes, into a list of the mounts it reaches, longest point first; a
//! lookup matches the longest of those points that is a prefix of the
//! path on a component boundary, after lexical normalisation (`.`, `..`
//! and repeated slashes removed), under a read lock. A mount that shows a
//! subtree (a bind), has flags to enforce or was moved is served through a
//! [`MountView`]; any other is its file system.
//!
//! Limits, today:
//! * There is no dentry tree and no walk across mounts inside the gofer's
//!   tree. The boot root receives the caller's path unchanged and the
//!   gofer resolves it inside the container root: a symlink there that
//!   points into `/dev` or `/proc` resolves in the gofer's tree (the empty
//!   directories of the rootfs), not in devfs or procfs. Likewise a `..`
//!   that follows a symlink in the path is taken lexically when matching.
//! * Symlinks of the synthetic file systems (`/dev/fd`, `/proc/self`,
//!   `/proc/<pid>/exe`...) are followed here, by [`FileSystem::follow`],
//!   so they may lead anywhere, the gofer's tree included.
//! * Every mount is private: propagation types are recorded only.

use super::view::MountView;
use super::FileDescription;
use crate::fs::tmpfs::Who;
use crate::kernel::Task;
use abi::{Errno, Stat, Statfs};
use std::sync::Arc;

/// Most symlinks followed in one lookup (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// A mounted file system. Paths given to it are absolute within the file
/// system (`/` is its root), except for the root mount, which gets the
/// caller's path as given (see the module header).
pub trait FileSystem: Send + Sync {
    /// `f_type` of `statfs`, and a name for diagnostics.
    fn name(&self) -> &'static str;

    /// When a symlink of this file system lies on `path` and must be
    /// followed (any component but the last; the last too if
    /// `follow_last`), the absolute path (in the whole namespace) to look
    /// up instead. None when `path` names no such link.
    fn follow(&self, _task: &Task, _path: &str, _follow_last: bool) -> Result<Option<String>, Errno> {
        Ok(None)
    }

    /// Opens `path` with `open(2)` `flags` (O_CLOEXEC already removed);
    /// `mode` is the permission bits for a file O_CREAT makes.
    fn open(&self, task: &Task, path: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno>;

    /// `follow` and a read-only `open` for the kernel's own use, where no
    /// task asks but `who`'s credentials count: loading the container's
    /// init and the processes of `moat exec` through the mount table.
    /// File systems whose answers depend on the asking task (procfs) keep
    /// the defaults: no links, ENOENT.
    fn follow_as(&self, _who: &Who, _path: &str, _follow_last: bool) -> Result<Option<String>, Errno> {
        Ok(None)
    }

    fn open_read_as(&self, _who: &Who, _path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        Err(Errno::ENOENT)
    }

    /// The attributes of `path`; of the link's target when `follow`
    /// (only the gofer's root mount needs it: the table follows the
    /// others' links first).
    fn stat(&self, task: &Task, path: &str, follow: bool) -> Result<Stat, Errno>;

    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno>;

    fn statfs(&self, task: &Task, path: &str) -> Result<Statfs, Errno>;

    // Changes to the tree. File systems that cannot change (the gofer's
    // read-only root, devfs, procfs) keep the defaults: EROFS.

    fn mkdir(&self, _task: &Task, _path: &str, _mode: u32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn rmdir(&self, _task: &Task, _path: &str) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn unlink(&self, _task: &Task, _path: &str) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// Creates a symlink at `path` holding `target`.
    fn symlink(&self, _task: &Task, _target: &str, _path: &str) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// A new name `new` for `old`; both in this file system (the caller
    /// answers EXDEV otherwise).
    fn link(&self, _task: &Task, _old: &str, _new: &str) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// `renameat2` within this file system, `flags` as `RENAME_*`.
    fn rename(&self, _task: &Task, _old: &str, _new: &str, _flags: u32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// chmod, chown, truncate, utimensat on a path.
    fn setattr(&self, _task: &Task, _path: &str, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// `mknod`: a FIFO, socket, device node or empty regular file at
    /// `path`; `mode` holds the type (`S_IFIFO`...) and the permission
    /// bits before the umask, `rdev` the device number of a device node.
    /// The syscall layer has refused other types.
    fn mknod(&self, _task: &Task, _path: &str, _mode: u32, _rdev: u64) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    // Extended attributes of the file at `path` (the mount table has
    // followed the last link or not, as the l* variants ask). Names are
    // whole (`user.foo`), checked for length by the syscall layer. File
    // systems without attributes answer EOPNOTSUPP.

    fn getxattr(&self, _task: &Task, _path: &str, _name: &str) -> Result<Vec<u8>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `flags`: XATTR_CREATE (1), XATTR_REPLACE (2).
    fn setxattr(&self, _task: &Task, _path: &str, _name: &str, _value: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The names the caller may see.
    fn listxattr(&self, _task: &Task, _path: &str) -> Result<Vec<String>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn removexattr(&self, _task: &Task, _path: &str, _name: &str) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
}

/// Attribute changes, as Linux's `struct iattr`: what `chmod`, `chown`,
/// `truncate` and `utimensat` ask of a file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeSet>,
    pub mtime: Option<TimeSet>,
}

/// A timestamp `utimensat` sets.
#[derive(Clone, Copy, Debug)]
pub enum TimeSet {
    /// `UTIME_NOW` (or a null `times`): allowed to whoever may write.
    Now,
    /// An explicit time: only the owner (or root) may set it.
    At(abi::Timespec),
}

/// `mount(2)` flags (linux/mount.h), the per-mount ones kept in
/// [`MountTable`] and the ones that say what a call does.
pub mod ms {
    pub const RDONLY: u64 = 1;
    pub const NOSUID: u64 = 2;
    pub const NODEV: u64 = 4;
    pub const NOEXEC: u64 = 8;
    pub const SYNCHRONOUS: u64 = 16;
    pub const REMOUNT: u64 = 32;
    pub const MANDLOCK: u64 = 64;
    pub const DIRSYNC: u64 = 128;
    pub const NOSYMFOLLOW: u64 = 256;
    pub const NOATIME: u64 = 1024;
    pub const NODIRATIME: u64 = 2048;
    pub const BIND: u64 = 4096;
    pub const MOVE: u64 = 8192;
    pub const REC: u64 = 16384;
    pub const SILENT: u64 = 32768;
    pub const UNBINDABLE: u64 = 1 << 17;
    pub const PRIVATE: u64 = 1 << 18;
    pub const SLAVE: u64 = 1 << 19;
    pub const SHARED: u64 = 1 << 20;
    pub const RELATIME: u64 = 1 << 21;
    pub const STRICTATIME: u64 = 1 << 24;
    pub const LAZYTIME: u64 = 1 << 25;
    /// The flags a mount carries (`MNT_*` in Linux), which a bind remount
    /// may change.
    pub const PER_MOUNT: u64 = RDONLY | NOSUID | NODEV | NOEXEC | NOATIME | NODIRATIME | RELATIME | STRICTATIME;
    /// The flags whose effect a [`super::MountView`] enforces.
    pub const ENFORCED: u64 = RDONLY | NOSUID | NODEV | NOEXEC;
    pub const PROPAGATION: u64 = UNBINDABLE | PRIVATE | SLAVE | SHARED;
}

/// The mount's own flags that mount(2) `flags` ask for (Linux: relatime
/// unless noatime or strictatime).
pub fn mount_flags(flags: u64) -> u64 {
    let mut f = flags & (ms::RDONLY | ms::NOSUID | ms::NODEV | ms::NOEXEC | ms::NOATIME | ms::NODIRATIME);
    if flags & (ms::NOATIME | ms::STRICTATIME) == 0 {
        f |= ms::RELATIME;
    }
    f
}

/// The mount's own flags an OCI spec's `options` ask for (mount(8)'s
/// names); the others are the file system's.
pub fn spec_flags(options: &[String]) -> u64 {
    let mut f = 0;
    for o in options {
        match o.as_str() {
            "ro" => f |= ms::RDONLY,
            "rw" => f &= !ms::RDONLY,
            "nosuid" => f |= ms::NOSUID,
            "suid" => f &= !ms::NOSUID,
            "nodev" => f |= ms::NODEV,
            "dev" => f &= !ms::NODEV,
            "noexec" => f |= ms::NOEXEC,
            "exec" => f &= !ms::NOEXEC,
            "noatime" => f |= ms::NOATIME,
            "nodiratime" => f |= ms::NODIRATIME,
            "strictatime" => f |= ms::STRICTATIME,
            _ => {}
        }
    }
    mount_flags(f)
}

/// One mount: a file system (or a subtree of one, for a bind mount)
/// attached at a path, with its own flags.
#[derive(Clone)]
pub struct Mount {
    /// Unique in the sandbox (mountinfo's first field).
    pub id: u32,
    /// The mount this one is attached to; 0 for the namespace's root.
    pub parent: u32,
    /// Normalised whole-namespace path, `/` for the root.
    pub point: String,
    pub fs: Arc<dyn FileSystem>,
    /// The directory (or file) of `fs` the mount shows: `/` unless a bind
    /// mount of a subtree.
    pub root: String,
    /// Per-mount flags (`ms::PER_MOUNT`).
    pub flags: u64,
    /// The propagation type asked for (`ms::PRIVATE` & co.); recorded,
    /// every mount behaves as private.
    pub propagation: u64,
    /// mountinfo's source field.
    pub source: String,
    /// The file system's options as mountinfo shows them after the type
    /// (`size=...,mode=...` for tmpfs), without the leading `rw`/`ro`.
    pub options: String,
    /// Where `fs` composes the whole-namespace paths of its links and
    /// descriptions (the point it was first mounted at); a mount elsewhere
    /// (a bind, a move, a pivot) translates its links' targets.
    home: String,
    /// The boot root: it resolves the caller's path itself (see the module
    /// header), so it gets the path as given.
    raw: bool,
    /// Marked by a first `umount2(MNT_EXPIRE)`.
    expiring: bool,
}

/// What a lookup consults: the mounts a path walk can reach, longest mount
/// point first, each with the file system that serves it (a
/// [`MountView`] when the mount is a bind of a subtree or has flags to
/// enforce).
struct Visible {
    point: String,
    serve: Arc<dyn FileSystem>,
    raw: bool,
    index: usize,
}

/// A mount namespace's mounts, in the order they were attached, as a tree
/// (each names its parent) like Linux's; a path is served by the mount a
/// walk from the root reaches (mounts stacked on one point: the last).
#[derive(Clone)]
pub struct MountTable {
    mounts: Vec<Mount>,
    visible: Arc<Vec<Visible>>,
}

/// Mount ids, unique across namespaces.
static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

fn next_id() -> u32 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// True when `path` is `prefix` or lies below it (both normalised).
pub(crate) fn under(path: &str, prefix: &str) -> bool {
    prefix == "/" || path == prefix || path.strip_prefix(prefix).is_some_and(|r| r.starts_with('/'))
}

/// `path` (under `prefix`) with `prefix` replaced by `by`.
pub(crate) fn rebase(path: &str, prefix: &str, by: &str) -> String {
    let rest = if prefix == "/" { path } else { &path[prefix.len()..] };
    match (by, rest) {
        (b, "" | "/") => b.to_string(),
        ("/", r) => r.to_string(),
        (b, r) => format!("{b}{r}"),
    }
}

impl MountTable {
    pub fn new(root: Arc<dyn FileSystem>) -> MountTable {
        let source = root.name().to_string();
        let mut t = MountTable {
            mounts: vec![Mount {
                id: next_id(),
                parent: 0,
                point: "/".into(),
                fs: root,
                root: "/".into(),
                flags: ms::RELATIME,
                propagation: ms::PRIVATE,
                source,
                options: String::new(),
                home: "/".into(),
                raw: true,
                expiring: false,
            }],
            visible: Arc::default(),
        };
        t.refresh();
        t
    }

    /// Mounts `fs` at `point` (the sandbox's boot mounts), on top of what
    /// is there.
    pub fn mount(&mut self, point: &str, fs: Arc<dyn FileSystem>) {
        self.mount_with(point, fs, ms::RELATIME, String::new());
    }

    /// Like [`mount`](Self::mount), with the mount's own `flags` and the
    /// file system's `options` as mountinfo shows them.
    pub fn mount_with(&mut self, point: &str, fs: Arc<dyn FileSystem>, flags: u64, options: String) {
        let source = fs.name().to_string();
        self.attach(point, fs, "/", flags, &source, options);
    }

    /// Attaches `fs` (its subtree `root`) at `point` with per-mount
    /// `flags`; returns the new mount's id.
    pub fn attach(
        &mut self,
        point: &str,
        fs: Arc<dyn FileSystem>,
        root: &str,
        flags: u64,
        source: &str,
        options: String,
    ) -> u32 {
        let point = normalize(point);
        let parent = self.mounts[self.walk(&point)].id;
        let id = next_id();
        self.mounts.push(Mount {
            id,
            parent,
            home: point.clone(),
            point,
            fs,
            root: normalize(root),
            flags: flags & ms::PER_MOUNT,
            propagation: ms::PRIVATE,
            source: source.to_string(),
            options,
            raw: false,
            expiring: false,
        });
        self.refresh();
        id
    }

    /// Every mount of the namespace (hidden ones too), in the order they
    /// were attached.
    pub fn all(&self) -> &[Mount] {
        &self.mounts
    }

    /// The index of the mount a walk of `norm` (normalised) ends on.
    fn walk(&self, norm: &str) -> usize {
        let mut cur = self.mounts.iter().position(|m| m.parent == 0).expect("a namespace has a root");
        let descend = |cur: &mut usize, at: &str| {
            // Mounts stacked on one point: the last attached is on top.
            while let Some(i) = self.mounts.iter().rposition(|m| m.parent == self.mounts[*cur].id && m.point == at) {
                *cur = i;
            }
        };
        descend(&mut cur, "/");
        let mut prefix = String::new();
        for c in norm.split('/').filter(|c| !c.is_empty()) {
            prefix.push('/');
            prefix.push_str(c);
            descend(&mut cur, &prefix);
        }
        cur
    }

    /// Recomputes what lookups consult after a change.
    fn refresh(&mut self) {
        let mut visible: Vec<Visible> = (0..self.mounts.len())
            .filter(|&i| self.walk(&self.mounts[i].point) == i)
            .map(|i| {
                let m = &self.mounts[i];
                let moved = m.home != "/" && m.home != m.point;
                let serve: Arc<dyn FileSystem> = if m.root == "/" && m.flags & ms::ENFORCED == 0 && !moved {
                    m.fs.clone()
                } else {
                    Arc::new(MountView::new(m.fs.clone(), &m.root, m.flags, &m.point, &m.home))
                };
                Visible { point: m.point.clone(), serve, raw: m.raw && m.root == "/", index: i }
            })
            .collect();
        visible.sort_by_key(|v| std::cmp::Reverse(v.point.len()));
        self.visible = Arc::new(visible);
    }

    /// The mount whose root `path` names (after normalisation): the top
    /// one, as umount2 and MS_REMOUNT find it. None when `path` is not a
    /// mount point.
    pub fn mount_at(&self, path: &str) -> Option<&Mount> {
        let norm = normalize(path);
        let i = self.walk(&norm);
        (self.mounts[i].point == norm).then(|| &self.mounts[i])
    }

    /// The mount serving `path`, and `path` within that mount's file
    /// system (its bind root prefixed).
    pub fn mount_of(&self, path: &str) -> (&Mount, String) {
        let norm = normalize(path);
        let m = &self.mounts[self.walk(&norm)];
        let rest = rebase(&norm, &m.point, "/");
        (m, if m.root == "/" { rest } else { rebase(&rest, "/", &m.root) })
    }

    /// Detaches mount `id`; with `detach` (MNT_DETACH) the mounts below it
    /// go too, otherwise they make it EBUSY.
    pub fn unmount(&mut self, id: u32, detach: bool) -> Result<(), Errno> {
        let m = self.mounts.iter().find(|m| m.id == id).ok_or(Errno::EINVAL)?;
        if m.parent == 0 {
            // The namespace's root cannot go (Linux: EINVAL... or EBUSY
            // with MNT_DETACH refused for the root).
            return Err(Errno::EINVAL);
        }
        if !detach && self.mounts.iter().any(|c| c.parent == id) {
            return Err(Errno::EBUSY);
        }
        let mut gone = vec![id];
        let mut i = 0;
        while i < gone.len() {
            let p = gone[i];
            gone.extend(self.mounts.iter().filter(|c| c.parent == p).map(|c| c.id));
            i += 1;
        }
        self.mounts.retain(|m| !gone.contains(&m.id));
        self.refresh();
        Ok(())
    }

    /// MNT_EXPIRE: marks mount `id`; true if it was marked already (then
    /// it goes).
    pub fn mark_expiry(&mut self, id: u32) -> bool {
        let Some(m) = self.mounts.iter_mut().find(|m| m.id == id) else { return false };
        std::mem::replace(&mut m.expiring, true)
    }

    /// Sets mount `id`'s per-mount flags (a remount).
    pub fn set_flags(&mut self, id: u32, flags: u64) {
        if let Some(m) = self.mounts.iter_mut().find(|m| m.id == id) {
            m.flags = flags & ms::PER_MOUNT;
        }
        self.refresh();
    }

    /// Sets the per-mount flags of the mount whose root `point` is.
    pub fn set_flags_at(&mut self, point: &str, flags: u64) {
        if let Some(id) = self.mount_at(point).map(|m| m.id) {
            self.set_flags(id, flags);
        }
    }

    /// Records propagation type `kind` on mount `id`, and on every mount
    /// below it when `rec`.
    pub fn set_propagation(&mut self, id: u32, kind: u64, rec: bool) {
        let mut ids = vec![id];
        let mut i = 0;
        while rec && i < ids.len() {
            let p = ids[i];
            ids.extend(self.mounts.iter().filter(|c| c.parent == p).map(|c| c.id));
            i += 1;
        }
        for m in self.mounts.iter_mut().filter(|m| ids.contains(&m.id)) {
            m.propagation = kind;
        }
    }

    /// A bind mount: `source`'s mount (with the mounts below it when
    /// `rec`) shown again at `target`, from the source's place in its file
    /// system. Returns the new mount's id.
    pub fn bind(&mut self, source: &str, target: &str, rec: bool) -> u32 {
        let norm = normalize(source);
        let (m, inner) = self.mount_of(&norm);
        let m = m.clone();
        // Mounts below the source (the ones a walk reaches, shortest
        // point first), taken before the copy is attached.
        let below: Vec<Mount> = if rec {
            self.visible
                .iter()
                .rev()
                .map(|v| self.mounts[v.index].clone())
                .filter(|c| c.point != norm && under(&c.point, &norm))
                .collect()
        } else {
            Vec::new()
        };
        let id = self.attach(target, m.fs.clone(), &inner, m.flags, &m.source, m.options.clone());
        self.set_home(id, &m.home);
        let target = normalize(target);
        for c in below {
            let copy = self.attach(&rebase(&c.point, &norm, &target), c.fs, &c.root, c.flags, &c.source, c.options);
            self.set_home(copy, &c.home);
        }
        id
    }

    fn set_home(&mut self, id: u32, home: &str) {
        if let Some(m) = self.mounts.iter_mut().find(|m| m.id == id) {
            m.home = home.to_string();
        }
        self.refresh();
    }

    /// MS_MOVE: mount `id` (and the mounts below it) moves to `target`.
    pub fn move_mount(&mut self, id: u32, target: &str) -> Result<(), Errno> {
        let target = normalize(target);
        let from = self.mounts.iter().find(|m| m.id == id).ok_or(Errno::EINVAL)?.point.clone();
        if under(&target, &from) {
            // Onto itself or below: Linux refuses (ELOOP for a loop).
            return Err(Errno::EINVAL);
        }
        let subtree = self.subtree(id);
        for m in self.mounts.iter_mut().filter(|m| subtree.contains(&m.id)) {
            m.point = rebase(&m.point, &from, &target);
        }
        // Detached from its old parent before finding the new one.
        if let Some(m) = self.mounts.iter_mut().find(|m| m.id == id) {
            m.parent = u32::MAX;
        }
        let parent = self.mounts[self.walk(&target)].id;
        if let Some(m) = self.mounts.iter_mut().find(|m| m.id == id) {
            m.parent = parent;
        }
        self.refresh();
        Ok(())
    }

    /// The ids of mount `id` and every mount below it.
    fn subtree(&self, id: u32) -> Vec<u32> {
        let mut ids = vec![id];
        let mut i = 0;
        while i < ids.len() {
            let p = ids[i];
            ids.extend(self.mounts.iter().filter(|c| c.parent == p).map(|c| c.id));
            i += 1;
        }
        ids
    }

    /// pivot_root: the mount whose root is `new_root` becomes the
    /// namespace's root and the old root is attached at `put_old` (a path
    /// under `new_root`; both normalised, checked by the caller). Every
    /// mount's point moves with it: under `new_root` it loses that prefix,
    /// elsewhere it gains `put_old`'s new place.
    pub fn pivot(&mut self, new_root: &str, put_old: &str) -> Result<(), Errno> {
        let new_root = normalize(new_root);
        let put_old = rebase(&normalize(put_old), &new_root, "/");
        let ni = self.walk(&new_root);
        let new_id = self.mounts[ni].id;
        let old_i = self.mounts.iter().position(|m| m.parent == 0).expect("a root");
        let old_id = self.mounts[old_i].id;
        if new_id == old_id || self.mounts[ni].point != new_root {
            return Err(Errno::EINVAL);
        }
        let inside = self.subtree(new_id);
        for m in self.mounts.iter_mut() {
            m.point =
                if inside.contains(&m.id) { rebase(&m.point, &new_root, "/") } else { rebase(&m.point, "/", &put_old) };
        }
        self.mounts[ni].parent = 0;
        // The old root hangs from whatever put_old reaches in the new tree.
        self.mounts[old_i].parent = u32::MAX;
        let at = self.mounts[self.walk(&put_old)].id;
        self.mounts[old_i].parent = at;
        self.refresh();
        Ok(())
    }

    /// True when `a` and `b` are the same mounted file system (rename and
    /// link across mounts are EXDEV).
    pub fn same(a: &Arc<dyn FileSystem>, b: &Arc<dyn FileSystem>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
    }

    /// The file system serving the absolute path `path`, and the path
    /// within it.
    pub fn lookup(&self, path: &str) -> (Arc<dyn FileSystem>, String) {
        let norm = normalize(path);
        for v in self.visible.iter() {
            if v.point == "/" {
                if v.raw {
                    // The gofer resolves the path itself, symlinks and all.
                    return (v.serve.clone(), path.to_string());
                }
                return (v.serve.clone(), norm);
            }
            if let Some(rest) = norm.strip_prefix(&v.point) {
                if rest.is_empty() {
                    return (v.serve.clone(), "/".into());
                }
                if rest.starts_with('/') {
                    return (v.serve.clone(), rest.to_string());
                }
            }
        }
        unreachable!("the table always holds the root mount")
    }
}

/// A mount namespace: the table behind a lock. Lookups (every path
/// syscall) take the read side for a clone of the file system's `Arc`;
/// mount, umount2 and pivot_root take the write side.
pub struct MountNamespace {
    table: std::sync::RwLock<MountTable>,
    /// The pivot_roots done in this namespace, as (new_root, put_old),
    /// whole-namespace paths before each: the other tasks' working
    /// directories and roots follow them when they next enter the kernel
    /// (`Task::follow_pivots`).
    pivots: std::sync::Mutex<Vec<(String, String)>>,
    pivot_count: std::sync::atomic::AtomicUsize,
}

impl MountNamespace {
    pub fn new(table: MountTable) -> Arc<MountNamespace> {
        Arc::new(MountNamespace {
            table: std::sync::RwLock::new(table),
            pivots: Default::default(),
            pivot_count: Default::default(),
        })
    }

    /// How many pivot_roots this namespace has seen.
    pub fn pivot_count(&self) -> usize {
        self.pivot_count.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records a pivot_root (the table has changed already).
    pub fn record_pivot(&self, new_root: &str, put_old: &str) {
        let mut p = self.pivots.lock().unwrap_or_else(|e| e.into_inner());
        p.push((new_root.to_string(), put_old.to_string()));
        self.pivot_count.store(p.len(), std::sync::atomic::Ordering::Release);
    }

    /// `path` (a whole-namespace path named before pivot_root number
    /// `since`) as it is named now: Linux's `chroot_fs_refs` moves a root
    /// or working directory that was the old root to the new one; any other
    /// moves with its mount.
    pub fn after_pivots(&self, since: usize, path: &str) -> String {
        let pivots = self.pivots.lock().unwrap_or_else(|e| e.into_inner());
        let mut path = path.to_string();
        for (new_root, put_old) in pivots.iter().skip(since) {
            path = pivoted(new_root, put_old, &path);
        }
        path
    }

    /// A new namespace holding a copy of this one's mounts
    /// (CLONE_NEWNS).
    pub fn copy(&self) -> Arc<MountNamespace> {
        MountNamespace::new(self.read().clone())
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, MountTable> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, MountTable> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lookup(&self, path: &str) -> (Arc<dyn FileSystem>, String) {
        self.read().lookup(path)
    }

    /// Opens `path` for reading through the mount table on behalf of
    /// `who`, following links (see `FileSystem::open_read_as`).
    pub fn open_read_as(&self, who: &Who, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        let mut path = path.to_string();
        for _ in 0..=MAX_SYMLINKS {
            let (fs, inner) = self.lookup(&path);
            match fs.follow_as(who, &inner, true)? {
                Some(next) => path = next,
                None => return fs.open_read_as(who, &inner),
            }
        }
        Err(Errno::ELOOP)
    }

    /// Like [`lookup`](MountTable::lookup), after following the synthetic
    /// file systems' symlinks (the last component's too when
    /// `follow_last`).
    pub fn resolve(&self, task: &Task, path: &str, follow_last: bool) -> Result<(Arc<dyn FileSystem>, String), Errno> {
        self.resolve_named(task, path, follow_last).map(|(fs, inner, _)| (fs, inner))
    }

    /// Like [`resolve`](Self::resolve), with the absolute path reached
    /// (after the synthetic file systems' links).
    pub fn resolve_named(
        &self,
        task: &Task,
        path: &str,
        follow_last: bool,
    ) -> Result<(Arc<dyn FileSystem>, String, String), Errno> {
        let mut path = path.to_string();
        for _ in 0..=MAX_SYMLINKS {
            let (fs, inner) = self.lookup(&path);
            match fs.follow(task, &inner, follow_last)? {
                Some(next) => path = confine(&task.root, fs.name(), next),
                None => return Ok((fs, inner, path)),
            }
        }
        Err(Errno::ELOOP)
    }
}

/// Where the whole-namespace `path` is after `pivot(new_root, put_old)`.
pub fn pivoted(new_root: &str, put_old: &str, path: &str) -> String {
    let norm = normalize(path);
    if norm == "/" {
        return norm;
    }
    if under(&norm, new_root) {
        rebase(&norm, new_root, "/")
    } else {
        rebase(&norm, "/", &rebase(put_old, new_root, "/"))
    }
}

/// Where a symlink a file system followed leads for a task whose root is
/// `root`: a link's target starts at the root if absolute, and `..` in it
/// stops there (the file system composed the path in the whole namespace).
/// procfs's and devfs's links name whole-namespace paths already (a
/// descriptor's file, a working directory) and stay as they are.
fn confine(root: &str, fs: &str, next: String) -> String {
    if root == "/" || matches!(fs, "proc" | "devfs") {
        return next;
    }
    let inner = view(root, &next).unwrap_or(next);
    rooted(root, root, &inner)
}

/// Lexically removes `.`, `..` and repeated slashes from an absolute path.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The path in the sandbox's whole namespace that `path` names for a
/// process whose root (`chroot`) is `root`: an absolute path starts at
/// `root`, a relative one at `base` (a whole-namespace path: the working
/// directory or a directory descriptor's), and `..` does not climb above
/// `root` while the walk is inside it (Linux's `follow_dotdot`). A `base`
/// outside the root (a chroot without chdir) walks where it leads, as on
/// Linux. With `/` as the root this is `loader::absolute`: the path is not
/// touched.
pub fn rooted(root: &str, base: &str, path: &str) -> String {
    if root == "/" {
        return crate::loader::absolute(base, path);
    }
    let at_root = |p: String| if p == "/" { root.to_string() } else { format!("{root}{p}") };
    if path.starts_with('/') {
        return at_root(normalize(path));
    }
    match view(root, &normalize(base)) {
        Some(inner) => at_root(normalize(&format!("{inner}/{path}"))),
        None => crate::loader::absolute(base, path),
    }
}

/// How a process whose root is `root` names the whole-namespace `path`
/// (Linux's `d_path` against the caller's root); None when it lies
/// outside.
pub fn view(root: &str, path: &str) -> Option<String> {
    if root == "/" {
        return Some(path.to_string());
    }
    let rest = path.strip_prefix(root)?;
    match rest {
        "" => Some("/".into()),
        r if r.starts_with('/') => Some(r.to_string()),
        _ => None,
    }
}

/// Joins `base` (absolute) and a link target, as a symlink's target is
/// read: absolute targets replace `base`, relative ones are appended.
pub fn join(base: &str, target: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{}/{}", base.trim_end_matches('/'), target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);
    impl FileSystem for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn open(&self, _: &Task, _: &str, _: u64, _: u32) -> Result<Arc<dyn FileDescription>, Errno> {
            Err(Errno::ENOENT)
        }
        fn stat(&self, _: &Task, _: &str, _: bool) -> Result<Stat, Errno> {
            Err(Errno::ENOENT)
        }
        fn readlink(&self, _: &Task, _: &str) -> Result<String, Errno> {
            Err(Errno::EINVAL)
        }
        fn statfs(&self, _: &Task, _: &str) -> Result<Statfs, Errno> {
            Err(Errno::ENOSYS)
        }
    }

    fn table() -> MountTable {
        let mut t = MountTable::new(Arc::new(Named("root")));
        t.mount("/dev", Arc::new(Named("dev")));
        t.mount("/proc", Arc::new(Named("proc")));
        t.mount("/dev/pts/", Arc::new(Named("pts")));
        t
    }

    fn at(t: &MountTable, p: &str) -> (&'static str, String) {
        let (fs, inner) = t.lookup(p);
        (fs.name(), inner)
    }

    #[test]
    fn longest_prefix_on_component_boundaries() {
        let t = table();
        assert_eq!(at(&t, "/dev/null"), ("dev", "/null".into()));
        assert_eq!(at(&t, "/dev"), ("dev", "/".into()));
        assert_eq!(at(&t, "/dev/"), ("dev", "/".into()));
        assert_eq!(at(&t, "/dev/pts/0"), ("pts", "/0".into()));
        assert_eq!(at(&t, "/dev/ptsx"), ("dev", "/ptsx".into()));
        assert_eq!(at(&t, "/device"), ("root", "/device".into()));
        assert_eq!(at(&t, "/proc/self/exe"), ("proc", "/self/exe".into()));
        assert_eq!(at(&t, "/"), ("root", "/".into()));
    }

    #[test]
    fn matching_is_on_the_normalised_path() {
        let t = table();
        assert_eq!(at(&t, "//dev/./null"), ("dev", "/null".into()));
        assert_eq!(at(&t, "/etc/../dev/zero"), ("dev", "/zero".into()));
        assert_eq!(at(&t, "/dev/../proc"), ("proc", "/".into()));
        // The root mount gets the path as given: the gofer walks it.
        assert_eq!(at(&t, "/dev/../etc//passwd"), ("root", "/dev/../etc//passwd".into()));
    }

    #[test]
    fn mounts_stack_and_unmount() {
        let mut t = table();
        t.mount("/dev", Arc::new(Named("dev2")));
        assert_eq!(at(&t, "/dev/null"), ("dev2", "/null".into()));
        // /dev/pts hangs from the first /dev, which the second hides.
        assert_eq!(at(&t, "/dev/pts/0"), ("dev2", "/pts/0".into()));
        assert_eq!(t.all().len(), 5);
        let top = t.mount_at("/dev").unwrap().id;
        t.unmount(top, false).unwrap();
        assert_eq!(at(&t, "/dev/pts/0"), ("pts", "/0".into()));
        let dev = t.mount_at("/dev").unwrap().id;
        assert_eq!(t.unmount(dev, false), Err(Errno::EBUSY));
        t.unmount(dev, true).unwrap();
        assert_eq!(at(&t, "/dev/pts/0"), ("root", "/dev/pts/0".into()));
        assert!(t.mount_at("/dev").is_none());
        assert!(t.mount_at("/").is_some());
    }

    #[test]
    fn a_mount_over_a_parent_hides_the_mounts_below() {
        let mut t = table();
        t.mount("/a/b", Arc::new(Named("b")));
        t.mount("/a", Arc::new(Named("a")));
        assert_eq!(at(&t, "/a/b/c"), ("a", "/b/c".into()));
        let a = t.mount_at("/a").unwrap().id;
        t.unmount(a, false).unwrap();
        assert_eq!(at(&t, "/a/b/c"), ("b", "/c".into()));
    }

    #[test]
    fn binds_show_a_subtree() {
        let mut t = table();
        t.mount("/mnt", Arc::new(Named("tmp")));
        t.mount("/mnt/sub/m", Arc::new(Named("m")));
        t.bind("/mnt/sub", "/b", false);
        assert_eq!(t.mount_of("/b/x").1, "/sub/x");
        assert_eq!(at(&t, "/b/m/x").0, "tmp");
        t.bind("/mnt/sub", "/r", true);
        assert_eq!(at(&t, "/r/m/x"), ("m", "/x".into()));
        // A bind of a file of the root.
        t.bind("/etc/hosts", "/h", false);
        assert_eq!(t.mount_of("/h").1, "/etc/hosts");
    }

    #[test]
    fn pivot_moves_every_mount() {
        let mut t = table();
        t.mount("/new", Arc::new(Named("new")));
        t.mount("/new/proc", Arc::new(Named("proc2")));
        t.pivot("/new", "/new/old").unwrap();
        assert_eq!(at(&t, "/x"), ("new", "/x".into()));
        assert_eq!(at(&t, "/proc/1"), ("proc2", "/1".into()));
        assert_eq!(at(&t, "/old/etc/passwd"), ("root", "/etc/passwd".into()));
        assert_eq!(at(&t, "/old/dev/null"), ("dev", "/null".into()));
        let old = t.mount_at("/old").unwrap().id;
        t.unmount(old, true).unwrap();
        assert_eq!(t.all().len(), 2);
        assert_eq!(at(&t, "/old/etc"), ("new", "/old/etc".into()));
    }

    #[test]
    fn pivot_onto_itself_stacks_the_old_root() {
        let mut t = table();
        t.mount("/new", Arc::new(Named("new")));
        t.pivot("/new", "/new").unwrap();
        // runc: the old root is on top of `/` until unmounted.
        assert_eq!(at(&t, "/dev/null"), ("dev", "/null".into()));
        assert_eq!(at(&t, "/etc").0, "root");
        let old = t.mount_at("/").unwrap().id;
        t.unmount(old, true).unwrap();
        assert_eq!(at(&t, "/etc"), ("new", "/etc".into()));
        assert_eq!(at(&t, "/dev/null"), ("new", "/dev/null".into()));
    }

    #[test]
    fn paths_follow_a_pivot() {
        // The old root stays the root (chroot_fs_refs); the rest moves.
        assert_eq!(pivoted("/new", "/new/old", "/"), "/");
        assert_eq!(pivoted("/new", "/new/old", "/new"), "/");
        assert_eq!(pivoted("/new", "/new/old", "/new/a"), "/a");
        assert_eq!(pivoted("/new", "/new/old", "/etc"), "/old/etc");
        assert_eq!(pivoted("/new", "/new", "/etc"), "/etc");
        let ns = MountNamespace::new(table());
        ns.record_pivot("/a", "/a/o");
        ns.record_pivot("/b", "/b/p");
        assert_eq!(ns.pivot_count(), 2);
        assert_eq!(ns.after_pivots(0, "/x"), "/p/o/x");
        assert_eq!(ns.after_pivots(1, "/b/c"), "/c");
    }

    #[test]
    fn moves_and_copies() {
        let mut t = table();
        t.mount("/a", Arc::new(Named("a")));
        t.mount("/a/in", Arc::new(Named("in")));
        let a = t.mount_at("/a").unwrap().id;
        t.move_mount(a, "/b").unwrap();
        assert_eq!(at(&t, "/b/in/x"), ("in", "/x".into()));
        assert_eq!(at(&t, "/a/in/x").0, "root");
        let copy = t.clone();
        let b = t.mount_at("/b").unwrap().id;
        t.unmount(b, true).unwrap();
        assert_eq!(at(&copy, "/b/in/x"), ("in", "/x".into()));
    }

    #[test]
    fn a_root_confines_paths_and_dotdot() {
        assert_eq!(rooted("/", "/w", "../x/./y"), "/w/../x/./y");
        assert_eq!(rooted("/", "/w", "/abs//p"), "/abs//p");
        assert_eq!(rooted("/jail", "/jail/w", "/etc/passwd"), "/jail/etc/passwd");
        assert_eq!(rooted("/jail", "/jail/w", "/"), "/jail");
        assert_eq!(rooted("/jail", "/jail/w", "/../../etc"), "/jail/etc");
        assert_eq!(rooted("/jail", "/jail/w", "../../../x"), "/jail/x");
        assert_eq!(rooted("/jail", "/jail", ".."), "/jail");
        assert_eq!(rooted("/jail", "/jail/w", "f"), "/jail/w/f");
        // A working directory outside the root is not confined (Linux).
        assert_eq!(rooted("/jail", "/out", "../x"), "/out/../x");
        assert_eq!(rooted("/jail", "/jailbreak", "x"), "/jailbreak/x");
        assert_eq!(view("/jail", "/jail/a/b"), Some("/a/b".into()));
        assert_eq!(view("/jail", "/jail"), Some("/".into()));
        assert_eq!(view("/jail", "/jailbreak"), None);
        assert_eq!(view("/jail", "/etc"), None);
        assert_eq!(view("/", "/etc"), Some("/etc".into()));
        // Links followed by a file system: absolute targets start at the
        // root, `..` stops there; synthetic links stay whole-namespace.
        assert_eq!(confine("/jail", "overlay", "/etc".into()), "/jail/etc");
        assert_eq!(confine("/jail", "overlay", "/jail/sub/../../../x".into()), "/jail/x");
        assert_eq!(confine("/jail", "proc", "/elsewhere".into()), "/elsewhere");
        assert_eq!(confine("/", "overlay", "/a/../b".into()), "/a/../b");
    }

    /// The cost of a lookup, with and without the namespace's lock:
    /// `cargo test --release -p sentry lookup_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement"]
    fn lookup_cost() {
        let mut t = table();
        t.mount("/dev/shm", Arc::new(Named("shm")));
        t.mount("/sys", Arc::new(Named("sys")));
        t.mount("/dev/mqueue", Arc::new(Named("mq")));
        let ns = MountNamespace::new(t.clone());
        const N: u32 = 1_000_000;
        for path in ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/dev/null"] {
            let start = std::time::Instant::now();
            for _ in 0..N {
                std::hint::black_box(t.lookup(std::hint::black_box(path)));
            }
            let bare = start.elapsed() / N;
            let start = std::time::Instant::now();
            for _ in 0..N {
                std::hint::black_box(ns.lookup(std::hint::black_box(path)));
            }
            let locked = start.elapsed() / N;
            println!("{path}: table {bare:?}, through the namespace's lock {locked:?}");
        }
    }

    #[test]
    fn paths_normalise_and_join() {
        assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(join("/proc", "1"), "/proc/1");
        assert_eq!(join("/dev/", "/proc/self/fd"), "/proc/self/fd");
    }
}
