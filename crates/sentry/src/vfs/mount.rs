//! The mount table (gVisor: `vfs/mount.go`, much reduced): which file
//! system serves an absolute path. One table per kernel, fixed at boot:
//! the gofer's tree at `/`, devfs at `/dev`, procfs at `/proc`.
//!
//! A path is matched by the longest mount point that is a prefix of it on
//! a component boundary, after lexical normalisation (`.`, `..` and
//! repeated slashes removed).
//!
//! Limits, today:
//! * There is no dentry tree and no walk across mounts inside the gofer's
//!   tree. The root mount receives the caller's path unchanged and the
//!   gofer resolves it inside the container root: a symlink there that
//!   points into `/dev` or `/proc` resolves in the gofer's tree (the empty
//!   directories of the rootfs), not in devfs or procfs. Likewise a `..`
//!   that follows a symlink in the path is taken lexically when matching.
//! * Symlinks of the synthetic file systems (`/dev/fd`, `/proc/self`,
//!   `/proc/<pid>/exe`...) are followed here, by [`FileSystem::follow`],
//!   so they may lead anywhere, the gofer's tree included.
//! * Mounts are not visible to `mount(2)`/`/proc/self/mounts` yet.

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

struct Mount {
    /// Normalised absolute path, `/` for the root.
    point: String,
    fs: Arc<dyn FileSystem>,
}

/// The kernel's mounts, longest mount point first.
pub struct MountTable {
    mounts: Vec<Mount>,
}

impl MountTable {
    pub fn new(root: Arc<dyn FileSystem>) -> MountTable {
        MountTable { mounts: vec![Mount { point: "/".into(), fs: root }] }
    }

    /// Mounts `fs` at `point`, hiding what was there.
    pub fn mount(&mut self, point: &str, fs: Arc<dyn FileSystem>) {
        let point = normalize(point);
        self.mounts.retain(|m| m.point != point);
        self.mounts.push(Mount { point, fs });
        self.mounts.sort_by_key(|m| std::cmp::Reverse(m.point.len()));
    }

    /// Every mount, as (mount point, file system), the root first.
    pub fn mounts(&self) -> Vec<(&str, &Arc<dyn FileSystem>)> {
        let mut v: Vec<_> = self.mounts.iter().map(|m| (m.point.as_str(), &m.fs)).collect();
        v.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(b.0)));
        v
    }

    /// The file system serving the absolute path `path`, and the path
    /// within it.
    /// True when `a` and `b` are the same mounted file system (rename and
    /// link across mounts are EXDEV).
    pub fn same(a: &Arc<dyn FileSystem>, b: &Arc<dyn FileSystem>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
    }

    pub fn lookup(&self, path: &str) -> (&Arc<dyn FileSystem>, String) {
        let norm = normalize(path);
        for m in &self.mounts {
            if m.point == "/" {
                // The gofer resolves the path itself, symlinks and all.
                return (&m.fs, path.to_string());
            }
            if let Some(rest) = norm.strip_prefix(&m.point) {
                if rest.is_empty() {
                    return (&m.fs, "/".into());
                }
                if rest.starts_with('/') {
                    return (&m.fs, rest.to_string());
                }
            }
        }
        unreachable!("the table always holds the root mount")
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

    /// Like [`lookup`](Self::lookup), after following the synthetic file
    /// systems' symlinks (the last component's too when `follow_last`).
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
                None => return Ok((fs.clone(), inner, path)),
            }
        }
        Err(Errno::ELOOP)
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
    fn remounting_replaces() {
        let mut t = table();
        t.mount("/dev", Arc::new(Named("dev2")));
        assert_eq!(at(&t, "/dev/null"), ("dev2", "/null".into()));
        assert_eq!(t.mounts.len(), 4);
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

    #[test]
    fn paths_normalise_and_join() {
        assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(join("/proc", "1"), "/proc/1");
        assert_eq!(join("/dev/", "/proc/self/fd"), "/proc/self/fd");
    }
}
