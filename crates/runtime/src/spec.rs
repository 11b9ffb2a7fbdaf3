//! The bundle's `config.json`: loading with errors that name the file and
//! the problem, the checks moat needs before spawning anything, and the
//! specs `moat spec` and `moat do` write.

use crate::error::{Error, Result};
use oci_spec::runtime::{ProcessBuilder, RootBuilder, Spec};
use std::path::{Path, PathBuf};

/// A bundle whose spec passed [`load_bundle`]'s checks.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute, canonical bundle directory.
    pub dir: PathBuf,
    pub spec: Spec,
    /// The root file system, resolved against the bundle directory.
    pub rootfs: PathBuf,
}

impl Bundle {
    pub fn terminal(&self) -> bool {
        self.spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false)
    }
}

/// Loads and checks `<bundle>/config.json`.
pub fn load_bundle(bundle: &Path) -> Result<Bundle> {
    let dir = bundle.canonicalize().map_err(Error::io("open the bundle directory", bundle))?;
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
    let bad = |message: String| Error::Spec { path: path.clone(), message };
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        check_unsigned_resources(&value).map_err(bad)?;
    }
    let spec: Spec = serde_json::from_str(&text)
        .map_err(|e| Error::Spec { path: path.clone(), message: format!("invalid JSON or spec field: {e}") })?;
    let process = spec.process().as_ref().ok_or_else(|| bad("the spec has no \"process\"".into()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(bad("\"process.args\" is missing or empty".into()));
    }
    let root = spec.root().as_ref().ok_or_else(|| bad("the spec has no \"root\"".into()))?;
    if root.path().as_os_str().is_empty() {
        return Err(bad("\"root.path\" is empty".into()));
    }
    let rootfs = dir.join(root.path());
    if !rootfs.is_dir() {
        return Err(bad(format!(
            "root file system {} (\"root.path\": {:?}) is not an existing directory",
            rootfs.display(),
            root.path()
        )));
    }
    check_bind_sources(&spec, &dir).map_err(bad)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// With `--network=sandbox` and no `network` entry in `linux.namespaces`,
/// the sandbox would stay in the runtime's own network namespace (as runc's
/// container does) and take its interfaces and addresses: refused when that
/// namespace is the host's initial one (that of pid 1).
pub fn check_network_namespace(b: &Bundle, network: &str) -> Result<()> {
    if network != "sandbox" {
        return Ok(());
    }
    let has_entry = b
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network));
    if has_entry {
        return Ok(());
    }
    if is_initial_netns(b)? {
        return Err(Error::Spec {
            path: b.dir.join("config.json"),
            message: "--network=sandbox: linux.namespaces has no \"network\" entry, so the container would share \
                      the runtime's network namespace, which is the host's initial one: the sandbox would take \
                      the host's interfaces and addresses. Add a \"network\" namespace (with the \"path\" of a \
                      prepared one, or without a path for loopback only) or use --network=none"
                .into(),
        });
    }
    Ok(())
}

/// The initial network namespace's inode number since Linux 6.18 (the
/// kernel's `PROC_NET_INIT_INO`), where /proc/1/ns/net cannot be read.
const PROC_NET_INIT_INO: u64 = 0xEFFF_FFF9;

/// Whether the calling thread's network namespace is the host's initial
/// one: the same as pid 1's, or (when a restricted /proc or a missing
/// capability hides pid 1's, as in some nested setups) the one with the
/// kernel's fixed initial inode number. Neither answer known: an error.
fn is_initial_netns(b: &Bundle) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(Error::io("inspect", Path::new("/proc/thread-self/ns/net")))?;
    match std::fs::metadata("/proc/1/ns/net") {
        Ok(init) => Ok((ours.dev(), ours.ino()) == (init.dev(), init.ino())),
        Err(_) if ours.ino() == PROC_NET_INIT_INO => Ok(true),
        Err(e) if kernel_has_fixed_init_inodes() => {
            tracing::debug!("/proc/1/ns/net: {e}; the namespace's inode is not the initial one's");
            Ok(false)
        }
        Err(e) => Err(Error::Spec {
            path: b.dir.join("config.json"),
            message: format!(
                "--network=sandbox: linux.namespaces has no \"network\" entry and moat cannot tell whether its \
                 own network namespace is the host's initial one (/proc/1/ns/net: {e}); give the container a \
                 \"network\" namespace or use --network=none"
            ),
        }),
    }
}

/// Linux 6.18 and later number the initial namespaces with fixed inodes.
fn kernel_has_fixed_init_inodes() -> bool {
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    matches!((parts.next(), parts.next()), (Some(major), Some(minor)) if (major, minor) >= (6, 18))
}

/// Every bind mount's source must exist (a relative one in the bundle),
/// as runc requires: the gofer opens them all before it serves anything.
fn check_bind_sources(spec: &Spec, dir: &Path) -> Result<(), String> {
    for m in spec.mounts().iter().flatten() {
        let options = m.options().clone().unwrap_or_default();
        if m.typ().as_deref() != Some("bind") && !options.iter().any(|o| o == "bind" || o == "rbind") {
            continue;
        }
        let dest = m.destination().display();
        let Some(source) = m.source() else { return Err(format!("the bind mount on {dest} has no \"source\"")) };
        let path = dir.join(source);
        if let Err(e) = std::fs::metadata(&path) {
            return Err(format!("the source {} of the bind mount on {dest}: {e}", path.display()));
        }
    }
    Ok(())
}

/// `linux.resources` fields that must not be negative, checked before
/// the typed parse so that the error names the field (serde's names only
/// a line and column).
fn check_unsigned_resources(spec: &serde_json::Value) -> Result<(), String> {
    const UNSIGNED: &[(&str, &str)] = &[
        ("cpu", "shares"),
        ("cpu", "period"),
        ("cpu", "burst"),
        ("cpu", "realtimePeriod"),
        ("memory", "swappiness"),
        ("blockIO", "weight"),
        ("blockIO", "leafWeight"),
    ];
    let resources = &spec["linux"]["resources"];
    for (group, field) in UNSIGNED {
        if let Some(v) = resources[group][field].as_i64().filter(|&v| v < 0) {
            return Err(format!("\"linux.resources.{group}.{field}\" is {v}; it must not be negative"));
        }
    }
    Ok(())
}

/// The spec `moat spec` writes: runc's default, except that the process
/// has no terminal.
pub fn default_spec() -> Spec {
    let mut spec = Spec::default();
    spec.set_hostname(Some("moat".into()));
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(false));
    }
    spec
}

/// The spec `moat do` runs: the host's root file system, read-only, as the
/// container root, running `args` in `cwd`.
pub fn do_spec(args: Vec<String>, cwd: &Path) -> Spec {
    let mut spec = default_spec();
    let term = std::env::var("TERM").unwrap_or_else(|_| "xterm".into());
    let process = ProcessBuilder::default()
        .terminal(false)
        .args(args)
        .env(vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            format!("TERM={term}"),
        ])
        .cwd(if cwd.is_dir() { cwd.to_path_buf() } else { PathBuf::from("/") })
        .build()
        .expect("process spec builds");
    spec.set_process(Some(process));
    spec.set_root(Some(RootBuilder::default().path("/").readonly(true).build().expect("root builds")));
    spec.set_hostname(Some("moat-do".into()));
    spec
}

/// Writes `spec` as `<dir>/config.json`, refusing to overwrite one.
pub fn write_new(dir: &Path, spec: &Spec) -> Result<PathBuf> {
    use std::io::Write;
    let path = dir.join("config.json");
    let mut f = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Spec { path, message: "already exists; remove it first".into() })
        }
        Err(e) => return Err(Error::io("create", &path)(e)),
    };
    let mut json = serde_json::to_vec_pretty(spec).expect("spec serializes");
    json.push(b'\n');
    f.write_all(&json).map_err(Error::io("write", &path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::TempDir;

    fn bundle_with(config: &str) -> TempDir {
        let t = TempDir::new("spec");
        std::fs::write(t.0.join("config.json"), config).unwrap();
        t
    }

    #[test]
    fn default_spec_loads_once_rootfs_exists() {
        let t = TempDir::new("spec");
        write_new(&t.0, &default_spec()).unwrap();
        let e = write_new(&t.0, &default_spec()).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("already exists"), "{e}");
        let e = load_bundle(&t.0).unwrap_err().to_string();
        assert!(e.contains("rootfs") && e.contains("not an existing directory"), "{e}");
        std::fs::create_dir(t.0.join("rootfs")).unwrap();
        let b = load_bundle(&t.0).unwrap();
        assert_eq!(b.rootfs, t.0.canonicalize().unwrap().join("rootfs"));
        assert!(!b.terminal());
    }

    #[test]
    fn malformed_json_names_file_line_and_column() {
        let t = bundle_with("{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}");
        let e = load_bundle(&t.0).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("line 3 column 3"), "{e}");
    }

    #[test]
    fn missing_parts_are_named() {
        let t = bundle_with(r#"{"ociVersion":"1.0.2","root":{"path":"/"}}"#);
        let e = load_bundle(&t.0).unwrap_err().to_string();
        assert!(e.contains("no \"process\""), "{e}");
        let t = bundle_with(r#"{"ociVersion":"1.0.2","process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}}}"#);
        let e = load_bundle(&t.0).unwrap_err().to_string();
        assert!(e.contains("no \"root\""), "{e}");
        let e = load_bundle(Path::new("/nonexistent/bundle")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/bundle"), "{e}");
    }

    #[test]
    fn negative_resources_are_named() {
        let t = bundle_with(r#"{"ociVersion":"1.0.2","linux":{"resources":{"cpu":{"shares":-5}}}}"#);
        let e = load_bundle(&t.0).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("\"linux.resources.cpu.shares\" is -5"), "{e}");
    }

    #[test]
    fn do_spec_uses_the_host_root_read_only() {
        let s = do_spec(vec!["true".into()], Path::new("/nonexistent"));
        let root = s.root().as_ref().unwrap();
        assert_eq!(root.path(), Path::new("/"));
        assert_eq!(root.readonly(), Some(true));
        assert_eq!(s.process().as_ref().unwrap().cwd(), Path::new("/"));
    }
}
