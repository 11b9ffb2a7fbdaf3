//! Terminals (gVisor: `fsimpl/host/tty.go` for the host's, `fsimpl/devpts`
//! for the sentry's own).
//!
//! A [`Terminal`] is a device (a [`TtyDriver`]: the host terminal behind a
//! host descriptor, or the slave side of one of the sentry's ptys) plus the
//! job-control state Linux keeps in `tty_struct`: the session the terminal
//! controls and its foreground process group ([`Job`]). That state always
//! lives in the sentry, also for the host's terminal, whose own idea of a
//! session is the sandbox process: the sandbox forwards the signals the
//! host's line discipline sends it (SIGINT, SIGQUIT, SIGTSTP, SIGWINCH) to
//! the foreground group kept here. The settings (termios, window size) and
//! the line discipline are the device's: the host's for a host terminal,
//! `fs/devpts.rs`'s for a pty.
//!
//! Lock order: the kernel's `procs` before a terminal's job lock.

use crate::kernel::Kernel;
use crate::vfs::FileDescription;
use abi::{Errno, Stat, Termios, Winsize};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use zerocopy::{FromBytes, IntoBytes};

/// What a terminal device does; the job-control side is [`Job`]'s.
pub trait TtyDriver: Send + Sync {
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno>;
    fn write(&self, data: &[u8]) -> Result<usize, Errno>;
    fn readiness(&self, mask: u32) -> u32;
    fn wait_queue(&self) -> Option<&crate::kernel::waiter::WaitQueue> {
        None
    }
    fn host_stream(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    /// How long a read may wait before it returns 0 (a pty's VTIME with
    /// VMIN 0).
    fn read_timeout(&self) -> Option<std::time::Duration> {
        None
    }
    fn termios(&self) -> Result<Termios, Errno>;
    /// `cmd` is TCSETS, TCSETSW or TCSETSF.
    fn set_termios(&self, cmd: u64, t: &Termios) -> Result<(), Errno>;
    fn winsize(&self) -> Result<Winsize, Errno>;
    /// Sets the window size; true if the sentry must send SIGWINCH to the
    /// foreground group (it changed, and no host terminal does it).
    fn set_winsize(&self, w: &Winsize) -> Result<bool, Errno>;
    /// `FIONREAD`/`TIOCINQ` (input) or `TIOCOUTQ` (output).
    fn queued(&self, output: bool) -> Result<u32, Errno>;
    /// `TCFLSH`: 0 input, 1 output, 2 both.
    fn flush(&self, queue: u32) -> Result<(), Errno>;
    fn stat(&self) -> Result<Stat, Errno>;
    fn path(&self) -> String;
    /// The host terminal this is, if it is one.
    fn as_host(&self) -> Option<&HostTty> {
        None
    }
}

/// Who a terminal belongs to, as Linux's `tty->session` and `tty->pgrp`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobState {
    /// The session whose controlling terminal this is.
    pub sid: Option<i32>,
    /// Its foreground process group.
    pub pgrp: Option<i32>,
}

/// The job-control state of one terminal.
pub struct Job {
    kernel: Weak<Kernel>,
    state: Mutex<JobState>,
}

impl Job {
    pub fn new(kernel: &Arc<Kernel>) -> Arc<Job> {
        Arc::new(Job { kernel: Arc::downgrade(kernel), state: Mutex::default() })
    }

    pub fn get(&self) -> JobState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, s: JobState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }

    /// Sends `sig` (SI_KERNEL) to the foreground process group, if any.
    pub fn signal_foreground(&self, sig: i32) {
        let (Some(kernel), Some(pgrp)) = (self.kernel.upgrade(), self.get().pgrp) else { return };
        kernel.signal_pgrp(pgrp, sig);
    }

    /// The terminal hung up (the master or the host side went away):
    /// the session leader gets SIGHUP and SIGCONT, and the session loses
    /// its controlling terminal, as Linux's `__tty_hangup` and
    /// `tty_signal_session_leader`.
    pub fn hangup(self: &Arc<Job>) {
        let JobState { sid, .. } = self.get();
        self.set(JobState::default());
        let (Some(kernel), Some(sid)) = (self.kernel.upgrade(), sid) else { return };
        kernel.drop_terminal(sid, self);
        for sig in [abi::signal::SIGHUP, abi::signal::SIGCONT] {
            kernel.signal_process(sid, sig);
        }
    }
}

/// A terminal: its device and its job-control state. Cheap to clone; two
/// terminals are the same if they share the [`Job`].
#[derive(Clone)]
pub struct Terminal {
    pub driver: Arc<dyn TtyDriver>,
    pub job: Arc<Job>,
}

impl Terminal {
    pub fn same(&self, other: &Terminal) -> bool {
        Arc::ptr_eq(&self.job, &other.job)
    }
}

/// A terminal as the syscall layer's tty ioctls see a description of it:
/// the slave side (or a host terminal), or a pty's master.
pub struct TtyRef<'a> {
    pub term: &'a Terminal,
    pub master: bool,
    /// For a pty's master: the pair (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER).
    pub pty: Option<&'a Arc<crate::fs::devpts::Pty>>,
}

/// An open description of a terminal's slave side (or a host terminal).
pub struct TtyFile {
    term: Terminal,
    flags: AtomicU64,
}

impl TtyFile {
    pub fn new(term: Terminal, flags: u64) -> TtyFile {
        TtyFile { term, flags: AtomicU64::new(flags) }
    }
}

impl FileDescription for TtyFile {
    fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }
    fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.term.driver.read(buf)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.term.driver.write(data)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.term.driver.stat()
    }
    fn path(&self) -> String {
        self.term.driver.path()
    }
    fn wait_queue(&self) -> Option<&crate::kernel::waiter::WaitQueue> {
        self.term.driver.wait_queue()
    }
    fn readiness(&self, mask: u32) -> u32 {
        self.term.driver.readiness(mask)
    }
    fn pollable(&self) -> bool {
        true
    }
    fn host_stream(&self) -> Option<BorrowedFd<'_>> {
        self.term.driver.host_stream()
    }
    fn as_tty(&self) -> Option<TtyRef<'_>> {
        Some(TtyRef { term: &self.term, master: false, pty: None })
    }
}

/// The host's terminal behind a host descriptor: the slave of the pty
/// pair the runtime made for a container with `process.terminal` (its
/// master went to the console socket). The host's line discipline does
/// the work; termios and window size are the host's, set and read by
/// ioctls on the descriptor (gVisor: `host.TTYFileDescription`).
///
/// The host's line discipline sends its signals (^C, a resize's SIGWINCH)
/// to the host session that has the terminal: the sandbox for the console,
/// the `moat wait --terminal` helper for an exec'd process; both forward
/// them to the foreground group kept here, so the sentry sends none itself.
pub struct HostTty {
    fd: OwnedFd,
    /// Whether this is the console (`/dev/console`), or an exec'd
    /// process's terminal.
    console: bool,
    /// An exec'd process's terminal's name in devpts (`/dev/pts/N`) and
    /// the node's attributes, once named (`devpts::name_host_terminal`).
    named: std::sync::OnceLock<(u32, Stat)>,
}

fn host_errno(e: std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::new)
}

impl HostTty {
    pub fn new(fd: OwnedFd, console: bool) -> HostTty {
        HostTty { fd, console, named: std::sync::OnceLock::new() }
    }
}

impl Terminal {
    /// Names an exec'd process's host terminal in devpts (owned by
    /// `owner`), so that `ttyname` finds it as `/dev/pts/N`.
    pub fn name_in_devpts(&self, owner: (u32, u32)) {
        if let Some(host) = self.driver.as_host() {
            if !host.console && host.named.get().is_none() {
                let _ = host.named.set(super::devpts::name_host_terminal(self, owner));
            }
        }
    }
}

impl TtyDriver for HostTty {
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match rustix::io::read(&self.fd, buf) {
            // The other side of the host pty is gone: Linux's slave reads
            // EOF after a hangup.
            Err(rustix::io::Errno::IO) => Ok(0),
            r => r.map_err(|e| Errno::new(e.raw_os_error())),
        }
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        rustix::io::write(&self.fd, data).map_err(|e| Errno::new(e.raw_os_error()))
    }
    fn readiness(&self, mask: u32) -> u32 {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let ask = PollFlags::from_bits_truncate((mask & 0xffff) as u16 as _);
        let mut fds = [PollFd::new(&self.fd, ask)];
        match poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })) {
            Ok(_) => u32::from(fds[0].revents().bits()),
            Err(_) => abi::poll::POLLERR,
        }
    }
    fn host_stream(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
    fn termios(&self) -> Result<Termios, Errno> {
        let raw = hostsys::tty::get_termios(self.fd.as_fd()).map_err(host_errno)?;
        Termios::read_from_bytes(&raw).map_err(|_| Errno::EIO)
    }
    fn set_termios(&self, cmd: u64, t: &Termios) -> Result<(), Errno> {
        let mut raw = [0u8; hostsys::tty::TERMIOS_SIZE];
        raw.copy_from_slice(t.as_bytes());
        hostsys::tty::set_termios(self.fd.as_fd(), cmd, &raw).map_err(host_errno)
    }
    fn winsize(&self) -> Result<Winsize, Errno> {
        let [ws_row, ws_col, ws_xpixel, ws_ypixel] = hostsys::tty::get_winsize(self.fd.as_fd()).map_err(host_errno)?;
        Ok(Winsize { ws_row, ws_col, ws_xpixel, ws_ypixel })
    }
    fn set_winsize(&self, w: &Winsize) -> Result<bool, Errno> {
        hostsys::tty::set_winsize(self.fd.as_fd(), &[w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel])
            .map_err(host_errno)?;
        // The host sent SIGWINCH if the size changed; it comes back forwarded.
        Ok(false)
    }
    fn queued(&self, output: bool) -> Result<u32, Errno> {
        let cmd = if output { hostsys::tty::TIOCOUTQ } else { hostsys::tty::FIONREAD };
        hostsys::tty::queued(self.fd.as_fd(), cmd).map(|n| n as u32).map_err(host_errno)
    }
    fn flush(&self, queue: u32) -> Result<(), Errno> {
        if queue > 2 {
            return Err(Errno::EINVAL);
        }
        hostsys::tty::flush(self.fd.as_fd(), queue as i32).map_err(host_errno)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        if self.console {
            return Ok(crate::fs::dev::console_stat());
        }
        if let Some((_, st)) = self.named.get() {
            return Ok(*st);
        }
        let st = rustix::fs::fstat(&self.fd).map_err(|e| Errno::new(e.raw_os_error()))?;
        let mut s = crate::fs::stat_from_attr(&gofer::proto::FileAttr::from(&st));
        // The host's device numbers mean nothing inside; keep the type only.
        s.dev = 0;
        Ok(s)
    }
    fn as_host(&self) -> Option<&HostTty> {
        Some(self)
    }
    fn path(&self) -> String {
        match self.named.get() {
            _ if self.console => "/dev/console".into(),
            Some((index, _)) => format!("/dev/pts/{index}"),
            // Its host name (/dev/pts/N of the host) means nothing inside.
            None => "host:[tty]".into(),
        }
    }
}
