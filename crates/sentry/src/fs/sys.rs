//! A minimal sysfs, mounted where the spec mounts `sysfs` (gVisor:
//! `fsimpl/sys`). Generated from the sentry's own state, read-only:
//!
//! * `devices/system/cpu/{online,possible,present}` and `cpuN/`: the CPUs
//!   the sandbox may run on (glibc's `sysconf(_SC_NPROCESSORS_ONLN)` and
//!   `get_nprocs` read `online`).
//! * `class/net/<if>/{address,addr_len,broadcast,flags,ifindex,mtu,
//!   operstate,type,tx_queue_len}`: the interfaces of `net::iface`.
//! * `fs/cgroup/`: an empty directory (the container's cgroups are the
//!   host's business; a program that looks for the mount point finds it).
//!
//! Anything else is ENOENT.

use super::synthetic::{self, check_open, Entry, S_IFDIR, S_IFREG};
use crate::kernel::Task;
use crate::net::iface::{self, Nic};
use crate::vfs::mount::FileSystem;
use crate::vfs::FileDescription;
use abi::{Errno, Stat, Statfs, Timespec};
use std::sync::{Arc, Mutex};

const SYSFS_MAGIC: i64 = 0x6265_6572;
/// `st_dev` of sysfs's nodes.
const DEV: u64 = 0x17;
const NET_FILES: &[&str] =
    &["addr_len", "address", "broadcast", "flags", "ifindex", "mtu", "operstate", "tx_queue_len", "type"];

enum Node {
    Dir(Vec<(String, u8)>),
    File(String),
}

pub struct SysFs {
    time: Timespec,
    cpus: usize,
}

impl SysFs {
    pub fn new() -> SysFs {
        SysFs { time: synthetic::now(), cpus: crate::kernel::cpus() }
    }

    fn dirs(names: &[&str]) -> Node {
        Node::Dir(names.iter().map(|n| (n.to_string(), synthetic::DT_DIR)).collect())
    }

    fn files(names: &[&str]) -> Node {
        Node::Dir(names.iter().map(|n| (n.to_string(), synthetic::DT_REG)).collect())
    }

    fn node(&self, comps: &[&str]) -> Result<Node, Errno> {
        let last_cpu = self.cpus.saturating_sub(1);
        let range = if last_cpu == 0 { "0".to_string() } else { format!("0-{last_cpu}") };
        let cpu_dir =
            |name: &str| name.strip_prefix("cpu").and_then(|n| n.parse::<usize>().ok()).filter(|&n| n < self.cpus);
        let nic = |name: &str| iface::nics().into_iter().find(|n| n.name == name).ok_or(Errno::ENOENT);
        Ok(match comps {
            [] => Self::dirs(&["class", "devices", "fs"]),
            ["class"] => Self::dirs(&["net"]),
            ["class", "net"] => Self::dirs(&iface::nics().iter().map(|n| n.name.as_str()).collect::<Vec<_>>()),
            ["class", "net", name] => {
                nic(name)?;
                Self::files(NET_FILES)
            }
            ["class", "net", name, file] => Node::File(net_file(&nic(name)?, file)?),
            ["devices"] => Self::dirs(&["system"]),
            ["devices", "system"] => Self::dirs(&["cpu"]),
            ["devices", "system", "cpu"] => {
                let mut e: Vec<(String, u8)> = (0..self.cpus).map(|i| (format!("cpu{i}"), synthetic::DT_DIR)).collect();
                for f in ["online", "possible", "present"] {
                    e.push((f.into(), synthetic::DT_REG));
                }
                Node::Dir(e)
            }
            ["devices", "system", "cpu", "online" | "possible" | "present"] => Node::File(format!("{range}\n")),
            ["devices", "system", "cpu", c] if cpu_dir(c).is_some() => Node::Dir(Vec::new()),
            ["fs"] => Self::dirs(&["cgroup"]),
            ["fs", "cgroup"] => Node::Dir(Vec::new()),
            _ => return Err(Errno::ENOENT),
        })
    }

    fn comps(path: &str) -> Vec<&str> {
        path.split('/').filter(|c| !c.is_empty()).collect()
    }

    /// A stable inode number per path.
    fn ino(comps: &[&str]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        comps.hash(&mut h);
        h.finish() | 1
    }

    fn stat_of(&self, comps: &[&str], node: &Node) -> Stat {
        let mode = match node {
            Node::Dir(_) => S_IFDIR | 0o555,
            Node::File(_) => S_IFREG | 0o444,
        };
        // Like Linux's, sysfs attributes report 4096 bytes.
        let size = if matches!(node, Node::File(_)) { 4096 } else { 0 };
        synthetic::stat(DEV, Self::ino(comps), mode, 0, size, self.time)
    }
}

impl Default for SysFs {
    fn default() -> Self {
        SysFs::new()
    }
}

/// One attribute of `/sys/class/net/<if>/`, as Linux prints it.
fn net_file(nic: &Nic, file: &str) -> Result<String, Errno> {
    let mac = |m: &[u8; 6]| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    Ok(match file {
        "addr_len" => "6".into(),
        "address" => mac(&nic.mac),
        "broadcast" => mac(&if nic.is_loopback() { [0; 6] } else { [0xff; 6] }),
        // The 16 bits of `ifr_flags`, as `dev_get_flags` gives them.
        "flags" => format!("{:#x}", nic.flags & 0xffff & !0x40),
        "ifindex" => nic.index.to_string(),
        "mtu" => nic.mtu.to_string(),
        "operstate" => if nic.is_loopback() { "unknown" } else { "up" }.into(),
        "tx_queue_len" => "1000".into(),
        "type" => nic.arphrd.to_string(),
        _ => return Err(Errno::ENOENT),
    } + "\n")
}

impl FileSystem for SysFs {
    fn name(&self) -> &'static str {
        "sysfs"
    }

    fn open(&self, _task: &Task, path: &str, flags: u64, _mode: u32) -> Result<Arc<dyn FileDescription>, Errno> {
        let comps = Self::comps(path);
        let node = self.node(&comps)?;
        let stat = self.stat_of(&comps, &node);
        check_open(stat.mode, flags)?;
        let full_path = format!("/sys/{}", comps.join("/")).trim_end_matches('/').to_string();
        let statfs = synthetic::statfs(SYSFS_MAGIC);
        Ok(match node {
            Node::Dir(names) => {
                let mut entries = vec![
                    Entry { name: ".".into(), ino: Self::ino(&comps), d_type: synthetic::DT_DIR },
                    Entry {
                        name: "..".into(),
                        ino: Self::ino(&comps[..comps.len().saturating_sub(1)]),
                        d_type: synthetic::DT_DIR,
                    },
                ];
                for (name, d_type) in names {
                    let mut child = comps.clone();
                    child.push(&name);
                    entries.push(Entry { ino: Self::ino(&child), name: name.clone(), d_type });
                }
                Arc::new(synthetic::Dir { path: full_path, stat, statfs, flags, entries, pos: Mutex::new(0) })
            }
            Node::File(text) => Arc::new(synthetic::File {
                path: full_path,
                stat,
                statfs,
                flags,
                data: text.into_bytes(),
                pos: Mutex::new(0),
            }),
        })
    }

    fn stat(&self, _task: &Task, path: &str, _follow: bool) -> Result<Stat, Errno> {
        let comps = Self::comps(path);
        let node = self.node(&comps)?;
        Ok(self.stat_of(&comps, &node))
    }

    fn readlink(&self, _task: &Task, path: &str) -> Result<String, Errno> {
        self.node(&Self::comps(path))?;
        Err(Errno::EINVAL)
    }

    fn statfs(&self, _task: &Task, path: &str) -> Result<Statfs, Errno> {
        self.node(&Self::comps(path))?;
        Ok(synthetic::statfs(SYSFS_MAGIC))
    }
}
