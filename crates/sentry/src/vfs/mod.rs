//! Open file descriptions, the per-process descriptor table and the
//! mount table (gVisor: `pkg/sentry/vfs`). A dentry tree and a path walk
//! of the sentry's own arrive with the rest of issue #4: today a path is
//! handed whole to the file system whose mount point is its longest
//! prefix (see `mount`), and the gofer resolves it inside the container's
//! root.

pub mod mount;

use abi::{fcntl, Errno, Stat, Statfs};
use std::os::fd::BorrowedFd;
use std::sync::Arc;

/// An open file description: what `open` creates and `dup` shares.
pub trait FileDescription: Send + Sync {
    /// Status flags (`O_ACCMODE`, `O_APPEND`, `O_NONBLOCK`...).
    fn flags(&self) -> u64;
    fn set_flags(&self, _flags: u64) {}

    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn pread(&self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::ESPIPE)
    }
    fn write(&self, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn seek(&self, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }
    fn stat(&self) -> Result<Stat, Errno>;
    fn ioctl(&self, _cmd: u64) -> Result<IoctlReply, Errno> {
        Err(Errno::ENOTTY)
    }
    /// Directory entries from the description's position on, for
    /// `getdents`: `emit` is called with each in turn until it returns
    /// false (the caller's buffer is full), and the position moves past
    /// the entries it took.
    fn readdir(&self, _emit: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Statistics of the file system holding the file (`fstatfs`).
    fn statfs(&self) -> Result<Statfs, Errno> {
        Err(Errno::ENOSYS)
    }
    /// The path this description was opened by, for diagnostics.
    fn path(&self) -> String;
    /// The queue to sleep on when an operation fails with EAGAIN, for
    /// files whose operations can block (pipes).
    fn wait_queue(&self) -> Option<&crate::kernel::waiter::WaitQueue> {
        None
    }
    /// A host descriptor holding the file's data, if there is one
    /// (gofer-donated files), for reading it into memory mappings.
    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// One directory entry as `getdents` reports it.
pub struct DirEntry<'a> {
    pub ino: u64,
    /// The position just past this entry (`d_off`): where `lseek` resumes.
    pub next_off: i64,
    /// `DT_*`.
    pub d_type: u8,
    pub name: &'a [u8],
}

/// What an ioctl hands back to the application.
pub enum IoctlReply {
    /// Return this value, write nothing.
    Value(u64),
    /// Copy these bytes to the argument pointer, return 0.
    Out(Vec<u8>),
}

/// Checks that a description was opened for reading.
pub fn readable(f: &dyn FileDescription) -> Result<(), Errno> {
    match f.flags() & fcntl::O_ACCMODE {
        fcntl::O_RDONLY | fcntl::O_RDWR => Ok(()),
        _ => Err(Errno::EBADF),
    }
}

/// Checks that a description was opened for writing.
pub fn writable(f: &dyn FileDescription) -> Result<(), Errno> {
    match f.flags() & fcntl::O_ACCMODE {
        fcntl::O_WRONLY | fcntl::O_RDWR => Ok(()),
        _ => Err(Errno::EBADF),
    }
}

#[derive(Clone)]
struct Slot {
    file: Arc<dyn FileDescription>,
    cloexec: bool,
}

/// A process's file descriptor table.
#[derive(Default, Clone)]
pub struct FdTable {
    slots: Vec<Option<Slot>>,
}

/// `RLIMIT_NOFILE` default.
pub const MAX_FDS: usize = 1 << 20;

impl FdTable {
    pub fn get(&self, fd: i64) -> Result<Arc<dyn FileDescription>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|s| s.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor ≥ `min`.
    pub fn insert(&mut self, min: usize, file: Arc<dyn FileDescription>, cloexec: bool) -> Result<i64, Errno> {
        let free = (min..MAX_FDS).find(|&i| self.slots.get(i).is_none_or(|s| s.is_none())).ok_or(Errno::EMFILE)?;
        self.set(free, file, cloexec);
        Ok(free as i64)
    }

    /// Installs `file` at exactly `fd`, closing what was there.
    pub fn set(&mut self, fd: usize, file: Arc<dyn FileDescription>, cloexec: bool) {
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(Slot { file, cloexec });
    }

    pub fn remove(&mut self, fd: i64) -> Result<Arc<dyn FileDescription>, Errno> {
        let slot = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i)).ok_or(Errno::EBADF)?;
        slot.take().map(|s| s.file).ok_or(Errno::EBADF)
    }

    pub fn cloexec(&self, fd: i64) -> Result<bool, Errno> {
        self.slot(fd).map(|s| s.cloexec)
    }

    pub fn set_cloexec(&mut self, fd: i64, on: bool) -> Result<(), Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)?;
        slot.cloexec = on;
        Ok(())
    }

    /// Closes every descriptor marked close-on-exec.
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| s.cloexec) {
                *slot = None;
            }
        }
    }

    fn slot(&self, fd: i64) -> Result<&Slot, Errno> {
        usize::try_from(fd).ok().and_then(|i| self.slots.get(i)).and_then(|s| s.as_ref()).ok_or(Errno::EBADF)
    }
}
