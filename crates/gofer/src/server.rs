//! The gofer's request loop.
//!
//! Every path is resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//! against the root directory descriptor, so `..` and absolute symlinks stay
//! inside the container's root whatever the sentry sends. A malformed
//! request is answered with an error (or ends the connection), never a crash.

use crate::proto::{FileAttr, Request, Response};
use control::frame::{recv_frame, send_frame, FrameError};
use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Serves requests on `sock` until the sentry hangs up. `root` is a
/// directory descriptor for the container's root file system.
pub fn serve(root: BorrowedFd<'_>, sock: &UnixStream) -> Result<(), FrameError> {
    loop {
        let req: Request = match recv_frame(sock) {
            Ok((req, _fds)) => req,
            Err(FrameError::Closed) => return Ok(()),
            Err(FrameError::Decode(e)) => {
                tracing::warn!("gofer: malformed request: {e}");
                send_frame(sock, &Response::Error { errno: Errno::INVAL.raw_os_error() }, &[])?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (resp, fds) = handle(root, &req);
        tracing::debug!(?req, ?resp, "gofer");
        send_frame(sock, &resp, &fds)?;
    }
}

/// Answers one request.
pub fn handle(root: BorrowedFd<'_>, req: &Request) -> (Response, Vec<OwnedFd>) {
    let result = match req {
        Request::Stat { path, follow } => stat(root, path, *follow).map(|a| (Response::Attr(a), vec![])),
        Request::OpenRead { path } => open_read(root, path),
        Request::Readlink { path } => readlink(root, path).map(|l| (Response::Link(l), vec![])),
    };
    result.unwrap_or_else(|e| (Response::Error { errno: e.raw_os_error() }, vec![]))
}

fn resolve(root: BorrowedFd<'_>, path: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    if path.as_bytes().contains(&0) {
        return Err(Errno::INVAL);
    }
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    // openat2 rejects O_PATH combined with anything but DIRECTORY/NOFOLLOW/CLOEXEC.
    let extra = if flags.contains(OFlags::PATH) { OFlags::CLOEXEC } else { OFlags::CLOEXEC | OFlags::NOCTTY };
    openat2(root, rel, flags | extra, Mode::empty(), ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS)
}

fn stat(root: BorrowedFd<'_>, path: &str, follow: bool) -> Result<FileAttr, Errno> {
    let flags = if follow { OFlags::PATH } else { OFlags::PATH | OFlags::NOFOLLOW };
    let fd = resolve(root, path, flags)?;
    Ok(FileAttr::from(&rustix::fs::fstat(&fd)?))
}

fn open_read(root: BorrowedFd<'_>, path: &str) -> Result<(Response, Vec<OwnedFd>), Errno> {
    let fd = resolve(root, path, OFlags::RDONLY)?;
    let attr = FileAttr::from(&rustix::fs::fstat(&fd)?);
    Ok((Response::Opened(attr), vec![fd]))
}

fn readlink(root: BorrowedFd<'_>, path: &str) -> Result<String, Errno> {
    let fd = resolve(root, path, OFlags::PATH | OFlags::NOFOLLOW)?;
    let target = rustix::fs::readlinkat(fd.as_fd(), "", Vec::new())?;
    target.into_string().map_err(|_| Errno::INVAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn paths_cannot_escape_the_root() {
        let dir = std::env::temp_dir().join(format!("gofer-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/prog"), b"hello").unwrap();
        let _ = symlink("/bin/prog", dir.join("abs"));
        let _ = symlink("../../../../etc/passwd", dir.join("up"));
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();

        let (resp, fds) = handle(root.as_fd(), &Request::OpenRead { path: "/abs".into() });
        assert!(matches!(resp, Response::Opened(a) if a.size == 5), "{resp:?}");
        assert_eq!(fds.len(), 1);
        // `..` past the root stays at the root: there is no etc/passwd inside.
        let (resp, _) = handle(root.as_fd(), &Request::Stat { path: "/up".into(), follow: true });
        assert_eq!(resp, Response::Error { errno: Errno::NOENT.raw_os_error() });
        let (resp, _) = handle(root.as_fd(), &Request::Readlink { path: "/abs".into() });
        assert_eq!(resp, Response::Link("/bin/prog".into()));
        let (resp, _) = handle(root.as_fd(), &Request::Stat { path: "/a\0b".into(), follow: true });
        assert_eq!(resp, Response::Error { errno: Errno::INVAL.raw_os_error() });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
