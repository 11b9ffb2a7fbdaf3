//! The gofer's request loop.
//!
//! The gofer serves several trees ([`Tree`]): the container's root and each
//! bind mount's source, each with its own root descriptor. Every path is
//! resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` against
//! its tree's root, so `..` and absolute symlinks stay inside that tree
//! whatever the sentry sends; changes to a directory are `*at` calls on a
//! parent resolved that way, never following a final symlink. A read-only
//! tree refuses every change itself (EROFS). A malformed request is
//! answered with an error (or ends the connection), never a crash.

use crate::proto::{
    open_flags, Call, Dirent, FileAttr, FsStat, Owner, Request, Response, SetAttrs, TimeSpec, WalkLink,
};
use control::frame::{recv_frame, send_frame, FrameError};
use rustix::fs::{openat2, AtFlags, FileType, Mode, OFlags, RawDir, ResolveFlags, SeekFrom};
use rustix::io::Errno;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// One tree the gofer serves: the container's root or a bind mount's source.
#[derive(Clone, Copy)]
pub struct Tree<'a> {
    /// A directory descriptor: the tree's root, or for a single-file bind
    /// the directory holding the file.
    pub root: BorrowedFd<'a>,
    /// For a bind of a single file: its name in `root`. Such a tree has
    /// one path, `/`; no other name of that directory is reachable.
    pub file: Option<&'a str>,
    /// `ro`: every change is refused here too (EROFS), not only by the sentry.
    pub readonly: bool,
}

impl<'a> Tree<'a> {
    /// A writable directory tree.
    pub fn dir(root: BorrowedFd<'a>) -> Tree<'a> {
        Tree { root, file: None, readonly: false }
    }

    /// The path relative to the root descriptor for openat2.
    fn rel(&self, path: &str) -> Result<String, Errno> {
        if path.as_bytes().contains(&0) {
            return Err(Errno::INVAL);
        }
        if let Some(name) = self.file {
            // A file has no entries: "/" is the file, anything below it ENOTDIR.
            return if normalize(path).is_empty() { Ok(name.into()) } else { Err(Errno::NOTDIR) };
        }
        let rel = path.trim_start_matches('/');
        Ok(if rel.is_empty() { ".".into() } else { rel.into() })
    }

    fn writable(&self) -> Result<(), Errno> {
        if self.readonly {
            Err(Errno::ROFS)
        } else {
            Ok(())
        }
    }

    /// The directory holding the last component of `path`, and that
    /// component, for the `*at` calls that change a directory. The root
    /// of a tree has no parent here: `root_errno`.
    fn parent(&self, path: &str, root_errno: Errno) -> Result<(OwnedFd, String), Errno> {
        if path.as_bytes().contains(&0) {
            return Err(Errno::INVAL);
        }
        let comps = normalize(path);
        let Some((name, dir)) = comps.split_last() else { return Err(root_errno) };
        if self.file.is_some() {
            return Err(Errno::NOTDIR);
        }
        if name.len() > 255 {
            return Err(Errno::NAMETOOLONG);
        }
        let fd = resolve(*self, &format!("/{}", dir.join("/")), OFlags::PATH | OFlags::DIRECTORY)?;
        Ok((fd, name.to_string()))
    }
}

/// The components of `path` after lexical removal of `.`, `..` and empty
/// ones (`..` at the top stays at the top, as RESOLVE_IN_ROOT does).
fn normalize(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// How long the gofer looks for the next request before it sleeps.
const NEXT_REQUEST_SPIN: std::time::Duration = std::time::Duration::from_micros(50);

/// Serves requests on `sock` until the sentry hangs up. `trees[i]` serves
/// mount `i` (0: the container's root).
pub fn serve(trees: &[Tree<'_>], sock: &UnixStream) -> Result<(), FrameError> {
    loop {
        // The sentry's requests come in bursts (a lookup, then an open, a
        // setattr...): after an answer, look for the next one awake for a
        // while before sleeping.
        control::frame::spin_until_readable(sock, NEXT_REQUEST_SPIN);
        let call: Call = match recv_frame(sock) {
            Ok((call, _fds)) => call,
            Err(FrameError::Closed) => return Ok(()),
            Err(FrameError::Decode(e)) => {
                tracing::warn!("gofer: malformed request: {e}");
                send_frame(sock, &Response::Error { errno: Errno::INVAL.raw_os_error() }, &[])?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (resp, fds) = answer(trees, &call);
        tracing::debug!(?call, ?resp, "gofer");
        send_frame(sock, &resp, &fds)?;
    }
}

/// Answers one call: on the tree it names (EINVAL for none).
fn answer(trees: &[Tree<'_>], call: &Call) -> (Response, Vec<OwnedFd>) {
    match usize::try_from(call.mount).ok().and_then(|i| trees.get(i)) {
        Some(tree) => handle(*tree, &call.req),
        None => (Response::Error { errno: Errno::INVAL.raw_os_error() }, vec![]),
    }
}

/// Answers the body of one frame as [`serve`] does (a body that does not
/// decode is EINVAL): the entry point of the protocol's fuzz target
/// (`crates/gofer/fuzz`).
pub fn answer_body(trees: &[Tree<'_>], body: &[u8]) -> Response {
    match serde_json::from_slice::<Call>(body) {
        Ok(call) => answer(trees, &call).0,
        Err(_) => Response::Error { errno: Errno::INVAL.raw_os_error() },
    }
}

fn done(r: Result<(), Errno>) -> Result<(Response, Vec<OwnedFd>), Errno> {
    r.map(|()| (Response::Done, vec![]))
}

/// Answers one request on one tree.
pub fn handle(tree: Tree<'_>, req: &Request) -> (Response, Vec<OwnedFd>) {
    let result = match req {
        Request::Stat { path, follow } => stat(tree, path, *follow).map(|a| (Response::Attr(a), vec![])),
        Request::OpenRead { path } => open_read(tree, path),
        Request::Readlink { path } => readlink(tree, path).map(|l| (Response::Link(l), vec![])),
        Request::Readdir { path, cookie } => {
            readdir(tree, path, *cookie).map(|(entries, next)| (Response::Dirents { entries, next }, vec![]))
        }
        Request::Statfs { path } => statfs(tree, path).map(|s| (Response::Statfs(s), vec![])),
        Request::Walk { path, follow_last } => {
            walk(tree, path, *follow_last).map(|(link, searched)| (Response::Walked { link, searched }, vec![]))
        }
        Request::Open { path, flags, mode, uid, gid } => open(tree, path, *flags, *mode, *uid, *gid),
        Request::Mkdir { path, mode, uid, gid } => done(mkdir(tree, path, *mode, *uid, *gid)),
        Request::Symlink { target, path, uid, gid } => done(symlink(tree, target, path, *uid, *gid)),
        Request::MknodSocket { path, mode, uid, gid } => done(mknod_socket(tree, path, *mode, *uid, *gid)),
        Request::Link { old, new } => done(link(tree, old, new)),
        Request::Unlink { path } => done(remove(tree, path, false)),
        Request::Rmdir { path } => done(remove(tree, path, true)),
        Request::Rename { old, new, flags } => done(rename(tree, old, new, *flags)),
        Request::SetAttr { path, attr } => setattr(tree, path, attr).map(|a| (Response::Attr(a), vec![])),
        Request::Xattrs { path } => xattrs(tree, path).map(|x| (Response::Xattrs(x), vec![])),
    };
    result.unwrap_or_else(|e| (Response::Error { errno: e.raw_os_error() }, vec![]))
}

fn resolve(tree: Tree<'_>, path: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    resolve_mode(tree, path, flags, Mode::empty())
}

fn resolve_mode(tree: Tree<'_>, path: &str, flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
    let rel = tree.rel(path)?;
    // openat2 rejects O_PATH combined with anything but DIRECTORY/NOFOLLOW/CLOEXEC.
    let extra = if flags.contains(OFlags::PATH) { OFlags::CLOEXEC } else { OFlags::CLOEXEC | OFlags::NOCTTY };
    openat2(tree.root, rel, flags | extra, mode, ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS)
}

fn stat(tree: Tree<'_>, path: &str, follow: bool) -> Result<FileAttr, Errno> {
    let flags = if follow { OFlags::PATH } else { OFlags::PATH | OFlags::NOFOLLOW };
    let fd = resolve(tree, path, flags)?;
    Ok(FileAttr::from(&rustix::fs::fstat(&fd)?))
}

/// The `user.*` attributes of a regular file or directory (opened
/// read-only, as `fgetxattr` needs a real descriptor); none for others.
fn xattrs(tree: Tree<'_>, path: &str) -> Result<Vec<(String, Vec<u8>)>, Errno> {
    let st = rustix::fs::fstat(resolve(tree, path, OFlags::PATH | OFlags::NOFOLLOW)?)?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    if kind != rustix::fs::FileType::RegularFile && kind != rustix::fs::FileType::Directory {
        return Ok(Vec::new());
    }
    let fd = resolve(tree, path, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK)?;
    let mut names = vec![0u8; 65536];
    let n = match rustix::fs::flistxattr(&fd, &mut names[..]) {
        Ok(n) => n,
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|n| n.starts_with(b"user.")) {
        let Ok(name) = std::str::from_utf8(name) else { continue };
        let mut value = vec![0u8; 65536];
        match rustix::fs::fgetxattr(&fd, name, &mut value[..]) {
            Ok(len) => {
                value.truncate(len);
                out.push((name.to_string(), value));
            }
            // Removed meanwhile.
            Err(Errno::NODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn open_read(tree: Tree<'_>, path: &str) -> Result<(Response, Vec<OwnedFd>), Errno> {
    // O_NONBLOCK: a fifo must not block the gofer.
    let fd = resolve(tree, path, OFlags::RDONLY | OFlags::NONBLOCK)?;
    let attr = FileAttr::from(&rustix::fs::fstat(&fd)?);
    Ok((Response::Opened(attr), vec![fd]))
}

/// Opens for reading or writing, creating if asked. A final symlink is
/// never followed (the sentry followed it already); O_NONBLOCK keeps a
/// fifo from blocking the gofer, and only regular files and directories
/// are donated (the sentry serves devices itself).
fn open(
    tree: Tree<'_>,
    path: &str,
    flags: u32,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<(Response, Vec<OwnedFd>), Errno> {
    use open_flags::*;
    if flags & !ALLOWED != 0 || flags & O_ACCMODE == O_ACCMODE || mode & !0o7777 != 0 {
        return Err(Errno::INVAL);
    }
    if flags & O_ACCMODE != 0 || flags & (O_CREAT | O_TRUNC) != 0 {
        tree.writable()?;
    }
    let base = OFlags::from_bits_retain(flags & !(O_CREAT | O_EXCL)) | OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let mut created = false;
    let fd = if flags & O_CREAT != 0 {
        match resolve_mode(tree, path, base | OFlags::CREATE | OFlags::EXCL, Mode::from_raw_mode(mode)) {
            Ok(fd) => {
                created = true;
                fd
            }
            Err(Errno::EXIST) if flags & O_EXCL == 0 => resolve(tree, path, base)?,
            Err(e) => return Err(e),
        }
    } else {
        resolve(tree, path, base)?
    };
    if created {
        rustix::fs::fchown(&fd, Some(rustix::fs::Uid::from_raw(uid)), Some(rustix::fs::Gid::from_raw(gid)))?;
    }
    let st = rustix::fs::fstat(&fd)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile | FileType::Directory => {}
        FileType::Socket => return Err(Errno::NXIO),
        _ => return Err(Errno::OPNOTSUPP),
    }
    Ok((Response::Opened(FileAttr::from(&st)), vec![fd]))
}

fn chown_new(dir: &OwnedFd, name: &str, uid: u32, gid: u32) -> Result<(), Errno> {
    rustix::fs::chownat(
        dir,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
}

fn mkdir(tree: Tree<'_>, path: &str, mode: u32, uid: u32, gid: u32) -> Result<(), Errno> {
    tree.writable()?;
    let (dir, name) = tree.parent(path, Errno::EXIST)?;
    rustix::fs::mkdirat(&dir, name.as_str(), Mode::from_raw_mode(mode & 0o7777))?;
    chown_new(&dir, &name, uid, gid)
}

fn symlink(tree: Tree<'_>, target: &str, path: &str, uid: u32, gid: u32) -> Result<(), Errno> {
    tree.writable()?;
    if target.as_bytes().contains(&0) || target.is_empty() {
        return Err(if target.is_empty() { Errno::NOENT } else { Errno::INVAL });
    }
    let (dir, name) = tree.parent(path, Errno::EXIST)?;
    rustix::fs::symlinkat(target, &dir, name.as_str())?;
    chown_new(&dir, &name, uid, gid)
}

fn mknod_socket(tree: Tree<'_>, path: &str, mode: u32, uid: u32, gid: u32) -> Result<(), Errno> {
    tree.writable()?;
    if mode & !0o7777 != 0 {
        return Err(Errno::INVAL);
    }
    let (dir, name) = tree.parent(path, Errno::EXIST)?;
    rustix::fs::mknodat(&dir, name.as_str(), FileType::Socket, Mode::from_raw_mode(mode), 0)?;
    chown_new(&dir, &name, uid, gid)
}

fn link(tree: Tree<'_>, old: &str, new: &str) -> Result<(), Errno> {
    tree.writable()?;
    let (odir, oname) = tree.parent(old, Errno::PERM)?;
    let (ndir, nname) = tree.parent(new, Errno::EXIST)?;
    rustix::fs::linkat(&odir, oname.as_str(), &ndir, nname.as_str(), AtFlags::empty())
}

fn remove(tree: Tree<'_>, path: &str, dir: bool) -> Result<(), Errno> {
    tree.writable()?;
    let (parent, name) = tree.parent(path, Errno::BUSY)?;
    let flags = if dir { AtFlags::REMOVEDIR } else { AtFlags::empty() };
    rustix::fs::unlinkat(&parent, name.as_str(), flags)
}

fn rename(tree: Tree<'_>, old: &str, new: &str, flags: u32) -> Result<(), Errno> {
    tree.writable()?;
    const RENAME_NOREPLACE: u32 = 1;
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::INVAL);
    }
    let (odir, oname) = tree.parent(old, Errno::BUSY)?;
    let (ndir, nname) = tree.parent(new, Errno::BUSY)?;
    let f = if flags != 0 { rustix::fs::RenameFlags::NOREPLACE } else { rustix::fs::RenameFlags::empty() };
    rustix::fs::renameat_with(&odir, oname.as_str(), &ndir, nname.as_str(), f)
}

/// Owner, mode, size, times, in that order, on the file `path` names
/// (not following a final symlink), through an `O_PATH` descriptor so the
/// file is named once.
fn setattr(tree: Tree<'_>, path: &str, a: &SetAttrs) -> Result<FileAttr, Errno> {
    tree.writable()?;
    let fd = resolve(tree, path, OFlags::PATH | OFlags::NOFOLLOW)?;
    let st = rustix::fs::fstat(&fd)?;
    let is_link = FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
    if a.uid.is_some() || a.gid.is_some() {
        rustix::fs::chownat(
            &fd,
            "",
            a.uid.map(rustix::fs::Uid::from_raw),
            a.gid.map(rustix::fs::Gid::from_raw),
            AtFlags::EMPTY_PATH,
        )?;
    }
    if let Some(mode) = a.mode {
        if is_link {
            return Err(Errno::OPNOTSUPP);
        }
        hostsys::fd::fchmod_path_fd(fd.as_fd(), mode & 0o7777)?;
    }
    if let Some(size) = a.size {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => return Err(Errno::ISDIR),
            FileType::RegularFile => {}
            _ => return Err(Errno::INVAL),
        }
        let w = resolve(tree, path, OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK)?;
        rustix::fs::ftruncate(&w, size)?;
    }
    if a.atime.is_some() || a.mtime.is_some() {
        let ts = |t: Option<TimeSpec>| match t {
            None => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
            Some(TimeSpec::Now) => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW },
            Some(TimeSpec::At(s, ns)) => rustix::fs::Timespec { tv_sec: s, tv_nsec: i64::from(ns.min(999_999_999)) },
        };
        let times = rustix::fs::Timestamps { last_access: ts(a.atime), last_modification: ts(a.mtime) };
        rustix::fs::utimensat(&fd, "", &times, AtFlags::EMPTY_PATH)?;
    }
    Ok(FileAttr::from(&rustix::fs::fstat(&fd)?))
}

fn owner(st: &rustix::fs::Stat) -> Owner {
    Owner { mode: st.st_mode, uid: st.st_uid, gid: st.st_gid }
}

/// Finds the first symlink a lookup of `path` must follow, without
/// following any: each prefix is opened `O_PATH|O_NOFOLLOW` inside the
/// root. Also lists the directories looked into on the way. A missing
/// component ends the walk quietly: the operation itself reports it.
fn walk(tree: Tree<'_>, path: &str, follow_last: bool) -> Result<(Option<WalkLink>, Vec<Owner>), Errno> {
    if path.as_bytes().contains(&0) {
        return Err(Errno::INVAL);
    }
    let mut searched = Vec::new();
    if tree.file.is_some() {
        return Ok((None, searched));
    }
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let follow_last = follow_last || path.ends_with('/');
    if comps.iter().any(|c| *c != "." && *c != "..") {
        searched.push(owner(&rustix::fs::fstat(tree.root)?));
    }
    let mut stack: Vec<&str> = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        match *c {
            "." => continue,
            ".." => {
                stack.pop();
                continue;
            }
            c => stack.push(c),
        }
        let last = i + 1 == comps.len();
        let Ok(fd) = resolve(tree, &stack.join("/"), OFlags::PATH | OFlags::NOFOLLOW) else {
            return Ok((None, searched));
        };
        let st = rustix::fs::fstat(&fd)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink if !last || follow_last => {
                let target = rustix::fs::readlinkat(&fd, "", Vec::new())?.into_string().map_err(|_| Errno::INVAL)?;
                let mut rest = comps[i + 1..].join("/");
                if path.ends_with('/') && !rest.is_empty() {
                    rest.push('/');
                }
                let dir = format!("/{}", stack[..stack.len() - 1].join("/"));
                return Ok((Some(WalkLink { dir, target, rest }), searched));
            }
            FileType::Directory if !last && comps[i + 1..].iter().any(|c| *c != "." && *c != "..") => {
                searched.push(owner(&st))
            }
            _ => {}
        }
    }
    Ok((None, searched))
}

fn readlink(tree: Tree<'_>, path: &str) -> Result<String, Errno> {
    let fd = resolve(tree, path, OFlags::PATH | OFlags::NOFOLLOW)?;
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
fn readdir(tree: Tree<'_>, path: &str, cookie: u64) -> Result<(Vec<Dirent>, Option<u64>), Errno> {
    let fd = resolve(tree, path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK)?;
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
        let name = entry.file_name();
        let attr = match name.to_bytes() {
            b"." | b".." => None,
            _ => rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW).ok().map(|st| FileAttr::from(&st)),
        };
        let dirent = Dirent { ino: entry.ino(), d_type, name: name.to_bytes().to_vec(), attr };
        if used + dirent.encoded_bound() > PAGE_BUDGET {
            return Ok((entries, Some(last)));
        }
        used += dirent.encoded_bound();
        last = entry.next_entry_cookie();
        entries.push(dirent);
    }
    Ok((entries, None))
}

fn statfs(tree: Tree<'_>, path: &str) -> Result<FsStat, Errno> {
    // fstatfs works on O_PATH descriptors: no read permission needed.
    let fd = resolve(tree, path, OFlags::PATH)?;
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

        let (resp, fds) = handle(Tree::dir(root.as_fd()), &Request::OpenRead { path: "/abs".into() });
        assert!(matches!(resp, Response::Opened(a) if a.size == 5), "{resp:?}");
        assert_eq!(fds.len(), 1);
        // `..` past the root stays at the root: there is no etc/passwd inside.
        let (resp, _) = handle(Tree::dir(root.as_fd()), &Request::Stat { path: "/up".into(), follow: true });
        assert_eq!(resp, Response::Error { errno: Errno::NOENT.raw_os_error() });
        let (resp, _) = handle(Tree::dir(root.as_fd()), &Request::Readlink { path: "/abs".into() });
        assert_eq!(resp, Response::Link("/bin/prog".into()));
        let (resp, _) = handle(Tree::dir(root.as_fd()), &Request::Stat { path: "/a\0b".into(), follow: true });
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
            match handle(Tree::dir(root), &Request::Readdir { path: path.into(), cookie }).0 {
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
        let (resp, _) = handle(Tree::dir(root.as_fd()), &Request::Readdir { path: "/".into(), cookie: u64::MAX });
        assert!(matches!(resp, Response::Error { .. } | Response::Dirents { .. }), "{resp:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn statfs_answers_from_the_host() {
        let dir = temp_root("statfs");
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let host = rustix::fs::statfs(&dir).unwrap();
        match handle(Tree::dir(root.as_fd()), &Request::Statfs { path: "/".into() }).0 {
            Response::Statfs(s) => {
                assert_eq!(s.fs_type, host.f_type as u64);
                assert_eq!(s.bsize, host.f_bsize as u64);
                assert!(s.namelen > 0);
            }
            other => panic!("{other:?}"),
        }
        let (resp, _) = handle(Tree::dir(root.as_fd()), &Request::Statfs { path: "/missing".into() });
        assert_eq!(resp, Response::Error { errno: Errno::NOENT.raw_os_error() });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn xattrs_reports_user_attributes_only() {
        let dir = temp_root("xattrs");
        std::fs::write(dir.join("f"), b"x").unwrap();
        std::os::unix::fs::symlink("f", dir.join("l")).unwrap();
        rustix::fs::setxattr(dir.join("f"), "user.a", b"1", rustix::fs::XattrFlags::empty()).unwrap();
        rustix::fs::setxattr(dir.join("f"), "trusted.t", b"T", rustix::fs::XattrFlags::empty()).unwrap();
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let t = Tree::dir(root.as_fd());
        let got = handle(t, &Request::Xattrs { path: "/f".into() }).0;
        assert_eq!(got, Response::Xattrs(vec![("user.a".into(), b"1".to_vec())]));
        // A link is not followed: none.
        assert_eq!(handle(t, &Request::Xattrs { path: "/l".into() }).0, Response::Xattrs(vec![]));
        assert_eq!(handle(t, &Request::Xattrs { path: "/".into() }).0, Response::Xattrs(vec![]));
        let (resp, _) = handle(t, &Request::Xattrs { path: "/missing".into() });
        assert_eq!(resp, Response::Error { errno: Errno::NOENT.raw_os_error() });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn attr_of(resp: &Response) -> FileAttr {
        match resp {
            Response::Attr(a) | Response::Opened(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    fn errno(resp: &Response) -> i32 {
        match resp {
            Response::Error { errno } => *errno,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn write_operations_change_the_tree() {
        let dir = temp_root("write");
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let t = Tree::dir(root.as_fd());
        use open_flags::*;
        // Create (owner as asked), then O_EXCL on it is EEXIST.
        let req = Request::Open { path: "/f".into(), flags: O_CREAT | O_EXCL | 1, mode: 0o640, uid: 1234, gid: 5678 };
        let (resp, fds) = handle(t, &req);
        let a = attr_of(&resp);
        assert_eq!((a.mode & 0o7777, a.uid, a.gid), (0o640, 1234, 5678));
        rustix::io::pwrite(&fds[0], b"hello", 0).unwrap();
        assert_eq!(errno(&handle(t, &req).0), Errno::EXIST.raw_os_error());
        // O_TRUNC empties it.
        let (resp, _) = handle(t, &Request::Open { path: "/f".into(), flags: O_TRUNC | 1, mode: 0, uid: 0, gid: 0 });
        assert_eq!(attr_of(&resp).size, 0);
        // A mode without O_CREAT, or an unknown flag, is refused.
        let bad = Request::Open { path: "/f".into(), flags: 0o40000000, mode: 0, uid: 0, gid: 0 };
        assert_eq!(errno(&handle(t, &bad).0), Errno::INVAL.raw_os_error());
        assert_eq!(handle(t, &Request::Mkdir { path: "/d".into(), mode: 0o750, uid: 7, gid: 8 }).0, Response::Done);
        let d = std::fs::metadata(dir.join("d")).unwrap();
        assert_eq!((std::os::unix::fs::MetadataExt::uid(&d), std::os::unix::fs::MetadataExt::gid(&d)), (7, 8));
        let done = |r: Request| assert_eq!(handle(t, &r).0, Response::Done, "{r:?}");
        done(Request::Rename { old: "/f".into(), new: "/d/g".into(), flags: 0 });
        done(Request::Link { old: "/d/g".into(), new: "/h".into() });
        done(Request::MknodSocket { path: "/sock".into(), mode: 0o755, uid: 7, gid: 8 });
        let sock = std::fs::symlink_metadata(dir.join("sock")).unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(sock.file_type().is_socket());
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&sock), 7);
        let again = Request::MknodSocket { path: "/sock".into(), mode: 0o755, uid: 0, gid: 0 };
        assert_eq!(errno(&handle(t, &again).0), Errno::EXIST.raw_os_error());
        done(Request::Symlink { target: "/etc/passwd".into(), path: "/s".into(), uid: 0, gid: 0 });
        let attr =
            SetAttrs { mode: Some(0o600), size: Some(3), mtime: Some(TimeSpec::At(1000, 5)), ..SetAttrs::default() };
        assert!(matches!(handle(t, &Request::SetAttr { path: "/h".into(), attr }).0, Response::Attr(a) if a.size == 3));
        let (resp, _) = handle(t, &Request::Stat { path: "/d/g".into(), follow: false });
        let a = attr_of(&resp);
        assert_eq!((a.mode & 0o7777, a.size, a.mtime, a.nlink), (0o600, 3, (1000, 5), 2));
        // chmod of a symlink is EOPNOTSUPP (lchmod), never its target's.
        let chmod = Request::SetAttr { path: "/s".into(), attr: SetAttrs { mode: Some(0o777), ..SetAttrs::default() } };
        assert_eq!(errno(&handle(t, &chmod).0), Errno::OPNOTSUPP.raw_os_error());
        // Open never follows a final symlink (the sentry did).
        let open_link = Request::Open { path: "/s".into(), flags: 0, mode: 0, uid: 0, gid: 0 };
        assert_eq!(errno(&handle(t, &open_link).0), Errno::LOOP.raw_os_error());
        assert_eq!(errno(&handle(t, &Request::Rmdir { path: "/d".into() }).0), Errno::NOTEMPTY.raw_os_error());
        done(Request::Unlink { path: "/d/g".into() });
        done(Request::Rmdir { path: "/d".into() });
        done(Request::Unlink { path: "/s".into() });
        done(Request::Unlink { path: "/sock".into() });
        // The root has no parent: removing or renaming it is EBUSY.
        assert_eq!(errno(&handle(t, &Request::Rmdir { path: "/".into() }).0), Errno::BUSY.raw_os_error());
        assert_eq!(errno(&handle(t, &Request::Unlink { path: "/..".into() }).0), Errno::BUSY.raw_os_error());
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["h"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn changes_stay_inside_the_tree() {
        let dir = temp_root("escape");
        std::fs::create_dir_all(dir.join("inner")).unwrap();
        std::fs::write(dir.join("outside"), b"keep").unwrap();
        let _ = symlink("/", dir.join("inner/abs"));
        let _ = symlink("../../..", dir.join("inner/up"));
        let root = rustix::fs::open(dir.join("inner"), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let t = Tree::dir(root.as_fd());
        // `..` and symlinks in the parent resolve inside: "outside" is not reached.
        for p in ["/../outside", "/abs/../outside", "/up/outside"] {
            assert_eq!(errno(&handle(t, &Request::Unlink { path: p.into() }).0), Errno::NOENT.raw_os_error(), "{p}");
            let attr = SetAttrs { size: Some(0), ..SetAttrs::default() };
            assert_eq!(errno(&handle(t, &Request::SetAttr { path: p.into(), attr }).0), Errno::NOENT.raw_os_error());
        }
        // Made through a symlinked parent: lands inside.
        assert_eq!(
            handle(t, &Request::Mkdir { path: "/up/made".into(), mode: 0o700, uid: 0, gid: 0 }).0,
            Response::Done
        );
        assert!(dir.join("inner/made").is_dir() && !dir.join("made").exists());
        assert_eq!(std::fs::read(dir.join("outside")).unwrap(), b"keep");
        // Walk reports the first link to follow, relative to the tree.
        let walked = |p: &str| match handle(t, &Request::Walk { path: p.into(), follow_last: false }).0 {
            Response::Walked { link, searched } => (link, searched.len()),
            other => panic!("{other:?}"),
        };
        let link = WalkLink { dir: "/".into(), target: "../../..".into(), rest: "x/".into() };
        // Looked into: the root, "made", the root again.
        assert_eq!(walked("/made/../up/x/"), (Some(link), 2));
        assert_eq!(walked("/abs"), (None, 1));
        assert_eq!(walked("/made/missing/deeper"), (None, 2));
        assert_eq!(walked("/"), (None, 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn read_only_and_single_file_trees() {
        let dir = temp_root("rofile");
        std::fs::write(dir.join("hosts"), b"127.0.0.1 x\n").unwrap();
        std::fs::write(dir.join("secret"), b"no").unwrap();
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let file = Tree { root: root.as_fd(), file: Some("hosts"), readonly: false };
        let (resp, fds) = handle(file, &Request::Open { path: "/".into(), flags: 2, mode: 0, uid: 0, gid: 0 });
        assert_eq!(attr_of(&resp).size, 12);
        rustix::io::pwrite(&fds[0], b"::1", 0).unwrap();
        assert!(std::fs::read(dir.join("hosts")).unwrap().starts_with(b"::1"));
        // Only "/" names the file; the directory's other names are unreachable.
        for p in ["/secret", "/../secret", "/./secret"] {
            let (resp, _) = handle(file, &Request::Stat { path: p.into(), follow: false });
            assert_eq!(errno(&resp), Errno::NOTDIR.raw_os_error(), "{p}");
        }
        assert_eq!(errno(&handle(file, &Request::Unlink { path: "/".into() }).0), Errno::BUSY.raw_os_error());
        assert_eq!(
            errno(&handle(file, &Request::Readdir { path: "/".into(), cookie: 0 }).0),
            Errno::NOTDIR.raw_os_error()
        );
        // A read-only tree refuses every change, and still reads.
        let ro = Tree { root: root.as_fd(), file: None, readonly: true };
        let changes = [
            Request::Open { path: "/hosts".into(), flags: 1, mode: 0, uid: 0, gid: 0 },
            Request::Open { path: "/new".into(), flags: open_flags::O_CREAT, mode: 0o600, uid: 0, gid: 0 },
            Request::Open { path: "/hosts".into(), flags: open_flags::O_TRUNC, mode: 0, uid: 0, gid: 0 },
            Request::Mkdir { path: "/d".into(), mode: 0o700, uid: 0, gid: 0 },
            Request::Symlink { target: "x".into(), path: "/l".into(), uid: 0, gid: 0 },
            Request::Link { old: "/hosts".into(), new: "/h2".into() },
            Request::Unlink { path: "/secret".into() },
            Request::Rmdir { path: "/".into() },
            Request::Rename { old: "/secret".into(), new: "/s2".into(), flags: 0 },
            Request::SetAttr { path: "/secret".into(), attr: SetAttrs { mode: Some(0o777), ..SetAttrs::default() } },
        ];
        for r in changes {
            assert_eq!(errno(&handle(ro, &r).0), Errno::ROFS.raw_os_error(), "{r:?}");
        }
        let (resp, _) = handle(ro, &Request::Open { path: "/secret".into(), flags: 0, mode: 0, uid: 0, gid: 0 });
        assert_eq!(attr_of(&resp).size, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_frames_get_errors_not_crashes() {
        let dir = temp_root("frames");
        std::fs::write(dir.join("f"), b"x").unwrap();
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let (ours, theirs) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let trees = [Tree::dir(root.as_fd())];
            serve(&trees, &theirs)
        });
        let ask = |body: &[u8]| -> Response {
            let mut frame = (body.len() as u32).to_le_bytes().to_vec();
            frame.extend_from_slice(body);
            std::io::Write::write_all(&mut &ours, &frame).unwrap();
            recv_frame::<Response>(&ours).unwrap().0
        };
        let inval = Response::Error { errno: Errno::INVAL.raw_os_error() };
        for body in [
            &b"not json"[..],
            br#"{"mount":0}"#,
            br#"{"mount":-1,"req":{"Stat":{"path":"/f","follow":true}}}"#,
            br#"{"mount":0,"req":{"Open":{"path":"/f","flags":4294967295,"mode":0,"uid":0,"gid":0}}}"#,
            br#"{"mount":0,"req":{"Rename":{"old":"/f","new":"/g","flags":2}}}"#,
            br#"{"mount":0,"req":{"Stat":{"path":"/f\u0000","follow":true}}}"#,
        ] {
            assert_eq!(ask(body), inval, "{}", String::from_utf8_lossy(body));
        }
        // An index past the trees is EINVAL; mount 0 still answers.
        assert_eq!(ask(br#"{"mount":7,"req":{"Stat":{"path":"/f","follow":true}}}"#), inval);
        assert!(matches!(ask(br#"{"mount":0,"req":{"Stat":{"path":"/f","follow":true}}}"#), Response::Attr(_)));
        drop(ours);
        server.join().unwrap().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
