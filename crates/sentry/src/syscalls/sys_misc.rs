//! `uname` and `getrandom` (gVisor: `sys_utsname.go`, `sys_random.go`).

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
