//! Starting processes the way the runtime needs and std cannot: in new
//! namespaces (`clone(CLONE_NEWPID)`), with chosen descriptors at fixed
//! numbers, and taking ownership of descriptors inherited across `exec`.
//!
//! The child side of [`spawn`] runs between `clone` and `execve` in a copy
//! of a possibly multi-threaded parent, so it only makes async-signal-safe
//! raw calls on data prepared before the clone (gVisor does the same in
//! Go's `syscall.forkAndExecInChild`).

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// What [`spawn`] should start.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// The program to execute (e.g. `/proc/self/exe`).
    pub program: CString,
    /// `argv`, including `argv[0]`.
    pub args: Vec<CString>,
    /// `envp`, as `KEY=VALUE` strings.
    pub env: Vec<CString>,
    /// Descriptors to place in the child: `(source in parent, number in child)`.
    /// Every other descriptor of the parent must be close-on-exec; the
    /// targets have close-on-exec cleared. Targets may include 0, 1 and 2.
    pub fds: Vec<(RawFd, RawFd)>,
    /// Extra `CLONE_*` namespace flags (e.g. `libc::CLONE_NEWPID`); the
    /// child's exit is always reported to the parent with `SIGCHLD`.
    pub clone_flags: i32,
    /// Start a new session with the terminal at fd 0 as its controlling
    /// terminal (setsid + TIOCSCTTY), as runc does for a container's
    /// console: the terminal's signals then reach the child.
    pub controlling_tty: bool,
}

impl Spawn {
    /// Builds a spawn request from UTF-8 strings; fails on interior NULs.
    pub fn new(program: &str, args: &[String]) -> io::Result<Spawn> {
        let c = |s: &str| CString::new(s).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e));
        Ok(Spawn {
            program: c(program)?,
            args: std::iter::once(Ok(c(program)?)).chain(args.iter().map(|a| c(a))).collect::<io::Result<_>>()?,
            env: std::env::vars_os()
                .filter_map(|(k, v)| {
                    let mut kv = k.into_encoded_bytes();
                    kv.push(b'=');
                    kv.extend(v.into_encoded_bytes());
                    CString::new(kv).ok()
                })
                .collect(),
            fds: Vec::new(),
            clone_flags: 0,
            controlling_tty: false,
        })
    }
}

/// Starts `spec` in a child created by `clone(flags | SIGCHLD)` and returns
/// its pid (as seen from the parent's PID namespace). If the child cannot
/// exec, it exits with status 127 after writing a short message to fd 2.
pub fn spawn(spec: &Spawn) -> io::Result<i32> {
    let mut argv: Vec<*const libc::c_char> = spec.args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = spec.env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let max_target = spec.fds.iter().map(|&(_, t)| t).max().unwrap_or(0);
    // The child first copies every source above all targets, so that a
    // source equal to another target is not clobbered by an earlier dup2.
    let scratch = max_target + 1;
    // Filled in by the child (in its own copy); allocated here because the
    // child must not allocate.
    let mut moved: Vec<RawFd> = vec![-1; spec.fds.len()];
    let flags = (spec.clone_flags | libc::SIGCHLD) as libc::c_ulong;

    // A raw clone without CLONE_VM or a new stack behaves like fork(): the
    // child continues here with 0 in a copy of the address space.
    // SAFETY: the child only runs `child_exec` (async-signal-safe calls on
    // memory prepared above), which never returns.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        child_exec(&spec.program, &argv, &envp, &spec.fds, &mut moved, scratch, spec.controlling_tty);
    }
    Ok(pid as i32)
}

/// The child's side of [`spawn`]: place descriptors, reset the signal
/// mask, exec. Never returns.
fn child_exec(
    program: &CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    fds: &[(RawFd, RawFd)],
    moved: &mut [RawFd],
    scratch: RawFd,
    controlling_tty: bool,
) -> ! {
    // `argv` and `envp` are NULL-terminated arrays of pointers to CStrings
    // that live in this (copied) address space until execve.
    // SAFETY: only async-signal-safe calls (fcntl, dup2, setsid, ioctl,
    // sigprocmask, execve, write, _exit) on descriptors and memory this process owns.
    unsafe {
        for (slot, &(src, _)) in moved.iter_mut().zip(fds) {
            *slot = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, scratch);
            if *slot < 0 {
                fail(b"moat: child: cannot duplicate a descriptor\n");
            }
        }
        for (&copy, &(_, target)) in moved.iter().zip(fds) {
            // dup2 leaves the new descriptor without close-on-exec.
            if libc::dup2(copy, target) < 0 {
                fail(b"moat: child: dup2 failed\n");
            }
            libc::close(copy);
        }
        if controlling_tty && (libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0) {
            fail(b"moat: child: cannot make the console the controlling terminal\n");
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(b"moat: child: execve failed\n");
    }
}

fn fail(msg: &[u8]) -> ! {
    // SAFETY: write and _exit are async-signal-safe; `msg` is a valid slice.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}

/// Gives SIGPIPE back its default action (the Rust runtime ignores it), so
/// a command line whose output pipe closes (`moat list | head`) ends
/// quietly, as other Unix tools do, instead of failing on EPIPE. Processes
/// exec'd from here start with the runtime's ignore again.
pub fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL installs no handler
    // and touches no memory of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// Descriptors already claimed by [`take_inherited_fd`].
static CLAIMED: Mutex<Option<HashSet<RawFd>>> = Mutex::new(None);

/// Takes ownership of a descriptor this process inherited across `exec`
/// (the `--*-fd` arguments of `moat boot`/`moat gofer`). Fails if `fd` is
/// not open, is stdio, or was already claimed, so that two owners can
/// never close the same descriptor. The descriptor is made close-on-exec.
pub fn take_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    if fd <= 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd {fd} is stdio, not an inherited descriptor"),
        ));
    }
    let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
    let claimed = claimed.get_or_insert_with(HashSet::new);
    if claimed.contains(&fd) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("fd {fd} was already taken")));
    }
    // SAFETY: fcntl on an arbitrary number has no memory effects; it fails
    // with EBADF if the descriptor is not open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::other(format!("fd {fd}: {}", io::Error::last_os_error())));
    }
    // SAFETY: as above; setting FD_CLOEXEC on an open descriptor.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    claimed.insert(fd);
    // SAFETY: `fd` is open, was inherited (nothing in this process owns it
    // yet, as it was passed on the command line), and the CLAIMED set
    // guarantees no second OwnedFd is ever made for it here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    fn wait(pid: i32) -> i32 {
        let mut status = 0;
        // SAFETY: waiting for our own child; `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        status
    }

    #[test]
    fn spawn_places_descriptors_at_fixed_numbers() {
        let (mut r, w) = std::io::pipe().unwrap();
        // The child writes to fd 5 (our pipe) and to fd 6 (also the pipe,
        // given twice, which exercises overlapping moves).
        let mut s = Spawn::new("/bin/sh", &["-c".into(), "echo five >&5; echo six >&6".into()]).unwrap();
        s.fds = vec![(w.as_raw_fd(), 5), (w.as_raw_fd(), 6)];
        let pid = spawn(&s).unwrap();
        drop(w);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "five\nsix\n");
        assert_eq!(wait(pid), 0);
    }

    #[test]
    fn exec_failure_exits_127() {
        let s = Spawn::new("/nonexistent/prog", &[]).unwrap();
        let pid = spawn(&s).unwrap();
        let st = wait(pid);
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 127);
    }

    #[test]
    fn inherited_fds_are_claimed_once() {
        let (r, _w) = std::io::pipe().unwrap();
        let raw = OwnedFd::from(r);
        let n = std::os::fd::IntoRawFd::into_raw_fd(raw);
        let fd = take_inherited_fd(n).unwrap();
        assert!(take_inherited_fd(n).is_err());
        assert!(take_inherited_fd(1).is_err());
        drop(fd);
    }
}
