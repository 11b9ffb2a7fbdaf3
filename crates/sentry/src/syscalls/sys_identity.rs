//! Changing credentials (gVisor: `sys_identity.go`). The ids are the
//! sentry's emulated state, applied to its own permission checks; the host
//! never changes identity. Capabilities are not modelled separately yet:
//! effective uid 0 holds them all (CAP_SETUID, CAP_SETGID...), as for a
//! root process that has not dropped any.

use crate::kernel::Task;
use abi::Errno;

/// `-1` as an id argument: leave unchanged.
const KEEP: u32 = u32::MAX;

fn privileged(task: &Task) -> bool {
    task.creds.euid == 0
}

pub fn setresuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e, s) = (a[0] as u32, a[1] as u32, a[2] as u32);
    let c = &task.creds;
    let allowed = |id: u32| id == KEEP || id == c.uid || id == c.euid || id == c.suid;
    if !(privileged(task) || allowed(r) && allowed(e) && allowed(s)) {
        return Err(Errno::EPERM);
    }
    let c = &mut task.creds;
    if r != KEEP {
        c.uid = r;
    }
    if e != KEEP {
        c.euid = e;
    }
    if s != KEEP {
        c.suid = s;
    }
    Ok(0)
}

pub fn setresgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e, s) = (a[0] as u32, a[1] as u32, a[2] as u32);
    let c = &task.creds;
    let allowed = |id: u32| id == KEEP || id == c.gid || id == c.egid || id == c.sgid;
    if !(privileged(task) || allowed(r) && allowed(e) && allowed(s)) {
        return Err(Errno::EPERM);
    }
    let c = &mut task.creds;
    if r != KEEP {
        c.gid = r;
    }
    if e != KEEP {
        c.egid = e;
    }
    if s != KEEP {
        c.sgid = s;
    }
    Ok(0)
}

/// `setuid`: root sets all three ids; others only the effective one, to
/// their real or saved id.
pub fn setuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let id = a[0] as u32;
    if id == KEEP {
        return Err(Errno::EINVAL);
    }
    if privileged(task) {
        let c = &mut task.creds;
        (c.uid, c.euid, c.suid) = (id, id, id);
        return Ok(0);
    }
    if id != task.creds.uid && id != task.creds.suid {
        return Err(Errno::EPERM);
    }
    task.creds.euid = id;
    Ok(0)
}

pub fn setgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let id = a[0] as u32;
    if id == KEEP {
        return Err(Errno::EINVAL);
    }
    if privileged(task) {
        let c = &mut task.creds;
        (c.gid, c.egid, c.sgid) = (id, id, id);
        return Ok(0);
    }
    if id != task.creds.gid && id != task.creds.sgid {
        return Err(Errno::EPERM);
    }
    task.creds.egid = id;
    Ok(0)
}

/// `setreuid`: the saved id follows the new effective one when the real id
/// is set, or the effective one changes to something other than the old
/// real id (setreuid(2)).
pub fn setreuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e) = (a[0] as u32, a[1] as u32);
    let old = task.creds.clone();
    if !privileged(task)
        && ((r != KEEP && r != old.uid && r != old.euid)
            || (e != KEEP && e != old.uid && e != old.euid && e != old.suid))
    {
        return Err(Errno::EPERM);
    }
    let c = &mut task.creds;
    if r != KEEP {
        c.uid = r;
    }
    if e != KEEP {
        c.euid = e;
    }
    if r != KEEP || (e != KEEP && e != old.uid) {
        c.suid = c.euid;
    }
    Ok(0)
}

pub fn setregid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e) = (a[0] as u32, a[1] as u32);
    let old = task.creds.clone();
    if !privileged(task)
        && ((r != KEEP && r != old.gid && r != old.egid)
            || (e != KEEP && e != old.gid && e != old.egid && e != old.sgid))
    {
        return Err(Errno::EPERM);
    }
    let c = &mut task.creds;
    if r != KEEP {
        c.gid = r;
    }
    if e != KEEP {
        c.egid = e;
    }
    if r != KEEP || (e != KEEP && e != old.gid) {
        c.sgid = c.egid;
    }
    Ok(0)
}

pub fn setgroups(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const NGROUPS_MAX: u64 = 65536;
    if a[0] > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !privileged(task) {
        return Err(Errno::EPERM);
    }
    let mut raw = vec![0u8; a[0] as usize * 4];
    task.mm.copy_in(a[1], &mut raw)?;
    let mut groups: Vec<u32> = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    groups.sort_unstable();
    groups.dedup();
    task.creds.groups = groups;
    Ok(0)
}
