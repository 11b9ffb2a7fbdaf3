//! `moat boot` (hidden): the sandbox process, started by `create`.

use control::launch::BootArgs;

/// Run the sandbox (internal).
#[derive(clap::Args)]
pub struct Boot {
    #[command(flatten)]
    pub args: BootArgs,
}

impl Boot {
    pub fn execute(self) -> i32 {
        boot::run(self.args)
    }
}
