//! The root file system overlay (gVisor: `fsimpl/overlay`, runsc's
//! `--overlay2=root:memory`): the gofer's tree is the read-only lower
//! layer, a tmpfs in the sandbox's memory the upper one, so the
//! container's writes never reach the host image.
//!
//! * Lookups walk the merged tree a component at a time: the upper entry
//!   wins; a *whiteout* hides the lower entry of that path; an *opaque*
//!   upper directory hides the lower directory's contents. Whiteouts and
//!   opaque marks are sets of paths kept here, not character devices or
//!   xattrs in the upper layer.
//! * Symlinks are followed here ([`FileSystem::follow`]), in the merged
//!   view, so a link into `/dev` or `/proc` reaches devfs/procfs.
//! * Changing a lower entry (open for writing or `O_TRUNC`, chmod, chown,
//!   utimensat, truncate, link, rename) first *copies it up*: its parent
//!   directories, then the entry itself (data, mode, owner, times;
//!   symlinks as symlinks; FIFOs, sockets and device nodes as nodes of
//!   the same kind) and its extended attributes.
//! * FIFOs of either layer share one pipe per overlay inode number
//!   (`pipe::open_fifo`), so a copy-up does not split the openers.
//! * Extended attributes: the upper layer's for upper entries; a lower
//!   entry has those the lower layer reports (the gofer: the host file's
//!   `user.*` ones); setting or removing one copies the entry up first,
//!   with them.
//! * unlink/rmdir of a lower entry leaves a whiteout. Renaming a
//!   directory that has lower contents is EXDEV, as overlayfs without
//!   `redirect_dir` answers (`mv` then copies).
//! * stat of a lower entry is the lower's attributes; a copied-up entry
//!   keeps the lower's inode number; upper-only entries get the upper's
//!   number with bit 62 set, so the two never collide. One device number
//!   for the whole overlay.
//! * The lower layer is read-only and its attributes are cached by path.

use super::synthetic::{S_IFDIR, S_IFLNK, S_IFREG};
use super::tmpfs::{Options, TmpFs, Who, S_IFIFO};
use crate::kernel::task::Credentials;
use crate::kernel::Task;
use crate::vfs::mount::{join, normalize, FileSystem, SetAttr, TimeSet};
use crate::vfs::{DirEntry, FileDescription, IoctlReply};
use abi::{fcntl, Errno, Stat, Statfs};
use std::collections::{HashMap, HashSet};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, MutexGuard};

mod file;
use file::{OverlayDir, OverlayFile};

/// `OVERLAYFS_SUPER_MAGIC`.
pub const OVERLAYFS_MAGIC: i64 = 0x794c_7630;
const S_IFMT: u32 = 0o170000;
const S_ISVTX: u32 = 0o1000;
/// Set in the inode numbers of entries that exist only in the upper layer.
const UPPER_INO: u64 = 1 << 62;
const RENAME_NOREPLACE: u32 = 1;

/// The read-only lower layer: the gofer's tree (or, in tests, a tmpfs).
/// Paths are normalised and contain no symlinks but perhaps the last
/// component, which is never followed.
pub trait Lower: Send + Sync {
    fn lstat(&self, path: &str) -> Result<Stat, Errno>;
    fn readlink(&self, path: &str) -> Result<String, Errno>;
    /// All entries but `.` and `..`: name, inode number, `DT_*`.
    fn readdir(&self, path: &str) -> Result<Vec<Entry>, Errno>;
    /// Opens a regular file or directory for reading.
    fn open(&self, path: &str, flags: u64) -> Result<Arc<dyn FileDescription>, Errno>;
    /// The entry's extended attributes, with values. The gofer reports
    /// the host file's `user.*` ones.
    fn xattrs(&self, _path: &str) -> Result<Vec<(String, Vec<u8>)>, Errno> {
        Ok(Vec::new())
    }
    /// The value of one attribute, if the entry has it.
    fn xattr(&self, path: &str, name: &str) -> Result<Option<Vec<u8>>, Errno> {
        Ok(self.xattrs(path)?.into_iter().find(|(n, _)| n == name).map(|(_, v)| v))
    }
}

/// The gofer as the lower layer.
pub struct GoferLower(pub super::gofer::GoferClient);

impl Lower for GoferLower {
    fn lstat(&self, path: &str) -> Result<Stat, Errno> {
        Ok(super::stat_from_attr(&self.0.stat(path, false)?))
    }
    fn readlink(&self, path: &str) -> Result<String, Errno> {
        self.0.readlink(path)
    }
    fn readdir(&self, path: &str) -> Result<Vec<Entry>, Errno> {
        let mut out = Vec::new();
        let mut cookie = 0;
        loop {
            let (entries, next) = self.0.readdir(path, cookie)?;
            let empty = entries.is_empty();
            out.extend(entries.into_iter().map(|e| (e.name, e.ino, e.d_type)));
            match next {
                Some(c) if !empty => cookie = c,
                _ => break,
            }
        }
        out.retain(|(n, _, _)| n != b"." && n != b"..");
        Ok(out)
    }
    fn open(&self, path: &str, flags: u64) -> Result<Arc<dyn FileDescription>, Errno> {
        Ok(Arc::new(self.0.open_read(path, flags)?))
    }
    fn xattrs(&self, path: &str) -> Result<Vec<(String, Vec<u8>)>, Errno> {
        self.0.xattrs(path)
    }
    fn xattr(&self, path: &str, name: &str) -> Result<Option<Vec<u8>>, Errno> {
        // The gofer reports `user.*` only: no round trip for the others
        // (`ls` asks every file for `security.selinux`).
        if !name.starts_with("user.") {
            return Ok(None);
        }
        Ok(self.0.xattrs(path)?.into_iter().find(|(n, _)| n == name).map(|(_, v)| v))
    }
}

fn is_dir(st: &Stat) -> bool {
    st.mode & S_IFMT == S_IFDIR
}
fn is_link(st: &Stat) -> bool {
    st.mode & S_IFMT == S_IFLNK
}

/// The directory part and the last component of a normalised path.
fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => ("/", path),
    }
}

fn child(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Checks `want` (r=4, w=2, x=1) against attributes, as tmpfs does.
pub(crate) fn permit(creds: &Credentials, st: &Stat, want: u32) -> Result<(), Errno> {
    if creds.permits(st.mode, st.uid, st.gid, is_dir(st), want) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// A directory entry: name, inode number, `DT_*`.
pub type Entry = (Vec<u8>, u64, u8);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layer {
    Upper,
    Lower,
}

/// A path of the merged tree.
#[derive(Clone, Debug)]
struct Node {
    layer: Layer,
    /// The attributes of the layer that wins.
    stat: Stat,
    /// The lower entry at this path, when no whiteout or opaque
    /// directory hides it.
    lower: Option<Stat>,
    opaque: bool,
}

impl Node {
    /// Whether a directory's listing includes the lower directory's.
    fn merges_lower(&self) -> bool {
        is_dir(&self.stat) && !self.opaque && self.lower.as_ref().is_some_and(is_dir)
    }
}

#[derive(Default)]
struct Marks {
    whiteouts: HashSet<String>,
    opaque: HashSet<String>,
    /// Inode numbers of copied-up entries: the lower's.
    inos: HashMap<String, u64>,
}

impl Marks {
    /// Moves every mark at or below `old` to `new`.
    fn rename(&mut self, old: &str, new: &str) {
        let moved = |p: &str| -> Option<String> {
            if p == old {
                Some(new.to_string())
            } else {
                p.strip_prefix(old).filter(|r| r.starts_with('/')).map(|r| format!("{new}{r}"))
            }
        };
        let set = |s: &mut HashSet<String>| {
            *s = s.drain().map(|p| moved(&p).unwrap_or(p)).collect();
        };
        set(&mut self.whiteouts);
        set(&mut self.opaque);
        self.inos = self.inos.drain().map(|(p, i)| (moved(&p).unwrap_or(p), i)).collect();
    }

    /// Forgets the marks strictly below `dir`.
    fn purge_below(&mut self, dir: &str) {
        let below = |p: &String| p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
        self.whiteouts.retain(|p| !below(p));
        self.opaque.retain(|p| !below(p));
        self.inos.retain(|p, _| !below(p));
    }
}

struct Inner {
    upper: TmpFs,
    lower: Box<dyn Lower>,
    dev: u64,
    marks: Mutex<Marks>,
    lower_cache: Mutex<HashMap<String, Option<Stat>>>,
    /// Serialises the changes to the tree (copy-up and marks).
    op: Mutex<()>,
}

/// The overlay, mounted at `/`.
pub struct OverlayFs {
    inner: Arc<Inner>,
}

impl OverlayFs {
    /// An overlay of a new tmpfs (`upper` options) over `lower`. The upper
    /// root takes the lower root's attributes.
    pub fn new(lower: Box<dyn Lower>, upper: Options) -> Result<OverlayFs, Errno> {
        let upper = TmpFs::new("/", upper);
        let root = lower.lstat("/")?;
        let dev = upper.stat_as(&Who::root(), "/", false)?.dev;
        let inner = Inner {
            upper,
            lower,
            dev,
            marks: Mutex::new(Marks::default()),
            lower_cache: Mutex::new(HashMap::new()),
            op: Mutex::new(()),
        };
        inner.copy_attrs("/", &root)?;
        inner.marks().inos.insert("/".into(), root.ino);
        Ok(OverlayFs { inner: Arc::new(inner) })
    }
}

impl Inner {
    fn marks(&self) -> MutexGuard<'_, Marks> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn lock_op(&self) -> MutexGuard<'_, ()> {
        self.op.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lower_lstat(&self, path: &str) -> Result<Option<Stat>, Errno> {
        if let Some(s) = self.lower_cache.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(*s);
        }
        let s = match self.lower.lstat(path) {
            Ok(s) => Some(s),
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => None,
            Err(e) => return Err(e),
        };
        self.lower_cache.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_string(), s);
        Ok(s)
    }

    fn upper_lstat(&self, path: &str) -> Result<Option<Stat>, Errno> {
        match self.upper.stat_as(&Who::root(), path, false) {
            Ok(s) => Ok(Some(s)),
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The merged entry at the normalised `path`, None if there is none;
    /// ENOENT/ENOTDIR/EACCES for the directories on the way.
    fn node(&self, who: &Who, path: &str) -> Result<Option<Node>, Errno> {
        let root = self.upper_lstat("/")?.ok_or(Errno::EIO)?;
        let opaque = self.marks().opaque.contains("/");
        let lower = self.lower_lstat("/")?;
        let mut node = Node { layer: Layer::Upper, stat: root, lower, opaque };
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let mut cur = String::new();
        for (i, c) in comps.iter().enumerate() {
            if !is_dir(&node.stat) {
                return Err(Errno::ENOTDIR);
            }
            permit(&who.creds, &node.stat, 1)?;
            if c.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            let lower_below = node.merges_lower() || node.layer == Layer::Lower;
            cur.push('/');
            cur.push_str(c);
            let up = self.upper_lstat(&cur)?;
            let (whiteout, opaque) = {
                let m = self.marks();
                (m.whiteouts.contains(&cur), m.opaque.contains(&cur))
            };
            let low = if lower_below && !whiteout { self.lower_lstat(&cur)? } else { None };
            node = match (up, low) {
                (Some(stat), lower) => Node { layer: Layer::Upper, stat, lower, opaque },
                (None, Some(stat)) => Node { layer: Layer::Lower, stat, lower: Some(stat), opaque: false },
                (None, None) if i + 1 == comps.len() => return Ok(None),
                (None, None) => return Err(Errno::ENOENT),
            };
        }
        Ok(Some(node))
    }

    fn ino(&self, path: &str, node: &Node) -> u64 {
        match node.layer {
            Layer::Lower => node.stat.ino,
            Layer::Upper => self.upper_ino(path, node.stat.ino),
        }
    }
    fn upper_ino(&self, path: &str, ino: u64) -> u64 {
        self.marks().inos.get(path).copied().unwrap_or(UPPER_INO | ino)
    }

    fn merged_stat(&self, path: &str, node: &Node) -> Stat {
        Stat { dev: self.dev, ino: self.ino(path, node), ..node.stat }
    }

    fn readlink_node(&self, path: &str, node: &Node) -> Result<String, Errno> {
        if !is_link(&node.stat) {
            return Err(Errno::EINVAL);
        }
        match node.layer {
            Layer::Upper => self.upper.readlink_as(&Who::root(), path),
            Layer::Lower => self.lower.readlink(path),
        }
    }

    /// Sets the owner, then the mode and times, of the upper `path` to
    /// those of `st` (in that order: a change of owner drops set-user-id).
    fn copy_attrs(&self, path: &str, st: &Stat) -> Result<(), Errno> {
        let root = Who::root();
        self.upper.setattr_as(&root, path, &SetAttr { uid: Some(st.uid), gid: Some(st.gid), ..SetAttr::default() })?;
        let mode = if is_link(st) { None } else { Some(st.mode & 0o7777) };
        let times = SetAttr {
            mode,
            atime: Some(TimeSet::At(st.atime)),
            mtime: Some(TimeSet::At(st.mtime)),
            ..SetAttr::default()
        };
        self.upper.setattr_as(&root, path, &times)
    }

    /// Makes the lower entry at `path` an upper one, parents first.
    fn copy_up(&self, path: &str) -> Result<(), Errno> {
        if self.upper_lstat(path)?.is_some() {
            return Ok(());
        }
        let (dir, _) = split(path);
        if dir != path {
            self.copy_up(dir)?;
        }
        let st = self.lower_lstat(path)?.ok_or(Errno::ENOENT)?;
        let root = Who::root();
        match st.mode & S_IFMT {
            S_IFDIR => self.upper.mkdir_as(&root, path, st.mode & 0o7777)?,
            S_IFLNK => self.upper.symlink_as(&root, &self.lower.readlink(path)?, path)?,
            S_IFREG => {
                let src = self.lower.open(path, fcntl::O_RDONLY)?;
                let dst = self.upper.open_as(&root, path, fcntl::O_CREAT | fcntl::O_EXCL | fcntl::O_WRONLY, 0o600)?;
                let copied = (|| {
                    let mut buf = vec![0u8; 1 << 16];
                    let mut off = 0u64;
                    loop {
                        let n = src.pread(&mut buf, off)?;
                        if n == 0 {
                            return Ok(());
                        }
                        let mut done = 0;
                        while done < n {
                            done += dst.pwrite(&buf[done..n], off + done as u64)?;
                        }
                        off += n as u64;
                    }
                })();
                if let Err(e) = copied {
                    drop(dst);
                    let _ = self.upper.unlink_as(&root, path);
                    return Err(e);
                }
            }
            _ => self.upper.mknod_as(&root, path, st.mode, st.rdev)?,
        }
        for (name, value) in self.lower.xattrs(path)? {
            self.upper.setxattr_as(&root, path, &name, &value, 0)?;
        }
        self.copy_attrs(path, &st)?;
        self.marks().inos.insert(path.to_string(), st.ino);
        Ok(())
    }

    /// Checks that `who` may add or remove an entry in the parent of
    /// `path` (`victim`: the entry going, for the sticky bit), and makes
    /// that parent an upper directory.
    fn prepare_parent(&self, who: &Who, path: &str, victim: Option<&Stat>) -> Result<(), Errno> {
        let (dir, _) = split(path);
        let d = self.node(who, dir)?.ok_or(Errno::ENOENT)?;
        if !is_dir(&d.stat) {
            return Err(Errno::ENOTDIR);
        }
        permit(&who.creds, &d.stat, 3)?;
        if let Some(v) = victim {
            let c = &who.creds;
            if d.stat.mode & S_ISVTX != 0 && !c.owns(d.stat.uid) && !c.owns(v.uid) {
                return Err(Errno::EPERM);
            }
        }
        if d.layer == Layer::Lower {
            self.copy_up(dir)?;
        }
        Ok(())
    }

    /// The visible entries of the directory `path` (no `.`/`..`): the
    /// upper's, then the lower's that are neither shadowed nor whited out.
    fn entries(&self, path: &str, node: &Node) -> Result<Vec<Entry>, Errno> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if node.layer == Layer::Upper {
            let dir = self.upper.open_as(&Who::root(), path, fcntl::O_RDONLY | fcntl::O_DIRECTORY, 0)?;
            let mut raw = Vec::new();
            loop {
                let before = raw.len();
                dir.readdir(&mut |e: &DirEntry<'_>| {
                    raw.push((e.name.to_vec(), e.ino, e.d_type));
                    true
                })?;
                if raw.len() == before {
                    break;
                }
            }
            for (name, ino, t) in raw {
                if name == b"." || name == b".." {
                    continue;
                }
                let p = child(path, &String::from_utf8_lossy(&name));
                seen.insert(name.clone());
                out.push((name, self.upper_ino(&p, ino), t));
            }
        }
        if node.layer == Layer::Lower || node.merges_lower() {
            let lower = self.lower.readdir(path)?;
            let m = self.marks();
            for (name, ino, t) in lower {
                if seen.contains(&name) || m.whiteouts.contains(&child(path, &String::from_utf8_lossy(&name))) {
                    continue;
                }
                out.push((name, ino, t));
            }
        }
        Ok(out)
    }

    fn wrap(self: &Arc<Self>, inner: Arc<dyn FileDescription>, path: &str, layer: Layer) -> Arc<dyn FileDescription> {
        Arc::new(OverlayFile { inner, fs: self.clone(), path: path.to_string(), upper: layer == Layer::Upper })
    }

    // The operations, for `who`. Paths are as the mount table gives them:
    // symlinks already followed by `follow`, but not normalised.

    fn follow(&self, who: &Who, raw: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        let comps: Vec<&str> = raw.split('/').filter(|c| !c.is_empty()).collect();
        let follow_last = follow_last || raw.ends_with('/');
        let mut stack: Vec<&str> = Vec::new();
        for (i, c) in comps.iter().enumerate() {
            match *c {
                "." => continue,
                ".." => {
                    stack.pop();
                    continue;
                }
                _ => stack.push(c),
            }
            let last = i + 1 == comps.len();
            let p = format!("/{}", stack.join("/"));
            let Ok(Some(node)) = self.node(who, &p) else { return Ok(None) };
            if is_link(&node.stat) && (!last || follow_last) {
                let target = self.readlink_node(&p, &node)?;
                let dir = format!("/{}", stack[..stack.len() - 1].join("/"));
                let target = join(&dir, &target);
                let mut rest = comps[i + 1..].join("/");
                if raw.ends_with('/') {
                    rest.push('/');
                }
                return Ok(Some(if rest.is_empty() { target } else { format!("{target}/{rest}") }));
            }
        }
        Ok(None)
    }

    fn open(self: &Arc<Self>, who: &Who, raw: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let p = normalize(raw);
        let slash = raw.ends_with('/') && p != "/";
        let acc = flags & fcntl::O_ACCMODE;
        let writes = acc != fcntl::O_RDONLY;
        let Some(node) = self.node(who, &p)? else {
            if flags & fcntl::O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            if slash {
                return Err(Errno::EISDIR);
            }
            let _g = self.lock_op();
            self.prepare_parent(who, &p, None)?;
            let f = self.upper.open_as(who, &p, flags, mode)?;
            self.marks().whiteouts.remove(&p);
            return Ok(self.wrap(f, &p, Layer::Upper));
        };
        if flags & (fcntl::O_CREAT | fcntl::O_EXCL) == fcntl::O_CREAT | fcntl::O_EXCL {
            return Err(Errno::EEXIST);
        }
        match node.stat.mode & S_IFMT {
            S_IFLNK => Err(Errno::ELOOP),
            S_IFDIR => {
                if writes || flags & fcntl::O_CREAT != 0 {
                    return Err(Errno::EISDIR);
                }
                permit(&who.creds, &node.stat, 4)?;
                Ok(self.node_file(&p, flags))
            }
            _ if slash || flags & fcntl::O_DIRECTORY != 0 => Err(Errno::ENOTDIR),
            S_IFIFO => {
                let want = match acc {
                    fcntl::O_RDONLY => 4,
                    fcntl::O_WRONLY => 2,
                    _ => 6,
                };
                permit(&who.creds, &node.stat, want)?;
                let end = super::pipe::open_fifo((self.dev, self.ino(&p, &node)), flags)?;
                Ok(Arc::new(super::pipe::FifoFile::new(end, self.node_file(&p, fcntl::O_RDONLY))))
            }
            S_IFREG => {
                let flags_no_create = flags & !(fcntl::O_CREAT | fcntl::O_EXCL);
                if node.layer == Layer::Upper {
                    let f = self.upper.open_as(who, &p, flags_no_create, mode)?;
                    return Ok(self.wrap(f, &p, Layer::Upper));
                }
                let want = match acc {
                    fcntl::O_RDONLY => 4,
                    fcntl::O_WRONLY => 2,
                    _ => 6,
                };
                permit(&who.creds, &node.stat, want)?;
                if writes || flags & fcntl::O_TRUNC != 0 {
                    permit(&who.creds, &node.stat, 2)?;
                    let _g = self.lock_op();
                    self.copy_up(&p)?;
                    let f = self.upper.open_as(who, &p, flags_no_create, mode)?;
                    return Ok(self.wrap(f, &p, Layer::Upper));
                }
                let f = self.lower.open(&p, flags)?;
                Ok(self.wrap(f, &p, Layer::Lower))
            }
            _ => {
                // Sockets (no listener behind the name) and device nodes.
                permit(&who.creds, &node.stat, if acc == fcntl::O_RDONLY { 4 } else { 2 })?;
                tracing::debug!(path = p, "socket and device nodes of the root file system cannot be opened (ENXIO)");
                Err(Errno::ENXIO)
            }
        }
    }

    /// A description of the entry at `p` for its attributes alone (the
    /// node of an open FIFO, an open directory).
    fn node_file(self: &Arc<Self>, p: &str, flags: u64) -> Arc<dyn FileDescription> {
        Arc::new(OverlayDir {
            fs: self.clone(),
            path: p.to_string(),
            flags: Mutex::new(flags),
            pos: Mutex::new(0),
            entries: Mutex::new(None),
        })
    }

    fn mknod(&self, who: &Who, raw: &str, mode: u32, rdev: u64) -> Result<(), Errno> {
        let p = normalize(raw);
        if self.node(who, &p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let _g = self.lock_op();
        self.prepare_parent(who, &p, None)?;
        self.upper.mknod_as(who, &p, mode, rdev)?;
        self.marks().whiteouts.remove(&p);
        Ok(())
    }

    fn getxattr(&self, who: &Who, raw: &str, name: &str) -> Result<Vec<u8>, Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        match node.layer {
            Layer::Upper => self.upper.getxattr_as(who, &p, name),
            Layer::Lower => {
                super::xattr::check(&who.creds, &node.stat, name, false)?;
                self.lower.xattr(&p, name)?.ok_or(Errno::ENODATA)
            }
        }
    }

    fn listxattr(&self, who: &Who, raw: &str) -> Result<Vec<String>, Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        match node.layer {
            Layer::Upper => self.upper.listxattr_as(who, &p),
            Layer::Lower => {
                let all: super::xattr::Xattrs = self.lower.xattrs(&p)?.into_iter().collect();
                Ok(super::xattr::list(&all, &who.creds))
            }
        }
    }

    /// Sets (`value`) or removes (None) an attribute, copying up first.
    fn setxattr(&self, who: &Who, raw: &str, name: &str, value: Option<&[u8]>, flags: u32) -> Result<(), Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        if node.layer == Layer::Lower {
            // Refused changes must not copy up.
            super::xattr::check(&who.creds, &node.stat, name, true)?;
            let _g = self.lock_op();
            self.copy_up(&p)?;
        }
        match value {
            Some(v) => self.upper.setxattr_as(who, &p, name, v, flags),
            None => self.upper.removexattr_as(who, &p, name),
        }
    }

    fn stat(&self, who: &Who, raw: &str) -> Result<Stat, Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        if raw.ends_with('/') && !is_dir(&node.stat) {
            return Err(Errno::ENOTDIR);
        }
        Ok(self.merged_stat(&p, &node))
    }

    fn readlink(&self, who: &Who, raw: &str) -> Result<String, Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        self.readlink_node(&p, &node)
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        let s = self.upper.statfs_as(&Who::root(), "/")?;
        Ok(Statfs { f_type: OVERLAYFS_MAGIC, ..s })
    }

    fn mkdir(&self, who: &Who, raw: &str, mode: u32) -> Result<(), Errno> {
        let p = normalize(raw);
        if self.node(who, &p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let _g = self.lock_op();
        self.prepare_parent(who, &p, None)?;
        self.upper.mkdir_as(who, &p, mode)?;
        let mut m = self.marks();
        if m.whiteouts.remove(&p) {
            // A directory made where a lower entry was removed hides it.
            m.opaque.insert(p);
        }
        Ok(())
    }

    fn rmdir(&self, who: &Who, raw: &str) -> Result<(), Errno> {
        let p = normalize(raw);
        if p == "/" {
            return Err(Errno::EBUSY);
        }
        if raw.trim_end_matches('/').ends_with("/.") {
            return Err(Errno::EINVAL);
        }
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        if !is_dir(&node.stat) {
            return Err(Errno::ENOTDIR);
        }
        let _g = self.lock_op();
        if !self.entries(&p, &node)?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        self.prepare_parent(who, &p, Some(&node.stat))?;
        if node.layer == Layer::Upper {
            self.upper.rmdir_as(&Who::root(), &p)?;
        }
        let mut m = self.marks();
        m.purge_below(&p);
        m.opaque.remove(&p);
        m.inos.remove(&p);
        if node.lower.is_some() {
            m.whiteouts.insert(p);
        }
        Ok(())
    }

    fn unlink(&self, who: &Who, raw: &str) -> Result<(), Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        if is_dir(&node.stat) {
            return Err(Errno::EISDIR);
        }
        if raw.ends_with('/') {
            return Err(Errno::ENOTDIR);
        }
        let _g = self.lock_op();
        self.prepare_parent(who, &p, Some(&node.stat))?;
        if node.layer == Layer::Upper {
            self.upper.unlink_as(&Who::root(), &p)?;
        }
        let mut m = self.marks();
        m.inos.remove(&p);
        if node.lower.is_some() {
            m.whiteouts.insert(p);
        }
        Ok(())
    }

    fn symlink(&self, who: &Who, target: &str, raw: &str) -> Result<(), Errno> {
        let p = normalize(raw);
        if self.node(who, &p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let _g = self.lock_op();
        self.prepare_parent(who, &p, None)?;
        self.upper.symlink_as(who, target, &p)?;
        self.marks().whiteouts.remove(&p);
        Ok(())
    }

    fn link(&self, who: &Who, old: &str, new: &str) -> Result<(), Errno> {
        let (o, n) = (normalize(old), normalize(new));
        let on = self.node(who, &o)?.ok_or(Errno::ENOENT)?;
        if is_dir(&on.stat) {
            return Err(Errno::EPERM);
        }
        if self.node(who, &n)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let _g = self.lock_op();
        self.prepare_parent(who, &n, None)?;
        self.copy_up(&o)?;
        self.upper.link_as(who, &o, &n)?;
        let ino = self.ino(&o, &on);
        let mut m = self.marks();
        m.whiteouts.remove(&n);
        m.inos.insert(n, ino);
        Ok(())
    }

    fn rename(&self, who: &Who, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
        if flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let (o, n) = (normalize(old), normalize(new));
        if o == "/" || n == "/" {
            return Err(Errno::EBUSY);
        }
        let on = self.node(who, &o)?.ok_or(Errno::ENOENT)?;
        let nn = self.node(who, &n)?;
        let odir = is_dir(&on.stat);
        if !odir && (old.ends_with('/') || new.ends_with('/')) {
            return Err(Errno::ENOTDIR);
        }
        if o == n {
            return Ok(());
        }
        if flags & RENAME_NOREPLACE != 0 && nn.is_some() {
            return Err(Errno::EEXIST);
        }
        if odir && n.strip_prefix(&o).is_some_and(|r| r.starts_with('/')) {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = &nn {
            match (odir, is_dir(&t.stat)) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.entries(&n, t)?.is_empty() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        if odir && (on.layer == Layer::Lower || on.merges_lower()) {
            // overlayfs without redirect_dir: the caller copies instead.
            return Err(Errno::EXDEV);
        }
        let _g = self.lock_op();
        self.prepare_parent(who, &o, Some(&on.stat))?;
        self.prepare_parent(who, &n, nn.as_ref().map(|t| &t.stat))?;
        self.copy_up(&o)?;
        self.upper.rename_as(who, &o, &n, flags)?;
        let mut m = self.marks();
        m.purge_below(&n);
        m.inos.remove(&n);
        m.opaque.remove(&n);
        m.whiteouts.remove(&n);
        m.rename(&o, &n);
        if odir {
            // All its contents are upper ones.
            m.opaque.insert(n);
        }
        if on.lower.is_some() {
            m.whiteouts.insert(o);
        }
        Ok(())
    }

    fn setattr(&self, who: &Who, raw: &str, attr: &SetAttr) -> Result<(), Errno> {
        let p = normalize(raw);
        let node = self.node(who, &p)?.ok_or(Errno::ENOENT)?;
        if node.layer == Layer::Lower {
            let _g = self.lock_op();
            self.copy_up(&p)?;
        }
        self.upper.setattr_as(who, &p, attr)
    }
}

impl FileSystem for OverlayFs {
    fn name(&self) -> &'static str {
        "overlay"
    }
    fn follow(&self, task: &Task, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        self.inner.follow(&Who::of(task), path, follow_last)
    }
    fn follow_as(&self, who: &Who, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        self.inner.follow(who, path, follow_last)
    }
    fn open_read_as(&self, who: &Who, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        self.inner.open(who, path, abi::fcntl::O_RDONLY, 0)
    }
    fn open(&self, task: &Task, path: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        self.inner.open(&Who::of(task), path, flags, mode)
    }
    fn stat(&self, task: &Task, path: &str, _follow: bool) -> Result<Stat, Errno> {
        self.inner.stat(&Who::of(task), path)
    }
    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno> {
        self.inner.readlink(&Who::of(task), path)
    }
    fn statfs(&self, task: &Task, path: &str) -> Result<Statfs, Errno> {
        self.inner.stat(&Who::of(task), path)?;
        self.inner.statfs()
    }
    fn mkdir(&self, task: &Task, path: &str, mode: u32) -> Result<(), Errno> {
        self.inner.mkdir(&Who::of(task), path, mode)
    }
    fn rmdir(&self, task: &Task, path: &str) -> Result<(), Errno> {
        self.inner.rmdir(&Who::of(task), path)
    }
    fn unlink(&self, task: &Task, path: &str) -> Result<(), Errno> {
        self.inner.unlink(&Who::of(task), path)
    }
    fn symlink(&self, task: &Task, target: &str, path: &str) -> Result<(), Errno> {
        self.inner.symlink(&Who::of(task), target, path)
    }
    fn link(&self, task: &Task, old: &str, new: &str) -> Result<(), Errno> {
        self.inner.link(&Who::of(task), old, new)
    }
    fn rename(&self, task: &Task, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
        self.inner.rename(&Who::of(task), old, new, flags)
    }
    fn setattr(&self, task: &Task, path: &str, attr: &SetAttr) -> Result<(), Errno> {
        self.inner.setattr(&Who::of(task), path, attr)
    }
    fn mknod(&self, task: &Task, path: &str, mode: u32, rdev: u64) -> Result<(), Errno> {
        self.inner.mknod(&Who::of(task), path, mode, rdev)
    }
    fn getxattr(&self, task: &Task, path: &str, name: &str) -> Result<Vec<u8>, Errno> {
        self.inner.getxattr(&Who::of(task), path, name)
    }
    fn setxattr(&self, task: &Task, path: &str, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
        self.inner.setxattr(&Who::of(task), path, name, Some(value), flags)
    }
    fn listxattr(&self, task: &Task, path: &str) -> Result<Vec<String>, Errno> {
        self.inner.listxattr(&Who::of(task), path)
    }
    fn removexattr(&self, task: &Task, path: &str, name: &str) -> Result<(), Errno> {
        self.inner.setxattr(&Who::of(task), path, name, None, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tmpfs as the lower layer.
    struct TmpLower(TmpFs);

    impl Lower for TmpLower {
        fn lstat(&self, path: &str) -> Result<Stat, Errno> {
            self.0.stat_as(&Who::root(), path, false)
        }
        fn readlink(&self, path: &str) -> Result<String, Errno> {
            self.0.readlink_as(&Who::root(), path)
        }
        fn readdir(&self, path: &str) -> Result<Vec<Entry>, Errno> {
            let d = self.0.open_as(&Who::root(), path, fcntl::O_RDONLY, 0)?;
            let mut out = Vec::new();
            d.readdir(&mut |e| {
                if e.name != b"." && e.name != b".." {
                    out.push((e.name.to_vec(), e.ino, e.d_type));
                }
                true
            })?;
            Ok(out)
        }
        fn open(&self, path: &str, flags: u64) -> Result<Arc<dyn FileDescription>, Errno> {
            self.0.open_as(&Who::root(), path, flags, 0)
        }
        fn xattrs(&self, path: &str) -> Result<Vec<(String, Vec<u8>)>, Errno> {
            let r = Who::root();
            let names = self.0.listxattr_as(&r, path)?;
            names.into_iter().map(|n| Ok((n.clone(), self.0.getxattr_as(&r, path, &n)?))).collect()
        }
    }

    fn opts() -> Options {
        Options::parse(&["size=1m".into()], 1 << 30).unwrap()
    }

    fn user(uid: u32) -> Who {
        Who { creds: Credentials::of(uid, uid), umask: 0o022 }
    }

    /// An overlay over a lower tree with /etc/{hostname,passwd}, /etc/sub/x,
    /// /bin -> usr/bin, /usr/bin/sh.
    fn overlay() -> (Arc<Inner>, Who) {
        let lower = TmpFs::new("/", opts());
        let r = Who::root();
        let put = |p: &str, data: &[u8], mode: u32| {
            let f = lower.open_as(&r, p, fcntl::O_CREAT | fcntl::O_WRONLY, mode).unwrap();
            f.write(data).unwrap();
        };
        for d in ["/etc", "/etc/sub", "/usr", "/usr/bin", "/home"] {
            lower.mkdir_as(&r, d, 0o755).unwrap();
        }
        put("/etc/hostname", b"host\n", 0o644);
        put("/etc/passwd", b"root:x:0:0\n", 0o644);
        put("/etc/sub/x", b"x", 0o4755);
        put("/usr/bin/sh", b"ELF", 0o755);
        lower.symlink_as(&r, "usr/bin", "/bin").unwrap();
        lower.setxattr_as(&r, "/etc/passwd", "user.origin", b"image", 0).unwrap();
        lower.setxattr_as(&r, "/etc/passwd", "trusted.t", b"T", 0).unwrap();
        lower.mknod_as(&r, "/usr/fifo", S_IFIFO | 0o644, 0).unwrap();
        lower.setattr_as(&r, "/home", &SetAttr { uid: Some(1000), gid: Some(1000), ..SetAttr::default() }).unwrap();
        let o = OverlayFs::new(Box::new(TmpLower(lower)), opts()).unwrap();
        (o.inner, r)
    }

    fn names(o: &Arc<Inner>, dir: &str) -> Vec<String> {
        let d = o.open(&Who::root(), dir, fcntl::O_RDONLY, 0).unwrap();
        let mut v = Vec::new();
        d.readdir(&mut |e| {
            v.push(String::from_utf8_lossy(e.name).into_owned());
            true
        })
        .unwrap();
        v.sort();
        v
    }

    fn read_all(o: &Arc<Inner>, p: &str) -> Vec<u8> {
        let f = o.open(&Who::root(), p, fcntl::O_RDONLY, 0).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = f.read(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn lower_has(o: &Arc<Inner>, p: &str) -> bool {
        o.lower.lstat(p).is_ok()
    }

    #[test]
    fn lookups_see_the_lower_and_follow_links() {
        let (o, r) = overlay();
        assert_eq!(read_all(&o, "/etc/hostname"), b"host\n");
        assert_eq!(o.follow(&r, "/bin/sh", true).unwrap(), Some("/usr/bin/sh".into()));
        assert_eq!(o.follow(&r, "/bin", false).unwrap(), None);
        assert_eq!(o.follow(&r, "/bin/../etc", true).unwrap(), Some("/usr/bin/../etc".into()));
        let st = o.stat(&r, "/etc/hostname").unwrap();
        assert_eq!(st.ino, o.lower.lstat("/etc/hostname").unwrap().ino);
        assert_eq!(o.stat(&r, "/nope"), Err(Errno::ENOENT));
        assert_eq!(o.stat(&r, "/etc/hostname/x"), Err(Errno::ENOTDIR));
        assert_eq!(o.readlink(&r, "/bin").unwrap(), "usr/bin");
    }

    #[test]
    fn writes_copy_up_and_keep_attributes() {
        let (o, r) = overlay();
        let before = o.stat(&r, "/etc/sub/x").unwrap();
        let f = o.open(&r, "/etc/sub/x", fcntl::O_WRONLY | fcntl::O_APPEND, 0).unwrap();
        f.write(b"yz").unwrap();
        assert_eq!(read_all(&o, "/etc/sub/x"), b"xyz");
        let after = o.stat(&r, "/etc/sub/x").unwrap();
        assert_eq!((after.ino, after.mode, after.uid), (before.ino, before.mode, before.uid));
        assert_eq!(f.stat().unwrap().ino, before.ino);
        // The lower is untouched; the parents were copied with their modes.
        assert_eq!(o.lower.lstat("/etc/sub/x").unwrap().size, 1);
        assert_eq!(o.upper.stat_as(&r, "/etc/sub", false).unwrap().mode, S_IFDIR | 0o755);
        // chmod copies up too; O_TRUNC empties only the copy.
        o.setattr(&r, "/etc/passwd", &SetAttr { mode: Some(0o600), ..SetAttr::default() }).unwrap();
        assert_eq!(o.stat(&r, "/etc/passwd").unwrap().mode, S_IFREG | 0o600);
        assert_eq!(read_all(&o, "/etc/passwd"), b"root:x:0:0\n");
        o.open(&r, "/etc/hostname", fcntl::O_WRONLY | fcntl::O_TRUNC, 0).unwrap();
        assert_eq!(read_all(&o, "/etc/hostname"), b"");
        assert_eq!(o.lower.lstat("/etc/hostname").unwrap().size, 5);
        // A symlink copies up as a symlink (link() copies up its source).
        o.link(&r, "/bin", "/bin2").unwrap();
        assert_eq!(o.readlink(&r, "/bin2").unwrap(), "usr/bin");
        // Permissions are the lower file's.
        let alice = user(1000);
        assert_eq!(o.open(&alice, "/etc/passwd", fcntl::O_RDONLY, 0).err(), Some(Errno::EACCES));
        assert_eq!(o.open(&alice, "/etc/hostname", fcntl::O_WRONLY, 0).err(), Some(Errno::EACCES));
        assert_eq!(o.open(&alice, "/etc/new", fcntl::O_CREAT | fcntl::O_WRONLY, 0o644).err(), Some(Errno::EACCES));
        o.open(&alice, "/home/mine", fcntl::O_CREAT | fcntl::O_WRONLY, 0o644).unwrap();
        assert_eq!(o.stat(&r, "/home/mine").unwrap().uid, 1000);
    }

    #[test]
    fn whiteouts_hide_lower_entries() {
        let (o, r) = overlay();
        o.unlink(&r, "/etc/hostname").unwrap();
        assert_eq!(o.stat(&r, "/etc/hostname"), Err(Errno::ENOENT));
        assert!(lower_has(&o, "/etc/hostname"));
        assert_eq!(names(&o, "/etc"), [".", "..", "passwd", "sub"]);
        // A new file in its place, removed again: hidden still.
        let f = o.open(&r, "/etc/hostname", fcntl::O_CREAT | fcntl::O_WRONLY, 0o644).unwrap();
        f.write(b"new").unwrap();
        assert_eq!(read_all(&o, "/etc/hostname"), b"new");
        o.unlink(&r, "/etc/hostname").unwrap();
        assert_eq!(o.stat(&r, "/etc/hostname"), Err(Errno::ENOENT));
        // rmdir: not while a lower entry shows; then a whiteout.
        assert_eq!(o.rmdir(&r, "/etc/sub"), Err(Errno::ENOTEMPTY));
        o.unlink(&r, "/etc/sub/x").unwrap();
        o.rmdir(&r, "/etc/sub").unwrap();
        assert_eq!(o.stat(&r, "/etc/sub/x"), Err(Errno::ENOENT));
        // A directory made there again is opaque: the lower x stays hidden.
        o.mkdir(&r, "/etc/sub", 0o700).unwrap();
        assert_eq!(names(&o, "/etc/sub"), [".", ".."]);
        assert_eq!(o.stat(&r, "/etc/sub/x"), Err(Errno::ENOENT));
        assert_eq!(o.stat(&r, "/etc/sub").unwrap().mode, S_IFDIR | 0o700);
    }

    #[test]
    fn readdir_merges_upper_and_lower() {
        let (o, r) = overlay();
        o.open(&r, "/etc/new", fcntl::O_CREAT | fcntl::O_WRONLY, 0o644).unwrap();
        o.open(&r, "/etc/passwd", fcntl::O_WRONLY, 0).unwrap(); // copied up: listed once
        o.mkdir(&r, "/usr/bin/d", 0o755).unwrap();
        assert_eq!(names(&o, "/etc"), [".", "..", "hostname", "new", "passwd", "sub"]);
        assert_eq!(names(&o, "/usr/bin"), [".", "..", "d", "sh"]);
        assert_eq!(names(&o, "/"), [".", "..", "bin", "etc", "home", "usr"]);
        let upper = o.stat(&r, "/etc/new").unwrap().ino;
        assert_ne!(upper & UPPER_INO, 0);
        assert_eq!(o.stat(&r, "/etc/passwd").unwrap().ino, o.lower.lstat("/etc/passwd").unwrap().ino);
    }

    #[test]
    fn xattrs_of_lower_entries_and_copy_up() {
        let (o, r) = overlay();
        assert_eq!(o.listxattr(&r, "/etc/passwd").unwrap(), ["trusted.t", "user.origin"]);
        assert_eq!(o.listxattr(&user(1000), "/etc/passwd").unwrap(), ["user.origin"]);
        assert_eq!(o.getxattr(&r, "/etc/passwd", "user.origin").unwrap(), b"image");
        assert_eq!(o.getxattr(&r, "/etc/hostname", "user.origin"), Err(Errno::ENODATA));
        // A refused change does not copy up.
        assert_eq!(o.setxattr(&user(1000), "/etc/passwd", "user.x", Some(b"1"), 0), Err(Errno::EACCES));
        assert!(o.upper_lstat("/etc/passwd").unwrap().is_none());
        // A change copies up, carrying the lower attributes.
        o.setxattr(&r, "/etc/passwd", "user.new", Some(b"1"), 0).unwrap();
        assert_eq!(o.upper.listxattr_as(&r, "/etc/passwd").unwrap(), ["trusted.t", "user.new", "user.origin"]);
        // Other changes copy them up too; the lower keeps its own.
        o.setattr(&r, "/etc/hostname", &SetAttr { mode: Some(0o600), ..SetAttr::default() }).unwrap();
        assert_eq!(o.setxattr(&r, "/etc/hostname", "user.a", None, 0), Err(Errno::ENODATA));
        assert_eq!(o.lower.xattrs("/etc/passwd").unwrap().len(), 2);
    }

    #[test]
    fn lower_fifos_open_and_copy_up_as_fifos() {
        let (o, r) = overlay();
        let st = o.stat(&r, "/usr/fifo").unwrap();
        assert_eq!(st.mode & S_IFMT, S_IFIFO);
        let rd = o.open(&r, "/usr/fifo", fcntl::O_RDONLY | fcntl::O_NONBLOCK, 0).unwrap();
        assert_eq!(rd.stat().unwrap().ino, st.ino);
        // chmod copies it up; the open pipe is still the one new openers get.
        o.setattr(&r, "/usr/fifo", &SetAttr { mode: Some(0o600), ..SetAttr::default() }).unwrap();
        assert_eq!(o.upper.stat_as(&r, "/usr/fifo", false).unwrap().mode, S_IFIFO | 0o600);
        let wr = o.open(&r, "/usr/fifo", fcntl::O_WRONLY | fcntl::O_NONBLOCK, 0).unwrap();
        wr.write(b"p").unwrap();
        let mut buf = [0u8; 2];
        assert_eq!(rd.read(&mut buf), Ok(1));
        // mknod in the merged tree; sockets cannot be opened.
        o.mknod(&r, "/etc/sock", 0o140000 | 0o644, 0).unwrap();
        assert_eq!(o.open(&r, "/etc/sock", fcntl::O_RDONLY, 0).err(), Some(Errno::ENXIO));
        assert_eq!(o.mknod(&r, "/etc/passwd", S_IFIFO | 0o644, 0), Err(Errno::EEXIST));
    }

    #[test]
    fn rename_copies_up_files_and_refuses_lower_directories() {
        let (o, r) = overlay();
        o.rename(&r, "/etc/passwd", "/home/pw", 0).unwrap();
        assert_eq!(read_all(&o, "/home/pw"), b"root:x:0:0\n");
        assert_eq!(o.stat(&r, "/etc/passwd"), Err(Errno::ENOENT));
        assert_eq!(o.rename(&r, "/etc/sub", "/etc/sub2", 0), Err(Errno::EXDEV));
        // A directory of the upper only moves, whiteouts and all.
        o.mkdir(&r, "/a", 0o755).unwrap();
        o.mkdir(&r, "/a/b", 0o755).unwrap();
        o.open(&r, "/a/b/f", fcntl::O_CREAT | fcntl::O_WRONLY, 0o644).unwrap();
        o.rename(&r, "/a", "/c", 0).unwrap();
        assert_eq!(names(&o, "/c/b"), [".", "..", "f"]);
        assert_eq!(o.stat(&r, "/a"), Err(Errno::ENOENT));
        // Onto a lower file: it is replaced.
        o.rename(&r, "/home/pw", "/etc/hostname", 0).unwrap();
        assert_eq!(read_all(&o, "/etc/hostname"), b"root:x:0:0\n");
        assert_eq!(o.rename(&r, "/etc/hostname", "/etc/sub", 0), Err(Errno::EISDIR));
        assert_eq!(o.rename(&r, "/c", "/etc/sub", 0), Err(Errno::ENOTEMPTY));
    }
}
