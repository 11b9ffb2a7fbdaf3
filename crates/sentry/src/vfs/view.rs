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
//! Descriptions opened through a view are wrapped ([`MountFile`]) when the
//! mount is `ro` or `noexec` or shows its files at other paths than their
//! file system names them: attribute changes through them are EROFS,
//! execve and `mmap(PROT_EXEC)` refused, and their path is the mount's.
//! Descriptors opened before a read-only remount keep writing (Linux
//! refuses such a remount with EBUSY).

use super::mount::{ms, rebase, under, FileSystem, SetAttr};
use super::{DirEntry, FileDescription, IoctlReply};
use crate::fs::tmpfs::Who;
use crate::kernel::Task;
use abi::{fcntl, st, Errno, Stat, Statfs};
use std::os::fd::BorrowedFd;
use std::sync::Arc;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;

/// `statfs` of a file on a mount with `flags`.
fn with_flags(mut st: Statfs, flags: u64) -> Statfs {
    for (flag, st_flag) in
        [(ms::RDONLY, st::RDONLY), (ms::NOSUID, st::NOSUID), (ms::NODEV, st::NODEV), (ms::NOEXEC, st::NOEXEC)]
    {
        if flags & flag != 0 {
            st.f_flags |= st_flag;
        }
    }
    st
}

pub struct MountView {
    fs: Arc<dyn FileSystem>,
    /// The directory of `fs` the mount shows.
    root: String,
    flags: u64,
    /// Where the mount is, and where `fs` composes its paths (see
    /// `Mount::home`): the prefix of link targets to translate.
    point: String,
    from: Option<String>,
    /// Where `fs` puts the paths of its descriptions (its first mount
    /// point joined with `root`), when that is not `point`: they are
    /// translated.
    paths_from: Option<String>,
}

impl MountView {
    pub fn new(fs: Arc<dyn FileSystem>, root: &str, flags: u64, point: &str, home: &str) -> MountView {
        // The boot root composes its links from `/`, which cannot be told
        // from absolute targets: a view of all of it leaves them as they
        // are; a view of a subtree translates those under the subtree (an
        // absolute target there names the same file through the view).
        let from = if home != "/" { Some(rebase(root, "/", home)) } else { (root != "/").then(|| root.to_string()) };
        let paths_from = Some(rebase(root, "/", home)).filter(|p| p != point);
        MountView { fs, root: root.to_string(), flags, point: point.to_string(), from, paths_from }
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

    /// A description opened through this mount: wrapped when the mount
    /// has something to say about it (its flags, its path).
    fn wrap(&self, file: Arc<dyn FileDescription>) -> Arc<dyn FileDescription> {
        if self.flags & (ms::RDONLY | ms::NOEXEC) == 0 && self.paths_from.is_none() {
            return file;
        }
        Arc::new(MountFile {
            inner: file,
            flags: self.flags,
            paths: self.paths_from.clone().map(|from| (from, self.point.clone())),
        })
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
        self.fs.open_read_as(who, &self.inner(path)).map(|f| self.wrap(f))
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
        self.fs.open(task, &inner, flags, mode).map(|f| self.wrap(f))
    }

    fn stat(&self, task: &Task, path: &str, follow: bool) -> Result<Stat, Errno> {
        self.fs.stat(task, &self.inner(path), follow)
    }

    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno> {
        self.fs.readlink(task, &self.inner(path))
    }

    fn statfs(&self, task: &Task, path: &str) -> Result<Statfs, Errno> {
        Ok(with_flags(self.fs.statfs(task, &self.inner(path))?, self.flags))
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

/// A description opened through a [`MountView`]: the file system's own,
/// with the mount's say: `ro` refuses attribute changes (EROFS, as Linux's
/// `mnt_want_write_file`), `noexec` refuses execve and executable
/// mappings, statfs carries the flags, and the path is where the mount
/// shows the file. Everything else is the file system's description's.
struct MountFile {
    inner: Arc<dyn FileDescription>,
    flags: u64,
    /// (where the file system puts its paths, where the mount is).
    paths: Option<(String, String)>,
}

impl MountFile {
    fn read_only(&self) -> Result<(), Errno> {
        if self.flags & ms::RDONLY != 0 {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }
}

impl FileDescription for MountFile {
    fn setattr(&self, task: &Task, attr: &SetAttr) -> Result<(), Errno> {
        self.read_only()?;
        self.inner.setattr(task, attr)
    }
    fn setxattr(&self, task: &Task, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        self.read_only()?;
        self.inner.setxattr(task, name, value, flags)
    }
    fn removexattr(&self, task: &Task, name: &str) -> Result<(), Errno> {
        self.read_only()?;
        self.inner.removexattr(task, name)
    }
    fn exec_forbidden(&self) -> bool {
        self.flags & ms::NOEXEC != 0 || self.inner.exec_forbidden()
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(with_flags(self.inner.statfs()?, self.flags))
    }
    fn path(&self) -> String {
        let path = self.inner.path();
        match &self.paths {
            Some((from, point)) if path.starts_with('/') && under(&path, from) => rebase(&path, from, point),
            _ => path,
        }
    }
    // The rest is the file system's description's (every method of the
    // trait: one added there must be added here).
    fn flags(&self) -> u64 {
        self.inner.flags()
    }
    fn set_flags(&self, flags: u64) {
        self.inner.set_flags(flags)
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.inner.read(buf)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.inner.pread(buf, offset)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.inner.write(data)
    }
    fn pwrite(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        self.inner.pwrite(data, offset)
    }
    fn sync(&self) -> Result<(), Errno> {
        self.inner.sync()
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        self.inner.seek(offset, whence)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }
    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        self.inner.ioctl(cmd)
    }
    fn readdir(&self, emit: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> Result<(), Errno> {
        self.inner.readdir(emit)
    }
    fn wait_queue(&self) -> Option<&crate::kernel::waiter::WaitQueue> {
        self.inner.wait_queue()
    }
    fn readiness(&self, mask: u32) -> u32 {
        self.inner.readiness(mask)
    }
    fn pollable(&self) -> bool {
        self.inner.pollable()
    }
    fn watched(&self) -> Vec<Arc<dyn FileDescription>> {
        self.inner.watched()
    }
    fn as_epoll(&self) -> Option<&crate::fs::epoll::EpollFile> {
        self.inner.as_epoll()
    }
    fn as_timerfd(&self) -> Option<&crate::fs::timerfd::TimerFd> {
        self.inner.as_timerfd()
    }
    fn as_inotify(&self) -> Option<&Arc<crate::fs::inotify::Instance>> {
        self.inner.as_inotify()
    }
    fn as_signalfd(&self) -> Option<&crate::fs::signalfd::SignalFd> {
        self.inner.as_signalfd()
    }
    fn seals(&self) -> Option<u32> {
        self.inner.seals()
    }
    fn add_seals(&self, seals: u32) -> Result<(), Errno> {
        self.inner.add_seals(seals)
    }
    fn fallocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        self.inner.fallocate(mode, offset, len)
    }
    fn maps_anonymous(&self) -> bool {
        self.inner.maps_anonymous()
    }
    fn pipe_size(&self) -> Result<usize, Errno> {
        self.inner.pipe_size()
    }
    fn set_pipe_size(&self, size: u64, privileged: bool) -> Result<usize, Errno> {
        self.inner.set_pipe_size(size, privileged)
    }
    fn as_tty(&self) -> Option<crate::fs::tty::TtyRef<'_>> {
        self.inner.as_tty()
    }
    fn as_socket(&self) -> Option<crate::net::SocketRef<'_>> {
        self.inner.as_socket()
    }
    fn host_stream(&self) -> Option<BorrowedFd<'_>> {
        self.inner.host_stream()
    }
    fn shared_pages(
        &self,
        memfile: &Arc<memfile::MemoryFile>,
        offset: u64,
        len: u64,
    ) -> Result<Vec<Arc<crate::mm::SharedPages>>, Errno> {
        self.inner.shared_pages(memfile, offset, len)
    }
    fn as_pipe(&self) -> Option<&crate::fs::pipe::PipeEnd> {
        self.inner.as_pipe()
    }
    fn read_direct(
        &self,
        offset: Option<u64>,
        into: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        self.inner.read_direct(offset, into)
    }
    fn write_direct(
        &self,
        offset: Option<u64>,
        from: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        self.inner.write_direct(offset, from)
    }
    fn getxattr(&self, task: &Task, name: &str) -> Result<Vec<u8>, Errno> {
        self.inner.getxattr(task, name)
    }
    fn listxattr(&self, task: &Task) -> Result<Vec<String>, Errno> {
        self.inner.listxattr(task)
    }
    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        self.inner.host_fd()
    }
}
