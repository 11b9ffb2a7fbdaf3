//! The few wrappers over raw host calls that rustix and nix lack, each
//! unsafe block fenced here with its reasoning.

pub mod fd;
