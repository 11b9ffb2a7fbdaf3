//! `moat boot`: the sandbox process. Being written; see DESIGN.md §1.

use control::launch::BootArgs;

/// Runs the sandbox; returns the process exit code (the container init's
/// shell-style status).
pub fn run(args: BootArgs) -> i32 {
    let _ = args;
    eprintln!("moat boot: not yet implemented");
    1
}
