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
    let u = UtsName {
        sysname: field("Linux"),
        nodename: field(&task.kernel.hostname),
        release: field(RELEASE),
        version: field(VERSION),
        machine: field("x86_64"),
        domainname: field("(none)"),
    };
    task.mm.write_obj(a[0], &u).map(|_| 0)
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
