//! `moat kill`: send a signal to a container.

use anyhow::{anyhow, Result};
use runtime::container::Runtime;

/// Send a signal (default TERM) to the container's init.
#[derive(clap::Args)]
pub struct Kill {
    /// Signal every process of the container, not just its init.
    #[arg(long, short)]
    pub all: bool,
    pub id: String,
    /// A name (TERM, SIGTERM, RTMIN+1) or a number.
    #[arg(default_value = "TERM")]
    pub signal: String,
}

impl Kill {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let signo = abi::signal::parse(&self.signal).ok_or_else(|| anyhow!("invalid signal {:?}", self.signal))?;
        rt.kill(&self.id, signo, self.all)?;
        Ok(0)
    }
}
