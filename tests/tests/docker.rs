//! Real clients drive moat (issue #6). Docker: a private `dockerd` (its own
//! data root, exec root and socket, the default bridge off) with moat added
//! as a runtime, an image imported from a rootfs tarball, and the commands
//! users type. containerd: a private `containerd` whose runc shim runs moat
//! as its runc binary (`ctr run --runc-binary`). Podman: `--runtime moat`
//! with a storage and run root of the test's own. Needs root, Debian's
//! docker.io and podman (scripts/test installs them; docker.io brings
//! containerd) and a built `moat`.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use moat_tests::{
    busybox_bundle, gcc_static, moat_bin, processes_mentioning, run_cmd, unique_name, workspace_dir, Output, TempDir,
};

const IMAGE: &str = "moat-test-busybox";

/// A `dockerd` of the test's own; stopped (with everything it ran) on drop.
struct Dockerd {
    dir: TempDir,
    daemon: Child,
}

impl Dockerd {
    fn start() -> Dockerd {
        let dir = TempDir::new("docker");
        let config = dir.path().join("daemon.json");
        fs::write(&config, "{}").unwrap();
        let log = fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let daemon = Command::new("dockerd")
            .args(["--data-root", &p("data"), "--exec-root", &p("exec"), "--pidfile", &p("dockerd.pid")])
            .args(["-H", &format!("unix://{}", p("docker.sock")), "--config-file", &p("daemon.json")])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false", "--storage-driver=vfs"])
            .arg(format!("--add-runtime=moat={}", moat_bin().display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dockerd (scripts/test installs docker.io): {e}"));
        let d = Dockerd { dir, daemon };
        let start = Instant::now();
        while !d.docker(&["version"]).success() {
            assert!(start.elapsed() < Duration::from_secs(60), "dockerd did not come up:\n{}", d.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn docker(&self, args: &[&str]) -> Output {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", format!("unix://{}", self.dir.path().join("docker.sock").display())).args(args);
        run_cmd(&mut c, Duration::from_secs(120))
    }

    /// `docker ARGS`, which must succeed; its standard output, trimmed.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.success(), "{out}\nmoat's containers may have logged to dockerd:\n{}", tail(&self.log(), 30));
        out.stdout.trim().to_string()
    }

    /// Imports busybox plus the static programs in `extra` as `IMAGE`.
    fn import_image(&self, extra: &[(PathBuf, &str)]) {
        let stage = TempDir::new("docker-image");
        let cp = Command::new("cp")
            .args(["-a", &format!("{}/.", busybox_bundle().join("rootfs").display())])
            .arg(stage.path())
            .status()
            .unwrap();
        assert!(cp.success(), "copying the busybox rootfs");
        for (file, name) in extra {
            fs::copy(file, stage.path().join(name)).unwrap();
        }
        let tar = stage.path().with_extension("tar");
        let status = Command::new("tar").arg("-C").arg(stage.path()).arg("-cf").arg(&tar).arg(".").status().unwrap();
        assert!(status.success(), "tar of the image rootfs");
        self.ok(&["import", &tar.to_string_lossy(), IMAGE]);
        let _ = fs::remove_file(&tar);
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let ids = self.docker(&["ps", "-aq"]).stdout;
        for id in ids.split_whitespace() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let start = Instant::now();
        while self.daemon.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.daemon.kill();
                let _ = self.daemon.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // dockerd's own containerd and shims live under the exec root.
        for (pid, _) in processes_mentioning(&self.dir.path().to_string_lossy()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = Command::new("umount").arg("-R").arg(self.dir.path()).stderr(Stdio::null()).status();
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn docker_runs_containers_with_moat() {
    let d = Dockerd::start();
    let touch = TempDir::new("docker-touch");
    gcc_static(&workspace_dir().join("bench/touch.c"), &touch.path().join("touch"));
    d.import_image(&[(touch.path().join("touch"), "touch")]);
    let run = ["run", "--runtime=moat", "--network=none"];

    // docker run --rm: output, and the exit code comes back.
    let out = d.ok(&[&run[..], &["--rm", IMAGE, "echo", "hi"]].concat());
    assert_eq!(out, "hi");
    let out = d.docker(&[&run[..], &["--rm", IMAGE, "sh", "-c", "exit 5"]].concat());
    assert_eq!(out.exit_code(), 5, "{out}");

    // -t: a terminal through the console socket (the pty's ONLCR shows).
    let out = d.ok(&[&run[..], &["--rm", "-t", IMAGE, "sh", "-c", "tty; echo $((6*7))"]].concat());
    assert_eq!(out, "/dev/console\r\n42", "docker run -t");

    // The container runs in moat's kernel.
    let out = d.ok(&[&run[..], &["--rm", IMAGE, "uname", "-v"]].concat());
    assert!(out.contains("moat"), "uname -v in a moat container: {out}");

    // A detached container: exec, logs, stop, rm.
    let id = d.ok(&[&run[..], &["-d", IMAGE, "sh", "-c", "echo started; exec sleep 1000"]].concat());
    assert_eq!(d.ok(&["exec", &id, "sh", "-c", "echo inside $((6*7))"]), "inside 42");
    let ps = d.ok(&["exec", &id, "ps"]);
    assert!(ps.contains("sleep 1000"), "ps inside the container:\n{ps}");
    let start = Instant::now();
    while !d.ok(&["logs", &id]).contains("started") {
        assert!(start.elapsed() < Duration::from_secs(10), "docker logs never showed the output");
        std::thread::sleep(Duration::from_millis(100));
    }
    d.ok(&["stop", "-t", "2", &id]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.Running}}", &id]), "false");
    d.ok(&["rm", &id]);
    let left = processes_mentioning(&id);
    assert!(left.is_empty(), "processes of {id} left after docker rm: {left:?}");

    // Volumes and Docker's own binds (/etc/hostname, /etc/hosts): served by
    // the gofer, writes reach the host.
    let vol = TempDir::new("docker-volume");
    fs::write(vol.path().join("in"), "from the host\n").unwrap();
    let bind = format!("{}:/data", vol.path().display());
    let out = d.ok(&[
        &run[..],
        &[
            "--rm",
            "--hostname=moat-test-host",
            "-v",
            &bind,
            IMAGE,
            "sh",
            "-c",
            "cat /data/in; echo written > /data/out; cat /etc/hostname; grep -q localhost /etc/hosts && echo hosts",
        ],
    ]
    .concat());
    assert_eq!(out, "from the host\nmoat-test-host\nhosts", "a container with a volume (the image has no /etc/hosts)");
    assert_eq!(fs::read_to_string(vol.path().join("out")).unwrap(), "written\n");
    let ro = format!("{}:/data:ro", vol.path().display());
    let out = d.docker(&[&run[..], &["--rm", "-v", &ro, IMAGE, "sh", "-c", "echo x > /data/out"]].concat());
    assert!(!out.success() && out.stderr.contains("Read-only file system"), "writing to a :ro volume:\n{out}");

    // --memory: the application over the limit is killed (137), the small one runs.
    let out = d.docker(&[&run[..], &["--rm", "--memory=64m", IMAGE, "/touch", "256"]].concat());
    assert_eq!(out.exit_code(), 137, "touching 256 MiB under --memory=64m:\n{out}");
    let out = d.docker(&[&run[..], &["--rm", "--memory=64m", IMAGE, "/touch", "16"]].concat());
    assert!(out.success() && out.stdout.starts_with("ns_per_page"), "touching 16 MiB under --memory=64m:\n{out}");
}

/// A Docker bridge network of the test's own (198.19.0.0/16 is set aside
/// for benchmarking): Docker puts the container's veth end, address and
/// default route in the namespace it hands moat, moat's sandbox takes them,
/// and the host reaches busybox httpd in the container through the bridge.
#[test]
fn docker_bridge_network_reaches_a_moat_container() {
    let d = Dockerd::start();
    d.import_image(&[]);
    let net = unique_name("moatnet");
    let bridge = format!("mbr{}", std::process::id() % 100_000);
    let subnet = format!("198.19.{}.0/24", std::process::id() % 250 + 1);
    d.ok(&["network", "create", "--driver", "bridge", "--subnet", &subnet, "-o"]
        .into_iter()
        .chain([format!("com.docker.network.bridge.name={bridge}").as_str(), &net])
        .collect::<Vec<_>>());
    let id = d.ok(&[
        "run",
        "-d",
        "--runtime=moat",
        "--network",
        &net,
        IMAGE,
        "sh",
        "-c",
        "mkdir -p /tmp/www && echo moat-behind-a-bridge > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
    ]);
    let ip = d.ok(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", &id]);
    assert!(ip.starts_with("198.19."), "the container's address on {net}: {ip:?}");
    let url = format!("http://{ip}:8080/");
    let start = Instant::now();
    let page = loop {
        let out = run_cmd(Command::new("curl").args(["-s", "-m", "5", &url]), Duration::from_secs(10));
        if out.success() && !out.stdout.is_empty() {
            break out.stdout;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "curl {url} never answered:\n{out}\n{}", tail(&d.log(), 30));
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(page, "moat-behind-a-bridge\n");
    // Inside, the interface Docker made, with its address and the route
    // out through the bridge.
    let ifaces = d.ok(&["exec", &id, "ip", "addr"]);
    assert!(ifaces.contains(&format!("inet {ip}/24")), "ip addr in the container:\n{ifaces}");
    let routes = d.ok(&["exec", &id, "ip", "route"]);
    assert!(routes.starts_with("default via 198.19."), "ip route in the container:\n{routes}");
    d.ok(&["rm", "-f", &id]);
    d.ok(&["network", "rm", &net]);
}

#[test]
fn containerd_runs_moat_as_its_runc_binary() {
    let dir = TempDir::new("containerd");
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    fs::write(p("config.toml"), "version = 2\n").unwrap();
    let log = fs::File::create(p("containerd.log")).unwrap();
    let mut daemon = Command::new("containerd")
        .args(["--config", &p("config.toml"), "--root", &p("root"), "--state", &p("state"), "--address", &p("sock")])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start containerd (docker.io brings it): {e}"));
    let ctr = |args: &[&str]| {
        let mut c = Command::new("ctr");
        c.args(["--address", &p("sock")]).args(args);
        run_cmd(&mut c, Duration::from_secs(60))
    };
    let start = Instant::now();
    while !ctr(&["version"]).success() {
        assert!(start.elapsed() < Duration::from_secs(30), "containerd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let rootfs = busybox_bundle().join("rootfs");
    let moat = moat_bin();
    let out = ctr(&[
        "run",
        "--rm",
        "--runtime",
        "io.containerd.runc.v2",
        "--runc-binary",
        &moat.to_string_lossy(),
        "--rootfs",
        &rootfs.to_string_lossy(),
        "moat-ctr",
        "/bin/sh",
        "-c",
        "echo hi from $(uname -v); exit 4",
    ]);
    let _ = daemon.kill();
    let _ = daemon.wait();
    for (pid, _) in processes_mentioning(&dir.path().to_string_lossy()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    assert_eq!(
        out.exit_code(),
        4,
        "{out}\ncontainerd's log:\n{}",
        tail(&fs::read_to_string(p("containerd.log")).unwrap_or_default(), 20)
    );
    assert!(out.stdout.starts_with("hi from ") && out.stdout.contains("moat"), "{out}");
}

#[test]
fn podman_runs_containers_with_moat() {
    let dir = TempDir::new("podman");
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let moat = moat_bin().to_string_lossy().into_owned();
    let podman = |args: &[&str]| {
        let mut c = Command::new("podman");
        c.args(["--root", &p("root"), "--runroot", &p("run"), "--storage-driver", "vfs"])
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", &moat])
            .args(args);
        run_cmd(&mut c, Duration::from_secs(120))
    };
    let ok = |args: &[&str]| {
        let out = podman(args);
        assert!(out.success(), "{out}");
        out.stdout.trim().to_string()
    };
    let tar = p("image.tar");
    let status =
        Command::new("tar").arg("-C").arg(busybox_bundle().join("rootfs")).args(["-cf", &tar, "."]).status().unwrap();
    assert!(status.success());
    ok(&["import", &tar, "moat-test-busybox"]);
    let out = podman(&["run", "--rm", "--network=none", "moat-test-busybox", "sh", "-c", "uname -v; exit 5"]);
    assert_eq!(out.exit_code(), 5, "{out}");
    assert!(out.stdout.contains("moat"), "{out}");
    let id = ok(&["run", "-d", "--network=none", "moat-test-busybox", "sh", "-c", "echo started; exec sleep 1000"]);
    assert_eq!(ok(&["exec", &id, "sh", "-c", "echo inside $((6*7))"]), "inside 42");
    let start = Instant::now();
    while !ok(&["logs", &id]).contains("started") {
        assert!(start.elapsed() < Duration::from_secs(10), "podman logs never showed the output");
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(&["stop", "-t", "2", &id]);
    ok(&["rm", &id]);
    let left = processes_mentioning(&id);
    assert!(left.is_empty(), "processes of {id} left after podman rm: {left:?}");
    let _ = Command::new("umount").arg("-R").arg(dir.path()).stderr(Stdio::null()).status();
}
