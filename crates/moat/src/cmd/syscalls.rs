//! `moat syscalls`: the sentry's syscall table — what is implemented, what
//! partially, and what returns ENOSYS. `--markdown` prints
//! `docs/compatibility.md`.

use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write as _;

/// List the system calls the sandbox implements.
#[derive(clap::Args)]
pub struct Syscalls {
    /// Print the compatibility table as Markdown.
    #[arg(long)]
    pub markdown: bool,
}

impl Syscalls {
    pub fn execute(self) -> Result<i32> {
        let out = if self.markdown { sentry::syscalls::compatibility_markdown() } else { table() };
        std::io::stdout().write_all(out.as_bytes())?;
        Ok(0)
    }
}

fn table() -> String {
    let mut out = String::new();
    for sysno in abi::Sysno::iter() {
        let level = match sentry::syscalls::lookup(sysno.id() as u64).map(|e| e.support) {
            Some(sentry::syscalls::Support::Full) => "supported".to_string(),
            Some(sentry::syscalls::Support::Partial(note)) => format!("partial: {note}"),
            Some(sentry::syscalls::Support::Unimplemented(note)) if !note.is_empty() => format!("ENOSYS ({note})"),
            _ => "ENOSYS".to_string(),
        };
        let _ = writeln!(out, "{:>3} {:<24} {}", sysno.id(), sysno.name(), level);
    }
    out
}
