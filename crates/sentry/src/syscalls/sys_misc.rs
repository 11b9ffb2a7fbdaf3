//! `uname`, `sysinfo` and `getrandom` (gVisor: `sys_utsname.go`,
//! `sys_sysinfo.go`, `sys_random.go`).

use crate::kernel::{Task, RELEASE, VERSION};
use abi::{Errno, UtsName};

fn field(s: &str) -> [u8; 65] {
    let mut f = [0u8; 65];
    let n = s.len().min(64);
    f[..n].copy_from_slice(&s.as_bytes()[..n]);
    f
}

pub fn uname(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let u = {
        let uts = task.uts.lock().unwrap();
        UtsName {
            sysname: field("Linux"),
            nodename: field(&uts.hostname),
            release: field(RELEASE),
            version: field(VERSION),
            machine: field("x86_64"),
            domainname: field(&uts.domainname),
        }
    };
    task.mm.write_obj(a[0], &u).map(|_| 0)
}

/// `sethostname` and `setdomainname`: the container's own UTS names (its
/// UTS namespace is the sandbox's), for a privileged caller.
fn set_uts_name(
    task: &Task,
    addr: u64,
    len: u64,
    which: fn(&mut crate::kernel::Uts) -> &mut String,
) -> Result<u64, Errno> {
    if !task.creds.capable(crate::kernel::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    // __NEW_UTS_LEN.
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    let mut name = vec![0u8; len as usize];
    task.mm.copy_in(addr, &mut name)?;
    // Linux keeps the bytes as given; a NUL ends the name as uname shows it.
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    *which(&mut task.uts.lock().unwrap()) = String::from_utf8_lossy(name).into_owned();
    Ok(0)
}

pub fn sethostname(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set_uts_name(task, a[0], a[1], |u| &mut u.hostname)
}

pub fn setdomainname(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set_uts_name(task, a[0], a[1], |u| &mut u.domainname)
}

/// `personality(2)`: the persona is recorded per process (inherited by
/// fork and kept across exec) and reported back; 0xffffffff only asks.
/// moat has one address-space layout, so flags such as ADDR_NO_RANDOMIZE
/// change nothing it does.
pub fn personality(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = task.personality;
    let new = a[0] as u32;
    if new != 0xffff_ffff {
        task.personality = new;
    }
    Ok(u64::from(old))
}

pub fn getrandom(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    if a[2] & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || a[2] & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = a[1].min(33_554_431) as usize; // Linux caps one call at 32 MiB - 1
    let mut buf = vec![0u8; len];
    rustix::rand::getrandom(&mut buf, rustix::rand::GetRandomFlags::empty()).map_err(|_| Errno::EIO)?;
    task.mm.copy_out(a[0], &buf)?;
    Ok(len as u64)
}

/// `struct sysinfo` on x86-64.
#[repr(C)]
#[derive(Default, zerocopy::IntoBytes, zerocopy::Immutable)]
struct SysInfo {
    uptime: i64,
    loads: [u64; 3],
    totalram: u64,
    freeram: u64,
    sharedram: u64,
    bufferram: u64,
    totalswap: u64,
    freeswap: u64,
    procs: u16,
    pad: [u16; 3],
    totalhigh: u64,
    freehigh: u64,
    mem_unit: u32,
    pad2: u32,
}

/// Memory figures are the container's: its total, less what the memory
/// file holds for applications (load averages are not tracked: zero).
pub fn sysinfo(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let k = &task.kernel;
    let used = k.memfile.committed();
    let info = SysInfo {
        uptime: k.started.elapsed().as_secs() as i64,
        totalram: k.total_memory,
        freeram: k.total_memory.saturating_sub(used),
        procs: k.procs().live().count().min(u16::MAX as usize) as u16,
        mem_unit: 1,
        ..SysInfo::default()
    };
    task.mm.write_obj(a[0], &info).map(|_| 0)
}
