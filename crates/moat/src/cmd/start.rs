//! `moat start`: let a created container's init run.

use anyhow::Result;
use runtime::container::Runtime;

/// Start a created container.
#[derive(clap::Args)]
pub struct Start {
    pub id: String,
}

impl Start {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        rt.start(&self.id)?;
        Ok(0)
    }
}
