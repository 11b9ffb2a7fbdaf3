//! Application memory: a large anonymous allocation runs, and the spec's
//! memory limit is enforced inside the sandbox (issue #3): the process over
//! it is killed, the rest of the container goes on.

use std::fs;

use moat_tests::{busybox_bundle, gcc_static, workspace_dir, Bundle, Moat, TempDir};
use serde_json::Value;

/// A rootfs with busybox and `/touch` (bench/touch.c: touches N MiB).
fn rootfs() -> TempDir {
    let dir = TempDir::new("memory-rootfs");
    fs::create_dir_all(dir.path().join("bin")).unwrap();
    fs::copy(busybox_bundle().join("rootfs/bin/busybox"), dir.path().join("bin/busybox")).unwrap();
    for applet in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", dir.path().join("bin").join(applet)).unwrap();
    }
    gcc_static(&workspace_dir().join("bench/touch.c"), &dir.path().join("touch"));
    dir
}

fn bundle(rootfs: &TempDir, args: &[&str], limit: Option<u64>) -> Bundle {
    let root = rootfs.path().to_string_lossy().into_owned();
    Bundle::derive_with(|spec| {
        spec["root"]["path"] = Value::from(root);
        spec["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        if let Some(limit) = limit {
            spec["linux"]["resources"]["memory"] = serde_json::json!({ "limit": limit });
        }
    })
}

#[test]
fn touching_a_gibibyte_runs() {
    let rootfs = rootfs();
    let moat = Moat::new();
    let out = moat.run_bundle(&bundle(&rootfs, &["/touch", "1024"], None));
    out.assert_success();
    assert!(out.stdout.starts_with("ns_per_page "), "{out}");
}

#[test]
fn the_memory_limit_kills_the_process_over_it_not_the_sandbox() {
    let rootfs = rootfs();
    let moat = Moat::new();
    let limit = 64 << 20;
    let out = moat.run_bundle(&bundle(&rootfs, &["/bin/sh", "-c", "/touch 512; echo after $?"], Some(limit)));
    out.assert_success();
    assert_eq!(out.stdout, "after 137\n", "{out}");
    // The sentry's own OOM killer acted, not the host's: the host cgroup
    // leaves headroom above the limit for that (runtime::cgroup).
    assert!(moat.log_contents().contains("out of memory"), "no OOM line in the log:\n{}", moat.log_tail(20));
}

#[test]
fn events_report_memory_pids_cpu_and_the_oom_kill() {
    let rootfs = rootfs();
    let moat = Moat::new();
    let limit: u64 = 64 << 20;
    // 16 MiB touched and held, then (on a signal file) a process over the limit.
    let script = "/touch 16 hold & while [ ! -e /go ]; do sleep 0.1; done; /touch 512; sleep 1000";
    let b = bundle(&rootfs, &["/bin/sh", "-c", script], Some(limit));
    let id = moat_tests::unique_name("events");
    moat.run(&["run", "--detach", "--bundle", b.path_str(), &id]).assert_success();
    let stats = |moat: &Moat| {
        let out = moat.run(&["events", "--stats", &id]);
        out.assert_success();
        serde_json::from_str::<Value>(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{out}"))
    };
    // Wait until the 16 MiB are touched.
    let start = std::time::Instant::now();
    let mut ev = stats(&moat);
    while ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) < 16 << 20 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "memory never reached 16 MiB:\n{ev:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
        ev = stats(&moat);
    }
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    assert_eq!(ev["data"]["memory"]["usage"]["limit"].as_u64(), Some(limit), "{ev:#}");
    assert_eq!(ev["data"]["memory"]["usage"]["failcnt"].as_u64(), Some(0), "{ev:#}");
    assert!(ev["data"]["pids"]["current"].as_u64().is_some_and(|n| n >= 2), "{ev:#}");
    assert!(ev["data"]["cpu"]["usage"]["total"].as_u64().is_some_and(|n| n > 0), "{ev:#}");

    // The stream: stats every interval, and an oom event when the limit strikes.
    let mut cmd = moat.command(&[]);
    cmd.args(["events", "--interval", "200ms", &id]).stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut go = moat.command(&[]);
    go.args(["exec", &id, "/bin/sh", "-c", "echo > /go"]);
    assert!(go.status().unwrap().success());
    let reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in std::io::BufRead::lines(reader) {
        let line = line.unwrap();
        let oom = line.contains("\"oom\"");
        seen.push(line);
        if oom || seen.len() > 200 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let last = seen.last().cloned().unwrap_or_default();
    assert!(last.contains("\"type\":\"oom\""), "no oom event in the stream:\n{}", seen.join("\n"));
    assert!(seen.len() >= 2 && seen[0].contains("\"type\":\"stats\""), "{}", seen.join("\n"));
    let after = stats(&moat);
    assert_eq!(after["data"]["memory"]["usage"]["failcnt"].as_u64(), Some(1), "{after:#}");
    moat.run(&["delete", "--force", &id]).assert_success();
    let out = moat.run(&["events", "--stats", &id]);
    out.assert_failure();
    assert!(out.stderr.contains(&id), "events of a deleted container names it:\n{out}");
}
