//! The host side of moat: container state under `--root` and its
//! lifecycle (create, start, kill, delete, wait), the spawning of the
//! sandbox (`moat boot`) and the gofer (`moat gofer`), and OCI spec helpers.
//! gVisor's counterparts are `runsc/container` and `runsc/sandbox`.
//!
//! Errors are [`Error`]; every variant names the container, path or file
//! it is about.

pub mod cgroup;
pub mod console;
pub mod container;
pub mod error;
pub mod events;
pub mod exec;
pub mod hooks;
pub mod procs;
pub mod sandbox;
pub mod spec;
pub mod state;
pub mod status;
pub mod time;

pub use error::{Error, Result};
pub use status::Status;
