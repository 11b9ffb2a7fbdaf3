//! Host processes of a container (sandbox, gofer) identified by pid *and*
//! start time, so that a recycled pid is never mistaken for ours.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// The start time of `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`), or `None` if there is no such live process. Zombies
/// count as gone: they no longer run anything.
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

fn parse_stat(stat: &str) -> Option<u64> {
    // comm (field 2) may contain spaces and parentheses; it ends at the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state), so field 22 is fields[19].
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// `root` and its live descendants, by walking the parent links of
/// `/proc/*/stat` (host pids).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut parent_of = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            if let Some(ppid) = parse_ppid(&stat) {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent_of.iter().filter(|&&(_, pp)| pp == p).map(|&(c, _)| c));
        i += 1;
    }
    out.sort_unstable();
    out
}

fn parse_ppid(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(1)?.parse().ok()
}

/// A process we started, remembered by pid and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub start_time: u64,
}

impl Proc {
    /// Records `pid` as it is now; `None` if it is already gone.
    pub fn of(pid: i32) -> Option<Proc> {
        start_time(pid).map(|start_time| Proc { pid, start_time })
    }

    /// Whether this very process still runs.
    pub fn alive(&self) -> bool {
        self.pid > 0 && start_time(self.pid) == Some(self.start_time)
    }

    /// Sends `sig` if, and only if, the process is still ours.
    pub fn signal(&self, sig: Signal) {
        if self.alive() {
            let _ = kill(Pid::from_raw(self.pid), sig);
        }
    }

    /// SIGKILLs the process and waits (bounded) until it is gone. Returns
    /// whether it is gone.
    pub fn kill_and_wait(&self, timeout: Duration) -> bool {
        self.signal(Signal::SIGKILL);
        let deadline = Instant::now() + timeout;
        while self.alive() {
            if Instant::now() > deadline {
                return false;
            }
            // Reap it if it happens to be our child; ignore otherwise.
            let _ = nix::sys::wait::waitpid(Pid::from_raw(self.pid), Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_time_even_with_odd_comm() {
        let stat = "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(stat), Some(123456));
        let zombie = "42 (x) Z 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(zombie), None);
    }

    #[test]
    fn finds_its_children() {
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let me = std::process::id() as i32;
        let d = descendants(me);
        assert!(d.contains(&me) && d.contains(&(child.id() as i32)), "{d:?}");
        assert!(!d.contains(&1));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn knows_itself_and_not_strangers() {
        let me = Proc::of(std::process::id() as i32).unwrap();
        assert!(me.alive());
        assert!(!Proc { start_time: me.start_time + 1, ..me }.alive(), "pid reuse");
        assert!(Proc::of(0).is_none());
    }
}
