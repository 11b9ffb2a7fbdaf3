//! System calls that change the tree and its files' attributes: mkdir,
//! mknod, rmdir, unlink, rename, symlink, link, chmod, chown, truncate and
//! the time setters. Each resolves its path(s) through the mount table and
//! hands the change to the file system serving them.

use super::sys_file::{at_path, fd_arg, first_byte, read_path, resolve, stat_abs};
use crate::kernel::Task;
use crate::vfs::mount::{FileSystem, MountTable, SetAttr, TimeSet};
use crate::vfs::{notify, writable, FileDescription};
use abi::{fcntl, Errno};
use std::sync::Arc;

const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;

/// The absolute path named by `dirfd` and the string at `addr`.
pub(super) fn path_at(task: &Task, dirfd: i64, addr: u64) -> Result<String, Errno> {
    at_path(task, dirfd, &read_path(task, addr)?)
}

/// EEXIST when `path` names something already (links included), so
/// that file systems that cannot create (EROFS) still answer what Linux
/// checks first.
fn must_not_exist(task: &Task, path: &str) -> Result<(), Errno> {
    match stat_abs(task, path, false) {
        Ok(_) => Err(Errno::EEXIST),
        Err(_) => Ok(()),
    }
}

fn mkdir_common(task: &Task, dirfd: i64, addr: u64, mode: u64) -> Result<u64, Errno> {
    let path = path_at(task, dirfd, addr)?;
    must_not_exist(task, &path)?;
    let (fs, inner) = resolve(task, &path, false)?;
    fs.mkdir(task, &inner, (mode & 0o7777) as u32)?;
    notify::created(task, &path);
    Ok(0)
}

pub fn mkdir(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mkdir_common(task, fcntl::AT_FDCWD, a[0], a[1])
}

pub fn mkdirat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mkdir_common(task, fd_arg(a[0]), a[1], a[2])
}

const S_IFMT: u32 = 0o170000;

/// `mknod`/`mknodat` (Linux `do_mknodat`): the type is checked first
/// (directories EPERM, unknown types EINVAL), device numbers decoded as
/// the kernel's 32-bit `new_decode_dev`. Making device nodes needs
/// privilege (euid 0, standing for CAP_MKNOD); the file systems refuse
/// them otherwise.
fn mknod_common(task: &Task, dirfd: i64, addr: u64, mode: u64, dev: u64) -> Result<u64, Errno> {
    use crate::fs::tmpfs::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK};
    let mode = mode as u32;
    match mode & S_IFMT {
        0 | S_IFIFO | S_IFSOCK | S_IFCHR | S_IFBLK | 0o100000 => {}
        0o040000 => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let path = path_at(task, dirfd, addr)?;
    must_not_exist(task, &path)?;
    let dev = dev as u32 as u64;
    let (major, minor) = ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
    let rdev = crate::fs::synthetic::makedev(major, minor);
    let (fs, inner) = resolve(task, &path, false)?;
    fs.mknod(task, &inner, mode & (S_IFMT | 0o7777), rdev)?;
    notify::created(task, &path);
    Ok(0)
}

pub fn mknod(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mknod_common(task, fcntl::AT_FDCWD, a[0], a[1], a[2])
}

pub fn mknodat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mknod_common(task, fd_arg(a[0]), a[1], a[2], a[3])
}

fn rmdir_common(task: &Task, dirfd: i64, addr: u64) -> Result<u64, Errno> {
    let raw = read_path(task, addr)?;
    // Lexical normalisation would hide these: Linux refuses them by name.
    match raw.trim_end_matches('/').rsplit('/').next() {
        Some(".") => return Err(Errno::EINVAL),
        Some("..") => return Err(Errno::ENOTEMPTY),
        _ => {}
    }
    let path = at_path(task, dirfd, &raw)?;
    let (fs, inner) = resolve(task, &path, false)?;
    fs.stat(task, &inner, false)?;
    let before = notify::before(task, &path);
    fs.rmdir(task, &inner)?;
    notify::removed(task, &path, before);
    Ok(0)
}

pub fn rmdir(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    rmdir_common(task, fcntl::AT_FDCWD, a[0])
}

fn unlink_common(task: &Task, dirfd: i64, addr: u64) -> Result<u64, Errno> {
    let path = path_at(task, dirfd, addr)?;
    let (fs, inner) = resolve(task, &path, false)?;
    fs.stat(task, &inner, false)?;
    let before = notify::before(task, &path);
    fs.unlink(task, &inner)?;
    notify::removed(task, &path, before);
    Ok(0)
}

pub fn unlink(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    unlink_common(task, fcntl::AT_FDCWD, a[0])
}

pub fn unlinkat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    match a[2] {
        0 => unlink_common(task, fd_arg(a[0]), a[1]),
        AT_REMOVEDIR => rmdir_common(task, fd_arg(a[0]), a[1]),
        _ => Err(Errno::EINVAL),
    }
}

/// The mount and inner paths of both ends of a rename or link: EXDEV
/// when they are on different mounts.
fn same_mount(
    task: &Task,
    old: &str,
    follow_old: bool,
    new: &str,
) -> Result<(Arc<dyn FileSystem>, String, String), Errno> {
    let (fs, old_inner) = resolve(task, old, follow_old)?;
    fs.stat(task, &old_inner, follow_old)?;
    let (new_fs, new_inner) = resolve(task, new, false)?;
    if !MountTable::same(&fs, &new_fs) {
        return Err(Errno::EXDEV);
    }
    Ok((fs, old_inner, new_inner))
}

fn rename_common(task: &Task, olddir: i64, old: u64, newdir: i64, new: u64, flags: u64) -> Result<u64, Errno> {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    let (old_path, new_path) = (path_at(task, olddir, old)?, path_at(task, newdir, new)?);
    let (fs, old, new) = same_mount(task, &old_path, false, &new_path)?;
    let (source, target) = (notify::before(task, &old_path), notify::before(task, &new_path));
    fs.rename(task, &old, &new, flags)?;
    notify::renamed(task, &old_path, &new_path, source, target);
    Ok(0)
}

pub fn rename(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    rename_common(task, fcntl::AT_FDCWD, a[0], fcntl::AT_FDCWD, a[1], 0)
}

pub fn renameat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    rename_common(task, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], 0)
}

pub fn renameat2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    rename_common(task, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4])
}

fn symlink_common(task: &Task, target: u64, dirfd: i64, addr: u64) -> Result<u64, Errno> {
    let target = read_path(task, target)?;
    let path = path_at(task, dirfd, addr)?;
    must_not_exist(task, &path)?;
    let (fs, inner) = resolve(task, &path, false)?;
    fs.symlink(task, &target, &inner)?;
    notify::created(task, &path);
    Ok(0)
}

pub fn symlink(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    symlink_common(task, a[0], fcntl::AT_FDCWD, a[1])
}

pub fn symlinkat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    symlink_common(task, a[0], fd_arg(a[1]), a[2])
}

fn link_common(task: &Task, olddir: i64, old: u64, newdir: i64, new: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !AT_SYMLINK_FOLLOW != 0 {
        // AT_EMPTY_PATH (linking an open file) is not supported yet.
        return Err(Errno::EINVAL);
    }
    let (old, new_path) = (path_at(task, olddir, old)?, path_at(task, newdir, new)?);
    must_not_exist(task, &new_path)?;
    let (fs, old, new) = same_mount(task, &old, flags & AT_SYMLINK_FOLLOW != 0, &new_path)?;
    fs.link(task, &old, &new)?;
    notify::linked(task, &new_path);
    Ok(0)
}

pub fn link(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    link_common(task, fcntl::AT_FDCWD, a[0], fcntl::AT_FDCWD, a[1], 0)
}

pub fn linkat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    link_common(task, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4])
}

/// Applies `attr` to the file at `path`, after checking it exists.
fn setattr_path(task: &Task, path: &str, follow: bool, attr: &SetAttr) -> Result<u64, Errno> {
    let (fs, inner) = resolve(task, path, follow)?;
    fs.stat(task, &inner, follow)?;
    fs.setattr(task, &inner, attr)?;
    notify::path_event(task, path, follow, notify::setattr_mask(attr));
    Ok(0)
}

/// Applies `attr` to an open file (fchmod, fchown, ftruncate, futimens).
fn setattr_file(task: &Task, file: &dyn FileDescription, attr: &SetAttr) -> Result<u64, Errno> {
    file.setattr(task, attr)?;
    notify::file_event(task, file, notify::setattr_mask(attr));
    Ok(0)
}

fn chmod_attr(mode: u64) -> SetAttr {
    SetAttr { mode: Some((mode & 0o7777) as u32), ..SetAttr::default() }
}

pub fn chmod(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    setattr_path(task, &path_at(task, fcntl::AT_FDCWD, a[0])?, true, &chmod_attr(a[1]))
}

pub fn fchmodat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    setattr_path(task, &path_at(task, fd_arg(a[0]), a[1])?, true, &chmod_attr(a[2]))
}

pub fn fchmod(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    setattr_file(task, &*task.fds.get(fd_arg(a[0]))?, &chmod_attr(a[1]))
}

/// uid/gid arguments of the chown family: -1 leaves one unchanged.
fn chown_attr(uid: u64, gid: u64) -> SetAttr {
    let id = |v: u64| Some(v as u32).filter(|&v| v != u32::MAX);
    SetAttr { uid: id(uid), gid: id(gid), ..SetAttr::default() }
}

pub fn chown(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    setattr_path(task, &path_at(task, fcntl::AT_FDCWD, a[0])?, true, &chown_attr(a[1], a[2]))
}

pub fn lchown(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    setattr_path(task, &path_at(task, fcntl::AT_FDCWD, a[0])?, false, &chown_attr(a[1], a[2]))
}

pub fn fchown(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    setattr_file(task, &*task.fds.get(fd_arg(a[0]))?, &chown_attr(a[1], a[2]))
}

pub fn fchownat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[4];
    if flags & !(fcntl::AT_SYMLINK_NOFOLLOW | fcntl::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let attr = chown_attr(a[2], a[3]);
    if flags & fcntl::AT_EMPTY_PATH != 0 && first_byte(task, a[1])? == 0 {
        return setattr_file(task, &*task.fds.get(fd_arg(a[0]))?, &attr);
    }
    setattr_path(task, &path_at(task, fd_arg(a[0]), a[1])?, flags & fcntl::AT_SYMLINK_NOFOLLOW == 0, &attr)
}

fn size_arg(len: u64) -> Result<u64, Errno> {
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(len)
}

pub fn truncate(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let attr = SetAttr { size: Some(size_arg(a[1])?), ..SetAttr::default() };
    setattr_path(task, &path_at(task, fcntl::AT_FDCWD, a[0])?, true, &attr)
}

pub fn ftruncate(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(fd_arg(a[0]))?;
    let size = size_arg(a[1])?;
    // Linux: EINVAL unless a regular file open for writing.
    if writable(&*file).is_err() || file.stat()?.mode & 0o170000 != 0o100000 {
        return Err(Errno::EINVAL);
    }
    setattr_file(task, &*file, &SetAttr { size: Some(size), ..SetAttr::default() })
}

/// `fallocate(fd, mode, offset, len)`: Linux's argument checks, then the
/// file's own (`FileDescription::fallocate`), then IN_MODIFY.
pub fn fallocate(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const KEEP_SIZE: u64 = 0x1;
    const PUNCH_HOLE: u64 = 0x2;
    const KNOWN: u64 = 0x7f; // KEEP_SIZE..UNSHARE_RANGE
    let (mode, offset, len) = (a[1], a[2] as i64, a[3] as i64);
    let file = task.fds.get(fd_arg(a[0]))?;
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !KNOWN != 0 || (mode & PUNCH_HOLE != 0 && mode & KEEP_SIZE == 0) {
        return Err(Errno::EOPNOTSUPP);
    }
    if writable(&*file).is_err() {
        return Err(Errno::EBADF);
    }
    if offset.checked_add(len).is_none() {
        return Err(Errno::EFBIG);
    }
    file.fallocate(mode as u32, offset as u64, len as u64)?;
    notify::modified(task, &*file, 1);
    Ok(0)
}

pub fn utimensat(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let (dirfd, path_addr, times, flags) = (fd_arg(a[0]), a[1], a[2], a[3]);
    if flags & !(fcntl::AT_SYMLINK_NOFOLLOW | fcntl::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (atime, mtime) = if times == 0 {
        (Some(TimeSet::Now), Some(TimeSet::Now))
    } else {
        let ts: [abi::Timespec; 2] = task.mm.read_obj(times)?;
        let one = |t: abi::Timespec| match t.tv_nsec {
            UTIME_NOW => Ok(Some(TimeSet::Now)),
            UTIME_OMIT => Ok(None),
            n if (0..1_000_000_000).contains(&n) => Ok(Some(TimeSet::At(t))),
            _ => Err(Errno::EINVAL),
        };
        (one(ts[0])?, one(ts[1])?)
    };
    if atime.is_none() && mtime.is_none() {
        return Ok(0);
    }
    let attr = SetAttr { atime, mtime, ..SetAttr::default() };
    // A null path is futimens: the descriptor itself.
    if path_addr == 0 || (flags & fcntl::AT_EMPTY_PATH != 0 && first_byte(task, path_addr)? == 0) {
        return setattr_file(task, &*task.fds.get(dirfd)?, &attr);
    }
    setattr_path(task, &path_at(task, dirfd, path_addr)?, flags & fcntl::AT_SYMLINK_NOFOLLOW == 0, &attr)
}

/// `utime(path, {actime, modtime})` in seconds; a null pointer is now.
pub fn utime(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let times = if a[1] == 0 {
        None
    } else {
        let t: [i64; 2] = task.mm.read_obj(a[1])?;
        Some(t.map(|s| abi::Timespec { tv_sec: s, tv_nsec: 0 }))
    };
    set_times(task, a[0], times)
}

/// `utimes(path, timeval[2])`; a null pointer is now.
pub fn utimes(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let times = if a[1] == 0 {
        None
    } else {
        let t: [i64; 4] = task.mm.read_obj(a[1])?;
        if !(0..1_000_000).contains(&t[1]) || !(0..1_000_000).contains(&t[3]) {
            return Err(Errno::EINVAL);
        }
        Some([
            abi::Timespec { tv_sec: t[0], tv_nsec: t[1] * 1000 },
            abi::Timespec { tv_sec: t[2], tv_nsec: t[3] * 1000 },
        ])
    };
    set_times(task, a[0], times)
}

/// Sets the access and modification times of the file at `path_addr`
/// (following symlinks): `times`, or now.
fn set_times(task: &Task, path_addr: u64, times: Option<[abi::Timespec; 2]>) -> Result<u64, Errno> {
    let (atime, mtime) = match times {
        Some([a, m]) => (TimeSet::At(a), TimeSet::At(m)),
        None => (TimeSet::Now, TimeSet::Now),
    };
    let attr = SetAttr { atime: Some(atime), mtime: Some(mtime), ..SetAttr::default() };
    setattr_path(task, &path_at(task, fcntl::AT_FDCWD, path_addr)?, true, &attr)
}
