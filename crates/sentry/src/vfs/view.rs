//! A mount's view of its file system (gVisor: the `vfs.Mount` a
//! `VirtualDentry` carries): what a bind mount of a subtree shows, and the
//! per-mount flags a remount sets, enforced at the mount rather than in
//! the file system (Linux's `mnt_want_write`, `MNT_NODEV`).
//!
//! The mount table serves a path through a view only when the mount needs
//! one (a bind of a subtree, `ro`/`nosuid`/`nodev`/`noexec`, or a file
//! system mounted somewhere other than where it was first mounted);
//! plain mounts are their file system, at no cost.
//!
//! `noexec` is checked by execve through the table
//! (`MountNamespace::exec_forbidden`); descriptions opened through a view
//! are the file system's own, so `mmap(PROT_EXEC)` of a file opened on a
//! remounted-noexec mount, and `fchmod` & co. through a descriptor of a
//! remounted-read-only one, are not refused.

use super::mount::{ms, rebase, under, FileSystem, SetAttr};
use super::FileDescription;
use crate::fs::tmpfs::Who;
use crate::kernel::Task;
use abi::{fcntl, Errno, Stat, Statfs};
use std::sync::Arc;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;

/// `statfs` f_flags of the per-mount flags.
const ST_RDONLY: i64 = 1;
const ST_NOSUID: i64 = 2;
const ST_NODEV: i64 = 4;
const ST_NOEXEC: i64 = 8;

pub struct MountView {
    fs: Arc<dyn FileSystem>,
    /// The directory of `fs` the mount shows.
    root: String,
    flags: u64,
    /// Where the mount is, and where `fs` composes its paths (see
    /// `Mount::home`): the prefix of link targets to translate.
    point: String,
    from: Option<String>,
}

impl MountView {
    pub fn new(fs: Arc<dyn FileSystem>, root: &str, flags: u64, point: &str, home: &str) -> MountView {
        // The boot root composes its links from `/`, which cannot be told
        // from absolute targets: they stay as they are.
        let from = (home != "/").then(|| rebase(root, "/", home));
        MountView { fs, root: root.to_string(), flags, point: point.to_string(), from }
    }

    fn inner(&self, path: &str) -> String {
        if self.root == "/" {
            path.to_string()
        } else {
            rebase(path, "/", &self.root)
        }
    }

    fn read_only(&self) -> Result<(), Errno> {
        if self.flags & ms::RDONLY != 0 {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// For calls that create `path`: EEXIST before EROFS, as Linux's
    /// `filename_create` answers.
    fn creating(&self, task: &Task, path: &str) -> Result<(), Errno> {
        if self.flags & ms::RDONLY == 0 {
            return Ok(());
        }
        match self.fs.stat(task, &self.inner(path), false) {
            Ok(_) => Err(Errno::EEXIST),
            Err(_) => Err(Errno::EROFS),
        }
    }

    /// A link target `fs` composed where it lives, as this mount shows it.
    fn translate(&self, next: String) -> String {
        match &self.from {
            Some(from) if under(&next, from) => rebase(&next, from, &self.point),
            _ => next,
        }
    }
}

impl FileSystem for MountView {
    fn name(&self) -> &'static str {
        self.fs.name()
    }

    fn follow(&self, task: &Task, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        Ok(self.fs.follow(task, &self.inner(path), follow_last)?.map(|n| self.translate(n)))
    }

    fn follow_as(&self, who: &Who, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        Ok(self.fs.follow_as(who, &self.inner(path), follow_last)?.map(|n| self.translate(n)))
    }

    fn open_read_as(&self, who: &Who, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        self.fs.open_read_as(who, &self.inner(path))
    }

    fn open(&self, task: &Task, path: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let inner = self.inner(path);
        let writes = flags & fcntl::O_ACCMODE != fcntl::O_RDONLY || flags & fcntl::O_TRUNC != 0;
        if self.flags & (ms::RDONLY | ms::NODEV) != 0 {
            match self.fs.stat(task, &inner, flags & fcntl::O_NOFOLLOW == 0) {
                // Writes to devices, FIFOs and sockets do not write the
                // file system (Linux's `special_file`).
                Ok(st) if writes && self.flags & ms::RDONLY != 0 && st.mode & S_IFMT == S_IFREG => {
                    return Err(Errno::EROFS)
                }
                Ok(st) if self.flags & ms::NODEV != 0 && matches!(st.mode & S_IFMT, S_IFCHR | S_IFBLK) => {
                    return Err(Errno::EACCES)
                }
                Err(Errno::ENOENT) if flags & fcntl::O_CREAT != 0 && self.flags & ms::RDONLY != 0 => {
                    return Err(Errno::EROFS)
                }
                _ => {}
            }
        }
        self.fs.open(task, &inner, flags, mode)
    }

    fn stat(&self, task: &Task, path: &str, follow: bool) -> Result<Stat, Errno> {
        self.fs.stat(task, &self.inner(path), follow)
    }

    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno> {
        self.fs.readlink(task, &self.inner(path))
    }

    fn statfs(&self, task: &Task, path: &str) -> Result<Statfs, Errno> {
        let mut st = self.fs.statfs(task, &self.inner(path))?;
        for (flag, st_flag) in
            [(ms::RDONLY, ST_RDONLY), (ms::NOSUID, ST_NOSUID), (ms::NODEV, ST_NODEV), (ms::NOEXEC, ST_NOEXEC)]
        {
            if self.flags & flag != 0 {
                st.f_flags |= st_flag;
            }
        }
        Ok(st)
    }

    fn mkdir(&self, task: &Task, path: &str, mode: u32) -> Result<(), Errno> {
        self.creating(task, path)?;
        self.fs.mkdir(task, &self.inner(path), mode)
    }
    fn rmdir(&self, task: &Task, path: &str) -> Result<(), Errno> {
        self.read_only()?;
        self.fs.rmdir(task, &self.inner(path))
    }
    fn unlink(&self, task: &Task, path: &str) -> Result<(), Errno> {
        self.read_only()?;
        self.fs.unlink(task, &self.inner(path))
    }
    fn symlink(&self, task: &Task, target: &str, path: &str) -> Result<(), Errno> {
        self.creating(task, path)?;
        self.fs.symlink(task, target, &self.inner(path))
    }
    fn link(&self, task: &Task, old: &str, new: &str) -> Result<(), Errno> {
        self.creating(task, new)?;
        self.fs.link(task, &self.inner(old), &self.inner(new))
    }
    fn rename(&self, task: &Task, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
        self.read_only()?;
        self.fs.rename(task, &self.inner(old), &self.inner(new), flags)
    }
    fn setattr(&self, task: &Task, path: &str, attr: &SetAttr) -> Result<(), Errno> {
        self.read_only()?;
        self.fs.setattr(task, &self.inner(path), attr)
    }
    fn mknod(&self, task: &Task, path: &str, mode: u32, rdev: u64) -> Result<(), Errno> {
        self.creating(task, path)?;
        self.fs.mknod(task, &self.inner(path), mode, rdev)
    }
    fn getxattr(&self, task: &Task, path: &str, name: &str) -> Result<Vec<u8>, Errno> {
        self.fs.getxattr(task, &self.inner(path), name)
    }
    fn setxattr(&self, task: &Task, path: &str, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        self.read_only()?;
        self.fs.setxattr(task, &self.inner(path), name, value, flags)
    }
    fn listxattr(&self, task: &Task, path: &str) -> Result<Vec<String>, Errno> {
        self.fs.listxattr(task, &self.inner(path))
    }
    fn removexattr(&self, task: &Task, path: &str, name: &str) -> Result<(), Errno> {
        self.read_only()?;
        self.fs.removexattr(task, &self.inner(path), name)
    }
}
