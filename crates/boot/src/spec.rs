//! The parts of the OCI spec the sandbox needs (gVisor: `runsc/specutils`).
//! The runtime has already validated the bundle; errors here still name
//! the file and the field.

use crate::BootError;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The spec's `network` entry of `linux.namespaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNamespace {
    /// No entry: the runtime's own namespace (as runc).
    Inherit,
    /// An entry without a path: a new, empty namespace.
    New,
    /// An entry with a path: that namespace (Docker's, CNI's).
    Join(PathBuf),
}

pub struct ContainerSpec {
    pub hostname: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// `linux.resources.memory.limit`, when positive.
    pub memory_limit: Option<u64>,
    /// `mounts`, for the sentry's mount table.
    pub mounts: Vec<sentry::MountSpec>,
    /// `root.readonly`: no overlay, changes to the root are EROFS.
    pub root_readonly: bool,
    /// `process.terminal`: the sandbox's stdio is the console (a host pty
    /// slave, the sandbox's controlling terminal).
    pub terminal: bool,
    /// `process.oomScoreAdj` (0 when absent).
    pub oom_score_adj: i32,
    pub network_namespace: NetNamespace,
    /// `process.capabilities`, when the spec has them.
    pub caps: Option<sentry::kernel::caps::Caps>,
}

pub fn load(bundle: &Path) -> Result<ContainerSpec, BootError> {
    let path = bundle.join("config.json");
    let spec = Spec::load(&path).map_err(|e| BootError::Spec(format!("{}: {e}", path.display())))?;
    let process =
        spec.process().as_ref().ok_or_else(|| BootError::Spec(format!("{}: no \"process\"", path.display())))?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(BootError::Spec(format!("{}: process.args is empty", path.display())));
    }
    let user = process.user();
    let mounts = spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| sentry::MountSpec {
            destination: m.destination().display().to_string(),
            kind: m.typ().clone().unwrap_or_default(),
            options: m.options().clone().unwrap_or_default(),
        })
        .collect();
    let network_namespace = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|ns| ns.iter().find(|n| n.typ() == LinuxNamespaceType::Network))
        .map_or(NetNamespace::Inherit, |n| match n.path() {
            Some(p) if !p.as_os_str().is_empty() => NetNamespace::Join(p.clone()),
            _ => NetNamespace::New,
        });
    let caps = match process.capabilities() {
        None => None,
        Some(c) => {
            let names = |s: &Option<oci_spec::runtime::Capabilities>| -> Vec<String> {
                s.iter().flatten().map(|c| c.to_string()).collect()
            };
            let names = control::CapabilityNames {
                effective: names(c.effective()),
                permitted: names(c.permitted()),
                inheritable: names(c.inheritable()),
                bounding: names(c.bounding()),
                ambient: names(c.ambient()),
            };
            Some(caps_of(&names).map_err(|e| BootError::Spec(format!("{}: {e}", path.display())))?)
        }
    };
    Ok(ContainerSpec {
        caps,
        network_namespace,
        hostname: spec.hostname().clone().unwrap_or_default(),
        args,
        env: process.env().clone().unwrap_or_default(),
        cwd: process.cwd().display().to_string(),
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        memory_limit: spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.memory().as_ref())
            .and_then(|m| m.limit())
            .and_then(|l| u64::try_from(l).ok())
            .filter(|&l| l > 0),
        mounts,
        oom_score_adj: process.oom_score_adj().unwrap_or(0),
        root_readonly: spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false),
        terminal: process.terminal().unwrap_or(false),
    })
}

/// The capability sets `names` describes (`process.capabilities`).
pub fn caps_of(names: &control::CapabilityNames) -> Result<sentry::kernel::caps::Caps, String> {
    let set = |which: &str, list: &[String]| {
        sentry::kernel::caps::set_of(list.iter().map(String::as_str))
            .map_err(|name| format!("process.capabilities.{which}: unknown capability {name}"))
    };
    let (permitted, inheritable) = (set("permitted", &names.permitted)?, set("inheritable", &names.inheritable)?);
    Ok(sentry::kernel::caps::Caps {
        effective: set("effective", &names.effective)?,
        permitted,
        inheritable,
        bounding: set("bounding", &names.bounding)?,
        // Linux refuses to raise what is not both permitted and
        // inheritable (runc ignores that failure).
        ambient: set("ambient", &names.ambient)? & permitted & inheritable,
    })
}

impl ContainerSpec {
    pub fn process(&self, stdio: Vec<Option<OwnedFd>>) -> sentry::ProcessSpec {
        sentry::ProcessSpec {
            argv: self.args.clone(),
            envp: self.env.clone(),
            cwd: if self.cwd.is_empty() { "/".into() } else { self.cwd.clone() },
            uid: self.uid,
            gid: self.gid,
            additional_gids: self.additional_gids.clone(),
            caps: self.caps,
            stdio,
            terminal: self.terminal.then_some(true),
        }
    }
}
