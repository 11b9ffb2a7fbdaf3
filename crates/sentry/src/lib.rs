//! The sentry: moat's application kernel.
//!
//! It services the Linux system calls of the container's programs in user
//! space. Rooms mirror gVisor's `pkg/sentry`: `kernel` (tasks, signals,
//! credentials), `mm` (address spaces and their mappings), `vfs` (file
//! descriptions and the fd table), `fs` (file system implementations:
//! host stdio, gofer-backed files, Unix sockets), `net` (inet sockets over
//! loopback, netlink), `loader` (ELF and the initial stack),
//! `syscalls` (the table, as data, and one file per family) and `strace`.
//!
//! Memory goes through the `memfile` crate, CPU switches through
//! `platform`, host calls through rustix/nix; the attribute below keeps it so.

#![forbid(unsafe_code)]

pub mod fs;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod net;
pub mod strace;
pub mod syscalls;
pub mod vfs;

pub use kernel::{ExitStatus, Kernel, KernelConfig, MountSpec, ProcessSpec, RootOverlay};
