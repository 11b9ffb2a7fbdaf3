//! `mount`, `umount2` and `pivot_root` on the caller's mount namespace
//! (gVisor: `sys_mount.go`, `sys_pivot_root.go`; Linux: `fs/namespace.c`).
//!
//! What a call may do follows Linux's `path_mount`: MS_REMOUNT (with
//! MS_BIND: the mount's own flags), MS_BIND, a propagation change, MS_MOVE,
//! else a new mount of `tmpfs`, `proc`, `sysfs` or `devpts`. Every mount is
//! private: propagation types are recorded, nothing propagates.

use super::sys_file::{at_path, read_path};
use crate::kernel::caps::CAP_SYS_ADMIN;
use crate::kernel::Task;
use crate::vfs::mount::{ms, normalize, under, FileSystem, MountTable};
use abi::{fcntl, Errno};
use std::sync::Arc;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;

const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const MNT_EXPIRE: u64 = 4;
const UMOUNT_NOFOLLOW: u64 = 8;
/// The magic some callers still put in the flags' top half (`MS_MGC_VAL`).
const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
/// `MS_NOUSER`: never from user space.
const MS_NOUSER: u64 = 1 << 31;

/// The whole-namespace path `path` names for the caller, links followed,
/// and whether it is a directory; ENOENT/ENOTDIR/EACCES as the walk finds.
fn walk(task: &Task, raw: &str, follow: bool) -> Result<(String, bool), Errno> {
    let path = at_path(task, fcntl::AT_FDCWD, raw)?;
    let (fs, inner, named) = task.mnt.resolve_named(task, &path, follow)?;
    let st = fs.stat(task, &inner, follow)?;
    Ok((normalize(&named), st.mode & S_IFMT == S_IFDIR))
}

/// A string argument (`fstype`, `data`): at most a page, as Linux copies.
fn read_str(task: &Task, addr: u64) -> Result<Option<String>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let bytes = task.mm.read_cstring(addr, abi::PAGE_SIZE as usize)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

use crate::vfs::mount::mount_flags;

pub fn mount(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut flags = a[3];
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    // Linux's order: the arguments copied, the target walked, then the
    // checks of `path_mount`.
    let target_raw = read_path(task, a[1])?;
    let kind = read_str(task, a[2])?;
    let data = read_str(task, a[4])?.unwrap_or_default();
    let (target, target_dir) = walk(task, &target_raw, true)?;
    if flags & MS_NOUSER != 0 {
        return Err(Errno::EINVAL);
    }
    if !task.creds.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    const KNOWN: u64 = ms::PER_MOUNT
        | ms::PROPAGATION
        | ms::REMOUNT
        | ms::BIND
        | ms::MOVE
        | ms::REC
        | ms::SILENT
        | ms::LAZYTIME
        | ms::SYNCHRONOUS
        | ms::DIRSYNC
        | ms::MANDLOCK
        | ms::NOSYMFOLLOW;
    let unmodelled = flags & (ms::SYNCHRONOUS | ms::DIRSYNC | ms::MANDLOCK | ms::NOSYMFOLLOW | (!KNOWN & 0xffff_ffff));
    if unmodelled != 0 {
        tracing::warn!(flags = format_args!("{unmodelled:#x}"), target, "mount flags not supported: EINVAL");
        return Err(Errno::EINVAL);
    }
    if flags & ms::LAZYTIME != 0 {
        tracing::info!(target, "MS_LAZYTIME accepted without effect: timestamps live in the sandbox's memory");
    }
    if flags & ms::REMOUNT != 0 {
        return remount(task, &target, flags, &data);
    }
    if flags & ms::BIND != 0 {
        let source_raw = read_path(task, a[0])?;
        let (source, source_dir) = walk(task, &source_raw, true)?;
        if source_dir != target_dir {
            return Err(Errno::ENOTDIR);
        }
        let mut table = task.mnt.write();
        if table.mount_of(&source).0.propagation == ms::UNBINDABLE {
            return Err(Errno::EINVAL);
        }
        table.bind(&source, &target, flags & ms::REC != 0);
        return Ok(0);
    }
    if flags & ms::PROPAGATION != 0 {
        let kind = flags & ms::PROPAGATION;
        if !kind.is_power_of_two() || flags & !(ms::PROPAGATION | ms::REC | ms::SILENT) != 0 {
            return Err(Errno::EINVAL);
        }
        let mut table = task.mnt.write();
        let id = table.mount_at(&target).ok_or(Errno::EINVAL)?.id;
        table.set_propagation(id, kind, flags & ms::REC != 0);
        return Ok(0);
    }
    if flags & ms::MOVE != 0 {
        let source_raw = read_path(task, a[0])?;
        let (source, _) = walk(task, &source_raw, true)?;
        let mut table = task.mnt.write();
        let m = table.mount_at(&source).ok_or(Errno::EINVAL)?;
        if m.parent == 0 {
            return Err(Errno::EINVAL);
        }
        if under(&target, &source) {
            return Err(Errno::ELOOP);
        }
        let id = m.id;
        table.move_mount(id, &target)?;
        return Ok(0);
    }
    let Some(kind) = kind else { return Err(Errno::EINVAL) };
    let source = read_str(task, a[0])?.unwrap_or_else(|| "none".into());
    let (fs, options) = new_fs(task, &kind, &target, &data)?;
    if !target_dir {
        return Err(Errno::ENOTDIR);
    }
    task.mnt.write().attach(&target, fs, "/", mount_flags(flags), &source, options);
    Ok(0)
}

/// Options of `data` as a list; empty for none.
fn options(data: &str) -> Vec<String> {
    data.split(',').filter(|o| !o.is_empty()).map(str::to_string).collect()
}

/// A new instance of file system `kind` for `target` from the `data`
/// options, and the options as mountinfo shows them.
fn new_fs(task: &Task, kind: &str, target: &str, data: &str) -> Result<(Arc<dyn FileSystem>, String), Errno> {
    let opts = options(data);
    let refuse = |unknown: &[&String]| {
        tracing::warn!(kind, target, ?unknown, "mount options not supported: EINVAL");
        Err(Errno::EINVAL)
    };
    match kind {
        "tmpfs" => {
            const TMPFS: &[&str] = &["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "huge", "mpol"];
            let unknown: Vec<&String> =
                opts.iter().filter(|o| !TMPFS.contains(&o.split('=').next().unwrap_or(""))).collect();
            if !unknown.is_empty() {
                return refuse(&unknown);
            }
            for o in
                opts.iter().filter(|o| !["size", "mode", "uid", "gid"].contains(&o.split('=').next().unwrap_or("")))
            {
                tracing::info!(kind, target, option = o, "tmpfs option accepted without effect");
            }
            let o = crate::fs::tmpfs::Options::parse(&opts, task.kernel.total_memory).map_err(|e| {
                tracing::warn!(target, "{e}: EINVAL");
                Errno::EINVAL
            })?;
            let shown = o.shown();
            Ok((Arc::new(crate::fs::tmpfs::TmpFs::new(target, o)), shown))
        }
        "proc" | "sysfs" => {
            if !opts.is_empty() {
                return refuse(&opts.iter().collect::<Vec<_>>());
            }
            let fs: Arc<dyn FileSystem> = if kind == "proc" {
                Arc::new(crate::fs::proc::ProcFs::new())
            } else {
                Arc::new(crate::fs::sys::SysFs::new())
            };
            Ok((fs, String::new()))
        }
        "devpts" => {
            const DEVPTS: &[&str] = &["newinstance", "ptmxmode", "mode", "gid", "uid", "max"];
            let unknown: Vec<&String> =
                opts.iter().filter(|o| !DEVPTS.contains(&o.split('=').next().unwrap_or(""))).collect();
            if !unknown.is_empty() {
                return refuse(&unknown);
            }
            if !opts.is_empty() {
                tracing::info!(
                    target,
                    ?opts,
                    "devpts options accepted: every instance behaves as mode=620,ptmxmode=666"
                );
            }
            Ok((Arc::new(crate::fs::devpts::DevPts::new(Arc::downgrade(&task.kernel))), String::new()))
        }
        other => {
            tracing::warn!(kind = other, target, "mounts of this file system type are not supported: ENODEV");
            Err(Errno::ENODEV)
        }
    }
}

/// MS_REMOUNT: the mount's own flags change (with MS_BIND, as Linux's
/// `reconfigure_mnt`; without, the same, the file system's options
/// staying as they were: `data` other than flag names is refused).
fn remount(task: &Task, target: &str, flags: u64, data: &str) -> Result<u64, Errno> {
    if flags & ms::BIND == 0 {
        const FLAGS: &[&str] = &["ro", "rw", "nosuid", "nodev", "noexec", "relatime", "noatime", "strictatime"];
        let unknown: Vec<String> = options(data).into_iter().filter(|o| !FLAGS.contains(&o.as_str())).collect();
        if !unknown.is_empty() {
            tracing::warn!(target, ?unknown, "changing a file system's options on remount is not supported: EINVAL");
            return Err(Errno::EINVAL);
        }
    }
    let mut table = task.mnt.write();
    let m = table.mount_at(target).ok_or(Errno::EINVAL)?;
    let mut new = mount_flags(flags);
    if flags & (ms::NOATIME | ms::STRICTATIME | ms::RELATIME) == 0 && flags & ms::BIND == 0 {
        // A plain remount keeps the atime mode unless it names one.
        new = (new & !ms::RELATIME) | (m.flags & (ms::RELATIME | ms::NOATIME | ms::NODIRATIME));
    }
    let id = m.id;
    table.set_flags(id, new);
    Ok(0)
}

pub fn umount2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[1];
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    // Linux's order: the walk, then `can_umount`, then `do_umount`.
    let raw = read_path(task, a[0])?;
    let (target, _) = walk(task, &raw, flags & UMOUNT_NOFOLLOW == 0)?;
    if !task.creds.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let mut table = task.mnt.write();
    let m = table.mount_at(&target).ok_or(Errno::EINVAL)?;
    if flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (id, fs) = (m.id, m.fs.clone());
    if flags & MNT_DETACH == 0 {
        // Busy if the caller works inside it (other tasks' working
        // directories and open files are not counted).
        let inside = |p: &str| {
            let norm = normalize(p);
            under(&norm, &target) && table.mount_of(&norm).0.id == id
        };
        if inside(&task.cwd) || inside(&task.root) && task.root != "/" {
            return Err(Errno::EBUSY);
        }
    }
    if flags & MNT_EXPIRE != 0 && !table.mark_expiry(id) {
        // The first MNT_EXPIRE marks the mount; the next unmounts it.
        return Err(Errno::EAGAIN);
    }
    table.unmount(id, flags & MNT_DETACH != 0)?;
    let still_mounted = table.all().iter().any(|m| MountTable::same(&m.fs, &fs));
    drop(table);
    // A file system with device numbers of its own is gone with its last
    // mount here: inotify's watches on it end (IN_UNMOUNT). Those on the
    // host's devices (gofer mounts, the root) are left alone: other mounts
    // show the same devices.
    if !still_mounted && matches!(fs.name(), "tmpfs" | "proc" | "sysfs" | "devpts") {
        if let Ok(st) = fs.stat(task, "/", false) {
            task.kernel.inotify.unmounted(st.dev);
        }
    }
    Ok(0)
}

/// `pivot_root(new_root, put_old)`, with Linux's checks in its order
/// (`fs/namespace.c`): both directories, neither on the root's own mount
/// (EBUSY), new_root a mount point and put_old below it (EINVAL).
pub fn pivot_root(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if !task.creds.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let new_raw = read_path(task, a[0])?;
    let old_raw = read_path(task, a[1])?;
    let (new_root, new_dir) = walk(task, &new_raw, true)?;
    if !new_dir {
        return Err(Errno::ENOTDIR);
    }
    let (put_old, old_dir) = walk(task, &old_raw, true)?;
    if !old_dir {
        return Err(Errno::ENOTDIR);
    }
    let mut table = task.mnt.write();
    let root_id = table.all().iter().find(|m| m.parent == 0).map(|m| m.id).expect("a root");
    let new_mnt = table.mount_of(&new_root).0.clone();
    let old_mnt = table.mount_of(&put_old).0.id;
    if new_mnt.id == root_id || old_mnt == root_id {
        return Err(Errno::EBUSY);
    }
    if task.root != "/" || new_mnt.point != new_root || !under(&put_old, &new_root) {
        return Err(Errno::EINVAL);
    }
    table.pivot(&new_root, &put_old)?;
    task.mnt.record_pivot(&new_root, &put_old);
    drop(table);
    // The caller's working directory, named anew now; the other tasks of
    // the namespace follow when they next enter the kernel.
    task.follow_pivots();
    Ok(0)
}
