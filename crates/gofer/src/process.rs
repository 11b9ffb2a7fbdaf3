//! The `moat gofer` process: confine, then serve (gVisor:
//! `runsc/cmd/gofer.go`).
//!
//! Order matters: read the spec while the host is still visible; enter
//! new mount, network, IPC and UTS namespaces; pivot into the container's
//! root; open it; drop every capability but the two needed to open files
//! as root; forbid new privileges; install the seccomp allowlist; only
//! then read requests from the sandbox.

use crate::server::serve;
use control::launch::GoferArgs;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use rustix::fs::{Mode, OFlags};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GoferError {
    #[error("{step}: {source}")]
    Step {
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error("seccomp filter: {0}")]
    Seccomp(#[from] seccompiler::Error),
    #[error("serving the sandbox: {0}")]
    Serve(#[from] control::FrameError),
}

fn step<E: Into<std::io::Error>>(what: impl std::fmt::Display) -> impl FnOnce(E) -> GoferError {
    let step = what.to_string();
    move |e| GoferError::Step { step, source: e.into() }
}

/// Runs the gofer; returns the process exit code.
pub fn run(args: GoferArgs) -> i32 {
    match setup_and_serve(&args) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("moat gofer: {e}");
            1
        }
    }
}

fn setup_and_serve(args: &GoferArgs) -> Result<(), GoferError> {
    let sock = hostsys::process::take_inherited_fd(args.sock_fd).map_err(step("--sock-fd"))?;
    let sock = UnixStream::from(sock);
    let (rootfs, readonly) = read_root(&args.bundle)?;
    enter_root(&rootfs, readonly)?;
    let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(step("open the container root"))?;
    drop_capabilities()?;
    nix::sys::prctl::set_no_new_privs().map_err(step("set no_new_privs"))?;
    install_seccomp()?;
    tracing::debug!("gofer serving {}", rootfs.display());
    serve(root.as_fd(), &sock)?;
    Ok(())
}

#[derive(Deserialize)]
struct MiniSpec {
    root: Option<MiniRoot>,
}

#[derive(Deserialize)]
struct MiniRoot {
    path: PathBuf,
    #[serde(default)]
    readonly: bool,
}

/// The root file system of the bundle's spec, resolved against the bundle.
fn read_root(bundle: &Path) -> Result<(PathBuf, bool), GoferError> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(step(format!("read {}", path.display())))?;
    let spec: MiniSpec = serde_json::from_str(&text).map_err(step(format!("parse {}", path.display())))?;
    let root = spec.root.ok_or_else(|| GoferError::Step {
        step: format!("{}", path.display()),
        source: std::io::Error::other("no \"root\" in the spec"),
    })?;
    let rootfs = bundle.join(&root.path);
    let rootfs = rootfs.canonicalize().map_err(step(format!("root file system {}", rootfs.display())))?;
    Ok((rootfs, root.readonly))
}

/// New namespaces, then `rootfs` becomes `/` (pivot_root(".", ".") and a
/// lazy unmount of the old root stacked under it, as runc does).
fn enter_root(rootfs: &Path, readonly: bool) -> Result<(), GoferError> {
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .map_err(step("unshare namespaces"))?;
    // Nothing we mount may propagate back to the host.
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
        .map_err(step("make / a recursive slave"))?;
    let target = staging_point(rootfs)?;
    mount(Some(rootfs), &target, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(step(format!("bind-mount {} on {}", rootfs.display(), target.display())))?;
    if readonly {
        mount(
            None::<&str>,
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(step(format!("remount {} read-only", rootfs.display())))?;
    }
    nix::unistd::chdir(&target).map_err(step(format!("chdir {}", target.display())))?;
    nix::unistd::pivot_root(".", ".").map_err(step("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(step("detach the old root"))?;
    nix::unistd::chdir("/").map_err(step("chdir /"))?;
    Ok(())
}

/// Where to bind-mount the root file system before pivoting into it.
/// Normally onto itself, as runc does. The host's own root (`moat do`)
/// cannot be: a mount stacked on the current root is not reachable by
/// path, and pivot_root refuses the current root. Then the new root is
/// staged on a tmpfs over `/proc`, which the gofer no longer needs (the
/// sentry has its own procfs); the tmpfs shows up, empty but for the
/// staging directory, as `/proc` of the served tree.
fn staging_point(rootfs: &Path) -> Result<PathBuf, GoferError> {
    if rootfs != Path::new("/") {
        return Ok(rootfs.to_path_buf());
    }
    mount(
        Some("tmpfs"),
        "/proc",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0700"),
    )
    .map_err(step("mount the staging tmpfs on /proc"))?;
    let target = PathBuf::from("/proc/root");
    std::fs::create_dir(&target).map_err(step("create /proc/root"))?;
    Ok(target)
}

/// Keeps only what opening any file as root needs.
const KEPT_CAPS: [caps::Capability; 2] = [caps::Capability::CAP_DAC_OVERRIDE, caps::Capability::CAP_DAC_READ_SEARCH];

fn drop_capabilities() -> Result<(), GoferError> {
    let caps_err = |what: &str| {
        let what = what.to_string();
        move |e: caps::errors::CapsError| GoferError::Step { step: what, source: std::io::Error::other(e.to_string()) }
    };
    for cap in caps::all() {
        if !KEPT_CAPS.contains(&cap) && caps::has_cap(None, caps::CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, caps::CapSet::Bounding, cap).map_err(caps_err("drop from the bounding set"))?;
        }
    }
    let kept: caps::CapsHashSet = KEPT_CAPS.into_iter().collect();
    caps::clear(None, caps::CapSet::Ambient).map_err(caps_err("clear ambient capabilities"))?;
    caps::clear(None, caps::CapSet::Inheritable).map_err(caps_err("clear inheritable capabilities"))?;
    caps::set(None, caps::CapSet::Effective, &kept).map_err(caps_err("set effective capabilities"))?;
    caps::set(None, caps::CapSet::Permitted, &kept).map_err(caps_err("set permitted capabilities"))?;
    Ok(())
}

use nix::libc;

/// Every system call the serve loop makes, and why. Anything else kills
/// the process.
pub const ALLOWED_SYSCALLS: &[(i64, &str)] = &[
    (libc::SYS_openat2, "resolve paths inside the root (RESOLVE_IN_ROOT)"),
    (libc::SYS_fstat, "attributes of an opened file"),
    (libc::SYS_newfstatat, "attributes (libc/rustix fstat variants)"),
    (libc::SYS_statx, "attributes (rustix may use statx)"),
    (libc::SYS_readlinkat, "symlink targets"),
    (libc::SYS_getdents64, "directory entries (Readdir)"),
    (libc::SYS_lseek, "resuming a directory listing at a page's cookie (Readdir)"),
    (libc::SYS_fstatfs, "file system statistics of a resolved path (Statfs)"),
    (libc::SYS_recvmsg, "requests with their descriptors"),
    (libc::SYS_sendmsg, "responses with donated descriptors"),
    (libc::SYS_read, "the rest of a request frame"),
    (libc::SYS_recvfrom, "the rest of a request frame (std may use recv)"),
    (libc::SYS_write, "the rest of a response frame; log lines"),
    (libc::SYS_sendto, "the rest of a response frame (std may use send)"),
    (libc::SYS_close, "closing donated and walked descriptors"),
    (libc::SYS_exit_group, "exiting when the sandbox hangs up"),
    (libc::SYS_exit, "thread exit"),
    (libc::SYS_futex, "std's locks (stderr, tracing)"),
    (libc::SYS_sigaltstack, "std's stack-overflow handler at exit"),
    (libc::SYS_rt_sigprocmask, "std and the allocator"),
    (libc::SYS_rt_sigreturn, "returning from a signal handler"),
    (libc::SYS_mmap, "the allocator"),
    (libc::SYS_munmap, "the allocator"),
    (libc::SYS_mremap, "the allocator (realloc of large buffers)"),
    (libc::SYS_brk, "the allocator"),
    (libc::SYS_madvise, "the allocator returning memory"),
    (libc::SYS_clock_gettime, "log timestamps when the vDSO is unavailable"),
    (libc::SYS_getrandom, "hash map seeds"),
    (libc::SYS_sched_yield, "spin locks"),
    (libc::SYS_getpid, "log lines"),
    (libc::SYS_gettid, "log lines"),
];

/// The compiled allowlist.
pub fn seccomp_filter() -> Result<BpfProgram, seccompiler::Error> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED_SYSCALLS.iter().map(|&(nr, _)| (nr, Vec::new())).collect();
    // fcntl(fd, F_GETFD) only: std checks a descriptor is open before
    // closing it (debug builds).
    let getfd = SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, libc::F_GETFD as u64)?;
    rules.insert(libc::SYS_fcntl, vec![SeccompRule::new(vec![getfd])?]);
    let filter = SeccompFilter::new(rules, SeccompAction::KillProcess, SeccompAction::Allow, TargetArch::x86_64)?;
    Ok(filter.try_into()?)
}

fn install_seccomp() -> Result<(), GoferError> {
    let prog = seccomp_filter()?;
    seccompiler::apply_filter(&prog)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_compiles_and_has_no_duplicates() {
        let mut nrs: Vec<i64> = ALLOWED_SYSCALLS.iter().map(|&(n, _)| n).collect();
        nrs.sort();
        nrs.dedup();
        assert_eq!(nrs.len(), ALLOWED_SYSCALLS.len());
        assert!(!ALLOWED_SYSCALLS.iter().any(|&(n, _)| n == libc::SYS_openat || n == libc::SYS_execve));
        assert!(!seccomp_filter().unwrap().is_empty());
    }

    #[test]
    fn root_is_resolved_against_the_bundle() {
        let dir = std::env::temp_dir().join(format!("gofer-spec-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"root":{"path":"rootfs","readonly":true}}"#).unwrap();
        let (root, ro) = read_root(&dir).unwrap();
        assert_eq!(root, dir.canonicalize().unwrap().join("rootfs"));
        assert!(ro);
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        assert!(read_root(&dir).unwrap_err().to_string().contains("no \"root\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
