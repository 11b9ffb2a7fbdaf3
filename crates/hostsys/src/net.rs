//! Socket calls on host sockets that rustix offers only in typed form:
//! `getsockopt`/`setsockopt` with the option's raw bytes, and the two
//! queue-size ioctls. The sentry's `--network=host` sockets forward an
//! allowlist of options this way (the list, and the lengths it admits,
//! are the sentry's; these functions only move bytes).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `FIONREAD` (`SIOCINQ`): bytes waiting to be read.
pub const FIONREAD: u64 = 0x541b;
/// `SIOCOUTQ` (`TIOCOUTQ`): bytes not yet sent (or acknowledged).
pub const SIOCOUTQ: u64 = 0x5411;

/// `getsockopt(fd, level, name)` into `buf`; returns the length the host
/// wrote (at most `buf.len()`).
pub fn getsockopt(fd: BorrowedFd<'_>, level: i32, name: i32, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the kernel writes at most `len` bytes to `buf`, which is
    // `len` bytes long, and the updated length to `len`, a live local.
    let r = unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, buf.as_mut_ptr().cast(), &mut len) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((len as usize).min(buf.len()))
}

/// `setsockopt(fd, level, name, val)`.
pub fn setsockopt(fd: BorrowedFd<'_>, level: i32, name: i32, val: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(val.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the kernel reads `len` bytes from `val`, which is that long.
    let r = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, val.as_ptr().cast(), len) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `FIONREAD` or `SIOCOUTQ`: an `int` the kernel writes.
pub fn queued(fd: BorrowedFd<'_>, cmd: u64) -> io::Result<i32> {
    if cmd != FIONREAD && cmd != SIOCOUTQ {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut n: libc::c_int = 0;
    // SAFETY: both commands write one `int` to the pointer, a live local.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, &mut n) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn options_and_queues_round_trip() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        setsockopt(c.as_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, &1i32.to_ne_bytes()).unwrap();
        let mut b = [0u8; 4];
        assert_eq!(getsockopt(c.as_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, &mut b).unwrap(), 4);
        assert_eq!(i32::from_ne_bytes(b), 1);
        std::io::Write::write_all(&mut &c, b"hello").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(queued(s.as_fd(), FIONREAD).unwrap(), 5);
        assert!(queued(s.as_fd(), 0x5401).is_err());
    }
}
