//! The sandbox's log: lines go to the runtime's `--log` file, never to the
//! container's stderr.

use std::os::fd::OwnedFd;
use std::sync::Mutex;
use tracing_subscriber::filter::LevelFilter;

pub fn init(fd: Option<OwnedFd>, format: &str, debug: bool, strace: bool) {
    let Some(fd) = fd else { return };
    let file = Mutex::new(std::fs::File::from(fd));
    // strace lines are at info level; without --debug or --strace only
    // warnings and errors are kept.
    let level = if debug {
        LevelFilter::DEBUG
    } else if strace {
        LevelFilter::INFO
    } else {
        LevelFilter::WARN
    };
    let builder = tracing_subscriber::fmt().with_writer(file).with_max_level(level).with_ansi(false).with_target(true);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}
