//! The `moat gofer` process: confine, then serve (gVisor:
//! `runsc/cmd/gofer.go`).
//!
//! Order matters: read the spec while the host is still visible; enter
//! new mount, network, IPC and UTS namespaces; open a detached copy of
//! each bind mount's source (as runsc opens its mounts before pivoting);
//! pivot into the container's root; open it; drop every capability but
//! those needed to open and change files as root; forbid new privileges;
//! install the seccomp allowlist; only then read requests from the
//! sandbox.

use crate::proto::{is_bind, BindOptions};
use crate::server::{serve, Tree};
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
    let binds = read_binds(&args.bundle)?;
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .map_err(step("unshare namespaces"))?;
    // Nothing we mount may propagate back to the host.
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
        .map_err(step("make / a recursive slave"))?;
    let staged = binds.iter().map(stage_bind).collect::<Result<Vec<_>, _>>()?;
    enter_root(&rootfs, readonly)?;
    let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(step("open the container root"))?;
    drop_capabilities()?;
    nix::sys::prctl::set_no_new_privs().map_err(step("set no_new_privs"))?;
    // Modes come from the sentry, which applied the task's umask.
    rustix::process::umask(Mode::empty());
    install_seccomp()?;
    tracing::debug!("gofer serving {} and {} bind mounts", rootfs.display(), staged.len());
    // With the root overlay (the default) the sentry writes nothing to the
    // root: refusing here too keeps a compromised sentry off the image.
    let root_changes = args.overlay2 == "none" && !readonly;
    let mut trees = vec![Tree { root: root.as_fd(), file: None, readonly: !root_changes }];
    trees.extend(staged.iter().map(|s| Tree {
        root: s.fd.as_fd(),
        file: s.file.as_deref(),
        readonly: s.opts.readonly,
    }));
    serve(&trees, &sock)?;
    Ok(())
}

#[derive(Deserialize)]
struct MiniSpec {
    root: Option<MiniRoot>,
    #[serde(default)]
    mounts: Option<Vec<MiniMount>>,
}

#[derive(Deserialize)]
struct MiniMount {
    destination: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    source: Option<PathBuf>,
    #[serde(default)]
    options: Option<Vec<String>>,
}

/// A bind mount the gofer serves: its host source and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub destination: String,
    pub source: PathBuf,
    pub recursive: bool,
    pub opts: BindOptions,
}

/// The spec's bind mounts, in order (mount `i` is the `i`-th, from 1).
/// A relative source is taken relative to the bundle, as runc does.
fn read_binds(bundle: &Path) -> Result<Vec<Bind>, GoferError> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(step(format!("read {}", path.display())))?;
    let spec: MiniSpec = serde_json::from_str(&text).map_err(step(format!("parse {}", path.display())))?;
    let mut out = Vec::new();
    for m in spec.mounts.unwrap_or_default() {
        let options = m.options.unwrap_or_default();
        if !is_bind(m.kind.as_deref().unwrap_or(""), &options) {
            continue;
        }
        let source = m.source.ok_or_else(|| GoferError::Step {
            step: format!("{}: bind mount on {}", path.display(), m.destination),
            source: std::io::Error::other("no \"source\""),
        })?;
        let (opts, _) = BindOptions::parse(&options);
        out.push(Bind {
            destination: m.destination,
            source: bundle.join(source),
            recursive: options.iter().any(|o| o == "rbind"),
            opts,
        });
    }
    Ok(out)
}

/// A staged bind: the descriptor its tree is served from.
struct Staged {
    fd: std::os::fd::OwnedFd,
    /// For a single-file bind, the file's name in the directory `fd`.
    file: Option<String>,
    opts: BindOptions,
}

/// Opens a bind mount's source. A directory becomes a
/// detached copy of its mount (`open_tree`, with its submounts for
/// `rbind`), outside every mount tree, so the detach of the old root at
/// the pivot leaves it whole; it gets `nosuid,nodev` always and
/// `ro`/`noexec` as asked, on every submount, so the host kernel enforces
/// them as well. A single file is served through its (canonical) parent
/// directory and its name (a copy of a file's mount could not be opened
/// again for reading or writing without /proc); there `ro` is the gofer's
/// and the sentry's check only, and only that name is reachable.
fn stage_bind(b: &Bind) -> Result<Staged, GoferError> {
    use hostsys::mount::*;
    let what = format!("bind mount {} (source {})", b.destination, b.source.display());
    let meta = std::fs::metadata(&b.source).map_err(step(&what))?;
    if !meta.is_dir() {
        let real = b.source.canonicalize().map_err(step(&what))?;
        let (Some(dir), Some(name)) = (real.parent(), real.file_name().and_then(|n| n.to_str())) else {
            return Err(GoferError::Step { step: what, source: std::io::Error::other("not a file with a UTF-8 name") });
        };
        let fd = rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(step(format!("{what}: open {}", dir.display())))?;
        return Ok(Staged { fd, file: Some(name.to_string()), opts: b.opts });
    }
    let fd = clone_tree(&b.source, b.recursive).map_err(step(format!("{what}: open_tree")))?;
    let mut set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if b.opts.readonly {
        set |= MOUNT_ATTR_RDONLY;
    }
    if b.opts.noexec {
        set |= MOUNT_ATTR_NOEXEC;
    }
    set_attrs(fd.as_fd(), set, true).map_err(step(format!("{what}: mount_setattr")))?;
    Ok(Staged { fd, file: None, opts: b.opts })
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

/// Keeps only what opening any file as root needs, and what changes on
/// the sentry's behalf need: giving new files the caller's owner (CHOWN),
/// changing modes and times of files the gofer does not own (FOWNER,
/// FSETID keeps the set-group-id bit the sentry asked for). The sentry
/// has checked the caller's permissions.
const KEPT_CAPS: [caps::Capability; 5] = [
    caps::Capability::CAP_DAC_OVERRIDE,
    caps::Capability::CAP_DAC_READ_SEARCH,
    caps::Capability::CAP_CHOWN,
    caps::Capability::CAP_FOWNER,
    caps::Capability::CAP_FSETID,
];

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
    (libc::SYS_flistxattr, "user.* extended attributes (Xattrs)"),
    (libc::SYS_fgetxattr, "user.* extended attributes (Xattrs)"),
    (libc::SYS_newfstatat, "attributes (libc/rustix fstat variants)"),
    (libc::SYS_statx, "attributes (rustix may use statx)"),
    (libc::SYS_readlinkat, "symlink targets"),
    (libc::SYS_getdents64, "directory entries (Readdir)"),
    (libc::SYS_lseek, "resuming a directory listing at a page's cookie (Readdir)"),
    (libc::SYS_fstatfs, "file system statistics of a resolved path (Statfs)"),
    (libc::SYS_mkdirat, "Mkdir"),
    (libc::SYS_mknodat, "MknodSocket (sockets only; the request carries no type)"),
    (libc::SYS_symlinkat, "Symlink"),
    (libc::SYS_linkat, "Link"),
    (libc::SYS_unlinkat, "Unlink, Rmdir"),
    (libc::SYS_renameat2, "Rename"),
    (libc::SYS_fchown, "the owner of a file Open created"),
    (libc::SYS_fchownat, "SetAttr (owner); the owner of new directories and symlinks"),
    (hostsys::fd::SYS_FCHMODAT2, "SetAttr (mode) on an O_PATH descriptor"),
    (libc::SYS_ftruncate, "SetAttr (size)"),
    (libc::SYS_utimensat, "SetAttr (times)"),
    (libc::SYS_recvmsg, "requests with their descriptors"),
    (libc::SYS_poll, "looking for the next request before sleeping"),
    (libc::SYS_ppoll, "looking for the next request before sleeping (rustix may use ppoll)"),
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
