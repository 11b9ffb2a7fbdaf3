//! Where changes are reported to inotify (gVisor: `vfs/inotify.go`'s
//! callers; Linux `include/linux/fsnotify.h`): the syscall layer calls
//! these after a change succeeds, for every file system alike. Each
//! starts with [`Notifier::active`], so a write when nobody watches costs
//! one atomic load.
//!
//! Inodes are named by `(st_dev, st_ino)` of `stat`. A directory watch
//! hears of a child through the path the change went by (its parent
//! directory and last component), since the sentry has no dentry tree: an
//! event on an open file goes to the directory of the path it was opened
//! by, and is marked as for an unlinked child (`IN_EXCL_UNLINK`) when that
//! path no longer leads to the file. A change through a path whose last
//! component is a symlink that is followed reaches the target's watches
//! but not its directory's.

use super::mount::{normalize, SetAttr};
use super::FileDescription;
use crate::fs::inotify::{self as ino, inode_id, InodeId, Notifier, Target};
use crate::kernel::Task;
use abi::Stat;
use std::sync::Arc;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

fn notifier(task: &Task) -> Option<&Notifier> {
    Some(&*task.kernel.inotify).filter(|n| n.active())
}

fn isdir(st: &Stat) -> u32 {
    if st.mode & S_IFMT == S_IFDIR {
        ino::IN_ISDIR
    } else {
        0
    }
}

/// The parent directory and last component of the absolute `path`
/// (normalised); None for the root.
fn split(path: &str) -> Option<(String, String)> {
    let norm = normalize(path);
    let (parent, name) = norm.rsplit_once('/')?;
    if name.is_empty() {
        return None;
    }
    Some((if parent.is_empty() { "/".into() } else { parent.to_string() }, name.to_string()))
}

fn stat_path(task: &Task, path: &str, follow: bool) -> Option<Stat> {
    let (fs, inner) = task.mnt.resolve(task, path, follow).ok()?;
    fs.stat(task, &inner, follow).ok()
}

/// What a path names before a change that may remove it: its inode, its
/// link count and whether it is a directory. Taken only while watches
/// exist.
#[derive(Clone, Copy)]
pub struct Before {
    id: InodeId,
    nlink: u64,
    isdir: u32,
}

/// `lstat` of `path` for a later [`removed`] or [`renamed`], if anyone
/// watches.
pub fn before(task: &Task, path: &str) -> Option<Before> {
    notifier(task)?;
    let st = stat_path(task, path, false)?;
    Some(Before { id: inode_id(&st), nlink: st.nlink, isdir: isdir(&st) })
}

fn parent_of(task: &Task, path: &str) -> Option<(InodeId, String)> {
    let (parent, name) = split(path)?;
    Some((inode_id(&stat_path(task, &parent, true)?), name))
}

/// An event on an open file (read, write, open, close, a change of its
/// attributes through the descriptor), to its watches and its directory's.
pub fn file_event(task: &Task, file: &dyn FileDescription, mask: u32) {
    let Some(n) = notifier(task) else { return };
    let path = file.path();
    if !path.starts_with('/') {
        return; // pipes, sockets, anonymous files
    }
    let Ok(st) = file.stat() else { return };
    let id = inode_id(&st);
    let parent = parent_of(task, &path);
    let unlinked = stat_path(task, &path, false).is_none_or(|s| inode_id(&s) != id);
    let target = Target { inode: Some(id), parent: parent.as_ref().map(|(p, name)| (*p, name.as_str())), unlinked };
    n.notify(target, mask | isdir(&st), 0);
}

/// `n` bytes were read from `file`: IN_ACCESS unless none (Linux reports
/// reads that return data). Returns `n`.
pub fn accessed(task: &Task, file: &dyn FileDescription, n: usize) -> usize {
    if n > 0 && task.kernel.inotify.active() {
        file_event(task, file, ino::IN_ACCESS);
    }
    n
}

/// `n` bytes were written to `file`: IN_MODIFY unless none. Returns `n`.
pub fn modified(task: &Task, file: &dyn FileDescription, n: usize) -> usize {
    if n > 0 && task.kernel.inotify.active() {
        file_event(task, file, ino::IN_MODIFY);
    }
    n
}

/// `open` of `path` gave `file`: IN_CREATE first if it made the file
/// (`existed` is whether it was there before an O_CREAT open), IN_OPEN,
/// then IN_MODIFY if O_TRUNC truncated an existing regular file, in
/// Linux's order.
pub fn opened(task: &Task, path: &str, file: &dyn FileDescription, existed: Option<bool>, flags: u64) {
    if notifier(task).is_none() {
        return;
    }
    if existed == Some(false) {
        created(task, path);
    }
    file_event(task, file, ino::IN_OPEN);
    let regular = || file.stat().is_ok_and(|st| st.mode & S_IFMT == 0o100000);
    if flags & abi::fcntl::O_TRUNC != 0 && existed != Some(false) && regular() {
        file_event(task, file, ino::IN_MODIFY);
    }
}

/// An event on the file at `path` (followed if `follow`): a change of its
/// attributes by path.
pub fn path_event(task: &Task, path: &str, follow: bool, mask: u32) {
    let Some(n) = notifier(task) else { return };
    let Some(st) = stat_path(task, path, follow) else { return };
    // A followed link's target lives in a directory the path does not name.
    let link = follow && stat_path(task, path, false).is_some_and(|l| l.mode & S_IFMT == S_IFLNK);
    let parent = if link { None } else { parent_of(task, path) };
    let target = Target {
        inode: Some(inode_id(&st)),
        parent: parent.as_ref().map(|(p, name)| (*p, name.as_str())),
        unlinked: false,
    };
    n.notify(target, mask | isdir(&st), 0);
}

/// The events of an attribute change (Linux `fsnotify_change`): a size
/// or modification time alone is a modification, an access time alone an
/// access, anything else (owner, mode, both times) an attribute change.
pub fn setattr_mask(attr: &SetAttr) -> u32 {
    let mut mask = 0;
    if attr.mode.is_some() || attr.uid.is_some() || attr.gid.is_some() {
        mask |= ino::IN_ATTRIB;
    }
    if attr.size.is_some() {
        mask |= ino::IN_MODIFY;
    }
    match (attr.atime.is_some(), attr.mtime.is_some()) {
        (true, true) => mask |= ino::IN_ATTRIB,
        (true, false) => mask |= ino::IN_ACCESS,
        (false, true) => mask |= ino::IN_MODIFY,
        (false, false) => {}
    }
    mask
}

/// Something new at `path` (creat, mkdir, mknod, symlink, link):
/// `IN_CREATE` to its directory.
pub fn created(task: &Task, path: &str) {
    let Some(n) = notifier(task) else { return };
    let Some(st) = stat_path(task, path, false) else { return };
    if let Some((p, name)) = parent_of(task, path) {
        n.notify(Target { inode: None, parent: Some((p, &name)), unlinked: false }, ino::IN_CREATE | isdir(&st), 0);
    }
}

/// A new link at `new` to the inode `old` names: its link count changed
/// (IN_ATTRIB to its watches), and `new` was created.
pub fn linked(task: &Task, new: &str) {
    let Some(n) = notifier(task) else { return };
    if let Some(st) = stat_path(task, new, false) {
        n.notify(Target { inode: Some(inode_id(&st)), parent: None, unlinked: false }, ino::IN_ATTRIB, 0);
    }
    created(task, new);
}

/// `path`, which named `what`, was unlinked or removed (rmdir): the
/// inode's link count dropped (a file's watches hear IN_ATTRIB), the inode
/// went if that was its last link (IN_DELETE_SELF, then the watches go
/// with IN_IGNORED), and its directory hears IN_DELETE. Linux keeps an
/// inode that is still open until its last close; here its watches end
/// with the last link.
pub fn removed(task: &Task, path: &str, what: Option<Before>) {
    let (Some(n), Some(b)) = (notifier(task), what) else { return };
    if b.isdir == 0 {
        n.notify(Target { inode: Some(b.id), parent: None, unlinked: false }, ino::IN_ATTRIB, 0);
    }
    if b.isdir != 0 || b.nlink <= 1 {
        n.inode_gone(b.id);
    }
    if let Some((p, name)) = parent_of(task, path) {
        n.notify(Target { inode: None, parent: Some((p, &name)), unlinked: false }, ino::IN_DELETE | b.isdir, 0);
    }
}

/// `old` was renamed to `new` (`source` as `old` named it, `target` what
/// `new` named before, if anything): IN_MOVED_FROM and IN_MOVED_TO with
/// one cookie to the two directories, IN_MOVE_SELF to the moved inode's
/// watches, and the replaced inode loses a link (Linux `fsnotify_move`).
pub fn renamed(task: &Task, old: &str, new: &str, source: Option<Before>, target: Option<Before>) {
    let (Some(n), Some(src)) = (notifier(task), source) else { return };
    if target.is_some_and(|t| t.id == src.id) {
        return; // two links of one inode: Linux does nothing
    }
    let cookie = n.next_cookie();
    // The old name is gone: its directory is found by path still.
    if let Some((p, name)) = parent_of(task, old) {
        n.notify(
            Target { inode: None, parent: Some((p, &name)), unlinked: false },
            ino::IN_MOVED_FROM | src.isdir,
            cookie,
        );
    }
    if let Some((p, name)) = parent_of(task, new) {
        n.notify(
            Target { inode: None, parent: Some((p, &name)), unlinked: false },
            ino::IN_MOVED_TO | src.isdir,
            cookie,
        );
    }
    if let Some(t) = target {
        n.notify(Target { inode: Some(t.id), parent: None, unlinked: false }, ino::IN_ATTRIB, 0);
    }
    n.notify(Target { inode: Some(src.id), parent: None, unlinked: false }, ino::IN_MOVE_SELF, 0);
    if let Some(t) = target.filter(|t| t.isdir != 0 || t.nlink <= 1) {
        n.inode_gone(t.id);
    }
}

/// The program file an execve opened, held by every process running that
/// exec of it (forks share it): Linux keeps the `struct file` as the
/// address space's `exe_file`, so IN_CLOSE_NOWRITE comes when the last of
/// them exits or execs again.
pub struct ExecFile {
    notifier: Arc<Notifier>,
    inode: InodeId,
    parent: Option<(InodeId, String)>,
}

impl Drop for ExecFile {
    fn drop(&mut self) {
        let parent = self.parent.as_ref().map(|(p, name)| (*p, name.as_str()));
        self.notifier.notify(Target { inode: Some(self.inode), parent, unlinked: false }, ino::IN_CLOSE_NOWRITE, 0);
    }
}

/// execve opened and read the program at `path` (a whole-namespace path):
/// IN_OPEN and IN_ACCESS now, and the file whose drop reports the close.
pub fn executed(task: &Task, path: &str) -> Option<Arc<ExecFile>> {
    let n = notifier(task)?;
    let st = stat_path(task, path, true)?;
    let parent = parent_of(task, path);
    let target = Target {
        inode: Some(inode_id(&st)),
        parent: parent.as_ref().map(|(p, name)| (*p, name.as_str())),
        unlinked: false,
    };
    n.notify(target, ino::IN_OPEN, 0);
    n.notify(target, ino::IN_ACCESS, 0);
    Some(Arc::new(ExecFile { notifier: task.kernel.inotify.clone(), inode: inode_id(&st), parent }))
}

/// A descriptor of `file` is being closed: when it is the description's
/// last, IN_CLOSE_WRITE (opened for writing) or IN_CLOSE_NOWRITE.
pub fn closing(task: &Task, file: &Arc<dyn FileDescription>) {
    if notifier(task).is_none() || Arc::strong_count(file) > 1 {
        return;
    }
    let mask = if super::writable(&**file).is_ok() { ino::IN_CLOSE_WRITE } else { ino::IN_CLOSE_NOWRITE };
    file_event(task, &**file, mask);
}

/// The last thread of a process is leaving with its descriptor table:
/// the close events of the descriptions only it held.
pub fn exit_closes(task: &Task) {
    if notifier(task).is_none() || Arc::strong_count(&task.fds) > 1 {
        return;
    }
    for file in task.fds.close_range(0, usize::MAX, false) {
        closing(task, &file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::mount::TimeSet;

    #[test]
    fn paths_split_into_directory_and_name() {
        assert_eq!(split("/a/b"), Some(("/a".into(), "b".into())));
        assert_eq!(split("/a"), Some(("/".into(), "a".into())));
        assert_eq!(split("/a/./b/../c/"), Some(("/a".into(), "c".into())));
        assert_eq!(split("/"), None);
    }

    #[test]
    fn attribute_changes_map_to_events_as_fsnotify_change() {
        let now = Some(TimeSet::Now);
        assert_eq!(setattr_mask(&SetAttr { mode: Some(0o600), ..SetAttr::default() }), ino::IN_ATTRIB);
        assert_eq!(setattr_mask(&SetAttr { size: Some(0), ..SetAttr::default() }), ino::IN_MODIFY);
        assert_eq!(setattr_mask(&SetAttr { atime: now, mtime: now, ..SetAttr::default() }), ino::IN_ATTRIB);
        assert_eq!(setattr_mask(&SetAttr { atime: now, ..SetAttr::default() }), ino::IN_ACCESS);
        assert_eq!(setattr_mask(&SetAttr { mtime: now, ..SetAttr::default() }), ino::IN_MODIFY);
    }
}
