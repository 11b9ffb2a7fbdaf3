//! Open files of the sentry's own file systems (devfs, procfs): a
//! directory listed from a snapshot, and a read-only file whose contents
//! were generated at open (gVisor: `fsimpl/kernfs`, much reduced).

use crate::vfs::{DirEntry, FileDescription};
use abi::{Errno, Stat, Statfs, Timespec};
use std::sync::Mutex;

pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_CHR: u8 = 2;

/// `makedev` as glibc and the kernel's `new_encode_dev` agree on.
pub fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
}

/// The `d_type` of a mode.
pub fn dtype(mode: u32) -> u8 {
    match mode & 0o170000 {
        S_IFDIR => DT_DIR,
        S_IFLNK => DT_LNK,
        S_IFCHR => DT_CHR,
        0o010000 => 1,  // DT_FIFO
        0o060000 => 6,  // DT_BLK
        0o140000 => 12, // DT_SOCK
        _ => DT_REG,
    }
}

/// Attributes of a synthetic node, owned by root, timestamped `time`.
pub fn stat(dev: u64, ino: u64, mode: u32, rdev: u64, size: i64, time: Timespec) -> Stat {
    Stat {
        dev,
        ino,
        nlink: if mode & 0o170000 == S_IFDIR { 2 } else { 1 },
        mode,
        rdev,
        size,
        blksize: 4096,
        atime: time,
        mtime: time,
        ctime: time,
        ..Stat::default()
    }
}

/// Now, by the host's realtime clock.
pub fn now() -> Timespec {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timespec { tv_sec: d.as_secs() as i64, tv_nsec: i64::from(d.subsec_nanos()) }
}

/// A file system's `statfs`: no blocks, no inodes, as Linux's procfs.
pub fn statfs(magic: i64) -> Statfs {
    Statfs { f_type: magic, f_bsize: 4096, f_frsize: 4096, f_namelen: 255, ..Statfs::default() }
}

/// One entry of a synthetic directory.
pub struct Entry {
    pub name: String,
    pub ino: u64,
    pub d_type: u8,
}

/// An open synthetic directory: its entries as they were at open.
pub struct Dir {
    pub path: String,
    pub stat: Stat,
    pub statfs: Statfs,
    pub flags: u64,
    pub entries: Vec<Entry>,
    pub pos: Mutex<u64>,
}

impl FileDescription for Dir {
    fn flags(&self) -> u64 {
        self.flags
    }
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn pread(&self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock().unwrap();
        *pos = crate::vfs::seek_target(*pos, offset, whence, None)?;
        Ok(*pos)
    }
    fn readdir(&self, emit: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> Result<(), Errno> {
        let mut pos = self.pos.lock().unwrap();
        while let Some(e) = self.entries.get(usize::try_from(*pos).unwrap_or(usize::MAX)) {
            let entry = DirEntry { ino: e.ino, next_off: *pos as i64 + 1, d_type: e.d_type, name: e.name.as_bytes() };
            if !emit(&entry) {
                break;
            }
            *pos += 1;
        }
        Ok(())
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.statfs)
    }
    fn path(&self) -> String {
        self.path.clone()
    }
}

/// An open read-only file whose contents were generated at open, as a
/// procfs file's `seq_file` is.
pub struct File {
    pub path: String,
    pub stat: Stat,
    pub statfs: Statfs,
    pub flags: u64,
    pub data: Vec<u8>,
    pub pos: Mutex<u64>,
}

impl FileDescription for File {
    fn flags(&self) -> u64 {
        self.flags
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut pos = self.pos.lock().unwrap();
        let n = self.pread(buf, *pos)?;
        *pos += n as u64;
        Ok(n)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }
    fn write(&self, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EACCES)
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock().unwrap();
        *pos = crate::vfs::seek_target(*pos, offset, whence, Some(self.data.len() as u64))?;
        Ok(*pos)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(self.statfs)
    }
    fn path(&self) -> String {
        self.path.clone()
    }
}

/// Checks `open` flags against a node's mode: synthetic files are not
/// created or truncated, directories are not written, and files are
/// opened for writing only where the mode allows it (root is not exempt:
/// these modes are the policy, as procfs's are).
pub fn check_open(mode: u32, flags: u64) -> Result<(), Errno> {
    use abi::fcntl::{O_ACCMODE, O_DIRECTORY, O_RDONLY};
    let is_dir = mode & 0o170000 == S_IFDIR;
    let writes = flags & O_ACCMODE != O_RDONLY;
    if flags & O_DIRECTORY != 0 && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if is_dir && writes {
        return Err(Errno::EISDIR);
    }
    if writes && mode & 0o222 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(())
}
