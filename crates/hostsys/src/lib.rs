//! hostsys: the few wrappers over raw host calls that rustix and nix lack.
//! Every unsafe block of the host side lives here, each with its SAFETY
//! comment, behind safe functions.

pub mod fd;
pub mod mount;
pub mod net;
pub mod packet;
pub mod process;
pub mod tty;
