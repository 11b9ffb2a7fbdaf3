//! The initial stack: strings at the top, then (16-byte aligned) argc,
//! argv, envp and the auxiliary vector, as the System V x86-64 ABI lays
//! them out.

use crate::mm::MemoryManager;
use abi::{auxv, Errno};

/// Writes the stack below `top` and returns the initial stack pointer.
pub fn build(
    mm: &MemoryManager,
    top: u64,
    execfn: &str,
    argv: &[String],
    envp: &[String],
    aux: &[(u64, u64)],
) -> Result<u64, Errno> {
    let mut sp = top;
    let push_bytes = |data: &[u8], sp: &mut u64| -> Result<u64, Errno> {
        *sp -= data.len() as u64;
        mm.copy_out(*sp, data)?;
        Ok(*sp)
    };
    let cstr = |s: &str, sp: &mut u64| -> Result<u64, Errno> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        push_bytes(&v, sp)
    };
    let execfn_addr = cstr(execfn, &mut sp)?;
    let env_addrs = envp.iter().map(|s| cstr(s, &mut sp)).collect::<Result<Vec<_>, _>>()?;
    let arg_addrs = argv.iter().map(|s| cstr(s, &mut sp)).collect::<Result<Vec<_>, _>>()?;
    let platform = cstr("x86_64", &mut sp)?;
    let mut random = [0u8; 16];
    rustix::rand::getrandom(&mut random, rustix::rand::GetRandomFlags::empty()).map_err(|_| Errno::EIO)?;
    sp -= 16;
    mm.copy_out(sp, &random)?;
    let random_addr = sp;

    let mut aux = aux.to_vec();
    aux.push((auxv::AT_RANDOM, random_addr));
    aux.push((auxv::AT_EXECFN, execfn_addr));
    aux.push((auxv::AT_PLATFORM, platform));
    aux.push((auxv::AT_NULL, 0));

    let mut words: Vec<u64> = vec![argv.len() as u64];
    words.extend(&arg_addrs);
    words.push(0);
    words.extend(&env_addrs);
    words.push(0);
    for (k, v) in &aux {
        words.extend([*k, *v]);
    }
    sp -= words.len() as u64 * 8;
    sp &= !15;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mm.copy_out(sp, &bytes)?;
    Ok(sp)
}
