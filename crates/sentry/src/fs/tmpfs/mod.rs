//! tmpfs (gVisor: `fsimpl/tmpfs`): a writable file system held in the
//! sentry's memory. Directories, regular files, symlinks, FIFOs, socket
//! and device nodes (`mknod`), each with its extended attributes (see
//! `xattr`); the spec's `tmpfs` mounts (`/dev/shm` in runc's default
//! spec) are these. A FIFO's data lives in the pipe its openers share
//! (`pipe::open_fifo`); socket and device nodes cannot be opened (ENXIO).
//!
//! The tree is plain data: inodes in a map keyed by inode number,
//! directories map names to numbers, so the whole file system can later
//! be saved as it is (STYLE.md §9). One lock guards it, as one rename
//! must see both directories at once. File data lives in 4 KiB pages
//! allocated on first write, so a file truncated up is sparse and `size=`
//! counts only the pages written, as Linux's shmem does. Pages are sentry
//! heap until a shared mapping needs them, when they move to the memory
//! file (`Page::Mapped`) so mappings and `write` see the same bytes.

use super::synthetic::{self, S_IFDIR, S_IFLNK, S_IFREG};
use super::xattr::{self, Xattrs};
use crate::kernel::task::Credentials;
use crate::kernel::Task;
use crate::mm::SharedPages;
use crate::vfs::mount::{join, FileSystem, SetAttr, TimeSet};
use crate::vfs::{DirEntry, FileDescription};
use abi::{fcntl, Errno, Stat, Statfs, Timespec};
use memfile::MemoryFile;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

mod file;
mod options;
use file::TmpFile;
pub use options::Options;

/// `TMPFS_MAGIC`.
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
const PAGE: u64 = 4096;
const S_IFMT: u32 = 0o170000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFBLK: u32 = 0o060000;
const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
/// What Linux's tmpfs reports as a directory's size per entry.
const BOGO_DIRENT_SIZE: i64 = 20;
const NAME_MAX: usize = 255;
pub const RENAME_NOREPLACE: u32 = 1;

/// Anonymous device numbers (major 0), one per mounted instance.
static NEXT_MINOR: AtomicU64 = AtomicU64::new(64);

enum Data {
    Dir {
        entries: BTreeMap<String, u64>,
        parent: u64,
    },
    File {
        size: u64,
        pages: BTreeMap<u64, Page>,
    },
    Link(String),
    /// A FIFO, socket or device node; `rdev` for devices.
    Special {
        rdev: u64,
    },
}

struct Inode {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    /// Open descriptions: an unlinked inode lives until the last closes.
    open: u64,
    data: Data,
    xattrs: Xattrs,
}

impl Inode {
    fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    fn entries(&self) -> Result<&BTreeMap<String, u64>, Errno> {
        match &self.data {
            Data::Dir { entries, .. } => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }
    fn entries_mut(&mut self) -> &mut BTreeMap<String, u64> {
        match &mut self.data {
            Data::Dir { entries, .. } => entries,
            _ => unreachable!("checked to be a directory"),
        }
    }
    fn touch_mc(&mut self) {
        let now = synthetic::now();
        self.mtime = now;
        self.ctime = now;
    }
}

struct State {
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    /// Pages of file data held, against `max_pages`.
    pages: u64,
    max_pages: u64,
}

const ROOT: u64 = 1;

impl State {
    fn get(&self, ino: u64) -> &Inode {
        &self.inodes[&ino]
    }
    fn get_mut(&mut self, ino: u64) -> &mut Inode {
        self.inodes.get_mut(&ino).expect("inode numbers in directories are live")
    }

    /// Drops an inode no name and no description refers to.
    fn maybe_free(&mut self, ino: u64) {
        let i = self.get(ino);
        if i.nlink == 0 && i.open == 0 {
            if let Some(Inode { data: Data::File { pages, .. }, .. }) = self.inodes.remove(&ino) {
                self.pages -= pages.len() as u64;
            }
        }
    }

    fn new_inode(&mut self, creds: &Credentials, umask: u32, parent: u64, mode: u32, data: Data) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        let now = synthetic::now();
        let dir = self.get(parent);
        let (mut mode, mut gid) = (mode, creds.egid);
        if mode & S_IFMT != S_IFLNK {
            mode &= !umask;
        }
        // A set-group-id directory hands its group down, and the bit to
        // subdirectories.
        if dir.mode & S_ISGID != 0 {
            gid = dir.gid;
            if mode & S_IFMT == S_IFDIR {
                mode |= S_ISGID;
            }
        }
        let nlink = if mode & S_IFMT == S_IFDIR { 2 } else { 1 };
        let inode = Inode {
            mode,
            uid: creds.euid,
            gid,
            nlink,
            atime: now,
            mtime: now,
            ctime: now,
            open: 0,
            data,
            xattrs: Xattrs::new(),
        };
        self.inodes.insert(ino, inode);
        ino
    }

    /// Walks `path` (absolute in this file system, symlinks already
    /// followed by [`TmpFs::follow`]) to its inode, checking search
    /// permission on the way.
    fn walk(&self, creds: &Credentials, path: &str) -> Result<u64, Errno> {
        let mut ino = ROOT;
        for c in path.split('/').filter(|c| !c.is_empty()) {
            ino = self.child(creds, ino, c)?.ok_or(Errno::ENOENT)?;
        }
        Ok(ino)
    }

    /// The entry `name` of directory `dir`, if any.
    fn child(&self, creds: &Credentials, dir: u64, name: &str) -> Result<Option<u64>, Errno> {
        let d = self.get(dir);
        let entries = d.entries()?;
        permit(creds, d, 1)?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(entries.get(name).copied())
    }

    /// The directory holding the last component of `path`, and that
    /// component ("" for the root).
    fn parent<'p>(&self, creds: &Credentials, path: &'p str) -> Result<(u64, &'p str), Errno> {
        let trimmed = path.trim_end_matches('/');
        let (dir, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        let ino = self.walk(creds, dir)?;
        self.get(ino).entries()?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok((ino, name))
    }

    /// Checks that `creds` may add or remove names in `dir`; for removal,
    /// `victim` is the inode going, for the sticky bit.
    fn may_change(&self, creds: &Credentials, dir: u64, victim: Option<u64>) -> Result<(), Errno> {
        let d = self.get(dir);
        permit(creds, d, 3)?;
        if let Some(v) = victim {
            let v = self.get(v);
            if d.mode & S_ISVTX != 0 && !creds.owns(d.uid) && !creds.owns(v.uid) {
                return Err(Errno::EPERM);
            }
        }
        Ok(())
    }

    /// Adds a new inode as `name` in `dir` (which has been checked).
    fn insert(&mut self, dir: u64, name: &str, ino: u64) {
        let is_dir = self.get(ino).is_dir();
        if let Data::Dir { parent, .. } = &mut self.get_mut(ino).data {
            *parent = dir;
        }
        let d = self.get_mut(dir);
        d.entries_mut().insert(name.to_string(), ino);
        if is_dir {
            d.nlink += 1;
        }
        d.touch_mc();
    }

    /// Removes `name` from `dir`, dropping a link of its inode.
    fn remove(&mut self, dir: u64, name: &str) {
        let d = self.get_mut(dir);
        let ino = d.entries_mut().remove(name).expect("checked to exist");
        d.touch_mc();
        let now = synthetic::now();
        let i = self.get_mut(ino);
        i.ctime = now;
        if i.is_dir() {
            i.nlink = 0;
            self.get_mut(dir).nlink -= 1;
        } else {
            i.nlink -= 1;
        }
        self.maybe_free(ino);
    }

    fn stat(&self, dev: u64, ino: u64) -> Stat {
        let i = self.get(ino);
        let (size, blocks) = match &i.data {
            Data::Dir { entries, .. } => ((entries.len() as i64 + 2) * BOGO_DIRENT_SIZE, 0),
            Data::File { size, pages } => (*size as i64, pages.len() as i64 * (PAGE as i64 / 512)),
            Data::Link(t) => (t.len() as i64, 0),
            Data::Special { .. } => (0, 0),
        };
        let rdev = if let Data::Special { rdev } = i.data { rdev } else { 0 };
        Stat {
            dev,
            ino,
            rdev,
            nlink: i.nlink,
            mode: i.mode,
            uid: i.uid,
            gid: i.gid,
            size,
            blksize: PAGE as i64,
            blocks,
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            ..Stat::default()
        }
    }

    fn read(&mut self, ino: u64, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let i = self.get_mut(ino);
        let Data::File { size, pages } = &i.data else { return Err(Errno::EISDIR) };
        let n = (buf.len() as u64).min(size.saturating_sub(offset)) as usize;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let (page, within) = (pos / PAGE, (pos % PAGE) as usize);
            let take = (PAGE as usize - within).min(n - done);
            match pages.get(&page) {
                Some(p) => p.read(within, &mut buf[done..done + take]),
                None => buf[done..done + take].fill(0),
            }
            done += take;
        }
        i.atime = synthetic::now();
        Ok(n)
    }

    /// Writes at `offset`: what fits in the file system's size, ENOSPC
    /// when nothing does.
    fn write(&mut self, ino: u64, data: &[u8], offset: u64) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset.checked_add(data.len() as u64).filter(|&e| e <= i64::MAX as u64).ok_or(Errno::EFBIG)?;
        let mut free = self.max_pages.saturating_sub(self.pages);
        let i = self.inodes.get_mut(&ino).expect("open inodes are live");
        let Data::File { size, pages } = &mut i.data else { return Err(Errno::EISDIR) };
        let mut done = 0usize;
        let mut allocated = 0;
        while done < data.len() {
            let pos = offset + done as u64;
            let (page, within) = (pos / PAGE, (pos % PAGE) as usize);
            let take = (PAGE as usize - within).min(data.len() - done);
            let p = match pages.entry(page) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(_) if free == 0 => break,
                Entry::Vacant(e) => {
                    free -= 1;
                    allocated += 1;
                    e.insert(Page::Heap(vec![0u8; PAGE as usize].into_boxed_slice()))
                }
            };
            p.write(within, &data[done..done + take]);
            done += take;
        }
        if done == 0 {
            return Err(Errno::ENOSPC);
        }
        *size = (*size).max(offset + done as u64);
        debug_assert!(offset + done as u64 <= end);
        i.touch_mc();
        self.pages += allocated;
        Ok(done)
    }

    /// `fallocate` as Linux's tmpfs does it: the pages of the range made
    /// real (ENOSPC past `size=`, nothing kept then) and, without
    /// FALLOC_FL_KEEP_SIZE, the file grown to cover it; or, with
    /// FALLOC_FL_PUNCH_HOLE (and KEEP_SIZE), the range zeroed and its whole
    /// pages freed. Other modes are EOPNOTSUPP, as on tmpfs.
    fn fallocate(&mut self, ino: u64, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        const KEEP_SIZE: u32 = 0x1;
        const PUNCH_HOLE: u32 = 0x2;
        let end = offset + len;
        let i = self.inodes.get_mut(&ino).expect("open inodes are live");
        let Data::File { size, pages } = &mut i.data else {
            return Err(if i.is_dir() { Errno::EISDIR } else { Errno::ENODEV });
        };
        let (first, last) = (offset / PAGE, end.div_ceil(PAGE));
        match mode {
            m if m == PUNCH_HOLE | KEEP_SIZE => {
                let end = end.min(*size).max(offset);
                let (lo, hi) = (offset.div_ceil(PAGE), end / PAGE);
                let whole: Vec<u64> = pages.range(lo..hi.max(lo)).map(|(k, _)| *k).collect();
                for k in &whole {
                    pages.remove(k);
                }
                // The partial pages at either edge keep their other bytes.
                for (from, to) in
                    [(offset, end.min(offset.div_ceil(PAGE) * PAGE)), ((end / PAGE * PAGE).max(offset), end)]
                {
                    if from < to {
                        if let Some(p) = pages.get_mut(&(from / PAGE)) {
                            p.write((from % PAGE) as usize, &vec![0u8; (to - from) as usize]);
                        }
                    }
                }
                i.touch_mc();
                self.pages -= whole.len() as u64;
                Ok(())
            }
            0 | KEEP_SIZE => {
                let missing = (first..last).filter(|p| !pages.contains_key(p)).count() as u64;
                if missing > self.max_pages.saturating_sub(self.pages) {
                    return Err(Errno::ENOSPC);
                }
                for p in first..last {
                    pages.entry(p).or_insert_with(|| Page::Heap(vec![0u8; PAGE as usize].into_boxed_slice()));
                }
                if mode == 0 && end > *size {
                    *size = end;
                    i.touch_mc();
                }
                self.pages += missing;
                Ok(())
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// The pages of `[offset, offset+len)` as memory-file pages, moving
    /// heap pages there and making holes real (they count against `size=`).
    fn share_pages(
        &mut self,
        ino: u64,
        memfile: &Arc<MemoryFile>,
        offset: u64,
        len: u64,
    ) -> Result<Vec<Arc<SharedPages>>, Errno> {
        let (first, count) = (offset / PAGE, len.div_ceil(PAGE));
        let mut free = self.max_pages.saturating_sub(self.pages);
        let i = self.inodes.get_mut(&ino).expect("open inodes are live");
        let Data::File { pages, .. } = &mut i.data else { return Err(Errno::ENODEV) };
        let mut out = Vec::with_capacity(count as usize);
        let mut allocated = 0;
        for page in first..first + count {
            let shared = match pages.get(&page) {
                Some(Page::Mapped(m)) => m.clone(),
                Some(Page::Heap(h)) => {
                    let m = SharedPages::allocate(memfile, PAGE)?;
                    m.write(0, h);
                    m
                }
                None => {
                    if free == 0 {
                        return Err(Errno::ENOMEM);
                    }
                    free -= 1;
                    allocated += 1;
                    SharedPages::allocate(memfile, PAGE)?
                }
            };
            pages.insert(page, Page::Mapped(shared.clone()));
            out.push(shared);
        }
        self.pages += allocated;
        Ok(out)
    }

    fn truncate(&mut self, ino: u64, new: u64) -> Result<(), Errno> {
        if new > i64::MAX as u64 {
            return Err(Errno::EFBIG);
        }
        let i = self.get_mut(ino);
        let Data::File { size, pages } = &mut i.data else { return Err(Errno::EISDIR) };
        let mut freed = 0;
        if new < *size {
            let keep = new.div_ceil(PAGE);
            let gone: Vec<u64> = pages.range(keep..).map(|(k, _)| *k).collect();
            freed = gone.len() as u64;
            for k in gone {
                pages.remove(&k);
            }
            let tail = (new % PAGE) as usize;
            if tail > 0 {
                if let Some(p) = pages.get_mut(&(new / PAGE)) {
                    p.write(tail, &vec![0u8; PAGE as usize - tail]);
                }
            }
        }
        *size = new;
        i.touch_mc();
        self.pages -= freed;
        Ok(())
    }

    fn getxattr(&self, dev: u64, creds: &Credentials, ino: u64, name: &str) -> Result<Vec<u8>, Errno> {
        xattr::get(&self.get(ino).xattrs, creds, &self.stat(dev, ino), name)
    }

    /// Sets (`value`) or removes (None) an attribute; a change moves ctime.
    fn setxattr(
        &mut self,
        dev: u64,
        creds: &Credentials,
        ino: u64,
        name: &str,
        value: Option<&[u8]>,
        flags: u32,
    ) -> Result<(), Errno> {
        let stat = self.stat(dev, ino);
        let i = self.get_mut(ino);
        match value {
            Some(v) => xattr::set(&mut i.xattrs, creds, &stat, name, v, flags)?,
            None => xattr::remove(&mut i.xattrs, creds, &stat, name)?,
        }
        i.ctime = synthetic::now();
        Ok(())
    }

    fn setattr(&mut self, creds: &Credentials, ino: u64, a: &SetAttr, size_by_fd: bool) -> Result<(), Errno> {
        let root = creds.capable(crate::kernel::caps::CAP_CHOWN);
        let i = self.get(ino);
        let owner = creds.owns(i.uid);
        if let Some(size) = a.size {
            if i.is_dir() {
                return Err(Errno::EISDIR);
            }
            if !matches!(i.data, Data::File { .. }) {
                return Err(Errno::EINVAL);
            }
            if !size_by_fd {
                permit(creds, i, 2)?;
            }
            self.truncate(ino, size)?;
        }
        let i = self.get(ino);
        if a.uid.is_some() || a.gid.is_some() {
            let uid_changes = a.uid.is_some_and(|u| u != i.uid);
            let gid_ok = |g: u32| g == i.gid || creds.egid == g || creds.groups.contains(&g);
            if !root && (uid_changes || !owner || a.gid.is_some_and(|g| !gid_ok(g))) {
                return Err(Errno::EPERM);
            }
        }
        if a.mode.is_some() && !owner {
            return Err(Errno::EPERM);
        }
        let explicit = matches!(a.atime, Some(TimeSet::At(_))) || matches!(a.mtime, Some(TimeSet::At(_)));
        if explicit && !owner {
            return Err(Errno::EPERM);
        }
        if (a.atime.is_some() || a.mtime.is_some()) && !explicit && !owner {
            permit(creds, i, 2).map_err(|_| Errno::EACCES)?;
        }
        let in_group = creds.egid == i.gid || creds.groups.contains(&i.gid);
        let fsetid = creds.capable(crate::kernel::caps::CAP_FSETID);
        let now = synthetic::now();
        let i = self.get_mut(ino);
        if let Some(mode) = a.mode {
            let mut mode = mode & 0o7777;
            // Linux drops set-group-id when a non-member without CAP_FSETID sets it.
            if !fsetid && !in_group {
                mode &= !S_ISGID;
            }
            i.mode = (i.mode & S_IFMT) | mode;
        }
        if a.uid.is_some() || a.gid.is_some() {
            if let Some(u) = a.uid {
                i.uid = u;
            }
            if let Some(g) = a.gid {
                i.gid = g;
            }
            if !i.is_dir() {
                i.mode &= !S_ISUID;
                if i.mode & 0o010 != 0 {
                    i.mode &= !S_ISGID;
                }
            }
        }
        let at = |t: TimeSet| match t {
            TimeSet::Now => now,
            TimeSet::At(t) => t,
        };
        if let Some(t) = a.atime {
            i.atime = at(t);
        }
        if let Some(t) = a.mtime {
            i.mtime = at(t);
        }
        if a.mode.is_some() || a.uid.is_some() || a.gid.is_some() || a.atime.is_some() || a.mtime.is_some() {
            i.ctime = now;
        }
        Ok(())
    }
}

/// Checks `want` (r=4, w=2, x=1) against an inode's mode for `creds`.
/// Root may read and write anything, search any directory, and execute
/// a file that anyone may execute.
fn permit(creds: &Credentials, i: &Inode, want: u32) -> Result<(), Errno> {
    if creds.permits(i.mode, i.uid, i.gid, i.is_dir(), want) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

struct Shared {
    /// Where the file system is mounted, for the absolute paths of its
    /// descriptions and its symlinks' targets.
    point: String,
    dev: u64,
    options: Options,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn full(&self, path: &str) -> String {
        if path == "/" {
            self.point.clone()
        } else {
            format!("{}{}", self.point.trim_end_matches('/'), path)
        }
    }
    fn writable(&self) -> Result<(), Errno> {
        if self.options.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }
    fn statfs(&self) -> Statfs {
        let st = self.lock();
        let free = st.max_pages.saturating_sub(st.pages);
        let files = st.max_pages.max(st.inodes.len() as u64);
        Statfs {
            f_type: TMPFS_MAGIC,
            f_bsize: PAGE as i64,
            f_blocks: st.max_pages,
            f_bfree: free,
            f_bavail: free,
            f_files: files,
            f_ffree: files - st.inodes.len() as u64,
            f_namelen: NAME_MAX as i64,
            f_frsize: PAGE as i64,
            f_flags: self.options.flags,
            ..Statfs::default()
        }
    }
}

/// Whom an operation is done for: a task's credentials and umask.
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub creds: Credentials,
    pub umask: u32,
}

impl Who {
    pub fn of(task: &Task) -> Who {
        Who { creds: task.creds.clone(), umask: task.umask }
    }
    /// The kernel itself: root with every capability, no umask.
    pub fn root() -> Who {
        Who { creds: Credentials::of(0, 0), umask: 0 }
    }
}

/// A mounted tmpfs.
pub struct TmpFs {
    shared: Arc<Shared>,
}

impl TmpFs {
    /// An empty tmpfs to be mounted at `point`.
    pub fn new(point: &str, options: Options) -> TmpFs {
        let now = synthetic::now();
        let root = Inode {
            mode: S_IFDIR | options.mode,
            uid: options.uid,
            gid: options.gid,
            nlink: 2,
            atime: now,
            mtime: now,
            ctime: now,
            open: 0,
            data: Data::Dir { entries: BTreeMap::new(), parent: ROOT },
            xattrs: Xattrs::new(),
        };
        let state = State {
            inodes: HashMap::from([(ROOT, root)]),
            next_ino: ROOT + 1,
            pages: 0,
            max_pages: options.size.div_ceil(PAGE),
        };
        let minor = NEXT_MINOR.fetch_add(1, Ordering::Relaxed);
        TmpFs {
            shared: Arc::new(Shared {
                point: crate::vfs::mount::normalize(point),
                dev: synthetic::makedev(0, minor),
                options,
                state: Mutex::new(state),
            }),
        }
    }

    /// Opens a FIFO (its pipe, keyed by this file system's device and
    /// the inode) or refuses a socket or device node.
    fn open_special(
        &self,
        st: &mut State,
        ino: u64,
        path: &str,
        flags: u64,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        match st.get(ino).mode & S_IFMT {
            S_IFIFO => {
                let end = super::pipe::open_fifo((self.shared.dev, ino), flags)?;
                let node = self.description(st, ino, path, fcntl::O_RDONLY);
                Ok(Arc::new(super::pipe::FifoFile::new(end, node)))
            }
            S_IFSOCK => Err(Errno::ENXIO),
            _ => {
                tracing::warn!(path, "device nodes made by mknod cannot be opened (ENXIO); /dev is devfs");
                Err(Errno::ENXIO)
            }
        }
    }

    fn description(&self, st: &mut State, ino: u64, path: &str, flags: u64) -> Arc<dyn FileDescription> {
        st.get_mut(ino).open += 1;
        Arc::new(TmpFile {
            fs: self.shared.clone(),
            ino,
            path: self.shared.full(path),
            flags: AtomicU64::new(flags),
            pos: Mutex::new(0),
        })
    }
}

impl FileSystem for TmpFs {
    fn name(&self) -> &'static str {
        "tmpfs"
    }

    fn follow(&self, task: &Task, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        self.follow_as(&Who::of(task), path, follow_last)
    }

    fn open_read_as(&self, who: &Who, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        self.open_as(who, path, fcntl::O_RDONLY, 0)
    }

    fn follow_as(&self, who: &Who, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        let st = self.shared.lock();
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let mut ino = ROOT;
        for (i, c) in comps.iter().enumerate() {
            let Ok(Some(next)) = st.child(&who.creds, ino, c) else {
                // The operation reports the error.
                return Ok(None);
            };
            let last = i + 1 == comps.len();
            if let Data::Link(target) = &st.get(next).data {
                if !last || follow_last {
                    let dir = format!("/{}", comps[..i].join("/"));
                    let target = join(&self.shared.full(&dir), target);
                    let rest = comps[i + 1..].join("/");
                    return Ok(Some(if rest.is_empty() { target } else { format!("{target}/{rest}") }));
                }
            }
            ino = next;
        }
        Ok(None)
    }

    fn open(&self, task: &Task, path: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        self.open_as(&Who::of(task), path, flags, mode)
    }

    fn stat(&self, task: &Task, path: &str, _follow: bool) -> Result<Stat, Errno> {
        self.stat_as(&Who::of(task), path, _follow)
    }

    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno> {
        self.readlink_as(&Who::of(task), path)
    }

    fn statfs(&self, task: &Task, path: &str) -> Result<Statfs, Errno> {
        self.statfs_as(&Who::of(task), path)
    }

    fn mkdir(&self, task: &Task, path: &str, mode: u32) -> Result<(), Errno> {
        self.mkdir_as(&Who::of(task), path, mode)
    }

    fn rmdir(&self, task: &Task, path: &str) -> Result<(), Errno> {
        self.rmdir_as(&Who::of(task), path)
    }

    fn unlink(&self, task: &Task, path: &str) -> Result<(), Errno> {
        self.unlink_as(&Who::of(task), path)
    }

    fn symlink(&self, task: &Task, target: &str, path: &str) -> Result<(), Errno> {
        self.symlink_as(&Who::of(task), target, path)
    }

    fn link(&self, task: &Task, old: &str, new: &str) -> Result<(), Errno> {
        self.link_as(&Who::of(task), old, new)
    }

    fn rename(&self, task: &Task, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
        self.rename_as(&Who::of(task), old, new, flags)
    }

    fn setattr(&self, task: &Task, path: &str, attr: &SetAttr) -> Result<(), Errno> {
        self.setattr_as(&Who::of(task), path, attr)
    }

    fn mknod(&self, task: &Task, path: &str, mode: u32, rdev: u64) -> Result<(), Errno> {
        self.mknod_as(&Who::of(task), path, mode, rdev)
    }

    fn getxattr(&self, task: &Task, path: &str, name: &str) -> Result<Vec<u8>, Errno> {
        self.getxattr_as(&Who::of(task), path, name)
    }

    fn setxattr(&self, task: &Task, path: &str, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        self.setxattr_as(&Who::of(task), path, name, value, flags)
    }

    fn listxattr(&self, task: &Task, path: &str) -> Result<Vec<String>, Errno> {
        self.listxattr_as(&Who::of(task), path)
    }

    fn removexattr(&self, task: &Task, path: &str, name: &str) -> Result<(), Errno> {
        self.removexattr_as(&Who::of(task), path, name)
    }
}

/// Operations on behalf of `Who` rather than a task, for the overlay
/// (which copies up with the kernel's authority) and for tests.
impl TmpFs {
    pub fn open_as(&self, task: &Who, path: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let creds = &task.creds;
        let writes = flags & fcntl::O_ACCMODE != fcntl::O_RDONLY;
        let mut st = self.shared.lock();
        let (dir, name) = st.parent(creds, path)?;
        let existing = if name.is_empty() { Some(ROOT) } else { st.child(creds, dir, name)? };
        let ino = match existing {
            Some(_) if flags & (fcntl::O_CREAT | fcntl::O_EXCL) == fcntl::O_CREAT | fcntl::O_EXCL => {
                return Err(Errno::EEXIST)
            }
            Some(ino) => {
                let i = st.get(ino);
                match i.mode & S_IFMT {
                    S_IFLNK => return Err(Errno::ELOOP),
                    S_IFDIR if writes || flags & fcntl::O_CREAT != 0 => return Err(Errno::EISDIR),
                    S_IFDIR => {}
                    _ if flags & fcntl::O_DIRECTORY != 0 => return Err(Errno::ENOTDIR),
                    _ => {}
                }
                let want = match flags & fcntl::O_ACCMODE {
                    fcntl::O_RDONLY => 4,
                    fcntl::O_WRONLY => 2,
                    _ => 6,
                };
                permit(creds, i, want)?;
                if let Data::Special { .. } = i.data {
                    // Writing to a FIFO changes nothing here: allowed on a
                    // read-only mount, and O_TRUNC does nothing.
                    return self.open_special(&mut st, ino, path, flags);
                }
                if (writes || flags & fcntl::O_TRUNC != 0) && self.shared.options.read_only {
                    return Err(Errno::EROFS);
                }
                if flags & fcntl::O_TRUNC != 0 && !i.is_dir() {
                    permit(creds, i, 2)?;
                    st.truncate(ino, 0)?;
                }
                ino
            }
            None if flags & fcntl::O_CREAT == 0 => return Err(Errno::ENOENT),
            None => {
                if path.ends_with('/') {
                    return Err(Errno::EISDIR);
                }
                self.shared.writable()?;
                st.may_change(creds, dir, None)?;
                let mode = S_IFREG | (mode & 0o7777);
                let ino = st.new_inode(creds, task.umask, dir, mode, Data::File { size: 0, pages: BTreeMap::new() });
                st.insert(dir, name, ino);
                ino
            }
        };
        Ok(self.description(&mut st, ino, path, flags))
    }

    pub fn stat_as(&self, task: &Who, path: &str, _follow: bool) -> Result<Stat, Errno> {
        let st = self.shared.lock();
        let ino = st.walk(&task.creds, path)?;
        Ok(st.stat(self.shared.dev, ino))
    }

    pub fn readlink_as(&self, task: &Who, path: &str) -> Result<String, Errno> {
        let st = self.shared.lock();
        match &st.get(st.walk(&task.creds, path)?).data {
            Data::Link(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    pub fn statfs_as(&self, task: &Who, path: &str) -> Result<Statfs, Errno> {
        self.shared.lock().walk(&task.creds, path)?;
        Ok(self.shared.statfs())
    }

    pub fn mkdir_as(&self, task: &Who, path: &str, mode: u32) -> Result<(), Errno> {
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let (dir, name) = st.parent(creds, path)?;
        if name.is_empty() || st.child(creds, dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.shared.writable()?;
        st.may_change(creds, dir, None)?;
        let data = Data::Dir { entries: BTreeMap::new(), parent: dir };
        let ino = st.new_inode(creds, task.umask, dir, S_IFDIR | (mode & 0o1777), data);
        st.insert(dir, name, ino);
        Ok(())
    }

    pub fn rmdir_as(&self, task: &Who, path: &str) -> Result<(), Errno> {
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let (dir, name) = st.parent(creds, path)?;
        if name.is_empty() {
            return Err(Errno::EBUSY);
        }
        let ino = st.child(creds, dir, name)?.ok_or(Errno::ENOENT)?;
        if !st.get(ino).entries()?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        self.shared.writable()?;
        st.may_change(creds, dir, Some(ino))?;
        st.remove(dir, name);
        Ok(())
    }

    pub fn unlink_as(&self, task: &Who, path: &str) -> Result<(), Errno> {
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let (dir, name) = st.parent(creds, path)?;
        if name.is_empty() {
            return Err(Errno::EISDIR);
        }
        let ino = st.child(creds, dir, name)?.ok_or(Errno::ENOENT)?;
        if path.ends_with('/') && !st.get(ino).is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.shared.writable()?;
        st.may_change(creds, dir, Some(ino))?;
        if st.get(ino).is_dir() {
            return Err(Errno::EISDIR);
        }
        st.remove(dir, name);
        Ok(())
    }

    pub fn symlink_as(&self, task: &Who, target: &str, path: &str) -> Result<(), Errno> {
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let (dir, name) = st.parent(creds, path)?;
        if name.is_empty() || st.child(creds, dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.shared.writable()?;
        st.may_change(creds, dir, None)?;
        let ino = st.new_inode(creds, 0, dir, S_IFLNK | 0o777, Data::Link(target.to_string()));
        st.insert(dir, name, ino);
        Ok(())
    }

    pub fn link_as(&self, task: &Who, old: &str, new: &str) -> Result<(), Errno> {
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let ino = st.walk(creds, old)?;
        let (dir, name) = st.parent(creds, new)?;
        if name.is_empty() || st.child(creds, dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if st.get(ino).is_dir() {
            return Err(Errno::EPERM);
        }
        self.shared.writable()?;
        st.may_change(creds, dir, None)?;
        let d = st.get_mut(dir);
        d.entries_mut().insert(name.to_string(), ino);
        d.touch_mc();
        let i = st.get_mut(ino);
        i.nlink += 1;
        i.ctime = synthetic::now();
        Ok(())
    }

    pub fn rename_as(&self, task: &Who, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
        if flags & !RENAME_NOREPLACE != 0 {
            // RENAME_EXCHANGE and RENAME_WHITEOUT are not implemented.
            return Err(Errno::EINVAL);
        }
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let (odir, oname) = st.parent(creds, old)?;
        let (ndir, nname) = st.parent(creds, new)?;
        if oname.is_empty() || nname.is_empty() {
            return Err(Errno::EBUSY);
        }
        let ino = st.child(creds, odir, oname)?.ok_or(Errno::ENOENT)?;
        let target = st.child(creds, ndir, nname)?;
        if flags & RENAME_NOREPLACE != 0 && target.is_some() {
            return Err(Errno::EEXIST);
        }
        let is_dir = st.get(ino).is_dir();
        if !is_dir && (new.ends_with('/') || old.ends_with('/')) {
            return Err(Errno::ENOTDIR);
        }
        // A directory may not move below itself; nor may a name replace
        // one of its own ancestors.
        let ancestors = |st: &State, mut d: u64| {
            let mut v = vec![d];
            while d != ROOT {
                let Data::Dir { parent, .. } = st.get(d).data else { break };
                d = parent;
                v.push(d);
            }
            v
        };
        if is_dir && ancestors(&st, ndir).contains(&ino) {
            return Err(Errno::EINVAL);
        }
        if target.is_some_and(|t| ancestors(&st, odir).contains(&t)) {
            return Err(Errno::ENOTEMPTY);
        }
        if target == Some(ino) {
            return Ok(());
        }
        self.shared.writable()?;
        st.may_change(creds, odir, Some(ino))?;
        st.may_change(creds, ndir, target)?;
        if is_dir && odir != ndir {
            // Its `..` changes.
            permit(creds, st.get(ino), 2)?;
        }
        if let Some(t) = target {
            let ti = st.get(t);
            match (is_dir, ti.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !ti.entries()?.is_empty() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            st.remove(ndir, nname);
        }
        let d = st.get_mut(odir);
        d.entries_mut().remove(oname);
        if is_dir {
            d.nlink -= 1;
        }
        d.touch_mc();
        st.insert(ndir, nname, ino);
        st.get_mut(ino).ctime = synthetic::now();
        Ok(())
    }

    /// `mknod`: `mode` holds the type, checked by the caller to be a
    /// regular file, FIFO, socket or (for root) a device node.
    pub fn mknod_as(&self, task: &Who, path: &str, mode: u32, rdev: u64) -> Result<(), Errno> {
        let creds = &task.creds;
        let mut st = self.shared.lock();
        let (dir, name) = st.parent(creds, path)?;
        if name.is_empty() || st.child(creds, dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if path.ends_with('/') {
            return Err(Errno::ENOENT);
        }
        self.shared.writable()?;
        st.may_change(creds, dir, None)?;
        let kind = mode & S_IFMT;
        if (kind == S_IFCHR || kind == S_IFBLK) && !creds.capable(crate::kernel::caps::CAP_MKNOD) {
            return Err(Errno::EPERM);
        }
        let (kind, data) = match kind {
            0 | S_IFREG => (S_IFREG, Data::File { size: 0, pages: BTreeMap::new() }),
            S_IFCHR | S_IFBLK => (kind, Data::Special { rdev }),
            _ => (kind, Data::Special { rdev: 0 }),
        };
        let ino = st.new_inode(creds, task.umask, dir, kind | (mode & 0o7777), data);
        st.insert(dir, name, ino);
        Ok(())
    }

    pub fn getxattr_as(&self, task: &Who, path: &str, name: &str) -> Result<Vec<u8>, Errno> {
        let st = self.shared.lock();
        let ino = st.walk(&task.creds, path)?;
        st.getxattr(self.shared.dev, &task.creds, ino, name)
    }

    pub fn setxattr_as(&self, task: &Who, path: &str, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        let mut st = self.shared.lock();
        let ino = st.walk(&task.creds, path)?;
        self.shared.writable()?;
        st.setxattr(self.shared.dev, &task.creds, ino, name, Some(value), flags)
    }

    pub fn listxattr_as(&self, task: &Who, path: &str) -> Result<Vec<String>, Errno> {
        let st = self.shared.lock();
        let ino = st.walk(&task.creds, path)?;
        Ok(xattr::list(&st.get(ino).xattrs, &task.creds))
    }

    pub fn removexattr_as(&self, task: &Who, path: &str, name: &str) -> Result<(), Errno> {
        let mut st = self.shared.lock();
        let ino = st.walk(&task.creds, path)?;
        self.shared.writable()?;
        st.setxattr(self.shared.dev, &task.creds, ino, name, None, 0)
    }

    pub fn setattr_as(&self, task: &Who, path: &str, attr: &SetAttr) -> Result<(), Errno> {
        let mut st = self.shared.lock();
        let ino = st.walk(&task.creds, path)?;
        self.shared.writable()?;
        st.setattr(&task.creds, ino, attr, false)
    }
}

/// One page of file data: sentry heap, or — once the page has been mapped
/// shared — a page of the memory file, so that stores through any mapping
/// and `write`s meet in the same bytes.
enum Page {
    Heap(Box<[u8]>),
    Mapped(Arc<SharedPages>),
}

impl Page {
    fn read(&self, within: usize, buf: &mut [u8]) {
        match self {
            Page::Heap(p) => buf.copy_from_slice(&p[within..within + buf.len()]),
            Page::Mapped(m) => m.read(within as u64, buf),
        }
    }

    fn write(&mut self, within: usize, data: &[u8]) {
        match self {
            Page::Heap(p) => p[within..within + data.len()].copy_from_slice(data),
            Page::Mapped(m) => m.write(within as u64, data),
        }
    }
}

#[cfg(test)]
mod tests;
