//! `moat run`: create, start and wait for a container.

use anyhow::Result;
use runtime::container::{CreateOpts, Runtime};
use std::path::Path;
use std::path::PathBuf;

/// Create and run a container; exit with its init's status.
#[derive(clap::Args)]
pub struct Run {
    #[arg(long, short, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Return once the container has started.
    #[arg(long, short)]
    pub detach: bool,
    pub id: String,
}

impl Run {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let opts =
            CreateOpts { pid_file: self.pid_file, console_socket: self.console_socket, foreground: !self.detach };
        run(rt, &self.id, &self.bundle, &opts, self.detach, self.keep)
    }
}

/// Shared with `moat do`.
pub fn run(rt: &Runtime, id: &str, bundle: &Path, opts: &CreateOpts, detach: bool, keep: bool) -> Result<i32> {
    let (_, terminal) = rt.create_attached(id, bundle, opts)?;
    if let Err(e) = rt.start(id) {
        let _ = rt.delete(id, true);
        return Err(e.into());
    }
    if detach {
        return Ok(0);
    }
    let code = rt.wait_child(id);
    if let Some(t) = terminal {
        t.finish();
    }
    if !keep {
        rt.delete(id, true)?;
    }
    Ok(code?)
}
