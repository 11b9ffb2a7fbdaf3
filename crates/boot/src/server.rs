//! The control server: answers the runtime's requests on the control
//! socket (gVisor: `runsc/boot/controller.go`).

use control::{recv_frame, send_frame, ExitStatus, FrameError, Request, Response, SandboxState};
use sentry::kernel::signal::{default_action, DefaultAction};
use sentry::kernel::TaskHandle;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

struct State {
    phase: SandboxState,
    start: Option<Sender<()>>,
    /// Requests received and not yet answered (a `Wait` stays here until
    /// the init exits).
    busy: usize,
}

/// What the control server shares with the main thread.
#[derive(Clone)]
pub struct Shared(Arc<(Mutex<State>, Condvar, TaskHandle)>);

impl Shared {
    pub fn new(task: TaskHandle, start: Sender<()>) -> Shared {
        let state = State { phase: SandboxState::Created, start: Some(start), busy: 0 };
        Shared(Arc::new((Mutex::new(state), Condvar::new(), task)))
    }

    /// Records the init's exit and gives the requests in flight (a `Wait`,
    /// or the `Start` of an init that exited at once) a moment to be
    /// answered before the sandbox exits.
    pub fn exited(&self, status: ExitStatus) {
        let (lock, cond, _) = &*self.0;
        let mut st = lock.lock().unwrap();
        st.phase = SandboxState::Stopped(status);
        cond.notify_all();
        let _ = cond.wait_timeout_while(st, Duration::from_secs(2), |s| s.busy > 0);
    }

    /// Counts a request in flight until its answer is sent.
    fn busy(&self, delta: isize) {
        let (lock, cond, _) = &*self.0;
        let mut st = lock.lock().unwrap();
        st.busy = st.busy.saturating_add_signed(delta);
        cond.notify_all();
    }

    fn handle(&self, req: Request) -> Response {
        let (lock, cond, task) = &*self.0;
        let mut st = lock.lock().unwrap();
        match req {
            Request::Start => match st.phase {
                SandboxState::Created => {
                    if let Some(start) = st.start.take() {
                        let _ = start.send(());
                    }
                    st.phase = SandboxState::Running;
                    Response::Ok
                }
                other => Response::Error { message: format!("cannot start a container that is {}", phase_name(other)) },
            },
            Request::Signal { signo, all: _ } => match st.phase {
                SandboxState::Stopped(_) => Response::Error { message: "the container has exited".into() },
                phase => {
                    if !(1..=abi::signal::NSIG).contains(&signo) {
                        return Response::Error { message: format!("invalid signal {signo}") };
                    }
                    // There is one process today, so `all` reaches the same one.
                    task.send_signal(signo);
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
            Request::State => Response::State(st.phase),
            Request::Wait => {
                let st = cond.wait_while(st, |s| !matches!(s.phase, SandboxState::Stopped(_))).unwrap();
                let SandboxState::Stopped(status) = st.phase else { unreachable!("waited for Stopped") };
                Response::Exited(status)
            }
        }
    }
}

fn phase_name(p: SandboxState) -> &'static str {
    match p {
        SandboxState::Created => "created",
        SandboxState::Running => "running",
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
            Ok((req, _fds)) => {
                tracing::debug!(?req, "control request");
                shared.busy(1);
                shared.handle(req)
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
