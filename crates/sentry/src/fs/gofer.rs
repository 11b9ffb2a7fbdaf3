//! Files of the container's root file system, served by the gofer
//! (gVisor: `fsimpl/gofer`). The sentry never opens a host path: it asks
//! the gofer, which donates an open descriptor; data then moves with
//! `pread` on that descriptor, without a message per read.

use crate::vfs::FileDescription;
use abi::{Errno, Stat};
use gofer::proto::{FileAttr, Request, Response};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

/// The sentry's connection to its gofer.
pub struct GoferClient {
    sock: Mutex<UnixStream>,
}

impl GoferClient {
    pub fn new(sock: UnixStream) -> GoferClient {
        GoferClient { sock: Mutex::new(sock) }
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

    /// Opens `path` read-only.
    pub fn open_read(&self, path: &str, flags: u64) -> Result<GoferFile, Errno> {
        match self.call(&Request::OpenRead { path: path.to_string() })? {
            (Response::Opened(attr), mut fds) if fds.len() == 1 => Ok(GoferFile {
                fd: fds.pop().expect("length checked"),
                attr,
                path: path.to_string(),
                offset: Mutex::new(0),
                flags,
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
    offset: Mutex<u64>,
    flags: u64,
}

impl GoferFile {
    pub fn attr(&self) -> &FileAttr {
        &self.attr
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
        if self.attr.mode & S_IFMT == S_IFDIR {
            return Err(Errno::EISDIR);
        }
        rustix::io::pread(&self.fd, buf, offset).map_err(|e| Errno::new(e.raw_os_error()))
    }

    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut off = self.offset.lock().unwrap();
        let base = match whence {
            0 => 0,
            1 => *off as i64,
            2 => self.attr.size as i64,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
        *off = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(crate::fs::stat_from_attr(&self.attr))
    }

    fn path(&self) -> String {
        self.path.clone()
    }

    fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
}
