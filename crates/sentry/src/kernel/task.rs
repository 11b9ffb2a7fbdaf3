//! A task: one application thread, its registers and the resources it
//! holds, and the loop that runs it (gVisor: `kernel/task_run.go`).
//!
//! The address space, descriptor table and signal dispositions are shared
//! (`Arc`) with the other threads of the process, or copied for a child
//! process, as the clone flags say; registers, the signal mask and the
//! pending signals are the task's own.

use super::process::{CpuTimes, Process};
use super::signal::{fate, Fate, PendingSignals, SigInfo, SignalActions, SignalState, SI_USER};
use super::thread_group::ThreadGroup;
use super::{ExitStatus, Kernel, ProcessSpec};
use crate::fs::host::HostFile;
use crate::loader::{self, AuxIds};
use crate::mm::MemoryManager;
use crate::vfs::FdTable;
use abi::signal::{SigSet, NSIG, SIGKILL};
use abi::{fcntl, rlimit, Errno, PtRegs, Rlimit};
use platform::{Context, Event, Interrupter};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// User and group ids (gVisor: `auth.Credentials`).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub groups: Vec<u32>,
    pub caps: super::caps::Caps,
}

impl Credentials {
    /// A process of `uid`/`gid` that has dropped nothing: root holds every
    /// capability, anyone else none.
    pub fn of(uid: u32, gid: u32) -> Credentials {
        let caps = if uid == 0 { super::caps::Caps::full() } else { Default::default() };
        Credentials { uid, euid: uid, suid: uid, gid, egid: gid, sgid: gid, groups: Vec::new(), caps }
    }

    /// Whether the task holds capability `cap` (`kernel::caps::CAP_*`) in
    /// its effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.has(cap)
    }

    /// Linux's `generic_permission`: whether `want` (r=4, w=2, x=1) is
    /// allowed on a file of `mode`, `uid`, `gid` by its mode bits, or by
    /// CAP_DAC_OVERRIDE (read and write anything, execute a directory or
    /// what anyone may execute) or CAP_DAC_READ_SEARCH (read anything,
    /// search directories).
    pub fn permits(&self, mode: u32, uid: u32, gid: u32, is_dir: bool, want: u32) -> bool {
        use super::caps::{CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH};
        let bits = if self.euid == uid {
            (mode >> 6) & 7
        } else if self.egid == gid || self.groups.contains(&gid) {
            (mode >> 3) & 7
        } else {
            mode & 7
        };
        if bits & want == want {
            return true;
        }
        let executes = want & 1 != 0 && !is_dir;
        if self.capable(CAP_DAC_OVERRIDE) && (!executes || mode & 0o111 != 0) {
            return true;
        }
        self.capable(CAP_DAC_READ_SEARCH) && want & 2 == 0 && (want & 1 == 0 || is_dir)
    }

    /// Whether the task may act as the owner of a file of `uid`
    /// (`inode_owner_or_capable`).
    pub fn owns(&self, uid: u32) -> bool {
        self.euid == uid || self.capable(super::caps::CAP_FOWNER)
    }
}

/// The part of a task other threads may touch.
struct TaskShared {
    pending: Mutex<PendingSignals>,
    wake: Condvar,
    /// Counts `TaskHandle::wake` calls, so a waiter can tell whether
    /// something happened since it last looked (e.g. a child exited).
    wakeups: AtomicU64,
    interrupter: Interrupter,
    /// Scheduling attributes, recorded (the host schedules the sentry's
    /// threads): nice value, policy and real-time priority.
    sched: Mutex<Sched>,
    /// The thread's name (`PR_SET_NAME`, /proc/pid/comm): the executable's
    /// base name until set, at most 15 bytes. Here, not in `Task`, so that
    /// procfs and `ps` can read any task's.
    comm: Mutex<String>,
    /// The head of the thread's robust futex list (`set_robust_list`), 0
    /// for none; here so that `get_robust_list` can read any thread's.
    robust_list: AtomicU64,
    /// The task's root (`chroot`), for other processes' `/proc/PID/root`.
    root: Mutex<String>,
    /// The task's mount namespace, for other processes'
    /// `/proc/PID/mounts`; None until the task is made.
    mnt: Mutex<Option<Arc<crate::vfs::mount::MountNamespace>>>,
}

/// A task's scheduling attributes (`setpriority`, `sched_setscheduler`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sched {
    pub nice: i32,
    pub policy: i32,
    pub priority: i32,
    /// SCHED_RESET_ON_FORK: children do not inherit a real-time policy
    /// or a negative nice value.
    pub reset_on_fork: bool,
    /// The CPUs the thread may run on (`sched_setaffinity`), a bit each;
    /// 0 until set, meaning all of them. Recorded and read back: the host
    /// places the sentry's threads.
    pub affinity: u64,
}

impl Sched {
    /// What a child created by clone starts with.
    fn inherited(self) -> Sched {
        if !self.reset_on_fork {
            return self;
        }
        // SCHED_FIFO and SCHED_RR become SCHED_OTHER.
        let realtime = matches!(self.policy, 1 | 2);
        Sched {
            nice: self.nice.max(0),
            policy: if realtime { 0 } else { self.policy },
            priority: if realtime { 0 } else { self.priority },
            reset_on_fork: false,
            affinity: self.affinity,
        }
    }
}

/// What a cloned task shares with its creator (or has copied from it).
pub(crate) struct Shared {
    pub fds: Arc<FdTable>,
    pub actions: Arc<SignalActions>,
    pub group: Arc<ThreadGroup>,
    pub fs: Arc<FsShared>,
    pub mnt: Arc<crate::vfs::mount::MountNamespace>,
}

/// What `CLONE_FS` shares (Linux's `fs_struct`): the working directory,
/// the root and the umask. Each task keeps its own copy in `Task::cwd`,
/// `root` and `umask` for its system calls; a change is published here
/// (`Task::publish_fs`) and the other sharers take it up at their next
/// system call (`Task::sync_fs`: one atomic load when nothing changed),
/// as threads on other CPUs would see it, renamed by the pivot_roots
/// done since (`MountNamespace::after_pivots`).
pub(crate) struct FsShared {
    generation: AtomicU64,
    ctx: Mutex<FsContext>,
}

#[derive(Clone)]
struct FsContext {
    cwd: String,
    root: String,
    umask: u32,
    /// The mount namespace's pivot_roots `cwd` and `root` had followed
    /// when published (the sharers share the namespace).
    pivots: usize,
}

impl FsShared {
    fn new(cwd: String, root: String, umask: u32) -> Arc<FsShared> {
        Arc::new(FsShared { generation: AtomicU64::new(0), ctx: Mutex::new(FsContext { cwd, root, umask, pivots: 0 }) })
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Woken,
    Interrupted,
    TimedOut,
}

impl TaskShared {
    fn new(ctx: &dyn Context, comm: String) -> Arc<TaskShared> {
        Arc::new(TaskShared {
            pending: Mutex::new(PendingSignals::default()),
            wake: Condvar::new(),
            wakeups: AtomicU64::new(0),
            interrupter: ctx.interrupter(),
            sched: Mutex::default(),
            comm: Mutex::new(comm),
            robust_list: AtomicU64::new(0),
            root: Mutex::new("/".into()),
            mnt: Mutex::new(None),
        })
    }
}

thread_local! {
    /// The task this sentry thread runs (`TaskHandle::current`).
    static CURRENT: std::cell::RefCell<Option<TaskHandle>> = const { std::cell::RefCell::new(None) };
}

/// A handle on a task for other sentry threads.
#[derive(Clone)]
pub struct TaskHandle(Arc<TaskShared>);

impl TaskHandle {
    /// Queues `sig` from outside the sandbox (`moat kill`: SI_USER from
    /// pid 0) and interrupts whatever the task is doing.
    pub fn send_signal(&self, sig: i32) {
        self.send_signal_info(SigInfo::from_sender(sig, SI_USER, 0, 0));
    }

    /// Queues a signal with its siginfo and interrupts the task.
    pub fn send_signal_info(&self, info: SigInfo) {
        if !(1..=NSIG).contains(&info.signo) {
            return;
        }
        self.0.pending.lock().unwrap().add(info);
        // Counted as a wake-up too: a poll on a signalfd must look again
        // even when the signal is blocked and so interrupts nothing.
        self.0.wakeups.fetch_add(1, Ordering::SeqCst);
        self.0.wake.notify_all();
        self.0.interrupter.interrupt();
    }

    /// The head of the thread's robust futex list (0: none).
    pub fn robust_list(&self) -> u64 {
        self.0.robust_list.load(Ordering::Relaxed)
    }

    pub(crate) fn set_robust_list(&self, head: u64) {
        self.0.robust_list.store(head, Ordering::Relaxed);
    }

    /// The task served by the calling sentry thread (each task has its
    /// own), for the files whose answers depend on who asks, as Linux's
    /// `current`: a signalfd reads the caller's pending signals.
    pub(crate) fn current() -> Option<TaskHandle> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// The signals pending for the task.
    pub(crate) fn pending_set(&self) -> SigSet {
        self.0.pending.lock().unwrap().set
    }

    /// Dequeues the signal Linux would take first among `among`.
    pub(crate) fn take_pending(&self, among: u64) -> Option<SigInfo> {
        let mut pending = self.0.pending.lock().unwrap();
        pending.next(among).and_then(|sig| pending.take(sig))
    }

    /// Makes the task look at its state (a group stop) without queueing a
    /// signal: wakes it from a wait and interrupts the application.
    pub fn interrupt(&self) {
        self.0.wake.notify_all();
        self.0.interrupter.interrupt();
    }

    /// Drops the pending signals in `mask` (job control: a SIGCONT
    /// cancels pending stops and a stop cancels a pending SIGCONT).
    pub fn discard_pending(&self, mask: u64) {
        let mut pending = self.0.pending.lock().unwrap();
        for sig in 1..=NSIG {
            if mask & (1 << (sig - 1)) != 0 {
                pending.take(sig);
            }
        }
    }

    /// The task's scheduling attributes.
    pub fn sched(&self) -> Sched {
        *self.0.sched.lock().unwrap()
    }

    pub fn set_sched(&self, sched: Sched) {
        *self.0.sched.lock().unwrap() = sched;
    }

    pub fn comm(&self) -> String {
        self.0.comm.lock().unwrap().clone()
    }

    pub fn set_comm(&self, comm: String) {
        *self.0.comm.lock().unwrap() = comm;
    }

    pub fn root(&self) -> String {
        self.0.root.lock().unwrap().clone()
    }

    pub(crate) fn set_root(&self, root: String) {
        *self.0.root.lock().unwrap() = root;
    }

    /// The task's mount namespace (the kernel's until the task is made).
    pub(crate) fn mnt(&self) -> Option<Arc<crate::vfs::mount::MountNamespace>> {
        self.0.mnt.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_mnt(&self, mnt: Arc<crate::vfs::mount::MountNamespace>) {
        *self.0.mnt.lock().unwrap_or_else(|e| e.into_inner()) = Some(mnt);
    }

    /// Whether two handles name the same task.
    pub fn same(&self, other: &TaskHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Wakes the task if it waits at the pause gate, without counting as
    /// an event for `wait_for_wake`.
    pub(crate) fn notify(&self) {
        let _guard = self.0.pending.lock().unwrap();
        self.0.wake.notify_all();
    }

    /// Whether the task runs application code right now (rather than
    /// being in the sentry: a system call, a wait, the pause gate).
    pub fn in_application(&self) -> bool {
        self.0.interrupter.running()
    }

    /// Wakes the task if it sleeps in a wait (a child changed state).
    pub fn wake(&self) {
        let _guard = self.0.pending.lock().unwrap();
        self.0.wakeups.fetch_add(1, Ordering::SeqCst);
        self.0.wake.notify_all();
    }
}

pub struct Task {
    pub(crate) kernel: Arc<Kernel>,
    /// Thread group id: the process's pid.
    pub(crate) pid: i32,
    pub(crate) tid: i32,
    pub(crate) regs: PtRegs,
    /// Shared by the threads of the process (and `CLONE_VM` children).
    pub(crate) mm: Arc<MemoryManager>,
    /// Shared by the threads (and `CLONE_FILES` children).
    pub(crate) fds: Arc<FdTable>,
    /// Shared by the threads (and `CLONE_SIGHAND` children).
    pub(crate) actions: Arc<SignalActions>,
    pub(crate) group: Arc<ThreadGroup>,
    pub(crate) mask: SigSet,
    pub(crate) creds: Credentials,
    pub(crate) cwd: String,
    /// The root directory (`chroot`), a whole-namespace path: `/` unless
    /// changed. Absolute paths the task gives start there.
    pub(crate) root: String,
    pub(crate) umask: u32,
    /// Shared with the tasks cloned with `CLONE_FS` (threads): `cwd`,
    /// `root` and `umask` as last published, and the generation of them
    /// this task has taken up.
    pub(crate) fs: Arc<FsShared>,
    fs_seen: u64,
    pub(crate) exe: String,
    /// The program's open file as inotify sees it (IN_CLOSE_NOWRITE when
    /// the last process running this exec of it is gone); made only while
    /// watches exist.
    pub(crate) exe_file: Option<Arc<crate::vfs::notify::ExecFile>>,
    /// `PR_SET_PDEATHSIG`, recorded.
    pub(crate) pdeath_signal: i32,
    /// `PR_SET_DUMPABLE` and `PR_SET_KEEPCAPS`, recorded (no core dumps or
    /// capability sets exist yet for them to govern).
    pub(crate) dumpable: bool,
    /// `personality(2)`, recorded (inherited by fork, kept across exec).
    pub(crate) personality: u32,
    /// A buffer kept between system calls that move data (read, write...),
    /// so each does not allocate and zero one (`take_buffer`).
    buffer: Vec<u8>,
    /// The UTS namespace: the kernel's, unless unshared (`unshare`).
    pub(crate) uts: Arc<Mutex<super::Uts>>,
    /// The mount namespace: the kernel's, unless unshared or cloned with
    /// CLONE_NEWNS.
    pub(crate) mnt: Arc<crate::vfs::mount::MountNamespace>,
    /// The namespace's pivot_roots `cwd` and `root` have followed.
    pub(crate) pivots_seen: usize,
    pub(crate) keepcaps: bool,
    pub(crate) rlimits: [Rlimit; rlimit::RLIM_NLIMITS],
    pub(crate) clear_child_tid: u64,
    pub(crate) altstack: crate::syscalls::StackT,
    /// A vfork parent waits on this until we exec or exit.
    pub(crate) vfork_done: Option<mpsc::Sender<()>>,
    /// Restart block and saved mask of signal delivery (kernel::delivery).
    pub(crate) sigstate: SignalState,
    /// Set by exit/exit_group (or a fatal signal): the loop ends.
    pub(crate) exit: Option<ExitStatus>,
    /// The exit is `exit(2)` of this thread alone, not of its group.
    pub(crate) exit_thread_only: bool,
    /// Set when this thread took over its process's pid in an execve
    /// (de_thread from a non-leader): the old leader's sentry thread still
    /// reports the process's exit, so this one ends like any thread.
    pub(crate) took_over: bool,
    pub(crate) ctx: Box<dyn Context>,
    shared: Arc<TaskShared>,
}

/// Default resource limits, as a fresh Linux login gets them.
fn default_rlimits() -> [Rlimit; rlimit::RLIM_NLIMITS] {
    let inf = Rlimit { cur: rlimit::RLIM_INFINITY, max: rlimit::RLIM_INFINITY };
    let mut r = [inf; rlimit::RLIM_NLIMITS];
    r[rlimit::RLIMIT_STACK as usize] = Rlimit { cur: crate::mm::STACK_SIZE, max: rlimit::RLIM_INFINITY };
    r[rlimit::RLIMIT_CORE as usize] = Rlimit { cur: 0, max: rlimit::RLIM_INFINITY };
    r[rlimit::RLIMIT_NOFILE as usize] = Rlimit { cur: 1024, max: 1 << 20 };
    r[rlimit::RLIMIT_MEMLOCK as usize] = Rlimit { cur: 8 << 20, max: 8 << 20 };
    r[rlimit::RLIMIT_SIGPENDING as usize] = Rlimit { cur: 63476, max: 63476 };
    r[rlimit::RLIMIT_MSGQUEUE as usize] = Rlimit { cur: 819200, max: 819200 };
    r[rlimit::RLIMIT_NPROC as usize] = Rlimit { cur: 63476, max: 63476 };
    r[rlimit::RLIMIT_NICE as usize] = Rlimit { cur: 0, max: 0 };
    r[rlimit::RLIMIT_RTPRIO as usize] = Rlimit { cur: 0, max: 0 };
    r
}

impl Task {
    /// Creates the container's init process on the calling thread (which
    /// becomes its stub's tracer) and loads its program. The error is a
    /// message for the user.
    pub fn new_init(kernel: &Arc<Kernel>, spec: ProcessSpec) -> Result<Task, String> {
        Task::new_process(kernel, spec, 1)
    }

    /// Creates process `pid` without a parent (ppid 0, as the init and the
    /// processes of `moat exec` are), leading a new session and process
    /// group, on the calling thread, and loads its program.
    pub(crate) fn new_process(kernel: &Arc<Kernel>, spec: ProcessSpec, pid: i32) -> Result<Task, String> {
        let name = spec.argv.first().cloned().unwrap_or_default();
        let mut groups = spec.additional_gids;
        groups.sort_unstable();
        groups.dedup();
        let mut creds = Credentials { groups, ..Credentials::of(spec.uid, spec.gid) };
        if let Some(caps) = spec.caps {
            creds.caps = caps;
        }
        let who = crate::fs::tmpfs::Who { creds: creds.clone(), umask: 0o022 };
        // The init's mount namespace (what `runc exec` joins), the kernel's
        // for the init itself.
        let init_mnt = kernel.procs().get(1).filter(|p| p.exit.is_none()).and_then(|p| p.handle.mnt());
        let mnt = init_mnt.unwrap_or_else(|| kernel.mounts.clone());
        let path = loader::resolve_executable(&mnt, &who, &name, &spec.cwd, &spec.envp)
            .map_err(|e| format!("executable {name:?} not found in the container (PATH or path): {}", describe(e)))?;
        let ids = AuxIds { uid: spec.uid, euid: spec.uid, gid: spec.gid, egid: spec.gid };
        let loaded = loader::load(kernel, &loader::kernel_opener(&mnt, &who), &path, &spec.argv, &spec.envp, ids)
            .map_err(|e| format!("cannot execute {path}: {}", describe(e)))?;
        let fds = Arc::new(FdTable::default());
        let mut tty = None;
        match spec.terminal {
            // One host terminal (the stdio descriptors are copies of the
            // pty slave) as fds 0, 1 and 2, read-write as runc opens it; the
            // process leads its session with it as controlling terminal.
            Some(console) => {
                if let Some(fd) = spec.stdio.into_iter().flatten().next() {
                    let term = crate::fs::tty::Terminal {
                        driver: Arc::new(crate::fs::tty::HostTty::new(fd, console)),
                        job: crate::fs::tty::Job::new(kernel),
                    };
                    term.job.set(crate::fs::tty::JobState { sid: Some(pid), pgrp: Some(pid) });
                    if !console {
                        term.name_in_devpts((spec.uid, spec.gid));
                    }
                    for i in 0..3 {
                        fds.set(i, Arc::new(crate::fs::tty::TtyFile::new(term.clone(), fcntl::O_RDWR)), false);
                    }
                    if console {
                        *kernel.console.lock().unwrap_or_else(|e| e.into_inner()) = Some(term.clone());
                    }
                    tty = Some(term);
                }
            }
            None => {
                for (i, fd) in spec.stdio.into_iter().enumerate() {
                    let Some(fd) = fd else { continue };
                    let flags = if i == 0 { fcntl::O_RDONLY } else { fcntl::O_WRONLY };
                    let name = ["stdin", "stdout", "stderr"].get(i).copied().unwrap_or("host");
                    fds.set(i, Arc::new(HostFile::new(fd, flags, name)), false);
                }
            }
        }
        let ctx = kernel.platform.new_context();
        let shared = TaskShared::new(&*ctx, comm_of(&loaded.path));
        TaskHandle(shared.clone()).set_mnt(mnt.clone());
        let group = Arc::new(ThreadGroup::default());
        group.add(pid, TaskHandle(shared.clone()));
        let mm = Arc::new(loaded.mm);
        let actions: Arc<SignalActions> = Arc::default();
        kernel.procs().insert(
            pid,
            Process {
                ppid: 0,
                pgid: pid,
                sid: pid,
                children: Default::default(),
                exit: None,
                exit_signal: 0,
                handle: TaskHandle(shared.clone()),
                group: group.clone(),
                mm: Arc::downgrade(&mm),
                times: Default::default(),
                child_times: Default::default(),
                uid: spec.uid,
                caps: creds.caps,
                started: std::time::SystemTime::now(),
                actions: actions.clone(),
                job: None,
                tty: tty.clone(),
            },
        );
        Ok(Task {
            kernel: kernel.clone(),
            pid,
            tid: pid,
            regs: loaded.regs,
            mm,
            fds,
            actions,
            group,
            mask: SigSet::default(),
            creds,
            fs: FsShared::new(spec.cwd.clone(), "/".into(), 0o022),
            fs_seen: 0,
            cwd: spec.cwd,
            root: "/".into(),
            umask: 0o022,
            pdeath_signal: 0,
            dumpable: true,
            personality: 0,
            buffer: Vec::new(),
            uts: kernel.uts.clone(),
            pivots_seen: mnt.pivot_count(),
            mnt,
            keepcaps: false,
            exe: loaded.path,
            exe_file: None,
            rlimits: default_rlimits(),
            clear_child_tid: 0,
            altstack: crate::syscalls::StackT { flags: 2, ..Default::default() },
            vfork_done: None,
            sigstate: SignalState::default(),
            exit: None,
            exit_thread_only: false,
            took_over: false,
            ctx,
            shared,
        })
    }

    /// A buffer of at least `len` bytes whose contents are unspecified
    /// (the caller fills what it uses); hand it back with `give_buffer`.
    pub(crate) fn take_buffer(&mut self, len: usize) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buffer);
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf
    }

    /// Keeps `buf` for the next `take_buffer`, unless it is huge.
    pub(crate) fn give_buffer(&mut self, buf: Vec<u8>) {
        const KEEP: usize = 4 << 20;
        if buf.len() <= KEEP {
            self.buffer = buf;
        }
    }

    pub fn handle(&self) -> TaskHandle {
        TaskHandle(self.shared.clone())
    }

    /// Renames the working directory and root after the pivot_roots done
    /// in the task's mount namespace since it last looked (one atomic load
    /// when there are none).
    pub(crate) fn follow_pivots(&mut self) {
        let count = self.mnt.pivot_count();
        if count == self.pivots_seen {
            return;
        }
        self.cwd = self.mnt.after_pivots(self.pivots_seen, &self.cwd);
        let root = self.mnt.after_pivots(self.pivots_seen, &self.root);
        if root != self.root {
            self.root = root;
            self.handle().set_root(self.root.clone());
        }
        self.pivots_seen = count;
    }

    /// A new task cloned from this one, as process `pid` thread `tid`
    /// sharing what `share` says: returns its handle and a constructor that
    /// completes it on its own sentry thread once its address space is
    /// there (the thread that runs a stub thread must be its tracer).
    pub(crate) fn cloned(
        &self,
        pid: i32,
        tid: i32,
        regs: PtRegs,
        share: Shared,
    ) -> (TaskHandle, impl FnOnce(Arc<MemoryManager>) -> Task + Send + 'static) {
        let ctx = self.kernel.platform.new_context();
        let shared = TaskShared::new(&*ctx, self.handle().comm());
        let handle = TaskHandle(shared.clone());
        handle.set_sched(self.handle().sched().inherited());
        let (kernel, mask, creds) = (self.kernel.clone(), self.mask, self.creds.clone());
        let (cwd, umask, exe, rlimits, altstack, personality) =
            (self.cwd.clone(), self.umask, self.exe.clone(), self.rlimits, self.altstack, self.personality);
        let uts = self.uts.clone();
        let exe_file = self.exe_file.clone();
        // A copied namespace starts with no pivots behind it.
        let pivots_seen = if Arc::ptr_eq(&share.mnt, &self.mnt) { self.pivots_seen } else { 0 };
        let root = self.root.clone();
        handle.set_root(root.clone());
        handle.set_mnt(share.mnt.clone());
        let make = move |mm| Task {
            kernel,
            pid,
            tid,
            pdeath_signal: 0,
            dumpable: true,
            personality,
            buffer: Vec::new(),
            uts,
            mnt: share.mnt,
            pivots_seen,
            keepcaps: false,
            regs,
            mm,
            fds: share.fds,
            actions: share.actions,
            group: share.group,
            mask,
            creds,
            fs_seen: share.fs.generation.load(Ordering::Acquire),
            fs: share.fs,
            cwd,
            root,
            umask,
            exe,
            exe_file,
            rlimits,
            clear_child_tid: 0,
            altstack,
            vfork_done: None,
            exit: None,
            exit_thread_only: false,
            took_over: false,
            ctx,
            shared,
            sigstate: SignalState::default(),
        };
        (handle, make)
    }

    /// Runs the task until it exits. The thread that ends its group
    /// records the process's exit in the process tree; the leader's thread
    /// returns only once its whole group has gone, with the group's status.
    pub fn run(mut self) -> ExitStatus {
        CURRENT.with(|c| *c.borrow_mut() = Some(self.handle()));
        let own = self.run_until_exit();
        // A thread killed by another's execve leaves the group running.
        if !self.exit_thread_only && !self.group.execing() {
            self.group.begin_exit(self.tid, own);
        }
        super::futex::release_robust_list(&self);
        self.clear_tid_at_exit();
        // Release a vfork parent.
        self.vfork_done.take();
        let group = self.group.clone();
        let last = group.remove(self.tid, own);
        if self.tid != self.pid || self.took_over {
            if let Err(e) = self.mm.space().release_thread() {
                tracing::debug!(tid = self.tid, "releasing the stub thread: {e}");
            }
            self.kernel.procs().forget_thread(self.tid);
            // If this was the last thread, the leader wakes and reports.
            return own;
        }
        if !last {
            // The leader outlives its threads; a fatal signal sent to the
            // process meanwhile still ends them all.
            let me = &self;
            group.wait_empty(|| {
                let pending = me.pending().set;
                if (1..=abi::signal::NSIG).any(|s| pending.contains(s) && fate(s, &me.actions.get(s)) == Fate::Kill) {
                    me.group.begin_exit(me.tid, ExitStatus::Signal(SIGKILL));
                }
            });
        }
        group.timers.cancel_all();
        let status = group.exit_status().unwrap_or(own);
        let times = self.cpu_times();
        let (kernel, pid) = (self.kernel.clone(), self.pid);
        // Linux lets go of the program file with the address space, then
        // of the descriptors (inotify sees the closes in that order).
        drop(self.exe_file.take());
        crate::vfs::notify::exit_closes(&self);
        // The address space (and its stub) go before the parent can see the exit.
        drop(self);
        kernel.locks.exited(pid);
        kernel.procs().exit(pid, status, times);
        status
    }

    /// CPU time of the process so far: the time its code ran in its stub
    /// (user) and the time this sentry thread spent serving it (system).
    /// With several threads, the system part counts the calling thread's.
    pub(crate) fn cpu_times(&self) -> CpuTimes {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let system = Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
        CpuTimes { user: self.mm.space().cpu_time(), system }
    }

    /// CLONE_CHILD_CLEARTID / set_tid_address: zero the word and wake one
    /// futex waiter on it (how pthread_join learns of a thread's exit).
    fn clear_tid_at_exit(&mut self) {
        let addr = std::mem::take(&mut self.clear_child_tid);
        if addr != 0 && self.mm.write_obj(addr, &0u32).is_ok() {
            // A shared wake, as Linux does it (glibc's join waits shared).
            let key = super::futex::key(&self.mm, self.pid, addr, false);
            self.kernel.futexes.wake(key, 1, u32::MAX);
        }
    }

    fn run_until_exit(&mut self) -> ExitStatus {
        loop {
            self.pass_pause_gate();
            self.handle_pending_signals();
            if let Some(status) = self.exit {
                return status;
            }
            match self.ctx.switch(&**self.mm.space(), &mut self.regs) {
                Ok(Event::Syscall) => crate::syscalls::dispatch(self),
                Ok(Event::Fault { signo, code, addr }) => {
                    tracing::debug!(
                        signo,
                        code,
                        addr = format_args!("{addr:#x}"),
                        rip = format_args!("{:#x}", self.regs.rip),
                        "application fault"
                    );
                    // A fault just below a MAP_GROWSDOWN mapping grows it.
                    const SEGV_MAPERR: i32 = 1;
                    const SEGV_ACCERR: i32 = 2;
                    let limit = self.rlimits[rlimit::RLIMIT_STACK as usize].cur;
                    if signo == abi::signal::SIGSEGV && code == SEGV_MAPERR && self.mm.grow_down(addr, limit) {
                        continue;
                    }
                    // A write to memory shared copy-on-write since a fork.
                    if signo == abi::signal::SIGSEGV && code == SEGV_ACCERR {
                        match self.mm.write_fault(addr, self.regs.rip) {
                            Ok(true) => continue,
                            Ok(false) => {}
                            Err(_) => {
                                tracing::warn!(pid = self.pid, "out of memory copying a copy-on-write page; killing");
                                self.exit = Some(ExitStatus::Signal(SIGKILL));
                                continue;
                            }
                        }
                    }
                    super::delivery::force_signal(self, SigInfo::fault(signo, code, addr));
                }
                Ok(Event::Signal { signo }) => {
                    tracing::debug!(signo, "host signal at the stub ignored")
                }
                Ok(Event::Interrupted) => {}
                Err(e) => {
                    tracing::error!("platform failure, killing the task: {e}");
                    self.exit = Some(ExitStatus::Signal(SIGKILL));
                }
            }
        }
    }

    /// Blocks while the kernel is paused (`moat pause`), unless a SIGKILL
    /// is pending: a paused container can still be killed.
    fn pass_pause_gate(&self) {
        if self.kernel.paused() {
            self.hold_while(|| self.kernel.paused());
        }
    }

    /// Acts on pending signals that are not blocked (kernel::delivery).
    fn handle_pending_signals(&mut self) {
        super::delivery::handle_pending_signals(self);
    }

    /// Sleeps while the task's thread group is stopped (job control),
    /// until it is continued or SIGKILL arrives.
    pub(crate) fn sleep_while_stopped(&self) {
        self.hold_while(|| self.group.stopped());
    }

    /// Sleeps while `held` says so (the sandbox is paused, the group is
    /// stopped), unless a SIGKILL is pending or arrives. Whoever ends the
    /// hold clears its flag first and then wakes the task (`TaskHandle::
    /// wake`, under this task's signal lock), so no wake-up is lost.
    fn hold_while(&self, held: impl Fn() -> bool) {
        let mut pending = self.shared.pending.lock().unwrap();
        while held() && !pending.set.contains(SIGKILL) {
            pending = self.shared.wake.wait(pending).unwrap();
        }
    }

    /// The task's pending signals, locked.
    pub(crate) fn pending(&self) -> MutexGuard<'_, PendingSignals> {
        self.shared.pending.lock().unwrap()
    }

    /// Whether a signal pending now would interrupt a blocking call.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupts(self.pending().set)
    }

    /// Whether a signal in `pending` would interrupt a blocking call.
    pub(crate) fn interrupts(&self, pending: SigSet) -> bool {
        let deliverable = pending.0 & !self.mask.blockable().0;
        (1..=NSIG).any(|s| deliverable & (1 << (s - 1)) != 0 && fate(s, &self.actions.get(s)) != Fate::Discard)
    }

    /// Sleeps for `d` unless a signal interrupts; returns the time left
    /// (zero if the sleep completed).
    pub(crate) fn sleep(&self, d: Duration) -> Duration {
        self.wait_signal(Some(d), |p| self.interrupts(p))
    }

    /// Blocks until `wake` holds for the pending set or `d` (if any) has
    /// passed; returns the time left (zero on timeout).
    pub(crate) fn wait_signal(&self, d: Option<Duration>, wake: impl Fn(SigSet) -> bool) -> Duration {
        let deadline = d.and_then(|d| std::time::Instant::now().checked_add(d));
        let mut pending = self.shared.pending.lock().unwrap();
        loop {
            let now = std::time::Instant::now();
            if wake(pending.set) {
                return deadline
                    .map_or(Duration::MAX, |dl| dl.saturating_duration_since(now).max(Duration::from_nanos(1)));
            }
            pending = match deadline {
                Some(dl) if now >= dl => return Duration::ZERO,
                Some(dl) => self.shared.wake.wait_timeout(pending, dl - now).unwrap().0,
                None => self.shared.wake.wait(pending).unwrap(),
            };
        }
    }

    /// The wake-up count, to pass to `wait_for_wake` after checking
    /// whatever the caller waits for.
    pub(crate) fn wakeups(&self) -> u64 {
        self.shared.wakeups.load(Ordering::SeqCst)
    }

    /// Blocks until `TaskHandle::wake` is called after `seen` was read, or
    /// a signal interrupts (then false).
    pub(crate) fn wait_for_wake(&self, seen: u64) -> bool {
        self.wait_for_wake_until(seen, None) == Wake::Woken
    }

    /// `wait_for_wake` with an optional deadline.
    pub(crate) fn wait_for_wake_until(&self, seen: u64, deadline: Option<std::time::Instant>) -> Wake {
        let mut pending = self.shared.pending.lock().unwrap();
        loop {
            if self.shared.wakeups.load(Ordering::SeqCst) != seen {
                return Wake::Woken;
            }
            if self.interrupts(pending.set) {
                return Wake::Interrupted;
            }
            pending = match deadline {
                None => self.shared.wake.wait(pending).unwrap(),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        return Wake::TimedOut;
                    }
                    self.shared.wake.wait_timeout(pending, d - now).unwrap().0
                }
            };
        }
    }

    /// Queues a signal for this task itself.
    pub(crate) fn signal_self(&self, info: SigInfo) {
        self.shared.pending.lock().unwrap().add(info);
    }
}

/// The command name of an executable: its base name, at most 15 bytes.
pub fn comm_of(exe: &str) -> String {
    let base = exe.rsplit('/').next().unwrap_or(exe);
    base.chars().take(15).collect()
}

/// An errno as strerror would say it.
pub fn describe(e: Errno) -> String {
    e.description().map(str::to_string).unwrap_or_else(|| format!("errno {}", e.into_raw()))
}

impl Task {
    /// The filesystem context a child cloned without `CLONE_FS` starts
    /// with: a copy of this task's.
    pub(crate) fn fs_copy(&self) -> Arc<FsShared> {
        let fs = FsShared::new(self.cwd.clone(), self.root.clone(), self.umask);
        fs.ctx.lock().unwrap_or_else(|e| e.into_inner()).pivots = self.pivots_seen;
        fs
    }

    /// Publishes this task's `cwd`, `root` and `umask` to the tasks that
    /// share them (after chdir, fchdir, chroot, umask).
    pub(crate) fn publish_fs(&mut self) {
        let mut ctx = self.fs.ctx.lock().unwrap_or_else(|e| e.into_inner());
        *ctx =
            FsContext { cwd: self.cwd.clone(), root: self.root.clone(), umask: self.umask, pivots: self.pivots_seen };
        self.fs_seen = self.fs.generation.fetch_add(1, Ordering::AcqRel) + 1;
        drop(ctx);
        self.handle().set_root(self.root.clone());
    }

    /// Takes up a change another sharer published (at each system call).
    pub(crate) fn sync_fs(&mut self) {
        if self.fs.generation.load(Ordering::Acquire) == self.fs_seen {
            return;
        }
        let ctx = self.fs.ctx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.fs_seen = self.fs.generation.load(Ordering::Acquire);
        self.pivots_seen = self.mnt.pivot_count();
        self.cwd = self.mnt.after_pivots(ctx.pivots, &ctx.cwd);
        self.root = self.mnt.after_pivots(ctx.pivots, &ctx.root);
        self.umask = ctx.umask;
        self.handle().set_root(self.root.clone());
    }

    /// `unshare(CLONE_FS)`: this task's context stops being shared.
    pub(crate) fn unshare_fs(&mut self) {
        if Arc::strong_count(&self.fs) > 1 {
            self.fs = self.fs_copy();
            self.fs_seen = 0;
        }
    }
}
