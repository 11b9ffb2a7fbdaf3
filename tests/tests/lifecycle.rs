//! Container lifecycle through the runc-compatible CLI: run, create/start/
//! state/kill/delete, error paths, and the host-side confinement of the
//! sandbox process. Needs root, a built `moat` and `scripts/make-bundles`.

use std::fs;
use std::time::Duration;

use moat_tests::{pid_alive, proc_status, unique_name, wait_pid_gone, Bundle, Moat};

const DEADLINE: Duration = Duration::from_secs(10);

/// A container that stays up until killed.
fn sleeper() -> Bundle {
    Bundle::derive(&["/bin/busybox", "sleep", "1000"])
}

/// `create` a container and return its id and the pid from `state`.
#[track_caller]
fn create(moat: &Moat, bundle: &Bundle) -> (String, i64) {
    let id = unique_name("c");
    moat.run(&["create", "--bundle", bundle.path_str(), &id]).assert_success();
    let st = moat.state(&id);
    let pid = st["pid"].as_i64().unwrap_or_else(|| panic!("state of {id} has no numeric pid:\n{st:#}"));
    assert!(pid > 0, "state of {id} has pid {pid}:\n{st:#}");
    (id, pid)
}

/// Asserts a failed `create` left nothing behind: no state, no process.
#[track_caller]
fn assert_nothing_left(moat: &Moat) {
    let entries = moat.root_entries();
    assert!(entries.is_empty(), "--root {} still holds {entries:?}", moat.root().display());
    let start = std::time::Instant::now();
    loop {
        let procs = moat.leftover_processes();
        if procs.is_empty() {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "leftover moat processes after failed create: {procs:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
    let out = moat.run(&["create", "--bundle", bundle.path_str(), &unique_name("broken")]);
    out.assert_failure();
    assert!(out.stderr.contains("config.json"), "stderr should name config.json:\n{out}");
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
    let out = moat.run(&["create", "--bundle", bundle.path_str(), &id]);
    out.assert_failure();
    assert!(out.stderr.contains(&id), "stderr should name the id {id}:\n{out}");
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
    let out = moat.run(&["state", &id]);
    out.assert_failure();
    assert!(out.stderr.contains(&id), "stderr should name the id {id}:\n{out}");
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
