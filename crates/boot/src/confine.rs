//! Confinement of the sandbox process, in the order it must happen:
//! namespaces, then (once the runtime has mapped our ids) an empty root,
//! the sandbox identity, and finally no privileges at all.

use crate::BootError;
use control::launch::SANDBOX_ID;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{chdir, pivot_root, setgroups, setresgid, setresuid, Gid, Uid};

fn err(what: &'static str) -> impl Fn(nix::Error) -> BootError {
    move |e| BootError::Confine(format!("{what}: {e}"))
}

/// New user, mount, IPC, UTS and (`new_net`: unless `--network=host`)
/// network namespaces (the PID namespace was made by the runtime when it
/// started us, so that we are its init).
pub fn unshare_namespaces(new_net: bool) -> Result<(), BootError> {
    let mut flags =
        CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS;
    if new_net {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(err("unshare"))
}

/// Pivots into an empty, read-only tmpfs: the sentry can reach no host
/// file by path, only the descriptors it was given.
pub fn enter_empty_root() -> Result<(), BootError> {
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).map_err(err("making / private"))?;
    // Any directory will do as the mount point; the host never sees it.
    let at = ["/tmp", "/mnt", "/run", "/var"]
        .into_iter()
        .find(|d| std::path::Path::new(d).is_dir())
        .ok_or_else(|| BootError::Confine("no directory to mount the empty root on".into()))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("moat-root"), at, Some("tmpfs"), flags, Some("size=4k,mode=0555"))
        .map_err(err("mounting the empty root"))?;
    chdir(at).map_err(err("chdir to the empty root"))?;
    pivot_root(".", ".").map_err(err("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detaching the old root"))?;
    chdir("/").map_err(err("chdir /"))?;
    let ro = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | flags;
    mount(none, "/", none, ro, none).map_err(err("remounting the empty root read-only"))
}

/// Becomes uid/gid 65534 (mapped to the host's nobody) with no groups.
pub fn become_nobody() -> Result<(), BootError> {
    setgroups(&[]).map_err(err("setgroups"))?;
    let gid = Gid::from_raw(SANDBOX_ID);
    setresgid(gid, gid, gid).map_err(err("setresgid"))?;
    let uid = Uid::from_raw(SANDBOX_ID);
    setresuid(uid, uid, uid).map_err(err("setresuid"))?;
    // Changing uid made us non-dumpable; the ptrace platform needs its own
    // threads to attach to the stub threads it forks. Nothing outside the
    // sandbox's user namespace gains access by this: ptrace across user
    // namespaces still needs CAP_SYS_PTRACE over ours.
    nix::sys::prctl::set_dumpable(true).map_err(err("PR_SET_DUMPABLE"))
}

/// Drops every capability from every set, and sets no_new_privs.
pub fn drop_privileges() -> Result<(), BootError> {
    use caps::CapSet;
    let cap_err = |e: caps::errors::CapsError| BootError::Confine(format!("dropping capabilities: {e}"));
    // The bounding set first: dropping from it needs CAP_SETPCAP.
    caps::clear(None, CapSet::Bounding).map_err(cap_err)?;
    caps::clear(None, CapSet::Ambient).map_err(cap_err)?;
    caps::clear(None, CapSet::Inheritable).map_err(cap_err)?;
    caps::clear(None, CapSet::Effective).map_err(cap_err)?;
    caps::clear(None, CapSet::Permitted).map_err(cap_err)?;
    nix::sys::prctl::set_no_new_privs().map_err(err("no_new_privs"))
}
