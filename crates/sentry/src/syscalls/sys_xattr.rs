//! Extended attribute syscalls (Linux `fs/xattr.c`; gVisor:
//! `sys_xattr.go`): the argument checks Linux makes before the file
//! system is asked, then the file system serving the path or the open
//! description. Policy (namespaces, permissions) is `fs::xattr`.

use super::sys_file::{at_path, fd_arg, read_path};
use crate::fs::inotify::IN_ATTRIB;
use crate::fs::xattr::{LIST_MAX, NAME_MAX, SIZE_MAX, XATTR_CREATE, XATTR_REPLACE};
use crate::kernel::Task;
use crate::vfs::notify;
use crate::vfs::FileDescription;
use abi::{fcntl, Errno};
use std::sync::Arc;

/// The name at `addr`: ERANGE when empty or longer than 255 bytes.
fn read_name(task: &Task, addr: u64) -> Result<String, Errno> {
    let name = match task.mm.read_cstring(addr, NAME_MAX + 1) {
        Ok(n) => n,
        Err(Errno::ENAMETOOLONG) => return Err(Errno::ERANGE),
        Err(e) => return Err(e),
    };
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    // Names that are not UTF-8 belong to no namespace the sentry knows.
    String::from_utf8(name).map_err(|_| Errno::EOPNOTSUPP)
}

/// What an xattr call works on: a path (followed or not) or a descriptor.
enum Target {
    Path(String, bool),
    File(Arc<dyn FileDescription>),
}

fn path_target(task: &Task, addr: u64, follow: bool) -> Result<Target, Errno> {
    Ok(Target::Path(at_path(task, fcntl::AT_FDCWD, &read_path(task, addr)?)?, follow))
}

fn fd_target(task: &Task, fd: u64) -> Result<Target, Errno> {
    Ok(Target::File(task.fds.get(fd_arg(fd))?))
}

fn get(task: &Task, target: Target, name: u64, value: u64, size: u64) -> Result<u64, Errno> {
    let name = read_name(task, name)?;
    let data = match target {
        Target::Path(p, follow) => {
            let (fs, inner) = task.mnt.resolve(task, &p, follow)?;
            fs.getxattr(task, &inner, &name)?
        }
        Target::File(f) => f.getxattr(task, &name)?,
    };
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if data.len() as u64 > size.min(SIZE_MAX as u64) {
        return Err(Errno::ERANGE);
    }
    task.mm.copy_out(value, &data)?;
    Ok(data.len() as u64)
}

fn set(task: &Task, target: Target, a: &[u64; 6]) -> Result<u64, Errno> {
    let (name, value, size, flags) = (a[1], a[2], a[3], a[4]);
    if flags & !u64::from(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(task, name)?;
    if size > SIZE_MAX as u64 {
        return Err(Errno::E2BIG);
    }
    let mut data = vec![0u8; size as usize];
    task.mm.copy_in(value, &mut data)?;
    match target {
        Target::Path(p, follow) => {
            let (fs, inner) = task.mnt.resolve(task, &p, follow)?;
            fs.setxattr(task, &inner, &name, &data, flags as u32)?;
            notify::path_event(task, &p, follow, IN_ATTRIB);
        }
        Target::File(f) => {
            f.setxattr(task, &name, &data, flags as u32)?;
            notify::file_event(task, &*f, IN_ATTRIB);
        }
    }
    Ok(0)
}

fn list(task: &Task, target: Target, buf: u64, size: u64) -> Result<u64, Errno> {
    let names = match target {
        Target::Path(p, follow) => {
            let (fs, inner) = task.mnt.resolve(task, &p, follow)?;
            fs.listxattr(task, &inner)?
        }
        Target::File(f) => f.listxattr(task)?,
    };
    let mut out = Vec::new();
    for n in names {
        out.extend_from_slice(n.as_bytes());
        out.push(0);
    }
    if size == 0 {
        return Ok(out.len() as u64);
    }
    if out.len() as u64 > size.min(LIST_MAX as u64) {
        return Err(if size >= LIST_MAX as u64 { Errno::E2BIG } else { Errno::ERANGE });
    }
    task.mm.copy_out(buf, &out)?;
    Ok(out.len() as u64)
}

fn remove(task: &Task, target: Target, name: u64) -> Result<u64, Errno> {
    let name = read_name(task, name)?;
    match target {
        Target::Path(p, follow) => {
            let (fs, inner) = task.mnt.resolve(task, &p, follow)?;
            fs.removexattr(task, &inner, &name)?;
            notify::path_event(task, &p, follow, IN_ATTRIB);
        }
        Target::File(f) => {
            f.removexattr(task, &name)?;
            notify::file_event(task, &*f, IN_ATTRIB);
        }
    }
    Ok(0)
}

pub fn getxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(task, path_target(task, a[0], true)?, a[1], a[2], a[3])
}

pub fn lgetxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(task, path_target(task, a[0], false)?, a[1], a[2], a[3])
}

pub fn fgetxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(task, fd_target(task, a[0])?, a[1], a[2], a[3])
}

pub fn setxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(task, path_target(task, a[0], true)?, a)
}

pub fn lsetxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(task, path_target(task, a[0], false)?, a)
}

pub fn fsetxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(task, fd_target(task, a[0])?, a)
}

pub fn listxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(task, path_target(task, a[0], true)?, a[1], a[2])
}

pub fn llistxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(task, path_target(task, a[0], false)?, a[1], a[2])
}

pub fn flistxattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(task, fd_target(task, a[0])?, a[1], a[2])
}

pub fn removexattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(task, path_target(task, a[0], true)?, a[1])
}

pub fn lremovexattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(task, path_target(task, a[0], false)?, a[1])
}

pub fn fremovexattr(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(task, fd_target(task, a[0])?, a[1])
}
