//! `moat install`: registers moat as a Docker runtime in `daemon.json`
//! (`"runtimes": {"moat": {"path": ..., "runtimeArgs": [...]}}`), as
//! `runsc install` does; `--uninstall` removes the entry again. Every
//! other setting in the file is kept; the file is replaced atomically, and
//! left as it was when it cannot be parsed.

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Add moat to Docker's runtimes in daemon.json (or remove it).
#[derive(clap::Args)]
pub struct Install {
    /// Docker's daemon configuration.
    #[arg(long, default_value = "/etc/docker/daemon.json")]
    pub config: PathBuf,
    /// The name Docker knows the runtime by (`docker run --runtime=NAME`).
    #[arg(long, default_value = "moat")]
    pub runtime: String,
    /// Remove the runtime instead.
    #[arg(long)]
    pub uninstall: bool,
    /// Global flags Docker passes to moat on every call (e.g. `--debug`).
    #[arg(last = true)]
    pub runtime_args: Vec<String>,
}

impl Install {
    pub fn execute(self) -> Result<i32> {
        let existing = match std::fs::read_to_string(&self.config) {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(
                serde_json::from_str::<Value>(&text)
                    .with_context(|| format!("{} is not valid JSON; left as it is", self.config.display()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.config.display())),
        };
        let config = if self.uninstall {
            let Some(existing) = existing else {
                bail!("{} does not exist: no runtime {:?} to remove", self.config.display(), self.runtime);
            };
            uninstall(existing, &self.runtime).with_context(|| self.config.display().to_string())?
        } else {
            let exe =
                std::env::current_exe().and_then(|p| p.canonicalize()).context("finding the moat binary's own path")?;
            install(existing.unwrap_or_else(|| json!({})), &self.runtime, &exe, &self.runtime_args)
                .with_context(|| self.config.display().to_string())?
        };
        write(&self.config, &config)?;
        let verb = if self.uninstall { "removed runtime" } else { "added runtime" };
        println!(
            "{verb} {:?} in {}; reload Docker to apply it (SIGHUP or restart dockerd)",
            self.runtime,
            self.config.display()
        );
        Ok(0)
    }
}

fn install(mut config: Value, name: &str, exe: &Path, args: &[String]) -> Result<Value> {
    let Some(top) = config.as_object_mut() else { bail!("the top level is not a JSON object") };
    let runtimes = top.entry("runtimes").or_insert_with(|| json!({}));
    let Some(runtimes) = runtimes.as_object_mut() else { bail!("\"runtimes\" is not a JSON object") };
    let mut entry = Map::new();
    entry.insert("path".into(), json!(exe));
    if !args.is_empty() {
        entry.insert("runtimeArgs".into(), json!(args));
    }
    runtimes.insert(name.into(), Value::Object(entry));
    Ok(config)
}

fn uninstall(mut config: Value, name: &str) -> Result<Value> {
    let top = config.as_object_mut().context("the top level is not a JSON object")?;
    let runtimes = top.get_mut("runtimes").and_then(Value::as_object_mut);
    if runtimes.and_then(|r| r.remove(name)).is_none() {
        bail!("there is no runtime {name:?}");
    }
    if top.get("runtimes").and_then(Value::as_object).is_some_and(Map::is_empty) {
        top.remove("runtimes");
    }
    Ok(config)
}

fn write(path: &Path, config: &Value) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(config)? + "\n";
    runtime::state::write_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_keeps_other_settings_and_uninstall_reverses_it() {
        let before = json!({"storage-driver": "vfs", "runtimes": {"other": {"path": "/x"}}});
        let exe = Path::new("/usr/local/bin/moat");
        let after = install(before.clone(), "moat", exe, &["--debug".into()]).unwrap();
        assert_eq!(after["storage-driver"], "vfs");
        assert_eq!(after["runtimes"]["other"]["path"], "/x");
        assert_eq!(after["runtimes"]["moat"], json!({"path": "/usr/local/bin/moat", "runtimeArgs": ["--debug"]}));
        assert_eq!(uninstall(after, "moat").unwrap(), before);
        let only = install(json!({}), "moat", exe, &[]).unwrap();
        assert_eq!(only, json!({"runtimes": {"moat": {"path": "/usr/local/bin/moat"}}}));
        assert_eq!(uninstall(only, "moat").unwrap(), json!({}));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let exe = Path::new("/m");
        assert!(install(json!([1]), "moat", exe, &[]).is_err());
        assert!(install(json!({"runtimes": 3}), "moat", exe, &[]).is_err());
        assert!(uninstall(json!({"runtimes": {}}), "moat").unwrap_err().to_string().contains("no runtime"));
    }
}
