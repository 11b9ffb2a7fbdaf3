//! `moat delete`: remove a container and everything it left.

use anyhow::Result;
use runtime::container::Runtime;

/// Delete a stopped container (or any, with --force).
#[derive(clap::Args)]
pub struct Delete {
    /// Kill the container if it still runs; no error if it does not exist.
    #[arg(long, short)]
    pub force: bool,
    pub id: String,
}

impl Delete {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        rt.delete(&self.id, self.force)?;
        Ok(0)
    }
}
