//! Extended attributes as Linux's `fs/xattr.c` and `simple_xattr` (tmpfs)
//! keep them: a name → value map per inode, and the rules of who may see
//! and change which namespace.
//!
//! * `user.*`: regular files and directories only (others: ENODATA to
//!   read, EPERM to write); read and write need the file's read and write
//!   permission; a sticky directory's only for its owner or root.
//! * `trusted.*`: root only (others: ENODATA to read, EPERM to write, and
//!   listings leave them out).
//! * `security.*`: anyone reads; only root writes (the capability
//!   module's rule; no security module is modelled).
//! * Other namespaces (`system.*` ACLs among them): EOPNOTSUPP.
//!
//! Privilege is euid 0, as elsewhere in the sentry.

use crate::kernel::task::Credentials;
use abi::{Errno, Stat};
use std::collections::BTreeMap;

/// The attributes of one inode.
pub type Xattrs = BTreeMap<String, Vec<u8>>;

/// `XATTR_CREATE`, `XATTR_REPLACE`.
pub const XATTR_CREATE: u32 = 1;
pub const XATTR_REPLACE: u32 = 2;
/// Longest name and value (`XATTR_NAME_MAX`, `XATTR_SIZE_MAX`), and the
/// largest listing (`XATTR_LIST_MAX`).
pub const NAME_MAX: usize = 255;
pub const SIZE_MAX: usize = 65536;
pub const LIST_MAX: usize = 65536;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_ISVTX: u32 = 0o1000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Namespace {
    User,
    Trusted,
    Security,
}

/// The namespace of a whole name: EOPNOTSUPP for unknown ones, EINVAL
/// for a bare prefix (`user.`), as `xattr_resolve_name`.
fn namespace(name: &str) -> Result<Namespace, Errno> {
    let (ns, rest) = [("user.", Namespace::User), ("trusted.", Namespace::Trusted), ("security.", Namespace::Security)]
        .into_iter()
        .find_map(|(p, ns)| name.strip_prefix(p).map(|rest| (ns, rest)))
        .ok_or(Errno::EOPNOTSUPP)?;
    if rest.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(ns)
}

/// `trusted.*` and writing `security.*` take CAP_SYS_ADMIN.
fn privileged(creds: &Credentials) -> bool {
    creds.capable(crate::kernel::caps::CAP_SYS_ADMIN)
}

/// Linux's `xattr_permission` and the capability hook, for `name` on a
/// file with attributes `st`: `write` for set and remove.
pub fn check(creds: &Credentials, st: &Stat, name: &str, write: bool) -> Result<(), Errno> {
    let ns = namespace(name)?;
    let denied = if write { Errno::EPERM } else { Errno::ENODATA };
    match ns {
        Namespace::Security if write && !privileged(creds) => return Err(Errno::EPERM),
        Namespace::Security => return Ok(()),
        Namespace::Trusted if !privileged(creds) => return Err(denied),
        Namespace::Trusted => return Ok(()),
        Namespace::User => {
            let kind = st.mode & S_IFMT;
            if kind != S_IFREG && kind != S_IFDIR {
                return Err(denied);
            }
            if kind == S_IFDIR && st.mode & S_ISVTX != 0 && write && !creds.owns(st.uid) {
                return Err(Errno::EPERM);
            }
        }
    }
    super::overlay::permit(creds, st, if write { 2 } else { 4 })
}

/// What a file without attributes (a pipe) answers for `name`: the
/// `user.*` type rule first, as Linux's `xattr_permission` runs before it
/// finds no handler; EOPNOTSUPP otherwise.
pub fn unsupported(mode: u32, name: &str, write: bool) -> Errno {
    let kind = mode & S_IFMT;
    if name.starts_with("user.") && kind != S_IFREG && kind != S_IFDIR {
        return if write { Errno::EPERM } else { Errno::ENODATA };
    }
    Errno::EOPNOTSUPP
}

/// The value of `name`, after [`check`].
pub fn get(x: &Xattrs, creds: &Credentials, st: &Stat, name: &str) -> Result<Vec<u8>, Errno> {
    check(creds, st, name, false)?;
    x.get(name).cloned().ok_or(Errno::ENODATA)
}

/// Sets `name`, after [`check`]; `flags` as setxattr(2).
pub fn set(x: &mut Xattrs, creds: &Credentials, st: &Stat, name: &str, value: &[u8], flags: u32) -> Result<(), Errno> {
    check(creds, st, name, true)?;
    let exists = x.contains_key(name);
    if flags & XATTR_CREATE != 0 && exists {
        return Err(Errno::EEXIST);
    }
    if flags & XATTR_REPLACE != 0 && !exists {
        return Err(Errno::ENODATA);
    }
    x.insert(name.to_string(), value.to_vec());
    Ok(())
}

/// Removes `name`, after [`check`].
pub fn remove(x: &mut Xattrs, creds: &Credentials, st: &Stat, name: &str) -> Result<(), Errno> {
    check(creds, st, name, true)?;
    x.remove(name).map(|_| ()).ok_or(Errno::ENODATA)
}

/// The names `creds` may list: `trusted.*` only for root.
pub fn list(x: &Xattrs, creds: &Credentials) -> Vec<String> {
    x.keys().filter(|n| privileged(creds) || !n.starts_with("trusted.")).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32) -> Credentials {
        Credentials::of(uid, uid)
    }

    fn file(mode: u32, uid: u32) -> Stat {
        Stat { mode, uid, gid: uid, ..Stat::default() }
    }

    #[test]
    fn namespaces_and_flags() {
        let (root, st) = (user(0), file(S_IFREG | 0o644, 0));
        let mut x = Xattrs::new();
        assert_eq!(set(&mut x, &root, &st, "user.a", b"1", XATTR_REPLACE), Err(Errno::ENODATA));
        set(&mut x, &root, &st, "user.a", b"1", XATTR_CREATE).unwrap();
        assert_eq!(set(&mut x, &root, &st, "user.a", b"2", XATTR_CREATE), Err(Errno::EEXIST));
        set(&mut x, &root, &st, "user.a", b"2", XATTR_REPLACE).unwrap();
        assert_eq!(get(&x, &root, &st, "user.a").unwrap(), b"2");
        assert_eq!(set(&mut x, &root, &st, "system.x", b"", 0), Err(Errno::EOPNOTSUPP));
        assert_eq!(set(&mut x, &root, &st, "user.", b"", 0), Err(Errno::EINVAL));
        set(&mut x, &root, &st, "trusted.t", b"", 0).unwrap();
        assert_eq!(list(&x, &root), ["trusted.t", "user.a"]);
        assert_eq!(list(&x, &user(1)), ["user.a"]);
        remove(&mut x, &root, &st, "user.a").unwrap();
        assert_eq!(remove(&mut x, &root, &st, "user.a"), Err(Errno::ENODATA));
    }

    #[test]
    fn who_may_do_what() {
        let alice = user(1000);
        let mine = file(S_IFREG | 0o644, 1000);
        let theirs = file(S_IFREG | 0o644, 0);
        assert!(check(&alice, &mine, "user.a", true).is_ok());
        assert_eq!(check(&alice, &theirs, "user.a", true), Err(Errno::EACCES));
        assert!(check(&alice, &theirs, "user.a", false).is_ok());
        assert_eq!(check(&alice, &mine, "trusted.a", false), Err(Errno::ENODATA));
        assert_eq!(check(&alice, &mine, "trusted.a", true), Err(Errno::EPERM));
        assert_eq!(check(&alice, &mine, "security.a", true), Err(Errno::EPERM));
        assert!(check(&alice, &theirs, "security.a", false).is_ok());
        let link = file(0o120777, 1000);
        assert_eq!(check(&alice, &link, "user.a", false), Err(Errno::ENODATA));
        assert_eq!(check(&user(0), &link, "user.a", true), Err(Errno::EPERM));
        let tmp = file(S_IFDIR | 0o1777, 0);
        assert_eq!(check(&alice, &tmp, "user.a", true), Err(Errno::EPERM));
        assert!(check(&user(0), &tmp, "user.a", true).is_ok());
    }
}
