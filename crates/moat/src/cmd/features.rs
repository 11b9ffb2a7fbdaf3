//! `moat features`: what this runtime supports, in the JSON of `runc
//! features` (runtime-spec `features.md`). Only what moat honours is
//! listed: a field moat cannot vouch for is left out (which the format
//! reads as "unknown") or says `false`.

use anyhow::Result;

/// Print the features this runtime implements, as JSON.
#[derive(clap::Args)]
pub struct Features {}

impl Features {
    pub fn execute(self) -> Result<i32> {
        println!("{}", serde_json::to_string_pretty(&features())?);
        Ok(0)
    }
}

fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": runtime::state::oci_version(),
        // Run by the runtime (runtime/src/hooks.rs); createContainer and
        // startContainer are refused.
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        // tmpfs options the sentry applies (sentry/src/fs/tmpfs.rs), and
        // those of bind mounts (gofer::proto::BindOptions).
        "mountOptions": [
            "size", "mode", "uid", "gid", "ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "suid", "dev", "exec"
        ],
        "linux": {
            // The spec's namespaces are not consulted: every container
            // gets all of its own, inside the sandbox's kernel.
            // Host cgroups through the cgroupfs driver only, on v1, v2 and
            // the hybrid (runtime/src/cgroup.rs); no systemd driver (--systemd-cgroup
            // only names the cgroup as systemd would; the scope is not made over D-Bus).
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            // The spec's seccomp profile, AppArmor and SELinux labels are
            // not applied (the sandbox has its own host seccomp filter).
            "seccomp": { "enabled": false },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
        },
        "annotations": {
            "dev.moat.platform": "ptrace",
            // process.terminal: through --console-socket (create, run -d,
            // exec -d), or copied to the runtime's stdio in the foreground.
            "dev.moat.terminal": "true",
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_and_nothing_claimed_that_is_not_done() {
        let f = super::features();
        assert_eq!(f["ociVersionMax"], runtime::state::oci_version());
        assert_eq!(f["hooks"], serde_json::json!(["prestart", "createRuntime", "poststart", "poststop"]));
        assert_eq!(f["linux"]["seccomp"]["enabled"], false);
        assert!(f["linux"].get("namespaces").is_none());
        assert_eq!(
            f["linux"]["cgroup"],
            serde_json::json!({"v1": true, "v2": true, "systemd": false, "systemdUser": false})
        );
    }
}
