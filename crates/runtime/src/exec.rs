//! What `moat exec|ps|pause|resume|wait` do, as library calls (gVisor:
//! `Container.Execute`, `Processes`, `Pause`, `Resume`, `Wait*` in
//! `runsc/container/container.go`).
//!
//! `exec` builds the whole process here, from the container's own
//! `process` in config.json (env, cwd, user) and the command line, as runc
//! does, or from a `--process` file; the sandbox only starts it. The
//! caller's stdin, stdout and stderr travel with the request (SCM_RIGHTS)
//! and become the new process's fds 0, 1 and 2.

use crate::container::{client, forward_signals, forwarded_signals, protocol, read_exit_file, transition, Runtime};
use crate::error::{Error, Result};
use crate::state::{write_atomic, State};
use crate::status::Action;
use control::{Client, ExecSpec, ExitStatus, ProcessInfo, Request, Response};
use oci_spec::runtime::Process;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The command line of `moat exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    /// `--process`: a JSON file holding an OCI `process`, used as it is.
    pub process: Option<PathBuf>,
    /// The command and its arguments.
    pub args: Vec<String>,
    pub cwd: Option<String>,
    /// `KEY=VALUE`, replacing the container's value of KEY or added.
    pub env: Vec<String>,
    /// `--user UID[:GID]`.
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    /// `--tty`: the process gets a terminal (with `--process`, the file's
    /// `terminal` says so instead).
    pub tty: bool,
    /// `--console-socket`: where the terminal's master goes.
    pub console_socket: Option<PathBuf>,
}

/// How a `moat exec` ended, for the command to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecOutcome {
    /// Detached: the pid of the process inside the sandbox.
    Started(i32),
    /// Waited for: how the process ended.
    Exited(ExitStatus),
}

impl Runtime {
    /// `moat exec`. With `detach` it returns once the process runs;
    /// otherwise when it has exited. The pid file gets the pid of a host
    /// process that lives as long as the new process and exits with its
    /// status, as runsc does: this `moat exec` itself, or with `detach` a
    /// `moat wait --pid` started for the purpose.
    pub fn exec(&self, id: &str, opts: &ExecOpts) -> Result<ExecOutcome> {
        let cd = self.dir(id)?;
        let st = cd.load()?;
        transition(&st, st.effective_status(), Action::Exec)?;
        let spec = exec_spec(&st, opts)?;
        crate::console::check(spec.terminal, opts.detach, opts.console_socket.as_deref())?;
        // With a terminal, the slave also goes to the helper that takes it
        // as its controlling terminal (see `spawn_waiter`).
        let mut terminal = None;
        let mut foreground = None;
        let stdio = match &opts.console_socket {
            None if spec.terminal => {
                let (fg, slave) = crate::console::Foreground::start()?;
                foreground = Some(fg);
                let copy = || slave.try_clone().map_err(Error::sys("duplicate the terminal's slave"));
                let fds = vec![copy()?, copy()?, copy()?];
                terminal = Some(slave);
                fds
            }
            Some(socket) if spec.terminal => {
                let slave = crate::console::setup(socket, None)?;
                let copy = || slave.try_clone().map_err(Error::sys("duplicate the terminal's slave"));
                let fds = vec![copy()?, copy()?, copy()?];
                terminal = Some(slave);
                fds
            }
            _ => stdio()?,
        };
        let mut c = client(&st)?;
        if !opts.detach {
            // Held from before the process exists, so none is lost before
            // forwarding starts.
            let _ = forwarded_signals().thread_block();
        }
        let pid = match c.call(&Request::Exec(Box::new(spec)), &stdio) {
            Ok(Response::Pid(pid)) => pid,
            Ok(other) => return Err(protocol(id, "Exec", other)),
            Err(source) => return Err(Error::Control { id: id.into(), source }),
        };
        drop(stdio);
        tracing::debug!(id, pid, "exec'd process started");
        if opts.detach {
            if opts.pid_file.is_some() || terminal.is_some() {
                let waiter = self.spawn_waiter(id, pid, terminal.as_ref())?;
                if let Some(pid_file) = &opts.pid_file {
                    write_atomic(&absolute(pid_file), waiter.to_string().as_bytes())?;
                }
            }
            return Ok(ExecOutcome::Started(pid));
        }
        if let Some(pid_file) = &opts.pid_file {
            write_atomic(&absolute(pid_file), std::process::id().to_string().as_bytes())?;
        }
        // The terminal's signals: its host session is led by a waiter, as
        // for a detached exec (this process cannot lead one: it is its
        // shell's job).
        if let Some(t) = &terminal {
            self.spawn_waiter(id, pid, Some(t))?;
        }
        drop(terminal);
        // As runc does: signals to `moat exec` go to the process.
        forward_signals(&st, Some(pid));
        let status = wait_pid_on(&mut c, id, pid);
        if let Some(fg) = foreground {
            fg.finish();
        }
        status.map(ExecOutcome::Exited)
    }

    /// `moat wait --pid PID`: how a process started by `exec` ended. With
    /// `terminal`, the caller leads the session of the process's host
    /// terminal: the signals that terminal sends it go on to the
    /// terminal's foreground group inside (see `spawn_waiter`).
    pub fn wait_pid(&self, id: &str, pid: i32, terminal: bool) -> Result<ExitStatus> {
        let st = self.dir(id)?.load()?;
        if terminal {
            forward_terminal_signals(&st, pid)?;
        }
        wait_pid_on(&mut client(&st)?, id, pid)
    }

    /// `moat wait`: how the container's init ended, once it has.
    pub fn wait(&self, id: &str) -> Result<ExitStatus> {
        let st = self.dir(id)?.load()?;
        let no_status = || Error::Sys {
            what: format!("container {id}: the sandbox is gone and left no exit status in {}", st.exit_file.display()),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        if !st.effective_status().sandbox_expected() {
            return read_exit_file(&st.exit_file).ok_or_else(no_status);
        }
        match client(&st)
            .and_then(|mut c| c.call(&Request::Wait, &[]).map_err(|source| Error::Control { id: id.into(), source }))
        {
            Ok(Response::Exited(status)) => Ok(status),
            Ok(other) => Err(protocol(id, "Wait", other)),
            // The sandbox may have ended between the two looks.
            Err(e) => read_exit_file(&st.exit_file).ok_or(e),
        }
    }

    /// `moat ps`: the container's processes as its kernel sees them.
    pub fn ps(&self, id: &str) -> Result<Vec<ProcessInfo>> {
        let st = self.dir(id)?.load()?;
        transition(&st, st.effective_status(), Action::Ps)?;
        match client(&st)?.call(&Request::Processes, &[]) {
            Ok(Response::Processes(list)) => Ok(list),
            Ok(other) => Err(protocol(id, "Processes", other)),
            Err(source) => Err(Error::Control { id: id.into(), source }),
        }
    }

    /// `moat ps --format json`: the host processes that run the container,
    /// as runc lists them (tools such as `docker top` look them up in the
    /// host's process table): the sandbox process and its stubs, one per
    /// address space of the container.
    pub fn host_pids(&self, id: &str) -> Result<Vec<i32>> {
        let st = self.dir(id)?.load()?;
        transition(&st, st.effective_status(), Action::Ps)?;
        Ok(crate::procs::descendants(st.sandbox_pid))
    }

    /// `moat pause`: no task of the container runs application code until
    /// `resume`.
    pub fn pause(&self, id: &str) -> Result<()> {
        self.pause_resume(id, Action::Pause, Request::Pause)
    }

    /// `moat resume`.
    pub fn resume(&self, id: &str) -> Result<()> {
        self.pause_resume(id, Action::Resume, Request::Resume)
    }

    fn pause_resume(&self, id: &str, action: Action, req: Request) -> Result<()> {
        let cd = self.dir(id)?;
        let lock = cd.lock()?;
        let mut st = cd.load()?;
        let to = transition(&st, st.effective_status(), action)?;
        let name = if action == Action::Pause { "Pause" } else { "Resume" };
        match client(&st)?.call(&req, &[]) {
            Ok(Response::Ok) => {}
            Ok(other) => return Err(protocol(id, name, other)),
            Err(source) => return Err(Error::Control { id: id.into(), source }),
        }
        st.status = to;
        cd.save(&st, &lock)
    }

    /// Starts `moat wait --pid PID ID` in the background (for a detached
    /// exec's pid file) and returns its host pid. With the exec'd
    /// process's `terminal` (a host pty slave), the waiter leads a session
    /// with it as controlling terminal, so that what the host's line
    /// discipline sends (^C, ^\, ^Z, a resize, a hangup) reaches it, and
    /// forwards that to the terminal's foreground group inside
    /// (`--terminal`): the sandbox can have only one controlling terminal
    /// of its own, the console.
    fn spawn_waiter(&self, id: &str, pid: i32, terminal: Option<&OwnedFd>) -> Result<i32> {
        let exe = self.exe.to_string_lossy().into_owned();
        let mut args = vec![format!("--root={}", self.root.display())];
        if let Some(log) = &self.log {
            args.push(format!("--log={}", log.display()));
            args.push(format!("--log-format={}", self.log_format));
        }
        if self.debug {
            args.push("--debug".into());
        }
        args.extend(["wait".into(), format!("--pid={pid}")]);
        if terminal.is_some() {
            args.push("--terminal".into());
        }
        args.push(id.into());
        let devnull = std::fs::File::open("/dev/null").map_err(Error::io("open", Path::new("/dev/null")))?;
        let mut s = hostsys::process::Spawn::new(&exe, &args).map_err(Error::sys("the waiter's command line"))?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&devnull);
        s.fds = vec![(fd, 0), (fd, 1), (fd, 2)];
        if let Some(t) = terminal {
            s.fds[0] = (std::os::fd::AsRawFd::as_raw_fd(t), 0);
            s.controlling_tty = true;
        }
        hostsys::process::spawn(&s).map_err(Error::sys(format!("container {id}: starting a waiter for process {pid}")))
    }
}

/// What a host terminal's line discipline sends its session: forwarded.
fn terminal_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::Signal;
    [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP, Signal::SIGWINCH, Signal::SIGHUP].into_iter().collect()
}

fn forward_terminal_signals(st: &State, pid: i32) -> Result<()> {
    let set = terminal_signals();
    set.thread_block().map_err(Error::sys("block the terminal's signals"))?;
    let st = st.clone();
    std::thread::spawn(move || loop {
        let Ok(sig) = set.wait() else { return };
        tracing::debug!(id = %st.id, pid, ?sig, "forwarding a terminal signal");
        let req = Request::SignalTerminal { pid, signo: sig as i32 };
        if let Err(e) = client(&st)
            .and_then(|mut c| c.call(&req, &[]).map_err(|source| Error::Control { id: st.id.clone(), source }))
        {
            tracing::warn!("cannot forward {sig} to the terminal of process {pid}: {e}");
        }
    });
    Ok(())
}

fn wait_pid_on(c: &mut Client, id: &str, pid: i32) -> Result<ExitStatus> {
    match c.call(&Request::WaitPid { pid }, &[]) {
        Ok(Response::Exited(status)) => Ok(status),
        Ok(other) => Err(protocol(id, "WaitPid", other)),
        Err(source) => Err(Error::Control { id: id.into(), source }),
    }
}

/// Copies of this process's stdin, stdout and stderr (`/dev/null` for one
/// that is closed).
fn stdio() -> Result<Vec<OwnedFd>> {
    let dup = |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned();
    let null = || -> Result<OwnedFd> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(Error::io("open", Path::new("/dev/null")))?;
        Ok(f.into())
    };
    let fds = [dup(std::io::stdin().as_fd()), dup(std::io::stdout().as_fd()), dup(std::io::stderr().as_fd())];
    fds.into_iter().map(|r| r.or_else(|_| null())).collect()
}

/// The process to start: the `--process` file as it is, or the
/// container's `process` with the command line's changes.
pub fn exec_spec(st: &State, opts: &ExecOpts) -> Result<ExecSpec> {
    let (process, source) = match &opts.process {
        Some(path) => {
            if !opts.args.is_empty() || opts.cwd.is_some() || !opts.env.is_empty() || opts.user.is_some() {
                return Err(Error::Usage(
                    "--process cannot be combined with a command, --cwd, --env or --user: the file describes the \
                     whole process"
                        .into(),
                ));
            }
            let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
            let p: Process = serde_json::from_str(&text).map_err(|e| Error::Spec {
                path: path.clone(),
                message: format!("not an OCI process (invalid JSON or field): {e}"),
            })?;
            (p, path.clone())
        }
        None => {
            if opts.args.is_empty() {
                return Err(Error::Usage("exec needs a command to run (after the container id) or --process".into()));
            }
            let p = st.process.clone().ok_or_else(|| {
                Error::Usage(format!(
                    "container {}: its record holds no process to take defaults from (created by an older moat); \
                 use --process",
                    st.id
                ))
            })?;
            (p, st.bundle.join("config.json"))
        }
    };
    let terminal = if opts.process.is_some() { process.terminal().unwrap_or(false) } else { opts.tty };
    let mut args = process.args().clone().unwrap_or_default();
    let mut env = process.env().clone().unwrap_or_default();
    let mut cwd = process.cwd().display().to_string();
    let (mut uid, mut gid) = (process.user().uid(), process.user().gid());
    let mut additional_gids = process.user().additional_gids().clone().unwrap_or_default();
    if opts.process.is_none() {
        args = opts.args.clone();
        for kv in &opts.env {
            let Some((key, _)) = kv.split_once('=') else {
                return Err(Error::Usage(format!("--env {kv:?}: expected KEY=VALUE")));
            };
            env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
            env.push(kv.clone());
        }
        if let Some(d) = &opts.cwd {
            cwd = d.clone();
        }
        if let Some(u) = &opts.user {
            (uid, gid) = parse_user(u, gid)?;
        }
        additional_gids.extend(&opts.additional_gids);
    }
    if args.is_empty() {
        return Err(Error::Spec { path: source, message: "\"args\" is missing or empty".into() });
    }
    if !cwd.starts_with('/') {
        return Err(Error::Usage(format!("the working directory {cwd:?} is not an absolute path")));
    }
    let names = |s: &Option<oci_spec::runtime::Capabilities>| -> Vec<String> {
        s.iter().flatten().map(|c| c.to_string()).collect()
    };
    let capabilities = process.capabilities().as_ref().map(|c| control::CapabilityNames {
        effective: names(c.effective()),
        permitted: names(c.permitted()),
        inheritable: names(c.inheritable()),
        bounding: names(c.bounding()),
        ambient: names(c.ambient()),
    });
    Ok(ExecSpec { args, env, cwd, uid, gid, additional_gids, terminal, capabilities })
}

/// `UID[:GID]`, numeric, as runc takes it; the gid stays `gid` if absent.
fn parse_user(u: &str, gid: u32) -> Result<(u32, u32)> {
    let num = |s: &str| {
        s.parse::<u32>().map_err(|_| Error::Usage(format!("--user {u:?}: expected UID[:GID] with numeric ids")))
    };
    match u.split_once(':') {
        Some((a, b)) => Ok((num(a)?, num(b)?)),
        None => Ok((num(u)?, gid)),
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert_eq!(parse_user("1000", 7).unwrap(), (1000, 7));
        assert_eq!(parse_user("1:2", 7).unwrap(), (1, 2));
        assert!(parse_user("root", 0).is_err());
        assert!(parse_user("1:", 0).is_err());
    }

    #[test]
    fn process_file_excludes_flags() {
        let opts = ExecOpts { process: Some("/nonexistent".into()), args: vec!["sh".into()], ..Default::default() };
        let e = exec_spec(&crate::state::tests::sample("c"), &opts).unwrap_err();
        assert!(e.to_string().contains("--process cannot be combined"), "{e}");
    }

    #[test]
    fn process_file_is_used_as_it_is() {
        let dir = std::env::temp_dir().join(format!("moat-exec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.json");
        std::fs::write(&path, r#"{"args":["/bin/true"],"cwd":"/tmp","env":["A=1"],"user":{"uid":5,"gid":6}}"#).unwrap();
        let opts = ExecOpts { process: Some(path.clone()), ..Default::default() };
        let s = exec_spec(&crate::state::tests::sample("c"), &opts).unwrap();
        assert_eq!(
            (s.args, s.cwd, s.env, s.uid, s.gid),
            (vec!["/bin/true".into()], "/tmp".into(), vec!["A=1".into()], 5, 6)
        );
        std::fs::write(&path, r#"{"args":["/bin/true"],"cwd":"/","terminal":true,"user":{"uid":0,"gid":0}}"#).unwrap();
        assert!(exec_spec(&crate::state::tests::sample("c"), &opts).unwrap().terminal);
        std::fs::write(&path, "{").unwrap();
        let e = exec_spec(&crate::state::tests::sample("c"), &opts).unwrap_err();
        assert!(e.to_string().contains("p.json") && e.to_string().contains("not an OCI process"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
