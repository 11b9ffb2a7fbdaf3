//! The container's memory limit, enforced inside the sandbox: when the
//! application memory the host holds for the container passes the limit,
//! the sentry kills the process with the largest resident set, as the
//! kernel's OOM killer does inside a memory cgroup — the sandbox itself is
//! never the one killed.
//!
//! Application pages are the memory file's pages, and the host fills them
//! on first touch without telling the sentry; so the limit is checked by a
//! watcher every few milliseconds rather than at each page fault, and an
//! application can overshoot it by what it touches in that interval.

use super::Kernel;
use abi::signal::SIGKILL;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the watcher looks.
const PERIOD: Duration = Duration::from_millis(10);
/// How long a victim gets to release its memory before the next look.
const GRACE: Duration = Duration::from_millis(200);

pub fn watch(kernel: &Arc<Kernel>, limit: u64) {
    let weak: Weak<Kernel> = Arc::downgrade(kernel);
    let spawned = std::thread::Builder::new().name("oom".into()).spawn(move || loop {
        std::thread::sleep(PERIOD);
        let Some(kernel) = weak.upgrade() else { return };
        let used = kernel.memfile.committed();
        if used <= limit {
            continue;
        }
        // The largest resident set among live processes.
        let candidates: Vec<_> = kernel
            .procs()
            .live()
            .filter_map(|(pid, p)| p.mm.upgrade().map(|mm| (pid, p.signal_target(), mm)))
            .collect();
        let victim =
            candidates.into_iter().map(|(pid, h, mm)| (mm.resident(), pid, h)).max_by_key(|(rss, pid, _)| (*rss, *pid));
        if let Some((rss, pid, handle)) = victim {
            tracing::warn!(
                pid,
                rss,
                used,
                limit,
                "out of memory: the container is over its memory limit; killing the largest process"
            );
            handle.send_signal(SIGKILL);
            kernel.oom_kills.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        drop(kernel);
        std::thread::sleep(GRACE);
    });
    if let Err(e) = spawned {
        tracing::error!("starting the memory-limit watcher: {e}");
    }
}
