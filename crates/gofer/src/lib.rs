//! The gofer: the one process of a sandbox that touches host files.
//!
//! The sentry asks for files by path over a socketpair; the gofer resolves
//! the path inside the container's root (never escaping it), and answers
//! with attributes or with the open host descriptor itself, donated by
//! `SCM_RIGHTS`, so that file data then moves by `pread`/`mmap` without a
//! message per read (gVisor: `runsc/fsgofer` and lisafs, with directfs).
//!
//! `proto` is shared with the sentry's client; `server` is the loop the
//! `moat gofer` process runs once it has confined itself.

pub mod process;
pub mod proto;
pub mod server;
