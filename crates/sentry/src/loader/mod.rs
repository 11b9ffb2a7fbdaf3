//! Loading a program into a fresh address space: the ELF image (and its
//! interpreter), then the initial stack with argv, envp and the auxiliary
//! vector (gVisor: `pkg/sentry/loader`). `#!` scripts and a vDSO of moat's
//! own arrive with issue #3.

mod elf;
mod stack;

pub use elf::copy_from_file;

use crate::fs::tmpfs::Who;
use crate::kernel::Kernel;
use crate::mm::{MemoryManager, Placement, VmaKind, STACK_SIZE, STACK_TOP};
use crate::vfs::mount::MountNamespace;
use crate::vfs::FileDescription;
use abi::{auxv, mman, Errno, PtRegs};
use std::sync::Arc;

/// Where a program was loaded and how to start it.
pub struct Loaded {
    pub regs: PtRegs,
    pub mm: MemoryManager,
    /// The executable's path as resolved (`AT_EXECFN`, `/proc/self/exe`).
    pub path: String,
}

/// Credentials the auxiliary vector reports.
#[derive(Debug, Clone, Copy)]
pub struct AuxIds {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

/// Resolves `name` the way execvp does: a name without `/` is looked up in
/// the `PATH` of `envp` (the default path if there is none).
pub fn resolve_executable(
    mnt: &MountNamespace,
    who: &Who,
    name: &str,
    cwd: &str,
    envp: &[String],
) -> Result<String, Errno> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.contains('/') {
        return Ok(absolute(cwd, name));
    }
    let path = envp
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = absolute(cwd, &format!("{dir}/{name}"));
        if let Ok(st) = mnt.open_read_as(who, &candidate).and_then(|f| f.stat()) {
            if st.mode & 0o170000 == 0o100000 {
                return Ok(candidate);
            }
        }
    }
    Err(Errno::ENOENT)
}

/// Joins a possibly relative path onto the working directory.
pub fn absolute(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else if cwd.ends_with('/') {
        format!("{cwd}{path}")
    } else {
        format!("{cwd}/{path}")
    }
}

/// Builds a new address space running the program at `path`.
/// How the loader opens files: through the caller's view of the file
/// systems (a task's for execve; the kernel's own for a new process).
pub type Opener<'a> = &'a dyn Fn(&str) -> Result<Arc<dyn FileDescription>, Errno>;

/// Opens files through the mount table of namespace `mnt` for a process
/// about to be made (the container's init, a `moat exec`), with its
/// credentials: programs in bind mounts, tmpfs or the root's upper layer
/// start too.
pub fn kernel_opener<'a>(
    mnt: &'a MountNamespace,
    who: &'a Who,
) -> impl Fn(&str) -> Result<Arc<dyn FileDescription>, Errno> + 'a {
    move |path| mnt.open_read_as(who, path)
}

pub fn load(
    kernel: &Arc<Kernel>,
    open: Opener<'_>,
    path: &str,
    argv: &[String],
    envp: &[String],
    ids: AuxIds,
) -> Result<Loaded, Errno> {
    // `#!` scripts name their interpreter, which may be a script in turn,
    // up to Linux's limit of four levels.
    let (mut path, mut argv) = (path.to_string(), argv.to_vec());
    let execfn = path.clone();
    for _ in 0..5 {
        let file = open_executable(open, &path)?;
        match script_interpreter(&*file)? {
            Some((interp, arg)) => {
                let mut new_argv = vec![interp.clone()];
                new_argv.extend(arg);
                new_argv.push(path.clone());
                new_argv.extend(argv.into_iter().skip(1));
                (path, argv) = (interp, new_argv);
            }
            None => return load_elf(kernel, open, &file, &path, &execfn, &argv, envp, ids),
        }
    }
    Err(Errno::ELOOP)
}

/// The interpreter and optional argument of a `#!` line, if `file` has one.
fn script_interpreter(file: &dyn FileDescription) -> Result<Option<(String, Option<String>)>, Errno> {
    // Linux reads at most this much of the line (BINPRM_BUF_SIZE).
    let mut head = [0u8; 256];
    let n = file.pread(&mut head, 0)?;
    let Some(line) = head[..n].strip_prefix(b"#!") else { return Ok(None) };
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let text = text.trim_matches(|c| c == ' ' || c == '\t');
    let (interp, arg) = match text.split_once([' ', '\t']) {
        Some((i, a)) => (i, Some(a.trim_matches(|c| c == ' ' || c == '\t').to_string()).filter(|a| !a.is_empty())),
        None => (text, None),
    };
    if interp.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    Ok(Some((interp.to_string(), arg)))
}

#[allow(clippy::too_many_arguments)]
fn load_elf(
    kernel: &Arc<Kernel>,
    open: Opener<'_>,
    file: &Arc<dyn FileDescription>,
    path: &str,
    execfn: &str,
    argv: &[String],
    envp: &[String],
    ids: AuxIds,
) -> Result<Loaded, Errno> {
    let space = kernel.platform.new_address_space().map_err(|e| {
        tracing::error!("creating an address space: {e}");
        Errno::EAGAIN
    })?;
    let mut mm = MemoryManager::new(space, kernel.memfile.clone());

    let image = elf::load(&mut mm, file, elf::Role::Main)?;
    let (entry, base) = match &image.interp {
        Some(interp_path) => {
            let interp_file = open_executable(open, interp_path)?;
            let interp = elf::load(&mut mm, &interp_file, elf::Role::Interpreter)?;
            if interp.interp.is_some() {
                return Err(Errno::ELIBBAD);
            }
            (interp.entry, interp.bias)
        }
        None => (image.entry, 0),
    };
    mm.set_brk_start(image.brk_start);

    let stack_bottom = STACK_TOP - STACK_SIZE;
    mm.map_anonymous(
        Placement::NoReplace(stack_bottom),
        STACK_SIZE,
        mman::PROT_READ | mman::PROT_WRITE,
        VmaKind::Stack,
    )?;
    let mut aux = vec![
        (auxv::AT_PHDR, image.phdr),
        (auxv::AT_PHENT, image.phent),
        (auxv::AT_PHNUM, image.phnum),
        (auxv::AT_PAGESZ, abi::PAGE_SIZE),
        (auxv::AT_BASE, base),
        (auxv::AT_FLAGS, 0),
        (auxv::AT_ENTRY, image.entry),
        (auxv::AT_UID, ids.uid.into()),
        (auxv::AT_EUID, ids.euid.into()),
        (auxv::AT_GID, ids.gid.into()),
        (auxv::AT_EGID, ids.egid.into()),
        (auxv::AT_SECURE, 0),
        (auxv::AT_CLKTCK, 100),
        (auxv::AT_HWCAP, hwcap()),
        (auxv::AT_HWCAP2, 0),
        // The signal frame a handler needs on this CPU (its xsave size):
        // the host's own figure, which our frames never exceed.
        (auxv::AT_MINSIGSTKSZ, rustix::param::linux_minsigstksz() as u64),
    ];
    if let Some(vdso) = &kernel.vdso {
        aux.push((auxv::AT_SYSINFO_EHDR, vdso.map(&mm)?));
    }
    let sp = stack::build(&mm, STACK_TOP, execfn, argv, envp, &aux)?;
    mm.set_cmdline(argv);
    mm.set_environ(envp);
    Ok(Loaded { regs: PtRegs::user_start(entry, sp), mm, path: path.to_string() })
}

fn open_executable(open: Opener<'_>, path: &str) -> Result<Arc<dyn FileDescription>, Errno> {
    let file = open(path)?;
    if file.exec_forbidden() {
        return Err(Errno::EACCES);
    }
    let mode = file.stat()?.mode;
    if mode & 0o170000 == 0o040000 {
        return Err(Errno::EACCES);
    }
    if mode & 0o170000 != 0o100000 || mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(file)
}

/// `AT_HWCAP`: CPUID leaf 1's EDX, as Linux reports it on x86.
fn hwcap() -> u64 {
    u64::from(std::arch::x86_64::__cpuid(1).edx)
}
