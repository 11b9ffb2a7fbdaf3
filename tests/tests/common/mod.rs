//! Helpers shared by the test targets that drive containers through the
//! CLI (lifecycle, mounts, terminals). Each target uses some of them.
#![allow(dead_code)]

use std::fs;
use std::time::Duration;

use moat_tests::{unique_name, wait_pid_gone, Bundle, Moat};

pub const DEADLINE: Duration = Duration::from_secs(10);

/// A container that stays up until killed.
pub fn sleeper() -> Bundle {
    Bundle::derive(&["/bin/busybox", "sleep", "1000"])
}

/// `create` a container and return its id and the pid from `state`.
#[track_caller]
pub fn create(moat: &Moat, bundle: &Bundle) -> (String, i64) {
    let id = unique_name("c");
    moat.run(&["create", "--bundle", bundle.path_str(), &id]).assert_success();
    let st = moat.state(&id);
    let pid = st["pid"].as_i64().unwrap_or_else(|| panic!("state of {id} has no numeric pid:\n{st:#}"));
    assert!(pid > 0, "state of {id} has pid {pid}:\n{st:#}");
    (id, pid)
}

/// Asserts a failed `create` left nothing behind: no state, no process.
#[track_caller]
pub fn assert_nothing_left(moat: &Moat) {
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

/// Runs `args`, which must fail with `needle` in its error; `why` says what
/// the error should tell. Returns the output for further checks.
pub fn fails_naming(moat: &Moat, args: &[&str], needle: &str, why: &str) -> moat_tests::Output {
    let out = moat.run(args);
    out.assert_failure();
    assert!(out.stderr.contains(needle), "{why}:\n{out}");
    out
}

/// A started sleeper container: its id and sandbox pid.
#[track_caller]
pub fn started(moat: &Moat, bundle: &Bundle) -> (String, i64) {
    let (id, pid) = create(moat, bundle);
    moat.run(&["start", &id]).assert_success();
    (id, pid)
}

/// Lines of /proc/self/mountinfo mentioning `needle` (the host's mount
/// table must not change because of a container).
pub fn mounts_mentioning(needle: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

/// Deletes `id` (force if asked) and checks nothing of it is left: no
/// state, no sandbox, no process or mount mentioning the test's root.
#[track_caller]
pub fn delete_and_check_gone(moat: &Moat, id: &str, sandbox: i64, force: bool) {
    let args: &[&str] = if force { &["delete", "--force", id] } else { &["delete", id] };
    moat.run(args).assert_success();
    assert!(!moat.root().join(id).exists(), "state dir of {id} left after delete");
    assert!(wait_pid_gone(sandbox as i32, DEADLINE), "sandbox {sandbox} of {id} alive after delete");
    let start = std::time::Instant::now();
    while !moat.leftover_processes().is_empty() {
        assert!(start.elapsed() < DEADLINE, "processes left after delete: {:?}", moat.leftover_processes());
        std::thread::sleep(Duration::from_millis(20));
    }
    let root = moat.root().to_string_lossy().into_owned();
    assert!(mounts_mentioning(&root).is_empty(), "mounts left: {:?}", mounts_mentioning(&root));
}
