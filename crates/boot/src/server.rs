//! The control server: answers the runtime's requests on the control
//! socket (gVisor: `runsc/boot/controller.go`).

use control::{recv_frame, send_frame, ExecSpec, ExitStatus, FrameError, ProcessInfo, Request, Response, SandboxState};
use sentry::kernel::signal::{default_action, DefaultAction};
use sentry::kernel::TaskHandle;
use sentry::Kernel;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

struct State {
    phase: SandboxState,
    start: Option<Sender<()>>,
    /// Requests received and not yet answered (a `Wait` stays here until
    /// the init exits, a `WaitPid` until its process does).
    busy: usize,
    /// Processes started by `Exec`: their status once they have exited.
    /// Kept until the sandbox ends, so a `WaitPid` may come late.
    execs: HashMap<i32, Option<ExitStatus>>,
}

struct Inner {
    state: Mutex<State>,
    cond: Condvar,
    init: TaskHandle,
    kernel: Arc<Kernel>,
}

/// What the control server shares with the main thread.
#[derive(Clone)]
pub struct Shared(Arc<Inner>);

impl Shared {
    pub fn new(kernel: Arc<Kernel>, init: TaskHandle, start: Sender<()>) -> Shared {
        let state = State { phase: SandboxState::Created, start: Some(start), busy: 0, execs: HashMap::new() };
        Shared(Arc::new(Inner { state: Mutex::new(state), cond: Condvar::new(), init, kernel }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the init's exit and gives the requests in flight (a `Wait`,
    /// a `WaitPid` whose process the init's exit kills, or the `Start` of an
    /// init that exited at once) a moment to be answered before the sandbox
    /// exits.
    pub fn exited(&self, status: ExitStatus) {
        let mut st = self.lock();
        st.phase = SandboxState::Stopped(status);
        self.0.cond.notify_all();
        let _ = self.0.cond.wait_timeout_while(st, Duration::from_secs(2), |s| s.busy > 0);
    }

    /// Counts a request in flight until its answer is sent.
    fn busy(&self, delta: isize) {
        let mut st = self.lock();
        st.busy = st.busy.saturating_add_signed(delta);
        self.0.cond.notify_all();
    }

    fn handle(&self, req: Request, fds: Vec<OwnedFd>) -> Response {
        let inner = &*self.0;
        let mut st = self.lock();
        match req {
            Request::Start => match st.phase {
                SandboxState::Created => {
                    if let Some(start) = st.start.take() {
                        let _ = start.send(());
                    }
                    st.phase = SandboxState::Running;
                    Response::Ok
                }
                other => refuse("start", other),
            },
            Request::Signal { signo, all } => match st.phase {
                SandboxState::Stopped(_) => Response::Error { message: "the container has exited".into() },
                phase => {
                    if !(1..=abi::signal::NSIG).contains(&signo) {
                        return Response::Error { message: format!("invalid signal {signo}") };
                    }
                    if all {
                        inner.kernel.signal_all(signo);
                    } else {
                        sentry::kernel::jobctl::on_send(&inner.kernel, 1, signo);
                        inner.init.send_signal(signo);
                    }
                    // A created container has not run yet: a fatal signal
                    // must still end it, so let it run into the signal.
                    let fatal = signo == abi::signal::SIGKILL
                        || matches!(default_action(signo), DefaultAction::Terminate | DefaultAction::CoreDump);
                    if phase == SandboxState::Created && fatal {
                        if let Some(start) = st.start.take() {
                            let _ = start.send(());
                        }
                        st.phase = SandboxState::Running;
                    }
                    Response::Ok
                }
            },
            Request::SignalProcess { pid, signo } => match st.phase {
                SandboxState::Stopped(_) => Response::Error { message: "the container has exited".into() },
                _ if !(1..=abi::signal::NSIG).contains(&signo) => {
                    Response::Error { message: format!("invalid signal {signo}") }
                }
                _ if inner.kernel.signal_process(pid, signo) => Response::Ok,
                _ => Response::Error { message: format!("no process {pid} in the container") },
            },
            Request::SignalTerminal { pid, signo } => match st.phase {
                SandboxState::Stopped(_) => Response::Error { message: "the container has exited".into() },
                _ if !(1..=abi::signal::NSIG).contains(&signo) => {
                    Response::Error { message: format!("invalid signal {signo}") }
                }
                _ if signo == abi::signal::SIGHUP => {
                    inner.kernel.terminal_hangup(pid);
                    Response::Ok
                }
                _ if inner.kernel.signal_terminal_foreground(pid, signo) => Response::Ok,
                _ => Response::Error { message: format!("process {pid} has no terminal with a foreground group") },
            },
            Request::State => Response::State(st.phase),
            Request::Wait => {
                let st = inner.cond.wait_while(st, |s| !matches!(s.phase, SandboxState::Stopped(_))).unwrap();
                let SandboxState::Stopped(status) = st.phase else { unreachable!("waited for Stopped") };
                Response::Exited(status)
            }
            Request::Exec(spec) => match st.phase {
                SandboxState::Running => {
                    drop(st);
                    self.exec(*spec, fds)
                }
                other => refuse("exec in", other),
            },
            Request::WaitPid { pid } => {
                if !st.execs.contains_key(&pid) {
                    return Response::Error { message: format!("no process {pid} was started by exec") };
                }
                let st = inner.cond.wait_while(st, |s| s.execs.get(&pid) == Some(&None)).unwrap();
                match st.execs.get(&pid).copied().flatten() {
                    Some(status) => Response::Exited(status),
                    None => Response::Error { message: format!("process {pid} vanished") },
                }
            }
            Request::Processes => match st.phase {
                SandboxState::Stopped(_) => refuse("list the processes of", st.phase),
                _ => Response::Processes(inner.kernel.processes().into_iter().map(info).collect()),
            },
            Request::Stats => match st.phase {
                SandboxState::Stopped(_) => refuse("report the resource use of", st.phase),
                _ => Response::Stats(inner.kernel.stats()),
            },
            Request::Pause => match st.phase {
                SandboxState::Running => {
                    inner.kernel.pause();
                    st.phase = SandboxState::Paused;
                    Response::Ok
                }
                other => refuse("pause", other),
            },
            Request::Resume => match st.phase {
                SandboxState::Paused => {
                    inner.kernel.resume();
                    st.phase = SandboxState::Running;
                    Response::Ok
                }
                other => refuse("resume", other),
            },
        }
    }

    /// Starts an exec'd process with the descriptors that came with the
    /// request as its stdio, and a thread that records its exit.
    fn exec(&self, spec: ExecSpec, fds: Vec<OwnedFd>) -> Response {
        if fds.len() != 3 {
            return Response::Error {
                message: format!("exec needs 3 descriptors (stdin, stdout, stderr), got {}", fds.len()),
            };
        }
        let caps = match spec.capabilities.as_ref().map(crate::spec::caps_of).transpose() {
            Ok(c) => c,
            Err(message) => return Response::Error { message },
        };
        let process = sentry::ProcessSpec {
            argv: spec.args,
            envp: spec.env,
            cwd: if spec.cwd.is_empty() { "/".into() } else { spec.cwd },
            uid: spec.uid,
            gid: spec.gid,
            additional_gids: spec.additional_gids,
            caps,
            stdio: fds.into_iter().map(Some).collect(),
            terminal: spec.terminal.then_some(false),
        };
        let spawned = match self.0.kernel.spawn_process(process) {
            Ok(s) => s,
            Err(message) => return Response::Error { message },
        };
        let pid = spawned.pid;
        // Before the watcher can record the exit.
        self.lock().execs.insert(pid, None);
        let me = self.clone();
        let watcher = std::thread::Builder::new().name(format!("exec-{pid}")).spawn(move || {
            let status = spawned.exit.recv().unwrap_or(sentry::ExitStatus::Signal(abi::signal::SIGKILL));
            let status = match status {
                sentry::ExitStatus::Code(c) => ExitStatus::Code(c),
                sentry::ExitStatus::Signal(s) => ExitStatus::Signal(s),
            };
            tracing::debug!(pid, ?status, "exec'd process exited");
            me.lock().execs.insert(pid, Some(status));
            me.0.cond.notify_all();
        });
        if let Err(e) = watcher {
            tracing::error!("exec {pid}: cannot start its watcher thread: {e}");
        }
        tracing::info!(pid, "exec'd process started");
        Response::Pid(pid)
    }
}

fn refuse(what: &str, phase: SandboxState) -> Response {
    Response::Error { message: format!("cannot {what} a container that is {}", phase_name(phase)) }
}

fn info(p: sentry::kernel::control::ProcessInfo) -> ProcessInfo {
    ProcessInfo {
        pid: p.pid,
        ppid: p.ppid,
        uid: p.uid,
        state: p.state,
        started: p.started.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        cpu_ms: p.cpu.as_millis() as u64,
        cmdline: p.cmdline,
    }
}

fn phase_name(p: SandboxState) -> &'static str {
    match p {
        SandboxState::Created => "created",
        SandboxState::Running => "running",
        SandboxState::Paused => "paused",
        SandboxState::Stopped(_) => "stopped",
    }
}

/// Serves control connections on their own threads.
pub fn spawn(listener: UnixListener, shared: Shared) -> std::io::Result<()> {
    std::thread::Builder::new().name("control".into()).spawn(move || {
        for conn in listener.incoming() {
            match conn {
                Ok(conn) => {
                    let shared = shared.clone();
                    let spawned =
                        std::thread::Builder::new().name("control-conn".into()).spawn(move || serve(conn, shared));
                    if let Err(e) = spawned {
                        tracing::error!("control connection thread: {e}");
                    }
                }
                Err(e) => tracing::warn!("control accept: {e}"),
            }
        }
    })?;
    Ok(())
}

fn serve(conn: UnixStream, shared: Shared) {
    loop {
        let resp = match recv_frame::<Request>(&conn) {
            Ok((req, fds)) => {
                tracing::debug!(?req, "control request");
                shared.busy(1);
                shared.handle(req, fds)
            }
            Err(FrameError::Closed) => return,
            Err(e) => {
                shared.busy(1);
                Response::Error { message: format!("bad control request: {e}") }
            }
        };
        let sent = send_frame(&conn, &resp, &[]);
        shared.busy(-1);
        if let Err(e) = sent {
            tracing::debug!("control answer not delivered: {e}");
            return;
        }
    }
}
