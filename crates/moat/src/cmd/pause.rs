//! `moat pause` and `moat resume`: stop and continue every process of a
//! container.

use anyhow::Result;
use runtime::container::Runtime;

/// Pause every process of a running container.
#[derive(clap::Args)]
pub struct Pause {
    pub id: String,
}

impl Pause {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        rt.pause(&self.id)?;
        Ok(0)
    }
}

/// Resume a paused container.
#[derive(clap::Args)]
pub struct Resume {
    pub id: String,
}

impl Resume {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        rt.resume(&self.id)?;
        Ok(0)
    }
}
