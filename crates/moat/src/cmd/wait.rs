//! `moat wait`: wait for a container's init (or, with --pid, a process
//! started by `exec`) to exit, as `runsc wait` does.

use anyhow::Result;
use runtime::container::Runtime;

/// Wait for a container's init (or an exec'd process) to exit; print
/// `{"id":..., "exitStatus":...}` and exit with that status.
#[derive(clap::Args)]
pub struct Wait {
    /// A process started by `moat exec` (its pid inside the container).
    #[arg(long)]
    pub pid: Option<i32>,
    /// With --pid: stdin is the process's terminal, which this command
    /// leads; forward its signals to the terminal's foreground group
    /// inside (started so by `moat exec --detach --tty`).
    #[arg(long, requires = "pid")]
    pub terminal: bool,
    pub id: String,
}

impl Wait {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let status = match self.pid {
            Some(pid) => rt.wait_pid(&self.id, pid, self.terminal)?,
            None => rt.wait(&self.id)?,
        };
        let code = status.shell_code();
        println!("{}", serde_json::json!({ "id": self.id, "exitStatus": code }));
        Ok(code)
    }
}
