//! Open file descriptions, the per-process descriptor table and the
//! mount table (gVisor: `pkg/sentry/vfs`). A dentry tree and a path walk
//! of the sentry's own arrive with the rest of issue #4: today a path is
//! handed whole to the file system whose mount point is its longest
//! prefix (see `mount`), and the gofer resolves it inside the container's
//! root.

pub mod mount;
pub mod notify;
pub mod view;

use abi::{fcntl, Errno, Stat, Statfs};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};

/// An open file description: what `open` creates and `dup` shares.
/// (`view::MountFile` forwards every method: a new one goes there too.)
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
    fn pwrite(&self, _data: &[u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::ESPIPE)
    }
    /// fchmod, fchown, ftruncate, futimens. The syscall layer has checked
    /// that a size change comes through a description open for writing.
    fn setattr(&self, _task: &crate::kernel::Task, _attr: &mount::SetAttr) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// fsync/fdatasync. Linux answers EINVAL for files that cannot be
    /// synced (pipes, sockets).
    fn sync(&self) -> Result<(), Errno> {
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
    /// The events the file is ready for now (`POLLIN`, `POLLOUT`,
    /// `POLLHUP`... as poll.h; Linux `f_op->poll`). `mask` is what the
    /// caller asks about; the answer may hold more, and callers keep
    /// `mask | POLLERR | POLLHUP` of it. Files that cannot block are always
    /// ready (Linux's `DEFAULT_POLLMASK` for files without `poll`).
    fn readiness(&self, _mask: u32) -> u32 {
        use abi::poll::*;
        POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM
    }
    /// Whether epoll may watch the file: Linux refuses (EPERM) files
    /// without a `poll` operation, such as regular files and /dev/null.
    fn pollable(&self) -> bool {
        false
    }
    /// For an epoll instance: the files it watches, so that a waiter on it
    /// also sleeps on their queues (nested epoll).
    fn watched(&self) -> Vec<Arc<dyn FileDescription>> {
        Vec::new()
    }
    /// The epoll instance this description is, if it is one.
    fn as_epoll(&self) -> Option<&crate::fs::epoll::EpollFile> {
        None
    }
    /// The timerfd this description is, if it is one.
    fn as_timerfd(&self) -> Option<&crate::fs::timerfd::TimerFd> {
        None
    }
    /// The inotify instance this description is, if it is one.
    fn as_inotify(&self) -> Option<&Arc<crate::fs::inotify::Instance>> {
        None
    }
    /// The signalfd this description is, if it is one.
    fn as_signalfd(&self) -> Option<&crate::fs::signalfd::SignalFd> {
        None
    }
    /// A memfd's seals (`F_GET_SEALS`); None for other files.
    fn seals(&self) -> Option<u32> {
        None
    }
    /// Adds seals to a memfd (`F_ADD_SEALS`); EINVAL for other files.
    fn add_seals(&self, _seals: u32) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    /// `fallocate(mode, offset, len)` (`FALLOC_FL_*` in `mode`; the
    /// syscall layer has checked the arguments and that the description
    /// is open for writing). ENODEV for files that have no storage.
    fn fallocate(&self, _mode: u32, _offset: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::ENODEV)
    }
    /// Whether `mmap` of the file makes anonymous memory rather than a
    /// mapping of it (shared or private, as asked): `/dev/zero`.
    fn maps_anonymous(&self) -> bool {
        false
    }
    /// A pipe's capacity (`F_GETPIPE_SZ`); EBADF for other files.
    fn pipe_size(&self) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    /// Sets a pipe's capacity (`F_SETPIPE_SZ`), `privileged` with
    /// CAP_SYS_RESOURCE; returns the size granted. EBADF for other files.
    fn set_pipe_size(&self, _size: u64, _privileged: bool) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    /// The terminal this description is, if it is one (a terminal's
    /// slave side, a host terminal, or a pty's master).
    fn as_tty(&self) -> Option<crate::fs::tty::TtyRef<'_>> {
        None
    }
    /// The socket this description is, if it is one, by family.
    fn as_socket(&self) -> Option<crate::net::SocketRef<'_>> {
        None
    }
    /// For files that are host streams (the container's stdio): the host
    /// descriptor, which the syscall layer polls before a blocking read or
    /// write so that a signal can interrupt the wait.
    fn host_stream(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    /// For `MAP_SHARED` mappings: the file's pages covering
    /// `[offset, offset+len)` in the memory file (made so if needed). Files
    /// whose data is elsewhere answer ENODEV.
    fn shared_pages(
        &self,
        _memfile: &Arc<memfile::MemoryFile>,
        _offset: u64,
        _len: u64,
    ) -> Result<Vec<Arc<crate::mm::SharedPages>>, Errno> {
        Err(Errno::ENODEV)
    }
    /// Whether execve of this file is refused (EACCES): files of a
    /// `noexec` mount.
    fn exec_forbidden(&self) -> bool {
        false
    }
    /// The pipe end this description is: a pipe's, or an open FIFO's
    /// (whose `open` may have to wait for the other side).
    fn as_pipe(&self) -> Option<&crate::fs::pipe::PipeEnd> {
        None
    }
    // Extended attributes of the open file (`fgetxattr` & co.): names are
    // whole (`user.foo`) and checked by the syscall layer for length.
    // Files without attributes answer EOPNOTSUPP, as Linux's pipes do.
    fn getxattr(&self, _task: &crate::kernel::Task, _name: &str) -> Result<Vec<u8>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn setxattr(&self, _task: &crate::kernel::Task, _name: &str, _value: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn listxattr(&self, _task: &crate::kernel::Task) -> Result<Vec<String>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn removexattr(&self, _task: &crate::kernel::Task, _name: &str) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `read` (at the position, advancing it) or `pread` (at `offset`)
    /// of a file whose bytes are a host file's: the description hands
    /// `into` the host descriptor and the file offset, and `into` moves
    /// the bytes from there to application memory with no copy through
    /// the sentry, returning the count. None for other files (the caller
    /// reads into a buffer).
    fn read_direct(
        &self,
        _offset: Option<u64>,
        _into: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        None
    }
    /// `write`/`pwrite` twin of [`read_direct`](Self::read_direct):
    /// `from` moves the bytes from application memory into the host
    /// descriptor at the file offset it is given.
    fn write_direct(
        &self,
        _offset: Option<u64>,
        _from: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        None
    }
    /// A host descriptor holding the file's data, if there is one
    /// (gofer-donated files), for reading it into memory mappings.
    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// An `O_PATH` description: it names a file (a symbolic link itself with
/// `O_NOFOLLOW`) without opening it, so nothing is read or written
/// through it and no permission on the file is needed. Its attributes are
/// those at open (the file systems' stat needs the caller).
pub struct PathFile {
    pub path: String,
    pub stat: Stat,
    pub statfs: Option<Statfs>,
    pub flags: u64,
}

impl FileDescription for PathFile {
    fn flags(&self) -> u64 {
        self.flags
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        self.statfs.ok_or(Errno::ENOSYS)
    }
    fn path(&self) -> String {
        self.path.clone()
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

/// Where `lseek` moves a file position: `offset` from the start
/// (SEEK_SET), from `pos` (SEEK_CUR) or from `end` (SEEK_END; EINVAL for
/// files without a known end, such as directories).
pub fn seek_target(pos: u64, offset: i64, whence: u32, end: Option<u64>) -> Result<u64, Errno> {
    let base = match (whence, end) {
        (0, _) => 0,
        (1, _) => pos as i64,
        (2, Some(end)) => end as i64,
        _ => return Err(Errno::EINVAL),
    };
    base.checked_add(offset).filter(|&n| n >= 0).map(|n| n as u64).ok_or(Errno::EINVAL)
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

/// A process's file descriptor table, shared by the threads (and
/// `CLONE_FILES` children) that use it.
#[derive(Default)]
pub struct FdTable {
    slots: Mutex<Vec<Option<Slot>>>,
}

/// `RLIMIT_NOFILE` default.
pub const MAX_FDS: usize = 1 << 20;

impl FdTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Slot>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy for a child that does not share the table (fork): the same
    /// open descriptions under the same numbers.
    pub fn fork_copy(&self) -> FdTable {
        FdTable { slots: Mutex::new(self.lock().clone()) }
    }

    /// The description at `fd`, for an operation on the file: EBADF for
    /// an `O_PATH` descriptor, which only names a file (Linux's `fdget`).
    pub fn get(&self, fd: i64) -> Result<Arc<dyn FileDescription>, Errno> {
        self.get_raw(fd).and_then(|f| if f.flags() & fcntl::O_PATH != 0 { Err(Errno::EBADF) } else { Ok(f) })
    }

    /// The description at `fd`, `O_PATH` ones included, for what works on
    /// them: fstat, fstatfs, fchdir, dup, fcntl's descriptor commands, a
    /// directory for the *at calls (Linux's `fdget_raw`).
    pub fn get_raw(&self, fd: i64) -> Result<Arc<dyn FileDescription>, Errno> {
        let slots = self.lock();
        let slot = usize::try_from(fd).ok().and_then(|i| slots.get(i)).and_then(|s| s.as_ref());
        slot.map(|s| s.file.clone()).ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor ≥ `min`.
    pub fn insert(&self, min: usize, file: Arc<dyn FileDescription>, cloexec: bool) -> Result<i64, Errno> {
        let mut slots = self.lock();
        let free = (min..MAX_FDS).find(|&i| slots.get(i).is_none_or(|s| s.is_none())).ok_or(Errno::EMFILE)?;
        Self::put(&mut slots, free, file, cloexec);
        Ok(free as i64)
    }

    /// Installs `file` at exactly `fd`, closing what was there.
    /// Puts `file` at `fd`; returns what was there (closed by the caller,
    /// outside the table's lock).
    pub fn set(&self, fd: usize, file: Arc<dyn FileDescription>, cloexec: bool) -> Option<Arc<dyn FileDescription>> {
        Self::put(&mut self.lock(), fd, file, cloexec).map(|s| s.file)
    }

    fn put(slots: &mut Vec<Option<Slot>>, fd: usize, file: Arc<dyn FileDescription>, cloexec: bool) -> Option<Slot> {
        if slots.len() <= fd {
            slots.resize(fd + 1, None);
        }
        slots[fd].replace(Slot { file, cloexec })
    }

    pub fn remove(&self, fd: i64) -> Result<Arc<dyn FileDescription>, Errno> {
        let mut slots = self.lock();
        let slot = usize::try_from(fd).ok().and_then(|i| slots.get_mut(i)).ok_or(Errno::EBADF)?;
        slot.take().map(|s| s.file).ok_or(Errno::EBADF)
    }

    pub fn cloexec(&self, fd: i64) -> Result<bool, Errno> {
        let slots = self.lock();
        let slot = usize::try_from(fd).ok().and_then(|i| slots.get(i)).and_then(|s| s.as_ref());
        slot.map(|s| s.cloexec).ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&self, fd: i64, on: bool) -> Result<(), Errno> {
        let mut slots = self.lock();
        let slot = usize::try_from(fd).ok().and_then(|i| slots.get_mut(i)).and_then(|s| s.as_mut());
        slot.ok_or(Errno::EBADF)?.cloexec = on;
        Ok(())
    }

    /// `close_range`: closes descriptors `first..=last`, or with `cloexec`
    /// only marks them close-on-exec. Returns the closed descriptions.
    pub fn close_range(&self, first: usize, last: usize, cloexec: bool) -> Vec<Arc<dyn FileDescription>> {
        let mut slots = self.lock();
        let end = slots.len().min(last.saturating_add(1));
        let mut closed = Vec::new();
        for slot in slots.iter_mut().take(end).skip(first) {
            if cloexec {
                if let Some(s) = slot.as_mut() {
                    s.cloexec = true;
                }
            } else {
                closed.extend(slot.take().map(|s| s.file));
            }
        }
        closed
    }

    /// Closes every descriptor marked close-on-exec; returns their
    /// descriptions.
    pub fn close_on_exec(&self) -> Vec<Arc<dyn FileDescription>> {
        self.lock().iter_mut().filter_map(|s| s.take_if(|s| s.cloexec)).map(|s| s.file).collect()
    }
}

/// The status flags of a description that is open for reading and writing
/// and was made by a call with a NONBLOCK flag (sockets, eventfd, timerfd,
/// signalfd): O_RDWR, and O_NONBLOCK as set at creation, by fcntl or by
/// FIONBIO.
pub struct StatusFlags(std::sync::atomic::AtomicU64);

impl StatusFlags {
    pub fn new(nonblock: bool) -> StatusFlags {
        let status = if nonblock { fcntl::O_NONBLOCK } else { 0 };
        StatusFlags(std::sync::atomic::AtomicU64::new(fcntl::O_RDWR | status))
    }
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn set(&self, flags: u64) {
        self.0.store(flags, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn nonblocking(&self) -> bool {
        self.get() & fcntl::O_NONBLOCK != 0
    }
}
