//! Drives the real `moat` binary with `--root` in a temporary directory.
//! Needs root (namespaces, mounts).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: PathBuf,
}

impl Env {
    fn new(tag: &str) -> Env {
        let dir = std::env::temp_dir().join(format!("moat-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bundle/rootfs")).unwrap();
        Env { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
    fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }
    fn moat(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_moat"))
            .arg("--root")
            .arg(self.root())
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.moat(args);
        assert!(out.status.success(), "moat {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
    fn err(&self, args: &[&str]) -> String {
        let out = self.moat(args);
        assert_eq!(out.status.code(), Some(1), "moat {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }
    fn spec(&self) {
        self.ok(&["spec", "--bundle", self.bundle().to_str().unwrap()]);
    }
    /// Container directories left under the root.
    fn leftovers(&self) -> Vec<String> {
        match std::fs::read_dir(self.root()) {
            Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => vec![],
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Pids of live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &Path) -> Vec<i32> {
    let needle = needle.to_string_lossy().into_owned();
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|s| s.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmd).contains(&needle) && pid != std::process::id() as i32 {
            found.push(pid);
        }
    }
    found
}

#[test]
fn spec_writes_once() {
    let env = Env::new("spec");
    env.spec();
    let text = std::fs::read_to_string(env.bundle().join("config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["root"]["path"], "rootfs");
    assert_eq!(v["process"]["terminal"], false);
    let e = env.err(&["spec", "--bundle", env.bundle().to_str().unwrap()]);
    assert!(e.contains("already exists"), "{e}");
}

#[test]
fn list_formats() {
    let env = Env::new("list");
    assert!(env.ok(&["list"]).starts_with("ID   PID   STATUS   BUNDLE   CREATED   OWNER"));
    assert_eq!(env.ok(&["list", "-q"]), "");
    assert_eq!(env.ok(&["list", "--format", "json"]).trim(), "[]");
}

#[test]
fn bad_ids_and_flags_are_refused() {
    let env = Env::new("ids");
    env.spec();
    for id in ["..", "a/b", "x y"] {
        let e = env.err(&["create", "--bundle", "bundle", id]);
        assert!(e.contains("invalid container id"), "{e}");
    }
    let e = env.err(&["--platform", "kvm", "list"]);
    assert!(e.contains("--platform=kvm") && e.contains("ptrace"), "{e}");
    let e = env.err(&["--network", "bridge", "list"]);
    assert!(e.contains("--network=bridge") && e.contains("unknown network mode"), "{e}");
    assert!(env.err(&["kill", "c", "NOPE"]).contains("invalid signal"));
    assert!(env.leftovers().is_empty());
}

#[test]
fn bad_bundles_leave_nothing_behind() {
    let env = Env::new("bundle");
    // Ids (and so cgroup paths) of their own: tests run in parallel.
    let id = format!("bad-{}", std::process::id());
    std::fs::write(env.bundle().join("config.json"), "{\n \"ociVersion\": 1,,\n}").unwrap();
    let e = env.err(&["create", "--bundle", "bundle", &id]);
    assert!(e.contains("config.json") && e.contains("line 2"), "{e}");
    std::fs::remove_file(env.bundle().join("config.json")).unwrap();
    env.spec();
    std::fs::remove_dir(env.bundle().join("rootfs")).unwrap();
    let e = env.err(&["create", "--bundle", "bundle", &id]);
    assert!(e.contains("rootfs") && e.contains("not an existing directory"), "{e}");
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.bundle().join("config.json")).unwrap()).unwrap();
    std::fs::create_dir(env.bundle().join("rootfs")).unwrap();
    spec["process"]["terminal"] = true.into();
    std::fs::write(env.bundle().join("config.json"), spec.to_string()).unwrap();
    let e = env.err(&["create", "--bundle", "bundle", "--console-socket", "/x.sock", &id]);
    assert!(e.contains("console socket /x.sock"), "{e}");
    let e = env.err(&["create", "--bundle", "bundle", &id]);
    assert!(e.contains("without --console-socket"), "{e}");
    assert!(env.leftovers().is_empty(), "{:?}", env.leftovers());
}

/// With the stub `boot`, create fails at the handshake; with the real one
/// it succeeds. Either way, after a failure or a forced delete nothing is
/// left: no state directory, no sandbox, no gofer.
#[test]
fn create_failure_or_delete_leaves_nothing() {
    let env = Env::new("create");
    let id = format!("create-{}", std::process::id());
    env.spec();
    let out = env.moat(&["create", "--bundle", "bundle", "--pid-file", "pid", &id]);
    if out.status.success() {
        let st: serde_json::Value = serde_json::from_str(&env.ok(&["state", &id])).unwrap();
        assert_eq!(st["status"], "created");
        let e = env.err(&["delete", &id]);
        assert!(e.contains(&format!("{id} is running; stop it or use --force")), "{e}");
        env.ok(&["delete", "--force", &id]);
    } else {
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(&format!("container {id}: the sandbox failed to start")), "{e}");
        assert!(!env.dir.join("pid").exists());
    }
    assert!(env.leftovers().is_empty(), "{:?}", env.leftovers());
    assert_eq!(processes_mentioning(&env.bundle()), Vec::<i32>::new());
}

/// A stopped container's record (as a crashed sandbox would leave it).
fn fake_stopped(env: &Env, id: &str) {
    let dir = env.root().join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let st = serde_json::json!({
        "id": id, "status": "running", "bundle": env.bundle(),
        "sandbox_pid": 0, "sandbox_start_time": 0, "gofer_pid": 0, "gofer_start_time": 0,
        "created": "2024-01-01T00:00:00.000000000Z", "annotations": {"a": "b"}, "owner": "root",
        "control_socket": dir.join("control.sock"), "exit_file": dir.join("exit"),
    });
    std::fs::write(dir.join("state.json"), st.to_string()).unwrap();
}

#[test]
fn lifecycle_of_a_stopped_container() {
    let env = Env::new("stopped");
    env.spec();
    fake_stopped(&env, "c1");
    let before = std::fs::read(env.root().join("c1/state.json")).unwrap();
    let e = env.err(&["create", "--bundle", "bundle", "c1"]);
    assert!(e.contains("container c1 already exists"), "{e}");
    assert_eq!(std::fs::read(env.root().join("c1/state.json")).unwrap(), before);

    let st: serde_json::Value = serde_json::from_str(&env.ok(&["state", "c1"])).unwrap();
    assert_eq!(st["status"], "stopped", "the sandbox is gone, so running means stopped");
    assert_eq!(st["pid"], 0);
    assert_eq!(st["annotations"]["a"], "b");
    assert!(st["ociVersion"].is_string() && st["bundle"].is_string());
    assert!(env.ok(&["list"]).lines().nth(1).unwrap().starts_with("c1   0     stopped"));
    assert_eq!(env.ok(&["list", "-q"]), "c1\n");

    assert!(env.err(&["start", "c1"]).contains("cannot start container c1: it is stopped"));
    assert!(env.err(&["kill", "c1", "KILL"]).contains("it is stopped"));
    env.ok(&["delete", "c1"]);
    assert!(env.leftovers().is_empty());
    assert!(env.err(&["delete", "c1"]).contains("container c1 does not exist"));
    assert!(env.err(&["state", "c1"]).contains("container c1 does not exist"));
    env.ok(&["delete", "--force", "c1"]);
}

/// With `--log-format json`, a failure is also logged as runc does it
/// (`{"level":"error","msg":...}`), which containerd's shim reads back to
/// say why the runtime failed.
#[test]
fn json_log_carries_the_error_as_runc_writes_it() {
    let env = Env::new("jsonlog");
    let log = env.dir.join("log.json");
    let e = env.err(&["--log", log.to_str().unwrap(), "--log-format", "json", "state", "ghost"]);
    assert!(e.contains("ghost"), "{e}");
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error", "{text}");
    assert!(last["msg"].as_str().unwrap().contains("container ghost does not exist"), "{text}");
    assert!(last["time"].is_string(), "{text}");
}
