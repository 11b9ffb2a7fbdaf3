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
    std::os::unix::fs::symlink("busybox", dir.path().join("bin/sh")).unwrap();
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
