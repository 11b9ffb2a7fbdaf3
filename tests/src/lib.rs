//! Harness for the tests that drive the real `moat` binary.
//!
//! Every test gets its own `--root` temp dir ([`Moat`]) and its own bundle
//! dir ([`Bundle`]) whose `config.json` points (absolute `root.path`) at the
//! shared busybox rootfs built by `scripts/make-bundles`, so deriving a bundle
//! with new args costs one small file write. [`Bundle::derive_debian`] does the
//! same from the Debian (debootstrap) bundle built by `scripts/make-rootfs`.
//!
//! Environment:
//! * `MOAT_BIN` — the binary under test (default
//!   `$CARGO_TARGET_DIR/release/moat`, else `<workspace>/target/release/moat`).
//! * `MOAT_TEST_BUNDLES` — bundles dir (default `/var/cache/moat-test/bundles`).
//! * `MOAT_TEST_TIMEOUT` — seconds one moat command may take (default 60).
//!
//! Nothing here skips: a missing binary, bundle or root privilege is a loud
//! panic that says what to run, because a suite that silently skips is a
//! suite that silently passes.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Root of the workspace (parent of `tests/`).
pub fn workspace_dir() -> PathBuf {
    // Cargo sets CARGO_MANIFEST_DIR for the test process too: prefer it to
    // the path compiled in, which is stale when a shared target dir's
    // build of this library came from another clone of the repository.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let manifest = manifest.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().expect("tests/ has a parent").to_path_buf()
}

/// The `moat` binary under test. Panics, naming what to build, if missing.
pub fn moat_bin() -> PathBuf {
    let bin = match std::env::var_os("MOAT_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_dir().join("target"));
            target.join("release").join("moat")
        }
    };
    assert!(
        bin.is_file(),
        "moat binary not found at {} — run `cargo build --release` (with the same \
         CARGO_TARGET_DIR) or set MOAT_BIN",
        bin.display()
    );
    bin
}

/// Directory holding the bundles built by `scripts/make-bundles`.
pub fn bundles_dir() -> PathBuf {
    let dir = std::env::var_os("MOAT_TEST_BUNDLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/moat-test/bundles"));
    assert!(
        dir.join("busybox/config.json").is_file(),
        "test bundles missing under {} — run scripts/make-bundles (or set MOAT_TEST_BUNDLES)",
        dir.display()
    );
    dir
}

/// The shared busybox bundle (base for [`Bundle::derive`]).
pub fn busybox_bundle() -> PathBuf {
    bundles_dir().join("busybox")
}

/// The shared Debian bundle: bookworm minbase + python3 from debootstrap,
/// built by `scripts/make-rootfs` (called by `scripts/make-bundles`). Its
/// `.key` is written last, so a dir without one is not a finished build.
pub fn debian_bundle() -> PathBuf {
    let dir = bundles_dir().join("debian");
    assert!(
        dir.join("config.json").is_file() && dir.join(".key").is_file() && dir.join("rootfs/usr/bin/bash").is_file(),
        "Debian bundle missing under {} — run scripts/make-bundles (needs debootstrap and a Debian \
         mirror); to leave these tests out on purpose, run `MOAT_TEST_DEBIAN=0 scripts/test`",
        dir.display()
    );
    dir
}

/// The Debian rootfs (`root.path` of [`debian_bundle`]).
pub fn debian_rootfs() -> PathBuf {
    let base = debian_bundle();
    let mut spec = read_config(&base.join("config.json"));
    absolutize_root(&mut spec, &base);
    PathBuf::from(spec["root"]["path"].as_str().expect("debian config.json has root.path"))
}

/// Panics unless running as root: the runtime needs it, and skipping would hide it.
pub fn require_root() {
    let euid = nix::unistd::geteuid().as_raw();
    assert_eq!(
        euid, 0,
        "these tests drive a container runtime and must run as root (euid is {euid}); \
         use scripts/test as root"
    );
}

fn timeout_default() -> Duration {
    let secs = std::env::var("MOAT_TEST_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    Duration::from_secs(secs)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique in this machine's lifetime of test runs: `<prefix>-<pid>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// A directory removed (recursively, best effort) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `/tmp/moat-test-<prefix>-<pid>-<n>` (mode 0755, so the
    /// unprivileged sandbox can traverse it).
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique_name(&format!("moat-test-{prefix}")));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating temp dir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The result of one command, printable as a complete failure report.
#[derive(Debug)]
pub struct Output {
    pub cmd: String,
    pub status: Option<ExitStatus>,
    pub timed_out: Option<Duration>,
    pub stdout: String,
    pub stderr: String,
    /// Extra context appended to the report (e.g. the tail of moat's --log).
    pub context: String,
}

impl Output {
    /// Shell-style exit status: the code, or 128+signal; -1 if it timed out.
    pub fn exit_code(&self) -> i32 {
        match self.status {
            Some(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
            None => -1,
        }
    }

    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Panics with the full report unless the command exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Panics with the full report unless the command ran to a non-zero exit.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(self.status.is_some() && !self.success(), "command was expected to fail but did not:\n{self}");
        self
    }

    /// Panics with the full report unless the exit status is `want`.
    #[track_caller]
    pub fn assert_exit(&self, want: i32) -> &Self {
        assert_eq!(self.exit_code(), want, "unexpected exit status (want {want}):\n{self}");
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  command: {}", self.cmd)?;
        match (self.status, self.timed_out) {
            (_, Some(t)) => writeln!(f, "  status:  TIMED OUT after {t:?} (killed)")?,
            (Some(s), None) => match (s.code(), s.signal()) {
                (Some(c), _) => writeln!(f, "  status:  exit code {c}")?,
                (None, Some(sig)) => writeln!(f, "  status:  killed by signal {sig}")?,
                _ => writeln!(f, "  status:  {s:?}")?,
            },
            (None, None) => writeln!(f, "  status:  unknown")?,
        }
        writeln!(f, "  --- stdout ---\n{}", indent(&self.stdout))?;
        writeln!(f, "  --- stderr ---\n{}", indent(&self.stderr))?;
        if !self.context.is_empty() {
            writeln!(f, "{}", self.context)?;
        }
        Ok(())
    }
}

fn indent(s: &str) -> String {
    if s.is_empty() {
        return "    (empty)".to_string();
    }
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Renders a `Command` as a copy-pasteable shell line.
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![shell_quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    parts.join(" ")
}

fn drain(mut r: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = Arc::clone(&buf);
    let h = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => b.lock().unwrap().extend_from_slice(&chunk[..n]),
            }
        }
    });
    (buf, h)
}

/// Runs `cmd` with stdin from /dev/null, capturing stdout and stderr, killing
/// it after `timeout`. Output is collected incrementally, so a daemonized
/// grandchild that keeps the pipes open (as a created container does with
/// its stdio) does not hang the test: after the command exits we wait at most
/// a second for EOF and report what arrived.
pub fn run_cmd(cmd: &mut Command, timeout: Duration) -> Output {
    let desc = describe(cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child: Child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot spawn `{desc}`: {e}"),
    };
    let (out_buf, out_h) = drain(child.stdout.take().expect("piped stdout"));
    let (err_buf, err_h) = drain(child.stderr.take().expect("piped stderr"));
    let start = Instant::now();
    let mut timed_out = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                timed_out = Some(timeout);
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for `{desc}`: {e}"),
        }
    };
    let grace = Instant::now() + Duration::from_secs(1);
    while !(out_h.is_finished() && err_h.is_finished()) && Instant::now() < grace {
        thread::sleep(Duration::from_millis(5));
    }
    let stdout = String::from_utf8_lossy(&out_buf.lock().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_buf.lock().unwrap()).into_owned();
    Output { cmd: desc, status, timed_out, stdout, stderr, context: String::new() }
}

/// One moat "installation" for one test: its own `--root` and `--log`.
/// On drop, force-deletes every container left in the root, SIGKILLs any
/// process whose command line still mentions the root, and removes it.
#[derive(Debug)]
pub struct Moat {
    bin: PathBuf,
    dir: TempDir,
    root: PathBuf,
    log: PathBuf,
    pub timeout: Duration,
}

impl Moat {
    pub fn new() -> Moat {
        require_root();
        let bin = moat_bin();
        let dir = TempDir::new("root");
        let root = dir.path().join("state");
        let log = dir.path().join("moat.log");
        fs::create_dir_all(&root).expect("create --root dir");
        Moat { bin, dir, root, log, timeout: timeout_default() }
    }

    /// The `--root` dir.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `--log` file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// A scratch dir that lives as long as this `Moat`.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// `moat --root R --log L [global...]` with no subcommand yet.
    pub fn command(&self, global: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).arg("--log").arg(&self.log);
        c.args(global);
        c
    }

    /// Runs `moat --root R --log L <args...>`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_global(&[], args)
    }

    /// Runs `moat --root R --log L <global...> <args...>`.
    pub fn run_global(&self, global: &[&str], args: &[&str]) -> Output {
        let mut c = self.command(global);
        c.args(args);
        let mut out = run_cmd(&mut c, self.timeout);
        if !out.success() {
            out.context = self.log_tail(40);
        }
        out
    }

    /// `moat run --bundle B ID` for a fresh id.
    pub fn run_bundle(&self, bundle: &Bundle) -> Output {
        let id = unique_name("run");
        self.run(&["run", "--bundle", bundle.path_str(), &id])
    }

    /// The last `n` lines of the --log file, formatted for a failure report.
    pub fn log_tail(&self, n: usize) -> String {
        match fs::read_to_string(&self.log) {
            Ok(s) => {
                let lines: Vec<&str> = s.lines().collect();
                let from = lines.len().saturating_sub(n);
                format!("  --- {} (last {n} lines) ---\n{}", self.log.display(), indent(&lines[from..].join("\n")))
            }
            Err(e) => format!("  --- {}: {e} ---", self.log.display()),
        }
    }

    pub fn log_contents(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `moat state ID`, parsed. Panics with the report if it fails.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let out = self.run(&["state", id]);
        out.assert_success();
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("`state` printed invalid JSON ({e}):\n{out}"))
    }

    /// Polls `moat state ID` until its status is one of `want`, or panics
    /// after `deadline` with the last state seen.
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: &[&str], deadline: Duration) -> Value {
        let start = Instant::now();
        loop {
            let st = self.state(id);
            let status = st["status"].as_str().unwrap_or("").to_string();
            if want.contains(&status.as_str()) {
                return st;
            }
            if start.elapsed() > deadline {
                panic!(
                    "container {id} did not reach {want:?} within {deadline:?}; last state:\n{st:#}\n{}",
                    self.log_tail(40)
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Container ids present as entries in the --root dir.
    pub fn root_entries(&self) -> Vec<String> {
        match fs::read_dir(&self.root) {
            Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Live processes whose command line mentions this test's dir.
    pub fn leftover_processes(&self) -> Vec<(i32, String)> {
        processes_mentioning(&self.dir.path().to_string_lossy())
    }
}

impl Default for Moat {
    fn default() -> Self {
        Moat::new()
    }
}

impl Drop for Moat {
    fn drop(&mut self) {
        for id in self.root_entries() {
            let mut c = self.command(&[]);
            c.args(["delete", "--force", &id]);
            let _ = run_cmd(&mut c, Duration::from_secs(10));
        }
        for (pid, _) in self.leftover_processes() {
            // A pid just read from /proc: at worst it is gone (ESRCH).
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// Live (non-zombie) processes, other than this one, whose NUL-joined
/// command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else { return found };
    for e in rd.filter_map(|e| e.ok()) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me || !pid_alive(pid) {
            continue;
        }
        let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push((pid, cmdline.trim_end().to_string()));
        }
    }
    found
}

/// `/proc/PID/status` as key → value (values trimmed), or None if gone.
pub fn proc_status(pid: i64) -> Option<HashMap<String, String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(s.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.to_string(), v.trim().to_string())).collect())
}

/// True if `pid` exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised comm.
        Ok(s) => s.rsplit_once(')').map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])).unwrap_or(false),
        Err(_) => false,
    }
}

/// Waits until `pid` is gone (or a zombie); false on timeout.
pub fn wait_pid_gone(pid: i32, deadline: Duration) -> bool {
    let start = Instant::now();
    while pid_alive(pid) {
        if start.elapsed() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    true
}

/// An OCI bundle dir owned by one test: a `config.json` and nothing else
/// (the rootfs is referenced by absolute `root.path`).
#[derive(Debug)]
pub struct Bundle {
    dir: TempDir,
    path_str: String,
}

impl Bundle {
    /// The busybox bundle with `process.args` replaced.
    pub fn derive(args: &[&str]) -> Bundle {
        Bundle::derive_with(|spec| {
            spec["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        })
    }

    /// The busybox bundle's config, edited by `edit`.
    pub fn derive_with(edit: impl FnOnce(&mut Value)) -> Bundle {
        Bundle::derive_from(&busybox_bundle(), edit)
    }

    /// The Debian bundle ([`debian_bundle`]) with `process.args` replaced.
    pub fn derive_debian(args: &[&str]) -> Bundle {
        Bundle::derive_debian_with(|spec| {
            spec["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        })
    }

    /// The Debian bundle's config, edited by `edit`.
    pub fn derive_debian_with(edit: impl FnOnce(&mut Value)) -> Bundle {
        Bundle::derive_from(&debian_bundle(), edit)
    }

    /// The config.json of the bundle dir `base` (root.path made absolute), edited by `edit`.
    pub fn derive_from(base: &Path, edit: impl FnOnce(&mut Value)) -> Bundle {
        let mut spec = read_config(&base.join("config.json"));
        absolutize_root(&mut spec, base);
        edit(&mut spec);
        Bundle::from_config(&spec)
    }

    /// The busybox config with its rootfs replaced by `rootfs` and new args.
    pub fn with_rootfs(rootfs: &Path, args: &[&str]) -> Bundle {
        let rootfs = rootfs.to_string_lossy().into_owned();
        Bundle::derive_with(|spec| {
            spec["root"]["path"] = Value::from(rootfs);
            spec["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        })
    }

    /// A bundle whose config.json is exactly `raw` (which may be invalid).
    pub fn from_raw(raw: &str) -> Bundle {
        let dir = TempDir::new("bundle");
        fs::write(dir.path().join("config.json"), raw).expect("write config.json");
        let path_str = dir.path().to_string_lossy().into_owned();
        Bundle { dir, path_str }
    }

    pub fn from_config(spec: &Value) -> Bundle {
        Bundle::from_raw(&serde_json::to_string_pretty(spec).expect("serialize config"))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_str(&self) -> &str {
        &self.path_str
    }
}

fn read_config(path: &Path) -> Value {
    let raw = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e} — run scripts/make-bundles", path.display()));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn absolutize_root(spec: &mut Value, bundle: &Path) {
    if let Some(p) = spec["root"]["path"].as_str() {
        if !p.starts_with('/') {
            spec["root"]["path"] = Value::from(bundle.join(p).to_string_lossy().into_owned());
        }
    }
}

/// Compiles `src` with `gcc -static -O1 -pthread -o out`, panicking with gcc's output.
pub fn gcc_static(src: &Path, out: &Path) {
    let mut c = Command::new("gcc");
    c.args(["-static", "-O1", "-Wall", "-pthread", "-o"]).arg(out).arg(src);
    let o = run_cmd(&mut c, Duration::from_secs(120));
    assert!(
        o.success(),
        "compiling {} failed (is gcc + libc6-dev installed? scripts/test installs them):\n{o}",
        src.display()
    );
}
