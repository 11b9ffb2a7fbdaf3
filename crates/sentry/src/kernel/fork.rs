//! `clone`, `fork` and `vfork` (gVisor: `kernel/task_clone.go`).
//!
//! Every new task gets its own sentry thread. A child process gets a copy
//! of the parent's memory in a new stub, which its thread creates (and so
//! traces). A new thread (`CLONE_THREAD`) shares the address space: the
//! parent's thread starts a stub thread in it, and the child's sentry
//! thread adopts it. A process sharing memory without being a thread or a
//! vfork child (`CLONE_VM` alone) is refused with ENOSYS, logged.
//!
//! `vfork` (and `posix_spawn`'s `CLONE_VM | CLONE_VFORK`) is served as a
//! fork whose parent waits until the child execs or exits: the child's
//! writes to memory are not seen by the parent, which POSIX leaves
//! undefined except for one case glibc's posix_spawn uses — reporting an
//! exec failure through shared memory — so such a failure shows as exit
//! status 127 of the child rather than as posix_spawn's return value.

use super::process::Process;
use super::task::{Shared, Task};
use super::thread_group::ThreadGroup;
use crate::mm::{MemoryManager, MmImage};
use abi::Errno;
use std::sync::{mpsc, Arc};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PTRACE: u64 = 0x2000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x1_0000;
pub const CLONE_NEWNS: u64 = 0x2_0000;
pub const CLONE_SYSVSEM: u64 = 0x4_0000;
pub const CLONE_SETTLS: u64 = 0x8_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
pub const CLONE_DETACHED: u64 = 0x40_0000;
pub const CLONE_UNTRACED: u64 = 0x80_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
pub const CLONE_IO: u64 = 0x8000_0000;
/// Every namespace flag (NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME, NEWNS).
pub const CLONE_NEW_ANY: u64 = 0x7e02_0080;

/// What `clone`/`clone3` asked for, decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub exit_signal: i32,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

/// Where a new task's address space comes from.
enum Memory {
    /// A copy (fork): mapped into a new stub on the child's thread.
    Copy(MmImage),
    /// The same (a thread): the child's thread adopts a new stub thread.
    Shared(Arc<MemoryManager>, i32),
}

impl Task {
    /// Creates a child process or thread; returns its pid or tid.
    pub(crate) fn clone_process(&mut self, args: &CloneArgs) -> Result<i32, Errno> {
        let f = args.flags;
        if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 || f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
            return Err(Errno::EINVAL);
        }
        let thread = f & CLONE_THREAD != 0;
        if f & CLONE_VM != 0 && !thread && f & CLONE_VFORK == 0 {
            if self.kernel.first_unimplemented(u64::MAX - 1) {
                tracing::warn!(
                    "clone of a process sharing memory without CLONE_VFORK is not implemented: ENOSYS (logged once)"
                );
            }
            return Err(Errno::ENOSYS);
        }
        // A new mount namespace is the one namespace clone makes; it
        // cannot go with a shared root and cwd.
        if f & CLONE_NEWNS != 0 && f & CLONE_FS != 0 {
            return Err(Errno::EINVAL);
        }
        if f & CLONE_NEWNS != 0 && !self.creds.capable(super::caps::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        if f & ((CLONE_NEW_ANY & !CLONE_NEWNS) | CLONE_PIDFD) != 0 {
            tracing::warn!(
                flags = format_args!("{f:#x}"),
                "clone with namespaces other than CLONE_NEWNS, or pidfd, is not implemented yet: EINVAL"
            );
            return Err(Errno::EINVAL);
        }
        if !(0..=abi::signal::NSIG).contains(&args.exit_signal) {
            return Err(Errno::EINVAL);
        }

        let id = self.kernel.procs().alloc_pid()?;
        if f & CLONE_PARENT_SETTID != 0 {
            // Before any copy: parent and child both see it.
            self.mm.write_obj(args.parent_tid, &id)?;
        }
        let memory = if thread {
            let stub_thread = self.mm.space().new_thread().map_err(|e| {
                tracing::error!("a stub thread for tid {id}: {e}");
                Errno::EAGAIN
            })?;
            Memory::Shared(self.mm.clone(), stub_thread)
        } else {
            Memory::Copy(self.mm.fork_image()?)
        };
        // The child's FPU/SSE registers start as the parent's, as in Linux.
        let fp = self.ctx.fp_state(&**self.mm.space()).ok();
        let mut regs = self.regs;
        regs.rax = 0;
        if args.stack != 0 {
            regs.rsp = args.stack;
        }
        if f & CLONE_SETTLS != 0 {
            regs.fs_base = args.tls;
        }
        let pid = if thread { self.pid } else { id };
        let share = Shared {
            fds: if f & CLONE_FILES != 0 { self.fds.clone() } else { Arc::new(self.fds.fork_copy()) },
            actions: if f & CLONE_SIGHAND != 0 { self.actions.clone() } else { Arc::new(self.actions.fork_copy()) },
            group: if thread { self.group.clone() } else { Arc::new(ThreadGroup::default()) },
            fs: if f & CLONE_FS != 0 { self.fs.clone() } else { self.fs_copy() },
            mnt: if f & CLONE_NEWNS != 0 { self.mnt.copy() } else { self.mnt.clone() },
        };
        let (group, share_actions) = (share.group.clone(), share.actions.clone());
        let (handle, make) = self.cloned(pid, id, regs, share);
        {
            let mut procs = self.kernel.procs();
            if thread {
                procs.add_thread(id, pid, handle.clone());
            } else {
                let me = procs.get(self.pid).ok_or(Errno::ESRCH)?;
                let ppid = if f & CLONE_PARENT != 0 { me.ppid } else { self.pid };
                let (pgid, sid) = (me.pgid, me.sid);
                let children = Default::default();
                let (exit_signal, h) = (args.exit_signal, handle.clone());
                // The child's address space is made on its own thread and
                // recorded there, once it exists.
                let (mm, group, actions) = (std::sync::Weak::new(), group.clone(), share_actions.clone());
                let (times, child_times) = Default::default();
                let (uid, started) = (self.creds.euid, std::time::SystemTime::now());
                let tty = me.tty.clone();
                procs.insert(
                    pid,
                    Process {
                        ppid,
                        pgid,
                        sid,
                        children,
                        exit: None,
                        exit_signal,
                        handle: h,
                        group,
                        mm,
                        times,
                        child_times,
                        uid,
                        caps: self.creds.caps,
                        started,
                        actions,
                        job: None,
                        tty,
                    },
                );
            }
        }
        group.add(id, handle);

        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), Errno>>();
        let (vfork_tx, vfork_rx) = mpsc::channel::<()>();
        let vfork_tx = (f & CLONE_VFORK != 0).then_some(vfork_tx);
        let kernel = self.kernel.clone();
        let (child_tid, clear_tid) = (
            (f & CLONE_CHILD_SETTID != 0).then_some(args.child_tid),
            if f & CLONE_CHILD_CLEARTID != 0 { args.child_tid } else { 0 },
        );
        let spawned = std::thread::Builder::new().name(format!("task-{id}")).spawn(move || {
            let mm = match memory {
                Memory::Copy(image) => kernel
                    .platform
                    .new_address_space()
                    .map_err(|e| {
                        tracing::error!("address space for pid {id}: {e}");
                        Errno::EAGAIN
                    })
                    .and_then(|space| MemoryManager::from_image(space, image))
                    .map(Arc::new),
                Memory::Shared(mm, stub_thread) => mm.space().adopt_thread(stub_thread).map(|()| mm).map_err(|e| {
                    tracing::error!("adopting the stub thread of tid {id}: {e}");
                    Errno::EAGAIN
                }),
            };
            let mm = match mm {
                Ok(mm) => mm,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            if !thread {
                if let Some(p) = kernel.procs().get_mut(pid) {
                    p.mm = Arc::downgrade(&mm);
                }
            }
            if let Some(addr) = child_tid {
                // A bad address here is the child's problem, as in Linux.
                let _ = mm.write_obj(addr, &id);
            }
            let mut child = make(mm);
            if let Some(fp) = &fp {
                if let Err(e) = child.ctx.set_fp_state(&**child.mm.space(), fp) {
                    tracing::warn!("tid {id}: copying the parent's FPU state: {e}");
                }
            }
            child.clear_child_tid = clear_tid;
            child.vfork_done = vfork_tx;
            let _ = ready_tx.send(Ok(()));
            child.run();
        });
        let started = match spawned {
            Ok(_) => ready_rx.recv().unwrap_or(Err(Errno::EAGAIN)),
            Err(e) => {
                tracing::error!("spawning the thread of tid {id}: {e}");
                Err(Errno::EAGAIN)
            }
        };
        if let Err(e) = started {
            group.remove(id, super::ExitStatus::Code(0));
            let mut procs = self.kernel.procs();
            if thread {
                procs.forget_thread(id);
            } else {
                procs.remove(pid);
            }
            return Err(e);
        }
        if f & CLONE_VFORK != 0 {
            // Returns when the child execs or exits (the sender is dropped).
            let _ = vfork_rx.recv();
        }
        Ok(id)
    }
}
