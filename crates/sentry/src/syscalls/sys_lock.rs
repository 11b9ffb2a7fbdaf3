//! `flock(2)` and the record-lock commands of `fcntl(2)` (locks in
//! `fs/lock.rs`).

use crate::fs::lock::{Range, F_RDLCK, F_UNLCK, F_WRLCK};
use crate::kernel::Task;
use crate::vfs::{readable, writable, FileDescription};
use abi::Errno;
use std::sync::Arc;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

const LOCK_SH: u64 = 1;
const LOCK_EX: u64 = 2;
const LOCK_NB: u64 = 4;
const LOCK_UN: u64 = 8;

pub const F_GETLK: u64 = 5;
pub const F_SETLK: u64 = 6;
pub const F_SETLKW: u64 = 7;
pub const F_OFD_GETLK: u64 = 36;
pub const F_OFD_SETLK: u64 = 37;
pub const F_OFD_SETLKW: u64 = 38;

/// `struct flock`.
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct Flock {
    l_type: i16,
    l_whence: i16,
    _pad: u32,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
    _pad2: u32,
}

pub fn flock(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let file = task.fds.get(a[0] as i32 as i64)?;
    let op = a[1];
    let wait = op & LOCK_NB == 0;
    match op & !LOCK_NB {
        LOCK_SH => task.kernel.locks.flock(task, &file, false, wait),
        LOCK_EX => task.kernel.locks.flock(task, &file, true, wait),
        LOCK_UN => task.kernel.locks.funlock(&file),
        _ => Err(Errno::EINVAL),
    }
    .map(|()| 0)
}

/// F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms, on `file` with the
/// `struct flock` at `addr`.
pub fn fcntl_lock(task: &mut Task, file: &Arc<dyn FileDescription>, cmd: u64, addr: u64) -> Result<u64, Errno> {
    let mut fl: Flock = task.mm.read_obj(addr)?;
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    if !matches!(fl.l_type, F_RDLCK | F_WRLCK | F_UNLCK) {
        return Err(Errno::EINVAL);
    }
    let range = range_of(&**file, &fl)?;
    match cmd {
        F_GETLK | F_OFD_GETLK => {
            if fl.l_type == F_UNLCK {
                return Err(Errno::EINVAL);
            }
            match task.kernel.locks.get_record(task, file, ofd, fl.l_type, range)? {
                Some(c) => {
                    fl.l_type = if c.write { F_WRLCK } else { F_RDLCK };
                    fl.l_whence = 0;
                    fl.l_start = c.range.start as i64;
                    fl.l_len = if c.range.end == u64::MAX { 0 } else { (c.range.end - c.range.start) as i64 };
                    fl.l_pid = c.pid;
                }
                None => fl.l_type = F_UNLCK,
            }
            task.mm.write_obj(addr, &fl).map(|()| 0)
        }
        _ => {
            // A lock needs the matching access mode; unlocking does not.
            match fl.l_type {
                F_RDLCK => readable(&**file).map_err(|_| Errno::EBADF)?,
                F_WRLCK => writable(&**file).map_err(|_| Errno::EBADF)?,
                _ => {}
            }
            let wait = matches!(cmd, F_SETLKW | F_OFD_SETLKW);
            task.kernel.locks.set_record(task, file, ofd, fl.l_type, range, wait).map(|()| 0)
        }
    }
}

/// The absolute byte range a `struct flock` names (l_whence, l_start and
/// a length that may be 0, to the end of any file, or negative).
fn range_of(file: &dyn FileDescription, fl: &Flock) -> Result<Range, Errno> {
    let base = match fl.l_whence {
        0 => 0,
        1 => file.seek(0, 1)? as i64,
        2 => file.stat()?.size,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = match fl.l_len {
        0 => (start, u64::MAX),
        len if len > 0 => (start, start.checked_add(len).map(|e| e as u64).ok_or(Errno::EOVERFLOW)?),
        len => (start.checked_add(len).ok_or(Errno::EINVAL)?, start as u64),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Range { start: start as u64, end })
}
