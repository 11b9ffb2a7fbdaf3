//! `moat do`: run a host program sandboxed, with the host's root file
//! system as a read-only container root (like `runsc do`).

use anyhow::{Context, Result};
use runtime::container::{CreateOpts, Runtime};

/// Run CMD ARGS... in a sandbox over the host's read-only root.
#[derive(clap::Args)]
pub struct Do {
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub cmd: Vec<String>,
}

impl Do {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let id = format!("do-{}", std::process::id());
        let bundle = rt.root.join(".bundles").join(&id);
        std::fs::create_dir_all(&bundle).with_context(|| format!("cannot create {}", bundle.display()))?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
        let result = runtime::spec::write_new(&bundle, &runtime::spec::do_spec(self.cmd, &cwd))
            .map_err(anyhow::Error::from)
            .and_then(|_| super::run::run(rt, &id, &bundle, &CreateOpts::default(), false, false));
        let _ = std::fs::remove_dir_all(&bundle);
        // Only succeeds if no other `moat do` is using it.
        let _ = std::fs::remove_dir(rt.root.join(".bundles"));
        result
    }
}
