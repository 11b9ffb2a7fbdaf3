//! The kernel proper: the state shared by all tasks (gVisor:
//! `pkg/sentry/kernel`), and the tasks themselves in `task`.
//!
//! Threading model (DESIGN.md §4): every application thread is served by
//! one sentry OS thread, which is also the ptrace tracer of its stub. Other
//! threads (the control server) reach a task only through its
//! [`TaskHandle`]: they queue a signal and interrupt the platform.

pub mod caps;
pub mod control;
pub mod delivery;
pub mod fork;
pub mod futex;
pub mod jobctl;
pub mod oom;
pub mod process;
pub mod signal;
pub mod signal_frame;
pub mod task;
pub mod thread_group;
pub mod timer;
pub mod vdso;
pub mod waiter;

use crate::fs::gofer::GoferClient;
use memfile::MemoryFile;
use platform::Platform;
use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

pub use task::{Task, TaskHandle};

/// moat's kernel version, as `uname -r` reports it.
pub const RELEASE: &str = "6.1.0";
/// `uname -v`.
pub const VERSION: &str = concat!("#1 SMP moat ", env!("CARGO_PKG_VERSION"));
/// Most supplementary groups a process may hold (`NGROUPS_MAX`).
pub const NGROUPS_MAX: u64 = 65536;

/// How a task (or thread group) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

pub struct KernelConfig {
    pub platform: Arc<dyn Platform>,
    pub memfile: Arc<MemoryFile>,
    pub gofer: GoferClient,
    pub hostname: String,
    /// Log every syscall (`--strace`).
    pub strace: bool,
    /// Memory the container may use, as `sysinfo`/`/proc/meminfo` report it.
    pub total_memory: u64,
    /// The container's memory limit (`linux.resources.memory.limit`),
    /// enforced by the sentry's OOM killer.
    pub memory_limit: Option<u64>,
    /// The OCI spec's `mounts`, in order.
    pub mounts: Vec<MountSpec>,
    /// `root.readonly`: the gofer's tree is the root as it is, and every
    /// change is EROFS. Otherwise the root is an overlay whose writes stay
    /// in the sandbox's memory.
    pub root_readonly: bool,
    /// The spec's `process.oomScoreAdj`, which every process reports in
    /// `/proc/PID/oom_score_adj`.
    pub oom_score_adj: i32,
    /// `--overlay2`: how a writable root is served.
    pub root_overlay: RootOverlay,
    /// The interfaces and routes of `--network=sandbox` (empty: loopback
    /// only).
    pub network: netstack::NetConfig,
    /// `--network=host`: AF_INET/AF_INET6 sockets are host sockets the
    /// sentry drives, and the application sees these interfaces and
    /// routes (the namespace the sandbox runs in). `None`: the other modes.
    pub host_network: Option<crate::net::HostNetConfig>,
}

/// runsc's `--overlay2` for the root: `root:memory` (the default) keeps the
/// container's changes in an overlay in the sandbox's memory; `none`
/// writes them through the gofer to the host's root file system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RootOverlay {
    #[default]
    Memory,
    None,
}

impl std::str::FromStr for RootOverlay {
    type Err = String;
    fn from_str(s: &str) -> Result<RootOverlay, String> {
        match s {
            "root:memory" => Ok(RootOverlay::Memory),
            "none" => Ok(RootOverlay::None),
            other => Err(format!(
                "--overlay2={other}: unsupported (supported: root:memory, the default, which keeps the root's \
                 changes in the sandbox's memory; none, which writes them through to the root file system)"
            )),
        }
    }
}

/// One entry of the OCI spec's `mounts`.
#[derive(Clone, Debug, Default)]
pub struct MountSpec {
    pub destination: String,
    /// `type`: `tmpfs`, `proc`, `bind`...
    pub kind: String,
    pub options: Vec<String>,
}

/// The names `uname` reports that the container may change.
#[derive(Clone)]
pub struct Uts {
    pub hostname: String,
    pub domainname: String,
}

pub struct Kernel {
    pub(crate) platform: Arc<dyn Platform>,
    pub(crate) memfile: Arc<MemoryFile>,
    /// The container's mount namespace, as built at boot: the gofer at
    /// `/`, devfs at `/dev`, procfs at `/proc`, and the spec's mounts. A
    /// task that unshares CLONE_NEWNS gets a copy of its own (`Task::mnt`).
    pub(crate) mounts: Arc<crate::vfs::mount::MountNamespace>,
    /// The container's UTS namespace (`sethostname`, `setdomainname`): the
    /// spec's hostname and "(none)" at first. A task that unshares
    /// CLONE_NEWUTS gets a copy of its own (`Task::uts`).
    pub(crate) uts: Arc<Mutex<Uts>>,
    pub(crate) strace: bool,
    pub(crate) total_memory: u64,
    pub(crate) started: std::time::Instant,
    /// Unimplemented syscalls already reported, so each is logged once.
    unimplemented_seen: Mutex<HashSet<u64>>,
    /// The process tree of the container's PID namespace.
    pub(crate) procs: Mutex<process::ProcessTable>,
    pub(crate) futexes: futex::Futexes,
    /// flock and fcntl record locks.
    pub(crate) locks: crate::fs::lock::FileLocks,
    /// inotify watches: which instances hear of which inodes.
    pub(crate) inotify: Arc<crate::fs::inotify::Notifier>,
    /// The memory limit the OOM watcher enforces, and its kills so far.
    pub(crate) memory_limit: Option<u64>,
    pub(crate) oom_score_adj: i32,
    pub(crate) oom_kills: std::sync::atomic::AtomicU64,
    /// `moat pause`: tasks wait at the gate in their run loop (`control`).
    paused: std::sync::atomic::AtomicBool,
    /// The console: the host terminal of `process.terminal`, once the
    /// init has it (`/dev/console`).
    console: Mutex<Option<crate::fs::tty::Terminal>>,
    /// The vDSO every address space maps; `None` if it could not be made
    /// (then programs run without one, as with `vdso=0`).
    pub(crate) vdso: Option<self::vdso::Vdso>,
}

/// The mount table: the gofer's tree at `/` (under a tmpfs overlay
/// unless the root is read-only), devfs at `/dev` and procfs
/// at `/proc` always (runc's default spec mounts a tmpfs on `/dev`; devfs
/// serves it, as in runsc), then the spec's other mounts that the sentry
/// can serve. The rest are skipped with a log line, never faked. devpts is
/// at `/dev/pts` always too.
fn build_mounts(
    kernel: &std::sync::Weak<Kernel>,
    gofer: &GoferClient,
    specs: &[MountSpec],
    memory: u64,
    root_readonly: bool,
    overlay: RootOverlay,
) -> crate::vfs::mount::MountTable {
    use crate::fs::gofer::GoferRwFs;
    use crate::fs::overlay::{GoferLower, OverlayFs};
    use crate::vfs::mount::normalize;
    use gofer::proto::{is_bind, BindOptions};
    let gofer_root = || Arc::new(crate::fs::gofer::GoferFs::new(gofer.clone()));
    let root: Arc<dyn crate::vfs::mount::FileSystem> = if root_readonly {
        gofer_root()
    } else if overlay == RootOverlay::None {
        // runsc's --overlay2=none: changes go through the gofer to the host.
        Arc::new(GoferRwFs::new(gofer.clone(), "/", BindOptions::default()))
    } else {
        // runsc's --overlay2=root:memory. The upper layer may take what a
        // default tmpfs would: half the container's memory.
        let upper = crate::fs::tmpfs::Options::parse(&[], memory).expect("no options to reject");
        match OverlayFs::new(Box::new(GoferLower(gofer.clone())), upper) {
            Ok(o) => Arc::new(o),
            Err(e) => {
                tracing::error!("root overlay: {e:?}: the root stays read-only");
                gofer_root()
            }
        }
    };
    let mut t = crate::vfs::mount::MountTable::new(root);
    t.mount("/dev", Arc::new(crate::fs::dev::DevFs::new()));
    t.mount("/proc", Arc::new(crate::fs::proc::ProcFs::new()));
    // Always, as runc's default spec and Docker's have it; the spec's
    // options (newinstance, ptmxmode, mode, gid) are what it does anyway.
    t.mount("/dev/pts", Arc::new(crate::fs::devpts::DevPts::new(kernel.clone())));
    let mut unsupported = HashSet::new();
    // The gofer serves the spec's bind mounts as its trees 1, 2... in order.
    let mut bind_index = 0u32;
    for m in specs {
        let dest = normalize(&m.destination);
        // The mount's own flags (nosuid, nodev, noexec, ro, atime), which
        // mountinfo shows and a `MountView` enforces.
        let flags = crate::vfs::mount::spec_flags(&m.options);
        if is_bind(&m.kind, &m.options) {
            bind_index += 1;
            if dest == "/" {
                tracing::warn!("a bind mount over the root is not supported: skipped");
                continue;
            }
            let (opts, ignored) = BindOptions::parse(&m.options);
            // Propagation and atime options mean nothing in the sandbox's
            // single mount namespace; anything else is unknown.
            const MEANINGLESS: &[&str] = &[
                "private",
                "rprivate",
                "slave",
                "rslave",
                "shared",
                "rshared",
                "unbindable",
                "runbindable",
                "relatime",
                "norelatime",
                "noatime",
                "atime",
                "strictatime",
                "nodiratime",
                "diratime",
            ];
            let (meaningless, unknown): (Vec<String>, Vec<String>) =
                ignored.into_iter().partition(|o| MEANINGLESS.contains(&o.as_str()));
            if !meaningless.is_empty() {
                tracing::debug!(destination = dest, ?meaningless, "bind mount options without effect in the sandbox");
            }
            if !unknown.is_empty() {
                tracing::warn!(destination = dest, ?unknown, "bind mount options not supported: ignored");
            }
            let fs = Arc::new(GoferRwFs::new(gofer.for_mount(bind_index), &dest, opts));
            t.mount_with(&dest, fs, flags, String::new());
            continue;
        }
        match m.kind.as_str() {
            _ if dest == "/" => tracing::warn!(kind = m.kind, "a mount over the root is not supported: skipped"),
            // Mounted already: the spec's flags apply to them.
            "tmpfs" if dest == "/dev" => t.set_flags_at(&dest, flags),
            "proc" if dest == "/proc" => t.set_flags_at(&dest, flags),
            "devpts" if dest == "/dev/pts" => t.set_flags_at(&dest, flags),
            "devpts" => {
                t.mount_with(&dest, Arc::new(crate::fs::devpts::DevPts::new(kernel.clone())), flags, String::new())
            }
            "tmpfs" => match crate::fs::tmpfs::Options::parse(&m.options, memory) {
                Ok(o) => {
                    let shown = o.shown();
                    t.mount_with(&dest, Arc::new(crate::fs::tmpfs::TmpFs::new(&dest, o)), flags, shown)
                }
                Err(e) => tracing::warn!(destination = dest, "{e}: skipped"),
            },
            "proc" => t.mount_with(&dest, Arc::new(crate::fs::proc::ProcFs::new()), flags, String::new()),
            "sysfs" => t.mount_with(&dest, Arc::new(crate::fs::sys::SysFs::new()), flags, String::new()),
            kind => {
                if unsupported.insert(kind.to_string()) {
                    tracing::info!(kind, destination = dest, "mounts of this type are not supported yet: skipped");
                }
            }
        }
    }
    t
}

/// The container's init process, as the OCI spec describes it.
#[derive(Debug)]
pub struct ProcessSpec {
    pub argv: Vec<String>,
    pub envp: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// `process.capabilities` (None: the spec names none, and the process
    /// holds what its uid would: all for root).
    pub caps: Option<caps::Caps>,
    /// Host descriptors that become the process's fds 0, 1, 2...
    pub stdio: Vec<Option<OwnedFd>>,
    /// `process.terminal`: the stdio descriptors are one host terminal,
    /// which becomes the process's controlling terminal. The flag says
    /// whether it is the console (the init's, `/dev/console`, the
    /// sandbox's own controlling terminal) or an exec'd process's.
    pub terminal: Option<bool>,
}

/// How many CPUs the sandbox may run on: the sandbox's affinity, read the
/// first time (at boot, before the platform pins each task's thread to one
/// CPU, which must not show as the sandbox having one).
pub fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| rustix::thread::sched_getaffinity(None).map(|s| s.count() as usize).unwrap_or(1).max(1))
}

impl Kernel {
    pub fn new(cfg: KernelConfig) -> Arc<Kernel> {
        // Counted on this (unpinned) thread.
        cpus();
        let limit = cfg.memory_limit;
        let kernel = Arc::new_cyclic(|weak| Kernel {
            platform: cfg.platform,
            memfile: cfg.memfile.clone(),
            mounts: crate::vfs::mount::MountNamespace::new(build_mounts(
                weak,
                &cfg.gofer,
                &cfg.mounts,
                cfg.total_memory,
                cfg.root_readonly,
                cfg.root_overlay,
            )),
            uts: Arc::new(Mutex::new(Uts { hostname: cfg.hostname, domainname: "(none)".into() })),
            strace: cfg.strace,
            total_memory: limit.map_or(cfg.total_memory, |l| l.min(cfg.total_memory)),
            started: std::time::Instant::now(),
            unimplemented_seen: Mutex::new(HashSet::new()),
            procs: Mutex::new(process::ProcessTable::default()),
            futexes: futex::Futexes::default(),
            locks: Default::default(),
            inotify: Default::default(),
            memory_limit: limit,
            oom_score_adj: cfg.oom_score_adj,
            oom_kills: Default::default(),
            paused: std::sync::atomic::AtomicBool::new(false),
            console: Mutex::new(None),
            vdso: self::vdso::Vdso::new(&cfg.memfile)
                .map_err(|e| tracing::error!("no vDSO: {e}; clocks are system calls"))
                .ok(),
        });
        let weak = Arc::downgrade(&kernel);
        kernel.inotify.set_signaller(Box::new(move |pid| {
            weak.upgrade().is_some_and(|k| k.signal_process_from_kernel(pid, abi::signal::SIGIO))
        }));
        if let Some(limit) = limit {
            oom::watch(&kernel, limit);
        }
        crate::net::start(cfg.network);
        if let Some(host) = cfg.host_network {
            crate::net::start_host(host);
        }
        kernel
    }

    /// The console terminal, if the container has one.
    pub fn console(&self) -> Option<crate::fs::tty::Terminal> {
        self.console.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn procs(&self) -> std::sync::MutexGuard<'_, process::ProcessTable> {
        self.procs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that the application called an unimplemented syscall;
    /// true the first time for each number.
    pub(crate) fn first_unimplemented(&self, nr: u64) -> bool {
        self.unimplemented_seen.lock().unwrap().insert(nr)
    }
}
