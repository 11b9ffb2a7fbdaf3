//! `moat create`: build the sandbox for a container and leave it waiting
//! for `start`.

use anyhow::Result;
use runtime::container::{CreateOpts, Runtime};
use std::path::PathBuf;

/// Create a container.
#[derive(clap::Args)]
pub struct Create {
    /// The bundle directory (holding config.json).
    #[arg(long, short, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the sandbox's pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to receive the console's pty master (with `process.terminal`), as runc sends it.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    pub id: String,
}

impl Create {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let opts = CreateOpts { pid_file: self.pid_file, console_socket: self.console_socket, foreground: false };
        rt.create(&self.id, &self.bundle, &opts)?;
        Ok(0)
    }
}
