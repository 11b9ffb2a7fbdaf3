//! Memory syscalls (gVisor: `sys_mmap.go`).

use crate::kernel::Task;
use crate::loader::copy_from_file;
use crate::mm::{Placement, VmaKind};
use crate::vfs::readable;
use abi::{fcntl, mman::*, page_up, Errno, PAGE_SIZE};

const MADV_DONTNEED: u64 = 4;

pub fn mmap(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (addr, len, prot, flags, fd, offset) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
    if len == 0 || offset % PAGE_SIZE != 0 || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    let shared = match flags & MAP_TYPE {
        MAP_PRIVATE => false,
        MAP_SHARED | MAP_SHARED_VALIDATE => true,
        _ => return Err(Errno::EINVAL),
    };
    let placement = if flags & MAP_FIXED != 0 {
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        Placement::Replace(addr)
    } else if flags & MAP_FIXED_NOREPLACE != 0 {
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        Placement::NoReplace(addr)
    } else {
        Placement::Hint(addr)
    };
    if flags & MAP_ANONYMOUS != 0 {
        return if shared {
            task.mm.map_shared_anonymous(placement, len, prot)
        } else {
            let kind = if flags & MAP_GROWSDOWN != 0 { VmaKind::GrowsDown } else { VmaKind::Anonymous };
            task.mm.map_anonymous(placement, len, prot, kind)
        };
    }
    let file = task.fds.get(fd.into())?;
    readable(&*file).map_err(|_| Errno::EACCES)?;
    if file.maps_anonymous() {
        return if shared {
            task.mm.map_shared_anonymous(placement, len, prot)
        } else {
            task.mm.map_anonymous(placement, len, prot, VmaKind::Anonymous)
        };
    }
    if shared && prot & PROT_WRITE != 0 && file.flags() & fcntl::O_ACCMODE != fcntl::O_RDWR {
        return Err(Errno::EACCES);
    }
    // A memfd sealed against writes refuses writable shared mappings.
    let write_seals = crate::fs::memfd::F_SEAL_WRITE | crate::fs::memfd::F_SEAL_FUTURE_WRITE;
    if shared && prot & PROT_WRITE != 0 && file.seals().is_some_and(|s| s & write_seals != 0) {
        return Err(Errno::EPERM);
    }
    // Linux: no executable mapping of a file on a noexec mount.
    if prot & PROT_EXEC != 0 && file.exec_forbidden() {
        return Err(Errno::EPERM);
    }
    offset.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    let kind = VmaKind::File { path: file.path(), offset };
    if shared {
        // The file's own pages (tmpfs): stores reach the file and every
        // other mapping. A file the gofer serves has its host descriptor
        // mapped shared instead: its pages are the host's page cache, so
        // stores reach the host file and every mapping of it.
        // A read-only shared mapping of a file with neither is served as
        // a copy (it differs only if the file changes later).
        match file.shared_pages(&task.kernel.memfile, offset, len) {
            Ok(pages) => return task.mm.map_shared_pages(placement, prot, pages, kind),
            Err(Errno::ENODEV) => {
                match task.mm.map_host_file(placement, len, prot, &file, offset, kind.clone(), true) {
                    Err(Errno::ENODEV) if prot & PROT_WRITE == 0 => {}
                    Err(Errno::ENODEV) => {
                        tracing::warn!(path = file.path(), "writable MAP_SHARED of this file is not supported: ENODEV");
                        return Err(Errno::ENODEV);
                    }
                    mapped => return mapped,
                }
            }
            Err(e) => return Err(e),
        }
    }
    // A private mapping that is not writable is the host file itself when
    // the file has one (libraries' text); otherwise a copy of its bytes.
    match task.mm.map_host_file(placement, len, prot, &file, offset, kind.clone(), false) {
        Err(Errno::ENODEV) => {}
        mapped => return mapped,
    }
    let at = task.mm.map_anonymous(placement, len, prot, kind)?;
    if let Err(e) = copy_from_file(&task.mm, &*file, offset, at, len) {
        let _ = task.mm.unmap(at, len);
        return Err(e);
    }
    Ok(at)
}

pub fn munmap(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    task.mm.unmap(a[0], a[1]).map(|_| 0)
}

pub fn mprotect(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let prot = a[2];
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    task.mm.protect(a[0], a[1], prot & (PROT_READ | PROT_WRITE | PROT_EXEC)).map(|_| 0)
}

pub fn brk(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(task.mm.brk(a[0]))
}

pub fn madvise(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (addr, len, advice) = (a[0], a[1], a[2]);
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    match advice {
        MADV_DONTNEED => task.mm.discard(addr, page_up(len).ok_or(Errno::EINVAL)?).map(|_| 0),
        // Hints (NORMAL, RANDOM, SEQUENTIAL, WILLNEED, FREE, HUGEPAGE...) change
        // no observable behaviour here.
        0..=3 | 8..=19 | 100..=101 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn mremap(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    const MREMAP_DONTUNMAP: u64 = 4;
    let (old, old_len, new_len, flags, new_addr) = (a[0], a[1], a[2], a[3], a[4]);
    if old % PAGE_SIZE != 0 || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        // Leaving the old range mapped but empty is not done yet.
        return Err(Errno::EINVAL);
    }
    let (old_len, new_len) = (page_up(old_len).ok_or(Errno::EINVAL)?, page_up(new_len).ok_or(Errno::EINVAL)?);
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & MREMAP_FIXED != 0).then_some(new_addr);
    if fixed.is_some_and(|f| f % PAGE_SIZE != 0) {
        return Err(Errno::EINVAL);
    }
    task.mm.remap(old, old_len, new_len, flags & MREMAP_MAYMOVE != 0, fixed)
}

pub fn mincore(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (addr, len, vec) = (a[0], a[1], a[2]);
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    let pages = task.mm.residency(addr, len)?;
    task.mm.copy_out(vec, &pages).map(|()| 0)
}

/// The page range `mlock`-family calls name: `addr` rounded down, the end
/// rounded up; ENOMEM unless all of it is mapped.
fn mapped_range(task: &Task, addr: u64, len: u64) -> Result<(), Errno> {
    let start = addr & !(PAGE_SIZE - 1);
    let end = addr.checked_add(len).and_then(page_up).ok_or(Errno::ENOMEM)?;
    if end > start && !task.mm.covers(start, end - start) {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// `mlock`, `munlock`: the range must be mapped. Application memory is
/// memory-file pages the sentry never writes out, so locking changes
/// nothing further (RLIMIT_MEMLOCK is not enforced).
pub fn mlock(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mapped_range(task, a[0], a[1]).map(|_| 0)
}

pub fn mlock2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const MLOCK_ONFAULT: u64 = 1;
    if a[2] & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    mapped_range(task, a[0], a[1]).map(|_| 0)
}

pub fn mlockall(_: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const MCL_CURRENT: u64 = 1;
    const MCL_FUTURE: u64 = 2;
    const MCL_ONFAULT: u64 = 4;
    let flags = a[0];
    if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn munlockall(_: &mut Task, _: &[u64; 6]) -> Result<u64, Errno> {
    Ok(0)
}

/// `msync`: shared mappings here are the file's own pages (tmpfs) or
/// anonymous memory, so there is nothing to write back; the arguments
/// are checked as Linux checks them.
pub fn msync(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let (addr, len, flags) = (a[0], a[1], a[2]);
    if addr % PAGE_SIZE != 0 || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MS_ASYNC != 0 && flags & MS_SYNC != 0 {
        return Err(Errno::EINVAL);
    }
    mapped_range(task, addr, len).map(|_| 0)
}
