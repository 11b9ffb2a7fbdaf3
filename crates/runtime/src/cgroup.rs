//! The container's host cgroup (gVisor: `runsc/cgroup`): created at
//! `create`, holding the sandbox, the gofer and the stubs the sandbox
//! forks, with the spec's `linux.resources` written into it; removed at
//! `delete` and on every failure of `create`.
//!
//! Only the cgroupfs driver exists: plain directories and file writes
//! under the host's cgroup mounts, found in `/proc/self/mountinfo`. All
//! three layouts are handled the same way, as a list of hierarchies: cgroup
//! v1 (one hierarchy per controller or group of controllers, named ones
//! such as `name=systemd` included), pure v2 (one hierarchy) and the hybrid
//! (v1 controllers plus a controller-less v2 `unified` hierarchy, where the
//! processes are tracked too). The container's directory is made in every
//! hierarchy; a controller is used from a v1 hierarchy if one has it,
//! otherwise from the v2 one.
//!
//! The path is runc's: `linux.cgroupsPath` if absolute, relative to the
//! runtime's own cgroup (per hierarchy) if relative, and `<id>` relative
//! to it if absent. Directories are made one level at a time and the ones
//! made here are recorded, so that removal never touches a pre-existing
//! one. On v2 the needed controllers are enabled in the `subtree_control`
//! of each ancestor (left enabled afterwards, as runc does).

use crate::error::{Error, Result};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `destroy` waits for a cgroup to empty before giving up.
const RMDIR_TIMEOUT: Duration = Duration::from_secs(5);

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount: PathBuf,
    /// Its controllers (v1: from the mount options, `name=...` included;
    /// v2: `cgroup.controllers` of the root).
    pub controllers: Vec<String>,
    pub v2: bool,
    /// The runtime's own cgroup in it, relative to the mount.
    pub own: PathBuf,
}

/// The host's cgroup hierarchies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub hierarchies: Vec<Hierarchy>,
}

/// The v1 controllers the mount options may name.
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

impl Layout {
    /// The layout of this host, from `/proc/self/mountinfo` and
    /// `/proc/self/cgroup`.
    pub fn detect() -> Result<Layout> {
        let read = |p: &str| std::fs::read_to_string(p).map_err(Error::io("read", Path::new(p)));
        let mut layout = Layout::parse(&read("/proc/self/mountinfo")?, &read("/proc/self/cgroup")?);
        for h in layout.hierarchies.iter_mut().filter(|h| h.v2) {
            let p = h.mount.join("cgroup.controllers");
            h.controllers = std::fs::read_to_string(&p)
                .map_err(Error::io("read", &p))?
                .split_whitespace()
                .map(String::from)
                .collect();
        }
        if layout.hierarchies.is_empty() {
            return Err(Error::Unsupported(
                "cgroups (no cgroup or cgroup2 file system is mounted: /proc/self/mountinfo lists none)".into(),
            ));
        }
        Ok(layout)
    }

    /// Parses the two files (v2 hierarchies get their controllers later).
    pub fn parse(mountinfo: &str, proc_cgroup: &str) -> Layout {
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for line in mountinfo.lines() {
            let Some((pre, post)) = line.split_once(" - ") else { continue };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                continue;
            }
            let (root, mount) = (pre[3], PathBuf::from(unescape(pre[4])));
            let v2 = match post[0] {
                "cgroup2" => true,
                "cgroup" => false,
                _ => continue,
            };
            let controllers: Vec<String> = if v2 {
                Vec::new()
            } else {
                post[2]
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(String::from)
                    .collect()
            };
            // The same hierarchy mounted twice: keep the first mount.
            if hierarchies.iter().any(|h| h.v2 == v2 && (v2 || h.controllers == controllers)) {
                continue;
            }
            let own = own_path(proc_cgroup, v2, &controllers)
                .map(|p| p.strip_prefix(root).map(|rel| Path::new("/").join(rel)).unwrap_or(p))
                .unwrap_or_else(|| PathBuf::from("/"));
            hierarchies.push(Hierarchy { mount, controllers, v2, own });
        }
        Layout { hierarchies }
    }

    /// Is this pure cgroup v2?
    pub fn is_v2_only(&self) -> bool {
        self.hierarchies.iter().all(|h| h.v2)
    }

    /// The hierarchy that provides `controller`: a v1 one if any has it.
    fn provider(&self, controller: &str) -> Option<usize> {
        let has = |h: &Hierarchy| h.controllers.iter().any(|c| c == controller);
        self.hierarchies
            .iter()
            .position(|h| !h.v2 && has(h))
            .or_else(|| self.hierarchies.iter().position(|h| h.v2 && has(h)))
    }
}

/// `\040` and friends in mountinfo paths.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The runtime's cgroup in one hierarchy, from `/proc/self/cgroup`.
fn own_path(proc_cgroup: &str, v2: bool, controllers: &[String]) -> Option<PathBuf> {
    proc_cgroup.lines().find_map(|line| {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let matches = if v2 {
            ctrls.is_empty()
        } else {
            let mut a: Vec<&str> = ctrls.split(',').collect();
            let mut b: Vec<&str> = controllers.iter().map(String::as_str).collect();
            a.sort_unstable();
            b.sort_unstable();
            !ctrls.is_empty() && a == b
        };
        matches.then(|| PathBuf::from(path))
    })
}

/// `--systemd-cgroup`'s `linux.cgroupsPath`, `slice:prefix:name` (as
/// runc takes it), as the cgroup path systemd gives that unit:
/// `/SLICE-PATH/PREFIX-NAME.scope`, a slice `a-b.slice` nested as
/// `/a.slice/a-b.slice`, an empty slice `system.slice`, and a name that is
/// itself a slice used as it is. moat makes the directories itself (the
/// cgroupfs way): with systemd running, which would want the scope made
/// over D-Bus, the caller refuses the flag instead.
pub fn systemd_path(given: &str) -> Result<PathBuf> {
    let bad = |why: &str| Error::Usage(format!("linux.cgroupsPath {given:?} with --systemd-cgroup: {why}"));
    let parts: Vec<&str> = given.split(':').collect();
    let [slice, prefix, name] = parts[..] else { return Err(bad("expected \"slice:prefix:name\"")) };
    if name.is_empty() || [slice, prefix, name].iter().any(|p| p.contains('/')) {
        return Err(bad("expected \"slice:prefix:name\" with a name and no \"/\""));
    }
    let slice = if slice.is_empty() { "system.slice" } else { slice };
    let Some(stem) = slice.strip_suffix(".slice") else { return Err(bad("the slice must end in \".slice\"")) };
    let mut path = PathBuf::from("/");
    if stem != "-" {
        if stem.split('-').any(str::is_empty) {
            return Err(bad("the slice has an empty part"));
        }
        // a-b-c.slice lives in a.slice/a-b.slice/a-b-c.slice.
        let words: Vec<&str> = stem.split('-').collect();
        for i in 1..=words.len() {
            path.push(format!("{}.slice", words[..i].join("-")));
        }
    }
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    path.push(unit);
    Ok(path)
}

/// The container's cgroup path inside each hierarchy, relative to its
/// mount: see the module header. `own` is the runtime's own cgroup there.
pub fn inner_path(cgroups_path: Option<&Path>, id: &str, own: &Path) -> Result<PathBuf> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "linux.cgroupsPath {:?}: {why}",
            cgroups_path.map(|p| p.display().to_string()).unwrap_or_default()
        ))
    };
    let given = cgroups_path.filter(|p| !p.as_os_str().is_empty());
    if let Some(p) = given {
        if p.to_string_lossy().contains(':') {
            return Err(bad(
                "looks like a systemd \"slice:prefix:name\"; moat has only the cgroupfs driver, which needs a path",
            ));
        }
    }
    let rel = given.unwrap_or(Path::new(id));
    let joined = if rel.is_absolute() { rel.to_path_buf() } else { own.join(rel) };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir | Component::Prefix(_) => return Err(bad("\"..\" is not allowed")),
        }
    }
    if out == Path::new("/") {
        return Err(bad("names the root cgroup; the container needs a cgroup of its own"));
    }
    Ok(out)
}

/// One file to write in the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
    /// The spec field it comes from, for errors.
    pub field: &'static str,
}

/// Refuses every `linux.resources` field moat does not apply. `devices`
/// is accepted: the container reaches no host device (its `/dev` is the
/// sentry's devfs), which satisfies any device rule list.
pub fn check_supported(r: &LinuxResources) -> Result<()> {
    let mut bad = Vec::new();
    if let Some(m) = r.memory() {
        for (set, name) in [
            (m.reservation().is_some(), "memory.reservation"),
            (m.kernel().is_some(), "memory.kernel"),
            (m.kernel_tcp().is_some(), "memory.kernelTCP"),
            // -1 (as an unsigned number) is runc's "unset"; Docker sends it.
            (m.swappiness().is_some_and(|v| v != u64::MAX), "memory.swappiness"),
            // false is the default; Docker sends it.
            (m.disable_oom_killer() == Some(true), "memory.disableOOMKiller"),
            (m.use_hierarchy().is_some(), "memory.useHierarchy"),
        ] {
            if set {
                bad.push(name);
            }
        }
    }
    if let Some(c) = r.cpu() {
        for (set, name) in [
            (c.idle().is_some(), "cpu.idle"),
            (c.burst().is_some(), "cpu.burst"),
            (c.realtime_runtime().is_some(), "cpu.realtimeRuntime"),
            (c.realtime_period().is_some(), "cpu.realtimePeriod"),
        ] {
            if set {
                bad.push(name);
            }
        }
    }
    if let Some(b) = r.block_io() {
        // A weight of 0 is runc's "unset"; Docker sends it.
        let set = b.weight().is_some_and(|w| w != 0)
            || b.leaf_weight().is_some_and(|w| w != 0)
            || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
            || b.throttle_read_bps_device().as_ref().is_some_and(|v| !v.is_empty())
            || b.throttle_write_bps_device().as_ref().is_some_and(|v| !v.is_empty())
            || b.throttle_read_iops_device().as_ref().is_some_and(|v| !v.is_empty())
            || b.throttle_write_iops_device().as_ref().is_some_and(|v| !v.is_empty());
        if set {
            bad.push("blockIO");
        }
    }
    if r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty()) {
        bad.push("hugepageLimits");
    }
    if r.network().is_some() {
        bad.push("network");
    }
    if r.rdma().as_ref().is_some_and(|v| !v.is_empty()) {
        bad.push("rdma");
    }
    if r.unified().as_ref().is_some_and(|v| !v.is_empty()) {
        bad.push("unified");
    }
    if bad.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = bad.iter().map(|n| format!("linux.resources.{n}")).collect();
    Err(Error::Unsupported(format!(
        "{} (moat applies only memory.limit/swap, cpu.shares/quota/period/cpus/mems and pids.limit) is",
        names.join(", ")
    )))
}

/// What the host cgroup allows above the spec's memory limit. The sentry
/// enforces the limit on the application's memory itself (its OOM killer
/// ends the process over it); the cgroup covers the whole sandbox, the
/// sentry's own memory included, and is only the backstop, so it must not
/// strike first: the headroom covers the sentry and what an application
/// can touch between two looks of the sentry's watcher (10 ms).
pub const MEMORY_HEADROOM: i64 = 64 << 20;

/// The host cgroup's figure for a memory (or memory+swap) limit `l`.
fn with_headroom(l: i64) -> i64 {
    if l > 0 {
        l.saturating_add(MEMORY_HEADROOM)
    } else {
        l
    }
}

/// The files to write for `r`, in order, for a v1 or a v2 controller.
/// Zero values mean "not set", as with runc. `v2` tells, per controller,
/// whether it comes from the v2 hierarchy.
pub fn settings(r: &LinuxResources, v2: impl Fn(&str) -> bool) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    let mut set = |controller, file, value: String, field| out.push(Setting { controller, file, value, field });
    if let Some(m) = r.memory() {
        let limit = m.limit().filter(|&l| l != 0);
        let swap = m.swap().filter(|&s| s != 0);
        if v2("memory") {
            if let Some(l) = limit {
                set("memory", "memory.max", max_or(with_headroom(l)), "linux.resources.memory.limit");
            }
            if let Some(s) = swap {
                // OCI's swap is memory + swap; v2's swap.max is swap alone.
                let value = match (s, limit) {
                    (s, _) if s < 0 => "max".to_string(),
                    (s, Some(l)) if l > 0 => {
                        if s < l {
                            return Err(Error::Usage(format!(
                                "linux.resources.memory.swap ({s}) is below memory.limit ({l}); it counts memory plus swap"
                            )));
                        }
                        (s - l).to_string()
                    }
                    (s, _) => s.to_string(),
                };
                set("memory", "memory.swap.max", value, "linux.resources.memory.swap");
            }
        } else {
            if let Some(l) = limit {
                let host = with_headroom(l).max(-1).to_string();
                set("memory", "memory.limit_in_bytes", host, "linux.resources.memory.limit");
            }
            if let Some(s) = swap {
                let host = with_headroom(s).max(-1).to_string();
                set("memory", "memory.memsw.limit_in_bytes", host, "linux.resources.memory.swap");
            }
        }
    }
    if let Some(c) = r.cpu() {
        let shares = c.shares().filter(|&s| s != 0);
        let period = c.period().filter(|&p| p != 0);
        let quota = c.quota().filter(|&q| q != 0);
        if v2("cpu") {
            if let Some(s) = shares {
                // runc's conversion of shares [2, 262144] to weight [1, 10000].
                let weight = 1 + (s.clamp(2, 262144) - 2) * 9999 / 262142;
                set("cpu", "cpu.weight", weight.to_string(), "linux.resources.cpu.shares");
            }
            if quota.is_some() || period.is_some() {
                let q = quota.filter(|&q| q > 0).map_or("max".to_string(), |q| q.to_string());
                let field = if quota.is_some() { "linux.resources.cpu.quota" } else { "linux.resources.cpu.period" };
                set("cpu", "cpu.max", format!("{q} {}", period.unwrap_or(100_000)), field);
            }
        } else {
            if let Some(s) = shares {
                set("cpu", "cpu.shares", s.to_string(), "linux.resources.cpu.shares");
            }
            if let Some(p) = period {
                set("cpu", "cpu.cfs_period_us", p.to_string(), "linux.resources.cpu.period");
            }
            if let Some(q) = quota {
                set("cpu", "cpu.cfs_quota_us", q.max(-1).to_string(), "linux.resources.cpu.quota");
            }
        }
        if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
            set("cpuset", "cpuset.cpus", cpus.clone(), "linux.resources.cpu.cpus");
        }
        if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
            set("cpuset", "cpuset.mems", mems.clone(), "linux.resources.cpu.mems");
        }
    }
    if let Some(p) = r.pids() {
        if p.limit() != 0 {
            set("pids", "pids.max", max_or(p.limit()), "linux.resources.pids.limit");
        }
    }
    Ok(out)
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// The container's cgroup, as recorded in its state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    /// The container's directory in each hierarchy.
    pub dirs: Vec<PathBuf>,
    /// The directories made here, parents before children: the only ones
    /// [`Cgroup::destroy`] removes.
    pub created: Vec<PathBuf>,
}

impl Cgroup {
    /// Makes the container's cgroup for `id` and writes `resources` into
    /// it. On failure whatever was made is removed again.
    pub fn create(
        layout: &Layout,
        cgroups_path: Option<&Path>,
        id: &str,
        resources: Option<&LinuxResources>,
    ) -> Result<Cgroup> {
        let empty = LinuxResources::default();
        let r = resources.unwrap_or(&empty);
        check_supported(r)?;
        let providers: Vec<(&str, Option<usize>)> =
            ["memory", "cpu", "cpuset", "pids"].iter().map(|&c| (c, layout.provider(c))).collect();
        let provider = |c: &str| providers.iter().find(|(n, _)| *n == c).and_then(|&(_, p)| p);
        let settings = settings(r, |c| provider(c).is_some_and(|i| layout.hierarchies[i].v2))?;
        for s in &settings {
            if provider(s.controller).is_none() {
                return Err(Error::Unsupported(format!(
                    "{} (the host has no {} cgroup controller) is",
                    s.field, s.controller
                )));
            }
        }
        let mut cg = Cgroup::default();
        let result = cg.make(layout, cgroups_path, id, &settings, &provider);
        match result {
            Ok(()) => Ok(cg),
            Err(e) => {
                if let Err(e2) = cg.destroy() {
                    tracing::warn!("after a failed create: {e2}");
                }
                Err(e)
            }
        }
    }

    fn make(
        &mut self,
        layout: &Layout,
        cgroups_path: Option<&Path>,
        id: &str,
        settings: &[Setting],
        provider: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<()> {
        for h in &layout.hierarchies {
            let inner = inner_path(cgroups_path, id, &h.own)?;
            let mut dir = h.mount.clone();
            for c in inner.components().skip(1) {
                let parent = dir.clone();
                dir.push(c);
                match std::fs::create_dir(&dir) {
                    Ok(()) => {
                        self.created.push(dir.clone());
                        if !h.v2 && h.controllers.iter().any(|c| c == "cpuset") {
                            // A new v1 cpuset is empty, and nothing can join it
                            // until it has CPUs and memory nodes: inherit them.
                            for f in ["cpuset.cpus", "cpuset.mems"] {
                                copy_from_parent(&parent, &dir, f)?;
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io("create the cgroup directory", &dir)(e)),
                }
            }
            self.dirs.push(dir);
        }
        // v2: the controllers used must be enabled in every ancestor.
        for (i, h) in layout.hierarchies.iter().enumerate().filter(|(_, h)| h.v2) {
            let mut needed: Vec<&str> =
                settings.iter().filter(|s| provider(s.controller) == Some(i)).map(|s| s.controller).collect();
            needed.dedup();
            if needed.is_empty() {
                continue;
            }
            let leaf = &self.dirs[i];
            let mut dir = h.mount.clone();
            for c in leaf.strip_prefix(&h.mount).unwrap_or(leaf).components() {
                let control = dir.join("cgroup.subtree_control");
                let enabled = std::fs::read_to_string(&control).map_err(Error::io("read", &control))?;
                for c in &needed {
                    if !enabled.split_whitespace().any(|e| e == *c) {
                        std::fs::write(&control, format!("+{c}")).map_err(|e| Error::Io {
                            op: "enable the cgroup controller (write +controller) in",
                            path: control.clone(),
                            source: e,
                        })?;
                    }
                }
                dir.push(c);
            }
        }
        for s in settings {
            let i = provider(s.controller).expect("providers were checked");
            let path = self.dirs[i].join(s.file);
            if !path.exists() {
                return Err(Error::Unsupported(format!(
                    "{} ({} does not exist: the host kernel lacks this cgroup feature) is",
                    s.field,
                    path.display()
                )));
            }
            std::fs::write(&path, &s.value).map_err(|source| Error::CgroupSetting {
                field: s.field,
                value: s.value.clone(),
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Moves process `pid` (and all its threads) into the container's
    /// cgroup in every hierarchy.
    /// The contents of control file `name` from whichever of the
    /// container's hierarchies has it (for `events`).
    pub fn read(&self, name: &str) -> Option<String> {
        self.dirs.iter().find_map(|d| std::fs::read_to_string(d.join(name)).ok())
    }

    pub fn join(&self, pid: i32) -> Result<()> {
        for d in &self.dirs {
            let p = d.join("cgroup.procs");
            std::fs::write(&p, pid.to_string()).map_err(|source| Error::Io {
                op: "move the process into the cgroup, writing its pid to",
                path: p.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Removes the directories made by [`Cgroup::create`], children first.
    /// Processes still in a container directory (stubs on their way out)
    /// are killed first; a directory may take a moment to empty after its
    /// last process died. An ancestor that another cgroup now uses stays.
    pub fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        for dir in self.created.iter().rev() {
            let leaf = self.dirs.contains(dir);
            let deadline = Instant::now() + RMDIR_TIMEOUT;
            loop {
                if leaf {
                    kill_members(dir);
                }
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) && !leaf => break,
                    Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => {
                        first_err.get_or_insert(Error::io("remove the cgroup directory", dir)(e));
                        break;
                    }
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

fn copy_from_parent(parent: &Path, dir: &Path, file: &str) -> Result<()> {
    let from = parent.join(file);
    let value = std::fs::read_to_string(&from).map_err(Error::io("read", &from))?;
    let to = dir.join(file);
    if std::fs::read_to_string(&to).map_err(Error::io("read", &to))?.trim().is_empty() {
        std::fs::write(&to, value.trim()).map_err(Error::io("write", &to))?;
    }
    Ok(())
}

/// SIGKILLs every process listed in `dir/cgroup.procs`.
fn kill_members(dir: &Path) {
    let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) else { return };
    for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::TempDir;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 /x /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
99 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory
";
    const HYBRID_CGROUP: &str = "5:pids:/x/y\n4:memory:/a/b\n2:cpuacct,cpu:/\n1:name=systemd:/s\n0::/u\n";

    #[test]
    fn systemd_paths_are_systemds() {
        let p = |s: &str| super::systemd_path(s).map(|p| p.display().to_string());
        assert_eq!(p("system.slice:docker:abc").unwrap(), "/system.slice/docker-abc.scope");
        assert_eq!(p(":cri-containerd:x").unwrap(), "/system.slice/cri-containerd-x.scope");
        assert_eq!(
            p("kubepods-besteffort-pod1.slice:cri:x").unwrap(),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-x.scope"
        );
        assert_eq!(p("-.slice::unit").unwrap(), "/unit.scope");
        assert_eq!(p("machine.slice::m.slice").unwrap(), "/machine.slice/m.slice");
        for bad in ["/a/b", "a:b", "system.slice:x:", "sys:x:y", "a--b.slice:x:y", "s.slice:x:a/b"] {
            assert!(p(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn parses_the_hybrid_layout() {
        let l = Layout::parse(HYBRID_MOUNTINFO, HYBRID_CGROUP);
        let got: Vec<(&str, Vec<String>, bool, &str)> = l
            .hierarchies
            .iter()
            .map(|h| (h.mount.to_str().unwrap(), h.controllers.clone(), h.v2, h.own.to_str().unwrap()))
            .collect();
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                ("/sys/fs/cgroup/cpu,cpuacct", s(&["cpu", "cpuacct"]), false, "/"),
                // Mounted from /x (as inside a container): own is relative to that.
                ("/sys/fs/cgroup/pids", s(&["pids"]), false, "/y"),
                ("/sys/fs/cgroup/memory", s(&["memory"]), false, "/a/b"),
                ("/sys/fs/cgroup/systemd", s(&["name=systemd"]), false, "/s"),
                ("/sys/fs/cgroup/unified", vec![], true, "/u"),
            ]
        );
        assert!(!l.is_v2_only());
        assert_eq!(l.provider("memory"), Some(2));
        assert_eq!(l.provider("cpuset"), None);
    }

    #[test]
    fn parses_pure_v2() {
        let l = Layout::parse("25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", "0::/user.slice\n");
        assert_eq!(l.hierarchies.len(), 1);
        assert!(l.is_v2_only());
        assert_eq!(l.hierarchies[0].own, Path::new("/user.slice"));
    }

    #[test]
    fn paths_follow_runc() {
        let own = Path::new("/parent");
        assert_eq!(inner_path(Some(Path::new("/moat/x")), "id", own).unwrap(), Path::new("/moat/x"));
        assert_eq!(inner_path(Some(Path::new("sub/x")), "id", own).unwrap(), Path::new("/parent/sub/x"));
        assert_eq!(inner_path(None, "id", own).unwrap(), Path::new("/parent/id"));
        assert_eq!(inner_path(Some(Path::new("")), "id", own).unwrap(), Path::new("/parent/id"));
        let e = inner_path(Some(Path::new("/a/../b")), "id", own).unwrap_err().to_string();
        assert!(e.contains("linux.cgroupsPath") && e.contains(".."), "{e}");
        let e = inner_path(Some(Path::new("system.slice:moat:x")), "id", own).unwrap_err().to_string();
        assert!(e.contains("slice:prefix:name"), "{e}");
        assert!(inner_path(Some(Path::new("/")), "id", own).is_err());
    }

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn v1_and_v2_settings() {
        let r = resources(
            r#"{"memory":{"limit":67108864,"swap":134217728},"cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0"},"pids":{"limit":64}}"#,
        );
        let files = |v2: bool| -> Vec<(String, String)> {
            settings(&r, |_| v2).unwrap().into_iter().map(|s| (s.file.to_string(), s.value)).collect()
        };
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            files(false),
            vec![
                p("memory.limit_in_bytes", "134217728"),
                p("memory.memsw.limit_in_bytes", "201326592"),
                p("cpu.shares", "1024"),
                p("cpu.cfs_period_us", "100000"),
                p("cpu.cfs_quota_us", "50000"),
                p("cpuset.cpus", "0"),
                p("pids.max", "64"),
            ]
        );
        assert_eq!(
            files(true),
            vec![
                p("memory.max", "134217728"),
                p("memory.swap.max", "67108864"),
                p("cpu.weight", "39"),
                p("cpu.max", "50000 100000"),
                p("cpuset.cpus", "0"),
                p("pids.max", "64"),
            ]
        );
        let bad = resources(r#"{"memory":{"limit":100,"swap":50}}"#);
        let e = settings(&bad, |_| true).unwrap_err().to_string();
        assert!(e.contains("memory.swap") && e.contains("below"), "{e}");
        assert!(settings(&resources(r#"{"pids":{"limit":0},"cpu":{"shares":0}}"#), |_| false).unwrap().is_empty());
    }

    #[test]
    fn unsupported_fields_are_named() {
        let e = check_supported(&resources(r#"{"memory":{"swappiness":10},"blockIO":{"weight":10}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.resources.memory.swappiness") && e.contains("linux.resources.blockIO"), "{e}");
        check_supported(&resources(r#"{"devices":[{"allow":false,"access":"rwm"}],"blockIO":{}}"#)).unwrap();
        check_supported(&resources(r#"{"blockIO":{"weight":0}}"#)).unwrap();
        // What Docker sends by default means "unset".
        check_supported(&resources(r#"{"memory":{"swappiness":18446744073709551615,"disableOOMKiller":false}}"#))
            .unwrap();
        let e = check_supported(&resources(r#"{"memory":{"disableOOMKiller":true}}"#)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.memory.disableOOMKiller"), "{e}");
    }

    /// A fake v1 layout in a temporary directory: the "kernel files" are
    /// plain files made by the test.
    fn fake_layout(t: &TempDir) -> Layout {
        let mut hierarchies = Vec::new();
        for c in ["memory", "pids"] {
            let mount = t.0.join(c);
            std::fs::create_dir_all(mount.join("pre")).unwrap();
            hierarchies.push(Hierarchy { mount, controllers: vec![c.into()], v2: false, own: "/".into() });
        }
        Layout { hierarchies }
    }

    #[test]
    fn create_records_only_new_directories_and_destroy_keeps_the_rest() {
        let t = TempDir::new("cgroup");
        let l = fake_layout(&t);
        // No kernel behind these directories: the setting files do not
        // exist, which is the "kernel lacks the feature" error.
        let r = resources(r#"{"pids":{"limit":64}}"#);
        let e = Cgroup::create(&l, Some(Path::new("/pre/new/leaf")), "id", Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.pids.limit") && e.contains("pids.max"), "{e}");
        assert!(!t.0.join("memory/pre/new").exists() && t.0.join("memory/pre").exists());

        let cg = Cgroup::create(&l, Some(Path::new("/pre/new/leaf")), "id", None).unwrap();
        assert_eq!(cg.dirs, vec![t.0.join("memory/pre/new/leaf"), t.0.join("pids/pre/new/leaf")]);
        assert_eq!(cg.created.len(), 4);
        assert!(!cg.created.contains(&t.0.join("memory/pre")));
        cg.destroy().unwrap();
        assert!(!t.0.join("memory/pre/new").exists() && !t.0.join("pids/pre/new").exists());
        assert!(t.0.join("memory/pre").exists() && t.0.join("pids/pre").exists());
    }

    #[test]
    fn no_controller_is_an_error() {
        let t = TempDir::new("cgroup");
        let l = fake_layout(&t);
        let r = resources(r#"{"cpu":{"cpus":"0"}}"#);
        let e = Cgroup::create(&l, None, "id", Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.cpu.cpus") && e.contains("no cpuset cgroup controller"), "{e}");
        assert!(!t.0.join("memory/id").exists());
    }

    #[test]
    fn v2_enables_the_controllers_in_the_ancestors() {
        let t = TempDir::new("cgroup");
        let mount = t.0.join("unified");
        std::fs::create_dir_all(&mount).unwrap();
        std::fs::write(mount.join("cgroup.subtree_control"), "").unwrap();
        let l = Layout {
            hierarchies: vec![Hierarchy {
                mount: mount.clone(),
                controllers: vec!["memory".into(), "pids".into()],
                v2: true,
                own: "/".into(),
            }],
        };
        let r = resources(r#"{"pids":{"limit":64}}"#);
        // The fake leaf has no pids.max, so the write itself fails, after
        // the controller was enabled in the root.
        let e = Cgroup::create(&l, Some(Path::new("/leaf")), "id", Some(&r)).unwrap_err().to_string();
        assert!(e.contains("pids.max"), "{e}");
        assert_eq!(std::fs::read_to_string(mount.join("cgroup.subtree_control")).unwrap(), "+pids");
        assert!(!mount.join("leaf").exists());
        let r = resources(r#"{"cpu":{"quota":1000}}"#);
        let e = Cgroup::create(&l, Some(Path::new("/leaf")), "id", Some(&r)).unwrap_err().to_string();
        assert!(e.contains("linux.resources.cpu.quota") && e.contains("no cpu cgroup controller"), "{e}");
    }
}
