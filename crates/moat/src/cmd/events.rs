//! `moat events`: the container's resource use, as runc prints it.

use anyhow::Result;
use runtime::container::Runtime;
use std::io::Write;
use std::time::Duration;

/// Print the container's resource use (CPU, memory, pids) as JSON lines,
/// every interval until it stops, and `oom` events when its memory limit
/// killed a process.
#[derive(clap::Args)]
pub struct Events {
    /// Print the stats once and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between two reports (e.g. `5s`, `500ms`).
    #[arg(long, default_value = "5s", value_parser = parse_interval)]
    pub interval: Duration,
    pub id: String,
}

impl Events {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let (event, mut kills) = rt.stats(&self.id)?;
        if self.stats {
            println!("{event}");
            return Ok(0);
        }
        let mut out = std::io::stdout();
        writeln!(out, "{event}")?;
        loop {
            std::thread::sleep(self.interval);
            // The container stopping ends the stream, as with runc.
            let Ok((event, now)) = rt.stats(&self.id) else { return Ok(0) };
            for _ in kills..now {
                writeln!(out, "{}", serde_json::json!({ "type": "oom", "id": self.id }))?;
            }
            kills = now;
            writeln!(out, "{event}")?;
            out.flush()?;
        }
    }
}

/// `5s`, `500ms`, `1m`, or a bare number of seconds.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("invalid interval {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("invalid interval {s:?} (units: ms, s, m)")),
    };
    if secs.is_nan() || secs <= 0.0 || !secs.is_finite() {
        return Err(format!("the interval must be positive, not {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("2"), Ok(Duration::from_secs(2)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5h").is_err());
    }
}
