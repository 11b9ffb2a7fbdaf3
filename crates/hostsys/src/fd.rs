//! Descriptors inherited by number across exec.

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Takes ownership of descriptor `raw`, inherited from the parent that
/// named it on our command line. Fails if it is not open, or is one of
/// stdin/stdout/stderr (which belong to the container).
pub fn adopt(raw: RawFd) -> io::Result<OwnedFd> {
    if raw < 3 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("descriptor {raw} is reserved for stdio")));
    }
    // SAFETY: the borrow lives only for the F_GETFD probe, which fails
    // cleanly with EBADF if `raw` is not open.
    rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(raw) })?;
    // SAFETY: `raw` is open (checked above) and was handed to this process
    // for its exclusive use; nothing else in the process owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Takes the process's stdin, stdout and stderr as owned descriptors, for
/// handing them to the container.
pub fn take_stdio() -> [Option<OwnedFd>; 3] {
    [0, 1, 2].map(|raw| {
        // SAFETY: as in `adopt`: a probe that fails cleanly if closed.
        rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(raw) }).ok()?;
        // SAFETY: the caller gives up its own use of stdio; from here on
        // the container owns these descriptors.
        Some(unsafe { OwnedFd::from_raw_fd(raw) })
    })
}
