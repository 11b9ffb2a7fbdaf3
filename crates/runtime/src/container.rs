//! Container lifecycle: what `moat create|start|kill|delete|state|list|run`
//! do, as library calls (gVisor: `runsc/container/container.go`).
//!
//! Every mutation holds the container's lock; every status change goes
//! through [`crate::status::check`].

use crate::cgroup::{Cgroup, Layout};
use crate::error::{Error, Result};
use crate::hooks::{self, Stage};
use crate::procs::Proc;
use crate::sandbox::{self, Launch};
use crate::spec::load_bundle;
use crate::state::{self, write_atomic, ContainerDir, Lock, State};
use crate::status::{check, Action, Status};
use control::{Client, ExitStatus, Request, Response};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a killed process may take to disappear.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// The runtime's settings: the global flags of `moat`.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub root: PathBuf,
    /// The moat binary run as `boot`/`gofer`.
    pub exe: PathBuf,
    pub log: Option<PathBuf>,
    pub log_format: String,
    pub debug: bool,
    pub strace: bool,
    pub platform: String,
    pub network: String,
    /// runsc's `--overlay2` for the root (`root:memory` or `none`).
    pub overlay2: String,
    /// `--systemd-cgroup`: `linux.cgroupsPath` is systemd's
    /// `slice:prefix:name` (see `cgroup::systemd_path`).
    pub systemd_cgroup: bool,
    /// How long `create` waits for the sandbox to become ready.
    pub start_timeout: Duration,
}

/// Options of `create` (and `run`).
#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// `run` without `--detach`: the runtime waits for the container in
    /// the foreground (runc's rules for terminals differ, see `console`).
    pub foreground: bool,
}

impl Runtime {
    pub fn new(root: PathBuf) -> Runtime {
        Runtime {
            root,
            exe: PathBuf::from("/proc/self/exe"),
            log: None,
            log_format: "text".into(),
            debug: false,
            strace: false,
            platform: "ptrace".into(),
            network: "sandbox".into(),
            overlay2: "root:memory".into(),
            systemd_cgroup: false,
            start_timeout: Duration::from_secs(60),
        }
    }

    pub(crate) fn dir(&self, id: &str) -> Result<ContainerDir> {
        ContainerDir::new(&self.root, id)
    }

    /// `moat create`: checks the bundle, then launches the sandbox and
    /// waits until it is ready. On any failure nothing is left behind.
    pub fn create(&self, id: &str, bundle: &Path, opts: &CreateOpts) -> Result<State> {
        self.create_attached(id, bundle, opts).map(|(st, _)| st)
    }

    /// `create` for `run`: with `opts.foreground` and a terminal but no
    /// console socket, also the runtime's end of the terminal, to finish
    /// once the container has exited.
    pub fn create_attached(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOpts,
    ) -> Result<(State, Option<crate::console::Foreground>)> {
        let cd = self.dir(id)?;
        let b = load_bundle(bundle)?;
        crate::spec::check_network_namespace(&b, &self.network)?;
        crate::console::check(b.terminal(), !opts.foreground, opts.console_socket.as_deref())?;
        hooks::check_supported(b.spec.hooks().as_ref(), &b.dir.join("config.json"))?;
        cd.create()?;
        let mut foreground = None;
        let result = self.create_in(&cd, &b, opts, &mut foreground);
        if result.is_err() {
            let _ = cd.remove();
        }
        result.map(|st| (st, foreground))
    }

    fn create_in(
        &self,
        cd: &ContainerDir,
        b: &crate::spec::Bundle,
        opts: &CreateOpts,
        foreground: &mut Option<crate::console::Foreground>,
    ) -> Result<State> {
        let lock = cd.lock()?;
        let mut st = State {
            id: cd.id.clone(),
            status: Status::Creating,
            bundle: b.dir.clone(),
            sandbox_pid: 0,
            sandbox_start_time: 0,
            gofer_pid: 0,
            gofer_start_time: 0,
            created: crate::time::rfc3339(SystemTime::now()),
            annotations: b.spec.annotations().clone().unwrap_or_default().into_iter().collect(),
            owner: owner(),
            control_socket: cd.control_socket(),
            exit_file: cd.exit_file(),
            process: b.spec.process().clone(),
            cgroup: None,
            hooks: b.spec.hooks().clone(),
        };
        cd.save(&st, &lock)?;
        let linux = b.spec.linux().as_ref();
        let given = linux.and_then(|l| l.cgroups_path().as_deref());
        let systemd_path = match given {
            Some(p) if self.systemd_cgroup => Some(crate::cgroup::systemd_path(&p.to_string_lossy())?),
            _ => None,
        };
        let cgroup = Cgroup::create(
            &Layout::detect()?,
            systemd_path.as_deref().or(given),
            &cd.id,
            linux.and_then(|l| l.resources().as_ref()),
        )?;
        st.cgroup = Some(cgroup.clone());
        let result = self.launch_in(cd, b, opts, &lock, &mut st, foreground);
        if result.is_err() {
            if let Err(e) = cgroup.destroy() {
                tracing::warn!(id = %cd.id, "after a failed create: {e}");
            }
        }
        result.map(|()| st)
    }

    fn launch_in(
        &self,
        cd: &ContainerDir,
        b: &crate::spec::Bundle,
        opts: &CreateOpts,
        lock: &Lock,
        st: &mut State,
        foreground: &mut Option<crate::console::Foreground>,
    ) -> Result<()> {
        cd.save(st, lock)?;
        let console = match &opts.console_socket {
            Some(socket) => {
                let size = b.spec.process().as_ref().and_then(|p| p.console_size()).map(|s| {
                    let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
                    (clamp(s.height()), clamp(s.width()))
                });
                Some(std::sync::Arc::new(crate::console::setup(socket, size)?))
            }
            None if b.terminal() => {
                let (fg, slave) = crate::console::Foreground::start()?;
                *foreground = Some(fg);
                Some(std::sync::Arc::new(slave))
            }
            None => None,
        };
        let launched = sandbox::launch(
            &Launch {
                exe: self.exe.clone(),
                id: cd.id.clone(),
                bundle: b.dir.clone(),
                control_socket: st.control_socket.clone(),
                exit_file: st.exit_file.clone(),
                log: self.log.clone(),
                log_format: self.log_format.clone(),
                debug: self.debug,
                strace: self.strace,
                platform: self.platform.clone(),
                network: self.network.clone(),
                overlay2: self.overlay2.clone(),
                timeout: self.start_timeout,
                cgroup: st.cgroup.clone(),
                console,
                oom_score_adj: b.spec.process().as_ref().and_then(|p| p.oom_score_adj()),
            },
            |pid| {
                // OCI: after the runtime environment exists, before pivot_root;
                // Docker's network hook fills the sandbox's network namespace.
                let creating = st.oci_as(Status::Creating, pid);
                hooks::run(Stage::Prestart, st.hooks.as_ref(), &creating)
                    .and_then(|()| hooks::run(Stage::CreateRuntime, st.hooks.as_ref(), &creating))
            },
        )?;
        st.sandbox_pid = launched.sandbox.pid;
        st.sandbox_start_time = launched.sandbox.start_time;
        st.gofer_pid = launched.gofer.pid;
        st.gofer_start_time = launched.gofer.start_time;
        let finish = transition(st, Status::Creating, Action::FinishCreate).and_then(|to| {
            st.status = to;
            cd.save(st, lock)?;
            match &opts.pid_file {
                Some(p) => write_atomic(&absolute(p), st.sandbox_pid.to_string().as_bytes()),
                None => Ok(()),
            }
        });
        if let Err(e) = finish {
            kill_all(st);
            return Err(e);
        }
        Ok(())
    }

    /// `moat start`: lets a created container's init run.
    pub fn start(&self, id: &str) -> Result<()> {
        let cd = self.dir(id)?;
        let lock = cd.lock()?;
        let mut st = cd.load()?;
        let to = transition(&st, effective(&st, &lock), Action::Start)?;
        match client(&st)?.call(&Request::Start, &[]) {
            Ok(Response::Ok) => {}
            Ok(other) => return Err(protocol(id, "Start", other)),
            Err(source) => return Err(Error::Control { id: id.into(), source }),
        }
        st.status = to;
        cd.save(&st, &lock)?;
        hooks::run_and_warn(Stage::Poststart, st.hooks.as_ref(), &st.oci_as(Status::Running, st.sandbox_pid));
        Ok(())
    }

    /// `moat kill`: sends `signo` to the init (or with `all`, every
    /// process) of a created or running container.
    pub fn kill(&self, id: &str, signo: i32, all: bool) -> Result<()> {
        let cd = self.dir(id)?;
        let st = cd.load()?;
        transition(&st, st.effective_status(), Action::Kill)?;
        match client(&st)?.call(&Request::Signal { signo, all }, &[]) {
            Ok(Response::Ok) => Ok(()),
            Ok(other) => Err(protocol(id, "Signal", other)),
            Err(source) => Err(Error::Control { id: id.into(), source }),
        }
    }

    /// `moat state`: the record, with its effective status.
    pub fn state(&self, id: &str) -> Result<State> {
        self.dir(id)?.load()
    }

    /// `moat list`.
    pub fn list(&self) -> Result<Vec<State>> {
        state::list(&self.root)
    }

    /// `moat delete [--force]`. Without `force`, only a stopped container
    /// can be deleted and an unknown id is an error; with it, whatever
    /// runs is killed first and an unknown id is not an error.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let cd = self.dir(id)?;
        let lock = match cd.lock() {
            Err(Error::NotFound(_)) if force => return Ok(()),
            r => r?,
        };
        let st = match cd.load() {
            Ok(st) => st,
            // A record that cannot be read: only --force may clean it up.
            Err(_) if force => return cd.remove(),
            Err(e) => return Err(e),
        };
        let status = effective(&st, &lock);
        let action = if force { Action::ForceDelete } else { Action::Delete };
        if check(status, action).is_none() {
            return Err(if status.sandbox_expected() || status == Status::Creating {
                Error::StillRunning(id.into(), status)
            } else {
                Error::WrongStatus { id: id.into(), action, status }
            });
        }
        for (what, p) in [("sandbox", st.sandbox()), ("gofer", st.gofer())] {
            if !p.kill_and_wait(KILL_TIMEOUT) {
                return Err(Error::Sys {
                    what: format!("container {id}: the {what} (pid {}) did not die", p.pid),
                    source: std::io::Error::from(std::io::ErrorKind::TimedOut),
                });
            }
        }
        if let Some(cg) = &st.cgroup {
            cg.destroy().map_err(|e| Error::Sys {
                what: format!("container {id}: its cgroup could not be removed ({e}); run delete again"),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        cd.remove()?;
        drop(lock);
        hooks::run_and_warn(Stage::Poststop, st.hooks.as_ref(), &st.oci_as(Status::Stopped, st.sandbox_pid));
        Ok(())
    }

    /// For `moat run`: waits for the sandbox (our child) to exit, records
    /// the container as stopped and returns the init's shell status.
    /// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received
    /// meanwhile are forwarded to the container.
    pub fn wait_child(&self, id: &str) -> Result<i32> {
        let cd = self.dir(id)?;
        let st = cd.load()?;
        forward_signals(&st, None);
        let pid = Pid::from_raw(st.sandbox_pid);
        let boot_status = loop {
            match waitpid(pid, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(WaitStatus::Exited(_, c)) => break Some(ExitStatus::Code(c)),
                Ok(WaitStatus::Signaled(_, s, _)) => break Some(ExitStatus::Signal(s as i32)),
                Ok(_) => continue,
                Err(e) => return Err(Error::sys(format!("waiting for the sandbox of {id} (pid {pid})"))(e)),
            }
        };
        let code = read_exit_file(&st.exit_file).or(boot_status).map(ExitStatus::shell_code).unwrap_or(255);
        // The gofer ends when the sandbox hangs up; reap it either way.
        sandbox::reap(st.gofer_pid, Duration::from_secs(1));
        let lock = cd.lock()?;
        let mut st = cd.load()?;
        if let Some(to) = check(st.status, Action::Exit) {
            st.status = to;
            cd.save(&st, &lock)?;
        }
        Ok(code)
    }
}

/// The status with the lock held: a record still saying `creating` whose
/// creator is gone (we could take its lock) is stopped.
fn effective(st: &State, _lock: &Lock) -> Status {
    if st.status == Status::Creating {
        Status::Stopped
    } else {
        st.effective_status()
    }
}

pub(crate) fn transition(st: &State, status: Status, action: Action) -> Result<Status> {
    check(status, action).ok_or_else(|| Error::WrongStatus { id: st.id.clone(), action, status })
}

pub(crate) fn client(st: &State) -> Result<Client> {
    Client::connect(&st.control_socket).map_err(|source| Error::Control { id: st.id.clone(), source })
}

pub(crate) fn protocol(id: &str, request: &'static str, answer: Response) -> Error {
    Error::Protocol { id: id.into(), request, answer: format!("{answer:?}") }
}

fn kill_all(st: &State) {
    st.sandbox().kill_and_wait(KILL_TIMEOUT);
    st.gofer().kill_and_wait(KILL_TIMEOUT);
    let _ = waitpid(Pid::from_raw(st.sandbox_pid), None);
    let _ = waitpid(Pid::from_raw(st.gofer_pid), None);
}

/// The init's exit as the sandbox recorded it, if it did.
pub fn read_exit_file(path: &Path) -> Option<ExitStatus> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn owner() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

/// Blocks the forwarded signals in this thread (and the threads it will
/// start) and forwards them from a helper thread to the container's init,
/// or to process `pid` of the container (an exec'd one).
pub(crate) fn forward_signals(st: &State, pid: Option<i32>) {
    let set = forwarded_signals();
    if set.thread_block().is_err() {
        return;
    }
    let st = st.clone();
    std::thread::spawn(move || loop {
        let Ok(sig) = set.wait() else { return };
        tracing::debug!(id = %st.id, ?sig, "forwarding signal");
        match client(&st).and_then(|mut c| {
            let req = match pid {
                Some(pid) => Request::SignalProcess { pid, signo: sig as i32 },
                None => Request::Signal { signo: sig as i32, all: false },
            };
            c.call(&req, &[]).map_err(|source| Error::Control { id: st.id.clone(), source })
        }) {
            Ok(_) => {}
            Err(e) => tracing::warn!("cannot forward {sig}: {e}"),
        }
    });
}

/// The signals `run` and `exec` forward to the container.
pub(crate) fn forwarded_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT, Signal::SIGUSR1, Signal::SIGUSR2] {
        set.add(s);
    }
    set
}

/// Is `p` (recorded in a state) still running? For callers outside.
pub fn alive(p: Proc) -> bool {
    p.alive()
}
