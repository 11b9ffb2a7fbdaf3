//! The spawn path end to end, with a shell script standing in for the
//! moat binary (`boot` speaks the handshake, `gofer` just sleeps), until
//! the real `moat boot` lands. Needs root.

use runtime::container::{CreateOpts, Runtime};
use runtime::{Error, Status};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const READY: &str = r#"#!/bin/sh
case "$1" in
gofer) exec sleep 1000 ;;
boot) exec unshare -U /bin/sh -c 'printf U >&5; head -c1 <&5 >/dev/null; printf R >&5; exec 5>&-; exec sleep 1000' ;;
esac
"#;

const FAILING: &str = r#"#!/bin/sh
case "$1" in
gofer) exec sleep 1000 ;;
boot) exec unshare -U /bin/sh -c 'printf U >&5; head -c1 <&5 >/dev/null; printf "Eno such platform" >&5; sleep 1000' ;;
esac
"#;

fn setup(tag: &str, script: &str) -> (PathBuf, Runtime) {
    let dir = std::env::temp_dir().join(format!("moat-fake-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bundle/rootfs")).unwrap();
    runtime::spec::write_new(&dir.join("bundle"), &runtime::spec::default_spec()).unwrap();
    let exe = dir.join("fake-moat");
    std::fs::write(&exe, script).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut rt = Runtime::new(dir.join("root"));
    rt.exe = exe;
    (dir, rt)
}

#[test]
fn create_then_force_delete() {
    let (dir, rt) = setup("ok", READY);
    let pid_file = dir.join("pid");
    let opts = CreateOpts { pid_file: Some(pid_file.clone()), ..Default::default() };
    let st = rt.create("c1", &dir.join("bundle"), &opts).unwrap();
    assert_eq!(st.status, Status::Created);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), st.sandbox_pid.to_string());
    assert!(st.sandbox().alive() && st.gofer().alive());
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{}/uid_map", st.sandbox_pid))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534", "65534", "1"]
    );
    assert_eq!(rt.state("c1").unwrap().effective_status(), Status::Created);
    assert!(matches!(rt.create("c1", &dir.join("bundle"), &opts), Err(Error::Exists(_))));
    assert!(matches!(rt.delete("c1", false), Err(Error::StillRunning(..))));
    rt.delete("c1", true).unwrap();
    assert!(!st.sandbox().alive() && !st.gofer().alive());
    assert!(!dir.join("root/c1").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sandbox_failure_is_reported_and_cleaned_up() {
    // Another id than the other test's: they run in parallel, and the id
    // names the container's cgroup.
    let (dir, rt) = setup("fail", FAILING);
    let e = rt.create("c2", &dir.join("bundle"), &CreateOpts::default()).unwrap_err().to_string();
    assert!(e.contains("container c2: the sandbox failed to start: no such platform"), "{e}");
    assert!(!dir.join("root/c2").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
