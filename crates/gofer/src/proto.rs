//! Messages between the sentry (client) and the gofer (server). Each
//! request gets exactly one response, in order, framed as
//! `control::frame` frames.
//!
//! The gofer serves several trees: mount 0 is the container's root, mount
//! `i` (1, 2...) the `i`-th bind mount of the spec's `mounts`, counted in
//! order by [`is_bind`] (both sides count the same list the same way).
//! Every request travels in a [`Call`] naming its mount.

use serde::{Deserialize, Serialize};

/// A request for one of the gofer's trees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// 0: the container's root; `i`: the `i`-th bind mount.
    pub mount: u32,
    pub req: Request,
}

/// Whether a spec mount is a bind mount the gofer serves: `type` "bind",
/// or a `bind`/`rbind` option (runc's reading; Docker writes both).
pub fn is_bind(kind: &str, options: &[String]) -> bool {
    kind == "bind" || options.iter().any(|o| o == "bind" || o == "rbind")
}

/// The options of a bind mount that moat honours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindOptions {
    /// `ro`: every change is EROFS (in the sentry and in the gofer).
    pub readonly: bool,
    /// `nosuid`: recorded (statfs reports it; moat runs nothing set-user-id).
    pub nosuid: bool,
    /// `nodev`: recorded; the gofer never opens device nodes of a bind anyway.
    pub nodev: bool,
    /// `noexec`: execve of a file there is EACCES.
    pub noexec: bool,
}

impl BindOptions {
    /// Parses a bind mount's options; the second value lists the options
    /// moat does not act on (for the caller to log): propagation and atime
    /// options, and anything unknown.
    pub fn parse(options: &[String]) -> (BindOptions, Vec<String>) {
        let mut o = BindOptions::default();
        let mut ignored = Vec::new();
        for opt in options {
            match opt.as_str() {
                "bind" | "rbind" => {}
                "ro" => o.readonly = true,
                "rw" => o.readonly = false,
                "nosuid" => o.nosuid = true,
                "suid" => o.nosuid = false,
                "nodev" => o.nodev = true,
                "dev" => o.nodev = false,
                "noexec" => o.noexec = true,
                "exec" => o.noexec = false,
                other => ignored.push(other.to_string()),
            }
        }
        (o, ignored)
    }
}

/// Attribute changes (Linux's `struct iattr`), applied in the order
/// owner, mode, size, times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAttrs {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeSpec>,
    pub mtime: Option<TimeSpec>,
}

/// A time to set: `Now`, or seconds and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeSpec {
    Now,
    At(i64, u32),
}

/// The `open(2)` flags an [`Request::Open`] may carry; any other bit is EINVAL.
pub mod open_flags {
    pub const O_ACCMODE: u32 = 0o3;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_DIRECTORY: u32 = 0o200000;
    pub const ALLOWED: u32 = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY;
}

/// A request from the sentry. Paths are absolute within the container's
/// root; the gofer resolves them without leaving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Attributes of the file at `path` (following a final symlink if `follow`).
    Stat {
        path: String,
        follow: bool,
    },
    /// Opens `path` for reading and donates the descriptor.
    OpenRead {
        path: String,
    },
    /// The target of the symlink at `path`.
    Readlink {
        path: String,
    },
    /// One page of the entries of the directory at `path` (following a
    /// final symlink), from the host's seek `cookie` on (0: the start).
    /// Answered with `Dirents`; `.` and `..` come first, as the host lists them.
    Readdir {
        path: String,
        cookie: u64,
    },
    /// Statistics of the file system holding `path` (following a final
    /// symlink), as the host's `fstatfs` gives them.
    Statfs {
        path: String,
    },
    /// Walks `path` a component at a time (never following a symlink
    /// itself) and reports the first symlink that a lookup must follow
    /// (the last component's only if `follow_last`): `Walked`.
    Walk {
        path: String,
        follow_last: bool,
    },
    /// Opens `path` (a final symlink is not followed: ELOOP) with `flags`
    /// from [`open_flags`] and donates the descriptor: `Opened`. A file
    /// that O_CREAT makes gets `mode` (the caller applied its umask) and
    /// the owner `uid`:`gid`. Only regular files and directories open.
    Open {
        path: String,
        flags: u32,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// Makes the directory `path`, owned by `uid`:`gid`: `Done`.
    Mkdir {
        path: String,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// Makes the symlink `path` holding `target`, owned by `uid`:`gid`.
    Symlink {
        target: String,
        path: String,
        uid: u32,
        gid: u32,
    },
    /// Makes a Unix socket node at `path` (`mknod` with S_IFSOCK; the
    /// sentry serves the socket, the node names it on the host), with
    /// permission bits `mode`, owned by `uid`:`gid`: `Done`. No other
    /// type: the gofer never makes devices or FIFOs on the host.
    MknodSocket {
        path: String,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// A new name `new` for the file `old` (not followed).
    Link {
        old: String,
        new: String,
    },
    Unlink {
        path: String,
    },
    Rmdir {
        path: String,
    },
    /// `renameat2` with `flags` (`RENAME_NOREPLACE` = 1 only), within the mount.
    Rename {
        old: String,
        new: String,
        flags: u32,
    },
    /// Changes attributes of `path` (a final symlink is not followed):
    /// `Attr`, the attributes after the change.
    SetAttr {
        path: String,
        attr: SetAttrs,
    },
    /// The `user.*` extended attributes of the file at `path` (not
    /// followed), with their values: `Xattrs`. Files other than regular
    /// files and directories have none; the host's other namespaces are
    /// not the container's and are never reported.
    Xattrs {
        path: String,
    },
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
    /// The first symlink on a walked path: the normalised directory that
    /// holds it, its target, and the components after it (`None`: no
    /// symlink to follow); and the directories the walk looked into, in
    /// order (the tree's root first), for the caller's search-permission
    /// checks.
    Walked {
        link: Option<WalkLink>,
        searched: Vec<Owner>,
    },
    /// Extended attributes: (name, value) pairs.
    Xattrs(Vec<(String, Vec<u8>)>),
    /// A change was made.
    Done,
    /// The request failed with this Linux errno.
    Error {
        errno: i32,
    },
}

/// A directory's permission bits and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A symlink met by [`Request::Walk`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkLink {
    /// The directory holding the link, normalised, `/` for the mount's root.
    pub dir: String,
    pub target: String,
    /// The path after the link, without a leading slash (empty if none);
    /// a trailing slash of the walked path is kept.
    pub rest: String,
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
    /// The entry's attributes (its symlink's own, not followed), so that
    /// a listing followed by a `stat` of each entry (`find`, `ls -l`,
    /// `git status`) costs one round trip; None for `.` and `..` and for
    /// an entry gone before it could be looked at.
    #[serde(default)]
    pub attr: Option<FileAttr>,
}

impl Dirent {
    /// An upper bound on the bytes this entry takes in a JSON frame (a name
    /// byte is at most `255,`; the attributes' thirteen numbers at most
    /// 512 bytes with their keys), for keeping a page under the frame limit.
    pub fn encoded_bound(&self) -> usize {
        64 + 4 * self.name.len() + if self.attr.is_some() { 512 } else { 0 }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bind_mounts_and_their_options() {
        assert!(is_bind("bind", &[]));
        assert!(is_bind("none", &strings(&["rbind", "ro"])));
        assert!(!is_bind("tmpfs", &strings(&["nosuid"])));
        let (o, ignored) =
            BindOptions::parse(&strings(&["rbind", "ro", "nosuid", "nodev", "noexec", "rprivate", "x=1"]));
        assert_eq!(o, BindOptions { readonly: true, nosuid: true, nodev: true, noexec: true });
        assert_eq!(ignored, ["rprivate", "x=1"]);
        // The last word wins, as mount(8) reads them.
        let (o, _) = BindOptions::parse(&strings(&["ro", "rw", "noexec", "exec"]));
        assert_eq!(o, BindOptions::default());
    }

    #[test]
    fn calls_round_trip() {
        let c = Call {
            mount: 3,
            req: Request::SetAttr {
                path: "/a".into(),
                attr: SetAttrs { atime: Some(TimeSpec::Now), mtime: Some(TimeSpec::At(-1, 7)), ..SetAttrs::default() },
            },
        };
        let back: Call = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
