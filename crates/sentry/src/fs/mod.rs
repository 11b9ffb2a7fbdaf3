//! File system implementations. Today: host descriptors handed in as the
//! container's stdio (`host`), files opened through the gofer (`gofer`,
//! the root mount), devfs at `/dev` (`dev`), a minimal procfs at `/proc`
//! (`proc`, over `synthetic`'s open files), tmpfs (`tmpfs`, the spec's
//! tmpfs mounts), pipes and epoll instances (`epoll`), eventfd, timerfd,
//! signalfd and memfds (`eventfd`, `timerfd`, `signalfd`, `memfd`), inotify instances and watches (`inotify`), FIFOs (`pipe`) and the extended attribute rules (`xattr`). Overlay, sysfs, devpts and the rest come with
//! issue #4.

pub mod dev;
pub mod devpts;
pub mod epoll;
pub mod eventfd;
pub mod gofer;
pub mod gofer_cache;
pub mod host;
pub mod inotify;
pub mod lock;
pub mod memfd;
pub mod overlay;
pub mod pipe;
pub mod proc;
pub mod signalfd;
pub mod synthetic;
pub mod sys;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;
pub mod unix;
pub mod xattr;

use abi::{Stat, Statfs, Timespec};

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

/// A `struct statfs` from the gofer's statistics.
pub fn statfs_from(s: &::gofer::proto::FsStat) -> Statfs {
    Statfs {
        f_type: s.fs_type as i64,
        f_bsize: s.bsize as i64,
        f_blocks: s.blocks,
        f_bfree: s.bfree,
        f_bavail: s.bavail,
        f_files: s.files,
        f_ffree: s.ffree,
        f_namelen: s.namelen as i64,
        f_frsize: s.frsize as i64,
        f_flags: s.flags as i64,
        ..Statfs::default()
    }
}
