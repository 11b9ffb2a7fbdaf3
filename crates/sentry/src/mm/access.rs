//! How the sentry reads and writes application memory: through its own
//! mapping of the memory file, or, for a shared mapping of a host file,
//! through the file (`HostFile`); byte copies (`copy_in`, `copy_out`) and
//! transfers straight between a host file and the memory file's pages
//! (`read_file_into`, `write_file_from`), which stop at the first byte
//! that faults, as Linux's copies do.

use super::Inner;
use abi::{mman, page_up, Errno, PAGE_SIZE};
use std::os::fd::BorrowedFd;
use std::sync::Arc;

pub(super) type Piece<'a> = (u64, u64, Option<&'a HostFile>);

/// The file of a host file mapping, kept open while any VMA maps it.
#[derive(Clone)]
pub struct HostFile {
    pub file: Arc<dyn crate::vfs::FileDescription>,
    /// `MAP_SHARED`: the application's stores reach the file, and so must
    /// the sentry's (`write`).
    pub shared: bool,
}

impl std::fmt::Debug for HostFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostFile({}, shared: {})", self.file.path(), self.shared)
    }
}

/// The errno for a failed direct transfer between a host file and the
/// memory file: the host's, or EFAULT for a range outside the file.
fn file_io_errno(e: memfile::FileIoError) -> Errno {
    match e {
        memfile::FileIoError::Host(e) => Errno::new(e.raw_os_error()),
        memfile::FileIoError::Range(_) => Errno::EFAULT,
    }
}

impl HostFile {
    /// Reads the mapping's bytes at file offset `offset`: past the end of
    /// the file they are zero, as in the page a mapping shows there.
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.pread(&mut buf[done..], offset + done as u64).map_err(|_| Errno::EFAULT)? {
                0 => break,
                n => done += n,
            }
        }
        buf[done..].fill(0);
        Ok(())
    }

    /// Stores `data` at file offset `offset` of a shared mapping, as a
    /// store through the mapping would: to the host file's pages, never
    /// growing the file. Bytes in the last page past the end of the file
    /// are dropped (the page shows them until it is reclaimed, on Linux);
    /// EFAULT beyond that page, where the mapping has no page.
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), Errno> {
        let fd = self.file.host_fd().filter(|_| self.shared).ok_or(Errno::EFAULT)?;
        let size = rustix::fs::fstat(fd).map_err(|_| Errno::EFAULT)?.st_size as u64;
        let end = offset + data.len() as u64;
        if end > page_up(size).unwrap_or(u64::MAX) {
            return Err(Errno::EFAULT);
        }
        let mut done = 0;
        let stored = (size.saturating_sub(offset) as usize).min(data.len());
        while done < stored {
            match rustix::io::pwrite(fd, &data[done..stored], offset + done as u64) {
                Ok(0) | Err(_) => return Err(Errno::EFAULT),
                Ok(n) => done += n,
            }
        }
        Ok(())
    }
}

impl Inner {
    /// Copies application memory at `addr` into `buf` (EFAULT if any byte
    /// is unmapped or unreadable).
    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        for (off, chunk, host) in self.pieces(addr, buf.len() as u64, mman::PROT_READ)? {
            let n = chunk as usize;
            match host {
                Some(h) => h.read(off, &mut buf[done..done + n])?,
                None => self.memfile.read(off, &mut buf[done..done + n]).map_err(|_| Errno::EFAULT)?,
            }
            done += n;
        }
        Ok(())
    }

    /// Copies `data` into application memory at `addr`.
    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.store(addr, data, mman::PROT_WRITE)
    }

    /// Reads up to `len` bytes of the host file `fd` at `file_offset`
    /// into application memory at `addr` (up to its first unwritable
    /// byte, as Linux's copy stops at a fault; EFAULT if that is the
    /// first), straight into the memory file's
    /// pages: `read` of a host-backed file with no copy through the
    /// sentry. Returns the count, short at the end of the file.
    pub fn read_file_into(
        &mut self,
        addr: u64,
        len: usize,
        fd: BorrowedFd<'_>,
        file_offset: u64,
    ) -> Result<usize, Errno> {
        self.unshare(addr, addr.saturating_add(len as u64))?;
        self.transfer(addr, len, mman::PROT_WRITE, |off, n, host, done| match host {
            // A shared mapping of another host file: through a buffer.
            Some(h) => {
                let mut buf = vec![0u8; n];
                let got = rustix::io::pread(fd, &mut buf, file_offset + done as u64);
                let got = got.map_err(|e| Errno::new(e.raw_os_error()));
                got.and_then(|got| h.write(off, &buf[..got]).map(|()| got))
            }
            None => self.memfile.read_from(off, n, fd, file_offset + done as u64).map_err(file_io_errno),
        })
    }

    /// Writes up to `len` bytes of application memory at `addr` (up to its
    /// first unreadable byte; EFAULT if that is the first) to the host
    /// file `fd` at `file_offset`, straight from the memory file's pages.
    pub fn write_file_from(&self, addr: u64, len: usize, fd: BorrowedFd<'_>, file_offset: u64) -> Result<usize, Errno> {
        self.transfer(addr, len, mman::PROT_READ, |off, n, host, done| match host {
            Some(h) => {
                let mut buf = vec![0u8; n];
                h.read(off, &mut buf).and_then(|()| {
                    rustix::io::pwrite(fd, &buf, file_offset + done as u64).map_err(|e| Errno::new(e.raw_os_error()))
                })
            }
            None => self.memfile.write_to(off, n, fd, file_offset + done as u64).map_err(file_io_errno),
        })
    }

    /// Moves up to `len` bytes between application memory at `addr`
    /// (allowing `need`) and a host file, piece by piece: `step` is given a
    /// piece's place in the memory file, its length, its shared host file
    /// mapping if it is one, and the bytes done so far, and returns how
    /// many it moved. Stops at a short step, and at a failing one after
    /// some bytes (as Linux's copies stop at a fault).
    fn transfer(
        &self,
        addr: u64,
        len: usize,
        need: u64,
        mut step: impl FnMut(u64, usize, Option<&HostFile>, usize) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let mut done = 0usize;
        for (off, chunk, host) in self.leading_pieces(addr, len as u64, need)? {
            let n = chunk as usize;
            match step(off, n, host, done) {
                Ok(moved) => {
                    done += moved;
                    if moved < n {
                        break;
                    }
                }
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Writes into application memory regardless of its protection, as the
    /// loader does when it fills a read-only segment.
    pub fn poke(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.store(addr, data, 0)
    }

    /// Writes `data` at `addr`, into VMAs allowing `need`: the memory
    /// file's pages (made this address space's own first, if shared
    /// copy-on-write) or a shared host file mapping's file; a private host
    /// file mapping is never written (see `make_writable`).
    fn store(&mut self, addr: u64, data: &[u8], need: u64) -> Result<(), Errno> {
        self.unshare(addr, addr.saturating_add(data.len() as u64))?;
        let mut done = 0usize;
        for (off, chunk, host) in self.pieces(addr, data.len() as u64, need)? {
            let n = chunk as usize;
            match host {
                Some(h) => h.write(off, &data[done..done + n])?,
                None => self.memfile.write(off, &data[done..done + n]).map_err(|_| Errno::EFAULT)?,
            }
            done += n;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut cur = addr;
        while out.len() < max {
            // Read up to the end of the page so we never fault past the string.
            let chunk = (PAGE_SIZE - cur % PAGE_SIZE).min((max - out.len()) as u64) as usize;
            let mut buf = vec![0u8; chunk];
            self.copy_in(cur, &mut buf)?;
            if let Some(nul) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            cur += chunk as u64;
        }
        Err(Errno::ENAMETOOLONG)
    }

    /// The pieces `(offset, len, host file)` covering `[addr, addr+len)`,
    /// each in a VMA allowing `need` (a PROT_* mask): offsets in the host
    /// file if there is one, else in the memory file.
    fn pieces(&self, addr: u64, len: u64, need: u64) -> Result<Vec<Piece<'_>>, Errno> {
        let out = self.leading_pieces(addr, len, need)?;
        if out.iter().map(|p| p.1).sum::<u64>() < len {
            return Err(Errno::EFAULT);
        }
        Ok(out)
    }

    /// Like `pieces`, for the start of the range that allows `need`: up to
    /// the first byte that is unmapped or does not (EFAULT if that is the
    /// first byte), as a transfer that stops at a fault sees it.
    fn leading_pieces(&self, addr: u64, len: u64, need: u64) -> Result<Vec<Piece<'_>>, Errno> {
        let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
        let mut out = Vec::new();
        let mut cur = addr;
        while cur < end {
            let Some((&start, vma)) = self.vmas.range(..=cur).next_back() else { break };
            if cur >= vma.end || vma.prot & need != need {
                break;
            }
            let n = vma.end.min(end) - cur;
            out.push((vma.memfile_offset + (cur - start), n, vma.host.as_ref()));
            cur += n;
        }
        if out.is_empty() && len > 0 {
            return Err(Errno::EFAULT);
        }
        Ok(out)
    }
}
