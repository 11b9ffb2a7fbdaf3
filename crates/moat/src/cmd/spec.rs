//! `moat spec`: write a default config.json, as `runc spec` does.

use anyhow::Result;
use std::path::PathBuf;

/// Create a default config.json in the bundle directory.
#[derive(clap::Args)]
pub struct SpecCmd {
    #[arg(long, short, default_value = ".")]
    pub bundle: PathBuf,
}

impl SpecCmd {
    pub fn execute(self) -> Result<i32> {
        runtime::spec::write_new(&self.bundle, &runtime::spec::default_spec())?;
        Ok(0)
    }
}
