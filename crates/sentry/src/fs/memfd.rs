//! memfd_create (Linux `mm/memfd.c`, gVisor `fsimpl/tmpfs` memfds): an
//! unlinked file of a tmpfs that no mount shows, the kernel's own (Linux's
//! `shm_mnt`). The description is the tmpfs file's, wrapped to carry the
//! name `/proc/self/fd` shows and the file's seals (`F_ADD_SEALS`), which
//! gate writes and size changes.

use super::tmpfs::{Options, TmpFs, Who};
use crate::kernel::Task;
use crate::mm::SharedPages;
use crate::vfs::mount::SetAttr;
use crate::vfs::FileDescription;
use abi::{fcntl, Errno, Stat, Statfs};
use memfile::MemoryFile;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub const MFD_CLOEXEC: u64 = 1;
pub const MFD_ALLOW_SEALING: u64 = 2;
pub const MFD_HUGETLB: u64 = 4;
pub const MFD_NOEXEC_SEAL: u64 = 8;
pub const MFD_EXEC: u64 = 0x10;
/// Longest name, without the `memfd:` prefix (`MFD_NAME_MAX_LEN`).
pub const NAME_MAX: usize = 249;

pub const F_SEAL_SEAL: u32 = 1;
pub const F_SEAL_SHRINK: u32 = 2;
pub const F_SEAL_GROW: u32 = 4;
pub const F_SEAL_WRITE: u32 = 8;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
pub const F_SEAL_EXEC: u32 = 0x20;
const ALL_SEALS: u32 = 0x3f;

/// The memfds' tmpfs: as big as the sandbox's memory.
fn fs(memory: u64) -> &'static TmpFs {
    static FS: OnceLock<TmpFs> = OnceLock::new();
    FS.get_or_init(|| {
        let opts = Options::parse(&[format!("size={}", memory.max(1 << 20))], memory).expect("a valid size");
        TmpFs::new("/", opts)
    })
}

pub struct MemFd {
    file: Arc<dyn FileDescription>,
    name: String,
    seals: AtomicU32,
}

impl MemFd {
    /// A new empty memfd named `name`, mode 0777 as Linux's (less the
    /// executable bits with `MFD_NOEXEC_SEAL`), owned by the task.
    pub fn create(task: &Task, name: &str, flags: u64) -> Result<MemFd, Errno> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let fs = fs(task.kernel.total_memory);
        let who = Who { creds: task.creds.clone(), umask: 0 };
        let path = format!("/{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let mode = if flags & MFD_NOEXEC_SEAL != 0 { 0o666 } else { 0o777 };
        // O_LARGEFILE (0o100000), as Linux sets on every memfd.
        let status = fcntl::O_RDWR | 0o100000;
        let file = fs.open_as(&who, &path, status | fcntl::O_CREAT | fcntl::O_EXCL, mode)?;
        file.set_flags(status);
        fs.unlink_as(&Who::root(), &path)?;
        let seals = match flags {
            f if f & MFD_NOEXEC_SEAL != 0 => F_SEAL_EXEC,
            f if f & MFD_ALLOW_SEALING != 0 => 0,
            _ => F_SEAL_SEAL,
        };
        Ok(MemFd { file, name: name.to_string(), seals: AtomicU32::new(seals) })
    }

    fn sealed(&self, seals: u32) -> bool {
        self.seals.load(Ordering::Relaxed) & seals != 0
    }

    fn size(&self) -> u64 {
        self.file.stat().map_or(0, |s| s.size as u64)
    }

    /// Refuses a write of `len` bytes at `pos` that the seals forbid.
    fn may_write(&self, pos: u64, len: usize) -> Result<(), Errno> {
        if self.sealed(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) {
            return Err(Errno::EPERM);
        }
        if self.sealed(F_SEAL_GROW) && pos.saturating_add(len as u64) > self.size() {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    fn write_pos(&self) -> u64 {
        if self.flags() & fcntl::O_APPEND != 0 {
            self.size()
        } else {
            self.file.seek(0, 1).unwrap_or(0)
        }
    }
}

impl FileDescription for MemFd {
    fn flags(&self) -> u64 {
        self.file.flags()
    }
    fn set_flags(&self, flags: u64) {
        self.file.set_flags(flags)
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.file.read(buf)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.file.pread(buf, offset)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.may_write(self.write_pos(), data.len())?;
        self.file.write(data)
    }
    fn pwrite(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        let pos = if self.flags() & fcntl::O_APPEND != 0 { self.size() } else { offset };
        self.may_write(pos, data.len())?;
        self.file.pwrite(data, offset)
    }
    fn setattr(&self, task: &Task, attr: &SetAttr) -> Result<(), Errno> {
        if let Some(size) = attr.size {
            let now = self.size();
            if (size < now && self.sealed(F_SEAL_SHRINK)) || (size > now && self.sealed(F_SEAL_GROW)) {
                return Err(Errno::EPERM);
            }
        }
        if attr.mode.is_some_and(|m| m & 0o111 != 0) && self.sealed(F_SEAL_EXEC) {
            return Err(Errno::EPERM);
        }
        self.file.setattr(task, attr)
    }
    fn sync(&self) -> Result<(), Errno> {
        self.file.sync()
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        self.file.seek(offset, whence)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.file.stat()
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        self.file.statfs()
    }
    fn path(&self) -> String {
        format!("/memfd:{} (deleted)", self.name)
    }
    fn shared_pages(&self, memfile: &Arc<MemoryFile>, offset: u64, len: u64) -> Result<Vec<Arc<SharedPages>>, Errno> {
        self.file.shared_pages(memfile, offset, len)
    }
    fn seals(&self) -> Option<u32> {
        Some(self.seals.load(Ordering::Relaxed))
    }
    /// Linux `memfd_add_seals`: EPERM once sealed against sealing or for a
    /// description not open for writing. Sealing against writes while
    /// writable shared mappings exist is not refused (Linux: EBUSY).
    fn add_seals(&self, seals: u32) -> Result<(), Errno> {
        if seals & !ALL_SEALS != 0 {
            return Err(Errno::EINVAL);
        }
        crate::vfs::writable(self).map_err(|_| Errno::EPERM)?;
        self.seals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| (s & F_SEAL_SEAL == 0).then_some(s | seals))
            .map(|_| ())
            .map_err(|_| Errno::EPERM)
    }
}
