//! The new mount API calls rustix and nix lack (or hide behind features):
//! a detached copy of a mount tree, and mount attributes set on one.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const SYS_OPEN_TREE: libc::c_long = 428;
const SYS_MOUNT_SETATTR: libc::c_long = 442;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// `struct mount_attr` (linux/mount.h).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn errno() -> rustix::io::Errno {
    rustix::io::Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

/// `open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC
/// [| AT_RECURSIVE])`: a detached copy of the mount at `path` (with its
/// submounts if `recursive`), which belongs to no mount tree, so unmounting
/// the tree `path` was in leaves it whole.
pub fn clone_tree(path: &Path, recursive: bool) -> rustix::io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| rustix::io::Errno::INVAL)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: open_tree reads the NUL-terminated path and returns a new
    // descriptor or -1; nothing else of our memory is touched.
    let fd = unsafe { libc::syscall(SYS_OPEN_TREE, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: the kernel just returned this descriptor to us; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], {attr_set})`:
/// sets `MOUNT_ATTR_*` flags on the mount `fd` is the root of (and its
/// submounts if `recursive`).
pub fn set_attrs(fd: BorrowedFd<'_>, set: u64, recursive: bool) -> rustix::io::Result<()> {
    let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: mount_setattr reads the empty NUL-terminated path and
    // `size_of::<MountAttr>()` bytes of `attr`, both alive for the call.
    let r = unsafe {
        libc::syscall(
            SYS_MOUNT_SETATTR,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}
