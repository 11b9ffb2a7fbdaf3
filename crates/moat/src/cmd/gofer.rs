//! `moat gofer` (hidden): the file proxy of one container, started by
//! `create`.

use control::launch::GoferArgs;

/// Serve the container's root file system to the sandbox (internal).
#[derive(clap::Args)]
pub struct Gofer {
    #[command(flatten)]
    pub args: GoferArgs,
}

impl Gofer {
    pub fn execute(self) -> i32 {
        if let Some(fd) = self.args.log_fd {
            match hostsys::process::take_inherited_fd(fd) {
                Ok(fd) => init_logging(std::fs::File::from(fd), &self.args.log_format, self.args.debug),
                Err(e) => eprintln!("moat gofer: log fd: {e}"),
            }
        }
        gofer::process::run(self.args)
    }
}

fn init_logging(file: std::fs::File, format: &str, debug: bool) {
    let level = if debug { tracing::Level::DEBUG } else { tracing::Level::WARN };
    let b = tracing_subscriber::fmt().with_max_level(level).with_ansi(false).with_writer(std::sync::Mutex::new(file));
    if format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}
