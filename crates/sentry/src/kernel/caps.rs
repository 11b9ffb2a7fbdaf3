//! Capabilities as emulated state (gVisor: `auth.Credentials` and
//! `kernel/task_identity.go`): each task's five sets, the rules Linux
//! applies when uids change and at execve (capabilities(7)), and the
//! checks the sentry makes with them. The host grants nothing: these only
//! gate what the sentry itself allows.

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_WAKE_ALARM: u32 = 35;
/// CAP_CHECKPOINT_RESTORE, the last one Linux 5.9+ knows.
pub const CAP_LAST_CAP: u32 = 40;
pub const ALL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// Linux's capability names, by number, as the OCI spec spells them.
const NAMES: [&str; CAP_LAST_CAP as usize + 1] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The set of the named capabilities (`CAP_NET_RAW`...); unknown names
/// are returned as the error.
pub fn set_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<u64, String> {
    names.into_iter().try_fold(0u64, |set, name| {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
        NAMES.iter().position(|n| *n == full).map(|i| set | 1 << i).ok_or_else(|| name.to_string())
    })
}

/// A task's capability sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

impl Caps {
    /// What a process that has dropped nothing holds: root's sets.
    pub fn full() -> Caps {
        Caps { effective: ALL, permitted: ALL, inheritable: 0, bounding: ALL, ambient: 0 }
    }

    pub fn has(&self, cap: u32) -> bool {
        self.effective & (1 << cap) != 0
    }

    /// capabilities(7), "Effect of user ID changes on capabilities", for
    /// the (real, effective, saved) uids before and after a set*uid call.
    pub fn after_setuid(&mut self, old: (u32, u32, u32), new: (u32, u32, u32), keepcaps: bool) {
        let had_root = old.0 == 0 || old.1 == 0 || old.2 == 0;
        let no_root = new.0 != 0 && new.1 != 0 && new.2 != 0;
        if had_root && no_root && !keepcaps {
            self.permitted = 0;
            self.effective = 0;
            self.ambient = 0;
        }
        if had_root && no_root {
            self.ambient = 0;
        }
        if old.1 == 0 && new.1 != 0 {
            self.effective = 0;
        } else if old.1 != 0 && new.1 == 0 {
            self.effective = self.permitted;
        }
    }

    /// capabilities(7), "Transformation of capabilities during execve()",
    /// for a program without file capabilities or set-user-ID bit: root
    /// (real or effective uid 0) gets its bounding set's worth, as if the
    /// file's sets were full; others keep their ambient set.
    pub fn after_exec(&mut self, ruid: u32, euid: u32) {
        if ruid == 0 || euid == 0 {
            self.ambient = 0;
            self.permitted = self.inheritable | self.bounding;
            self.effective = if euid == 0 { self.permitted } else { 0 };
        } else {
            self.permitted = self.ambient;
            self.effective = self.ambient;
        }
    }
}
