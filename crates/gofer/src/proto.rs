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
}

/// The gofer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Attr(FileAttr),
    /// The opened file's attributes; the descriptor rides with this frame.
    Opened(FileAttr),
    Link(String),
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
