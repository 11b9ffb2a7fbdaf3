//! The system call table and its dispatcher (gVisor:
//! `syscalls/linux/linux64.go`). The table is data: number → handler,
//! support level and how `--strace` prints the arguments. It is also the
//! source of `docs/compatibility.md` (`moat syscalls --markdown`).
//!
//! Handlers take the task and the six raw arguments and return the value
//! for `rax` or an errno; they never panic on bad input.

mod sys_eventfds;
mod sys_file;
mod sys_futex;
mod sys_identity;
mod sys_inotify;
mod sys_lock;
mod sys_misc;
mod sys_mmap;
mod sys_mount;
mod sys_openat2;
mod sys_poll;
mod sys_process;
mod sys_signal;
mod sys_socket;
mod sys_sockopt;
mod sys_splice;
mod sys_thread;
mod sys_time;
mod sys_tree;
mod sys_tty;
mod sys_xattr;
mod table;

use crate::kernel::Task;
use abi::{Errno, Sysno};
use std::sync::OnceLock;
pub use sys_signal::StackT;

pub type Handler = fn(&mut Task, &[u64; 6]) -> Result<u64, Errno>;

/// How completely a syscall is implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Full,
    /// Implemented, with the limits the note names.
    Partial(&'static str),
    /// Returns ENOSYS; the note says when it is planned.
    Unimplemented(&'static str),
}

/// How `--strace` prints an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    Dec,
    Hex,
    Oct,
    Fd,
    /// A NUL-terminated path.
    Path,
    /// A buffer the caller fills; its length is the given argument.
    InBuf(usize),
    /// A buffer the kernel fills; its length is the return value.
    OutBuf,
    /// A pointer to a NUL-terminated vector of strings (argv, envp).
    StrVec,
    Signal,
}

pub struct Syscall {
    pub sysno: Sysno,
    pub support: Support,
    pub handler: Option<Handler>,
    pub args: &'static [Arg],
}

/// The entry for syscall number `nr`, if the table lists it.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    static INDEX: OnceLock<Vec<Option<&'static Syscall>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut v = vec![None; 512];
        for s in table::TABLE {
            v[s.sysno.id() as usize] = Some(s);
        }
        v
    });
    index.get(usize::try_from(nr).ok()?).copied().flatten()
}

/// Services the syscall the task just trapped with.
pub fn dispatch(task: &mut Task) {
    task.sync_fs();
    task.follow_pivots();
    let nr = task.regs.orig_rax;
    let args = task.regs.syscall_args();
    let entry = lookup(nr);
    let before = task.kernel.strace.then(|| crate::strace::enter(task, nr, entry, &args));
    let result = match entry.and_then(|e| e.handler) {
        Some(handler) => handler(task, &args),
        None => {
            if task.kernel.first_unimplemented(nr) {
                let name = Sysno::new(nr as usize).map_or("unknown", |s| s.name());
                tracing::warn!("unimplemented syscall {name} (#{nr}) returns ENOSYS (logged once)");
            }
            Err(Errno::ENOSYS)
        }
    };
    if let Some(line) = before {
        crate::strace::exit(task, line, entry, &args, &result);
    }
    // execve replaced the registers wholesale; don't clobber rax.
    if task.regs.orig_rax == nr && !(entry.is_some_and(|e| e.sysno == Sysno::execve) && result.is_ok()) {
        task.regs.rax = match result {
            Ok(v) => v,
            Err(e) => (-(e.into_raw() as i64)) as u64,
        };
    }
}

/// `docs/compatibility.md`: every x86-64 syscall with its support level.
pub fn compatibility_markdown() -> String {
    let mut out = String::from(
        "# Syscall compatibility\n\n\
         Generated from the sentry's syscall table by `moat syscalls --markdown`; do not edit.\n\
         Every syscall not listed as supported or partial returns `ENOSYS` and is logged once.\n\n\
         | # | syscall | support | notes |\n|---:|---|---|---|\n",
    );
    let (mut full, mut partial, mut none) = (0, 0, 0);
    for sysno in Sysno::iter() {
        let (level, note) = match lookup(sysno.id() as u64).map(|e| e.support) {
            Some(Support::Full) => {
                full += 1;
                ("supported", "")
            }
            Some(Support::Partial(n)) => {
                partial += 1;
                ("partial", n)
            }
            Some(Support::Unimplemented(n)) => {
                none += 1;
                ("ENOSYS", n)
            }
            None => {
                none += 1;
                ("ENOSYS", "")
            }
        };
        out.push_str(&format!("| {} | `{}` | {} | {} |\n", sysno.id(), sysno.name(), level, note));
    }
    out.push_str(&format!("\n{full} supported, {partial} partial, {none} not implemented.\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for s in table::TABLE {
            assert!(seen.insert(s.sysno), "{} listed twice", s.sysno.name());
            assert!(s.args.len() <= 6, "{}", s.sysno.name());
            match s.support {
                Support::Unimplemented(_) => assert!(s.handler.is_none(), "{}", s.sysno.name()),
                _ => assert!(s.handler.is_some(), "{} has no handler", s.sysno.name()),
            }
        }
        assert_eq!(lookup(1).unwrap().sysno, Sysno::write);
        assert!(lookup(100_000).is_none());
    }

    #[test]
    fn compatibility_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/compatibility.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == compatibility_markdown(),
            "docs/compatibility.md is stale: run `moat syscalls --markdown > docs/compatibility.md`"
        );
    }
}
