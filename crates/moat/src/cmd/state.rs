//! `moat state`: print a container's OCI state as pretty JSON.

use anyhow::Result;
use runtime::container::Runtime;

/// Output the state of a container.
#[derive(clap::Args)]
pub struct State {
    pub id: String,
}

impl State {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let st = rt.state(&self.id)?;
        println!("{}", serde_json::to_string_pretty(&st.oci())?);
        Ok(0)
    }
}
