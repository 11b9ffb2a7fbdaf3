//! The gofer's request loop.
//!
//! Every path is resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//! against the root directory descriptor, so `..` and absolute symlinks stay
//! inside the container's root whatever the sentry sends. A malformed
//! request is answered with an error (or ends the connection), never a crash.

use crate::proto::{Dirent, FileAttr, FsStat, Request, Response};
use control::frame::{recv_frame, send_frame, FrameError};
use rustix::fs::{openat2, FileType, Mode, OFlags, RawDir, ResolveFlags, SeekFrom};
use rustix::io::Errno;
use std::mem::MaybeUninit;
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
        Request::Readdir { path, cookie } => {
            readdir(root, path, *cookie).map(|(entries, next)| (Response::Dirents { entries, next }, vec![]))
        }
        Request::Statfs { path } => statfs(root, path).map(|s| (Response::Statfs(s), vec![])),
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

/// How much of a frame one page of directory entries may fill, counted
/// with `Dirent::encoded_bound`: half the frame limit, so a page always fits.
pub const PAGE_BUDGET: usize = control::frame::MAX_FRAME / 2;

/// One page of `path`'s entries from the host seek `cookie` on, and the
/// cookie of the entry after the page if the directory goes on. The
/// directory is opened anew for each page: cookies are the host file
/// system's `d_off`, which stay valid across opens (as NFS relies on).
fn readdir(root: BorrowedFd<'_>, path: &str, cookie: u64) -> Result<(Vec<Dirent>, Option<u64>), Errno> {
    let fd = resolve(root, path, OFlags::RDONLY | OFlags::DIRECTORY)?;
    if cookie != 0 {
        let cookie = i64::try_from(cookie).map_err(|_| Errno::INVAL)?;
        rustix::fs::seek(&fd, SeekFrom::Start(cookie as u64))?;
    }
    let mut buf = vec![MaybeUninit::uninit(); 32 * 1024];
    let mut dir = RawDir::new(&fd, &mut buf);
    let (mut entries, mut used, mut last) = (Vec::new(), 0, cookie);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let d_type = match entry.file_type() {
            FileType::Unknown => 0,
            t => (t.as_raw_mode() >> 12) as u8,
        };
        let dirent = Dirent { ino: entry.ino(), d_type, name: entry.file_name().to_bytes().to_vec() };
        if used + dirent.encoded_bound() > PAGE_BUDGET {
            return Ok((entries, Some(last)));
        }
        used += dirent.encoded_bound();
        last = entry.next_entry_cookie();
        entries.push(dirent);
    }
    Ok((entries, None))
}

fn statfs(root: BorrowedFd<'_>, path: &str) -> Result<FsStat, Errno> {
    // fstatfs works on O_PATH descriptors: no read permission needed.
    let fd = resolve(root, path, OFlags::PATH)?;
    Ok(FsStat::from(&rustix::fs::fstatfs(&fd)?))
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

    fn temp_root(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("gofer-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Every entry of `path`, page by page; each page checked to fit a frame.
    fn list_all(root: BorrowedFd<'_>, path: &str) -> Result<(Vec<Dirent>, usize), i32> {
        let (mut all, mut pages, mut cookie) = (Vec::new(), 0, 0);
        loop {
            match handle(root, &Request::Readdir { path: path.into(), cookie }).0 {
                resp @ Response::Dirents { .. } => {
                    assert!(serde_json::to_vec(&resp).unwrap().len() <= control::frame::MAX_FRAME);
                    let Response::Dirents { entries, next } = resp else { unreachable!() };
                    all.extend(entries);
                    pages += 1;
                    match next {
                        Some(c) => cookie = c,
                        None => return Ok((all, pages)),
                    }
                }
                Response::Error { errno } => return Err(errno),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn readdir_lists_pages_and_stays_inside() {
        let dir = temp_root("readdir");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/f"), b"x").unwrap();
        let _ = symlink("/sub", dir.join("link"));
        let _ = symlink("../../..", dir.join("up"));
        // Long names, enough of them to need several pages.
        let names: Vec<String> = (0..1500).map(|i| format!("{i:0>200}")).collect();
        for n in &names {
            std::fs::write(dir.join("sub").join(n), b"").unwrap();
        }
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();

        let (top, pages) = list_all(root.as_fd(), "/").unwrap();
        assert_eq!(pages, 1);
        let mut got: Vec<_> = top.iter().map(|d| String::from_utf8(d.name.clone()).unwrap()).collect();
        got.sort();
        assert_eq!(got, [".", "..", "link", "sub", "up"]);
        let sub = top.iter().find(|d| d.name == b"sub").unwrap();
        assert_eq!(sub.d_type, 4 /* DT_DIR */);
        assert_eq!(top.iter().find(|d| d.name == b"link").unwrap().d_type, 10 /* DT_LNK */);

        // Through a symlink, and paginated without loss or repeats.
        let (all, pages) = list_all(root.as_fd(), "/link").unwrap();
        assert!(pages >= 2, "{pages} pages");
        let mut got: Vec<_> = all.iter().map(|d| String::from_utf8(d.name.clone()).unwrap()).collect();
        got.sort();
        let mut want: Vec<String> = names.clone();
        want.extend([".".into(), "..".into(), "f".into()]);
        want.sort();
        assert_eq!(got, want);

        // `up` resolves to the root itself, not the host's.
        let (via_up, _) = list_all(root.as_fd(), "/up").unwrap();
        assert_eq!(via_up.len(), top.len());
        assert_eq!(list_all(root.as_fd(), "/sub/f").unwrap_err(), Errno::NOTDIR.raw_os_error());
        assert_eq!(list_all(root.as_fd(), "/nope").unwrap_err(), Errno::NOENT.raw_os_error());
        assert_eq!(list_all(root.as_fd(), "/a\0").unwrap_err(), Errno::INVAL.raw_os_error());
        // A hostile cookie is an error or an empty page, never a crash.
        let (resp, _) = handle(root.as_fd(), &Request::Readdir { path: "/".into(), cookie: u64::MAX });
        assert!(matches!(resp, Response::Error { .. } | Response::Dirents { .. }), "{resp:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn statfs_answers_from_the_host() {
        let dir = temp_root("statfs");
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let host = rustix::fs::statfs(&dir).unwrap();
        match handle(root.as_fd(), &Request::Statfs { path: "/".into() }).0 {
            Response::Statfs(s) => {
                assert_eq!(s.fs_type, host.f_type as u64);
                assert_eq!(s.bsize, host.f_bsize as u64);
                assert!(s.namelen > 0);
            }
            other => panic!("{other:?}"),
        }
        let (resp, _) = handle(root.as_fd(), &Request::Statfs { path: "/missing".into() });
        assert_eq!(resp, Response::Error { errno: Errno::NOENT.raw_os_error() });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
