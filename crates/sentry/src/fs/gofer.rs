//! Files of the container's root file system, served by the gofer
//! (gVisor: `fsimpl/gofer`). The sentry never opens a host path: it asks
//! the gofer, which donates an open descriptor; data then moves with
//! `pread` on that descriptor, without a message per read.

use crate::vfs::{DirEntry, FileDescription};
use abi::{Errno, Stat, Statfs};
use gofer::proto::{Dirent, FileAttr, FsStat, Request, Response};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

/// The sentry's connection to its gofer. Clones share the connection
/// (open directories keep one to fetch their entries).
#[derive(Clone)]
pub struct GoferClient {
    sock: Arc<Mutex<UnixStream>>,
}

impl GoferClient {
    pub fn new(sock: UnixStream) -> GoferClient {
        GoferClient { sock: Arc::new(Mutex::new(sock)) }
    }

    fn call(&self, req: &Request) -> Result<(Response, Vec<OwnedFd>), Errno> {
        let sock = self.sock.lock().unwrap();
        control::send_frame(&sock, req, &[]).map_err(gofer_lost)?;
        let (resp, fds) = control::recv_frame(&sock).map_err(gofer_lost)?;
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

    pub fn statfs(&self, path: &str) -> Result<FsStat, Errno> {
        match self.call(&Request::Statfs { path: path.to_string() })? {
            (Response::Statfs(s), _) => Ok(s),
            other => Err(protocol_error(&other.0)),
        }
    }

    /// Opens `path` read-only.
    pub fn open_read(&self, path: &str, flags: u64) -> Result<GoferFile, Errno> {
        match self.call(&Request::OpenRead { path: path.to_string() })? {
            (Response::Opened(attr), mut fds) if fds.len() == 1 => Ok(GoferFile {
                fd: fds.pop().expect("length checked"),
                attr,
                path: path.to_string(),
                offset: Mutex::new(0),
                flags,
                client: self.clone(),
                dir: Mutex::new(DirCache::default()),
            }),
            other => Err(protocol_error(&other.0)),
        }
    }
}

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
    flags: u64,
    client: GoferClient,
    /// A directory's entries, fetched from the gofer a page at a time as
    /// `getdents` reaches them. Locked after `offset`.
    dir: Mutex<DirCache>,
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
        let (entries, next) = self.client.readdir(&self.path, cookie)?;
        cache.loaded = true;
        // An empty page that claims more would loop forever: take it as the end.
        cache.next = next.filter(|_| !entries.is_empty());
        cache.entries.extend(entries);
        Ok(())
    }
}

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;

impl FileDescription for GoferFile {
    fn flags(&self) -> u64 {
        self.flags
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
        rustix::io::pread(&self.fd, buf, offset).map_err(|e| Errno::new(e.raw_os_error()))
    }

    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut off = self.offset.lock().unwrap();
        // A directory's end is not known before it is read (Linux's generic
        // directories refuse SEEK_END too).
        let end = (!self.is_dir()).then_some(self.attr.size);
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
        Ok(crate::fs::stat_from_attr(&self.attr))
    }

    fn path(&self) -> String {
        self.path.clone()
    }

    fn sync(&self) -> Result<(), Errno> {
        // Read-only today: nothing to write back.
        Ok(())
    }

    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
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

    fn stat(&self, _task: &crate::kernel::Task, path: &str, follow: bool) -> Result<Stat, Errno> {
        Ok(crate::fs::stat_from_attr(&self.client.stat(path, follow)?))
    }

    fn readlink(&self, _task: &crate::kernel::Task, path: &str) -> Result<String, Errno> {
        self.client.readlink(path)
    }

    fn statfs(&self, _task: &crate::kernel::Task, path: &str) -> Result<Statfs, Errno> {
        Ok(crate::fs::statfs_from(&self.client.statfs(path)?))
    }
}
