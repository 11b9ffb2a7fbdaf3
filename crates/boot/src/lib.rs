//! `moat boot`: the sandbox process (gVisor: `runsc/boot`).
//!
//! Started by `moat create` in a new PID namespace, it joins the
//! container's network namespace and takes its interfaces (`network`),
//! then confines itself (user, mount, IPC, UTS and network namespaces; an empty root; uid
//! 65534; no capabilities; no_new_privs; a seccomp allowlist), builds the
//! kernel from the OCI spec, loads the container's init, tells the runtime
//! it is ready, and runs the init when told to start. It exits with the
//! init's status, after writing it to the exit file.

mod confine;
mod filter;
mod logging;
mod network;
mod server;
mod spec;

use control::launch::{BootArgs, NetworkMode, SYNC_FAILED, SYNC_MAPPED, SYNC_READY, SYNC_UNSHARED};
use control::ExitStatus;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{mpsc, Arc};

/// What the host's line discipline sends the sandbox (its session leader
/// and foreground group) from the console: forwarded to the container.
fn console_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::Signal;
    [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP, Signal::SIGWINCH, Signal::SIGHUP].into_iter().collect()
}

/// Size of the memory file's address range (sparse; a limit, not a cost).
const MEMFILE_SIZE: u64 = 64 << 30;

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("descriptor --{name}={fd}: {source}")]
    Fd {
        name: &'static str,
        fd: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("handshake with the runtime: {0}")]
    Handshake(String),
    #[error("{0}")]
    Spec(String),
    #[error("network: {0}")]
    Network(String),
    #[error("confining the sandbox: {0}")]
    Confine(String),
    #[error("{0}")]
    Kernel(String),
}

/// Runs the sandbox; returns the process exit code (the container init's
/// shell-style status).
pub fn run(args: BootArgs) -> i32 {
    // Before any thread exists, so that every thread inherits the mask:
    // the signals a host terminal sends its foreground group stay pending
    // for the console thread's sigwait (as the namespace's init, the
    // sandbox would otherwise drop them, having no handler).
    if let Err(e) = console_signals().thread_block() {
        eprintln!("moat boot: blocking the console's signals: {e}");
        return 1;
    }
    let log_fd = args.log_fd.and_then(|fd| hostsys::process::take_inherited_fd(fd).ok());
    logging::init(log_fd, &args.log_format, args.debug, args.strace);
    // The sandbox's stderr goes nowhere useful: a sentry panic goes to the log.
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        tracing::error!(thread = thread.name().unwrap_or("?"), "sentry panic: {info}");
    }));
    let sync = match adopt(args.sync_fd, "sync-fd") {
        Ok(fd) => UnixStream::from(fd),
        Err(e) => {
            tracing::error!("{e}");
            return 1;
        }
    };
    match boot(&args, &sync) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("sandbox start-up failed: {e}");
            let mut msg = vec![SYNC_FAILED];
            msg.extend_from_slice(e.to_string().as_bytes());
            let _ = (&sync).write_all(&msg);
            1
        }
    }
}

fn adopt(fd: i32, name: &'static str) -> Result<std::os::fd::OwnedFd, BootError> {
    hostsys::process::take_inherited_fd(fd).map_err(|source| BootError::Fd { name, fd, source })
}

fn boot(args: &BootArgs, sync: &UnixStream) -> Result<i32, BootError> {
    let control = UnixListener::from(adopt(args.control_fd, "control-fd")?);
    let gofer = UnixStream::from(adopt(args.gofer_fd, "gofer-fd")?);
    let exit_file = std::fs::File::from(adopt(args.exit_fd, "exit-fd")?);
    if args.platform != "ptrace" {
        return Err(BootError::Spec(format!("platform {:?} is not supported (only ptrace)", args.platform)));
    }
    let network_mode = NetworkMode::parse_supported(&args.network).map_err(BootError::Spec)?;
    let root_overlay: sentry::RootOverlay = args.overlay2.parse().map_err(BootError::Spec)?;
    // Everything that reads host files happens before confinement.
    let spec = spec::load(&args.bundle)?;
    // The container's memory: the host's; the sentry lowers it to the
    // spec's memory limit, the same value the runtime wrote into the
    // container's host cgroup (the host-side backstop).
    let total_memory = nix::sys::sysinfo::sysinfo().map(|i| i.ram_total()).unwrap_or(0);
    // The container's network, while we are still root in the host's user
    // namespace: the namespace to join, and in sandbox mode its interfaces
    // (host mode: what the namespace holds, to show the application).
    // A namespace of our own (a spec entry without a path) is made by the
    // unshare below and filled by the createRuntime hooks the runtime runs
    // during the handshake (Docker's libnetwork-setkey moves the veth end
    // in): its interfaces are taken after that, with the capabilities we
    // hold in our new user namespace, which owns it.
    let host_mode = network_mode == NetworkMode::Host;
    let namespace = match &spec.network_namespace {
        spec::NetNamespace::New if host_mode => {
            tracing::info!(
                "network: --network=host: the spec's new network namespace is not made; \
                 the sandbox uses the runtime's (as runsc)"
            );
            spec::NetNamespace::Inherit
        }
        ns => ns.clone(),
    };
    network::enter_namespace(&namespace)?;
    let own_namespace = namespace == spec::NetNamespace::New;
    let (mut net, host_network) = match network_mode {
        NetworkMode::Sandbox if !own_namespace => (network::take_interfaces()?, None),
        NetworkMode::Sandbox => (netstack::NetConfig::default(), None),
        NetworkMode::Host => (netstack::NetConfig::default(), Some(network::read_host()?)),
        NetworkMode::None => {
            tracing::info!("network: --network=none, loopback only");
            (netstack::NetConfig::default(), None)
        }
    };

    confine::unshare_namespaces(!host_mode)?;
    handshake(sync)?;
    if network_mode == NetworkMode::Sandbox && own_namespace {
        net = network::take_interfaces()?;
    }
    confine::enter_empty_root()?;
    confine::become_nobody()?;

    let memfile = Arc::new(memfile::MemoryFile::new(MEMFILE_SIZE).map_err(|e| BootError::Kernel(e.to_string()))?);
    let platform =
        Arc::new(platform::ptrace::PtracePlatform::new(memfile.clone()).map_err(|e| BootError::Kernel(e.to_string()))?);
    confine::drop_privileges()?;
    filter::install(host_mode).map_err(|e| BootError::Confine(format!("seccomp: {e}")))?;
    tracing::debug!("sandbox confined");

    let kernel = sentry::Kernel::new(sentry::KernelConfig {
        platform,
        memfile,
        gofer: sentry::fs::gofer::GoferClient::new(gofer),
        hostname: spec.hostname.clone(),
        strace: args.strace,
        total_memory,
        memory_limit: spec.memory_limit,
        mounts: spec.mounts.clone(),
        root_readonly: spec.root_readonly,
        root_overlay,
        oom_score_adj: spec.oom_score_adj,
        network: net,
        host_network,
    });
    let process = spec.process(hostsys::fd::take_stdio().into());
    if spec.terminal {
        forward_console_signals(&kernel)?;
    }
    let server_kernel = kernel.clone();

    // The init task lives on its own thread: that thread is the ptrace
    // tracer of its stub and must stay the one that runs it.
    let (loaded_tx, loaded_rx) = mpsc::channel();
    let (start_tx, start_rx) = mpsc::channel::<()>();
    let task_thread = std::thread::Builder::new()
        .name("task-1".into())
        .spawn(move || {
            let task = match sentry::kernel::Task::new_init(&kernel, process) {
                Ok(task) => task,
                Err(msg) => {
                    let _ = loaded_tx.send(Err(msg));
                    return None;
                }
            };
            let _ = loaded_tx.send(Ok(task.handle()));
            // A dropped sender (the sandbox is being torn down) means no start.
            start_rx.recv().ok()?;
            Some(task.run())
        })
        .map_err(|e| BootError::Kernel(format!("spawning the task thread: {e}")))?;
    let handle = loaded_rx
        .recv()
        .map_err(|_| BootError::Kernel("the task thread died while loading".into()))?
        .map_err(BootError::Kernel)?;

    let state = server::Shared::new(server_kernel, handle, start_tx);
    server::spawn(control, state.clone()).map_err(|e| BootError::Kernel(format!("control server: {e}")))?;
    (&*sync).write_all(&[SYNC_READY]).map_err(|e| BootError::Handshake(e.to_string()))?;
    tracing::info!(id = args.id, "sandbox ready");

    let status = match task_thread.join() {
        Ok(Some(status)) => match status {
            sentry::ExitStatus::Code(c) => ExitStatus::Code(c),
            sentry::ExitStatus::Signal(s) => ExitStatus::Signal(s),
        },
        Ok(None) => ExitStatus::Signal(abi::signal::SIGKILL),
        Err(_) => {
            tracing::error!("the task thread panicked");
            ExitStatus::Signal(abi::signal::SIGKILL)
        }
    };
    tracing::info!(?status, "container init exited");
    let mut exit_file = exit_file;
    if let Err(e) = exit_file.write_all(&serde_json::to_vec(&status).unwrap_or_default()) {
        tracing::error!("recording the exit status: {e}");
    }
    state.exited(status);
    Ok(status.shell_code())
}

/// The console thread (runsc's signal forwarding with a TTY): the host's
/// line discipline signals the sandbox, its terminal's foreground group;
/// each signal goes on to the foreground group of the init's terminal in
/// the sentry (a SIGHUP, the host side hanging up, to its session leader
/// too, as a hangup does).
fn forward_console_signals(kernel: &Arc<sentry::Kernel>) -> Result<(), BootError> {
    let kernel = kernel.clone();
    std::thread::Builder::new()
        .name("console".into())
        .spawn(move || loop {
            let sig = match console_signals().wait() {
                Ok(sig) => sig as i32,
                Err(e) => {
                    tracing::error!("console signals: sigwait: {e}");
                    return;
                }
            };
            tracing::debug!(sig, "console signal");
            if sig == abi::signal::SIGHUP {
                kernel.terminal_hangup(1);
            } else {
                kernel.signal_terminal_foreground(1, sig);
            }
        })
        .map(drop)
        .map_err(|e| BootError::Kernel(format!("spawning the console thread: {e}")))
}

/// Steps 1 and 2 of the handshake in `control::launch`.
fn handshake(sync: &UnixStream) -> Result<(), BootError> {
    let err = |e: std::io::Error| BootError::Handshake(e.to_string());
    (&*sync).write_all(&[SYNC_UNSHARED]).map_err(err)?;
    let mut b = [0u8; 1];
    (&*sync).read_exact(&mut b).map_err(err)?;
    if b[0] != SYNC_MAPPED {
        return Err(BootError::Handshake(format!("unexpected byte {:#x} instead of the id-mapping reply", b[0])));
    }
    Ok(())
}
