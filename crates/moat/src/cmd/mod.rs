//! One file per subcommand: its arguments and `execute`.

pub mod boot;
pub mod create;
pub mod delete;
pub mod r#do;
pub mod events;
pub mod exec;
pub mod features;
pub mod gofer;
pub mod install;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod syscalls;
pub mod wait;
