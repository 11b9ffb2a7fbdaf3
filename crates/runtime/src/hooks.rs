//! OCI lifecycle hooks (runtime-spec `config.md`, "POSIX-platform Hooks";
//! gVisor: `runsc/specutils` `executeHooks`).
//!
//! Every hook runs in the runtime's namespaces with exactly the spec's
//! `args` and `env`, the container's OCI state as JSON on its standard
//! input, and its own `timeout`. `prestart` and `createRuntime` run at
//! create, once the sandbox (and so the container's namespaces) exists and
//! before the application starts: a failure fails the create. `poststart`
//! runs once the application was started and `poststop` once the container
//! is deleted: their failures are logged and the lifecycle goes on.
//! `createContainer` and `startContainer` would run inside the container's
//! namespaces, which in moat belong to the sandbox's own kernel: like runsc,
//! moat does not run them, and refuses a spec that has any.

use crate::error::{Error, Result};
use oci_spec::runtime::{Hook, Hooks};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The points of the lifecycle that run hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    Poststart,
    Poststop,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }

    fn hooks(self, hooks: &Hooks) -> &[Hook] {
        #[allow(deprecated)] // prestart is deprecated in the spec, and still what Docker uses.
        let list = match self {
            Stage::Prestart => hooks.prestart(),
            Stage::CreateRuntime => hooks.create_runtime(),
            Stage::Poststart => hooks.poststart(),
            Stage::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

/// Refuses hooks moat cannot run (see the module comment).
pub fn check_supported(hooks: Option<&Hooks>, config: &std::path::Path) -> Result<()> {
    let Some(h) = hooks else { return Ok(()) };
    for (name, list) in [("createContainer", h.create_container()), ("startContainer", h.start_container())] {
        if list.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(Error::Unsupported(format!(
                "{name} hooks (hooks.{name} in {}; they would run inside the sandbox's kernel) are",
                config.display()
            )));
        }
    }
    Ok(())
}

/// Runs the hooks of `stage` in order, each with `state` (the OCI state
/// JSON) on its standard input. Stops at the first failure.
pub fn run(stage: Stage, hooks: Option<&Hooks>, state: &serde_json::Value) -> Result<()> {
    let Some(hooks) = hooks else { return Ok(()) };
    let input = state.to_string();
    for (i, hook) in stage.hooks(hooks).iter().enumerate() {
        run_one(hook, &input).map_err(|message| Error::Hook {
            stage: stage.name(),
            index: i,
            path: hook.path().display().to_string(),
            message,
        })?;
    }
    Ok(())
}

/// Runs the hooks of a stage whose failures do not stop the lifecycle
/// (`poststart`, `poststop`): a failure is logged as a warning.
pub fn run_and_warn(stage: Stage, hooks: Option<&Hooks>, state: &serde_json::Value) {
    if let Err(e) = run(stage, hooks, state) {
        tracing::warn!("{e}");
        eprintln!("moat: warning: {e}");
    }
}

fn run_one(hook: &Hook, input: &str) -> std::result::Result<(), String> {
    let timeout = match hook.timeout() {
        Some(t) if t <= 0 => return Err(format!("timeout {t} must be positive")),
        Some(t) => Some(Duration::from_secs(t as u64)),
        None => None,
    };
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((arg0, rest)) = args.split_first() {
            cmd.arg0(arg0).args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        match kv.split_once('=') {
            Some((k, v)) => cmd.env(k, v),
            None => return Err(format!("env entry {kv:?} has no '='")),
        };
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    // A hook need not read its input. moat runs with SIGPIPE's default
    // action (for `| head`), so the state is written from a thread that
    // blocks SIGPIPE: a hook gone early costs that thread an EPIPE (its
    // pending SIGPIPE goes with it), not moat its life.
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_string();
        let writer = std::thread::spawn(move || {
            let mut pipe = nix::sys::signal::SigSet::empty();
            pipe.add(nix::sys::signal::Signal::SIGPIPE);
            if pipe.thread_block().is_ok() {
                let _ = stdin.write_all(input.as_bytes());
            }
        });
        let _ = writer.join();
    }
    // Collect what it prints, for the error message, without waiting on
    // descendants that keep the pipes open.
    let (tx, rx) = std::sync::mpsc::channel();
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut text);
        }
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut text);
        }
        let _ = tx.send(String::from_utf8_lossy(&text).trim().to_string());
    });
    match wait_timeout(&mut child, timeout)? {
        Some(s) if s.success() => Ok(()),
        Some(s) => {
            let printed = rx.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
            Err(if printed.is_empty() { format!("{s}") } else { format!("{s}; it printed: {printed}") })
        }
        None => Err(format!("timed out after {}s and was killed", timeout.unwrap_or_default().as_secs())),
    }
}

/// Waits for `child`, killing it once `timeout` passes (`None` when it was
/// killed). Polls with a backoff from 1 ms: hooks are short and rare.
fn wait_timeout(
    child: &mut std::process::Child,
    timeout: Option<Duration>,
) -> std::result::Result<Option<std::process::ExitStatus>, String> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some).map_err(|e| format!("cannot wait for it: {e}"));
    };
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(s) = child.try_wait().map_err(|e| format!("cannot wait for it: {e}"))? {
            return Ok(Some(s));
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{HookBuilder, HooksBuilder};

    fn hook(args: &[&str], timeout: Option<i64>) -> Hook {
        let mut b = HookBuilder::default()
            .path("/bin/sh")
            .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .env(vec!["GREETING=hello".to_string()]);
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        b.build().unwrap()
    }

    #[test]
    fn hooks_get_the_state_on_stdin_and_only_their_env() {
        let dir = std::env::temp_dir().join(format!("moat-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let script = format!("cat > {0}; echo \"$0 $GREETING ${{HOME:-nohome}}\" >> {0}", out.display());
        let hooks = HooksBuilder::default().poststart(vec![hook(&["myhook", "-c", &script], Some(5))]).build().unwrap();
        run(Stage::Poststart, Some(&hooks), &serde_json::json!({"id": "c1"})).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, "{\"id\":\"c1\"}myhook hello nohome\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_hook_is_named_with_its_output() {
        let hooks = HooksBuilder::default()
            .create_runtime(vec![hook(&["sh", "-c", "true"], None), hook(&["sh", "-c", "echo nope; exit 3"], None)])
            .build()
            .unwrap();
        let e = run(Stage::CreateRuntime, Some(&hooks), &serde_json::json!({})).unwrap_err().to_string();
        assert!(e.contains("createRuntime hook 1 (/bin/sh)"), "{e}");
        assert!(e.contains("exit status: 3") && e.contains("nope"), "{e}");
    }

    #[test]
    fn a_hook_past_its_timeout_is_killed() {
        let hooks = HooksBuilder::default().prestart(vec![hook(&["sh", "-c", "sleep 30"], Some(1))]).build().unwrap();
        let t = Instant::now();
        let e = run(Stage::Prestart, Some(&hooks), &serde_json::json!({})).unwrap_err().to_string();
        assert!(e.contains("timed out after 1s"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn a_hook_that_reads_nothing_costs_no_sigpipe() {
        // As in moat itself: SIGPIPE kills unless blocked.
        hostsys::process::default_sigpipe();
        let big = serde_json::json!({ "pad": "x".repeat(1 << 20) });
        let hooks = HooksBuilder::default()
            .poststop(vec![HookBuilder::default().path("/bin/true").build().unwrap()])
            .build()
            .unwrap();
        run(Stage::Poststop, Some(&hooks), &big).unwrap();
    }

    #[test]
    fn container_namespace_hooks_are_refused() {
        let hooks = HooksBuilder::default().start_container(vec![hook(&["sh"], None)]).build().unwrap();
        let e = check_supported(Some(&hooks), std::path::Path::new("/b/config.json")).unwrap_err().to_string();
        assert!(e.contains("startContainer hooks") && e.contains("/b/config.json"), "{e}");
        assert!(check_supported(None, std::path::Path::new("x")).is_ok());
    }
}
