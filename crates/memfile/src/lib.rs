//! The memory file: one memfd that backs all application memory.
//!
//! Every page an application can touch is a page of this file (or, later, of
//! a donated host file). The platform maps ranges of it into the stub
//! processes; the sentry maps the whole file once into its own address
//! space and reads and writes application memory through that mapping,
//! never through `process_vm_*` (gVisor: `pkg/sentry/pgalloc` over
//! `memmap.File`).
//!
//! The file is sparse: allocating a range costs nothing until it is
//! touched, and freeing punches a hole so the host reclaims the pages.
//!
//! A range can have several owners: `fork` shares a process's private
//! pages with its child copy-on-write instead of copying them. An
//! allocation starts with one reference; [`MemoryFile::share`] adds one to
//! every page of a range and [`MemoryFile::release`] drops one, freeing the
//! pages whose last reference went (gVisor: `pgalloc`'s reference counts).

use rustix::fs::{fallocate, ftruncate, FallocateFlags, MemfdFlags};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Mutex;

const PAGE: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum MemfileError {
    #[error("creating the memory file: {0}")]
    Create(#[source] std::io::Error),
    #[error("the memory file is full ({0} bytes requested)")]
    Full(u64),
    #[error("range {offset:#x}+{len:#x} lies outside the memory file")]
    OutOfRange { offset: u64, len: u64 },
}

/// Why [`MemoryFile::read_from`] or [`MemoryFile::write_to`] failed: the
/// range, or the host's answer about its file.
#[derive(Debug, thiserror::Error)]
pub enum FileIoError {
    #[error(transparent)]
    Range(#[from] MemfileError),
    #[error("host file I/O: {0}")]
    Host(#[from] rustix::io::Errno),
}

/// A sparse memfd, mapped once into this process, with a page allocator.
pub struct MemoryFile {
    fd: OwnedFd,
    base: NonNull<u8>,
    size: u64,
    free: Mutex<FreeList>,
    /// Pages with more than one reference, as runs `start -> (end, extra)`:
    /// each page of `[start, end)` has `1 + extra` references. Pages not
    /// listed have one (or are free).
    shares: Mutex<BTreeMap<u64, (u64, u32)>>,
}

// SAFETY: the mapping is process-wide shared memory; all access goes through
// bounds-checked copies below, and the allocator state is behind a mutex.
unsafe impl Send for MemoryFile {}
// SAFETY: as above; concurrent copies to the same bytes race only on the
// application's data, exactly as two CPUs racing on a page would.
unsafe impl Sync for MemoryFile {}

impl MemoryFile {
    /// Creates a memory file of `size` bytes (rounded up to pages), all free.
    pub fn new(size: u64) -> Result<MemoryFile, MemfileError> {
        let size = size.div_ceil(PAGE) * PAGE;
        let io = |e: rustix::io::Errno| MemfileError::Create(e.into());
        let fd = rustix::fs::memfd_create("moat-memory", MemfdFlags::CLOEXEC).map_err(io)?;
        ftruncate(&fd, size).map_err(io)?;
        // SAFETY: a fresh shared mapping of our own memfd at an address the
        // kernel picks; it aliases no Rust object.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                size as usize,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::NORESERVE,
                &fd,
                0,
            )
        }
        .map_err(io)?;
        let base = NonNull::new(ptr.cast::<u8>()).ok_or(MemfileError::Create(std::io::Error::other("null mapping")))?;
        Ok(MemoryFile { fd, base, size, free: Mutex::new(FreeList::new(size)), shares: Mutex::new(BTreeMap::new()) })
    }

    /// The memfd, for mapping ranges of it elsewhere.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of the file the host actually holds in memory (touched pages).
    pub fn committed(&self) -> u64 {
        rustix::fs::fstat(&self.fd).map_or(0, |st| st.st_blocks as u64 * 512)
    }

    /// Bytes of `[offset, offset+len)` the host holds (pages touched and
    /// not freed), found with SEEK_DATA/SEEK_HOLE.
    pub fn committed_in(&self, offset: u64, len: u64) -> u64 {
        self.data_runs(offset, len).map(|(start, end)| end - start).sum()
    }

    /// The runs `(start, end)` of `[offset, offset+len)` that hold pages
    /// (touched and not freed), in order.
    fn data_runs(&self, offset: u64, len: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        use rustix::fs::{seek, SeekFrom};
        let end = offset.saturating_add(len).min(self.size);
        let mut cur = offset;
        std::iter::from_fn(move || {
            if cur >= end {
                return None;
            }
            // ENXIO: no data at or after `cur`.
            let data = seek(&self.fd, SeekFrom::Data(cur)).ok().filter(|&d| d < end)?;
            let hole = seek(&self.fd, SeekFrom::Hole(data)).map_or(end, |h| h.min(end));
            cur = hole;
            Some((data, hole))
        })
    }

    /// Allocates `len` bytes (rounded up to pages) and returns the offset.
    /// The range reads as zeroes.
    pub fn allocate(&self, len: u64) -> Result<u64, MemfileError> {
        let len = len.div_ceil(PAGE) * PAGE;
        self.free.lock().unwrap().take(len).ok_or(MemfileError::Full(len))
    }

    /// Returns a page-aligned range (any part of an earlier allocation) to
    /// the allocator and to the host.
    pub fn free(&self, offset: u64, len: u64) -> Result<(), MemfileError> {
        let len = len.div_ceil(PAGE) * PAGE;
        // Decommit first: once the range is on the free list another
        // thread may allocate it, and it must read as zeroes then.
        self.decommit(offset, len)?;
        self.free.lock().unwrap().give(offset, len);
        Ok(())
    }

    /// Adds a reference to every page of `[offset, offset+len)` (page
    /// aligned, allocated): one more owner must `release` it before the
    /// pages are freed.
    pub fn share(&self, offset: u64, len: u64) -> Result<(), MemfileError> {
        self.check(offset, len)?;
        let mut shares = self.shares.lock().unwrap();
        each_run(&mut shares, offset, offset + len, |shares, start, end, extra| {
            shares.insert(start, (end, extra.map_or(1, |n| n + 1)));
        });
        Ok(())
    }

    /// Drops a reference to every page of `[offset, offset+len)`; the pages
    /// whose last reference this was are freed (see `free`).
    pub fn release(&self, offset: u64, len: u64) -> Result<(), MemfileError> {
        self.check(offset, len)?;
        let mut unowned = Vec::new();
        each_run(&mut self.shares.lock().unwrap(), offset, offset + len, |shares, start, end, extra| match extra {
            Some(n) if n > 1 => drop(shares.insert(start, (end, n - 1))),
            Some(_) => drop(shares.remove(&start)),
            None => unowned.push((start, end - start)),
        });
        for (at, n) in unowned {
            self.free(at, n)?;
        }
        Ok(())
    }

    /// Whether any page of `[offset, offset+len)` has more than one owner.
    pub fn is_shared(&self, offset: u64, len: u64) -> bool {
        let end = offset.saturating_add(len);
        let shares = self.shares.lock().unwrap();
        shares.range(..end).next_back().is_some_and(|(_, &(e, _))| e > offset)
    }

    /// Gives the pages of a range back to the host; the range stays
    /// allocated and reads as zeroes (in every mapping of it).
    pub fn decommit(&self, offset: u64, len: u64) -> Result<(), MemfileError> {
        self.check(offset, len)?;
        let _ = fallocate(&self.fd, FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE, offset, len);
        Ok(())
    }

    /// Copies `buf.len()` bytes at `offset` out of the file.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), MemfileError> {
        self.check(offset, buf.len() as u64)?;
        // SAFETY: the range is inside our mapping (checked above) and `buf`
        // is a distinct Rust buffer; other writers of the shared pages can
        // only change which bytes we copy, not make the copy unsound.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.as_ptr().add(offset as usize), buf.as_mut_ptr(), buf.len());
        }
        Ok(())
    }

    /// Copies `data` into the file at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), MemfileError> {
        self.check(offset, data.len() as u64)?;
        // SAFETY: as in `read`, with the roles of the buffers swapped.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.as_ptr().add(offset as usize), data.len());
        }
        Ok(())
    }

    /// Reads up to `len` bytes of the host file `fd` at `file_offset`
    /// straight into the memory file at `offset` (one `pread`: the host
    /// copies from its page cache into our pages, with no buffer between).
    /// Returns how many bytes came, as `pread` does.
    pub fn read_from(
        &self,
        offset: u64,
        len: usize,
        fd: BorrowedFd<'_>,
        file_offset: u64,
    ) -> Result<usize, FileIoError> {
        self.check(offset, len as u64)?;
        // The slice is only handed to the host kernel to write into; other
        // writers of the same pages change only which bytes land there.
        // SAFETY: the range is inside our mapping (checked above), which
        // lives as long as `self`.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(offset as usize), len) };
        Ok(rustix::io::pread(fd, dst, file_offset)?)
    }

    /// Writes up to `len` bytes of the memory file at `offset` to the host
    /// file `fd` at `file_offset` (one `pwrite`, no buffer between).
    pub fn write_to(
        &self,
        offset: u64,
        len: usize,
        fd: BorrowedFd<'_>,
        file_offset: u64,
    ) -> Result<usize, FileIoError> {
        self.check(offset, len as u64)?;
        // SAFETY: as in `read_from`; the host kernel only reads the range.
        let src = unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(offset as usize), len) };
        Ok(rustix::io::pwrite(fd, src, file_offset)?)
    }

    /// Stores `value` at `offset` (4-byte aligned) as one atomic write with
    /// release ordering: a reader in any mapping of the file sees the whole
    /// word, and sees it only after every earlier write (a seqlock's
    /// counter, as in the vDSO's parameter page).
    pub fn store_u32(&self, offset: u64, value: u32) -> Result<(), MemfileError> {
        self.check(offset, 4)?;
        if !offset.is_multiple_of(4) {
            return Err(MemfileError::OutOfRange { offset, len: 4 });
        }
        // SAFETY: the word is inside our mapping (checked above), aligned
        // (checked), and lives as long as `self`; every access this process
        // makes to it is a copy or this atomic store.
        let word = unsafe { std::sync::atomic::AtomicU32::from_ptr(self.base.as_ptr().add(offset as usize).cast()) };
        word.store(value, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Fills `len` bytes at `offset` with zeroes.
    pub fn zero(&self, offset: u64, len: u64) -> Result<(), MemfileError> {
        self.check(offset, len)?;
        // SAFETY: the range is inside our mapping (checked above).
        unsafe { std::ptr::write_bytes(self.base.as_ptr().add(offset as usize), 0, len as usize) };
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` (non-overlapping ranges of
    /// this file), skipping holes so that untouched pages stay unallocated
    /// in the copy too (fork of a mostly empty 8 MiB stack costs nothing).
    pub fn copy(&self, src: u64, dst: u64, len: u64) -> Result<(), MemfileError> {
        self.check(src, len)?;
        self.check(dst, len)?;
        if src < dst + len && dst < src + len {
            return Err(MemfileError::OutOfRange { offset: dst, len });
        }
        for (data, hole) in self.data_runs(src, len) {
            // The destination's pages in one call rather than a fault each
            // (best effort: before Linux 5.14 the copy faults them in).
            // SAFETY: the destination range lies inside our mapping (checked
            // above); populating its pages changes no byte of it.
            let _ = unsafe {
                rustix::mm::madvise(
                    self.base.as_ptr().add((dst + (data - src)) as usize).cast(),
                    (hole - data) as usize,
                    rustix::mm::Advice::LinuxPopulateWrite,
                )
            };
            // SAFETY: both ranges lie inside our mapping (checked above) and
            // do not overlap; the bytes are plain memory.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.base.as_ptr().add(data as usize),
                    self.base.as_ptr().add((dst + (data - src)) as usize),
                    (hole - data) as usize,
                );
            }
        }
        Ok(())
    }

    fn check(&self, offset: u64, len: u64) -> Result<(), MemfileError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(MemfileError::OutOfRange { offset, len }),
        }
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // SAFETY: we created this mapping in `new` and hand out no references
        // into it, so nothing uses it after drop.
        let _ = unsafe { munmap(self.base.as_ptr().cast(), self.size as usize) };
    }
}

/// Calls `f(shares, start, end, extra)` for each piece of `[from, to)`, in
/// order: a run of shared pages (`Some(extra)`, split at `from` and `to`
/// first, so the run lies inside) or a gap of pages with one owner (`None`).
fn each_run(
    shares: &mut BTreeMap<u64, (u64, u32)>,
    from: u64,
    to: u64,
    mut f: impl FnMut(&mut BTreeMap<u64, (u64, u32)>, u64, u64, Option<u32>),
) {
    split_run(shares, from);
    split_run(shares, to);
    let mut cur = from;
    while cur < to {
        match shares.range(cur..to).next().map(|(&s, &r)| (s, r)) {
            Some((s, (e, extra))) if s == cur => {
                f(shares, s, e, Some(extra));
                cur = e;
            }
            next => {
                let gap_end = next.map_or(to, |(s, _)| s);
                f(shares, cur, gap_end, None);
                cur = gap_end;
            }
        }
    }
}

/// Splits the run of `shares` that contains `at` (strictly inside it) in two
/// at `at`.
fn split_run(shares: &mut BTreeMap<u64, (u64, u32)>, at: u64) {
    if let Some((&s, &(e, extra))) = shares.range(..at).next_back() {
        if e > at {
            shares.insert(s, (at, extra));
            shares.insert(at, (e, extra));
        }
    }
}

/// Free ranges of the file, keyed by offset, merged with their neighbours.
struct FreeList {
    ranges: BTreeMap<u64, u64>,
}

impl FreeList {
    fn new(size: u64) -> FreeList {
        // Offset 0 is never handed out, so a zero offset can't be mistaken
        // for a real allocation in debugging output.
        FreeList { ranges: BTreeMap::from([(PAGE, size - PAGE)]) }
    }

    /// First fit.
    fn take(&mut self, len: u64) -> Option<u64> {
        let (&start, &avail) = self.ranges.iter().find(|(_, &l)| l >= len)?;
        self.ranges.remove(&start);
        if avail > len {
            self.ranges.insert(start + len, avail - len);
        }
        Some(start)
    }

    fn give(&mut self, mut start: u64, mut len: u64) {
        if let Some((&prev, &plen)) = self.ranges.range(..start).next_back() {
            if prev + plen == start {
                self.ranges.remove(&prev);
                start = prev;
                len += plen;
            }
        }
        if let Some(&nlen) = self.ranges.get(&(start + len)) {
            self.ranges.remove(&(start + len));
            len += nlen;
        }
        self.ranges.insert(start, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocate_write_read_free() {
        let mf = MemoryFile::new(1 << 24).unwrap();
        let a = mf.allocate(3 * PAGE).unwrap();
        let b = mf.allocate(1).unwrap();
        assert_eq!(b, a + 3 * PAGE);
        mf.write(a + 10, b"hello").unwrap();
        let mut buf = [0u8; 5];
        mf.read(a + 10, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        mf.free(a, 3 * PAGE).unwrap();
        // Freed memory comes back zeroed.
        let c = mf.allocate(PAGE).unwrap();
        assert_eq!(c, a);
        mf.read(c + 10, &mut buf).unwrap();
        assert_eq!(buf, [0; 5]);
        assert!(mf.read(mf.size() - 2, &mut buf).is_err());
    }

    #[test]
    fn copy_keeps_data_and_holes() {
        let mf = MemoryFile::new(1 << 24).unwrap();
        let a = mf.allocate(64 * PAGE).unwrap();
        let b = mf.allocate(64 * PAGE).unwrap();
        mf.write(a + 5, b"first").unwrap();
        mf.write(a + 40 * PAGE + 7, b"second").unwrap();
        mf.copy(a, b, 64 * PAGE).unwrap();
        let mut buf = [0u8; 6];
        mf.read(b + 40 * PAGE + 7, &mut buf).unwrap();
        assert_eq!(&buf, b"second");
        mf.read(b + 5, &mut buf[..5]).unwrap();
        assert_eq!(&buf[..5], b"first");
        // A hole in the source stays a hole in the copy.
        let hole = rustix::fs::seek(&mf.fd, rustix::fs::SeekFrom::Hole(b + PAGE)).unwrap();
        assert!(hole <= b + 40 * PAGE);
        assert!(mf.copy(a, a + PAGE, 2 * PAGE).is_err());
    }

    #[test]
    fn shared_pages_are_freed_with_their_last_reference() {
        let mf = MemoryFile::new(1 << 24).unwrap();
        let a = mf.allocate(8 * PAGE).unwrap();
        mf.write(a, b"kept").unwrap();
        mf.write(a + 6 * PAGE, b"gone").unwrap();
        mf.share(a, 4 * PAGE).unwrap();
        mf.share(a + 2 * PAGE, 4 * PAGE).unwrap();
        assert!(mf.is_shared(a + 3 * PAGE, PAGE));
        assert!(!mf.is_shared(a + 6 * PAGE, 2 * PAGE));
        // The one owner of pages 6..8 lets them go: freed and zeroed.
        mf.release(a + 6 * PAGE, 2 * PAGE).unwrap();
        let mut buf = [0u8; 4];
        mf.read(a + 6 * PAGE, &mut buf).unwrap();
        assert_eq!(buf, [0; 4]);
        // Pages 0..4 have two owners, 2..4 three: one release frees nothing.
        mf.release(a, 8 * PAGE - 2 * PAGE).unwrap();
        mf.read(a, &mut buf).unwrap();
        assert_eq!(&buf, b"kept");
        assert!(mf.is_shared(a + 2 * PAGE, 2 * PAGE));
        assert!(!mf.is_shared(a, 2 * PAGE));
        // Pages 0..2 and 4..6 had one owner left: the allocator has them back.
        mf.release(a, 2 * PAGE).unwrap();
        mf.release(a + 4 * PAGE, 2 * PAGE).unwrap();
        mf.release(a + 2 * PAGE, 2 * PAGE).unwrap();
        mf.release(a + 2 * PAGE, 2 * PAGE).unwrap();
        assert!(!mf.is_shared(a, 8 * PAGE));
        assert!(mf.shares.lock().unwrap().is_empty());
        assert_eq!(mf.allocate(8 * PAGE).unwrap(), a);
    }

    #[test]
    fn free_list_merges_neighbours() {
        let mut fl = FreeList::new(16 * PAGE);
        let a = fl.take(PAGE).unwrap();
        let b = fl.take(PAGE).unwrap();
        let c = fl.take(PAGE).unwrap();
        fl.give(a, PAGE);
        fl.give(c, PAGE);
        fl.give(b, PAGE);
        assert_eq!(fl.ranges.len(), 1);
        assert_eq!(fl.take(15 * PAGE), Some(PAGE));
    }
}
