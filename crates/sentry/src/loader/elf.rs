//! ELF64 images: static, static-PIE, and dynamically linked (`PT_INTERP`).
//! Segments are copied from the file into fresh memory; sharing the page
//! cache with the file comes with file-backed mappings (issue #3).

use crate::mm::{MemoryManager, Placement, VmaKind};
use crate::vfs::FileDescription;
use abi::{mman, page_down, page_up, Errno};
use object::elf::{FileHeader64, ProgramHeader64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;
use std::sync::Arc;

/// Where a position-independent main program goes (the kernel's
/// `ELF_ET_DYN_BASE` on x86-64).
const ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// How much of the file header region is read to find program headers.
const HEADER_READ: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Main,
    Interpreter,
}

#[derive(Debug)]
pub struct Image {
    pub entry: u64,
    pub bias: u64,
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub brk_start: u64,
    pub interp: Option<String>,
}

pub fn load(mm: &mut MemoryManager, file: &Arc<dyn FileDescription>, role: Role) -> Result<Image, Errno> {
    let mut head = vec![0u8; HEADER_READ];
    let n = file.pread(&mut head, 0)?;
    head.truncate(n);
    let hdr = FileHeader64::<LE>::parse(&head[..]).map_err(|_| Errno::ENOEXEC)?;
    let e = hdr.endian().map_err(|_| Errno::ENOEXEC)?;
    if hdr.e_machine(e) != object::elf::EM_X86_64 {
        return Err(Errno::ENOEXEC);
    }
    let kind = hdr.e_type(e);
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(Errno::ENOEXEC);
    }
    let phoff = hdr.e_phoff(e) as usize;
    let phnum = hdr.e_phnum(e) as usize;
    let phent = hdr.e_phentsize(e) as usize;
    if phent != std::mem::size_of::<ProgramHeader64<LE>>() || phnum == 0 || phnum > 128 {
        return Err(Errno::ENOEXEC);
    }
    // Program headers normally sit in the first page; read them if not.
    let table_end = phoff.checked_add(phnum * phent).ok_or(Errno::ENOEXEC)?;
    let table = if table_end <= head.len() {
        head[phoff..table_end].to_vec()
    } else {
        let mut t = vec![0u8; phnum * phent];
        if file.pread(&mut t, phoff as u64)? != t.len() {
            return Err(Errno::ENOEXEC);
        }
        t
    };
    let phdrs: &[ProgramHeader64<LE>] = object::slice_from_bytes(&table, phnum).map_err(|_| Errno::ENOEXEC)?.0;

    let loads: Vec<&ProgramHeader64<LE>> = phdrs.iter().filter(|p| p.p_type(e) == PT_LOAD).collect();
    let lo = loads.iter().map(|p| page_down(p.p_vaddr(e))).min().ok_or(Errno::ENOEXEC)?;
    let hi = loads
        .iter()
        .map(|p| p.p_vaddr(e).checked_add(p.p_memsz(e)).and_then(page_up))
        .try_fold(0u64, |m, v| v.map(|v| m.max(v)))
        .ok_or(Errno::ENOEXEC)?;

    let bias = match (kind, role) {
        (ET_EXEC, _) => 0,
        (_, Role::Main) => ET_DYN_BASE - lo,
        // The interpreter goes wherever its whole span fits.
        (_, Role::Interpreter) => {
            let at = mm.map_anonymous(Placement::Hint(0), hi - lo, mman::PROT_NONE, VmaKind::Anonymous)?;
            mm.unmap(at, hi - lo)?;
            at - lo
        }
    };

    let mut interp = None;
    for p in phdrs.iter().filter(|p| p.p_type(e) == PT_INTERP) {
        let mut name = vec![0u8; p.p_filesz(e).min(4096) as usize];
        file.pread(&mut name, p.p_offset(e))?;
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        interp = Some(String::from_utf8(name.to_vec()).map_err(|_| Errno::ENOEXEC)?);
    }

    let mut brk_start = 0;
    for p in &loads {
        let (vaddr, memsz, filesz, offset) = (p.p_vaddr(e) + bias, p.p_memsz(e), p.p_filesz(e), p.p_offset(e));
        if filesz > memsz || vaddr % 4096 != offset % 4096 {
            return Err(Errno::ENOEXEC);
        }
        let start = page_down(vaddr);
        let end = page_up(vaddr + memsz).ok_or(Errno::ENOEXEC)?;
        let flags = p.p_flags(e).0;
        let prot = [(PF_R, mman::PROT_READ), (PF_W, mman::PROT_WRITE), (PF_X, mman::PROT_EXEC)]
            .iter()
            .filter(|(f, _)| flags & f.0 != 0)
            .fold(0, |acc, (_, p)| acc | p);
        let kind = VmaKind::File { path: file.path(), offset: page_down(offset) };
        // Text and read-only data are the host file itself, when it is one;
        // a segment with zero-filled memory past its file bytes is a copy.
        let at = Placement::Replace(start);
        if filesz == memsz
            && mm.map_host_file(at, end - start, prot, file, page_down(offset), kind.clone(), false).is_ok()
        {
            brk_start = brk_start.max(end);
            continue;
        }
        mm.map_anonymous(at, end - start, prot, kind)?;
        // Copy from the page start so a page shared with the previous
        // segment keeps that segment's bytes too, as a file mapping would.
        copy_from_file(mm, &**file, page_down(offset), start, vaddr + filesz - start)?;
        brk_start = brk_start.max(end);
    }

    let phdr = phdrs
        .iter()
        .find(|p| p.p_type(e) == PT_PHDR)
        .map(|p| p.p_vaddr(e) + bias)
        .or_else(|| {
            // No PT_PHDR: the headers are mapped if the first segment
            // covers them from file offset 0.
            loads.first().filter(|p| p.p_offset(e) == 0).map(|p| p.p_vaddr(e) + bias + phoff as u64)
        })
        .unwrap_or(0);

    Ok(Image { entry: hdr.e_entry(e) + bias, bias, phdr, phent: phent as u64, phnum: phnum as u64, brk_start, interp })
}

/// Copies `len` bytes of `file` at `offset` to application address `addr`.
pub fn copy_from_file(
    mm: &MemoryManager,
    file: &dyn FileDescription,
    offset: u64,
    addr: u64,
    len: u64,
) -> Result<(), Errno> {
    const CHUNK: u64 = 1 << 20;
    let mut buf = vec![0u8; CHUNK.min(len) as usize];
    let mut done = 0;
    while done < len {
        let want = CHUNK.min(len - done) as usize;
        let n = file.pread(&mut buf[..want], offset + done)?;
        if n == 0 {
            break; // past the end of the file: the rest stays zero
        }
        mm.poke(addr + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(())
}
