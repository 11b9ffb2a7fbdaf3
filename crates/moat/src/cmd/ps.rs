//! `moat ps`: the container's processes, as its kernel sees them.

use anyhow::Result;
use control::ProcessInfo;
use runtime::container::Runtime;
use std::time::{SystemTime, UNIX_EPOCH};

/// List the processes of a container.
#[derive(clap::Args)]
pub struct Ps {
    /// `table`: the container's processes as its kernel sees them (like
    /// `runsc ps`, with a state column). `json`: as runc, the host pids
    /// that run the container (the sandbox process and its stubs).
    #[arg(long, short, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
    pub id: String,
}

impl Ps {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        if self.format == "json" {
            println!("{}", serde_json::to_string(&rt.host_pids(&self.id)?)?);
        } else {
            let procs = rt.ps(&self.id)?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            print!("{}", table(&procs, now));
        }
        Ok(0)
    }
}

/// `UID PID PPID C STIME S TIME CMD`: C is the CPU use in percent of the
/// process's life, STIME its start (HH:MM, UTC), S its state, TIME its
/// CPU time.
fn table(procs: &[ProcessInfo], now: u64) -> String {
    let header = ["UID", "PID", "PPID", "C", "STIME", "S", "TIME", "CMD"].map(String::from);
    let mut rows = vec![header];
    for p in procs {
        let life_ms = now.saturating_sub(p.started).max(1) * 1000;
        let cpu_s = p.cpu_ms / 1000;
        let cmd = if p.cmdline.is_empty() { "<defunct>".to_string() } else { p.cmdline.join(" ") };
        rows.push([
            p.uid.to_string(),
            p.pid.to_string(),
            p.ppid.to_string(),
            (p.cpu_ms * 100 / life_ms).to_string(),
            format!("{:02}:{:02}", p.started / 3600 % 24, p.started / 60 % 60),
            p.state.to_string(),
            format!("{:02}:{:02}:{:02}", cpu_s / 3600, cpu_s / 60 % 60, cpu_s % 60),
            cmd,
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}", w = widths[i] + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        let p = ProcessInfo {
            pid: 1,
            ppid: 0,
            uid: 0,
            state: 'S',
            started: 3600 * 25 + 60 * 7,
            cpu_ms: 1500,
            cmdline: vec!["sleep".into(), "10".into()],
        };
        let t = table(&[p], 3600 * 25 + 60 * 7 + 3);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("UID   PID   PPID   C  "), "{t}");
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cells, ["0", "1", "0", "50", "01:07", "S", "00:00:01", "sleep", "10"], "{t}");
    }
}
