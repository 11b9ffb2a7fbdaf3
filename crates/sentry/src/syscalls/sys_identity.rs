//! Changing credentials (gVisor: `sys_identity.go`). The ids are the
//! sentry's emulated state, applied to its own permission checks; the host
//! never changes identity. Capabilities are not modelled separately yet:
//! effective uid 0 holds them all (CAP_SETUID, CAP_SETGID...), as for a
//! root process that has not dropped any.

use crate::kernel::task::Credentials;
use crate::kernel::Task;
use abi::Errno;

/// `-1` as an id argument: leave unchanged.
const KEEP: u32 = u32::MAX;

/// Keeps the process table's uid (what `moat ps` shows) in step with the
/// leader's effective uid.
fn publish_uid(task: &Task) {
    if task.tid == task.pid {
        if let Some(p) = task.kernel.procs().get_mut(task.pid) {
            p.uid = task.creds.euid;
        }
    }
}

fn privileged(task: &Task) -> bool {
    task.creds.privileged()
}

/// The real, effective and saved ids of one kind (uids or gids): the
/// set*id rules are the same for both.
struct Ids<'a> {
    real: &'a mut u32,
    eff: &'a mut u32,
    saved: &'a mut u32,
}

fn uids(c: &mut Credentials) -> Ids<'_> {
    Ids { real: &mut c.uid, eff: &mut c.euid, saved: &mut c.suid }
}

fn gids(c: &mut Credentials) -> Ids<'_> {
    Ids { real: &mut c.gid, eff: &mut c.egid, saved: &mut c.sgid }
}

impl Ids<'_> {
    fn has(&self, id: u32) -> bool {
        id == *self.real || id == *self.eff || id == *self.saved
    }

    /// setres[ug]id: unprivileged, each new id must be one of the three.
    fn set_res(self, privileged: bool, r: u32, e: u32, s: u32) -> Result<u64, Errno> {
        if !(privileged || [r, e, s].iter().all(|&id| id == KEEP || self.has(id))) {
            return Err(Errno::EPERM);
        }
        for (slot, id) in [(self.real, r), (self.eff, e), (self.saved, s)] {
            if id != KEEP {
                *slot = id;
            }
        }
        Ok(0)
    }

    /// set[ug]id: privileged sets all three; otherwise only the effective
    /// id, to the real or saved one.
    fn set(self, privileged: bool, id: u32) -> Result<u64, Errno> {
        if id == KEEP {
            return Err(Errno::EINVAL);
        }
        if privileged {
            (*self.real, *self.eff, *self.saved) = (id, id, id);
        } else if id == *self.real || id == *self.saved {
            *self.eff = id;
        } else {
            return Err(Errno::EPERM);
        }
        Ok(0)
    }

    /// setre[ug]id: the saved id follows the new effective one when the
    /// real id is set, or the effective one changes to something other
    /// than the old real id (setreuid(2)).
    fn set_re(self, privileged: bool, r: u32, e: u32) -> Result<u64, Errno> {
        let old_real = *self.real;
        let real_ok = r == KEEP || r == old_real || r == *self.eff;
        if !(privileged || real_ok && (e == KEEP || self.has(e))) {
            return Err(Errno::EPERM);
        }
        if r != KEEP {
            *self.real = r;
        }
        if e != KEEP {
            *self.eff = e;
        }
        if r != KEEP || (e != KEEP && e != old_real) {
            *self.saved = *self.eff;
        }
        Ok(0)
    }
}

pub fn setresuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = privileged(task);
    let r = uids(&mut task.creds).set_res(p, a[0] as u32, a[1] as u32, a[2] as u32)?;
    publish_uid(task);
    Ok(r)
}

pub fn setresgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = privileged(task);
    gids(&mut task.creds).set_res(p, a[0] as u32, a[1] as u32, a[2] as u32)
}

pub fn setuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = privileged(task);
    let r = uids(&mut task.creds).set(p, a[0] as u32)?;
    publish_uid(task);
    Ok(r)
}

pub fn setgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = privileged(task);
    gids(&mut task.creds).set(p, a[0] as u32)
}

pub fn setreuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = privileged(task);
    let r = uids(&mut task.creds).set_re(p, a[0] as u32, a[1] as u32)?;
    publish_uid(task);
    Ok(r)
}

pub fn setregid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = privileged(task);
    gids(&mut task.creds).set_re(p, a[0] as u32, a[1] as u32)
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
