//! A minimal procfs, mounted at `/proc` (gVisor: `fsimpl/proc`). Every
//! file is generated from the sentry's own state when it is opened, never
//! from the host's. Read-only: opening for writing is EACCES.
//!
//! Per process: `exe`, `cwd`, `fd/` and `fd/<n>` are the caller's own
//! only (a task's state lives on its thread); another process's `exe` and
//! `cwd` answer EACCES, as Linux does for processes the caller may not
//! trace, and its `fd/` lists nothing. `cmdline` (from the address space),
//! `comm`, `stat` and `status` come from the process table for all.
//! `fd/<n>` opens the caller's description itself (shared offset), where
//! Linux reopens the file.

use super::synthetic::{self, check_open, Entry, S_IFDIR, S_IFLNK, S_IFREG};
use crate::kernel::process::PID_MAX;
use crate::kernel::{Task, RELEASE, VERSION};
use crate::vfs::mount::{join, FileSystem};
use crate::vfs::FileDescription;
use abi::{fcntl, Errno, Stat, Statfs, Timespec};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `st_dev` of procfs's nodes.
const DEV: u64 = 0x16;

/// The fixed files of the root and of `sys/kernel`.
const ROOT_FILES: &[&str] = &["cpuinfo", "filesystems", "loadavg", "meminfo", "uptime", "version"];
/// /proc/net, generated from the sentry's own socket tables (on Linux a
/// link to `self/net`; one network namespace here, so a directory).
const NET_FILES: &[&str] = &["dev", "tcp", "tcp6", "udp", "udp6", "unix", "route", "udplite", "udplite6"];
/// How a `/proc/sys` file's text is made.
type SysValue = fn(&Task) -> String;

/// `/proc/sys`: each file's path below it and how its value is made,
/// from the sentry's own limits and state. Read-only (Docker mounts
/// `/proc/sys` read-only too).
const SYS_FILES: &[(&str, SysValue)] = &[
    // The sandbox keeps no system-wide count of open files: no limit.
    ("fs/file-max", |_| i64::MAX.to_string()),
    ("fs/inotify/max_queued_events", |_| crate::fs::inotify::MAX_QUEUED_EVENTS.to_string()),
    ("fs/inotify/max_user_instances", |_| crate::fs::inotify::MAX_USER_INSTANCES.to_string()),
    ("fs/inotify/max_user_watches", |_| crate::fs::inotify::MAX_USER_WATCHES.to_string()),
    ("fs/nr_open", |_| crate::vfs::MAX_FDS.to_string()),
    ("fs/pipe-max-size", |_| crate::fs::pipe::PIPE_MAX_SIZE.to_string()),
    ("kernel/cap_last_cap", |_| crate::kernel::caps::CAP_LAST_CAP.to_string()),
    ("kernel/hostname", |t| t.uts.lock().unwrap().hostname.clone()),
    ("kernel/ngroups_max", |_| crate::kernel::NGROUPS_MAX.to_string()),
    ("kernel/ostype", |_| "Linux".into()),
    ("kernel/osrelease", |_| RELEASE.into()),
    ("kernel/pid_max", |_| PID_MAX.to_string()),
    ("kernel/random/boot_id", |_| boot_id().to_string()),
    // Linux 5.18 and later: a full pool, always.
    ("kernel/random/entropy_avail", |_| "256".into()),
    ("kernel/random/poolsize", |_| "256".into()),
    ("kernel/random/uuid", |_| random_uuid()),
    // Each mapping is one in the stub's host address space, which holds
    // Linux's default count.
    ("vm/max_map_count", |_| "65530".into()),
    ("vm/mmap_min_addr", |_| crate::mm::MIN_ADDRESS.to_string()),
    // Heuristic: a mapping larger than the memory file can hold fails.
    ("vm/overcommit_memory", |_| "0".into()),
];
/// The directories of `/proc/sys`, itself first.
const SYS_DIRS: &[&str] = &["", "fs", "fs/inotify", "kernel", "kernel/random", "vm"];

fn sys_dir_ino(i: usize) -> u64 {
    ProcFs::ino(0, 100 + i)
}

/// The node at `comps` below `/proc/sys`.
fn sys_node(task: &Task, comps: &[&str]) -> Result<(u64, Node), Errno> {
    let path = comps.join("/");
    if let Some(i) = SYS_FILES.iter().position(|(p, _)| *p == path) {
        return Ok((ProcFs::ino(0, 200 + i), Node::File(format!("{}\n", (SYS_FILES[i].1)(task)).into_bytes())));
    }
    let dir = SYS_DIRS.iter().position(|d| *d == path).ok_or(Errno::ENOENT)?;
    let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
    let mut entries: Vec<Entry> = Vec::new();
    let children = SYS_FILES.iter().enumerate().filter_map(|(i, (p, _))| Some((i, p.strip_prefix(&prefix)?)));
    for (i, rest) in children {
        let entry = match rest.split_once('/') {
            Some((sub, _)) => {
                let j = SYS_DIRS.iter().position(|d| *d == format!("{prefix}{sub}")).expect("listed");
                Entry { name: sub.into(), ino: sys_dir_ino(j), d_type: synthetic::DT_DIR }
            }
            None => Entry { name: rest.into(), ino: ProcFs::ino(0, 200 + i), d_type: synthetic::DT_REG },
        };
        if !entries.iter().any(|e| e.name == entry.name) {
            entries.push(entry);
        }
    }
    Ok((sys_dir_ino(dir), Node::Dir(entries)))
}

/// This boot's `random/boot_id`, made on first use.
fn boot_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(random_uuid)
}

/// A random (version 4) UUID, as `random/uuid` gives one per read.
fn random_uuid() -> String {
    let mut b = [0u8; 16];
    // The host's generator cannot fail once the sandbox runs; zeroes if so.
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

const PID_ENTRIES: &[(&str, u8)] = &[
    ("cgroup", synthetic::DT_REG),
    ("cmdline", synthetic::DT_REG),
    ("comm", synthetic::DT_REG),
    ("cwd", synthetic::DT_LNK),
    ("environ", synthetic::DT_REG),
    ("exe", synthetic::DT_LNK),
    ("fd", synthetic::DT_DIR),
    ("fdinfo", synthetic::DT_DIR),
    ("limits", synthetic::DT_REG),
    ("maps", synthetic::DT_REG),
    ("mountinfo", synthetic::DT_REG),
    ("mounts", synthetic::DT_REG),
    ("oom_score_adj", synthetic::DT_REG),
    ("root", synthetic::DT_LNK),
    ("stat", synthetic::DT_REG),
    ("statm", synthetic::DT_REG),
    ("status", synthetic::DT_REG),
    ("task", synthetic::DT_DIR),
];
/// The entries of `task/<tid>/`.
const TID_ENTRIES: &[(&str, u8)] =
    &[("comm", synthetic::DT_REG), ("stat", synthetic::DT_REG), ("status", synthetic::DT_REG)];

enum Node {
    Dir(Vec<Entry>),
    File(Vec<u8>),
    Link(String),
    /// `fd/<n>` of the caller: a link to the description itself.
    Fd(i64),
}

pub struct ProcFs {
    time: Timespec,
    /// CPUs the sandbox may use, counted at boot.
    cpus: usize,
}

impl ProcFs {
    pub fn new() -> ProcFs {
        let cpus = crate::kernel::cpus();
        ProcFs { time: synthetic::now(), cpus }
    }

    fn ino(pid: i32, index: usize) -> u64 {
        ((pid as u64) << 16) | (index as u64 + 1)
    }

    /// The node at `comps` (components of a path in procfs).
    fn node(&self, task: &Task, comps: &[&str]) -> Result<(u64, Node), Errno> {
        let own = task.pid;
        match comps {
            [] => {
                let mut e = vec![
                    Entry { name: ".".into(), ino: 1, d_type: synthetic::DT_DIR },
                    Entry { name: "..".into(), ino: 1, d_type: synthetic::DT_DIR },
                ];
                for (i, f) in ROOT_FILES.iter().enumerate() {
                    e.push(Entry { name: f.to_string(), ino: Self::ino(0, i + 1), d_type: synthetic::DT_REG });
                }
                e.push(Entry { name: "self".into(), ino: Self::ino(0, 10), d_type: synthetic::DT_LNK });
                e.push(Entry { name: "mounts".into(), ino: Self::ino(0, 14), d_type: synthetic::DT_LNK });
                e.push(Entry { name: "sys".into(), ino: sys_dir_ino(0), d_type: synthetic::DT_DIR });
                e.push(Entry { name: "net".into(), ino: Self::ino(0, 13), d_type: synthetic::DT_DIR });
                let pids: Vec<i32> = task.kernel.procs().live().map(|(p, _)| p).collect();
                for p in pids {
                    e.push(Entry { name: p.to_string(), ino: Self::ino(p, 0), d_type: synthetic::DT_DIR });
                }
                Ok((1, Node::Dir(e)))
            }
            ["self"] => Ok((Self::ino(0, 10), Node::Link(own.to_string()))),
            ["mounts"] => Ok((Self::ino(0, 14), Node::Link("self/mounts".into()))),
            ["sys", rest @ ..] => sys_node(task, rest),
            ["net"] => Ok((
                Self::ino(0, 13),
                Node::Dir(
                    NET_FILES
                        .iter()
                        .enumerate()
                        .map(|(i, f)| Entry {
                            name: f.to_string(),
                            ino: Self::ino(0, 40 + i),
                            d_type: synthetic::DT_REG,
                        })
                        .collect(),
                ),
            )),
            ["net", f] => {
                use crate::net::addr::{AF_INET, AF_INET6};
                use crate::net::inet::Proto;
                let i = NET_FILES.iter().position(|x| x == f).ok_or(Errno::ENOENT)?;
                let text = match *f {
                    "dev" => crate::net::iface::proc_net_dev(),
                    "tcp" => crate::net::iface::proc_net_inet(Proto::Tcp, AF_INET),
                    "tcp6" => crate::net::iface::proc_net_inet(Proto::Tcp, AF_INET6),
                    "udp" => crate::net::iface::proc_net_inet(Proto::Udp, AF_INET),
                    "udp6" => crate::net::iface::proc_net_inet(Proto::Udp, AF_INET6),
                    "route" => crate::net::iface::proc_net_route(),
                    "udplite" => crate::net::iface::proc_net_inet(Proto::UdpLite, AF_INET),
                    "udplite6" => crate::net::iface::proc_net_inet(Proto::UdpLite, AF_INET6),
                    _ => crate::fs::unix::proc_net_unix(),
                };
                Ok((Self::ino(0, 40 + i), Node::File(text.into_bytes())))
            }
            [f] if ROOT_FILES.contains(f) => {
                let i = ROOT_FILES.iter().position(|x| x == f).unwrap_or(0);
                Ok((Self::ino(0, i + 1), Node::File(self.root_file(task, f).into_bytes())))
            }
            [pid, rest @ ..] => {
                let pid: i32 = pid.parse().map_err(|_| Errno::ENOENT)?;
                let (ppid, pgid, sid, threads, comm, mm, group, root_of, mnt_of) = {
                    let procs = task.kernel.procs();
                    let p = procs.get(pid).filter(|p| p.exit.is_none()).ok_or(Errno::ENOENT)?;
                    let (comm, root, mnt) = (p.handle.comm(), p.handle.root(), p.handle.mnt());
                    (p.ppid, p.pgid, p.sid, p.group.live().max(1), comm, p.mm.clone(), p.group.clone(), root, mnt)
                };
                // The namespace whose mounts `mounts`/`mountinfo` show.
                let mnt_of = if pid == own { task.mnt.clone() } else { mnt_of.unwrap_or_else(|| task.mnt.clone()) };
                let mine = pid == own;
                match rest {
                    [] => {
                        let e = PID_ENTRIES
                            .iter()
                            .enumerate()
                            .map(|(i, (n, t))| Entry { name: n.to_string(), ino: Self::ino(pid, i + 1), d_type: *t })
                            .collect();
                        Ok((Self::ino(pid, 0), Node::Dir(e)))
                    }
                    [name, more @ ..] => {
                        let i = PID_ENTRIES.iter().position(|(n, _)| n == name).ok_or(Errno::ENOENT)?;
                        let ino = Self::ino(pid, i + 1);
                        let node = match (*name, more) {
                            ("exe", []) if mine => Node::Link(task.exe.clone()),
                            ("cwd", []) if mine => Node::Link(task.cwd.clone()),
                            ("root", []) if mine => Node::Link(task.root.clone()),
                            ("root", []) => Node::Link(root_of.clone()),
                            ("exe" | "cwd", []) => return Err(Errno::EACCES),
                            ("cmdline", []) => Node::File(mm.upgrade().map(|mm| mm.cmdline()).unwrap_or_default()),
                            ("comm", []) => Node::File(format!("{comm}\n").into_bytes()),
                            ("environ", []) => Node::File(mm.upgrade().map(|mm| mm.environ()).unwrap_or_default()),
                            ("stat", []) => {
                                Node::File(stat_line(pid, &comm, mine, [ppid, pgid, sid], threads).into_bytes())
                            }
                            ("status", []) => Node::File(status(task, pid, &comm, mine, ppid, threads).into_bytes()),
                            ("fd", []) => Node::Dir(if mine { fd_entries(task, pid) } else { Vec::new() }),
                            ("fd", [n]) if mine => {
                                let fd: i64 = n.parse().map_err(|_| Errno::ENOENT)?;
                                task.fds.get_raw(fd).map_err(|_| Errno::ENOENT)?;
                                return Ok((Self::ino(pid, 100 + fd as usize), Node::Fd(fd)));
                            }
                            ("fdinfo", []) => Node::Dir(if mine { fd_entries(task, pid) } else { Vec::new() }),
                            ("fdinfo", [n]) if mine => {
                                let fd: i64 = n.parse().map_err(|_| Errno::ENOENT)?;
                                let file = task.fds.get_raw(fd).map_err(|_| Errno::ENOENT)?;
                                let pos = file.seek(0, 1).unwrap_or(0);
                                let text = format!("pos:\t{pos}\nflags:\t0{:o}\nmnt_id:\t0\n", file.flags());
                                return Ok((Self::ino(pid, 2000 + fd as usize), Node::File(text.into_bytes())));
                            }
                            ("cgroup", []) => Node::File(b"0::/\n".to_vec()),
                            ("limits", []) if mine => Node::File(limits(&task.rlimits).into_bytes()),
                            // Another task's limits live on its thread.
                            ("limits", []) => return Err(Errno::EACCES),
                            ("maps", []) => {
                                Node::File(mm.upgrade().map(|mm| maps(&mm)).unwrap_or_default().into_bytes())
                            }
                            ("statm", []) => {
                                Node::File(mm.upgrade().map(|mm| statm(&mm)).unwrap_or_default().into_bytes())
                            }
                            ("mounts", []) => {
                                let root = if mine { &task.root } else { &root_of };
                                Node::File(mounts(task, &mnt_of, root, false).into_bytes())
                            }
                            ("mountinfo", []) => {
                                let root = if mine { &task.root } else { &root_of };
                                Node::File(mounts(task, &mnt_of, root, true).into_bytes())
                            }
                            ("oom_score_adj", []) => {
                                Node::File(format!("{}\n", task.kernel.oom_score_adj).into_bytes())
                            }
                            ("task", []) => Node::Dir(
                                group
                                    .threads()
                                    .into_iter()
                                    .map(|(tid, _)| Entry {
                                        name: tid.to_string(),
                                        ino: Self::ino(tid, 1000),
                                        d_type: synthetic::DT_DIR,
                                    })
                                    .collect(),
                            ),
                            ("task", [tid, rest @ ..]) => {
                                let tid: i32 = tid.parse().map_err(|_| Errno::ENOENT)?;
                                let (_, handle) =
                                    group.threads().into_iter().find(|(t, _)| *t == tid).ok_or(Errno::ENOENT)?;
                                let base = Self::ino(tid, 1000);
                                let comm = handle.comm();
                                let mine = tid == task.tid;
                                let node = match rest {
                                    [] => Node::Dir(
                                        TID_ENTRIES
                                            .iter()
                                            .enumerate()
                                            .map(|(i, (n, t))| Entry {
                                                name: n.to_string(),
                                                ino: base + 1 + i as u64,
                                                d_type: *t,
                                            })
                                            .collect(),
                                    ),
                                    ["comm"] => Node::File(format!("{comm}\n").into_bytes()),
                                    ["stat"] => {
                                        Node::File(stat_line(tid, &comm, mine, [ppid, pgid, sid], threads).into_bytes())
                                    }
                                    ["status"] => {
                                        Node::File(status(task, tid, &comm, mine, ppid, threads).into_bytes())
                                    }
                                    [_] => return Err(Errno::ENOENT),
                                    _ => return Err(Errno::ENOTDIR),
                                };
                                let i = rest.first().and_then(|n| TID_ENTRIES.iter().position(|(e, _)| e == n));
                                return Ok((i.map_or(base, |i| base + 1 + i as u64), node));
                            }
                            _ => return Err(if more.is_empty() { Errno::ENOENT } else { Errno::ENOTDIR }),
                        };
                        Ok((ino, node))
                    }
                }
            }
        }
    }

    fn root_file(&self, task: &Task, name: &str) -> String {
        let k = &task.kernel;
        let mut s = String::new();
        match name {
            "cpuinfo" => {
                for cpu in 0..self.cpus {
                    let _ = write!(
                        s,
                        "processor\t: {cpu}\nvendor_id\t: moat\nmodel name\t: moat virtual CPU\n\
                         physical id\t: 0\ncore id\t\t: {cpu}\ncpu cores\t: {}\n\n",
                        self.cpus
                    );
                }
            }
            "meminfo" => {
                let total = k.total_memory / 1024;
                let free = k.total_memory.saturating_sub(k.memfile.committed()) / 1024;
                for (key, v) in [
                    ("MemTotal", total),
                    ("MemFree", free),
                    ("MemAvailable", free),
                    ("Buffers", 0),
                    ("Cached", 0),
                    ("SwapCached", 0),
                    ("SwapTotal", 0),
                    ("SwapFree", 0),
                ] {
                    let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{key}:"));
                }
            }
            "uptime" => {
                let up = k.started.elapsed();
                let _ = writeln!(s, "{}.{:02} 0.00", up.as_secs(), up.subsec_millis() / 10);
            }
            "loadavg" => {
                let procs = k.procs();
                let n = procs.live().count();
                let last = procs.live().map(|(p, _)| p).max().unwrap_or(1);
                let _ = writeln!(s, "0.00 0.00 0.00 1/{n} {last}");
            }
            "version" => {
                let _ = writeln!(s, "Linux version {RELEASE} (moat) {VERSION}");
            }
            _ => s.push_str("nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\n"),
        }
        s
    }

    fn comps(path: &str) -> Vec<&str> {
        path.split('/').filter(|c| !c.is_empty()).collect()
    }

    fn stat_of(&self, ino: u64, node: &Node) -> Stat {
        let mode = match node {
            Node::Dir(_) => S_IFDIR | 0o555,
            Node::File(_) => S_IFREG | 0o444,
            Node::Link(_) | Node::Fd(_) => S_IFLNK | 0o777,
        };
        // Like Linux's, procfs files report size 0: the size is what a read gives.
        synthetic::stat(DEV, ino, mode, 0, 0, self.time)
    }
}

impl Default for ProcFs {
    fn default() -> Self {
        ProcFs::new()
    }
}

/// `/proc/PID/stat`; `ids` are the ppid, pgid and sid.
fn stat_line(pid: i32, comm: &str, mine: bool, ids: [i32; 3], threads: usize) -> String {
    let [ppid, pgid, sid] = ids;
    let state = if mine { 'R' } else { 'S' };
    // Fields 8 on (tty_nr, tpgid, flags, faults, times...): what we do
    // not track is 0; priority 20, nice 0.
    let mut f = vec!["0".to_string(), "-1".to_string()];
    f.extend(std::iter::repeat_n("0".to_string(), 9)); // flags .. cstime
    f.extend(["20".to_string(), "0".to_string(), threads.to_string(), "0".to_string()]); // priority nice num_threads itrealvalue
    f.extend(std::iter::repeat_n("0".to_string(), 52 - 6 - f.len()));
    format!("{pid} ({comm}) {state} {ppid} {pgid} {sid} {}\n", f.join(" "))
}

fn status(task: &Task, pid: i32, comm: &str, mine: bool, ppid: i32, threads: usize) -> String {
    let state = if mine { "R (running)" } else { "S (sleeping)" };
    let mut s = format!("Name:\t{comm}\nState:\t{state}\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{ppid}\n");
    if mine {
        let c = &task.creds;
        let _ = write!(
            s,
            "Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\n",
            c.uid, c.euid, c.suid, c.euid, c.gid, c.egid, c.sgid, c.egid
        );
        let k = c.caps;
        let _ = write!(
            s,
            "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\n",
            k.inheritable, k.permitted, k.effective, k.bounding, k.ambient
        );
    }
    let _ = writeln!(s, "Threads:\t{threads}");
    s
}

/// `/proc/PID/limits`, Linux's table.
fn limits(rlimits: &[abi::Rlimit]) -> String {
    const ROWS: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let show = |v: u64| if v == u64::MAX { "unlimited".to_string() } else { v.to_string() };
    let mut s = format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for ((name, unit), r) in ROWS.iter().zip(rlimits) {
        let _ = write!(s, "{name:<25} {:<20} {:<20} ", show(r.cur), show(r.max));
        if !unit.is_empty() {
            let _ = write!(s, "{unit:<10}");
        }
        s.push('\n');
    }
    s
}

/// The absolute path descriptor `fd` of `task` was opened by, if it still
/// names the same file (same device and inode).
fn path_of_fd(task: &Task, fd: i64) -> Option<String> {
    let file = task.fds.get_raw(fd).ok()?;
    let path = file.path();
    if !path.starts_with('/') {
        return None;
    }
    let want = file.stat().ok()?;
    let (fs, inner) = task.mnt.resolve(task, &path, false).ok()?;
    let st = fs.stat(task, &inner, false).ok()?;
    (st.dev == want.dev && st.ino == want.ino).then_some(path)
}

/// `/proc/PID/maps`, from the address space's VMAs.
fn maps(mm: &crate::mm::MemoryManager) -> String {
    use crate::mm::VmaKind;
    let mut s = String::new();
    for (start, v) in mm.vmas() {
        let perm = |bit: u64, c: char| if v.prot & bit != 0 { c } else { '-' };
        let shared = if v.shared.is_some() || v.host.as_ref().is_some_and(|h| h.shared) { 's' } else { 'p' };
        let (offset, name) = match &v.kind {
            // A host file mapping's offset follows its splits; a copy's is where it began.
            VmaKind::File { path, offset } => (if v.host.is_some() { v.memfile_offset } else { *offset }, path.clone()),
            VmaKind::Heap => (0, "[heap]".into()),
            VmaKind::Stack => (0, "[stack]".into()),
            VmaKind::Vvar => (0, "[vvar]".into()),
            VmaKind::Vdso => (0, "[vdso]".into()),
            VmaKind::Anonymous | VmaKind::GrowsDown => (0, String::new()),
        };
        let line = format!(
            "{start:08x}-{:08x} {}{}{}{shared} {offset:08x} 00:00 0",
            v.end,
            perm(abi::mman::PROT_READ, 'r'),
            perm(abi::mman::PROT_WRITE, 'w'),
            perm(abi::mman::PROT_EXEC, 'x'),
        );
        if name.is_empty() {
            let _ = writeln!(s, "{line}");
        } else {
            let _ = writeln!(s, "{line:<72} {name}");
        }
    }
    s
}

/// `/proc/PID/statm`, in pages: size, resident, shared (host file
/// mappings), text (executable file mappings), lib (0), data (writable
/// private memory) and dt (0).
fn statm(mm: &crate::mm::MemoryManager) -> String {
    let pages = |len: u64| len / abi::PAGE_SIZE;
    let (mut size, mut shared, mut text, mut data) = (0, 0, 0, 0);
    for (start, v) in mm.vmas() {
        let n = pages(v.end - start);
        size += n;
        if v.host.is_some() || v.shared.is_some() {
            shared += n;
        }
        if v.prot & abi::mman::PROT_EXEC != 0 && matches!(v.kind, crate::mm::VmaKind::File { .. }) {
            text += n;
        }
        if v.prot & abi::mman::PROT_WRITE != 0 && v.shared.is_none() && v.host.is_none() {
            data += n;
        }
    }
    format!("{size} {} {shared} {text} 0 {data} 0\n", pages(mm.resident()))
}

/// `/proc/PID/mounts` (as `/proc/mounts`) or, with `info`, `mountinfo`:
/// the mounts of the process's mount namespace `ns`, in the order they
/// were attached (every mount is private: no `shared:N` fields), as seen
/// from the process's `root`: mounts outside it are left out.
fn mounts(task: &Task, ns: &crate::vfs::mount::MountNamespace, root: &str, info: bool) -> String {
    use crate::vfs::mount::ms;
    let mut s = String::new();
    let table = ns.read().all().to_vec();
    for m in &table {
        let Some(point) = crate::vfs::mount::view(root, &m.point) else { continue };
        let sb_ro = m.fs.statfs(task, &m.root).is_ok_and(|st| st.f_flags & abi::st::RDONLY != 0);
        let ro = sb_ro || m.flags & ms::RDONLY != 0;
        let mut opts = String::from(if ro { "ro" } else { "rw" });
        for (flag, name) in [
            (ms::NOSUID, "nosuid"),
            (ms::NODEV, "nodev"),
            (ms::NOEXEC, "noexec"),
            (ms::NOATIME, "noatime"),
            (ms::NODIRATIME, "nodiratime"),
            (ms::RELATIME, "relatime"),
        ] {
            if m.flags & flag != 0 {
                opts.push(',');
                opts.push_str(name);
            }
        }
        let kind = m.fs.name();
        let extra = if m.options.is_empty() { String::new() } else { format!(",{}", m.options) };
        if info {
            let sb = if sb_ro { "ro" } else { "rw" };
            let _ = writeln!(
                s,
                "{} {} 0:{} {} {point} {opts} - {kind} {} {sb}{extra}",
                m.id, m.parent, m.id, m.root, m.source
            );
        } else {
            let _ = writeln!(s, "{} {point} {kind} {opts}{extra} 0 0", m.source);
        }
    }
    s
}

fn fd_entries(task: &Task, pid: i32) -> Vec<Entry> {
    (0..1024)
        .filter(|&fd| task.fds.get_raw(fd).is_ok())
        .map(|fd| Entry { name: fd.to_string(), ino: ProcFs::ino(pid, 100 + fd as usize), d_type: synthetic::DT_LNK })
        .collect()
}

impl FileSystem for ProcFs {
    fn name(&self) -> &'static str {
        "proc"
    }

    fn follow(&self, task: &Task, path: &str, follow_last: bool) -> Result<Option<String>, Errno> {
        let comps = Self::comps(path);
        for i in 0..comps.len() {
            let last = i + 1 == comps.len();
            let target = match self.node(task, &comps[..=i]) {
                Ok((_, Node::Link(t))) if !last || follow_last => t,
                Ok((_, Node::Fd(fd))) if !last => task.fds.get_raw(fd)?.path(),
                // Followed last, `fd/<n>` leads to the file the description
                // names when its path still reaches it (so `chmod` of it
                // changes the file and `open` opens the file anew, as
                // Linux's magic link does); otherwise (pipes, sockets,
                // unlinked files) `open` gives the description itself.
                Ok((_, Node::Fd(fd))) if follow_last => match path_of_fd(task, fd) {
                    Some(path) => path,
                    None => return Ok(None),
                },
                Ok((_, Node::Dir(_))) => continue,
                Ok(_) if last => return Ok(None),
                Ok(_) => return Err(Errno::ENOTDIR),
                Err(_) => return Ok(None),
            };
            let dir = format!("/proc/{}", comps[..i].join("/"));
            let target = join(&dir, &target);
            let rest = comps[i + 1..].join("/");
            return Ok(Some(if rest.is_empty() { target } else { format!("{target}/{rest}") }));
        }
        Ok(None)
    }

    fn open(&self, task: &Task, path: &str, flags: u64, _mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let comps = Self::comps(path);
        let (ino, node) = self.node(task, &comps)?;
        if let Node::Fd(fd) = node {
            if flags & fcntl::O_NOFOLLOW != 0 {
                return Err(Errno::ELOOP);
            }
            return task.fds.get_raw(fd);
        }
        let stat = self.stat_of(ino, &node);
        check_open(stat.mode, flags)?;
        let full_path = format!("/proc/{}", comps.join("/")).trim_end_matches('/').to_string();
        let statfs = synthetic::statfs(PROC_SUPER_MAGIC);
        match node {
            Node::Dir(entries) => {
                Ok(Arc::new(synthetic::Dir { path: full_path, stat, statfs, flags, entries, pos: Mutex::new(0) }))
            }
            Node::File(data) => {
                Ok(Arc::new(synthetic::File { path: full_path, stat, statfs, flags, data, pos: Mutex::new(0) }))
            }
            _ => Err(Errno::ELOOP),
        }
    }

    fn stat(&self, task: &Task, path: &str, follow: bool) -> Result<Stat, Errno> {
        let (ino, node) = self.node(task, &Self::comps(path))?;
        match node {
            Node::Fd(fd) if follow => task.fds.get_raw(fd)?.stat(),
            node => Ok(self.stat_of(ino, &node)),
        }
    }

    fn readlink(&self, task: &Task, path: &str) -> Result<String, Errno> {
        match self.node(task, &Self::comps(path))? {
            (_, Node::Link(t)) => Ok(t),
            (_, Node::Fd(fd)) => Ok(task.fds.get_raw(fd)?.path()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn statfs(&self, task: &Task, path: &str) -> Result<Statfs, Errno> {
        self.node(task, &Self::comps(path))?;
        Ok(synthetic::statfs(PROC_SUPER_MAGIC))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stat_line_has_52_fields() {
        let s = super::stat_line(7, "sh", true, [1, 7, 1], 1);
        assert_eq!(s.split_whitespace().count(), 52);
        assert!(s.starts_with("7 (sh) R 1 7 1 0 -1 "));
        assert_eq!(crate::kernel::task::comm_of("/usr/bin/a-very-long-program-name"), "a-very-long-pro");
    }
}
