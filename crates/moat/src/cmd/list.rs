//! `moat list`: the containers under `--root`, as runc prints them.

use anyhow::Result;
use runtime::container::Runtime;

/// List containers.
#[derive(clap::Args)]
pub struct List {
    #[arg(long, short, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
    /// Print only the ids.
    #[arg(long, short)]
    pub quiet: bool,
}

impl List {
    pub fn execute(self, rt: &Runtime) -> Result<i32> {
        let states = rt.list()?;
        if self.quiet {
            for st in &states {
                println!("{}", st.id);
            }
            return Ok(0);
        }
        let rows: Vec<[String; 6]> = states
            .iter()
            .map(|st| {
                let oci = st.oci();
                [
                    st.id.clone(),
                    oci["pid"].to_string(),
                    oci["status"].as_str().unwrap_or_default().to_string(),
                    st.bundle.display().to_string(),
                    st.created.clone(),
                    st.owner.clone(),
                ]
            })
            .collect();
        if self.format == "json" {
            let v: Vec<serde_json::Value> = states
                .iter()
                .zip(&rows)
                .map(|(st, r)| {
                    serde_json::json!({
                        "ociVersion": runtime::state::oci_version(),
                        "id": st.id, "pid": st.oci()["pid"], "status": r[2],
                        "bundle": st.bundle, "created": st.created, "owner": st.owner,
                        "annotations": st.annotations,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string(&v)?);
            return Ok(0);
        }
        print!("{}", table(&["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], &rows));
        Ok(0)
    }
}

/// Columns padded like Go's tabwriter with padding 3, as runc uses.
fn table(header: &[&str; 6], rows: &[[String; 6]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}", w = widths[i] + 3));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
