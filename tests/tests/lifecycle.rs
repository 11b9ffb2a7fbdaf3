//! Container lifecycle through the runc-compatible CLI: run, create/start/
//! state/kill/delete, error paths, and the host-side confinement of the
//! sandbox process. Needs root, a built `moat` and `scripts/make-bundles`.
//! Bind mounts and terminals have their own targets (mounts.rs, terminals.rs).

mod common;

use std::fs;
use std::time::Duration;

use common::*;
use moat_tests::{pid_alive, proc_status, unique_name, wait_pid_gone, Bundle, Moat};

#[test]
fn run_echo_hello() {
    let moat = Moat::new();
    let out = moat.run_bundle(&Bundle::derive(&["/bin/busybox", "echo", "hello"]));
    out.assert_success();
    assert_eq!(out.stdout, "hello\n", "stdout of echo hello:\n{out}");
}

#[test]
fn run_base_bundle_as_built() {
    // The bundle exactly as scripts/make-bundles wrote it.
    let moat = Moat::new();
    let bundle = moat_tests::busybox_bundle();
    let id = unique_name("base");
    let out = moat.run(&["run", "--bundle", &bundle.to_string_lossy(), &id]);
    out.assert_success();
    assert_eq!(out.stdout, "hello\n", "stdout:\n{out}");
}

#[test]
fn run_exit_status_is_the_init_exit_code() {
    let moat = Moat::new();
    let out = moat.run_bundle(&Bundle::derive(&["/bin/sh", "-c", "exit 7"]));
    out.assert_exit(7);
}

#[test]
fn run_exit_status_of_signal_death_is_128_plus_signal() {
    // The init is SIGKILLed from outside with `moat kill` while `moat run`
    // waits for it. (`sh -c 'kill -9 $$'` would not do: the container init is
    // pid 1 of its pid namespace, and Linux drops signals it sends itself
    // with the default disposition, so it exits 0 under runc too.)
    let moat = Moat::new();
    let bundle = sleeper();
    let id = unique_name("sig");
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| moat.run(&["run", "--bundle", bundle.path_str(), &id]));
        let start = std::time::Instant::now();
        loop {
            let st = moat.run(&["state", &id]);
            if st.success() && st.stdout.contains("\"running\"") {
                break;
            }
            if run.is_finished() || start.elapsed() > DEADLINE {
                panic!("container {id} never reported running under `moat run`; last state:\n{st}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        moat.run(&["kill", &id, "KILL"]).assert_success();
        run.join().expect("run thread panicked")
    });
    out.assert_exit(128 + 9);
}

#[test]
fn uname_v_names_moat() {
    let moat = Moat::new();
    let out = moat.run_bundle(&Bundle::derive(&["/bin/uname", "-v"]));
    out.assert_success();
    assert!(out.stdout.contains("moat"), "`uname -v` should contain \"moat\":\n{out}");
}

#[test]
fn strace_logs_the_write_of_hello() {
    let moat = Moat::new();
    let bundle = Bundle::derive(&["/bin/busybox", "echo", "hello"]);
    let id = unique_name("strace");
    let out = moat.run_global(&["--strace"], &["run", "--bundle", bundle.path_str(), &id]);
    out.assert_success();
    assert_eq!(out.stdout, "hello\n", "stdout:\n{out}");
    let log = moat.log_contents();
    let found = log.lines().any(|l| l.contains(r#"write(1, "hello\n", 6)"#) && l.trim_end().ends_with("= 6"));
    assert!(
        found,
        "--strace log {} has no line with `write(1, \"hello\\n\", 6) = 6`:\n{}",
        moat.log_path().display(),
        moat.log_tail(60)
    );
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let moat = Moat::new();
    let bundle = Bundle::derive(&["/bin/true"]);
    let id = unique_name("keep");
    moat.run(&["run", "--bundle", bundle.path_str(), "--keep", &id]).assert_success();
    let st = moat.state(&id);
    assert_eq!(st["status"], "stopped", "state after run --keep:\n{st:#}");
    moat.run(&["delete", &id]).assert_success();
    assert!(moat.root_entries().is_empty(), "state left after delete: {:?}", moat.root_entries());
}

#[test]
fn run_without_keep_deletes_the_container() {
    let moat = Moat::new();
    let out = moat.run_bundle(&Bundle::derive(&["/bin/sh", "-c", "echo done"]));
    out.assert_success();
    assert_eq!(out.stdout, "done\n", "stdout:\n{out}");
    assert!(moat.root_entries().is_empty(), "state left after run: {:?}", moat.root_entries());
    assert!(moat.leftover_processes().is_empty(), "processes left: {:?}", moat.leftover_processes());
}

#[test]
fn create_gives_a_confined_sandbox() {
    let moat = Moat::new();
    let bundle = sleeper();
    let id = unique_name("c");
    let pid_file = moat.scratch().join("pid");
    moat.run(&["create", "--bundle", bundle.path_str(), "--pid-file", &pid_file.to_string_lossy(), &id])
        .assert_success();

    let st = moat.state(&id);
    assert_eq!(st["status"], "created", "state after create:\n{st:#}");
    assert_eq!(st["id"], id.as_str(), "state:\n{st:#}");
    assert!(st["ociVersion"].is_string(), "state lacks ociVersion:\n{st:#}");
    assert_eq!(st["bundle"], bundle.path_str(), "state bundle:\n{st:#}");
    let pid = st["pid"].as_i64().unwrap_or_else(|| panic!("no pid in state:\n{st:#}"));
    assert!(pid > 0, "pid {pid} in state:\n{st:#}");

    let from_file = fs::read_to_string(&pid_file).unwrap_or_else(|e| panic!("--pid-file {}: {e}", pid_file.display()));
    assert_eq!(from_file.trim(), pid.to_string(), "--pid-file disagrees with state");

    let status = proc_status(pid).unwrap_or_else(|| panic!("sandbox pid {pid} has no /proc entry"));
    let field = |k: &str| status.get(k).cloned().unwrap_or_else(|| format!("<no {k}>"));
    let uids: Vec<String> = field("Uid").split_whitespace().map(str::to_string).collect();
    assert!(
        uids.len() == 4 && uids.iter().all(|u| u == "65534"),
        "sandbox {pid} Uid (real, effective, saved, fs) should all be 65534: {uids:?}"
    );
    assert_eq!(field("CapEff"), "0000000000000000", "sandbox {pid} CapEff");
    assert_eq!(field("NoNewPrivs"), "1", "sandbox {pid} NoNewPrivs");
    assert_eq!(field("Seccomp"), "2", "sandbox {pid} Seccomp (2 = filter)");
}

#[test]
fn start_kill_delete() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = create(&moat, &bundle);

    moat.run(&["start", &id]).assert_success();
    moat.wait_status(&id, &["running", "stopped"], DEADLINE);

    moat.run(&["kill", &id, "KILL"]).assert_success();
    moat.wait_status(&id, &["stopped"], DEADLINE);

    moat.run(&["delete", &id]).assert_success();
    let st = moat.run(&["state", &id]);
    st.assert_failure();
    assert!(!moat.root().join(&id).exists(), "state dir {} still exists after delete", moat.root().join(&id).display());
    assert!(wait_pid_gone(pid as i32, DEADLINE), "sandbox pid {pid} still alive after delete");
}

#[test]
fn delete_force_removes_a_running_container() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = create(&moat, &bundle);
    moat.run(&["start", &id]).assert_success();
    moat.run(&["delete", "--force", &id]).assert_success();
    assert!(!moat.root().join(&id).exists(), "state dir left after delete --force");
    assert!(wait_pid_gone(pid as i32, DEADLINE), "sandbox pid {pid} still alive after delete --force");
}

#[test]
fn list_json_shows_the_container() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, _) = create(&moat, &bundle);
    let out = moat.run(&["list", "--format", "json"]);
    out.assert_success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("list --format json printed invalid JSON ({e}):\n{out}"));
    let ids: Vec<&str> = v
        .as_array()
        .unwrap_or_else(|| panic!("list --format json is not an array:\n{out}"))
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()], "list output:\n{out}");
}

#[test]
fn create_with_broken_config_fails_cleanly() {
    let moat = Moat::new();
    let bundle = Bundle::from_raw("{ \"ociVersion\": \"1.0.2\", \"process\": ");
    fails_naming(
        &moat,
        &["create", "--bundle", bundle.path_str(), &unique_name("broken")],
        "config.json",
        "stderr should name config.json",
    );
    assert_nothing_left(&moat);
}

#[test]
fn create_with_missing_rootfs_fails_cleanly() {
    let moat = Moat::new();
    let missing = moat.scratch().join("no-such-rootfs");
    let bundle = Bundle::with_rootfs(&missing, &["/bin/true"]);
    let out = moat.run(&["create", "--bundle", bundle.path_str(), &unique_name("norootfs")]);
    out.assert_failure();
    assert!(
        out.stderr.contains(&*missing.to_string_lossy()),
        "stderr should name the missing rootfs {}:\n{out}",
        missing.display()
    );
    assert_nothing_left(&moat);
}

#[test]
fn create_with_duplicate_id_fails_and_keeps_the_first() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = create(&moat, &bundle);
    fails_naming(
        &moat,
        &["create", "--bundle", bundle.path_str(), &id],
        &id,
        &format!("stderr should name the id {id}"),
    );
    let st = moat.state(&id);
    assert_eq!(st["status"], "created", "first container after duplicate create:\n{st:#}");
    assert_eq!(st["pid"].as_i64(), Some(pid), "first container's pid changed:\n{st:#}");
    assert!(pid_alive(pid as i32), "first container's sandbox {pid} died");
}

#[test]
fn create_with_invalid_id_fails() {
    let moat = Moat::new();
    let bundle = Bundle::derive(&["/bin/true"]);
    for id in ["../escape", "a/b", "", ".", "..", "has space"] {
        let out = moat.run(&["create", "--bundle", bundle.path_str(), id]);
        out.assert_failure();
        assert_nothing_left(&moat);
    }
    assert!(!moat.root().parent().unwrap().join("escape").exists(), "an invalid id created a directory outside --root");
}

#[test]
fn state_of_unknown_container_fails() {
    let moat = Moat::new();
    let id = unique_name("ghost");
    fails_naming(&moat, &["state", &id], &id, &format!("stderr should name the id {id}"));
}

#[test]
fn spec_writes_a_valid_config() {
    let moat = Moat::new();
    let dir = moat.scratch().join("spec");
    fs::create_dir_all(&dir).unwrap();
    let mut cmd = moat.command(&[]);
    cmd.arg("spec").current_dir(&dir);
    let out = moat_tests::run_cmd(&mut cmd, moat.timeout);
    out.assert_success();
    let raw = fs::read_to_string(dir.join("config.json"))
        .unwrap_or_else(|e| panic!("`moat spec` wrote no config.json ({e}):\n{out}"));
    let v: serde_json::Value =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("`moat spec` config.json invalid: {e}\n{raw}"));
    assert!(v["ociVersion"].is_string(), "no ociVersion in spec:\n{raw}");
    assert!(v["process"]["args"].is_array(), "no process.args in spec:\n{raw}");
}

#[test]
fn do_runs_a_host_program() {
    let moat = Moat::new();
    let out = moat.run(&["do", "--", "/bin/echo", "hi"]);
    out.assert_success();
    assert_eq!(out.stdout, "hi\n", "stdout:\n{out}");
}

#[test]
fn do_runs_a_static_host_program() {
    let moat = Moat::new();
    let out = moat.run(&["do", "--", "/bin/busybox", "echo", "hi"]);
    out.assert_success();
    assert_eq!(out.stdout, "hi\n", "stdout:\n{out}");
}

/// poll on the container's stdin when it is a host pipe: busybox's
/// `read -t` polls before reading, so a line written a little later is
/// read, and a silent stdin times out (the sentry re-polls host streams
/// while it waits, since nothing in the sandbox notifies it).
#[test]
fn poll_on_host_stdin_pipe() {
    use std::io::Write;
    use std::process::Stdio;
    let moat = Moat::new();
    let script = "read -t 0.2 x; echo timeout=$?; read -t 5 y && echo got $y";
    let bundle = Bundle::derive(&["/bin/busybox", "sh", "-c", script]);
    let id = unique_name("poll");
    let mut child = moat
        .command(&[])
        .args(["run", "--bundle", bundle.path_str(), &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn moat run");
    let mut stdin = child.stdin.take().expect("piped stdin");
    std::thread::sleep(Duration::from_millis(800));
    stdin.write_all(b"hi\n").expect("write to the container's stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for moat run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "moat run failed: {stdout}\n{}", moat.log_tail(40));
    let timed_out = stdout.lines().next().and_then(|l| l.strip_prefix("timeout=")).and_then(|v| v.parse::<i32>().ok());
    assert!(timed_out.is_some_and(|s| s != 0), "first read should time out:\n{stdout}");
    assert!(stdout.ends_with("got hi\n"), "second read should get the line:\n{stdout}");
}

// ---- exec, ps, pause/resume, kill --all, wait, features ----

/// A `moat` command running in the background, killed if the test ends
/// (or panics) before it has been waited for.
struct Background(std::process::Child);

impl Background {
    fn spawn(mut cmd: std::process::Command) -> Background {
        Background(cmd.stdin(std::process::Stdio::null()).spawn().expect("spawn moat"))
    }

    /// Its exit code, waiting at most `DEADLINE`.
    #[track_caller]
    fn code(&mut self) -> Option<i32> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.code();
            }
            assert!(start.elapsed() < DEADLINE, "the background moat command did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The container's pids, from the PID column of `moat ps`.
#[track_caller]
fn pids(moat: &Moat, id: &str) -> Vec<i64> {
    let out = moat.run(&["ps", id]);
    out.assert_success();
    out.stdout.lines().skip(1).map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap()).collect()
}

/// `ps --format json`: the host pids.
#[track_caller]
fn host_pids(moat: &Moat, id: &str) -> Vec<i64> {
    let out = moat.run(&["ps", "--format", "json", id]);
    out.assert_success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("ps json ({e}):\n{out}"));
    v.as_array()
        .unwrap_or_else(|| panic!("ps json is not a list:\n{out}"))
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect()
}

/// The spec's capabilities hold for the init and for exec'd processes:
/// runc's default spec keeps AUDIT_WRITE, KILL and NET_BIND_SERVICE only,
/// so setting the hostname (CAP_SYS_ADMIN) is refused.
#[test]
fn the_specs_capabilities_bound_the_container() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, _) = started(&moat, &bundle);
    let script =
        "grep -E '^Cap(Eff|Bnd)' /proc/self/status; hostname renamed 2>/dev/null && echo renamed || echo refused";
    let out = moat.run(&["exec", &id, "/bin/busybox", "sh", "-c", script]);
    out.assert_success();
    // (1 << 29) | (1 << 10) | (1 << 5)
    assert_eq!(out.stdout, "CapEff:\t0000000020000420\nCapBnd:\t0000000020000420\nrefused\n", "{out}");
    moat.run(&["delete", "--force", &id]).assert_success();
}

/// `moat exec` joins the init's mount namespace, as `runc exec` does: the
/// init unshared one and mounted a tmpfs in it, which the exec'd process
/// sees (and a process of the sandbox's first namespace would not).
#[test]
fn exec_joins_the_inits_mount_namespace() {
    let moat = Moat::new();
    let script = "/bin/busybox mount -t tmpfs none /tmp && echo private > /tmp/f && exec /bin/busybox sleep 1000";
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] =
            serde_json::json!(["/bin/busybox", "unshare", "-m", "/bin/busybox", "sh", "-c", script]);
        for set in ["bounding", "effective", "permitted"] {
            if let Some(caps) = spec["process"]["capabilities"][set].as_array_mut() {
                caps.push("CAP_SYS_ADMIN".into());
            }
        }
    });
    let (id, _) = started(&moat, &bundle);
    let start = std::time::Instant::now();
    let out = loop {
        let out = moat.run(&["exec", &id, "/bin/busybox", "cat", "/tmp/f"]);
        if out.success() || start.elapsed() > DEADLINE {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    out.assert_success();
    assert_eq!(out.stdout, "private\n", "{out}");
    moat.run(&["delete", "--force", &id]).assert_success();
}

#[test]
fn exec_runs_in_the_same_kernel_with_the_callers_stdio() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = started(&moat, &bundle);
    let out = moat.run(&["exec", &id, "/bin/busybox", "sh", "-c", "echo out $PPID; echo err >&2; exit 5"]);
    out.assert_exit(5);
    assert_eq!(out.stdout, "out 0\n", "an exec'd process has no parent inside:\n{out}");
    assert!(out.stderr.contains("err"), "stderr of the exec'd process:\n{out}");
    // Same file systems: a file written by one exec is read by the next,
    // and the init is there to see in the same pid namespace.
    moat.run(&["exec", &id, "/bin/busybox", "sh", "-c", "echo shared > /tmp/f"]).assert_success();
    let out = moat.run(&["exec", &id, "/bin/busybox", "sh", "-c", "cat /tmp/f; test -d /proc/1 && echo init"]);
    out.assert_success();
    assert_eq!(out.stdout, "shared\ninit\n", "{out}");
    // stdin too is the caller's.
    let mut cat = moat.command(&[]);
    cat.args(["exec", &id, "/bin/busybox", "cat"]);
    let mut cat = cat
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn moat exec cat");
    std::io::Write::write_all(&mut cat.stdin.take().unwrap(), b"through stdin\n").unwrap();
    let out = cat.wait_with_output().unwrap();
    assert!(out.status.success(), "moat exec cat failed");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n");
    // Killed by a signal: 128 + the signal, as a shell reports.
    moat.run(&["exec", &id, "/bin/busybox", "sh", "-c", "kill -9 $$"]).assert_exit(128 + 9);
    assert_eq!(pids(&moat, &id), [1], "exec'd processes must be reaped");
    delete_and_check_gone(&moat, &id, pid, true);
}

#[test]
fn exec_env_cwd_user_and_process_file() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = started(&moat, &bundle);
    let script = "echo $FOO $PATH; pwd; id -u; id -g";
    let out = moat.run(&[
        "exec",
        "--env",
        "FOO=bar",
        "--env",
        "PATH=/bin",
        "--cwd",
        "/tmp",
        "--user",
        "1000:1001",
        &id,
        "/bin/busybox",
        "sh",
        "-c",
        script,
    ]);
    out.assert_success();
    assert_eq!(out.stdout, "bar /bin\n/tmp\n1000\n1001\n", "{out}");
    let process = moat.scratch().join("process.json");
    let json = serde_json::json!({
        "args": ["/bin/busybox", "sh", "-c", "echo $X; pwd; id -u"],
        "env": ["X=from-file"], "cwd": "/dev", "user": {"uid": 7, "gid": 7},
    });
    fs::write(&process, json.to_string()).unwrap();
    let out = moat.run(&["exec", "--process", &process.to_string_lossy(), &id]);
    out.assert_success();
    assert_eq!(out.stdout, "from-file\n/dev\n7\n", "{out}");
    // --process describes the whole process: a command as well is refused.
    fails_naming(
        &moat,
        &["exec", "--process", &process.to_string_lossy(), &id, "/bin/true"],
        "--process",
        "the error should say so",
    );
    fs::write(&process, "{").unwrap();
    fails_naming(
        &moat,
        &["exec", "--process", &process.to_string_lossy(), &id],
        "process.json",
        "the error should name the file",
    );
    delete_and_check_gone(&moat, &id, pid, true);
}

#[test]
fn exec_errors_leave_nothing_behind() {
    let moat = Moat::new();
    let bundle = sleeper();
    let ghost = unique_name("ghost");
    let out = moat.run(&["exec", &ghost, "/bin/true"]);
    out.assert_failure();
    assert!(out.stderr.contains(&ghost) && out.stderr.contains("does not exist"), "{out}");

    let (id, pid) = create(&moat, &bundle);
    fails_naming(
        &moat,
        &["exec", &id, "/bin/busybox", "true"],
        "created",
        "exec before start must say the container is created",
    );
    moat.run(&["start", &id]).assert_success();
    fails_naming(&moat, &["start", &id], "running", "start twice");

    fails_naming(&moat, &["exec", &id, "/no/such/program"], "/no/such/program", "a missing executable must be named");
    fails_naming(
        &moat,
        &["exec", "--console-socket", "/nonexistent.sock", &id, "/bin/busybox", "true"],
        "without a terminal",
        "a console socket without --tty is refused, as runc does",
    );
    fails_naming(&moat, &["exec", &id], "command", "exec without a command");
    assert_eq!(pids(&moat, &id), [1], "failed execs must leave no process");
    assert_eq!(moat.state(&id)["status"], "running");

    moat.run(&["kill", &id, "KILL"]).assert_success();
    moat.wait_status(&id, &["stopped"], DEADLINE);
    fails_naming(&moat, &["exec", &id, "/bin/busybox", "true"], "stopped", "exec into a stopped container");
    fails_naming(&moat, &["ps", &id], "stopped", "ps of a stopped container");
    delete_and_check_gone(&moat, &id, pid, false);
}

#[test]
fn exec_detach_pid_file_names_a_host_waiter() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = started(&moat, &bundle);
    let pid_file = moat.scratch().join("exec.pid");
    moat.run(&["exec", "--detach", "--pid-file", &pid_file.to_string_lossy(), &id, "/bin/busybox", "sleep", "3"])
        .assert_success();
    let waiter: i32 = fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(pid_alive(waiter), "the waiter {waiter} in the pid file should live as long as the process");
    let inside = pids(&moat, &id);
    assert_eq!(inside.len(), 2, "ps after a detached exec: {inside:?}");
    assert!(wait_pid_gone(waiter, DEADLINE), "the waiter {waiter} outlived the process");
    assert_eq!(pids(&moat, &id), [1]);
    // The other way: `wait --pid` of a detached process reports its status.
    moat.run(&["exec", "--detach", &id, "/bin/busybox", "sh", "-c", "sleep 2; exit 4"]).assert_success();
    let p = *pids(&moat, &id).iter().find(|&&p| p != 1).expect("the detached process");
    let out = moat.run(&["wait", "--pid", &p.to_string(), &id]);
    out.assert_exit(4);
    assert!(out.stdout.contains("\"exitStatus\":4"), "{out}");
    delete_and_check_gone(&moat, &id, pid, true);
}

#[test]
fn ps_lists_the_sandboxs_processes() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = create(&moat, &bundle);
    assert_eq!(pids(&moat, &id), [1], "a created container has its init loaded");
    moat.run(&["start", &id]).assert_success();
    moat.run(&["exec", "--detach", &id, "/bin/busybox", "sleep", "1000"]).assert_success();
    let out = moat.run(&["ps", &id]);
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["UID", "PID", "PPID", "C", "STIME", "S", "TIME", "CMD"], "{out}");
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].ends_with("/bin/busybox sleep 1000"), "{out}");
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!((row[0], row[2]), ("0", "0"), "uid 0, no parent:\n{out}");
    // As runc: the host pids that run the container, the sandbox first,
    // then the stub template and a stub per address space (the init's and
    // the sleep's).
    // The stub template is made in the background: on a loaded machine it
    // may still be coming.
    let start = std::time::Instant::now();
    let mut host = host_pids(&moat, &id);
    while host.len() < 4 && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
        host = host_pids(&moat, &id);
    }
    assert_eq!(host[0], pid, "ps --format json starts with the sandbox: {host:?}");
    assert_eq!(host.len(), 4, "sandbox, template and two stubs: {host:?}");
    for p in &host {
        // In the sandbox's pid namespace: a host pid and an inner one.
        let status = fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap_or_default();
        assert_eq!(nspid.split_whitespace().count(), 3, "host pid {p} is not in the sandbox's pid namespace: {nspid}");
    }
    let out = moat.run(&["ps", &unique_name("ghost")]);
    out.assert_failure();
    delete_and_check_gone(&moat, &id, pid, true);
}

/// Lines written so far to `path`.
fn lines_in(path: &std::path::Path) -> usize {
    fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn pause_stops_every_process_and_resume_continues() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = started(&moat, &bundle);
    // A process whose output shows whether it runs (slowly: a busy loop
    // under ptrace would take a whole CPU from the rest of the suite).
    let counter = moat.scratch().join("counter");
    let file = fs::File::create(&counter).unwrap();
    let mut cmd = moat.command(&[]);
    cmd.args(["exec", "--detach", &id, "/bin/busybox", "sh", "-c", "while true; do echo x; usleep 20000; done"])
        .stdout(file);
    let status = cmd.status().unwrap();
    assert!(status.success(), "exec --detach of the counter failed");
    let start = std::time::Instant::now();
    while lines_in(&counter) == 0 {
        assert!(start.elapsed() < DEADLINE, "the counter never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    moat.run(&["pause", &id]).assert_success();
    assert_eq!(moat.state(&id)["status"], "paused");
    std::thread::sleep(Duration::from_millis(100));
    let before = lines_in(&counter);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines_in(&counter), before, "a paused container's process kept writing");

    // What a paused container allows and refuses.
    fails_naming(&moat, &["pause", &id], "paused", "pause twice");
    fails_naming(&moat, &["exec", &id, "/bin/busybox", "true"], "paused", "exec into a paused container");
    assert!(pids(&moat, &id).len() >= 2, "ps works while paused");
    fails_naming(&moat, &["delete", &id], "paused", "delete without --force");

    moat.run(&["resume", &id]).assert_success();
    assert_eq!(moat.state(&id)["status"], "running");
    let start = std::time::Instant::now();
    while lines_in(&counter) == before {
        assert!(start.elapsed() < DEADLINE, "the counter did not continue after resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    fails_naming(&moat, &["resume", &id], "running", "resume a running container");
    // A SIGKILL gets through to a paused container.
    moat.run(&["pause", &id]).assert_success();
    moat.run(&["kill", &id, "KILL"]).assert_success();
    moat.wait_status(&id, &["stopped"], DEADLINE);
    delete_and_check_gone(&moat, &id, pid, false);
}

#[test]
fn pause_of_created_or_stopped_fails_and_force_delete_of_paused_works() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = create(&moat, &bundle);
    fails_naming(&moat, &["pause", &id], "created", "pause before start");
    let out = moat.run(&["resume", &id]);
    out.assert_failure();
    moat.run(&["start", &id]).assert_success();
    moat.run(&["pause", &id]).assert_success();
    delete_and_check_gone(&moat, &id, pid, true);

    let id = unique_name("stopped");
    let bundle = Bundle::derive(&["/bin/true"]);
    moat.run(&["run", "--keep", "--bundle", bundle.path_str(), &id]).assert_success();
    fails_naming(&moat, &["pause", &id], "stopped", "pause a stopped container");
    fails_naming(&moat, &["pause", &unique_name("ghost")], "does not exist", "the error should say so");
    moat.run(&["delete", &id]).assert_success();
}

#[test]
fn kill_all_reaches_exec_processes() {
    let moat = Moat::new();
    // An init that survives SIGTERM, so the exec'd process can only die
    // of the signal if `--all` reached it.
    // (busybox sh execs its last command: the init becomes a sleep that
    // ignores SIGTERM.)
    let bundle = Bundle::derive(&["/bin/busybox", "sh", "-c", "trap '' TERM; sleep 1000"]);
    let (id, pid) = started(&moat, &bundle);
    let mut exec = moat.command(&[]);
    exec.args(["exec", &id, "/bin/busybox", "sleep", "1000"]);
    let mut exec = Background::spawn(exec);
    let start = std::time::Instant::now();
    while pids(&moat, &id).len() < 2 {
        assert!(start.elapsed() < DEADLINE, "the exec'd process never showed up");
        std::thread::sleep(Duration::from_millis(20));
    }
    moat.run(&["kill", &id, "TERM"]).assert_success();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(pids(&moat, &id).len(), 2, "kill without --all reaches the init only");
    // A waiting `moat exec` exits with its process's status.
    moat.run(&["kill", "--all", &id, "TERM"]).assert_success();
    assert_eq!(exec.code(), Some(128 + 15), "moat exec's status after kill --all TERM");
    assert_eq!(moat.state(&id)["status"], "running", "the init ignores TERM");
    moat.run(&["kill", "--all", &id, "KILL"]).assert_success();
    moat.wait_status(&id, &["stopped"], DEADLINE);
    delete_and_check_gone(&moat, &id, pid, false);
}

#[test]
fn wait_reports_the_init_status() {
    let moat = Moat::new();
    let bundle = Bundle::derive(&["/bin/busybox", "sh", "-c", "sleep 0.3; exit 3"]);
    let id = unique_name("wait");
    moat.run(&["run", "--detach", "--bundle", bundle.path_str(), &id]).assert_success();
    let out = moat.run(&["wait", &id]);
    out.assert_exit(3);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    assert_eq!((v["id"].as_str(), v["exitStatus"].as_i64()), (Some(id.as_str()), Some(3)), "{out}");
    // Again, once stopped: from the recorded status.
    moat.wait_status(&id, &["stopped"], DEADLINE);
    moat.run(&["wait", &id]).assert_exit(3);
    moat.run(&["delete", &id]).assert_success();
    fails_naming(&moat, &["wait", &id], "does not exist", "the error should say so");
}

#[test]
fn features_claims_only_what_is_done() {
    let moat = Moat::new();
    let out = moat.run(&["features"]);
    out.assert_success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    assert_eq!(v["ociVersionMin"], "1.0.0", "{out}");
    assert!(v["ociVersionMax"].is_string(), "{out}");
    assert_eq!(
        v["hooks"],
        serde_json::json!(["prestart", "createRuntime", "poststart", "poststop"]),
        "the hooks run (createContainer and startContainer are refused):\n{out}"
    );
    assert_eq!(v["linux"]["seccomp"]["enabled"], false, "{out}");
    assert_eq!(v["linux"]["cgroup"]["v1"], true, "{out}");
    assert_eq!(v["linux"]["cgroup"]["systemd"], false, "{out}");
}

/// `--systemd-cgroup` with systemd's `slice:prefix:name`: the container's
/// cgroup is where systemd would put the scope (this host runs no
/// systemd; moat makes the directories), and delete removes them all.
#[test]
fn systemd_cgroup_paths_name_the_scope() {
    let moat = Moat::new();
    // systemd nests a slice at each "-" of its name: none in ours.
    let top = unique_name("moattest").replace('-', "_");
    let bundle = with_resources(
        &["/bin/busybox", "sleep", "1000"],
        Some(&format!("{top}-x.slice:moat:ctr")),
        serde_json::json!({"pids": {"limit": 32}}),
    );
    let id = unique_name("sd");
    moat.run_global(&["--systemd-cgroup"], &["create", "--bundle", bundle.path_str(), &id]).assert_success();
    let inner = format!("/{top}.slice/{top}-x.slice/moat-ctr.scope");
    assert_eq!(read_cgroup("pids", &inner, "pids.max"), "32");
    let pid: i64 = read_cgroup("pids", &inner, "cgroup.procs").lines().next().unwrap().parse().unwrap();
    delete_and_check_gone(&moat, &id, pid, true);
    let left = cgroup_dirs_named(&format!("{top}.slice"));
    assert!(left.is_empty(), "cgroup directories left after delete: {left:?}");
    // A path that is not systemd's form is refused at create, naming it.
    let plain = with_resources(&["/bin/busybox", "true"], Some("/plain/path"), serde_json::json!({}));
    let out = moat.run_global(&["--systemd-cgroup"], &["create", "--bundle", plain.path_str(), &unique_name("sd")]);
    out.assert_failure();
    assert!(out.stderr.contains("slice:prefix:name"), "{out}");
}

#[test]
fn run_pid_file_holds_the_sandbox_pid() {
    let moat = Moat::new();
    let id = unique_name("runpid");
    let pid_file = moat.scratch().join("run.pid");
    let bundle = sleeper();
    moat.run(&["run", "-d", "--pid-file", &pid_file.to_string_lossy(), "--bundle", bundle.path_str(), &id])
        .assert_success();
    let st = moat.state(&id);
    let from_file = fs::read_to_string(&pid_file).unwrap();
    assert_eq!(from_file.trim(), st["pid"].to_string(), "--pid-file of run disagrees with state");
    delete_and_check_gone(&moat, &id, st["pid"].as_i64().unwrap(), true);
}

#[test]
fn exec_forwards_signals_to_its_process() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = started(&moat, &bundle);
    let mut exec = moat.command(&[]);
    exec.args(["exec", &id, "/bin/busybox", "sleep", "1000"]);
    let mut exec = Background::spawn(exec);
    let start = std::time::Instant::now();
    while pids(&moat, &id).len() < 2 {
        assert!(start.elapsed() < DEADLINE, "the exec'd process never showed up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let host = nix::unistd::Pid::from_raw(exec.0.id() as i32);
    nix::sys::signal::kill(host, nix::sys::signal::Signal::SIGUSR1).unwrap();
    assert_eq!(exec.code(), Some(128 + 10), "moat exec's status after a forwarded SIGUSR1");
    assert_eq!(pids(&moat, &id), [1], "the init must be untouched");
    delete_and_check_gone(&moat, &id, pid, true);
}

/// Is the host's /sys/fs/cgroup a pure cgroup v2 mount (else v1 or hybrid,
/// with one directory per v1 controller)?
fn cgroup_v2_only() -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup") && l.contains(" - cgroup2 "))
}

/// The directory of cgroup `inner` (absolute) that holds `controller`'s files.
fn cgroup_dir(controller: &str, inner: &str) -> std::path::PathBuf {
    let inner = inner.trim_start_matches('/');
    if cgroup_v2_only() {
        std::path::Path::new("/sys/fs/cgroup").join(inner)
    } else {
        std::path::Path::new("/sys/fs/cgroup").join(controller).join(inner)
    }
}

fn read_cgroup(controller: &str, inner: &str, file: &str) -> String {
    let p = cgroup_dir(controller, inner).join(file);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
}

/// Every directory named `top` at the top of any cgroup hierarchy.
fn cgroup_dirs_named(top: &str) -> Vec<std::path::PathBuf> {
    let root = std::path::PathBuf::from("/sys/fs/cgroup");
    let mut bases = vec![root.clone()];
    if let Ok(rd) = fs::read_dir(&root) {
        bases.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    bases.into_iter().map(|b| b.join(top)).filter(|p| p.exists()).collect()
}

fn with_resources(args: &[&str], cgroups_path: Option<&str>, resources: serde_json::Value) -> Bundle {
    let args: Vec<serde_json::Value> = args.iter().map(|a| serde_json::Value::from(*a)).collect();
    Bundle::derive_with(|spec| {
        spec["process"]["args"] = args.into();
        if let Some(p) = cgroups_path {
            spec["linux"]["cgroupsPath"] = p.into();
        }
        for (k, v) in resources.as_object().unwrap() {
            spec["linux"]["resources"][k] = v.clone();
        }
    })
}

#[test]
fn resources_are_applied_in_the_containers_cgroup_and_removed_on_delete() {
    let moat = Moat::new();
    let top = unique_name("moat-test-cg");
    let inner = format!("/{top}/ctr");
    let bundle = with_resources(
        &["/bin/busybox", "sleep", "1000"],
        Some(&inner),
        serde_json::json!({
            "memory": {"limit": 64 << 20},
            "pids": {"limit": 64},
            "cpu": {"quota": 50000, "period": 100000},
        }),
    );
    let (id, pid) = create(&moat, &bundle);
    if cgroup_v2_only() {
        assert_eq!(read_cgroup("memory", &inner, "memory.max"), (64 << 20).to_string());
        assert_eq!(read_cgroup("cpu", &inner, "cpu.max"), "50000 100000");
    } else {
        // The spec's limit plus runtime::cgroup::MEMORY_HEADROOM (64 MiB).
        assert_eq!(read_cgroup("memory", &inner, "memory.limit_in_bytes"), (128 << 20).to_string());
        assert_eq!(read_cgroup("cpu", &inner, "cpu.cfs_quota_us"), "50000");
        assert_eq!(read_cgroup("cpu", &inner, "cpu.cfs_period_us"), "100000");
    }
    assert_eq!(read_cgroup("pids", &inner, "pids.max"), "64");
    moat.run(&["start", &id]).assert_success();
    // The sandbox and its stubs (ps --format json's host pids), in every
    // controller used.
    let host = host_pids(&moat, &id);
    assert!(host.contains(&pid) && host.len() >= 2, "host pids {host:?} should be the sandbox {pid} and a stub");
    for controller in ["memory", "pids", "cpu"] {
        let procs: Vec<i64> =
            read_cgroup(controller, &inner, "cgroup.procs").lines().map(|l| l.parse().unwrap()).collect();
        for p in &host {
            assert!(procs.contains(p), "{controller} cgroup.procs {procs:?} lacks host pid {p} (all: {host:?})");
        }
    }
    assert!(!cgroup_dirs_named(&top).is_empty());
    delete_and_check_gone(&moat, &id, pid, true);
    let left = cgroup_dirs_named(&top);
    assert!(left.is_empty(), "cgroup directories left after delete: {left:?}");
}

#[test]
fn default_cgroup_is_the_id_under_the_callers_cgroup() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = create(&moat, &bundle);
    let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let mine = fs::read_to_string("/proc/self/cgroup").unwrap();
    for (theirs, ours) in cgroups.lines().zip(mine.lines()) {
        let (hier, path) = theirs.rsplit_once(':').unwrap();
        let (our_hier, our_path) = ours.rsplit_once(':').unwrap();
        assert_eq!(hier, our_hier, "/proc/{pid}/cgroup and ours list the hierarchies alike");
        let want = format!("{}/{id}", our_path.trim_end_matches('/'));
        assert_eq!(path, want, "sandbox {pid} in hierarchy {hier}");
    }
    delete_and_check_gone(&moat, &id, pid, true);
    for ours in mine.lines() {
        let (hier, our_path) = ours.rsplit_once(':').unwrap();
        let controller = hier.split(':').nth(1).unwrap();
        let dir = if controller.is_empty() && !cgroup_v2_only() {
            std::path::Path::new("/sys/fs/cgroup/unified").join(our_path.trim_start_matches('/')).join(&id)
        } else {
            cgroup_dir(controller.trim_start_matches("name="), our_path).join(&id)
        };
        assert!(!dir.exists(), "{} left after delete", dir.display());
    }
}

/// A create that fails on a cgroup value names the value and leaves no
/// state, process or cgroup directory.
#[track_caller]
fn bad_resources_fail_cleanly(resources: serde_json::Value, args: &[&str], want: &[&str]) {
    let moat = Moat::new();
    let top = unique_name("moat-test-bad");
    let bundle = with_resources(args, Some(&format!("/{top}/ctr")), resources);
    let out = moat.run(&["create", "--bundle", bundle.path_str(), &unique_name("bad")]);
    out.assert_failure();
    for w in want {
        assert!(out.stderr.contains(w), "stderr should name {w:?}:\n{out}");
    }
    assert_nothing_left(&moat);
    let left = cgroup_dirs_named(&top);
    assert!(left.is_empty(), "cgroup directories left after the failed create: {left:?}");
}

#[test]
fn unknown_cpuset_cpu_fails_create_cleanly() {
    bad_resources_fail_cleanly(
        serde_json::json!({"cpu": {"cpus": "999"}}),
        &["/bin/true"],
        &["linux.resources.cpu.cpus", "999", "cpuset.cpus"],
    );
}

#[test]
fn negative_cpu_shares_fail_create_cleanly() {
    bad_resources_fail_cleanly(
        serde_json::json!({"cpu": {"shares": -2}}),
        &["/bin/true"],
        &["linux.resources.cpu.shares", "-2"],
    );
}

#[test]
fn unsupported_resources_are_refused() {
    bad_resources_fail_cleanly(
        serde_json::json!({"memory": {"swappiness": 10}}),
        &["/bin/true"],
        &["linux.resources.memory.swappiness", "not supported"],
    );
}

#[test]
fn a_failed_sandbox_start_removes_the_cgroup() {
    bad_resources_fail_cleanly(
        serde_json::json!({"pids": {"limit": 64}}),
        &["/no/such/program"],
        &["/no/such/program"],
    );
}

/// A hook that appends its stage name and the state it was given to `log`.
fn recording_hook(log: &std::path::Path, stage: &str) -> serde_json::Value {
    let script = format!("printf '%s ' {stage} >> {0}; cat >> {0}; echo >> {0}", log.display());
    serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 10})
}

#[test]
fn hooks_run_at_their_points_with_the_state() {
    let moat = Moat::new();
    let log = moat.scratch().join("hooks.log");
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/bin/busybox", "sleep", "1000"]);
        spec["hooks"] = serde_json::json!({
            "prestart": [recording_hook(&log, "prestart")],
            "createRuntime": [recording_hook(&log, "createRuntime")],
            "poststart": [recording_hook(&log, "poststart")],
            "poststop": [recording_hook(&log, "poststop")],
        });
    });
    let (id, pid) = create(&moat, &bundle);
    let lines = |n: usize| {
        let text = fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(text.lines().count(), n, "hook log:\n{text}");
        text.lines()
            .map(|l| {
                let (stage, json) = l.split_once(' ').unwrap();
                (stage.to_string(), serde_json::from_str::<serde_json::Value>(json).unwrap())
            })
            .collect::<Vec<_>>()
    };
    let after_create = lines(2);
    assert_eq!(after_create[0].0, "prestart");
    assert_eq!(after_create[1].0, "createRuntime");
    for (_, st) in &after_create {
        assert_eq!(st["id"], id.as_str());
        assert_eq!(st["status"], "creating");
        assert_eq!(st["pid"].as_i64(), Some(pid));
        assert_eq!(st["bundle"], bundle.path_str());
    }
    moat.run(&["start", &id]).assert_success();
    let after_start = lines(3);
    assert_eq!((after_start[2].0.as_str(), &after_start[2].1["status"]), ("poststart", &serde_json::json!("running")));
    moat.run(&["delete", "--force", &id]).assert_success();
    let after_delete = lines(4);
    assert_eq!((after_delete[3].0.as_str(), &after_delete[3].1["status"]), ("poststop", &serde_json::json!("stopped")));
}

#[test]
fn a_failing_create_hook_fails_create_and_leaves_nothing() {
    let moat = Moat::new();
    let bundle = Bundle::derive_with(|spec| {
        spec["hooks"] = serde_json::json!({
            "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no network for you; exit 4"]}],
        });
    });
    let out = moat.run(&["create", "--bundle", bundle.path_str(), &unique_name("hookfail")]);
    out.assert_failure();
    assert!(
        out.stderr.contains("createRuntime hook 0") && out.stderr.contains("no network for you"),
        "stderr should name the hook and what it printed:\n{out}"
    );
    assert_nothing_left(&moat);
}

#[test]
fn a_failing_poststart_hook_only_warns() {
    let moat = Moat::new();
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/bin/busybox", "echo", "ran"]);
        spec["hooks"] = serde_json::json!({"poststart": [{"path": "/bin/false", "args": ["false"]}]});
    });
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert!(out.stdout.contains("ran"), "{out}");
    assert!(out.stderr.contains("poststart hook 0 (/bin/false) failed"), "{out}");
}

#[test]
fn container_namespace_hooks_are_refused_by_name() {
    let moat = Moat::new();
    let bundle = Bundle::derive_with(|spec| {
        spec["hooks"] = serde_json::json!({"createContainer": [{"path": "/bin/true"}]});
    });
    fails_naming(
        &moat,
        &["create", "--bundle", bundle.path_str(), &unique_name("cc")],
        "createContainer",
        "stderr should name the unsupported hook",
    );
    assert_nothing_left(&moat);
}

#[test]
fn oom_score_adj_reaches_the_sandbox_the_gofer_and_the_containers_view() {
    let moat = Moat::new();
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", "cat /proc/1/oom_score_adj; exec sleep 1000"]);
        spec["process"]["oomScoreAdj"] = serde_json::json!(500);
    });
    let (id, pid) = create(&moat, &bundle);
    let host = |pid: i64| fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap_or_default();
    assert_eq!(host(pid).trim(), "500", "the sandbox's oom_score_adj");
    let record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(moat.root().join(&id).join("state.json")).unwrap()).unwrap();
    let gofer = record["gofer_pid"].as_i64().unwrap();
    assert_eq!(host(gofer).trim(), "500", "the gofer's oom_score_adj");
    moat.run(&["start", &id]).assert_success();
    let out = moat.run(&["exec", &id, "/bin/cat", "/proc/1/oom_score_adj"]);
    out.assert_success();
    assert_eq!(out.stdout, "500\n", "{out}");
}

#[test]
fn install_adds_moat_to_daemon_json_and_uninstall_removes_it() {
    let moat = Moat::new();
    let config = moat.scratch().join("docker/daemon.json");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(&config, r#"{"storage-driver": "vfs"}"#).unwrap();
    let cfg = config.to_str().unwrap();
    moat.run(&["install", "--config", cfg, "--", "--debug"]).assert_success();
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(v["storage-driver"], "vfs", "{v:#}");
    let path = v["runtimes"]["moat"]["path"].as_str().unwrap_or_default().to_string();
    assert_eq!(fs::canonicalize(&path).ok(), fs::canonicalize(moat_tests::moat_bin()).ok(), "{v:#}");
    assert_eq!(v["runtimes"]["moat"]["runtimeArgs"], serde_json::json!(["--debug"]), "{v:#}");
    moat.run(&["install", "--uninstall", "--config", cfg]).assert_success();
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"storage-driver": "vfs"}));
    fails_naming(&moat, &["install", "--uninstall", "--config", cfg], "no runtime", "a second uninstall says so");
    fs::write(&config, "{ not json").unwrap();
    fails_naming(&moat, &["install", "--config", cfg], cfg, "a malformed daemon.json is named");
    assert_eq!(fs::read_to_string(&config).unwrap(), "{ not json", "a malformed daemon.json is left as it was");
}
