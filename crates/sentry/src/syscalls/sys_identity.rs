//! Changing credentials (gVisor: `sys_identity.go`, `sys_capability.go`).
//! The ids and capability sets are the sentry's emulated state, applied to
//! its own permission checks; the host never changes identity. A uid
//! change adjusts the capability sets as capabilities(7) says.

use crate::kernel::caps::{self, Caps};
use crate::kernel::task::Credentials;
use crate::kernel::Task;
use abi::Errno;

/// `-1` as an id argument: leave unchanged.
const KEEP: u32 = u32::MAX;

/// Keeps the process table's uid (what `moat ps` shows) and capability
/// sets (what other processes' capget reads) in step with the leader's.
pub(crate) fn publish_creds(task: &Task) {
    if task.tid == task.pid {
        if let Some(p) = task.kernel.procs().get_mut(task.pid) {
            p.uid = task.creds.euid;
            p.caps = task.creds.caps;
        }
    }
}

fn may_setuid(task: &Task) -> bool {
    task.creds.capable(caps::CAP_SETUID)
}

fn may_setgid(task: &Task) -> bool {
    task.creds.capable(caps::CAP_SETGID)
}

/// Runs a change of uids and applies its effect on the capability sets.
fn change_uids(task: &mut Task, f: impl FnOnce(Ids<'_>, bool) -> Result<u64, Errno>) -> Result<u64, Errno> {
    let p = may_setuid(task);
    let c = &task.creds;
    let old = (c.uid, c.euid, c.suid);
    let r = f(uids(&mut task.creds), p)?;
    let c = &task.creds;
    let new = (c.uid, c.euid, c.suid);
    task.creds.caps.after_setuid(old, new, task.keepcaps);
    publish_creds(task);
    Ok(r)
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
    change_uids(task, |ids, p| ids.set_res(p, a[0] as u32, a[1] as u32, a[2] as u32))
}

pub fn setresgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = may_setgid(task);
    gids(&mut task.creds).set_res(p, a[0] as u32, a[1] as u32, a[2] as u32)
}

pub fn setuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    change_uids(task, |ids, p| ids.set(p, a[0] as u32))
}

pub fn setgid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = may_setgid(task);
    gids(&mut task.creds).set(p, a[0] as u32)
}

pub fn setreuid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    change_uids(task, |ids, p| ids.set_re(p, a[0] as u32, a[1] as u32))
}

pub fn setregid(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = may_setgid(task);
    gids(&mut task.creds).set_re(p, a[0] as u32, a[1] as u32)
}

pub fn setgroups(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] > crate::kernel::NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !may_setgid(task) {
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

/// `_LINUX_CAPABILITY_VERSION_1` (32-bit sets) and `_2`/`_3` (64-bit,
/// two `__user_cap_data_struct`s).
const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// Reads the header; an unknown version is written back as v3 (EINVAL),
/// as Linux answers a probe. Returns (version's data words, pid).
fn cap_header(task: &Task, hdr: u64) -> Result<(usize, i32), Errno> {
    let mut h = [0u8; 8];
    task.mm.copy_in(hdr, &mut h)?;
    let version = u32::from_le_bytes(h[..4].try_into().unwrap());
    let pid = i32::from_le_bytes(h[4..].try_into().unwrap());
    match version {
        CAP_V1 => Ok((1, pid)),
        CAP_V2 | CAP_V3 => Ok((2, pid)),
        _ => {
            task.mm.copy_out(hdr, &CAP_V3.to_le_bytes())?;
            Err(Errno::EINVAL)
        }
    }
}

/// capget(2): this task's sets, or another thread's in the sandbox.
pub fn capget(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (words, pid) = cap_header(task, a[0])?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = if pid == 0 || pid == task.tid {
        task.creds.caps
    } else {
        // Another thread: its process leader's sets.
        let procs = task.kernel.procs();
        let (tgid, _) = procs.thread(pid).ok_or(Errno::ESRCH)?;
        procs.get(tgid).ok_or(Errno::ESRCH)?.caps
    };
    if a[1] == 0 {
        return Ok(0);
    }
    let mut out = Vec::with_capacity(12 * words);
    for w in 0..words {
        for set in [c.effective, c.permitted, c.inheritable] {
            out.extend_from_slice(&((set >> (32 * w)) as u32).to_le_bytes());
        }
    }
    task.mm.copy_out(a[1], &out)?;
    Ok(0)
}

/// capset(2), on the calling thread only: the new permitted set within the
/// old one, effective within the new permitted, inheritable within the old
/// inheritable and permitted (beyond that CAP_SETPCAP, and never past the
/// bounding set).
pub fn capset(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (words, pid) = cap_header(task, a[0])?;
    if pid != 0 && pid != task.tid {
        return Err(Errno::EPERM);
    }
    let mut raw = vec![0u8; 12 * words];
    task.mm.copy_in(a[1], &mut raw)?;
    let word =
        |i: usize, w: usize| u64::from(u32::from_le_bytes(raw[12 * w + 4 * i..12 * w + 4 * i + 4].try_into().unwrap()));
    let set = |i: usize| (0..words).fold(0u64, |s, w| s | word(i, w) << (32 * w)) & caps::ALL;
    let (effective, permitted, inheritable) = (set(0), set(1), set(2));
    let old = task.creds.caps;
    let inh_limit =
        if old.has(caps::CAP_SETPCAP) { old.bounding | old.inheritable } else { old.inheritable | old.permitted };
    if permitted & !old.permitted != 0
        || effective & !permitted != 0
        || inheritable & !inh_limit != 0
        || inheritable & !(old.bounding | old.inheritable) != 0
    {
        return Err(Errno::EPERM);
    }
    // The ambient set never holds what is not both permitted and inheritable.
    let ambient = old.ambient & permitted & inheritable;
    task.creds.caps = Caps { effective, permitted, inheritable, ambient, ..old };
    publish_creds(task);
    Ok(0)
}

/// prctl(PR_CAP_AMBIENT, op, cap).
pub fn cap_ambient(task: &mut Task, op: u64, cap: u64, rest: u64) -> Result<u64, Errno> {
    const IS_SET: u64 = 1;
    const RAISE: u64 = 2;
    const LOWER: u64 = 3;
    const CLEAR_ALL: u64 = 4;
    if rest != 0 || (op == CLEAR_ALL && cap != 0) {
        return Err(Errno::EINVAL);
    }
    let c = &mut task.creds.caps;
    if op == CLEAR_ALL {
        c.ambient = 0;
        return Ok(0);
    }
    if cap > u64::from(caps::CAP_LAST_CAP) {
        return Err(Errno::EINVAL);
    }
    let bit = 1u64 << cap;
    match op {
        IS_SET => Ok(u64::from(c.ambient & bit != 0)),
        RAISE if c.permitted & c.inheritable & bit == 0 => Err(Errno::EPERM),
        RAISE => {
            c.ambient |= bit;
            Ok(0)
        }
        LOWER => {
            c.ambient &= !bit;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
