//! Application address spaces: the sentry's record of every mapping (VMA),
//! kept in step with the platform's real mappings, and copy-in/copy-out of
//! application memory through the memory file (gVisor: `pkg/sentry/mm`).
//!
//! Every VMA is backed by its own range of the memory file, allocated when
//! the VMA is created (the file is sparse, so untouched pages cost nothing)
//! and mapped into the stub at once, so the application never faults on a
//! page the sentry has to supply. The exception is a private mapping of a
//! host file (a gofer-donated descriptor) that is not writable, as program
//! text and read-only data are: the stub maps the host file itself
//! (`MAP_PRIVATE`), so those pages are the host's page cache, shared by
//! every process and sandbox and never copied. Such a VMA becomes a memory
//! file copy the moment it is made writable, so the sentry always sees what
//! the application sees.
//!
//! `fork` shares private memory copy-on-write: parent and child map the
//! same memory-file pages (reference-counted there) without write
//! permission, and the first write to them, a fault in the stub or a
//! `copy_out` by the sentry, copies the 64 KiB around it (`unshare`).
//! Mappings with little memory in them are copied at fork instead, which
//! costs less than the faults would.

use abi::{mman, page_down, page_up, Errno, PAGE_SIZE};
use memfile::MemoryFile;
use platform::{AddressSpace, MAX_USER_ADDRESS};
use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};

mod access;
pub use access::HostFile;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// The lowest address a mapping may take (`vm.mmap_min_addr`).
pub const MIN_ADDRESS: u64 = 0x1_0000;
/// Top of the initial stack.
pub const STACK_TOP: u64 = 0x7fff_fff0_0000;
/// Reserved size of the initial stack (`RLIMIT_STACK`).
pub const STACK_SIZE: u64 = 8 << 20;
/// The gap a growing stack keeps from the mapping below it (Linux's
/// `stack_guard_gap`, 256 pages).
pub const GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// Where top-down `mmap` placement starts, below the stack's reservation.
pub const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (1 << 30);

/// What a mapping is, for `/proc/pid/maps` and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmaKind {
    Anonymous,
    Stack,
    Heap,
    /// A private copy of a file's contents.
    File {
        path: String,
        offset: u64,
    },
    /// The vDSO's parameter page and the vDSO itself: shared by every
    /// address space, so never writable.
    Vvar,
    Vdso,
    /// Private anonymous memory mapped with MAP_GROWSDOWN: a fault in the
    /// pages just below it extends it downwards (see `grow_down`).
    GrowsDown,
}

#[derive(Debug, Clone)]
pub struct Vma {
    pub end: u64,
    pub prot: u64,
    /// Offset of the VMA's first byte in its backing: the memory file, or
    /// the host file when `host` is set.
    pub memfile_offset: u64,
    pub kind: VmaKind,
    /// For `MAP_SHARED` memory: the pages, shared with every other mapping
    /// of them (in this and other processes). Private VMAs own their range.
    pub shared: Option<Arc<SharedPages>>,
    /// A mapping of this host-backed file itself (see the module comment):
    /// private and never writable, or `MAP_SHARED`; no memory-file pages.
    pub host: Option<HostFile>,
    /// Private pages that may be shared with another address space since
    /// a fork: mapped without write permission until `unshare` copies them
    /// (or finds them no longer shared).
    pub cow: bool,
}

/// A run of application memory in one VMA: `(offset, len, host file)`.
impl Vma {
    /// Drops the VMA's reference to its memory-file pages (freeing those it
    /// was the last owner of), unless they are `MAP_SHARED` pages (then the
    /// last mapping's `SharedPages` frees them) or it has none.
    fn release(&self, memfile: &MemoryFile, start: u64) {
        if self.shared.is_none() && self.host.is_none() {
            let _ = memfile.release(self.memfile_offset, self.end - start);
        }
    }

    /// The protection the stub maps the VMA with: its own, less write
    /// permission while its pages may be shared copy-on-write.
    fn mapped_prot(&self) -> u64 {
        if self.cow {
            self.prot & !mman::PROT_WRITE
        } else {
            self.prot
        }
    }

    /// Maps the VMA, which starts at `start`, into `space`.
    fn map_into(&self, space: &dyn AddressSpace, start: u64) -> Result<(), Errno> {
        let len = self.end - start;
        let mapped = match &self.host {
            Some(h) => {
                let fd = h.file.host_fd().ok_or(Errno::EFAULT)?;
                space.map_file(start, len, fd, self.memfile_offset, self.prot, h.shared)
            }
            None => space.map(start, len, self.memfile_offset, self.mapped_prot()),
        };
        mapped.map_err(platform_err)
    }
}

/// Memory-file pages shared by several mappings: `MAP_SHARED | MAP_ANONYMOUS`
/// memory, which `fork` shares instead of copying. Freed with the last
/// mapping of it.
pub struct SharedPages {
    memfile: Arc<MemoryFile>,
    offset: u64,
    len: u64,
}

impl std::fmt::Debug for SharedPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedPages({:#x}+{:#x})", self.offset, self.len)
    }
}

impl SharedPages {
    /// Fresh zeroed pages of the memory file, shared by whoever maps them.
    pub fn allocate(memfile: &Arc<MemoryFile>, len: u64) -> Result<Arc<SharedPages>, Errno> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let offset = memfile.allocate(len).map_err(|_| Errno::ENOMEM)?;
        Ok(Arc::new(SharedPages { memfile: memfile.clone(), offset, len }))
    }

    pub fn read(&self, within: u64, buf: &mut [u8]) {
        let _ = self.memfile.read(self.offset + within, buf);
    }

    pub fn write(&self, within: u64, data: &[u8]) {
        let _ = self.memfile.write(self.offset + within, data);
    }

    /// One atomic 32-bit store with release ordering (`MemoryFile::store_u32`).
    pub fn store_u32(&self, within: u64, value: u32) {
        let _ = self.memfile.store_u32(self.offset + within, value);
    }
}

impl Drop for SharedPages {
    fn drop(&mut self) {
        let _ = self.memfile.free(self.offset, self.len);
    }
}

/// Where a memory word lives, for keying futexes: a process's private
/// memory (by address), the memory file's shared pages or a host file (by
/// offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WordSpace {
    Process(i32),
    Memory,
    File(u64, u64),
}

/// How a new mapping may treat what is already at its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere; the address is a hint.
    Hint(u64),
    /// Exactly there, replacing old mappings (`MAP_FIXED`).
    Replace(u64),
    /// Exactly there, failing with EEXIST if occupied (`MAP_FIXED_NOREPLACE`).
    NoReplace(u64),
}

/// The state behind a `MemoryManager`'s lock.
struct Inner {
    space: Arc<dyn AddressSpace>,
    memfile: Arc<MemoryFile>,
    vmas: BTreeMap<u64, Vma>,
    brk_start: u64,
    brk: u64,
    /// argv as `/proc/<pid>/cmdline` shows it: each argument NUL-ended.
    /// A copy made at exec (Linux reads the stack, so a program that
    /// rewrites its argv changes it there; here it does not).
    cmdline: Vec<u8>,
    environ: Vec<u8>,
}

fn platform_err(e: platform::PlatformError) -> Errno {
    tracing::error!("platform: {e}");
    Errno::EFAULT
}

/// A copy of an address space's contents, made by `fork` in the parent and
/// mapped into the child's new address space on the child's own thread
/// (which must be the tracer of its stub).
pub struct MmImage {
    vmas: BTreeMap<u64, Vma>,
    brk_start: u64,
    brk: u64,
    cmdline: Vec<u8>,
    environ: Vec<u8>,
    memfile: Arc<MemoryFile>,
}

impl Drop for MmImage {
    fn drop(&mut self) {
        for (start, vma) in std::mem::take(&mut self.vmas) {
            vma.release(&self.memfile, start);
        }
    }
}

/// A private mapping holding at most this much memory is copied at fork;
/// a larger one is shared copy-on-write.
const FORK_COPY_MAX: u64 = 64 << 10;
/// How much a write to copy-on-write memory copies: the aligned run of this
/// size around it (within its VMA), so that a process writing through a
/// large buffer takes one fault per run, not per page.
const COW_UNIT: u64 = 64 << 10;

impl Inner {
    /// The child's copy of every mapping. Private memory is shared with
    /// the child copy-on-write (both sides lose write access to it until
    /// `unshare`), or copied outright when little of it is in memory;
    /// shared memory and host file mappings are the same in both.
    pub fn fork_image(&mut self) -> Result<MmImage, Errno> {
        let mut image = MmImage {
            vmas: BTreeMap::new(),
            brk_start: self.brk_start,
            brk: self.brk,
            cmdline: self.cmdline.clone(),
            environ: self.environ.clone(),
            memfile: self.memfile.clone(),
        };
        // Ranges of the parent to map without write access, merged.
        let mut protect: Vec<(u64, u64, u64)> = Vec::new();
        for (&start, vma) in self.vmas.iter_mut() {
            if vma.shared.is_some() || vma.host.is_some() {
                // Shared memory stays shared with the child; a host file
                // mapping maps the same file.
                image.vmas.insert(start, vma.clone());
                continue;
            }
            let len = vma.end - start;
            if self.memfile.committed_in(vma.memfile_offset, len) <= FORK_COPY_MAX {
                let offset = self.memfile.allocate(len).map_err(|_| Errno::ENOMEM)?;
                // Inserted first, so the image frees it if the copy fails.
                image.vmas.insert(start, Vma { memfile_offset: offset, cow: false, ..vma.clone() });
                self.memfile.copy(vma.memfile_offset, offset, len).map_err(|_| Errno::ENOMEM)?;
                continue;
            }
            self.memfile.share(vma.memfile_offset, len).map_err(|_| Errno::ENOMEM)?;
            image.vmas.insert(start, Vma { cow: true, ..vma.clone() });
            if !vma.cow && vma.prot & mman::PROT_WRITE != 0 {
                let prot = vma.prot & !mman::PROT_WRITE;
                match protect.last_mut() {
                    Some((_, end, p)) if *end == start && *p == prot => *end = vma.end,
                    _ => protect.push((start, vma.end, prot)),
                }
            }
            vma.cow = true;
        }
        // The parent's stub writes no more to what the child now shares.
        for (start, end, prot) in protect {
            self.space.protect(start, end - start, prot).map_err(platform_err)?;
        }
        Ok(image)
    }

    /// Makes the private memory of `[addr, end)` this address space's own
    /// to write: copy-on-write pages still shared with another address
    /// space are copied (the `COW_UNIT` around the range), those no longer
    /// shared are simply taken back, and either way the stub may write them
    /// again. True if there was copy-on-write memory in the range.
    fn unshare(&mut self, addr: u64, end: u64) -> Result<bool, Errno> {
        let starts: Vec<u64> = self.vmas.range(..end).filter(|(_, v)| v.end > addr && v.cow).map(|(&s, _)| s).collect();
        for start in &starts {
            let vma = &self.vmas[start];
            let len = vma.end - start;
            if !self.memfile.is_shared(vma.memfile_offset, len) {
                // The other owners are gone: all of it is ours again.
                let prot = vma.prot;
                self.vmas.get_mut(start).expect("listed above").cow = false;
                self.space.protect(*start, len, prot).map_err(platform_err)?;
                self.merge_around(*start);
                continue;
            }
            let lo = page_down(addr.max(*start)) & !(COW_UNIT - 1);
            let hi = page_up(end.min(vma.end)).and_then(|e| e.checked_next_multiple_of(COW_UNIT)).unwrap_or(vma.end);
            let (lo, hi) = (lo.max(*start), hi.min(vma.end));
            let (at, mut piece) = self.carve(lo, hi).pop().expect("inside one VMA");
            let n = hi - lo;
            if self.memfile.is_shared(piece.memfile_offset, n) {
                let copy = match self.memfile.allocate(n) {
                    Ok(copy) => copy,
                    Err(_) => {
                        self.vmas.insert(at, piece);
                        return Err(Errno::ENOMEM);
                    }
                };
                let _ = self.memfile.copy(piece.memfile_offset, copy, n);
                let _ = self.memfile.release(piece.memfile_offset, n);
                piece.memfile_offset = copy;
                piece.cow = false;
                let mapped = self.space.map(at, n, copy, piece.prot);
                self.vmas.insert(at, piece);
                mapped.map_err(platform_err)?;
            } else {
                piece.cow = false;
                let prot = piece.prot;
                self.vmas.insert(at, piece);
                self.space.protect(at, n, prot).map_err(platform_err)?;
            }
            self.merge_around(at);
        }
        Ok(!starts.is_empty())
    }

    /// Joins the VMA at `start` with its neighbours where they are one
    /// mapping in all but name: private anonymous memory, adjacent in the
    /// address space and in the memory file, with the same protection,
    /// kind and copy-on-write state (so that writes that copy a run at a
    /// time do not leave a trail of small VMAs).
    fn merge_around(&mut self, start: u64) {
        let joinable = |a: &Vma, a_start: u64, b: &Vma| {
            a.shared.is_none()
                && b.shared.is_none()
                && a.host.is_none()
                && b.host.is_none()
                && a.prot == b.prot
                && a.cow == b.cow
                && a.kind == b.kind
                && matches!(a.kind, VmaKind::Anonymous | VmaKind::Heap | VmaKind::Stack)
                && a.memfile_offset + (a.end - a_start) == b.memfile_offset
        };
        let mut start = start;
        if let Some((&prev, p)) = self.vmas.range(..start).next_back() {
            let this = &self.vmas[&start];
            if p.end == start && joinable(p, prev, this) {
                let end = this.end;
                self.vmas.remove(&start);
                self.vmas.get_mut(&prev).expect("just seen").end = end;
                start = prev;
            }
        }
        let this = &self.vmas[&start];
        if let Some(next) = self.vmas.get(&this.end) {
            if joinable(this, start, next) {
                let (next_start, next_end) = (this.end, next.end);
                self.vmas.remove(&next_start);
                self.vmas.get_mut(&start).expect("just seen").end = next_end;
            }
        }
    }

    /// Maps a fork image into the new, empty address space `space`.
    fn from_image(space: Arc<dyn AddressSpace>, mut image: MmImage) -> Result<Inner, Errno> {
        let vmas = std::mem::take(&mut image.vmas);
        let mut mm = Inner {
            space,
            memfile: image.memfile.clone(),
            vmas: BTreeMap::new(),
            brk_start: image.brk_start,
            brk: image.brk,
            cmdline: std::mem::take(&mut image.cmdline),
            environ: std::mem::take(&mut image.environ),
        };
        for (start, vma) in vmas {
            // Owned by `mm` from here on, so it is freed on any failure.
            mm.vmas.insert(start, vma.clone());
            vma.map_into(&*mm.space, start)?;
        }
        Ok(mm)
    }

    fn new(space: Arc<dyn AddressSpace>, memfile: Arc<MemoryFile>) -> Inner {
        Inner { space, memfile, vmas: BTreeMap::new(), brk_start: 0, brk: 0, cmdline: Vec::new(), environ: Vec::new() }
    }

    pub fn vmas(&self) -> impl Iterator<Item = (u64, &Vma)> {
        self.vmas.iter().map(|(&s, v)| (s, v))
    }

    /// Creates a zero-filled mapping of `len` bytes and returns its address.
    pub fn map_anonymous(&mut self, at: Placement, len: u64, prot: u64, kind: VmaKind) -> Result<u64, Errno> {
        self.map_new(at, len, prot, kind, false)
    }

    /// Creates zero-filled memory, shared (`MAP_SHARED`) or private.
    fn map_new(&mut self, at: Placement, len: u64, prot: u64, kind: VmaKind, shared: bool) -> Result<u64, Errno> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let addr = self.place(at, len)?;
        let offset = self.memfile.allocate(len).map_err(|_| Errno::ENOMEM)?;
        if let Err(e) = self.space.map(addr, len, offset, prot) {
            let _ = self.memfile.free(offset, len);
            return Err(platform_err(e));
        }
        let shared = shared.then(|| Arc::new(SharedPages { memfile: self.memfile.clone(), offset, len }));
        self.vmas
            .insert(addr, Vma { end: addr + len, prot, memfile_offset: offset, kind, shared, host: None, cow: false });
        Ok(addr)
    }

    /// The address a new mapping of `len` bytes goes to; with
    /// `Placement::Replace` whatever was there is unmapped first.
    fn place(&mut self, at: Placement, len: u64) -> Result<u64, Errno> {
        match at {
            Placement::Hint(hint) => self.find_free(page_down(hint), len),
            Placement::Replace(addr) => {
                check_range(addr, len)?;
                self.unmap(addr, len)?;
                Ok(addr)
            }
            Placement::NoReplace(addr) => {
                check_range(addr, len)?;
                if self.overlaps(addr, addr + len) {
                    return Err(Errno::EEXIST);
                }
                Ok(addr)
            }
        }
    }

    /// Removes every mapping in `[addr, addr+len)`; unmapped holes are fine.
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let cut = self.carve(addr, end);
        if cut.is_empty() {
            return Ok(());
        }
        for (start, vma) in &cut {
            vma.release(&self.memfile, *start);
        }
        let lo = cut.first().map(|(s, _)| *s).unwrap_or(addr);
        let hi = cut.last().map(|(_, v)| v.end).unwrap_or(end);
        self.space.unmap(lo, hi - lo).map_err(platform_err)
    }

    /// Changes the protection of `[addr, addr+len)`, which must be mapped
    /// throughout (ENOMEM otherwise, as Linux).
    pub fn protect(&mut self, addr: u64, len: u64, prot: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        if !self.is_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        // Linux lets a debugger write a private copy of the vDSO; here its
        // pages are the sandbox's one copy, so they stay read-only.
        let special =
            self.vmas.range(..end).any(|(_, v)| v.end > addr && matches!(v.kind, VmaKind::Vvar | VmaKind::Vdso));
        if special && prot & mman::PROT_WRITE != 0 {
            return Err(Errno::EACCES);
        }
        let cut = self.carve(addr, end);
        // Up to where the change is made: all of it, unless copying a host
        // file mapping about to become writable runs out of memory (then,
        // as on Linux, the change stops part way).
        let mut done = Ok(());
        // The stub's side, as runs of one protection (copy-on-write memory
        // stays without write access).
        let mut runs: Vec<(u64, u64, u64)> = Vec::new();
        for (start, mut vma) in cut {
            if done.is_ok() {
                let old = std::mem::replace(&mut vma.prot, prot);
                if prot & mman::PROT_WRITE != 0 {
                    if let Err(e) = self.make_writable(start, &mut vma) {
                        vma.prot = old;
                        done = Err(e);
                    }
                }
                if done.is_ok() {
                    let mapped = vma.mapped_prot();
                    match runs.last_mut() {
                        Some((_, e, p)) if *e == start && *p == mapped => *e = vma.end,
                        _ => runs.push((start, vma.end, mapped)),
                    }
                }
            }
            self.vmas.insert(start, vma);
        }
        for (start, end, prot) in runs {
            self.space.protect(start, end - start, prot).map_err(platform_err)?;
        }
        done
    }

    /// Readies a VMA for `mprotect` to add write permission: a private host
    /// file mapping becomes a memory-file copy of its bytes, mapped at the
    /// same place with the VMA's (new) protection; a shared one must be of
    /// a file opened for writing (EACCES, as Linux).
    fn make_writable(&mut self, start: u64, vma: &mut Vma) -> Result<(), Errno> {
        let Some(host) = vma.host.clone() else { return Ok(()) };
        if host.shared {
            let access = host.file.flags() & abi::fcntl::O_ACCMODE;
            return if access == abi::fcntl::O_RDWR { Ok(()) } else { Err(Errno::EACCES) };
        }
        let len = vma.end - start;
        let offset = self.memfile.allocate(len).map_err(|_| Errno::ENOMEM)?;
        let copied = (|| {
            const CHUNK: u64 = 1 << 20;
            let mut buf = vec![0u8; CHUNK.min(len) as usize];
            let mut done = 0;
            while done < len {
                let n = CHUNK.min(len - done) as usize;
                host.read(vma.memfile_offset + done, &mut buf[..n])?;
                self.memfile.write(offset + done, &buf[..n]).map_err(|_| Errno::ENOMEM)?;
                done += n as u64;
            }
            self.space.map(start, len, offset, vma.prot).map_err(platform_err)
        })();
        if let Err(e) = copied {
            let _ = self.memfile.free(offset, len);
            return Err(e);
        }
        vma.host = None;
        vma.memfile_offset = offset;
        Ok(())
    }

    /// `MADV_DONTNEED`: private anonymous memory in the range reads as zero
    /// afterwards. (Private file copies keep their contents: re-reading the
    /// file comes with real file mappings in issue #3.)
    pub fn discard(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if !self.is_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let starts: Vec<u64> = self.vmas.range(..end).filter(|(_, v)| v.end > addr).map(|(&s, _)| s).collect();
        for start in starts {
            let vma = &self.vmas[&start];
            // Private file copies keep their contents; shared memory keeps
            // what the other mappings see.
            if matches!(vma.kind, VmaKind::File { .. }) || vma.shared.is_some() {
                continue;
            }
            let lo = start.max(addr);
            let hi = vma.end.min(end);
            let offset = vma.memfile_offset + (lo - start);
            if !(vma.cow && self.memfile.is_shared(offset, hi - lo)) {
                self.memfile.decommit(offset, hi - lo).map_err(|_| Errno::EFAULT)?;
                continue;
            }
            // Pages another address space still shares: this one lets go
            // of them and takes fresh zeroed ones.
            let fresh = self.memfile.allocate(hi - lo).map_err(|_| Errno::ENOMEM)?;
            let (at, mut piece) = self.carve(lo, hi).pop().expect("inside one VMA");
            let _ = self.memfile.release(piece.memfile_offset, hi - lo);
            piece.memfile_offset = fresh;
            piece.cow = false;
            let mapped = self.space.map(at, hi - lo, fresh, piece.prot);
            self.vmas.insert(at, piece);
            mapped.map_err(platform_err)?;
        }
        Ok(())
    }

    /// Sets the program break's starting point (after loading).
    pub fn set_brk_start(&mut self, at: u64) {
        self.brk_start = at;
        self.brk = at;
    }

    /// `brk(2)`: moves the break if it can and returns the break in force.
    pub fn brk(&mut self, want: u64) -> u64 {
        if want < self.brk_start {
            return self.brk;
        }
        let (old_top, new_top) = (page_up(self.brk).unwrap_or(u64::MAX), page_up(want).unwrap_or(u64::MAX));
        if new_top > old_top {
            let grown = self.map_anonymous(
                Placement::NoReplace(old_top),
                new_top - old_top,
                mman::PROT_READ | mman::PROT_WRITE,
                VmaKind::Heap,
            );
            if grown.is_err() {
                return self.brk;
            }
        } else if new_top < old_top && self.unmap(new_top, old_top - new_top).is_err() {
            return self.brk;
        }
        self.brk = want;
        want
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.vmas.range(..end).next_back().is_some_and(|(_, v)| v.end > start)
    }

    fn is_mapped(&self, start: u64, end: u64) -> bool {
        let mut cur = start;
        for (&s, v) in self.vmas.range(..end) {
            if v.end <= cur {
                continue;
            }
            if s > cur {
                return false;
            }
            cur = v.end;
            if cur >= end {
                return true;
            }
        }
        cur >= end
    }

    /// `mremap(2)`: shrinks, grows in place, or moves `[old, old+old_len)`
    /// (which must be mapped throughout). A move keeps the same
    /// memory-file pages, so no byte is copied.
    fn remap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        if old_len == 0 || !self.is_mapped(old, old_end) {
            return Err(Errno::EFAULT);
        }
        // Growth takes the protection and kind of the last piece.
        let (_, last) = self.vmas.range(..old_end).next_back().ok_or(Errno::EFAULT)?;
        let (prot, kind) = (last.prot, last.kind.clone());
        if fixed.is_none() && new_len <= old_len {
            if new_len < old_len {
                self.unmap(old + new_len, old_len - new_len)?;
            }
            return Ok(old);
        }
        if fixed.is_none() {
            let grown_end = old.checked_add(new_len).filter(|&e| e <= MAX_USER_ADDRESS);
            if let Some(end) = grown_end.filter(|&e| !self.overlaps(old_end, e)) {
                self.map_anonymous(Placement::NoReplace(old_end), end - old_end, prot, kind)?;
                return Ok(old);
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
        }
        let new = match fixed {
            Some(at) => {
                check_range(at, new_len)?;
                if at < old_end && old < at + new_len {
                    return Err(Errno::EINVAL);
                }
                self.unmap(at, new_len)?;
                at
            }
            None => self.find_free(0, new_len)?,
        };
        let kept = old_len.min(new_len);
        // Move the pages: map the same memory-file ranges at the new place,
        // then drop the old addresses without freeing the pages.
        for (s, v) in self.carve(old, old + kept) {
            let at = s - old + new;
            let moved = Vma { end: v.end - old + new, ..v };
            moved.map_into(&*self.space, at)?;
            self.vmas.insert(at, moved);
        }
        self.space.unmap(old, kept).map_err(platform_err)?;
        if old_len > kept {
            self.unmap(old + kept, old_len - kept)?;
        }
        if new_len > kept {
            self.map_anonymous(Placement::NoReplace(new + kept), new_len - kept, prot, kind)?;
        }
        Ok(new)
    }

    /// Splits VMAs at `start` and `end`, removes the pieces inside and
    /// returns them (each keyed by its start).
    fn carve(&mut self, start: u64, end: u64) -> Vec<(u64, Vma)> {
        let keys: Vec<u64> = self.vmas.range(..end).filter(|(_, v)| v.end > start).map(|(&s, _)| s).collect();
        let mut inside = Vec::new();
        for s in keys {
            let vma = self.vmas.remove(&s).expect("key listed above");
            if s < start {
                let mut left = vma.clone();
                left.end = start;
                self.vmas.insert(s, left);
            }
            if vma.end > end {
                let mut right = vma.clone();
                right.memfile_offset += end - s;
                self.vmas.insert(end, right);
            }
            let lo = s.max(start);
            let mut mid = vma;
            mid.memfile_offset += lo - s;
            mid.end = mid.end.min(end);
            inside.push((lo, mid));
        }
        inside
    }

    /// Finds a free range of `len` bytes, at `hint` if free, else the
    /// highest one below `MMAP_TOP`.
    fn find_free(&self, hint: u64, len: u64) -> Result<u64, Errno> {
        if hint >= MIN_ADDRESS
            && hint.checked_add(len).is_some_and(|e| e <= MAX_USER_ADDRESS)
            && !self.overlaps(hint, hint + len)
        {
            return Ok(hint);
        }
        let mut top = MMAP_TOP;
        for (&s, v) in self.vmas.range(..MMAP_TOP).rev() {
            if v.end <= top && top - v.end >= len {
                return Ok(top - len);
            }
            top = top.min(s);
        }
        if top >= MIN_ADDRESS + len {
            Ok(top - len)
        } else {
            Err(Errno::ENOMEM)
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for (start, vma) in std::mem::take(&mut self.vmas) {
            vma.release(&self.memfile, start);
        }
    }
}

/// An application address space, shared by the threads that use it. Every
/// operation takes the lock for its duration (gVisor's `mm.MemoryManager`
/// has finer locks; this one is coarse and simple).
pub struct MemoryManager {
    space: Arc<dyn AddressSpace>,
    inner: Mutex<Inner>,
}

impl MemoryManager {
    pub fn new(space: Arc<dyn AddressSpace>, memfile: Arc<MemoryFile>) -> MemoryManager {
        MemoryManager { space: space.clone(), inner: Mutex::new(Inner::new(space, memfile)) }
    }

    /// Maps a fork image into the new, empty address space `space`.
    pub fn from_image(space: Arc<dyn AddressSpace>, image: MmImage) -> Result<MemoryManager, Errno> {
        Ok(MemoryManager { space: space.clone(), inner: Mutex::new(Inner::from_image(space, image)?) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn space(&self) -> &Arc<dyn AddressSpace> {
        &self.space
    }

    /// The mappings, for /proc/pid/maps and diagnostics.
    pub fn vmas(&self) -> Vec<(u64, Vma)> {
        self.lock().vmas().map(|(s, v)| (s, v.clone())).collect()
    }

    pub fn fork_image(&self) -> Result<MmImage, Errno> {
        self.lock().fork_image()
    }

    /// `mremap(2)`.
    pub fn remap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        self.lock().remap(old, old_len, new_len, may_move, fixed)
    }

    /// `mincore(2)`: one byte per page of `[addr, addr+len)`, 1 if the page
    /// is in memory; ENOMEM if any of it is unmapped.
    pub fn residency(&self, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
        let inner = self.lock();
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !inner.is_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let mut out = Vec::with_capacity((len / PAGE_SIZE) as usize);
        let mut page = addr;
        while page < end {
            let (&start, vma) = inner.vmas.range(..=page).next_back().ok_or(Errno::ENOMEM)?;
            let off = vma.memfile_offset + (page - start);
            // A host file's pages are the host's page cache: counted in.
            out.push(u8::from(vma.host.is_some() || inner.memfile.committed_in(off, PAGE_SIZE) > 0));
            page += PAGE_SIZE;
        }
        Ok(out)
    }

    /// Bytes of memory this address space holds (its resident set).
    pub fn resident(&self) -> u64 {
        let inner = self.lock();
        inner
            .vmas
            .iter()
            .filter(|(_, v)| v.host.is_none())
            .map(|(&start, v)| inner.memfile.committed_in(v.memfile_offset, v.end - start))
            .sum()
    }

    /// argv as `/proc/<pid>/cmdline` shows it: each argument NUL-ended.
    pub fn cmdline(&self) -> Vec<u8> {
        self.lock().cmdline.clone()
    }

    pub fn set_cmdline(&self, argv: &[String]) {
        self.lock().cmdline = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    }

    /// The environment as `/proc/<pid>/environ` shows it: each entry
    /// NUL-ended, as given to execve (a copy: changes the program makes to
    /// its own environment in place do not show).
    pub fn environ(&self) -> Vec<u8> {
        self.lock().environ.clone()
    }

    pub fn set_environ(&self, envp: &[String]) {
        self.lock().environ = envp.iter().flat_map(|a| a.bytes().chain([0])).collect();
    }

    /// Creates a zero-filled mapping of `len` bytes and returns its address.
    pub fn map_anonymous(&self, at: Placement, len: u64, prot: u64, kind: VmaKind) -> Result<u64, Errno> {
        self.lock().map_anonymous(at, len, prot, kind)
    }

    /// Maps `len` bytes of `file` from `offset` as the host file itself
    /// (see the module comment): privately, or `shared` (`MAP_SHARED`: the
    /// application's stores reach the file). ENODEV when that cannot be:
    /// the file has no host descriptor, a private mapping is writable, or
    /// the host refuses; the caller then makes a copy, or fails.
    #[allow(clippy::too_many_arguments)]
    pub fn map_host_file(
        &self,
        at: Placement,
        len: u64,
        prot: u64,
        file: &Arc<dyn crate::vfs::FileDescription>,
        offset: u64,
        kind: VmaKind,
        shared: bool,
    ) -> Result<u64, Errno> {
        let fd = file.host_fd().filter(|_| shared || prot & mman::PROT_WRITE == 0).ok_or(Errno::ENODEV)?;
        let len = page_up(len).filter(|&l| l > 0).ok_or(Errno::EINVAL)?;
        let mut inner = self.lock();
        let addr = inner.place(at, len)?;
        inner.space.map_file(addr, len, fd, offset, prot, shared).map_err(|e| {
            tracing::debug!("mapping {} from the host failed ({e})", file.path());
            Errno::ENODEV
        })?;
        let host = Some(HostFile { file: file.clone(), shared });
        let vma = Vma { end: addr + len, prot, memfile_offset: offset, kind, shared: None, host, cow: false };
        inner.vmas.insert(addr, vma);
        Ok(addr)
    }

    /// Maps `pages` (one page each, e.g. a tmpfs file's) consecutively, as a
    /// shared mapping of a file: stores reach the file and every other
    /// mapping of it.
    pub fn map_shared_pages(
        &self,
        at: Placement,
        prot: u64,
        pages: Vec<Arc<SharedPages>>,
        kind: VmaKind,
    ) -> Result<u64, Errno> {
        let len = pages.len() as u64 * PAGE_SIZE;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.lock();
        let addr = inner.place(at, len)?;
        for (i, page) in pages.into_iter().enumerate() {
            let at = addr + i as u64 * PAGE_SIZE;
            inner.space.map(at, PAGE_SIZE, page.offset, prot).map_err(platform_err)?;
            let vma = Vma {
                end: at + PAGE_SIZE,
                prot,
                memfile_offset: page.offset,
                kind: kind.clone(),
                shared: Some(page),
                host: None,
                cow: false,
            };
            inner.vmas.insert(at, vma);
        }
        Ok(addr)
    }

    /// Creates zero-filled `MAP_SHARED` memory: children share it across fork.
    pub fn map_shared_anonymous(&self, at: Placement, len: u64, prot: u64) -> Result<u64, Errno> {
        self.lock().map_new(at, len, prot, VmaKind::Anonymous, true)
    }

    /// A fault at `addr` below a MAP_GROWSDOWN mapping: extends the mapping
    /// down to `addr`'s page, as Linux's `expand_stack` does, if the new
    /// size stays within `limit` (RLIMIT_STACK) and a guard gap of
    /// `GUARD_GAP` is left above the mapping below. True if it grew (the
    /// faulting instruction can run again).
    pub fn grow_down(&self, addr: u64, limit: u64) -> bool {
        let mut inner = self.lock();
        let Some((&start, vma)) = inner.vmas.range(addr..).next() else { return false };
        if vma.kind != VmaKind::GrowsDown || addr >= start {
            return false;
        }
        let (prot, end) = (vma.prot, vma.end);
        let new_start = page_down(addr);
        if end - new_start > limit {
            return false;
        }
        let below_end = inner.vmas.range(..new_start).next_back().map_or(0, |(_, v)| v.end);
        if below_end.saturating_add(GUARD_GAP) > new_start || new_start < MIN_ADDRESS {
            return false;
        }
        if inner.map_new(Placement::NoReplace(new_start), start - new_start, prot, VmaKind::GrowsDown, false).is_err() {
            return false;
        }
        // Only the lowest piece grows.
        if let Some(old) = inner.vmas.get_mut(&start) {
            old.kind = VmaKind::Anonymous;
        }
        true
    }

    /// A protection fault at `addr` (`SEGV_ACCERR`) by the instruction at
    /// `rip`: if it was a write to copy-on-write memory the process may
    /// write, makes that memory its own and returns true (the instruction
    /// can run again). ENOMEM if the copy finds no memory.
    pub fn write_fault(&self, addr: u64, rip: u64) -> Result<bool, Errno> {
        let mut inner = self.lock();
        let Some((_, vma)) = inner.vmas.range(..=addr).next_back().filter(|(_, v)| addr < v.end) else {
            return Ok(false);
        };
        // The stub maps readable memory readable, so a protection fault on
        // writable memory is a write, or an instruction fetch from a page
        // without PROT_EXEC (the fault is then at the instruction's page).
        let fetch = vma.prot & mman::PROT_EXEC == 0 && page_down(addr) == page_down(rip);
        if vma.prot & mman::PROT_WRITE == 0 || fetch {
            return Ok(false);
        }
        if !vma.cow {
            // Another thread of this process made it writable first.
            return Ok(true);
        }
        inner.unshare(addr, addr + 1)
    }

    /// Whether `[addr, addr+len)` is mapped throughout.
    pub fn covers(&self, addr: u64, len: u64) -> bool {
        addr.checked_add(len).is_some_and(|end| self.lock().is_mapped(addr, end))
    }

    /// The futex key of a word in shared memory (where it lives and its
    /// offset there), or `None` for private memory.
    pub fn shared_key(&self, addr: u64) -> Option<(WordSpace, u64)> {
        let inner = self.lock();
        let (&start, vma) = inner.vmas.range(..=addr).next_back().filter(|(_, v)| addr < v.end)?;
        let offset = vma.memfile_offset + (addr - start);
        match &vma.host {
            Some(h) if h.shared => {
                let st = h.file.stat().ok()?;
                Some((WordSpace::File(st.dev, st.ino), offset))
            }
            Some(_) => None,
            None => vma.shared.is_some().then_some((WordSpace::Memory, offset)),
        }
    }

    /// Removes every mapping in `[addr, addr+len)`; unmapped holes are fine.
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        self.lock().unmap(addr, len)
    }

    /// Changes the protection of `[addr, addr+len)` (ENOMEM if any of it is unmapped).
    pub fn protect(&self, addr: u64, len: u64, prot: u64) -> Result<(), Errno> {
        self.lock().protect(addr, len, prot)
    }

    /// `MADV_DONTNEED` of private anonymous memory.
    pub fn discard(&self, addr: u64, len: u64) -> Result<(), Errno> {
        self.lock().discard(addr, len)
    }

    pub fn set_brk_start(&self, at: u64) {
        self.lock().set_brk_start(at)
    }

    /// `brk(2)`: moves the break if it can and returns the break in force.
    pub fn brk(&self, want: u64) -> u64 {
        self.lock().brk(want)
    }

    /// Copies application memory at `addr` into `buf` (EFAULT if any byte
    /// is unmapped or unreadable).
    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.lock().copy_in(addr, buf)
    }

    /// Copies `data` into application memory at `addr`.
    pub fn copy_out(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.lock().copy_out(addr, data)
    }

    /// Reads a host file's bytes straight into application memory, with
    /// no copy through the sentry (see `Inner::read_file_into`).
    pub fn read_file_into(&self, addr: u64, len: usize, fd: BorrowedFd<'_>, file_offset: u64) -> Result<usize, Errno> {
        self.lock().read_file_into(addr, len, fd, file_offset)
    }

    /// Writes application memory straight to a host file, with no copy
    /// through the sentry (see `Inner::write_file_from`).
    pub fn write_file_from(&self, addr: u64, len: usize, fd: BorrowedFd<'_>, file_offset: u64) -> Result<usize, Errno> {
        self.lock().write_file_from(addr, len, fd, file_offset)
    }

    /// Writes regardless of protection, as the loader fills read-only segments.
    pub fn poke(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.lock().poke(addr, data)
    }

    pub fn read_obj<T: FromBytes + IntoBytes>(&self, addr: u64) -> Result<T, Errno> {
        let mut v = T::new_zeroed();
        self.copy_in(addr, v.as_mut_bytes())?;
        Ok(v)
    }

    pub fn write_obj<T: IntoBytes + Immutable>(&self, addr: u64, v: &T) -> Result<(), Errno> {
        self.copy_out(addr, v.as_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        self.lock().read_cstring(addr, max)
    }
}

fn check_range(addr: u64, len: u64) -> Result<(), Errno> {
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    match addr.checked_add(len) {
        Some(end) if addr >= MIN_ADDRESS && end <= MAX_USER_ADDRESS => Ok(()),
        _ => Err(Errno::ENOMEM),
    }
}
