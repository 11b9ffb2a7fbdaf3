//! Terminal ioctls on host descriptors, with the kernel's own structures
//! (asm-generic/termbits.h), so that exactly the calls named in the
//! sandbox's seccomp allowlist are made: glibc's and rustix's termios
//! wrappers may use `TCGETS2`/`TCSETS2` instead. Also `openpty` for the
//! runtime's console.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Size of the kernel's `struct termios` (not glibc's).
pub const TERMIOS_SIZE: usize = 36;

pub const TCGETS: u64 = 0x5401;
pub const TCSETS: u64 = 0x5402;
pub const TCSETSW: u64 = 0x5403;
pub const TCSETSF: u64 = 0x5404;
pub const TCFLSH: u64 = 0x540b;
pub const TIOCSCTTY: u64 = 0x540e;
pub const TIOCOUTQ: u64 = 0x5411;
pub const TIOCGWINSZ: u64 = 0x5413;
pub const TIOCSWINSZ: u64 = 0x5414;
pub const FIONREAD: u64 = 0x541b;

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `TCGETS`: the terminal's settings as the kernel's `struct termios`.
pub fn get_termios(fd: BorrowedFd<'_>) -> io::Result<[u8; TERMIOS_SIZE]> {
    let mut t = [0u8; TERMIOS_SIZE];
    // SAFETY: TCGETS writes exactly one kernel `struct termios` (36 bytes)
    // to the pointer, which points at a buffer of that size.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), TCGETS as _, t.as_mut_ptr()) })?;
    Ok(t)
}

/// `TCSETS`, `TCSETSW` or `TCSETSF` (`cmd`) with a kernel `struct termios`.
pub fn set_termios(fd: BorrowedFd<'_>, cmd: u64, t: &[u8; TERMIOS_SIZE]) -> io::Result<()> {
    if ![TCSETS, TCSETSW, TCSETSF].contains(&cmd) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: the TCSETS family reads one kernel `struct termios` (36 bytes)
    // from the pointer, which points at a buffer of that size.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, t.as_ptr()) })
}

/// `TIOCGWINSZ`: rows, columns, x and y pixels.
pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<[u16; 4]> {
    let mut w = [0u16; 4];
    // SAFETY: TIOCGWINSZ writes one `struct winsize` (four u16) to the
    // pointer, which points at four u16.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), TIOCGWINSZ as _, w.as_mut_ptr()) })?;
    Ok(w)
}

/// `TIOCSWINSZ`.
pub fn set_winsize(fd: BorrowedFd<'_>, w: &[u16; 4]) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` (four u16).
    check(unsafe { libc::ioctl(fd.as_raw_fd(), TIOCSWINSZ as _, w.as_ptr()) })
}

/// `FIONREAD` (`TIOCINQ`) or `TIOCOUTQ` (`cmd`): bytes queued.
pub fn queued(fd: BorrowedFd<'_>, cmd: u64) -> io::Result<i32> {
    if cmd != FIONREAD && cmd != TIOCOUTQ {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut n: libc::c_int = 0;
    // SAFETY: both write one int to the pointer.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, &mut n) })?;
    Ok(n)
}

/// `TCFLSH` with `TCIFLUSH`, `TCOFLUSH` or `TCIOFLUSH` (an int argument).
pub fn flush(fd: BorrowedFd<'_>, queue: i32) -> io::Result<()> {
    // SAFETY: TCFLSH takes its argument by value; nothing is dereferenced.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), TCFLSH as _, queue as libc::c_ulong) })
}

/// `TIOCSCTTY`: makes `fd`'s terminal the caller's controlling terminal
/// (the caller must lead a session that has none).
pub fn set_controlling(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes its argument (0: do not steal) by value.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), TIOCSCTTY as _, 0 as libc::c_ulong) })
}

/// A new pseudo-terminal pair (master, slave), both close-on-exec, with
/// the slave's path (`/dev/pts/N`).
pub fn openpty() -> io::Result<(OwnedFd, OwnedFd, String)> {
    use rustix::fs::OFlags;
    let master = rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let name = name.to_string_lossy().into_owned();
    let slave =
        rustix::fs::open(name.as_str(), OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, rustix::fs::Mode::empty())?;
    rustix::io::fcntl_setfd(&master, rustix::io::FdFlags::CLOEXEC)?;
    Ok((master, slave, name))
}
