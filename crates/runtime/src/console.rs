//! Terminals for containers and exec'd processes, as runc makes them
//! (runc `utils_linux.go` `setupIO`/`checkTerminal`, `libcontainer/utils`
//! `SendFile`; gVisor `runsc/console`).
//!
//! With `process.terminal`, the runtime opens a host pty pair, sends the
//! master over the `--console-socket` (one `sendmsg`: the name
//! `/dev/ptmx` as payload, the descriptor as SCM_RIGHTS, which is what
//! containerd's shim and Docker expect from runc), and gives the slave to
//! the sandbox as the process's stdin, stdout and stderr.

use crate::error::{Error, Result};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// What runc sends as the payload next to the master.
pub const MASTER_NAME: &str = "/dev/ptmx";

/// runc's `checkTerminal`: a process that detaches from the runtime
/// (`create`, `run -d`, `exec -d`) with a terminal needs a console socket
/// to hand the master to, and a console socket without a terminal, or
/// with a runtime that stays in the foreground, is a mistake.
pub fn check(terminal: bool, detach: bool, console_socket: Option<&Path>) -> Result<()> {
    if detach && terminal && console_socket.is_none() {
        return Err(Error::Usage(
            "cannot allocate a terminal (process.terminal / --tty) when detaching without --console-socket".into(),
        ));
    }
    if (!detach || !terminal) && console_socket.is_some() {
        return Err(Error::Usage(
            "cannot use --console-socket without a terminal (process.terminal / --tty) or without detaching".into(),
        ));
    }
    Ok(())
}

/// A terminal for a process the runtime waits for in the foreground
/// (`run`, `exec` without `--detach`), as runc's `tty.go`: the runtime
/// keeps the master and copies its own stdin to it and its output to its
/// own stdout, with its stdin in raw mode while it is a terminal (the
/// pty's line discipline does the echoing and editing), sized like it.
pub struct Foreground {
    output: Option<std::thread::JoinHandle<()>>,
    saved: Option<nix::sys::termios::Termios>,
}

impl Foreground {
    /// Opens the pair and starts copying; returns the slave for the process.
    pub fn start() -> Result<(Foreground, OwnedFd)> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let (master, slave, _) = hostsys::tty::openpty().map_err(Error::sys("open a pty pair for the terminal"))?;
        let stdin = std::io::stdin();
        if let Ok(size) = hostsys::tty::get_winsize(stdin.as_fd()) {
            let _ = hostsys::tty::set_winsize(master.as_fd(), &size);
        }
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
                .map_err(|e| Error::Sys { what: "put the terminal in raw mode".into(), source: e.into() })?;
        }
        // A resize of the runtime's terminal resizes the pty (whose
        // SIGWINCH then reaches the process). Blocked before the copying
        // threads exist, so that they inherit the mask and the resize
        // thread's sigwait takes every SIGWINCH.
        if saved.is_some() {
            let winch: nix::sys::signal::SigSet = [nix::sys::signal::Signal::SIGWINCH].into_iter().collect();
            if winch.thread_block().is_ok() {
                let resized = master.try_clone().map_err(Error::sys("duplicate the pty master"))?;
                std::thread::spawn(move || {
                    while winch.wait().is_ok() {
                        if let Ok(size) = hostsys::tty::get_winsize(std::io::stdin().as_fd()) {
                            let _ = hostsys::tty::set_winsize(resized.as_fd(), &size);
                        }
                    }
                });
            }
        }
        let mut to_master = std::fs::File::from(master.try_clone().map_err(Error::sys("duplicate the pty master"))?);
        // Ends with the runtime: a blocked read of stdin cannot be undone.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut to_master);
        });
        let mut from_master = std::fs::File::from(master);
        let output = std::thread::spawn(move || {
            // Until EIO: every descriptor of the slave is closed.
            let _ = std::io::copy(&mut from_master, &mut std::io::stdout());
        });
        Ok((Foreground { output: Some(output), saved }, slave))
    }

    /// Once the process has exited: the rest of its output, then the
    /// runtime's terminal as it was.
    pub fn finish(mut self) {
        if let Some(h) = self.output.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(std::io::stdin().as_fd(), nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

/// Opens a pty pair, sized `rows` x `cols` when the spec says so
/// (`process.consoleSize`), and sends its master to the console socket.
/// Returns the slave, for the process's stdio.
pub fn setup(socket: &Path, size: Option<(u16, u16)>) -> Result<OwnedFd> {
    let (master, slave, _name) = hostsys::tty::openpty().map_err(Error::sys("open a pty pair for the console"))?;
    if let Some((rows, cols)) = size {
        hostsys::tty::set_winsize(master.as_fd(), &[rows, cols, 0, 0])
            .map_err(Error::sys("set the console's window size"))?;
    }
    send_master(socket, &master)?;
    Ok(slave)
}

/// Connects to the console socket and sends the master as runc does.
pub fn send_master(socket: &Path, master: &OwnedFd) -> Result<()> {
    let conn = UnixStream::connect(socket).map_err(Error::io("connect to the console socket", socket))?;
    let fds = [master.as_raw_fd()];
    let payload = [IoSlice::new(MASTER_NAME.as_bytes())];
    sendmsg::<()>(conn.as_raw_fd(), &payload, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None).map_err(
        |e| Error::Io {
            op: "send the terminal's master over the console socket",
            path: socket.to_path_buf(),
            source: e.into(),
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_rules() {
        let s = Some(Path::new("/tmp/s"));
        assert!(check(true, true, s).is_ok());
        assert!(check(false, true, None).is_ok());
        assert!(check(false, false, None).is_ok());
        assert!(check(true, true, None).unwrap_err().to_string().contains("--console-socket"));
        assert!(check(false, true, s).unwrap_err().to_string().contains("without a terminal"));
        assert!(check(true, false, s).is_err());
        assert!(check(true, false, None).is_ok());
    }

    #[test]
    fn the_master_arrives_with_runcs_name() {
        let dir = std::env::temp_dir().join(format!("moat-console-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let slave = std::thread::scope(|s| {
            let h = s.spawn(|| setup(&path, Some((24, 80))).unwrap());
            let (conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = nix::sys::socket::recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty())
                .unwrap();
            let fds: Vec<i32> = msg
                .cmsgs()
                .unwrap()
                .flat_map(|c| match c {
                    nix::sys::socket::ControlMessageOwned::ScmRights(f) => f,
                    _ => vec![],
                })
                .collect();
            assert_eq!(fds.len(), 1);
            let n = msg.bytes;
            assert_eq!(&buf[..n], MASTER_NAME.as_bytes());
            h.join().unwrap()
        });
        assert_eq!(hostsys::tty::get_winsize(slave.as_fd()).unwrap()[..2], [24, 80]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
