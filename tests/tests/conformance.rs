//! Differential conformance: every `tests/conformance/*.c` is built with
//! `gcc -static -O1`, run natively (the host kernel is the oracle) and then
//! with `moat run`, both with stdin on /dev/null; stdout and the exit status
//! must match byte for byte. On mismatch the report shows a line diff, the
//! moat command with its stderr, and the tail of moat's --log.
//!
//! To add a behaviour: drop `foo.c` next to the others (include "conf.h",
//! print relations, never pids/addresses/times) and add `foo` to the
//! `conformance!` list below; `every_program_is_listed` enforces the latter.
//! A program whose native exit status is not 0 says so in a comment:
//! `expect-exit: N`.
//!
//! The socket programs run a second time with `--network=host`
//! (`conformance_host!`): the application's sockets are then host sockets
//! in the test's own network namespace, so natively and inside moat the
//! same kernel stack answers, through the sentry's socket layer.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use moat_tests::{gcc_static, run_cmd, Bundle, Moat, Output};

fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// A rootfs holding only what static programs need; binaries go in /conformance.
/// Rebuilt once per test process under cargo's per-target tmp dir.
fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-rootfs");
        let _ = fs::remove_dir_all(&root);
        for d in ["conformance", "proc", "dev", "tmp", "etc", "sys"] {
            fs::create_dir_all(root.join(d)).unwrap_or_else(|e| panic!("creating {}: {e}", root.join(d).display()));
        }
        root
    })
}

/// `expect-exit: N` from the source, else 0.
fn expected_exit(src: &str) -> i32 {
    src.split("expect-exit:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A line diff good enough for short outputs: `-` native, `+` moat.
fn diff(native: &str, moat: &str) -> String {
    let a: Vec<&str> = native.lines().collect();
    let b: Vec<&str> = moat.lines().collect();
    let mut out = String::new();
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x == y => out += &format!("    {x}\n"),
            (x, y) => {
                if let Some(x) = x {
                    out += &format!("  - {x}\n");
                }
                if let Some(y) = y {
                    out += &format!("  + {y}\n");
                }
            }
        }
    }
    if native.ends_with('\n') != moat.ends_with('\n') {
        out += "  (trailing newline differs)\n";
    }
    out
}

fn check(name: &str) {
    check_in(name, "", &[]);
}

/// Runs `name` natively and in moat with `global` flags; `suffix` names
/// the binary apart from other runs of the same program.
fn check_in(name: &str, suffix: &str, global: &[&str]) {
    let src_path = sources_dir().join(format!("{name}.c"));
    let src = fs::read_to_string(&src_path).unwrap_or_else(|e| panic!("reading {}: {e}", src_path.display()));
    let bin = rootfs().join("conformance").join(format!("{name}{suffix}"));
    gcc_static(&src_path, &bin);

    // Native run: the oracle. It must itself behave as the program says.
    // `conformance-bind: /dir` in the source: the program gets a fresh host
    // directory as argv[1], natively as it is and inside moat bound at /dir.
    let bind = src.split("conformance-bind:").nth(1).and_then(|r| r.split([' ', ')']).find(|w| !w.is_empty()));
    let native_dir = moat_tests::TempDir::new("conf-native");
    let mut native_cmd = Command::new(&bin);
    if bind.is_some() {
        native_cmd.arg(native_dir.path());
    }
    let native: Output = run_cmd(&mut native_cmd, Duration::from_secs(60));
    let want_exit = expected_exit(&src);
    assert_eq!(native.exit_code(), want_exit, "{name} misbehaves NATIVELY (a broken test, not a moat bug):\n{native}");

    let moat = Moat::new();
    let guest_path = format!("/conformance/{name}{suffix}");
    let bind_dir = moat_tests::TempDir::new("conf-bind");
    // The native run is root with every capability: so is the sandboxed one.
    let bundle = Bundle::derive_with(|spec| {
        spec["root"]["path"] = rootfs().to_string_lossy().into_owned().into();
        spec["process"]["capabilities"] = all_capabilities();
        spec["process"]["args"] = serde_json::json!([guest_path]);
        if let Some(dest) = bind {
            spec["process"]["args"] = serde_json::json!([guest_path, dest]);
            let mount = serde_json::json!({"destination": dest, "type": "bind", "source": bind_dir.path(), "options": ["rbind"]});
            spec["mounts"].as_array_mut().expect("the busybox spec has mounts").push(mount);
        }
    });
    let id = moat_tests::unique_name("run");
    let sandboxed = moat.run_global(global, &["run", "--bundle", bundle.path_str(), &id]);
    let mut sandboxed_report = sandboxed.to_string();
    if sandboxed.success() {
        sandboxed_report += &moat.log_tail(40);
    }

    if sandboxed.stdout != native.stdout || sandboxed.exit_code() != native.exit_code() {
        panic!(
            "conformance `{name}` differs (tests/conformance/{name}.c)\n\
             exit status: native {} vs moat {}\n\
             stdout diff (- native, + moat):\n{}\n\
             moat run:\n{sandboxed_report}",
            native.exit_code(),
            sandboxed.exit_code(),
            diff(&native.stdout, &sandboxed.stdout),
        );
    }
}

macro_rules! conformance {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        const LISTED: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

conformance!(
    write_stdout,
    bad_fd,
    read_eof,
    enosys,
    brk,
    uts,
    caps,
    sysfs,
    icmp_raw,
    locks,
    mmap_anon,
    mmap_file,
    mprotect,
    mmap_einval,
    arch_prctl,
    getpid,
    sigprocmask,
    signal_handler,
    clock,
    getrandom,
    uname,
    exit42,
    fork_wait,
    fork_cow,
    robust_mutex,
    rt_queue,
    futex,
    threads,
    itimer,
    shared_memory,
    prctl_name,
    misc_fd_mem,
    cpu_times,
    copy_calls,
    shm_file_mmap,
    identity,
    getdents,
    stat_family,
    devfs,
    procfs,
    tmpfs,
    mprotect_fault,
    sigaltstack,
    segv_handler,
    segv_blocked,
    sigsuspend,
    signal_fatal,
    poll_pipe,
    select_pipe,
    epoll,
    poll_eintr,
    overlay_files,
    unix_pair,
    unix_listen,
    unix_rights,
    unix_shutdown,
    unix_poll,
    vdso,
    timers,
    jobctl,
    sched_mlock,
    avx_signal,
    growsdown,
    exec_threads,
    inet_tcp_bind,
    inet_tcp_connect,
    inet_tcp_shutdown,
    inet_udp,
    inet_v6,
    inet_ifaddrs,
    inet_epoll,
    inet_tcp_reset,
    inet_udplite,
    inet6_cmsg,
    unix_path_bytes,
    unix_path_node,
    unix_bind_mount,
    wait_thread,
    socket_mmsg,
    eventfd,
    timerfd,
    signalfd,
    memfd,
    preadv,
    pty_canon,
    pty_jobs,
    bind_writes,
    bind_direct_io,
    mmap_shared_bind,
    opath_link,
    pipe_size,
    fallocate,
    splice,
    openat2,
    affinity,
    fifo,
    xattr,
    inotify,
    inotify_unmount,
    dnotify,
    chroot,
    clone_fs,
    mount,
    pivot_root,
);

/// The socket programs with `--network=host`, each as `host_network::NAME`.
macro_rules! conformance_host {
    ($($name:ident),* $(,)?) => {
        mod host_network {
            $(
                #[test]
                fn $name() {
                    super::check_in(stringify!($name), "-host", &["--network=host"]);
                }
            )*
        }
    };
}

conformance_host!(
    inet_tcp_bind,
    inet_tcp_connect,
    inet_tcp_shutdown,
    inet_udp,
    inet_v6,
    inet_ifaddrs,
    inet_epoll,
    socket_mmsg
);

/// The host's `user.*` attributes show through the gofer: on a file of
/// the image (the overlay's lower layer; a change copies it up with them)
/// and on a bind mount's file (whose attributes cannot be changed there).
#[test]
fn host_user_xattrs_show_through_the_gofer() {
    use std::process::Command;
    // Its own copy: the `xattr` conformance test builds `xattr` meanwhile.
    let bin = rootfs().join("conformance").join("xattr-show");
    gcc_static(&sources_dir().join("xattr.c"), &bin);
    let set = |path: &Path, name: &str, value: &str| {
        // No setfattr on every host: python's os.setxattr.
        let script = format!("import os; os.setxattr({:?}, {name:?}, {value:?}.encode())", path.display().to_string());
        let out = run_cmd(Command::new("python3").args(["-c", &script]), Duration::from_secs(10));
        assert!(out.success(), "setting {name} on {}: {out}", path.display());
    };
    let probe = rootfs().join("conformance").join("xattr-probe");
    fs::write(&probe, b"p").unwrap();
    set(&probe, "user.image", "from the host");
    set(&probe, "trusted.hidden", "never shown");
    let out = Moat::new().run_bundle(&Bundle::with_rootfs(
        rootfs(),
        &["/conformance/xattr-show", "--show", "/conformance/xattr-probe", "user.new", "N"],
    ));
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "list: 11 bytes: user.image\nuser.image=[from the host]\nset user.new: 0\nlist: 20 bytes: user.image user.new\n", "{out}");

    let bind_dir = moat_tests::TempDir::new("xattr-bind");
    let file = bind_dir.path().join("f");
    fs::write(&file, b"b").unwrap();
    set(&file, "user.bind", "B");
    let bundle = Bundle::derive_with(|spec| {
        spec["root"]["path"] = rootfs().to_string_lossy().into_owned().into();
        spec["process"]["args"] = serde_json::json!(["/conformance/xattr-show", "--show", "/mnt/f", "user.new", "N"]);
        let mount =
            serde_json::json!({"destination": "/mnt", "type": "bind", "source": bind_dir.path(), "options": ["rbind"]});
        spec["mounts"].as_array_mut().expect("the busybox spec has mounts").push(mount);
    });
    let out = Moat::new().run_bundle(&bundle);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout, "list: 10 bytes: user.bind\nuser.bind=[B]\nset user.new: EOPNOTSUPP\nlist: 10 bytes: user.bind\n",
        "{out}"
    );
}

/// Every capability the host's headers name (the C programs are built
/// against them), in each set but ambient: what root on the host holds.
fn all_capabilities() -> serde_json::Value {
    let header = "/usr/include/linux/capability.h";
    let text = fs::read_to_string(header).unwrap_or_else(|e| panic!("{header} (linux-libc-dev): {e}"));
    let all: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (define, name, value) = (w.next()?, w.next()?, w.next()?);
            let numbered = value.parse::<u32>().is_ok() && w.next().is_none();
            (define == "#define" && name.starts_with("CAP_") && name != "CAP_LAST_CAP" && numbered).then_some(name)
        })
        .collect();
    assert!(all.len() >= 38, "capability names in {header}: {all:?}");
    serde_json::json!({"bounding": all, "effective": all, "permitted": all})
}

#[test]
fn every_program_is_listed() {
    let mut on_disk: Vec<String> = fs::read_dir(sources_dir())
        .expect("read tests/conformance")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".c").map(str::to_string))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/conformance/*.c and the conformance! list in tests/tests/conformance.rs differ");
}
