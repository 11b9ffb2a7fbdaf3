//! Files served by the gofer (gVisor: `fsimpl/gofer`): the container's
//! root and the spec's bind mounts. The sentry never opens a host path: it
//! asks the gofer, which donates an open descriptor; data then moves with
//! `pread`/`pwrite` on that descriptor, without a message per read or write.
//!
//! [`GoferFs`] is the read-only root (`root.readonly`, and the overlay's
//! lower layer); [`GoferRwFs`] is a tree changed through the gofer: a
//! bind mount, or the root with `--overlay2=none`. It follows symlinks
//! itself, in the container's namespace (a bind's absolute link leads to
//! the container's path, as on Linux; the gofer resolves every path it is
//! given inside the bind's source, so nothing reaches beyond it), and checks
//! the caller's permissions against the attributes the gofer reports; the
//! gofer then acts with its own authority.

use crate::fs::gofer_cache::GoferCache;
use crate::fs::tmpfs::Who;
use crate::kernel::task::Credentials;
use crate::kernel::Task;
use crate::vfs::mount::{join, normalize, FileSystem, SetAttr, TimeSet};
use crate::vfs::{DirEntry, FileDescription};
use abi::{fcntl, Errno, Stat, Statfs};
use gofer::proto::{open_flags, BindOptions, Call, Dirent, FileAttr, FsStat, Request, Response, SetAttrs, TimeSpec};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

/// The sentry's connection to its gofer, for one of the gofer's trees
/// (mount 0: the root). Clones share the connection (open directories
/// keep one to fetch their entries).
#[derive(Clone)]
pub struct GoferClient {
    sock: Arc<Mutex<UnixStream>>,
    mount: u32,
    /// What the writable trees' lookups answered (`fs::gofer_cache`).
    cache: Arc<GoferCache>,
}

impl GoferClient {
    pub fn new(sock: UnixStream) -> GoferClient {
        GoferClient { sock: Arc::new(Mutex::new(sock)), mount: 0, cache: Arc::default() }
    }

    /// The same connection, for the gofer's tree `mount` (the `mount`-th
    /// bind mount of the spec).
    pub fn for_mount(&self, mount: u32) -> GoferClient {
        GoferClient { sock: self.sock.clone(), mount, cache: self.cache.clone() }
    }

    fn call(&self, req: &Request) -> Result<(Response, Vec<OwnedFd>), Errno> {
        let sock = self.sock.lock().unwrap();
        let call = Call { mount: self.mount, req: req.clone() };
        control::send_frame(&sock, &call, &[]).map_err(gofer_lost)?;
        // Most answers come within this; a longer one is slept for.
        control::frame::spin_until_readable(&sock, ANSWER_SPIN);
        let answer = control::recv_frame(&sock);
        // Still under the connection's lock: no lookup can be answered
        // between the change and the cache's forgetting it.
        self.cache.after(self.mount, req);
        let (resp, fds) = answer.map_err(gofer_lost)?;
        // A change that answers with the file's attributes (not followed)
        // leaves them in the cache, for the stat that usually comes next.
        if let (Request::SetAttr { path, .. } | Request::Open { path, .. }, Response::Attr(a) | Response::Opened(a)) =
            (req, &resp)
        {
            self.cache.put_lstat(self.cache.generation(), self.mount, path, &crate::fs::stat_from_attr(a));
        }
        match resp {
            Response::Error { errno } => Err(Errno::new(errno)),
            resp => Ok((resp, fds)),
        }
    }

    pub fn stat(&self, path: &str, follow: bool) -> Result<FileAttr, Errno> {
        match self.call(&Request::Stat { path: path.to_string(), follow })? {
            (Response::Attr(a), _) => Ok(a),
            other => Err(protocol_error(&other.0)),
        }
    }

    pub fn readlink(&self, path: &str) -> Result<String, Errno> {
        match self.call(&Request::Readlink { path: path.to_string() })? {
            (Response::Link(l), _) => Ok(l),
            other => Err(protocol_error(&other.0)),
        }
    }

    /// One page of the entries of the directory at `path` from `cookie`
    /// on, and the cookie of the next page if there is one.
    pub fn readdir(&self, path: &str, cookie: u64) -> Result<(Vec<Dirent>, Option<u64>), Errno> {
        match self.call(&Request::Readdir { path: path.to_string(), cookie })? {
            (Response::Dirents { entries, next }, _) => Ok((entries, next)),
            other => Err(protocol_error(&other.0)),
        }
    }

    /// The host file's `user.*` extended attributes (`path` not followed).
    pub fn xattrs(&self, path: &str) -> Result<Vec<(String, Vec<u8>)>, Errno> {
        match self.call(&Request::Xattrs { path: path.to_string() })? {
            (Response::Xattrs(x), _) => Ok(x),
            other => Err(protocol_error(&other.0)),
        }
    }

    pub fn statfs(&self, path: &str) -> Result<FsStat, Errno> {
        match self.call(&Request::Statfs { path: path.to_string() })? {
            (Response::Statfs(s), _) => Ok(s),
            other => Err(protocol_error(&other.0)),
        }
    }

    /// Opens `path` read-only.
    pub fn open_read(&self, path: &str, flags: u64) -> Result<GoferFile, Errno> {
        let opened = self.call(&Request::OpenRead { path: path.to_string() })?;
        self.file(opened, path, flags, None)
    }

    fn file(
        &self,
        opened: (Response, Vec<OwnedFd>),
        path: &str,
        flags: u64,
        rw: Option<Arc<RwInner>>,
    ) -> Result<GoferFile, Errno> {
        match opened {
            (Response::Opened(attr), mut fds) if fds.len() == 1 => Ok(GoferFile {
                fd: fds.pop().expect("length checked"),
                attr,
                path: path.to_string(),
                offset: Mutex::new(0),
                flags: Mutex::new(flags),
                client: self.clone(),
                dir: Mutex::new(DirCache::default()),
                rw,
            }),
            other => Err(protocol_error(&other.0)),
        }
    }

    /// The first symlink a lookup of `path` must follow, if any, and the
    /// directories looked into on the way.
    pub fn walk(
        &self,
        path: &str,
        follow_last: bool,
    ) -> Result<(Option<gofer::proto::WalkLink>, Vec<gofer::proto::Owner>), Errno> {
        match self.call(&Request::Walk { path: path.to_string(), follow_last })? {
            (Response::Walked { link, searched }, _) => Ok((link, searched)),
            other => Err(protocol_error(&other.0)),
        }
    }

    fn change(&self, req: Request) -> Result<(), Errno> {
        match self.call(&req)? {
            (Response::Done, _) => Ok(()),
            other => Err(protocol_error(&other.0)),
        }
    }
}

/// How long a request waits for the gofer's answer before it sleeps.
const ANSWER_SPIN: std::time::Duration = std::time::Duration::from_micros(200);

fn gofer_lost(e: control::FrameError) -> Errno {
    tracing::error!("gofer connection: {e}");
    Errno::EIO
}

fn protocol_error(resp: &Response) -> Errno {
    tracing::error!("gofer protocol: unexpected answer {resp:?}");
    Errno::EIO
}

/// A file opened through the gofer.
pub struct GoferFile {
    fd: OwnedFd,
    attr: FileAttr,
    path: String,
    /// The file offset; for a directory, the index of the next entry
    /// in `dir` (so `d_off` values are small, stable positions).
    offset: Mutex<u64>,
    flags: Mutex<u64>,
    client: GoferClient,
    /// A directory's entries, fetched from the gofer a page at a time as
    /// `getdents` reaches them. Locked after `offset`.
    dir: Mutex<DirCache>,
    /// The writable tree the file was opened from (None: read-only files).
    rw: Option<Arc<RwInner>>,
}

#[derive(Default)]
struct DirCache {
    entries: Vec<Dirent>,
    /// Whether the first page has been fetched.
    loaded: bool,
    /// The gofer's cookie for the page after `entries`, if any.
    next: Option<u64>,
}

impl GoferFile {
    pub fn attr(&self) -> &FileAttr {
        &self.attr
    }

    pub fn is_dir(&self) -> bool {
        self.attr.mode & S_IFMT == S_IFDIR
    }

    /// Fetches the next page into `cache`, if there is one to fetch.
    fn fetch_page(&self, cache: &mut DirCache) -> Result<(), Errno> {
        let cookie = match (cache.loaded, cache.next) {
            (false, _) => 0,
            (true, Some(c)) => c,
            (true, None) => return Ok(()),
        };
        let gen = self.client.cache.generation();
        let (entries, next) = self.client.readdir(&self.path, cookie)?;
        if let Some(rw) = &self.rw {
            rw.remember_listing(gen, &self.path, &entries);
        }
        cache.loaded = true;
        // An empty page that claims more would loop forever: take it as the end.
        cache.next = next.filter(|_| !entries.is_empty());
        cache.entries.extend(entries);
        Ok(())
    }
}

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFSOCK: u32 = 0o140000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;

impl GoferFile {
    /// A write at `offset` (None: at the position, advancing it) through
    /// `put`, which stores the bytes into the host descriptor at the file
    /// offset it is given and returns the count. On an O_APPEND
    /// description every write goes to the end, whatever the offset, as
    /// Linux's pwrite does: the donated descriptor is O_APPEND only if
    /// opened so, so the sentry places the data itself.
    fn write_with(
        &self,
        offset: Option<u64>,
        put: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        if self.rw.is_none() {
            return Err(Errno::EBADF);
        }
        if self.is_dir() {
            return Err(Errno::EISDIR);
        }
        let append = self.flags() & fcntl::O_APPEND != 0;
        let mut pos = self.offset.lock().unwrap();
        let at = match offset {
            _ if append => self.fresh_stat()?.size as u64,
            Some(at) => at,
            None => *pos,
        };
        let n = put(self.fd.as_fd(), at);
        // The size and times moved: the cache learns them from the host
        // descriptor (no round trip), or forgets them.
        match self.fresh_stat() {
            Ok(st) => self.client.cache.refresh_inode(&st),
            Err(_) => self.client.cache.forget_inode(self.attr.dev, self.attr.ino),
        }
        let n = n?;
        if offset.is_none() {
            *pos = at + n as u64;
        }
        Ok(n)
    }

    fn pwrite_host(data: &[u8]) -> impl FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno> + '_ {
        move |fd, at| rustix::io::pwrite(fd, data, at).map_err(host_errno)
    }
}

impl GoferFile {
    /// The current attributes: a writable file's change under it.
    fn fresh_stat(&self) -> Result<Stat, Errno> {
        if self.rw.is_none() {
            return Ok(crate::fs::stat_from_attr(&self.attr));
        }
        let st = rustix::fs::fstat(&self.fd).map_err(host_errno)?;
        let mut st = crate::fs::stat_from_attr(&FileAttr::from(&st));
        // The sandbox's user namespace maps no host owner (its own fstat
        // says 65534): the owner is the gofer's word, as last heard.
        (st.uid, st.gid) = self.client.cache.owner(st.dev, st.ino).unwrap_or((self.attr.uid, self.attr.gid));
        Ok(st)
    }
}

fn host_errno(e: rustix::io::Errno) -> Errno {
    Errno::new(e.raw_os_error())
}

/// Status flags `fcntl(F_SETFL)` may change (Linux's `SETFL_MASK` less
/// the ones without meaning here).
const SETFL: u64 = fcntl::O_APPEND | fcntl::O_NONBLOCK;

impl FileDescription for GoferFile {
    fn flags(&self) -> u64 {
        *self.flags.lock().unwrap()
    }

    fn set_flags(&self, flags: u64) {
        let mut f = self.flags.lock().unwrap();
        *f = (*f & !SETFL) | (flags & SETFL);
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.write_with(None, &mut Self::pwrite_host(data))
    }

    fn pwrite(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        self.write_with(Some(offset), &mut Self::pwrite_host(data))
    }

    fn write_direct(
        &self,
        offset: Option<u64>,
        from: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        Some(self.write_with(offset, from))
    }

    /// On the host file itself, as its file system does it.
    fn fallocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        if self.rw.is_none() {
            return Err(Errno::EBADF);
        }
        if self.is_dir() {
            return Err(Errno::EISDIR);
        }
        let mode = rustix::fs::FallocateFlags::from_bits(mode).ok_or(Errno::EOPNOTSUPP)?;
        let done = rustix::fs::fallocate(&self.fd, mode, offset, len).map_err(host_errno);
        self.client.cache.forget_inode(self.attr.dev, self.attr.ino);
        done
    }

    // The host file's `user.*` attributes, asked by the path it was
    // opened by.
    fn getxattr(&self, task: &Task, name: &str) -> Result<Vec<u8>, Errno> {
        xattr_of(&self.client, task, &self.path, &self.fresh_stat()?, name)
    }
    fn listxattr(&self, task: &Task) -> Result<Vec<String>, Errno> {
        xattr_names(&self.client, task, &self.path)
    }
    fn setxattr(&self, _task: &Task, _name: &str, _value: &[u8], _flags: u32) -> Result<(), Errno> {
        tracing::warn!(path = self.path(), "extended attributes cannot be set on gofer files (EOPNOTSUPP)");
        Err(Errno::EOPNOTSUPP)
    }
    fn removexattr(&self, _task: &Task, _name: &str) -> Result<(), Errno> {
        Err(Errno::ENODATA)
    }

    fn setattr(&self, task: &Task, attr: &SetAttr) -> Result<(), Errno> {
        let Some(rw) = &self.rw else { return Err(Errno::EROFS) };
        if attr.size.is_some() && !self.is_dir() && crate::vfs::writable(self).is_ok() {
            // ftruncate on the donated descriptor: right even when the file
            // has been renamed or unlinked since it was opened.
            rw.writable()?;
            let done = rustix::fs::ftruncate(&self.fd, attr.size.unwrap_or(0)).map_err(host_errno);
            self.client.cache.forget_inode(self.attr.dev, self.attr.ino);
            done?;
            let rest = SetAttr { size: None, ..*attr };
            if rest.mode.is_none()
                && rest.uid.is_none()
                && rest.gid.is_none()
                && rest.atime.is_none()
                && rest.mtime.is_none()
            {
                return Ok(());
            }
            return rw.setattr_checked(task, &self.path, &self.fresh_stat()?, &rest, true);
        }
        rw.setattr_checked(task, &self.path, &self.fresh_stat()?, attr, true)
    }

    fn exec_forbidden(&self) -> bool {
        self.rw.as_ref().is_some_and(|rw| rw.opts.noexec)
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut off = self.offset.lock().unwrap();
        let n = self.pread(buf, *off)?;
        *off += n as u64;
        Ok(n)
    }

    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        if self.is_dir() {
            return Err(Errno::EISDIR);
        }
        rustix::io::pread(&self.fd, buf, offset).map_err(host_errno)
    }

    fn read_direct(
        &self,
        offset: Option<u64>,
        into: &mut dyn FnMut(BorrowedFd<'_>, u64) -> Result<usize, Errno>,
    ) -> Option<Result<usize, Errno>> {
        if self.is_dir() {
            return Some(Err(Errno::EISDIR));
        }
        Some(match offset {
            Some(at) => into(self.fd.as_fd(), at),
            None => {
                let mut pos = self.offset.lock().unwrap();
                into(self.fd.as_fd(), *pos).inspect(|&n| *pos += n as u64)
            }
        })
    }

    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut off = self.offset.lock().unwrap();
        // A directory's end is not known before it is read (Linux's generic
        // directories refuse SEEK_END too).
        let end = if self.is_dir() { None } else { Some(self.fresh_stat()?.size as u64) };
        let new = crate::vfs::seek_target(*off, offset, whence, end)?;
        if self.is_dir() && new == 0 {
            // A rewind lists the directory afresh, as it is now.
            *self.dir.lock().unwrap() = DirCache::default();
        }
        *off = new;
        Ok(new)
    }

    fn readdir(&self, emit: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> Result<(), Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut pos = self.offset.lock().unwrap();
        let mut cache = self.dir.lock().unwrap();
        let mut emitted = false;
        loop {
            let index = usize::try_from(*pos).unwrap_or(usize::MAX);
            if !cache.loaded || (index >= cache.entries.len() && cache.next.is_some()) {
                match self.fetch_page(&mut cache) {
                    Ok(()) => continue,
                    // What was already given is returned; the error comes next call.
                    Err(_) if emitted => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let Some(e) = cache.entries.get(index) else { return Ok(()) };
            let entry = DirEntry { ino: e.ino, next_off: *pos as i64 + 1, d_type: e.d_type, name: &e.name };
            if !emit(&entry) {
                return Ok(());
            }
            emitted = true;
            *pos += 1;
        }
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(crate::fs::statfs_from(&self.client.statfs(&self.path)?))
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.fresh_stat()
    }

    /// The whole namespace's path: a bind mount's files are named below
    /// its mount point (the gofer knows them by their path in its tree).
    fn path(&self) -> String {
        match &self.rw {
            Some(rw) if rw.point != "/" && self.path == "/" => rw.point.clone(),
            Some(rw) if rw.point != "/" => join(&rw.point, self.path.trim_start_matches('/')),
            _ => self.path.clone(),
        }
    }

    fn sync(&self) -> Result<(), Errno> {
        match &self.rw {
            // fsync through the donated descriptor (directories too).
            Some(_) => rustix::fs::fsync(&self.fd).map_err(host_errno),
            None => Ok(()),
        }
    }

    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
}

/// The attribute `name` of the gofer's file at `path` (attributes `st`),
/// after the sentry's own checks (`fs::xattr`).
fn xattr_of(client: &GoferClient, task: &Task, path: &str, st: &Stat, name: &str) -> Result<Vec<u8>, Errno> {
    crate::fs::xattr::check(&task.creds, st, name, false)?;
    // The gofer reports `user.*` only: no round trip for the others.
    if !name.starts_with("user.") {
        return Err(Errno::ENODATA);
    }
    client.xattrs(path)?.into_iter().find(|(n, _)| n == name).map(|(_, v)| v).ok_or(Errno::ENODATA)
}

/// The names of the gofer's file's attributes the caller may list.
fn xattr_names(client: &GoferClient, task: &Task, path: &str) -> Result<Vec<String>, Errno> {
    let all: crate::fs::xattr::Xattrs = client.xattrs(path)?.into_iter().collect();
    Ok(crate::fs::xattr::list(&all, &task.creds))
}

/// The gofer's tree as the root mount. It resolves whole paths itself
/// (symlinks included) inside the container root.
pub struct GoferFs {
    client: GoferClient,
}

impl GoferFs {
    pub fn new(client: GoferClient) -> GoferFs {
        GoferFs { client }
    }
}

impl crate::vfs::mount::FileSystem for GoferFs {
    fn name(&self) -> &'static str {
        "gofer"
    }

    fn open(
        &self,
        _task: &crate::kernel::Task,
        path: &str,
        flags: u64,
        _mode: u32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        use abi::fcntl;
        let writes = flags & fcntl::O_ACCMODE != fcntl::O_RDONLY || flags & (fcntl::O_CREAT | fcntl::O_TRUNC) != 0;
        if writes {
            // Writable gofer files come with the rest of issue #4.
            tracing::warn!(path, "open for writing is not implemented yet: EROFS");
            return Err(Errno::EROFS);
        }
        let file = self.client.open_read(path, flags)?;
        if flags & fcntl::O_DIRECTORY != 0 && !file.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(Arc::new(file))
    }

    fn open_read_as(&self, _who: &Who, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        // The host's permissions are the gofer's to apply on this root.
        Ok(Arc::new(self.client.open_read(path, fcntl::O_RDONLY)?))
    }

    fn stat(&self, _task: &crate::kernel::Task, path: &str, follow: bool) -> Result<Stat, Errno> {
        Ok(crate::fs::stat_from_attr(&self.client.stat(path, follow)?))
    }

    fn readlink(&self, _task: &crate::kernel::Task, path: &str) -> Result<String, Errno> {
        self.client.readlink(path)
    }

    fn statfs(&self, _task: &crate::kernel::Task, path: &str) -> Result<Statfs, Errno> {
        Ok(crate::fs::statfs_from(&self.client.statfs(path)?))
    }

    // The host file's `user.*` attributes (read-only root: no changes).
    fn getxattr(&self, task: &crate::kernel::Task, path: &str, name: &str) -> Result<Vec<u8>, Errno> {
        let st = crate::fs::stat_from_attr(&self.client.stat(path, false)?);
        xattr_of(&self.client, task, path, &st, name)
    }
    fn listxattr(&self, task: &crate::kernel::Task, path: &str) -> Result<Vec<String>, Errno> {
        self.client.stat(path, false)?;
        xattr_names(&self.client, task, path)
    }
}

/// A tree the gofer changes on the sentry's behalf: a bind mount (its
/// `ro`, `nosuid`, `nodev`, `noexec` options), or the root with
/// `--overlay2=none`.
pub struct GoferRwFs {
    inner: Arc<RwInner>,
}

struct RwInner {
    client: GoferClient,
    /// The mount point, to turn a symlink met inside into a path of the
    /// whole namespace.
    point: String,
    opts: BindOptions,
}

impl GoferRwFs {
    /// The gofer's tree `client` mounted at `point`.
    pub fn new(client: GoferClient, point: &str, opts: BindOptions) -> GoferRwFs {
        GoferRwFs { inner: Arc::new(RwInner { client, point: normalize(point), opts }) }
    }
}

/// The parent directory of a normalised path (`/` for `/` itself) and
/// whether the path is the tree's root.
fn parent_of(path: &str) -> (String, bool) {
    match path.rsplit_once('/') {
        Some(("", "")) | None => ("/".into(), true),
        Some(("", _)) => ("/".into(), false),
        Some((dir, _)) => (dir.into(), false),
    }
}

fn is_dir(st: &Stat) -> bool {
    st.mode & S_IFMT == S_IFDIR
}

fn time_spec(t: Option<TimeSet>) -> Option<TimeSpec> {
    t.map(|t| match t {
        TimeSet::Now => TimeSpec::Now,
        TimeSet::At(ts) => TimeSpec::At(ts.tv_sec, ts.tv_nsec.clamp(0, 999_999_999) as u32),
    })
}

impl RwInner {
    fn writable(&self) -> Result<(), Errno> {
        if self.opts.readonly {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// The attributes of `path` (not followed), from the cache while fresh.
    fn lstat(&self, path: &str) -> Result<Stat, Errno> {
        let (cache, mount) = (&self.client.cache, self.client.mount);
        if let Some(st) = cache.lstat(mount, path) {
            return Ok(st);
        }
        let gen = cache.generation();
        let st = crate::fs::stat_from_attr(&self.client.stat(path, false)?);
        cache.put_lstat(gen, mount, path, &st);
        Ok(st)
    }

    /// The walk of `path` (normalised) as its directory's known walk
    /// implies it: the same directories searched, and the directory
    /// itself; so long as the last component need not be followed (it is
    /// known not to be a symlink, or `follow_last` is false).
    fn walk_from_parent(&self, path: &str, follow_last: bool) -> Option<crate::fs::gofer_cache::Walked> {
        let (cache, mount) = (&self.client.cache, self.client.mount);
        let (dir, name) = path.rsplit_once('/')?;
        if [name].into_iter().chain(dir.split('/').skip(1)).any(|c| matches!(c, "" | "." | "..")) {
            return None;
        }
        let dir = if dir.is_empty() { "/" } else { dir };
        if follow_last && cache.lstat(mount, path).is_none_or(|st| st.mode & S_IFMT == S_IFLNK) {
            return None;
        }
        let st = cache.lstat(mount, dir).filter(is_dir)?;
        let (link, mut searched) = match dir {
            // The tree's root: nothing searched to reach it.
            "/" => (None, Vec::new()),
            _ => cache.walk(mount, dir, true).or_else(|| self.walk_from_parent(dir, true))?,
        };
        if link.is_some() {
            return None;
        }
        searched.push(gofer::proto::Owner { mode: st.mode, uid: st.uid, gid: st.gid });
        Some((None, searched))
    }

    /// Fills the cache with the attributes of a page of the directory
    /// `dir`'s entries, fetched at generation `gen`; with the directory's
    /// walk (`walk_from_parent`), a `stat` of every entry after the
    /// listing then costs no round trip.
    fn remember_listing(&self, gen: u64, dir: &str, entries: &[Dirent]) {
        let (cache, mount) = (&self.client.cache, self.client.mount);
        for e in entries {
            let (Ok(name), Some(attr)) = (std::str::from_utf8(&e.name), &e.attr) else { continue };
            if !matches!(name, "." | "..") {
                cache.put_lstat(gen, mount, &join(dir, name), &crate::fs::stat_from_attr(attr));
            }
        }
    }

    /// The gofer's walk of `path`, from the cache while fresh.
    fn walk(&self, path: &str, follow_last: bool) -> Result<crate::fs::gofer_cache::Walked, Errno> {
        let (cache, mount) = (&self.client.cache, self.client.mount);
        if let Some(w) = cache.walk(mount, path, follow_last).or_else(|| self.walk_from_parent(path, follow_last)) {
            return Ok(w);
        }
        let gen = cache.generation();
        let w = self.client.walk(path, follow_last)?;
        cache.put_walk(gen, mount, path, follow_last, &w);
        Ok(w)
    }

    /// The attributes of `path`, None if it does not exist (its parent does).
    fn lstat_opt(&self, path: &str) -> Result<Option<Stat>, Errno> {
        match self.lstat(path) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks that `creds` may add or remove entries in the directory
    /// holding `path` (`victim`: the entry going, for the sticky bit), and
    /// returns that directory's attributes.
    fn may_change_dir(&self, creds: &Credentials, path: &str, victim: Option<&Stat>) -> Result<Stat, Errno> {
        let (dir, _) = parent_of(path);
        let d = self.lstat(&dir)?;
        if !is_dir(&d) {
            return Err(Errno::ENOTDIR);
        }
        crate::fs::overlay::permit(creds, &d, 3)?;
        if let Some(v) = victim {
            if d.mode & S_ISVTX != 0 && !creds.owns(d.uid) && !creds.owns(v.uid) {
                return Err(Errno::EPERM);
            }
        }
        Ok(d)
    }

    /// Owner and group of a new entry in a directory with attributes `dir`
    /// (a set-group-id directory gives its group), and its mode bits.
    fn new_owner(&self, task: &Task, dir: &Stat) -> (u32, u32) {
        let gid = if dir.mode & S_ISGID != 0 { dir.gid } else { task.creds.egid };
        (task.creds.euid, gid)
    }

    /// Linux's `setattr_prepare` on the attributes `st`, then the change.
    fn setattr_checked(&self, task: &Task, path: &str, st: &Stat, a: &SetAttr, by_fd: bool) -> Result<(), Errno> {
        self.writable()?;
        let creds = &task.creds;
        let root = creds.capable(crate::kernel::caps::CAP_CHOWN);
        let owner = creds.owns(st.uid);
        if a.size.is_some() {
            if is_dir(st) {
                return Err(Errno::EISDIR);
            }
            if !by_fd {
                crate::fs::overlay::permit(creds, st, 2)?;
            }
        }
        if a.uid.is_some() || a.gid.is_some() {
            let uid_changes = a.uid.is_some_and(|u| u != st.uid);
            let gid_ok = |g: u32| g == st.gid || creds.egid == g || creds.groups.contains(&g);
            if !root && (uid_changes || !owner || a.gid.is_some_and(|g| !gid_ok(g))) {
                return Err(Errno::EPERM);
            }
        }
        let mut mode = a.mode;
        if let Some(m) = mode.as_mut() {
            if !owner {
                return Err(Errno::EPERM);
            }
            // Linux drops set-group-id when a non-member without CAP_FSETID sets it.
            if !creds.capable(crate::kernel::caps::CAP_FSETID)
                && creds.egid != st.gid
                && !creds.groups.contains(&st.gid)
            {
                *m &= !S_ISGID;
            }
        }
        let explicit = matches!(a.atime, Some(TimeSet::At(_))) || matches!(a.mtime, Some(TimeSet::At(_)));
        if explicit && !owner {
            return Err(Errno::EPERM);
        }
        if (a.atime.is_some() || a.mtime.is_some()) && !explicit && !owner {
            crate::fs::overlay::permit(creds, st, 2).map_err(|_| Errno::EACCES)?;
        }
        let attr = SetAttrs {
            mode,
            uid: a.uid,
            gid: a.gid,
            size: a.size,
            atime: time_spec(a.atime),
            mtime: time_spec(a.mtime),
        };
        match self.client.call(&Request::SetAttr { path: path.to_string(), attr })? {
            (Response::Attr(_), _) => Ok(()),
            other => Err(protocol_error(&other.0)),
        }
    }
}

impl GoferRwFs {
    /// An open that changes nothing (no O_CREAT, no O_TRUNC) is one round
    /// trip: the gofer opens, and the permission check is made on the
    /// attributes it answers with; a refused file is closed unread.
    fn open_existing(
        &self,
        creds: &Credentials,
        p: &str,
        flags: u64,
        slash: bool,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let rw = &self.inner;
        let acc = flags & fcntl::O_ACCMODE;
        let mut wire = (acc as u32) & open_flags::O_ACCMODE;
        if flags & fcntl::O_DIRECTORY != 0 || slash {
            wire |= open_flags::O_DIRECTORY;
        }
        if acc != fcntl::O_RDONLY {
            rw.writable()?;
        }
        let req = Request::Open { path: p.to_string(), flags: wire, mode: 0, uid: 0, gid: 0 };
        let file = rw.client.file(rw.client.call(&req)?, p, flags, Some(rw.clone()))?;
        let st = crate::fs::stat_from_attr(&file.attr);
        let want = match acc {
            fcntl::O_RDONLY => 4,
            fcntl::O_WRONLY => 2,
            _ => 6,
        };
        crate::fs::overlay::permit(creds, &st, want)?;
        Ok(Arc::new(file))
    }

    /// The checks before a new entry at `raw` (mkdir, symlink): it must not
    /// exist, the mount must be writable and its directory changeable by
    /// the caller. Returns the normalised path, the directory's
    /// attributes, and the new entry's owner and group.
    fn new_entry(&self, task: &Task, raw: &str) -> Result<(String, Stat, (u32, u32)), Errno> {
        let rw = &self.inner;
        let p = normalize(raw);
        if rw.lstat_opt(&p)?.is_some() {
            return Err(Errno::EEXIST);
        }
        rw.writable()?;
        let dir = rw.may_change_dir(&task.creds, &p, None)?;
        let owner = rw.new_owner(task, &dir);
        Ok((p, dir, owner))
    }
}

impl FileSystem for GoferRwFs {
    fn name(&self) -> &'static str {
        "gofer"
    }

    fn follow(&self, task: &Task, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        self.follow_as(&Who::of(task), path, follow_last)
    }

    fn open_read_as(&self, who: &Who, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
        self.open_existing(&who.creds, &normalize(path), abi::fcntl::O_RDONLY, false)
    }

    fn follow_as(&self, who: &Who, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        let (link, searched) = self.inner.walk(path, follow_last)?;
        // Search permission on every directory the lookup passes through.
        for d in &searched {
            let st = Stat { mode: d.mode, uid: d.uid, gid: d.gid, ..Stat::default() };
            crate::fs::overlay::permit(&who.creds, &st, 1)?;
        }
        let Some(link) = link else { return Ok(None) };
        let dir = if link.dir == "/" { self.inner.point.clone() } else { join(&self.inner.point, &link.dir[1..]) };
        let target = join(&dir, &link.target);
        Ok(Some(if link.rest.is_empty() { target } else { format!("{target}/{}", link.rest) }))
    }

    fn open(&self, task: &Task, raw: &str, flags: u64, mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let rw = &self.inner;
        let p = normalize(raw);
        // A trailing slash asks for a directory (the mount's root is one
        // whatever it is: a single-file bind is reached as "/").
        let slash = raw.ends_with('/') && p != "/";
        let acc = flags & fcntl::O_ACCMODE;
        let writes = acc != fcntl::O_RDONLY || flags & fcntl::O_TRUNC != 0;
        if flags & (fcntl::O_CREAT | fcntl::O_TRUNC) == 0 {
            return self.open_existing(&task.creds, &p, flags, slash);
        }
        let existing = rw.lstat_opt(&p)?;
        let (mut wire, mut new_mode, mut owner) = (0u32, 0u32, (0, 0));
        match &existing {
            Some(_) if flags & (fcntl::O_CREAT | fcntl::O_EXCL) == fcntl::O_CREAT | fcntl::O_EXCL => {
                return Err(Errno::EEXIST)
            }
            Some(st) => {
                match st.mode & S_IFMT {
                    S_IFLNK => return Err(Errno::ELOOP),
                    S_IFDIR if writes || flags & fcntl::O_CREAT != 0 => return Err(Errno::EISDIR),
                    S_IFDIR => {}
                    _ if flags & fcntl::O_DIRECTORY != 0 || slash => return Err(Errno::ENOTDIR),
                    _ => {}
                }
                let want = match acc {
                    fcntl::O_RDONLY => 4,
                    fcntl::O_WRONLY => 2,
                    _ => 6,
                } | if flags & fcntl::O_TRUNC != 0 { 2 } else { 0 };
                if writes {
                    rw.writable()?;
                }
                crate::fs::overlay::permit(&task.creds, st, want)?;
            }
            None if flags & fcntl::O_CREAT == 0 => return Err(Errno::ENOENT),
            None if slash => return Err(Errno::EISDIR),
            None => {
                rw.writable()?;
                let dir = rw.may_change_dir(&task.creds, &p, None)?;
                owner = rw.new_owner(task, &dir);
                new_mode = mode & 0o7777 & !task.umask;
                wire |= open_flags::O_CREAT;
            }
        }
        // O_APPEND stays with the sentry (F_SETFL may change it): the
        // donated descriptor is written with pwrite at the place it picks.
        wire |= (acc as u32) & open_flags::O_ACCMODE;
        if flags & fcntl::O_TRUNC != 0 {
            wire |= open_flags::O_TRUNC;
        }
        if flags & fcntl::O_DIRECTORY != 0 {
            wire |= open_flags::O_DIRECTORY;
        }
        if flags & fcntl::O_EXCL != 0 && wire & open_flags::O_CREAT != 0 {
            wire |= open_flags::O_EXCL;
        }
        let req = Request::Open { path: p.clone(), flags: wire, mode: new_mode, uid: owner.0, gid: owner.1 };
        let opened = rw.client.call(&req)?;
        let file = rw.client.file(opened, &p, flags, Some(rw.clone()))?;
        Ok(Arc::new(file))
    }

    fn stat(&self, _task: &Task, path: &str, _follow: bool) -> Result<Stat, Errno> {
        // `follow` has already been done by the mount table (`follow`).
        let st = self.inner.lstat(path)?;
        if path.ends_with('/') && normalize(path) != "/" && !is_dir(&st) {
            return Err(Errno::ENOTDIR);
        }
        Ok(st)
    }

    fn readlink(&self, _task: &Task, path: &str) -> Result<String, Errno> {
        self.inner.client.readlink(path)
    }

    fn statfs(&self, _task: &Task, path: &str) -> Result<Statfs, Errno> {
        Ok(crate::fs::statfs_from(&self.inner.client.statfs(path)?))
    }

    fn mkdir(&self, task: &Task, raw: &str, mode: u32) -> Result<(), Errno> {
        let rw = &self.inner;
        let (p, dir, (uid, gid)) = self.new_entry(task, raw)?;
        let mut mode = mode & 0o7777 & !task.umask;
        if dir.mode & S_ISGID != 0 {
            mode |= S_ISGID;
        }
        rw.client.change(Request::Mkdir { path: p, mode, uid, gid })
    }

    fn rmdir(&self, task: &Task, raw: &str) -> Result<(), Errno> {
        let rw = &self.inner;
        let p = normalize(raw);
        if raw.trim_end_matches('/').ends_with("/.") {
            return Err(Errno::EINVAL);
        }
        if parent_of(&p).1 {
            return Err(Errno::EBUSY);
        }
        let st = rw.lstat(&p)?;
        if !is_dir(&st) {
            return Err(Errno::ENOTDIR);
        }
        rw.writable()?;
        rw.may_change_dir(&task.creds, &p, Some(&st))?;
        rw.client.change(Request::Rmdir { path: p })
    }

    fn unlink(&self, task: &Task, raw: &str) -> Result<(), Errno> {
        let rw = &self.inner;
        let p = normalize(raw);
        if parent_of(&p).1 {
            return Err(Errno::EBUSY);
        }
        let st = rw.lstat(&p)?;
        if is_dir(&st) {
            return Err(Errno::EISDIR);
        }
        if raw.ends_with('/') {
            return Err(Errno::ENOTDIR);
        }
        rw.writable()?;
        rw.may_change_dir(&task.creds, &p, Some(&st))?;
        rw.client.change(Request::Unlink { path: p })
    }

    fn symlink(&self, task: &Task, target: &str, raw: &str) -> Result<(), Errno> {
        let (p, _, (uid, gid)) = self.new_entry(task, raw)?;
        self.inner.client.change(Request::Symlink { target: target.to_string(), path: p, uid, gid })
    }

    fn link(&self, task: &Task, old: &str, new: &str) -> Result<(), Errno> {
        let rw = &self.inner;
        let (o, n) = (normalize(old), normalize(new));
        let st = rw.lstat(&o)?;
        if is_dir(&st) {
            return Err(Errno::EPERM);
        }
        if rw.lstat_opt(&n)?.is_some() {
            return Err(Errno::EEXIST);
        }
        rw.writable()?;
        rw.may_change_dir(&task.creds, &n, None)?;
        rw.client.change(Request::Link { old: o, new: n })
    }

    fn rename(&self, task: &Task, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
        let rw = &self.inner;
        const RENAME_NOREPLACE: u32 = 1;
        if flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let (o, n) = (normalize(old), normalize(new));
        if parent_of(&o).1 || parent_of(&n).1 {
            return Err(Errno::EBUSY);
        }
        let ost = rw.lstat(&o)?;
        let nst = rw.lstat_opt(&n)?;
        if !is_dir(&ost) && (old.ends_with('/') || new.ends_with('/')) {
            return Err(Errno::ENOTDIR);
        }
        rw.writable()?;
        rw.may_change_dir(&task.creds, &o, Some(&ost))?;
        rw.may_change_dir(&task.creds, &n, nst.as_ref())?;
        // The host checks the rest (a directory into itself, non-empty
        // targets, types) and answers as Linux does, being Linux.
        rw.client.change(Request::Rename { old: o, new: n, flags })
    }

    fn setattr(&self, task: &Task, raw: &str, attr: &SetAttr) -> Result<(), Errno> {
        let p = normalize(raw);
        let st = self.inner.lstat(&p)?;
        self.inner.setattr_checked(task, &p, &st, attr, false)
    }

    /// Regular files only: the gofer protocol cannot make FIFOs, sockets
    /// or device nodes on the host.
    fn mknod(&self, task: &Task, raw: &str, mode: u32, _rdev: u64) -> Result<(), Errno> {
        match mode & S_IFMT {
            0 | S_IFREG => {
                let flags = abi::fcntl::O_CREAT | abi::fcntl::O_EXCL | abi::fcntl::O_WRONLY;
                self.open(task, raw, flags, mode & 0o7777).map(drop)
            }
            S_IFSOCK => {
                let (p, _, (uid, gid)) = self.new_entry(task, raw)?;
                let mode = mode & 0o7777 & !task.umask;
                self.inner.client.change(Request::MknodSocket { path: p, mode, uid, gid })
            }
            _ => {
                tracing::warn!(path = raw, "mknod of FIFOs and devices on gofer mounts is not supported");
                Err(Errno::EOPNOTSUPP)
            }
        }
    }

    // The gofer reports the host file's `user.*` attributes; none can be
    // set through it.

    fn getxattr(&self, task: &Task, raw: &str, name: &str) -> Result<Vec<u8>, Errno> {
        let p = normalize(raw);
        let st = self.inner.lstat(&p)?;
        xattr_of(&self.inner.client, task, &p, &st, name)
    }
    fn listxattr(&self, task: &Task, raw: &str) -> Result<Vec<String>, Errno> {
        let p = normalize(raw);
        self.inner.lstat(&p)?;
        xattr_names(&self.inner.client, task, &p)
    }
    fn setxattr(&self, _task: &Task, raw: &str, _name: &str, _value: &[u8], _flags: u32) -> Result<(), Errno> {
        self.inner.lstat(&normalize(raw))?;
        tracing::warn!(path = raw, "extended attributes cannot be set on gofer mounts (EOPNOTSUPP)");
        Err(Errno::EOPNOTSUPP)
    }
    fn removexattr(&self, _task: &Task, raw: &str, _name: &str) -> Result<(), Errno> {
        self.inner.lstat(&normalize(raw))?;
        Err(Errno::ENODATA)
    }
}
