//! The process's own stdio, handed over to the container.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

/// Takes the process's stdin, stdout and stderr as owned descriptors, for
/// handing them to the container.
pub fn take_stdio() -> [Option<OwnedFd>; 3] {
    [0, 1, 2].map(|raw| {
        // SAFETY: the borrow lives only for the F_GETFD probe, which fails
        // cleanly with EBADF if the descriptor is closed.
        rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(raw) }).ok()?;
        // SAFETY: the caller gives up its own use of stdio; from here on
        // the container owns these descriptors.
        Some(unsafe { OwnedFd::from_raw_fd(raw) })
    })
}

/// `fchmodat2`'s number on x86-64 (Linux 6.6), which the libc crate may not name.
pub const SYS_FCHMODAT2: i64 = 452;

/// Sets the mode of the file `fd` refers to, which may be an `O_PATH`
/// descriptor (`fchmodat2(fd, "", mode, AT_EMPTY_PATH)`): the gofer changes
/// a file it resolved inside a root without naming it by path again.
/// rustix's `chmodat` refuses flags, and `fchmod` refuses `O_PATH`.
pub fn fchmod_path_fd(fd: BorrowedFd<'_>, mode: u32) -> rustix::io::Result<()> {
    use std::os::fd::AsRawFd;
    let empty = c"";
    // SAFETY: fchmodat2 reads the NUL-terminated empty string and nothing
    // else from our memory; `fd` is borrowed for the call's duration.
    let r = unsafe {
        libc::syscall(SYS_FCHMODAT2, fd.as_raw_fd(), empty.as_ptr(), mode as libc::c_uint, libc::AT_EMPTY_PATH)
    };
    if r == 0 {
        Ok(())
    } else {
        Err(rustix::io::Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)))
    }
}
