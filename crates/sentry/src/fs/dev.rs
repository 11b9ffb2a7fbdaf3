//! devfs, mounted at `/dev` (gVisor: `fsimpl/dev`): the memory character
//! devices (`null`, `zero`, `full`, `random`, `urandom`), `tty`, the
//! standard symlinks into `/proc/self/fd`, and empty `shm` and `pts`
//! directories. The tree is fixed: nothing is created in it yet.

use super::synthetic::{self, check_open, Entry, S_IFCHR, S_IFDIR, S_IFLNK};
use super::tty::TtyFile;
use crate::kernel::Task;
use crate::vfs::mount::{join, FileSystem};
use crate::vfs::FileDescription;
use abi::{fcntl, Errno, Stat, Statfs, Timespec};
use std::sync::{Arc, Mutex};

/// `TMPFS_MAGIC`: Linux's /dev is a devtmpfs, which reports it.
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// `st_dev` of devfs's nodes.
const DEV: u64 = 6;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Null,
    Zero,
    Full,
    Random,
    Tty,
    Console,
}

enum Node {
    Dir,
    Char { major: u64, minor: u64, kind: Kind },
    Link(&'static str),
}

/// Every node, by its path in devfs; the index + 1 is its inode number.
const NODES: &[(&str, Node)] = &[
    ("/", Node::Dir),
    ("/null", Node::Char { major: 1, minor: 3, kind: Kind::Null }),
    ("/zero", Node::Char { major: 1, minor: 5, kind: Kind::Zero }),
    ("/full", Node::Char { major: 1, minor: 7, kind: Kind::Full }),
    ("/random", Node::Char { major: 1, minor: 8, kind: Kind::Random }),
    ("/urandom", Node::Char { major: 1, minor: 9, kind: Kind::Random }),
    ("/tty", Node::Char { major: 5, minor: 0, kind: Kind::Tty }),
    ("/console", Node::Char { major: 5, minor: 1, kind: Kind::Console }),
    ("/shm", Node::Dir),
    ("/pts", Node::Dir),
    ("/fd", Node::Link("/proc/self/fd")),
    ("/stdin", Node::Link("/proc/self/fd/0")),
    ("/stdout", Node::Link("/proc/self/fd/1")),
    ("/stderr", Node::Link("/proc/self/fd/2")),
    ("/ptmx", Node::Link("pts/ptmx")),
];

/// What the console (the host terminal of `process.terminal`) reports to
/// `fstat`: devfs's `/dev/console` node, so that `ttyname` finds it there.
pub fn console_stat() -> Stat {
    let (ino, node) = DevFs::node("/console").expect("devfs has a console");
    DevFs::new().stat_of(ino, node)
}

pub struct DevFs {
    /// The time every node reports: when the file system was made.
    time: Timespec,
}

impl DevFs {
    pub fn new() -> DevFs {
        DevFs { time: synthetic::now() }
    }

    fn node(path: &str) -> Result<(u64, &'static Node), Errno> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        NODES
            .iter()
            .enumerate()
            .find(|(_, (p, _))| *p == path)
            .map(|(i, (_, n))| (i as u64 + 1, n))
            .ok_or(Errno::ENOENT)
    }

    fn stat_of(&self, ino: u64, node: &Node) -> Stat {
        let (mode, rdev, size) = match node {
            Node::Dir => (S_IFDIR | 0o755, 0, 0),
            Node::Char { major, minor, .. } => (S_IFCHR | 0o666, synthetic::makedev(*major, *minor), 0),
            Node::Link(t) => (S_IFLNK | 0o777, 0, t.len() as i64),
        };
        synthetic::stat(DEV, ino, mode, rdev, size, self.time)
    }

    /// The entries of the directory at `dir` (a path in devfs).
    fn children(dir: &str) -> Vec<Entry> {
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        NODES
            .iter()
            .enumerate()
            .filter_map(|(i, (p, n))| {
                let name = p.strip_prefix(&prefix)?;
                if name.is_empty() || name.contains('/') {
                    return None;
                }
                let d_type = match n {
                    Node::Dir => synthetic::DT_DIR,
                    Node::Char { .. } => synthetic::DT_CHR,
                    Node::Link(_) => synthetic::DT_LNK,
                };
                Some(Entry { name: name.to_string(), ino: i as u64 + 1, d_type })
            })
            .collect()
    }
}

impl Default for DevFs {
    fn default() -> Self {
        DevFs::new()
    }
}

impl FileSystem for DevFs {
    fn name(&self) -> &'static str {
        "devfs"
    }

    fn follow(&self, _task: &Task, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        // The first component that is a link, if it is followed.
        let mut at = String::new();
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        for (i, c) in comps.iter().enumerate() {
            at.push('/');
            at.push_str(c);
            let last = i + 1 == comps.len();
            match Self::node(&at) {
                Ok((_, Node::Link(target))) if !last || follow_last => {
                    let dir = at.rsplit_once('/').map_or("", |(d, _)| d);
                    let target = join(&format!("/dev{dir}"), target);
                    let rest = comps[i + 1..].join("/");
                    return Ok(Some(if rest.is_empty() { target } else { format!("{target}/{rest}") }));
                }
                Ok((_, Node::Dir)) => {}
                Ok(_) if last => {}
                Ok(_) => return Err(Errno::ENOTDIR),
                // The error comes from the operation itself.
                Err(_) => return Ok(None),
            }
        }
        Ok(None)
    }

    fn open(&self, task: &Task, path: &str, flags: u64, _mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let (ino, node) = match Self::node(path) {
            Ok(n) => n,
            // Nothing can be created here yet.
            Err(_) if flags & fcntl::O_CREAT != 0 => return Err(Errno::EROFS),
            Err(e) => return Err(e),
        };
        if flags & (fcntl::O_CREAT | fcntl::O_EXCL) == fcntl::O_CREAT | fcntl::O_EXCL {
            return Err(Errno::EEXIST);
        }
        let stat = self.stat_of(ino, node);
        check_open(stat.mode, flags)?;
        let full_path = if path == "/" { "/dev".to_string() } else { format!("/dev{path}") };
        match node {
            Node::Dir => {
                let mut entries = vec![
                    Entry { name: ".".into(), ino, d_type: synthetic::DT_DIR },
                    Entry { name: "..".into(), ino: 1, d_type: synthetic::DT_DIR },
                ];
                entries.extend(Self::children(path));
                Ok(Arc::new(synthetic::Dir {
                    path: full_path,
                    stat,
                    statfs: synthetic::statfs(TMPFS_MAGIC),
                    flags,
                    entries,
                    pos: Mutex::new(0),
                }))
            }
            // The caller's controlling terminal; ENXIO without one.
            Node::Char { kind: Kind::Tty, .. } => {
                let tty = task.kernel.procs().get(task.pid).and_then(|p| p.tty.clone()).ok_or(Errno::ENXIO)?;
                Ok(Arc::new(TtyFile::new(tty, flags)))
            }
            // The console (`process.terminal`), which runc bind-mounts
            // here; opening it never makes it a controlling terminal.
            Node::Char { kind: Kind::Console, .. } => {
                let console = task.kernel.console().ok_or(Errno::ENXIO)?;
                Ok(Arc::new(TtyFile::new(console, flags)))
            }
            Node::Char { kind, .. } => Ok(Arc::new(Device { kind: *kind, stat, path: full_path, flags })),
            // O_NOFOLLOW on a link (followed links never get here).
            Node::Link(_) => Err(Errno::ELOOP),
        }
    }

    fn stat(&self, _task: &Task, path: &str, _follow: bool) -> Result<Stat, Errno> {
        let (ino, node) = Self::node(path)?;
        Ok(self.stat_of(ino, node))
    }

    fn readlink(&self, _task: &Task, path: &str) -> Result<String, Errno> {
        match Self::node(path)? {
            (_, Node::Link(t)) => Ok(t.to_string()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn statfs(&self, _task: &Task, path: &str) -> Result<Statfs, Errno> {
        Self::node(path)?;
        Ok(synthetic::statfs(TMPFS_MAGIC))
    }
}

/// An open memory device.
struct Device {
    kind: Kind,
    stat: Stat,
    path: String,
    flags: u64,
}

impl FileDescription for Device {
    fn flags(&self) -> u64 {
        self.flags
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.kind {
            Kind::Null => Ok(0),
            Kind::Zero | Kind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Kind::Random => rustix::rand::getrandom(buf, rustix::rand::GetRandomFlags::empty())
                .map_err(|e| Errno::new(e.raw_os_error())),
            Kind::Tty | Kind::Console => Err(Errno::ENXIO),
        }
    }
    fn pread(&self, buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        self.read(buf)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        match self.kind {
            Kind::Full => Err(Errno::ENOSPC),
            Kind::Tty | Kind::Console => Err(Errno::ENXIO),
            // Written randomness is mixed in by Linux; here it is dropped.
            Kind::Null | Kind::Zero | Kind::Random => Ok(data.len()),
        }
    }
    fn seek(&self, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        // The memory devices ignore seeks and report position 0.
        Ok(0)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(synthetic::statfs(TMPFS_MAGIC))
    }
    fn path(&self) -> String {
        self.path.clone()
    }
    /// Linux maps /dev/zero as anonymous memory, shared or private.
    fn maps_anonymous(&self) -> bool {
        self.kind == Kind::Zero
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_and_listing() {
        let (_, n) = DevFs::node("/null").unwrap();
        let st = DevFs::new().stat_of(2, n);
        assert_eq!(st.mode, 0o20666);
        assert_eq!(st.rdev, (1 << 8) | 3);
        assert!(DevFs::node("/nope").is_err());
        let names: Vec<String> = DevFs::children("/").into_iter().map(|e| e.name).collect();
        assert!(names.contains(&"null".to_string()) && names.contains(&"pts".to_string()));
        assert!(DevFs::children("/pts").is_empty());
        assert_eq!(synthetic::makedev(5, 0), 0x500);
    }
}
