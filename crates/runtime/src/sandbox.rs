//! Spawning a container's two host processes and the start-up handshake
//! (gVisor: `runsc/sandbox/sandbox.go` and `runsc/container`'s gofer start).
//!
//! * the gofer: `<exe> gofer`, in the host's PID namespace, stdio on
//!   `/dev/null`, its end of the gofer socketpair at fd 3, the log at fd 4;
//! * the sandbox: `<exe> boot`, cloned into a new PID namespace, with the
//!   runtime's own stdio (the container's stdio is that of `moat
//!   create`/`run`) and its descriptors at fixed numbers (see
//!   [`BOOT_FDS`]); then the handshake of `control::launch`.

use crate::error::{Error, Result};
use crate::procs::Proc;
use control::launch::{BootArgs, GoferArgs, SANDBOX_ID, SYNC_FAILED, SYNC_MAPPED, SYNC_READY, SYNC_UNSHARED};
use hostsys::process::{spawn, Spawn};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Descriptor numbers in `moat boot`: control, gofer, sync, exit, log.
pub const BOOT_FDS: [i32; 5] = [3, 4, 5, 6, 7];
/// Descriptor numbers in `moat gofer`: socket, log.
pub const GOFER_FDS: [i32; 2] = [3, 4];

/// Everything [`launch`] needs.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The moat binary to run as `boot` and `gofer` (normally `/proc/self/exe`).
    pub exe: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub control_socket: PathBuf,
    pub exit_file: PathBuf,
    /// Log file, opened for appending and handed to both processes.
    pub log: Option<PathBuf>,
    pub log_format: String,
    pub debug: bool,
    pub strace: bool,
    pub platform: String,
    pub network: String,
    /// runsc's `--overlay2` for the root.
    pub overlay2: String,
    /// How long the sandbox may take to become ready.
    pub timeout: Duration,
    /// The container's cgroup: the gofer and the sandbox are moved into it
    /// right after they are spawned, before either has started work (the
    /// sandbox waits for the handshake, and forks its stubs after it).
    pub cgroup: Option<crate::cgroup::Cgroup>,
    /// The console's pty slave (`process.terminal`): the sandbox's stdio
    /// and controlling terminal, instead of the runtime's stdio.
    pub console: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// The spec's `process.oomScoreAdj`, given to the sandbox and the gofer
    /// (the host's OOM killer judges them; inside, the sentry's acts).
    pub oom_score_adj: Option<i32>,
}

/// The processes of a successfully launched sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Launched {
    pub sandbox: Proc,
    pub gofer: Proc,
}

/// Starts the gofer and the sandbox and runs the handshake. Once the
/// sandbox has its namespaces (and its ids are mapped), `unshared` runs
/// with its pid before the sandbox goes on: the createRuntime hooks, which
/// may set up its network namespace. On failure both processes are killed
/// and reaped, and the control socket and exit file removed; the error
/// carries the sandbox's own message, or `unshared`'s error.
pub fn launch(l: &Launch, unshared: impl FnOnce(i32) -> Result<()>) -> Result<Launched> {
    let id = l.id.clone();
    let start_err = |message: String| Error::SandboxStart { id: id.clone(), message };
    let log = match &l.log {
        Some(p) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o640)
                .open(p)
                .map_err(Error::io("open the log file", p))?,
        ),
        None => None,
    };
    let _ = std::fs::remove_file(&l.control_socket);
    let listener = control::with_socket_path(&l.control_socket, |p| UnixListener::bind(p))
        .map_err(Error::io("listen on", &l.control_socket))?;
    let cleanup_files = || {
        let _ = std::fs::remove_file(&l.control_socket);
        let _ = std::fs::remove_file(&l.exit_file);
    };
    let exit = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .mode(0o644)
        .open(&l.exit_file)
        .map_err(Error::io("create", &l.exit_file))?;
    let devnull = File::open("/dev/null").map_err(Error::io("open", Path::new("/dev/null")))?;
    let (gofer_sandbox_end, gofer_end) = UnixStream::pair().map_err(Error::sys("socketpair for the gofer"))?;
    let (sync, sync_child) = UnixStream::pair().map_err(Error::sys("socketpair for the handshake"))?;
    let exe = l.exe.to_string_lossy().into_owned();

    let gofer_args = GoferArgs {
        bundle: l.bundle.clone(),
        sock_fd: GOFER_FDS[0],
        log_fd: log.as_ref().map(|_| GOFER_FDS[1]),
        log_format: l.log_format.clone(),
        debug: l.debug,
        overlay2: l.overlay2.clone(),
    };
    let mut g = Spawn::new(&exe, &prepend("gofer", gofer_args.to_argv())).map_err(Error::sys("gofer command line"))?;
    g.fds = vec![(devnull.as_raw_fd(), 0), (devnull.as_raw_fd(), 1), (devnull.as_raw_fd(), 2)];
    g.fds.push((gofer_end.as_raw_fd(), GOFER_FDS[0]));
    if let Some(f) = &log {
        g.fds.push((f.as_raw_fd(), GOFER_FDS[1]));
    }
    let gofer_pid = spawn(&g).map_err(|e| {
        cleanup_files();
        start_err(format!("cannot start the gofer {exe}: {e}"))
    })?;
    drop(gofer_end);
    // Into the container's cgroup, with its OOM score, before either
    // process starts work.
    let place = |pid: i32| -> Result<()> {
        if let Some(c) = &l.cgroup {
            c.join(pid)?;
        }
        if let Some(adj) = l.oom_score_adj {
            let path = format!("/proc/{pid}/oom_score_adj");
            std::fs::write(&path, adj.to_string()).map_err(|source| Error::Sys {
                what: format!("process.oomScoreAdj = {adj}: cannot write it to {path}"),
                source,
            })?;
        }
        Ok(())
    };
    if let Err(e) = place(gofer_pid) {
        reap(gofer_pid, Duration::ZERO);
        cleanup_files();
        return Err(e);
    }

    let boot_args = BootArgs {
        bundle: l.bundle.clone(),
        id: l.id.clone(),
        control_fd: BOOT_FDS[0],
        gofer_fd: BOOT_FDS[1],
        sync_fd: BOOT_FDS[2],
        exit_fd: BOOT_FDS[3],
        log_fd: log.as_ref().map(|_| BOOT_FDS[4]),
        log_format: l.log_format.clone(),
        debug: l.debug,
        strace: l.strace,
        platform: l.platform.clone(),
        network: l.network.clone(),
        overlay2: l.overlay2.clone(),
    };
    let mut b = Spawn::new(&exe, &prepend("boot", boot_args.to_argv())).map_err(Error::sys("boot command line"))?;
    cap_malloc_arenas(&mut b.env);
    b.fds = vec![
        (listener.as_raw_fd(), BOOT_FDS[0]),
        (gofer_sandbox_end.as_raw_fd(), BOOT_FDS[1]),
        (sync_child.as_raw_fd(), BOOT_FDS[2]),
        (exit.as_raw_fd(), BOOT_FDS[3]),
    ];
    if let Some(f) = &log {
        b.fds.push((f.as_raw_fd(), BOOT_FDS[4]));
    }
    if let Some(slave) = &l.console {
        b.fds.extend((0..3).map(|i| (slave.as_raw_fd(), i)));
        b.controlling_tty = true;
    }
    b.clone_flags = libc_clone_newpid();
    let sandbox_pid = match spawn(&b) {
        Ok(pid) => pid,
        Err(e) => {
            reap(gofer_pid, Duration::ZERO);
            cleanup_files();
            return Err(start_err(format!("cannot clone the sandbox process: {e}")));
        }
    };
    if let Err(e) = place(sandbox_pid) {
        reap(sandbox_pid, Duration::ZERO);
        reap(gofer_pid, Duration::ZERO);
        cleanup_files();
        return Err(e);
    }
    tracing::debug!(id = %l.id, sandbox_pid, gofer_pid, "spawned sandbox and gofer");
    // The children hold their own copies now; ours must go, or the gofer
    // would never see the sandbox hang up.
    drop((listener, gofer_sandbox_end, sync_child, exit, devnull, log));

    let mut unshared_err = None;
    let result = sync.set_read_timeout(Some(l.timeout)).map_err(|e| e.to_string()).and_then(|()| {
        handshake(&sync, || {
            write_id_maps(sandbox_pid).map_err(|e| format!("cannot write the sandbox's uid/gid maps: {e}"))?;
            unshared(sandbox_pid).map_err(|e| {
                let message = e.to_string();
                unshared_err = Some(e);
                message
            })
        })
    });
    let fail = |message: String| {
        // Give the sandbox a moment to exit by itself, so its status can be told.
        let status = reap(sandbox_pid, Duration::from_millis(500));
        reap(gofer_pid, Duration::ZERO);
        cleanup_files();
        let how = match status {
            Some(WaitStatus::Exited(_, c)) => {
                format!(" (exit status {c}; its own error is on stderr or in the --log file)")
            }
            Some(WaitStatus::Signaled(_, s, _)) => format!(" (killed by {s})"),
            _ => String::new(),
        };
        start_err(format!("{message}{how}"))
    };
    if let Err(message) = result {
        let failed = fail(message);
        return Err(unshared_err.unwrap_or(failed));
    }
    match (Proc::of(sandbox_pid), Proc::of(gofer_pid)) {
        (Some(sandbox), Some(gofer)) => Ok(Launched { sandbox, gofer }),
        (None, _) => Err(fail("the sandbox exited right after reporting ready".into())),
        (_, None) => Err(fail("the gofer exited during start-up".into())),
    }
}

fn prepend(cmd: &str, rest: Vec<String>) -> Vec<String> {
    std::iter::once(cmd.to_string()).chain(rest).collect()
}

fn libc_clone_newpid() -> i32 {
    nix::sched::CloneFlags::CLONE_NEWPID.bits()
}

/// The runtime's side of the handshake on `sync` (see `control::launch`).
/// `map_ids` writes the sandbox's uid/gid maps (and does what must happen
/// before the sandbox goes on). On failure, the message says what the
/// sandbox reported or what went wrong.
pub fn handshake(sync: &UnixStream, map_ids: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let mut r = sync;
    let mut byte = [0u8; 1];
    let read_byte = |r: &mut &UnixStream, b: &mut [u8; 1], stage: &str| -> Result<bool, String> {
        match r.read(b) {
            Ok(0) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Err(format!("timed out waiting for the sandbox {stage}"))
            }
            Err(e) => Err(format!("reading the handshake socket: {e}")),
        }
    };
    let failed = |r: &mut &UnixStream| {
        // The sandbox closes the socket after its message; don't wait long
        // for one that doesn't.
        let _ = r.set_read_timeout(Some(Duration::from_secs(2)));
        let mut msg = String::new();
        let _ = r.read_to_string(&mut msg);
        let msg = msg.trim();
        if msg.is_empty() {
            "the sandbox reported a failure without a message".to_string()
        } else {
            msg.to_string()
        }
    };
    if !read_byte(&mut r, &mut byte, "to unshare its namespaces")? {
        return Err("moat boot exited before the start-up handshake".into());
    }
    match byte[0] {
        SYNC_UNSHARED => {}
        SYNC_FAILED => return Err(failed(&mut r)),
        b => return Err(format!("unexpected handshake byte {b:#04x} (expected 'U')")),
    }
    map_ids()?;
    let mut w = sync;
    w.write_all(&[SYNC_MAPPED]).map_err(|e| format!("sending the go-ahead to the sandbox: {e}"))?;
    if !read_byte(&mut r, &mut byte, "to become ready")? {
        return Err("moat boot exited during start-up without a message".into());
    }
    match byte[0] {
        SYNC_READY => Ok(()),
        SYNC_FAILED => Err(failed(&mut r)),
        b => Err(format!("unexpected handshake byte {b:#04x} (expected 'R' or 'E')")),
    }
}

/// Maps the sandbox's uid and gid [`SANDBOX_ID`] to the same ids outside.
fn write_id_maps(pid: i32) -> std::io::Result<()> {
    let line = format!("{SANDBOX_ID} {SANDBOX_ID} 1\n");
    for map in ["uid_map", "gid_map"] {
        std::fs::write(format!("/proc/{pid}/{map}"), &line)
            .map_err(|e| std::io::Error::new(e.kind(), format!("/proc/{pid}/{map}: {e}")))?;
    }
    Ok(())
}

/// Waits up to `grace` for our child `pid` to exit, then SIGKILLs and
/// reaps it. Returns how it ended, if known.
pub fn reap(pid: i32, grace: Duration) -> Option<WaitStatus> {
    let p = Pid::from_raw(pid);
    let deadline = Instant::now() + grace;
    // Short naps first: a gofer usually ends within a millisecond of its
    // sandbox, and every `moat run` waits here.
    let mut nap = Duration::from_micros(200);
    loop {
        match waitpid(p, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(10));
            }
            Ok(WaitStatus::StillAlive) => break,
            Ok(st) => return Some(st),
            Err(_) => return None,
        }
    }
    let _ = kill(p, Signal::SIGKILL);
    loop {
        match waitpid(p, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(st) => return Some(st),
            Err(_) => return None,
        }
    }
}

/// glibc's malloc opens host files on its own in two places the sandbox's
/// seccomp filter kills it for: a per-thread arena whose heap shrinks reads
/// /proc/sys/vm/overcommit_memory (`check_may_shrink_heap`, on the first
/// large free in a thread arena: a sentry thread freeing a socket buffer),
/// and the ninth arena counts the CPUs in /sys/devices/system/cpu/online.
/// With one arena neither happens: every thread allocates from the main
/// arena, which grows and trims with brk (threads still keep their own
/// tcache for small blocks).
///
/// The mmap and trim thresholds are fixed too. Left to glibc's dynamic
/// ones, how a system call's buffer (a socket write's, a pipe read's) is
/// served depends on the sentry's allocation history: past some point each
/// one became a fresh mapping or a heap grown again and trimmed, so every
/// call faulted its pages in anew (TCP over loopback fell from ~30 to
/// ~10 Gbit/s). Buffers under 16 MiB come from the heap, which keeps up to
/// 32 MiB free before giving memory back.
fn cap_malloc_arenas(env: &mut Vec<std::ffi::CString>) {
    const CAP: &str =
        "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=16777216:glibc.malloc.trim_threshold=33554432";
    let prefix = b"GLIBC_TUNABLES=";
    let existing = env.iter().position(|kv| kv.as_bytes().starts_with(prefix));
    let value = match existing.map(|i| env.remove(i)) {
        Some(kv) => format!("{}:{CAP}", String::from_utf8_lossy(&kv.as_bytes()[prefix.len()..])),
        None => CAP.to_string(),
    };
    env.push(std::ffi::CString::new(format!("GLIBC_TUNABLES={value}")).expect("no NUL in the tunables"));
}

#[cfg(test)]
mod tests {
    #[test]
    fn arena_cap_is_added_or_appended() {
        let mut env = vec![std::ffi::CString::new("A=1").unwrap()];
        cap_malloc_arenas(&mut env);
        assert_eq!(
            env[1].to_str().unwrap(),
            "GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=16777216:\
             glibc.malloc.trim_threshold=33554432"
        );
        let mut env = vec![std::ffi::CString::new("GLIBC_TUNABLES=glibc.malloc.check=3").unwrap()];
        cap_malloc_arenas(&mut env);
        assert_eq!(
            env,
            vec![std::ffi::CString::new(
                "GLIBC_TUNABLES=glibc.malloc.check=3:glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=16777216:\
                 glibc.malloc.trim_threshold=33554432"
            )
            .unwrap()]
        );
    }

    use super::*;

    fn peer(script: &'static [u8]) -> (UnixStream, std::thread::JoinHandle<Vec<u8>>) {
        let (a, b) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || {
            let mut b = b;
            let mut got = Vec::new();
            for &step in script {
                if step == b'?' {
                    let mut x = [0u8];
                    b.read_exact(&mut x).unwrap();
                    got.push(x[0]);
                } else {
                    b.write_all(&[step]).unwrap();
                }
            }
            got
        });
        (a, t)
    }

    #[test]
    fn handshake_success() {
        let (a, t) = peer(b"U?R");
        let mut mapped = false;
        handshake(&a, || {
            mapped = true;
            Ok(())
        })
        .unwrap();
        assert!(mapped);
        assert_eq!(t.join().unwrap(), vec![SYNC_MAPPED]);
    }

    #[test]
    fn handshake_failure_carries_the_message() {
        let (a, t) = peer(b"U?Eno platform");
        let e = handshake(&a, || Ok(())).unwrap_err();
        assert_eq!(e, "no platform");
        t.join().unwrap();
    }

    #[test]
    fn handshake_eof_and_map_errors() {
        let (a, t) = peer(b"");
        t.join().unwrap();
        assert!(handshake(&a, || Ok(())).unwrap_err().contains("exited before"));
        let (a, t) = peer(b"U");
        let e = handshake(&a, || Err("cannot write the sandbox's uid/gid maps: EPERM".into())).unwrap_err();
        assert!(e.contains("uid/gid maps") && e.contains("EPERM"), "{e}");
        t.join().unwrap();
    }

    #[test]
    fn handshake_times_out() {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        assert!(handshake(&a, || Ok(())).unwrap_err().contains("timed out"));
    }
}
