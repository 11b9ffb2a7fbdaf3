//! `moat events`: the container's resource use as runc's `events` prints
//! it (`{"type":"stats","id":...,"data":{cpu, memory, pids}}`, and
//! `{"type":"oom",...}` when the sentry's OOM killer struck). Memory and
//! pids are the sandbox kernel's own counts (the application's memory and
//! processes); CPU time is the host cgroup's (everything the sandbox, its
//! stubs and the gofer spent), since the host is what runs them.

use crate::container::{client, protocol, transition, Runtime};
use crate::error::{Error, Result};
use crate::status::Action;
use control::{Request, Response, SandboxStats};
use serde_json::{json, Value};

impl Runtime {
    /// One `stats` event for container `id`, and the sentry's OOM kill
    /// count (for `oom` events).
    pub fn stats(&self, id: &str) -> Result<(Value, u64)> {
        let st = self.dir(id)?.load()?;
        transition(&st, st.effective_status(), Action::Events)?;
        let s: SandboxStats = match client(&st)?.call(&Request::Stats, &[]) {
            Ok(Response::Stats(s)) => s,
            Ok(other) => return Err(protocol(id, "Stats", other)),
            Err(source) => return Err(Error::Control { id: id.into(), source }),
        };
        let cg = st.cgroup.as_ref();
        let read = |file: &str| cg.and_then(|c| c.read(file));
        let mut data = json!({
            "memory": {
                "usage": {
                    "usage": s.memory_usage,
                    "limit": s.memory_limit.unwrap_or(u64::MAX),
                    "failcnt": s.oom_kills,
                },
            },
            "pids": { "current": s.pids },
        });
        if let Some(limit) = read("pids.max").and_then(|v| v.trim().parse::<u64>().ok()) {
            data["pids"]["limit"] = json!(limit);
        }
        if let Some(cpu) = cpu_usage(&read) {
            data["cpu"] = json!({ "usage": cpu });
        }
        Ok((json!({ "type": "stats", "id": id, "data": data }), s.oom_kills))
    }
}

/// CPU usage in nanoseconds from the cgroup: v1 `cpuacct.usage`,
/// `cpuacct.usage_percpu` and `cpuacct.stat` (USER_HZ ticks), or v2
/// `cpu.stat` (microseconds).
fn cpu_usage(read: &dyn Fn(&str) -> Option<String>) -> Option<Value> {
    let field = |text: &str, key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse::<u64>().ok()))
    };
    if let Some(total) = read("cpuacct.usage").and_then(|v| v.trim().parse::<u64>().ok()) {
        let tick = 1_000_000_000 / rustix::param::clock_ticks_per_second();
        let stat = read("cpuacct.stat").unwrap_or_default();
        let percpu: Vec<u64> = read("cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        return Some(json!({
            "total": total,
            "percpu": percpu,
            "user": field(&stat, "user ").unwrap_or(0) * tick,
            "kernel": field(&stat, "system ").unwrap_or(0) * tick,
        }));
    }
    let stat = read("cpu.stat")?;
    Some(json!({
        "total": field(&stat, "usage_usec ")? * 1000,
        "user": field(&stat, "user_usec ").unwrap_or(0) * 1000,
        "kernel": field(&stat, "system_usec ").unwrap_or(0) * 1000,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_from_v2_and_v1_files() {
        let v2 = |f: &str| (f == "cpu.stat").then(|| "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n".to_string());
        assert_eq!(cpu_usage(&v2), Some(json!({"total": 1_500_000, "user": 1_000_000, "kernel": 500_000})));
        let v1 = |f: &str| match f {
            "cpuacct.usage" => Some("123456\n".to_string()),
            "cpuacct.usage_percpu" => Some("100000 23456 \n".to_string()),
            "cpuacct.stat" => Some("user 2\nsystem 1\n".to_string()),
            _ => None,
        };
        let tick = 1_000_000_000 / rustix::param::clock_ticks_per_second();
        assert_eq!(
            cpu_usage(&v1),
            Some(json!({"total": 123456, "percpu": [100000, 23456], "user": 2 * tick, "kernel": tick}))
        );
        assert_eq!(cpu_usage(&|_| None), None);
    }
}
