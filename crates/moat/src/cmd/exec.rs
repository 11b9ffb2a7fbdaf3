//! `moat exec`: run another process in a running container.

use anyhow::Result;
use runtime::container::Runtime;
use runtime::exec::{ExecOpts, ExecOutcome};
use std::path::PathBuf;

/// Run a process in a running container; exit with its status.
#[derive(clap::Args)]
pub struct Exec {
    /// A JSON file holding the OCI `process` to run (instead of a command).
    #[arg(long, short)]
    pub process: Option<PathBuf>,
    /// Working directory (default: the container's).
    #[arg(long)]
    pub cwd: Option<String>,
    /// KEY=VALUE added to (or replacing in) the container's environment.
    #[arg(long, short)]
    pub env: Vec<String>,
    /// UID[:GID], numeric.
    #[arg(long, short)]
    pub user: Option<String>,
    /// Additional group ids.
    #[arg(long = "additional-gids", short = 'g')]
    pub additional_gids: Vec<u32>,
    /// Return once the process runs.
    #[arg(long, short)]
    pub detach: bool,
    /// Write the pid of a host process that lives as long as the new one
    /// and exits with its status (this command, or with --detach a
    /// `moat wait --pid` started for it).
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Give the process a terminal (its master goes to --console-socket
    /// with --detach; else this command copies its stdio to it).
    #[arg(long, short)]
    pub tty: bool,
    /// Unix socket to send the terminal's pty master to, as runc does.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cmd: Vec<String>,
}

impl Exec {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let opts = ExecOpts {
            process: self.process,
            args: self.cmd,
            cwd: self.cwd,
            env: self.env,
            user: self.user,
            additional_gids: self.additional_gids,
            detach: self.detach,
            pid_file: self.pid_file,
            tty: self.tty,
            console_socket: self.console_socket,
        };
        Ok(match rt.exec(&self.id, &opts)? {
            ExecOutcome::Started(_) => 0,
            ExecOutcome::Exited(status) => status.shell_code(),
        })
    }
}
