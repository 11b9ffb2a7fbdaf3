//! The gofer: the one process of a sandbox that touches host files.
//!
//! The sentry asks for files by path over a socketpair; the gofer resolves
//! the path inside one of its trees (the container's root or a bind
//! mount's source, never escaping it), and answers with attributes, a
//! change made, or the open host descriptor itself, donated by
//! `SCM_RIGHTS`, so that file data then moves by `pread`/`pwrite`/`mmap`
//! without a message per read (gVisor: `runsc/fsgofer` and lisafs, with
//! directfs).
//!
//! `proto` is shared with the sentry's client; `server` is the loop the
//! `moat gofer` process runs once it has confined itself.

pub mod process;
pub mod proto;
pub mod server;
