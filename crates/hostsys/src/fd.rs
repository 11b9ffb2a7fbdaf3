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
