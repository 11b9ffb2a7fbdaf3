//! File system implementations. Today: host descriptors handed in as the
//! container's stdio (`host`), and files opened through the gofer
//! (`gofer`). tmpfs, overlay, procfs, devfs and the rest come with issue #4.

pub mod gofer;
pub mod host;
pub mod pipe;

use abi::{Stat, Timespec};

/// A `struct stat` from gofer attributes.
pub fn stat_from_attr(a: &::gofer::proto::FileAttr) -> Stat {
    Stat {
        dev: a.dev,
        ino: a.ino,
        nlink: a.nlink,
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size as i64,
        blksize: a.blksize as i64,
        blocks: a.blocks as i64,
        atime: Timespec { tv_sec: a.atime.0, tv_nsec: a.atime.1 as i64 },
        mtime: Timespec { tv_sec: a.mtime.0, tv_nsec: a.mtime.1 as i64 },
        ctime: Timespec { tv_sec: a.ctime.0, tv_nsec: a.ctime.1 as i64 },
        ..Stat::default()
    }
}
