//! Host descriptors given to the container as its stdio (gVisor:
//! `fsimpl/host`). Reads and writes go to the host descriptor; terminal
//! queries are answered from it, since the terminal is the host's.

use crate::vfs::{FileDescription, IoctlReply};
use abi::{ioctl, Errno, Stat, Statfs, Termios, Winsize};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use zerocopy::IntoBytes;

pub struct HostFile {
    fd: OwnedFd,
    flags: AtomicU64,
    name: String,
}

impl HostFile {
    pub fn new(fd: OwnedFd, flags: u64, name: &str) -> HostFile {
        HostFile { fd, flags: AtomicU64::new(flags), name: name.to_string() }
    }
}

fn errno(e: rustix::io::Errno) -> Errno {
    Errno::new(e.raw_os_error())
}

impl FileDescription for HostFile {
    fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        rustix::io::read(&self.fd, buf).map_err(errno)
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        rustix::io::write(&self.fd, data).map_err(errno)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let st = rustix::fs::fstat(&self.fd).map_err(errno)?;
        let mut s = crate::fs::stat_from_attr(&gofer::proto::FileAttr::from(&st));
        // The host's device numbers mean nothing inside; keep the type only.
        s.dev = 0;
        Ok(s)
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        let s = rustix::fs::fstatfs(&self.fd).map_err(errno)?;
        Ok(crate::fs::statfs_from(&gofer::proto::FsStat::from(&s)))
    }

    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::TCGETS => {
                let t = nix::sys::termios::tcgetattr(self.fd.as_fd()).map_err(|e| Errno::new(e as i32))?;
                let mut k = Termios {
                    c_iflag: t.input_flags.bits() as u32,
                    c_oflag: t.output_flags.bits() as u32,
                    c_cflag: t.control_flags.bits() as u32,
                    c_lflag: t.local_flags.bits() as u32,
                    c_line: t.line_discipline,
                    c_cc: [0; 19],
                };
                k.c_cc.copy_from_slice(&t.control_chars[..19]);
                Ok(IoctlReply::Out(k.as_bytes().to_vec()))
            }
            ioctl::TIOCGWINSZ => {
                let w = rustix::termios::tcgetwinsize(&self.fd).map_err(errno)?;
                let k = Winsize { ws_row: w.ws_row, ws_col: w.ws_col, ws_xpixel: w.ws_xpixel, ws_ypixel: w.ws_ypixel };
                Ok(IoctlReply::Out(k.as_bytes().to_vec()))
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn path(&self) -> String {
        self.name.clone()
    }

    /// A zero-timeout poll of the host descriptor: nothing here can
    /// notify a wait queue when the host's side changes.
    fn readiness(&self, mask: u32) -> u32 {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let ask = PollFlags::from_bits_truncate((mask & 0xffff) as u16 as _);
        let mut fds = [PollFd::new(&self.fd, ask)];
        match poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })) {
            Ok(_) => u32::from(fds[0].revents().bits()),
            Err(_) => abi::poll::POLLERR,
        }
    }

    /// Host streams are terminals, pipes or sockets, which Linux polls;
    /// a regular file or a directory would be refused.
    fn pollable(&self) -> bool {
        rustix::fs::fstat(&self.fd).is_ok_and(|st| !matches!(st.st_mode & 0o170000, 0o100000 | 0o040000))
    }

    fn host_stream(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
}
