//! OCI bind mounts served by the gofer, `--overlay2`, and programs that
//! start from outside the image (issue #4), through the real binary.
//! Needs root, a built `moat` and `scripts/make-bundles`.

mod common;

use std::fs;
use std::time::Duration;

use common::*;
use moat_tests::{unique_name, Bundle, Moat};

// --- bind mounts and --overlay2 (issue #4) ------------------------------------

/// A bundle running `sh -c script` with `mounts` added to the spec's.
fn with_mounts(script: &str, mounts: serde_json::Value) -> Bundle {
    Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
        let list = spec["mounts"].as_array_mut().expect("the busybox spec has mounts");
        list.extend(mounts.as_array().expect("a list of mounts").iter().cloned());
    })
}

fn bind(dest: &str, source: &std::path::Path, options: &[&str]) -> serde_json::Value {
    serde_json::json!({"destination": dest, "type": "bind", "source": source, "options": options})
}

#[test]
fn rw_bind_mount_writes_reach_the_host() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-rw");
    let src = scratch.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), "data\n").unwrap();
    fs::write(src.join("gone"), "x").unwrap();
    let script = "cat /data/a && echo new > /data/new && echo more >> /data/a && mkdir /data/d \
                  && mv /data/new /data/d/moved && rm /data/gone && rmdir /data/sub \
                  && ln -s a /data/link && cat /data/link && ls /data";
    let bundle = with_mounts(script, serde_json::json!([bind("/data", &src, &["rbind", "rw"])]));
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(out.stdout, "data\ndata\nmore\na\nd\nlink\n", "{out}");
    assert_eq!(fs::read_to_string(src.join("a")).unwrap(), "data\nmore\n");
    assert_eq!(fs::read_to_string(src.join("d/moved")).unwrap(), "new\n");
    assert!(!src.join("new").exists() && !src.join("gone").exists() && !src.join("sub").exists());
    assert_eq!(fs::read_link(src.join("link")).unwrap(), std::path::Path::new("a"));
}

/// The sentry caches a bind mount's attributes (`fs::gofer_cache`): its
/// own changes show at once, under every name; the host's within the
/// revalidation period (1 s).
#[test]
fn bind_mount_stat_sees_changes_through_the_sandbox_and_the_host() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-cache");
    let src = scratch.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "abc\n").unwrap();
    fs::write(src.join("host"), "1").unwrap();
    let script = "s() { stat -c \"$1 %s %h %a\" \"$1\" 2>&1 | sed 's/.*: //'; }; \
                  s /data/f; echo more >> /data/f; s /data/f; \
                  ln /data/f /data/h; s /data/f; echo x >> /data/h; s /data/f; \
                  mv /data/f /data/g; s /data/f; s /data/g; \
                  mkdir /data/d; mv /data/g /data/d/; s /data/d/g; mv /data/d /data/e; s /data/d/g; s /data/e/g; \
                  chmod 600 /data/e/g; s /data/e/g; rm /data/e/g; s /data/e/g; s /data/h; \
                  s /data/host; touch /data/ready; \
                  while [ ! -e /data/changed ]; do sleep 1; done; sleep 2; s /data/host";
    let bundle = with_mounts(script, serde_json::json!([bind("/data", &src, &["rbind", "rw"])]));
    let host = src.clone();
    let changer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !host.join("ready").exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        fs::write(host.join("host"), "12345").unwrap();
        fs::write(host.join("changed"), "").unwrap();
    });
    let out = moat.run_bundle(&bundle);
    changer.join().unwrap();
    out.assert_success();
    let want = "/data/f 4 1 644\n/data/f 9 1 644\n/data/f 9 2 644\n/data/f 11 2 644\n\
                No such file or directory\n/data/g 11 2 644\n/data/d/g 11 2 644\n\
                No such file or directory\n/data/e/g 11 2 644\n/data/e/g 11 2 600\n\
                No such file or directory\n/data/h 11 1 600\n/data/host 1 1 644\n/data/host 5 1 644\n";
    assert_eq!(out.stdout, want, "{out}");
}

#[test]
fn ro_bind_mount_refuses_writes() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-ro");
    let src = scratch.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("r"), "keep\n").unwrap();
    let file = scratch.path().join("resolv.conf");
    fs::write(&file, "nameserver 192.0.2.1\n").unwrap();
    // Each change is tried in turn; the shell reports each failure.
    let script = "for c in 'echo x > /ro/r' 'echo x >> /ro/r' 'rm /ro/r' 'mkdir /ro/d' 'touch /ro/new' \
                  'mv /ro/r /ro/s' 'chmod 777 /ro/r' 'echo x > /etc/resolv.conf'; do \
                  sh -c \"$c\" 2>&1 | grep -c 'Read-only file system'; done; cat /ro/r /etc/resolv.conf";
    let bundle = with_mounts(
        script,
        serde_json::json!([bind("/ro", &src, &["rbind", "ro"]), bind("/etc/resolv.conf", &file, &["bind", "ro"])]),
    );
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(out.stdout, "1\n1\n1\n1\n1\n1\n1\n1\nkeep\nnameserver 192.0.2.1\n", "every change is EROFS:\n{out}");
    assert_eq!(fs::read_to_string(src.join("r")).unwrap(), "keep\n");
    assert_eq!(fs::read_dir(&src).unwrap().count(), 1);
    assert_eq!(fs::read_to_string(&file).unwrap(), "nameserver 192.0.2.1\n");
}

#[test]
fn single_file_bind_reads_and_writes_the_host_file() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-file");
    let hosts = scratch.path().join("hosts");
    fs::write(&hosts, "127.0.0.1 localhost\n192.0.2.7 moat-test\n").unwrap();
    let hostname = scratch.path().join("hostname");
    fs::write(&hostname, "before\n").unwrap();
    // Docker's binds of /etc/hosts and /etc/hostname.
    let script = "cat /etc/hosts && echo after > /etc/hostname && cat /etc/hostname && ls /etc/hostname/x; \
                  rm /etc/hostname; echo rm=$?";
    let bundle = with_mounts(
        script,
        serde_json::json!([
            bind("/etc/hosts", &hosts, &["rbind", "rprivate"]),
            bind("/etc/hostname", &hostname, &["rbind", "rw"])
        ]),
    );
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(out.stdout, "127.0.0.1 localhost\n192.0.2.7 moat-test\nafter\nrm=1\n", "{out}");
    assert!(out.stderr.contains("Not a directory") && out.stderr.contains("busy"), "{out}");
    assert_eq!(fs::read_to_string(&hostname).unwrap(), "after\n");
}

#[test]
fn bind_mount_symlinks_cannot_reach_the_host() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-escape");
    let src = scratch.path().join("src");
    fs::create_dir_all(&src).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", src.join("shadow")).unwrap();
    std::os::unix::fs::symlink("../../../../../../etc/passwd", src.join("up")).unwrap();
    std::os::unix::fs::symlink("../../../../../..", src.join("top")).unwrap();
    // A host path that exists in the container too (its /tmp), not yet on the host.
    let outside = std::path::PathBuf::from("/tmp").join(unique_name("moat-bind-outside"));
    assert!(!outside.exists());
    std::os::unix::fs::symlink(&outside, src.join("out")).unwrap();
    // Links resolve in the container's namespace, as on Linux: its own
    // /etc/passwd (busybox's), no /etc/shadow there; a write through a link
    // to a host path lands in the container's root overlay, not the host.
    let script = "cat /data/shadow; cat /data/up; ls /data/top/bin/busybox; echo x > /data/out; \
                  cat /data/out; cat /data/../data/up | wc -l";
    let bundle = with_mounts(script, serde_json::json!([bind("/data", &src, &["rbind", "rw"])]));
    let out = moat.run_bundle(&bundle);
    let passwd = fs::read_to_string(moat_tests::busybox_bundle().join("rootfs/etc/passwd")).unwrap();
    assert!(passwd != fs::read_to_string("/etc/passwd").unwrap(), "the test needs passwd files that differ");
    let lines = passwd.lines().count();
    assert_eq!(out.stdout, format!("{passwd}/data/top/bin/busybox\nx\n{lines}\n"), "{out}");
    assert!(out.stderr.contains("/data/shadow") && out.stderr.contains("No such file"), "{out}");
    let reached = outside.exists();
    let _ = fs::remove_file(&outside);
    assert!(!reached, "a write through a link in the bind reached the host");
}

#[test]
fn noexec_bind_refuses_execve() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-noexec");
    let src = scratch.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::copy(moat_tests::busybox_bundle().join("rootfs/bin/busybox"), src.join("busybox")).unwrap();
    // An executable mapping of a file there is EPERM too (ld.so's way in).
    let c = scratch.path().join("mapx.c");
    fs::write(
        &c,
        "#include <stdio.h>\n#include <fcntl.h>\n#include <sys/mman.h>\n#include <errno.h>\n\
         int main(int c, char **v) { int fd = open(v[1], O_RDONLY);\n\
         void *p = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);\n\
         printf(\"%s\\n\", p == MAP_FAILED ? (errno == EPERM ? \"EPERM\" : \"other\") : \"mapped\"); return 0; }\n",
    )
    .unwrap();
    moat_tests::gcc_static(&c, &src.join("mapx"));
    let script = "/data/busybox echo ran; echo rc=$?; /exec/busybox echo ran; /exec/mapx /data/busybox; \
                  /exec/mapx /exec/busybox";
    let bundle = with_mounts(
        script,
        serde_json::json!([bind("/data", &src, &["rbind", "noexec"]), bind("/exec", &src, &["rbind", "ro"])]),
    );
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(out.stdout, "rc=126\nran\nEPERM\nmapped\n", "{out}");
    assert!(out.stderr.contains("Permission denied"), "{out}");
}

#[test]
fn overlay2_none_writes_reach_the_rootfs() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("overlay2-none");
    let rootfs = scratch.path().join("rootfs");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(moat_tests::busybox_bundle().join("rootfs"))
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(cp.success());
    let script = "echo hi > /newfile && mkdir /newdir && echo a >> /newdir/f && mv /newdir/f /newdir/g \
                  && rm /etc/passwd && echo done";
    let bundle = Bundle::with_rootfs(&rootfs, &["/bin/sh", "-c", script]);
    // The default keeps every change in the sandbox.
    let id = unique_name("ov");
    moat.run(&["run", "--bundle", bundle.path_str(), &id]).assert_success();
    assert!(!rootfs.join("newfile").exists() && rootfs.join("etc/passwd").exists());
    let id = unique_name("ov");
    let out = moat.run_global(&["--overlay2=none"], &["run", "--bundle", bundle.path_str(), &id]);
    out.assert_success();
    assert_eq!(out.stdout, "done\n", "{out}");
    assert_eq!(fs::read_to_string(rootfs.join("newfile")).unwrap(), "hi\n");
    assert_eq!(fs::read_to_string(rootfs.join("newdir/g")).unwrap(), "a\n");
    assert!(!rootfs.join("etc/passwd").exists());
    let out = moat.run_global(&["--overlay2=root:disk"], &["run", "--bundle", bundle.path_str(), &id]);
    out.assert_failure();
    assert!(out.stderr.contains("--overlay2=root:disk"), "{out}");
    // `moat do` keeps the host's root read-only whatever --overlay2 says.
    let probe = std::path::PathBuf::from("/tmp").join(unique_name("moat-do-probe"));
    let cmd = format!("echo x > {}", probe.display());
    let out = moat.run_global(&["--overlay2=none"], &["do", "/bin/sh", "-c", &cmd]);
    let reached = probe.exists();
    let _ = fs::remove_file(&probe);
    assert!(!reached && !out.success() && out.stderr.contains("Read-only file system"), "{out}");
}

#[test]
fn create_with_missing_bind_source_fails_cleanly() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-missing");
    let missing = scratch.path().join("missing");
    let bundle = with_mounts("true", serde_json::json!([bind("/data", &missing, &["rbind"])]));
    let id = unique_name("c");
    fails_naming(
        &moat,
        &["create", "--bundle", bundle.path_str(), &id],
        &missing.display().to_string(),
        "the error names the missing source",
    );
    assert_nothing_left(&moat);
}

#[test]
fn bind_mount_permissions_and_owners_are_the_callers() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-perm");
    let src = scratch.path().join("src");
    fs::create_dir_all(src.join("mine")).unwrap();
    fs::create_dir_all(src.join("private")).unwrap();
    fs::write(src.join("private/f"), "secret\n").unwrap();
    fs::write(src.join("rootfile"), "root's\n").unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(src.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(src.join("rootfile"), fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(src.join("mine"), Some(1000), Some(1000)).unwrap();
    // As uid 1000: each try prints its exit status.
    let script = "touch /data/new; echo $?; echo x >> /data/rootfile; echo $?; cat /data/private/f; echo $?; \
                  cat /data/rootfile; mkdir /data/mine/d && echo y > /data/mine/d/f && chmod 600 /data/mine/d/f; \
                  echo $?; chmod 777 /data/rootfile; echo $?";
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
        spec["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
        spec["mounts"].as_array_mut().unwrap().push(bind("/data", &src, &["rbind", "rw"]));
    });
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(out.stdout, "1\n1\n1\nroot's\n0\n1\n", "{out}");
    assert_eq!(out.stderr.matches("Permission denied").count(), 3, "{out}");
    assert!(out.stderr.contains("Operation not permitted"), "chmod of another's file:\n{out}");
    let made = fs::metadata(src.join("mine/d/f")).unwrap();
    assert_eq!((made.uid(), made.gid(), made.mode() & 0o7777), (1000, 1000, 0o600));
    assert_eq!(fs::metadata(src.join("mine/d")).unwrap().uid(), 1000);
    assert!(!src.join("new").exists());
    assert_eq!(fs::read_to_string(src.join("rootfile")).unwrap(), "root's\n");
    assert_eq!(fs::metadata(src.join("rootfile")).unwrap().mode() & 0o777, 0o644);
}

#[test]
fn rbind_serves_submounts_and_ro_covers_them() {
    let moat = Moat::new();
    let scratch = moat_tests::TempDir::new("bind-rbind");
    let src = scratch.path().join("src");
    let sub = src.join("sub");
    fs::create_dir_all(&sub).unwrap();
    fs::write(sub.join("under"), "hidden by the mount\n").unwrap();
    let status =
        std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "moat-test"]).arg(&sub).status();
    assert!(status.unwrap().success(), "mount a tmpfs on {}", sub.display());
    // Unmounted however the test ends.
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _guard = Unmount(sub.clone());
    fs::write(sub.join("inner"), "on the submount\n").unwrap();
    let script = "cat /r/sub/inner; echo x > /r/sub/new; echo rc=$?; cat /w/sub/inner; echo x > /w/sub/new; \
                  cat /b/sub/under; ls /b/sub";
    let bundle = with_mounts(
        script,
        serde_json::json!([
            bind("/r", &src, &["rbind", "ro"]),
            bind("/w", &src, &["rbind", "rw"]),
            bind("/b", &src, &["bind", "rw"])
        ]),
    );
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(
        out.stdout, "on the submount\nrc=1\non the submount\nhidden by the mount\nunder\n",
        "rbind shows the submount (read-only under ro), bind the directory under it:\n{out}"
    );
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    assert_eq!(fs::read_to_string(sub.join("new")).unwrap(), "x\n");
}

#[test]
fn programs_outside_the_image_start_as_init_and_by_exec() {
    // The init is a script in a bind mount (a volume with an entrypoint);
    // exec runs a program the container wrote into its root overlay.
    let moat = Moat::new();
    let vol = moat_tests::TempDir::new("entrypoint");
    fs::write(vol.path().join("entry.sh"), "#!/bin/sh\necho '#!/bin/sh' > /made.sh\necho 'echo made by the container' >> /made.sh\nchmod +x /made.sh\necho entry ran\nexec /bin/busybox sleep 1000\n").unwrap();
    fs::set_permissions(vol.path().join("entry.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let source = vol.path().to_string_lossy().into_owned();
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/vol/entry.sh"]);
        spec["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/vol", "type": "bind", "source": source, "options": ["rbind", "ro"]
        }));
    });
    let id = unique_name("entry");
    moat.run(&["run", "--detach", "--bundle", bundle.path_str(), &id]).assert_success();
    let start = std::time::Instant::now();
    let out = loop {
        let out = moat.run(&["exec", &id, "/made.sh"]);
        if out.success() || start.elapsed() > DEADLINE {
            break out;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    out.assert_success();
    assert_eq!(out.stdout, "made by the container\n", "{out}");
    moat.run(&["delete", "--force", &id]).assert_success();
}
