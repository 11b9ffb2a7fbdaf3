//! Container records on disk: `<root>/<id>/` holds `state.json` (written
//! atomically: temporary file, fsync, rename), `lock` (an `flock` taken
//! around every mutation), `control.sock` and `exit`.

use crate::error::{Error, Result};
use crate::procs::Proc;
use crate::status::Status;
use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Checks a container id: `^[\w+.-]+$`, not `.` or `..`, at most 1024 bytes.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason| Err(Error::InvalidId { id: id.to_string(), reason });
    if id.is_empty() {
        return bad("it is empty");
    }
    if id == "." || id == ".." {
        return bad("it must not be \".\" or \"..\"");
    }
    if id.len() > 1024 {
        return bad("it is longer than 1024 bytes");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || "_+.-".contains(c)) {
        return bad("only letters, digits, '_', '+', '.' and '-' are allowed");
    }
    Ok(())
}

/// The runtime's record of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub status: Status,
    /// Absolute path of the bundle.
    pub bundle: PathBuf,
    /// The sandbox (`moat boot`) process; pid 0 while creating.
    pub sandbox_pid: i32,
    pub sandbox_start_time: u64,
    pub gofer_pid: i32,
    pub gofer_start_time: u64,
    /// RFC 3339.
    pub created: String,
    pub annotations: BTreeMap<String, String>,
    /// User name (or uid) of whoever created the container.
    pub owner: String,
    pub control_socket: PathBuf,
    pub exit_file: PathBuf,
    /// The spec's `process` as it was at create: `exec` starts from its
    /// env, cwd and user, as runc does, even if the bundle changed since.
    #[serde(default)]
    pub process: Option<oci_spec::runtime::Process>,
    /// The container's host cgroup, if one was made.
    #[serde(default)]
    pub cgroup: Option<crate::cgroup::Cgroup>,
    /// The spec's `hooks` as they were at create (`poststop` runs at delete,
    /// when the bundle may be gone).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
}

impl State {
    pub fn sandbox(&self) -> Proc {
        Proc { pid: self.sandbox_pid, start_time: self.sandbox_start_time }
    }

    pub fn gofer(&self) -> Proc {
        Proc { pid: self.gofer_pid, start_time: self.gofer_start_time }
    }

    /// The status as it really is: a record that says created or running
    /// whose sandbox is gone (or whose pid now belongs to someone else) is
    /// stopped.
    pub fn effective_status(&self) -> Status {
        if self.status.sandbox_expected() && !self.sandbox().alive() {
            Status::Stopped
        } else {
            self.status
        }
    }

    /// The OCI runtime-spec state of the container, as `runc state` prints.
    pub fn oci(&self) -> serde_json::Value {
        let status = self.effective_status();
        let pid = if status.sandbox_expected() { self.sandbox_pid } else { 0 };
        self.oci_as(status, pid)
    }

    /// The OCI state with the given status and pid: what hooks are handed
    /// while the record is between two statuses.
    pub fn oci_as(&self, status: Status, pid: i32) -> serde_json::Value {
        serde_json::json!({
            "ociVersion": oci_version(),
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
            "annotations": self.annotations,
        })
    }
}

/// The runtime-spec version moat implements.
pub fn oci_version() -> &'static str {
    "1.0.2"
}

/// The directory of one container under the runtime root.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    pub id: String,
    pub dir: PathBuf,
}

/// An exclusive `flock` on a container's lock file, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl ContainerDir {
    /// The directory for `id` under `root` (the id is validated).
    pub fn new(root: &Path, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        Ok(ContainerDir { id: id.to_string(), dir: root.join(id) })
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.dir.join("lock")
    }
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }
    pub fn exit_file(&self) -> PathBuf {
        self.dir.join("exit")
    }

    pub fn exists(&self) -> bool {
        self.state_file().exists()
    }

    /// Creates the directory (and `root` if needed); fails with `Exists`
    /// without touching anything if the container already exists.
    pub fn create(&self) -> Result<()> {
        let root = self.dir.parent().unwrap_or(Path::new("/"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root)
            .map_err(Error::io("create the runtime root", root))?;
        match std::fs::DirBuilder::new().mode(0o711).create(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Exists(self.id.clone())),
            Err(e) => Err(Error::io("create the container directory", &self.dir)(e)),
        }
    }

    /// Takes the container's lock, waiting for other holders. `NotFound`
    /// if the container directory does not exist (or vanished meanwhile).
    pub fn lock(&self) -> Result<Lock> {
        self.lock_with(FlockOperation::LockExclusive)?.ok_or_else(|| Error::NotFound(self.id.clone()))
    }

    /// Takes the lock only if nobody holds it: `Ok(None)` if it is held
    /// or the container is gone.
    pub fn try_lock(&self) -> Result<Option<Lock>> {
        self.lock_with(FlockOperation::NonBlockingLockExclusive)
    }

    fn lock_with(&self, op: FlockOperation) -> Result<Option<Lock>> {
        let path = self.lock_file();
        let file = match OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open the lock file", &path)(e)),
        };
        match flock(&file, op) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(Error::io("lock", &path)(e.into())),
        }
        // A deleter may have removed the directory while we waited.
        if !self.dir.exists() {
            return Ok(None);
        }
        Ok(Some(Lock { _file: file }))
    }

    /// Reads the record. `NotFound` if there is none.
    pub fn load(&self) -> Result<State> {
        let path = self.state_file();
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound(self.id.clone())),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        serde_json::from_slice(&data).map_err(|source| Error::CorruptState { path, source })
    }

    /// Writes the record atomically. Callers hold the lock.
    pub fn save(&self, state: &State, _lock: &Lock) -> Result<()> {
        let json = serde_json::to_vec_pretty(state).expect("state serializes");
        write_atomic(&self.state_file(), &json)
    }

    /// Removes the container's directory and everything in it.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &self.dir)(e)),
        }
    }
}

/// Writes `data` to `path` so that readers see the old or the new content,
/// never a mix: a temporary file beside it, fsync, rename, fsync the
/// directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", path)(e)
    })
}

/// Every container record under `root`, sorted by id. Directories without
/// a readable record (a create in progress before its first write, other
/// files) are skipped.
pub fn list(root: &Path) -> Result<Vec<State>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read the runtime root", root)(e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(dir) = ContainerDir::new(root, &name) else { continue };
        if let Ok(state) = dir.load() {
            out.push(state);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    pub struct TempDir(pub PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("moat-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub fn sample(id: &str) -> State {
        State {
            id: id.into(),
            status: Status::Created,
            bundle: "/b".into(),
            sandbox_pid: 0,
            sandbox_start_time: 0,
            gofer_pid: 0,
            gofer_start_time: 0,
            created: "1970-01-01T00:00:00.000000000Z".into(),
            annotations: BTreeMap::new(),
            owner: "root".into(),
            control_socket: "/x/control.sock".into(),
            exit_file: "/x/exit".into(),
            process: None,
            cgroup: None,
            hooks: None,
        }
    }

    #[test]
    fn ids() {
        for ok in ["a", "abc-1.2_3+x", "A", "..."] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", "a\0"] {
            assert!(matches!(validate_id(bad), Err(Error::InvalidId { .. })), "{bad:?}");
        }
        assert!(validate_id(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn records_round_trip_and_duplicates_are_refused() {
        let t = TempDir::new("state");
        let cd = ContainerDir::new(&t.0.join("root"), "c1").unwrap();
        cd.create().unwrap();
        assert!(matches!(cd.load(), Err(Error::NotFound(_))));
        let lock = cd.lock().unwrap();
        let mut st = sample("c1");
        cd.save(&st, &lock).unwrap();
        assert_eq!(cd.load().unwrap(), st);
        st.status = Status::Running;
        cd.save(&st, &lock).unwrap();
        assert_eq!(cd.load().unwrap().status, Status::Running);
        // No temporary files are left beside the record.
        let names: Vec<_> = std::fs::read_dir(&cd.dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A second create fails and leaves the first alone.
        assert!(matches!(cd.create(), Err(Error::Exists(_))));
        assert_eq!(cd.load().unwrap(), st);
        // The lock is exclusive.
        assert!(cd.try_lock().unwrap().is_none());
        drop(lock);
        assert!(cd.try_lock().unwrap().is_some());
        assert_eq!(list(&t.0.join("root")).unwrap(), vec![st]);
        cd.remove().unwrap();
        assert!(matches!(cd.lock(), Err(Error::NotFound(_))));
        assert!(list(&t.0.join("root")).unwrap().is_empty());
    }

    #[test]
    fn corrupt_records_are_named() {
        let t = TempDir::new("corrupt");
        let cd = ContainerDir::new(&t.0, "c").unwrap();
        cd.create().unwrap();
        std::fs::write(cd.state_file(), b"{").unwrap();
        let e = cd.load().unwrap_err().to_string();
        assert!(e.contains("state.json"), "{e}");
    }

    #[test]
    fn dead_sandbox_means_stopped() {
        let mut st = sample("c");
        st.status = Status::Running;
        st.sandbox_pid = std::process::id() as i32;
        st.sandbox_start_time = crate::procs::start_time(st.sandbox_pid).unwrap();
        assert_eq!(st.effective_status(), Status::Running);
        assert_eq!(st.oci()["pid"], st.sandbox_pid);
        st.sandbox_start_time += 1;
        assert_eq!(st.effective_status(), Status::Stopped);
        assert_eq!(st.oci()["status"], "stopped");
        assert_eq!(st.oci()["pid"], 0);
    }
}
