//! openat2 (Linux `fs/open.c` `build_open_flags` and the scoped lookups of
//! `fs/namei.c`). With `RESOLVE_*` flags the path is walked here one
//! component at a time, each looked up without following, so that every
//! symlink, `..` and mount crossing on the way can be checked; the path
//! reached (link-free, but for a last component that is not to be
//! followed) is then opened as `openat` would.
//!
//! The walk and the open are two steps: a concurrent rename inside the
//! sandbox between them could swap a component for a symlink that the
//! open then follows. Linux closes that window by opening what it walked;
//! a path-based VFS cannot, and the window is documented in the syscall
//! table.

use super::sys_file::{fd_arg, open_abs, read_path, resolve, stat_abs};
use crate::kernel::Task;
use crate::vfs::mount::{normalize, FileSystem, MountTable};
use abi::{fcntl, Errno};
use std::collections::VecDeque;
use std::sync::Arc;

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const RESOLVE_CACHED: u64 = 0x20;
const RESOLVE_ALL: u64 = 0x3f;

/// The `open(2)` flags Linux knows (`VALID_OPEN_FLAGS`): openat2 refuses
/// any other bit, where openat ignores it.
const VALID_OPEN_FLAGS: u64 = 0o37777703;
const O_TMPFILE: u64 = 0o20000000 | fcntl::O_DIRECTORY;
/// `struct open_how`'s size in its first version.
const OPEN_HOW_SIZE_VER0: u64 = 24;
/// Most symlinks followed in one lookup (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

pub fn openat2(task: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (dirfd, path_addr, how_addr, size) = (fd_arg(a[0]), a[1], a[2], a[3]);
    if size < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > abi::PAGE_SIZE {
        return Err(Errno::E2BIG);
    }
    // A larger structure from a newer caller is fine while what we do not
    // know of it is zero (Linux `copy_struct_from_user`).
    let mut raw = vec![0u8; size as usize];
    task.mm.copy_in(how_addr, &mut raw)?;
    if raw[OPEN_HOW_SIZE_VER0 as usize..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (flags, mode, resolve) = (field(0), field(1), field(2));
    if flags & !VALID_OPEN_FLAGS != 0 || resolve & !RESOLVE_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let creates = flags & fcntl::O_CREAT != 0 || flags & O_TMPFILE == O_TMPFILE;
    if (creates && mode & !0o7777 != 0) || (!creates && mode != 0) {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_BENEATH != 0 && resolve & RESOLVE_IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    // Every lookup here may cost a gofer round trip: those that must not
    // (RESOLVE_CACHED) may be refused, as Linux refuses the ones that
    // would change the tree.
    if resolve & RESOLVE_CACHED != 0 && (flags & fcntl::O_TRUNC != 0 || creates) {
        return Err(Errno::EAGAIN);
    }
    let path = read_path(task, path_addr)?;
    let base = if dirfd == fcntl::AT_FDCWD { task.cwd.clone() } else { task.fds.get_raw(dirfd)?.path() };
    let scoped = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
    if !path.starts_with('/') || scoped {
        // The walk starts at the directory (`path_init`'s ENOTDIR).
        if stat_abs(task, &normalize(&base), true)?.mode & 0o170000 != 0o040000 {
            return Err(Errno::ENOTDIR);
        }
    }
    let plain = resolve & !RESOLVE_CACHED == 0;
    let target = if plain {
        super::sys_file::at_path(task, dirfd, &path)?
    } else {
        let excl = flags & (fcntl::O_CREAT | fcntl::O_EXCL) == fcntl::O_CREAT | fcntl::O_EXCL;
        let follow_last = flags & fcntl::O_NOFOLLOW == 0 && !excl;
        Walk::new(task, &base, resolve)?.run(&path, follow_last)?
    };
    open_abs(task, &target, flags, mode)
}

/// One scoped lookup.
struct Walk<'t> {
    task: &'t Task,
    resolve: u64,
    /// Components of where the walk stands (a whole-namespace path).
    at: Vec<String>,
    /// How many leading components of `at` neither `..` nor an absolute
    /// path leaves: the task's root, or the starting directory for
    /// RESOLVE_BENEATH and RESOLVE_IN_ROOT.
    floor: usize,
    /// RESOLVE_NO_XDEV: the mount the walk must stay on.
    mount: Option<Arc<dyn FileSystem>>,
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

fn joined(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

impl<'t> Walk<'t> {
    fn new(task: &'t Task, base: &str, resolve: u64) -> Result<Walk<'t>, Errno> {
        let scoped = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
        let at: Vec<String> = components(&normalize(base)).map(str::to_string).collect();
        let floor = if scoped { at.len() } else { components(&task.root).count() };
        let mut walk = Walk { task, resolve, at, floor, mount: None };
        if resolve & RESOLVE_NO_XDEV != 0 {
            walk.mount = Some(walk.mount_of(&joined(&walk.at))?);
        }
        Ok(walk)
    }

    fn has(&self, flag: u64) -> bool {
        self.resolve & flag != 0
    }

    fn mount_of(&self, path: &str) -> Result<Arc<dyn FileSystem>, Errno> {
        resolve(self.task, path, false).map(|(fs, _)| fs)
    }

    /// RESOLVE_NO_XDEV: EXDEV once the walk stands on another mount.
    fn stay_on_mount(&self) -> Result<(), Errno> {
        match &self.mount {
            Some(start) if !MountTable::same(start, &self.mount_of(&joined(&self.at))?) => Err(Errno::EXDEV),
            _ => Ok(()),
        }
    }

    /// An absolute path or link target: back to the root (the starting
    /// directory under RESOLVE_IN_ROOT); EXDEV under RESOLVE_BENEATH.
    fn restart(&mut self) -> Result<(), Errno> {
        if self.has(RESOLVE_BENEATH) {
            return Err(Errno::EXDEV);
        }
        self.at.truncate(self.floor);
        self.stay_on_mount()
    }

    /// Walks `path` from the start and returns the whole-namespace path
    /// it reaches.
    fn run(mut self, path: &str, follow_last: bool) -> Result<String, Errno> {
        let mut pending: VecDeque<String> = components(path).map(str::to_string).collect();
        if path.starts_with('/') {
            self.restart()?;
        }
        let mut links = 0;
        while let Some(name) = pending.pop_front() {
            if name == ".." {
                if self.at.len() > self.floor {
                    self.at.pop();
                } else if self.has(RESOLVE_BENEATH) {
                    return Err(Errno::EXDEV);
                }
                self.stay_on_mount()?;
                continue;
            }
            let last = pending.is_empty();
            self.at.push(name);
            let here = joined(&self.at);
            let st = match stat_abs(self.task, &here, false) {
                Err(Errno::ENOENT) if last => break, // for O_CREAT to make
                r => r?,
            };
            match st.mode & 0o170000 {
                0o120000 if !last || follow_last => {
                    if self.has(RESOLVE_NO_SYMLINKS) {
                        return Err(Errno::ELOOP);
                    }
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let (fs, inner) = resolve(self.task, &here, false)?;
                    if is_magic(&*fs, &inner) {
                        return self.magic(here, pending);
                    }
                    let target = fs.readlink(self.task, &inner)?;
                    self.at.pop();
                    if target.starts_with('/') {
                        self.restart()?;
                    }
                    for c in components(&target).rev() {
                        pending.push_front(c.to_string());
                    }
                }
                0o040000 => self.stay_on_mount()?,
                _ if !last => return Err(Errno::ENOTDIR),
                _ => {}
            }
        }
        let mut reached = joined(&self.at);
        if path.ends_with('/') {
            reached.push('/'); // the open checks it names a directory
        }
        Ok(reached)
    }

    /// A /proc magic link (`fd/N`, `exe`, `cwd`...) jumps to a file, not a
    /// path: refused by RESOLVE_NO_MAGICLINKS (ELOOP) and by the scoped
    /// lookups (EXDEV), as Linux's `nd_jump_link`; otherwise the rest of
    /// the path resolves as openat would, from the file jumped to.
    fn magic(&self, link: String, rest: VecDeque<String>) -> Result<String, Errno> {
        if self.has(RESOLVE_NO_MAGICLINKS) {
            return Err(Errno::ELOOP);
        }
        if self.has(RESOLVE_BENEATH | RESOLVE_IN_ROOT) {
            return Err(Errno::EXDEV);
        }
        if let Some(start) = &self.mount {
            let (fs, _) = resolve(self.task, &link, true)?;
            if !MountTable::same(start, &fs) {
                return Err(Errno::EXDEV);
            }
        }
        Ok(rest.iter().fold(link, |p, c| format!("{p}/{c}")))
    }
}

/// Whether the symlink at `inner` of `fs` is a magic link: procfs's links
/// below a process directory (`/self` itself and `/mounts`, `/net` are
/// ordinary links).
fn is_magic(fs: &dyn FileSystem, inner: &str) -> bool {
    fs.name() == "proc" && components(inner).count() >= 2
}
