//! `--strace`: one log line per application syscall, arguments decoded by
//! the table's `Arg` kinds, as strace(1) would print them (gVisor:
//! `pkg/sentry/strace`).

use crate::kernel::Task;
use crate::syscalls::{Arg, Syscall};
use abi::{Errno, Sysno};

/// Longest buffer or string excerpt printed.
const EXCERPT: usize = 64;

/// Formats the syscall's name and the arguments known before it runs;
/// `exit` completes the line with output buffers and the result.
pub fn enter(task: &Task, nr: u64, entry: Option<&Syscall>, args: &[u64; 6]) -> Vec<Option<String>> {
    let _ = nr;
    let kinds = entry.map_or(&[][..], |e| e.args);
    kinds.iter().enumerate().map(|(i, k)| (*k != Arg::OutBuf).then(|| format_arg(task, *k, args, i))).collect()
}

pub fn exit(
    task: &Task,
    before: Vec<Option<String>>,
    entry: Option<&Syscall>,
    args: &[u64; 6],
    result: &Result<u64, Errno>,
) {
    let nr = task.regs.orig_rax;
    let name = entry.map(|e| e.sysno.name()).or_else(|| Sysno::new(nr as usize).map(|s| s.name()));
    let name = name.map_or_else(|| format!("syscall_{nr}"), str::to_string);
    let shown: Vec<String> = match entry {
        Some(e) => before
            .into_iter()
            .enumerate()
            .map(|(i, s)| match s {
                Some(s) => s,
                None => match result {
                    Ok(n) if e.args[i] == Arg::OutBuf => buffer(task, args[i], *n as usize),
                    _ => format!("{:#x}", args[i]),
                },
            })
            .collect(),
        None => args.iter().map(|a| format!("{a:#x}")).collect(),
    };
    let ret = match result {
        Ok(v) if *v > 0xffff => format!("{v:#x}"),
        Ok(v) => v.to_string(),
        Err(e) => format!("-1 {} ({})", e.name().unwrap_or("E?"), e.description().unwrap_or("")),
    };
    tracing::info!(target: "strace", "[{:>4}] {}({}) = {}", task.tid, name, shown.join(", "), ret);
}

fn format_arg(task: &Task, kind: Arg, args: &[u64; 6], i: usize) -> String {
    let v = args[i];
    match kind {
        Arg::Dec => (v as i64).to_string(),
        Arg::Hex => format!("{v:#x}"),
        Arg::Oct => format!("{v:#o}"),
        Arg::Fd => match v as i32 {
            -100 => "AT_FDCWD".into(),
            fd => fd.to_string(),
        },
        Arg::Signal => abi::signal::name(v as i32).map_or_else(|| v.to_string(), |n| format!("SIG{n}")),
        Arg::Path => match task.mm.read_cstring(v, 4096) {
            Ok(s) => quote(&s, usize::MAX),
            Err(_) => format!("{v:#x}"),
        },
        Arg::InBuf(len_arg) => buffer(task, v, args[len_arg] as usize),
        Arg::OutBuf => format!("{v:#x}"),
        Arg::StrVec => string_vec(task, v),
    }
}

fn buffer(task: &Task, addr: u64, len: usize) -> String {
    let shown = len.min(EXCERPT);
    let mut buf = vec![0u8; shown];
    match task.mm.copy_in(addr, &mut buf) {
        Ok(()) => {
            let mut s = quote(&buf, shown);
            if len > shown {
                s.push_str("...");
            }
            s
        }
        Err(_) => format!("{addr:#x}"),
    }
}

fn string_vec(task: &Task, mut addr: u64) -> String {
    let mut items = Vec::new();
    while items.len() < 8 {
        match task.mm.read_obj::<u64>(addr) {
            Ok(0) => return format!("[{}]", items.join(", ")),
            Ok(p) => {
                items.push(task.mm.read_cstring(p, 4096).map_or_else(|_| format!("{p:#x}"), |s| quote(&s, EXCERPT)))
            }
            Err(_) => return format!("{addr:#x}"),
        }
        addr += 8;
    }
    format!("[{}, ...]", items.join(", "))
}

/// Quotes bytes as strace does: C escapes, printable ASCII as is.
fn quote(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(max) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        assert_eq!(super::quote(b"hello\n\x01\"", 100), "\"hello\\n\\x01\\\"\"");
    }
}
