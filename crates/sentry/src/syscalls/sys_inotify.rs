//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch
//! (gVisor: `sys_inotify.go`; Linux `fs/notify/inotify/inotify_user.c`).
//! The instances and watches are `fs::inotify`'s; the events come from the
//! hooks of `vfs::notify`, called where each change is made.

use super::sys_file::{at_path, fd_arg, read_path, stat_abs};
use crate::fs::inotify::{self as ino, InotifyFile, Instance};
use crate::kernel::Task;
use abi::{fcntl, Errno};
use std::sync::Arc;

fn init_common(task: &Task, flags: u64) -> Result<u64, Errno> {
    if flags & !(fcntl::O_CLOEXEC | fcntl::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let instance = Instance::new(task.kernel.inotify.clone(), flags & fcntl::O_NONBLOCK != 0, task.creds.euid)?;
    task.fds.insert(0, Arc::new(InotifyFile(instance)), flags & fcntl::O_CLOEXEC != 0).map(|fd| fd as u64)
}

pub fn inotify_init(task: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    init_common(task, 0)
}

pub fn inotify_init1(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    init_common(task, a[0] as u32 as u64)
}

/// Linux's order of checks: the mask, the descriptor (EBADF, then EINVAL
/// for one that is not an instance), the path (followed unless
/// IN_DONT_FOLLOW; IN_ONLYDIR wants a directory) and read permission on it.
pub fn inotify_add_watch(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mask = a[2] as u32;
    if mask & ino::IN_ALL_EVENTS == 0 || mask & !ino::VALID_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if mask & (ino::IN_MASK_ADD | ino::IN_MASK_CREATE) == ino::IN_MASK_ADD | ino::IN_MASK_CREATE {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(fd_arg(a[0]))?;
    let instance = file.as_inotify().ok_or(Errno::EINVAL)?.clone();
    let path = at_path(task, fcntl::AT_FDCWD, &read_path(task, a[1])?)?;
    let st = stat_abs(task, &path, mask & ino::IN_DONT_FOLLOW == 0)?;
    let is_dir = st.mode & 0o170000 == 0o040000;
    if mask & ino::IN_ONLYDIR != 0 && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if !task.creds.permits(st.mode, st.uid, st.gid, is_dir, 4) {
        return Err(Errno::EACCES);
    }
    if is_dir {
        task.kernel.inotify.watched_dir(ino::inode_id(&st));
    }
    instance.add_watch(ino::inode_id(&st), mask).map(|wd| wd as u64)
}

pub fn inotify_rm_watch(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    let instance = file.as_inotify().ok_or(Errno::EINVAL)?;
    instance.rm_watch(a[1] as i32).map(|()| 0)
}
