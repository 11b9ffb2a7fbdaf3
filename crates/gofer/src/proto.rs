//! Messages between the sentry (client) and the gofer (server). Each
//! request gets exactly one response, in order, framed as
//! `control::frame` frames.

use serde::{Deserialize, Serialize};

/// A request from the sentry. Paths are absolute within the container's
/// root; the gofer resolves them without leaving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Attributes of the file at `path` (following a final symlink if `follow`).
    Stat { path: String, follow: bool },
    /// Opens `path` for reading and donates the descriptor.
    OpenRead { path: String },
    /// The target of the symlink at `path`.
    Readlink { path: String },
    /// One page of the entries of the directory at `path` (following a
    /// final symlink), from the host's seek `cookie` on (0: the start).
    /// Answered with `Dirents`; `.` and `..` come first, as the host lists them.
    Readdir { path: String, cookie: u64 },
    /// Statistics of the file system holding `path` (following a final
    /// symlink), as the host's `fstatfs` gives them.
    Statfs { path: String },
}

/// The gofer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Attr(FileAttr),
    /// The opened file's attributes; the descriptor rides with this frame.
    Opened(FileAttr),
    Link(String),
    /// A page of directory entries. `next` is the cookie to ask for the
    /// next page with, `None` once the directory is exhausted.
    Dirents {
        entries: Vec<Dirent>,
        next: Option<u64>,
    },
    Statfs(FsStat),
    /// The request failed with this Linux errno.
    Error {
        errno: i32,
    },
}

/// File attributes as the sentry needs them (a subset of `struct statx`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAttr {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: (i64, u32),
    pub mtime: (i64, u32),
    pub ctime: (i64, u32),
}

impl From<&rustix::fs::Stat> for FileAttr {
    fn from(st: &rustix::fs::Stat) -> FileAttr {
        FileAttr {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            nlink: st.st_nlink,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
            size: st.st_size as u64,
            blksize: st.st_blksize as u64,
            blocks: st.st_blocks as u64,
            atime: (st.st_atime, st.st_atime_nsec as u32),
            mtime: (st.st_mtime, st.st_mtime_nsec as u32),
            ctime: (st.st_ctime, st.st_ctime_nsec as u32),
        }
    }
}

/// One directory entry, as `getdents64` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dirent {
    pub ino: u64,
    /// `DT_*` (`DT_UNKNOWN` = 0 when the host file system does not say).
    pub d_type: u8,
    /// The name's bytes: host names need not be UTF-8.
    pub name: Vec<u8>,
}

impl Dirent {
    /// An upper bound on the bytes this entry takes in a JSON frame (a name
    /// byte is at most `255,`), for keeping a page under the frame limit.
    pub fn encoded_bound(&self) -> usize {
        64 + 4 * self.name.len()
    }
}

/// File system statistics (`struct statfs` less the host's `f_fsid`,
/// which identifies a host device and means nothing inside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsStat {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

impl From<&rustix::fs::StatFs> for FsStat {
    fn from(s: &rustix::fs::StatFs) -> FsStat {
        FsStat {
            fs_type: s.f_type as u64,
            bsize: s.f_bsize as u64,
            blocks: s.f_blocks,
            bfree: s.f_bfree,
            bavail: s.f_bavail,
            files: s.f_files,
            ffree: s.f_ffree,
            namelen: s.f_namelen as u64,
            frsize: s.f_frsize as u64,
            flags: s.f_flags as u64,
        }
    }
}
