//! `moat`: a runc-compatible command line whose containers run inside a
//! sandbox with a user-space kernel. One file per subcommand under `cmd/`;
//! the logic lives in the `runtime` crate.

mod cmd;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "moat", version, about = "OCI runtime that runs containers in a user-space kernel sandbox")]
struct Cli {
    /// Directory for container state.
    #[arg(long, default_value = "/run/moat")]
    root: PathBuf,
    /// Log file (appended to); also given to the sandbox and gofer.
    #[arg(long)]
    log: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[arg(long)]
    debug: bool,
    /// How the sandbox runs application code (only `ptrace` for now).
    #[arg(long, default_value = "ptrace")]
    platform: String,
    /// Container networking: `sandbox` (the sandbox's own TCP/IP stack on
    /// the interfaces of the container's network namespace), `none`
    /// (loopback only), `host` (application sockets are host sockets the
    /// sentry drives, in the sandbox's namespace: isolation traded for speed).
    #[arg(long, default_value = "sandbox")]
    network: String,
    /// Log every application system call.
    #[arg(long)]
    strace: bool,
    /// How the root file system takes the container's changes (runsc's
    /// flag): `root:memory` keeps them in an overlay in the sandbox's
    /// memory; `none` writes them through to the bundle's root file system.
    #[arg(long, default_value = "root:memory")]
    overlay2: String,
    /// systemd's cgroup naming: `linux.cgroupsPath` is `slice:prefix:name`
    /// and the container's cgroup is where systemd would put that scope.
    /// moat makes the directories itself; with systemd running (which
    /// wants the scope made over D-Bus, not implemented) it is refused.
    #[arg(long)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

#[derive(Subcommand)]
enum Command {
    Create(cmd::create::Create),
    Start(cmd::start::Start),
    State(cmd::state::State),
    Kill(cmd::kill::Kill),
    Delete(cmd::delete::Delete),
    Run(cmd::run::Run),
    Exec(cmd::exec::Exec),
    Ps(cmd::ps::Ps),
    Pause(cmd::pause::Pause),
    Resume(cmd::pause::Resume),
    Wait(cmd::wait::Wait),
    Events(cmd::events::Events),
    Install(cmd::install::Install),
    Features(cmd::features::Features),
    List(cmd::list::List),
    Spec(cmd::spec::SpecCmd),
    Do(cmd::r#do::Do),
    Syscalls(cmd::syscalls::Syscalls),
    #[command(hide = true)]
    Boot(cmd::boot::Boot),
    #[command(hide = true)]
    Gofer(cmd::gofer::Gofer),
}

fn main() {
    let cli = Cli::parse();
    // The sandbox and the gofer set up their own logging.
    match cli.command {
        Command::Boot(b) => std::process::exit(b.execute()),
        Command::Gofer(g) => std::process::exit(g.execute()),
        _ => {}
    }
    hostsys::process::default_sigpipe();
    let (log_path, log_format) = (cli.log.clone(), cli.log_format);
    let log_init = init_logging(&cli);
    let result = log_init.and_then(|()| dispatch(cli));
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = render(&e);
            if let (Some(path), LogFormat::Json) = (&log_path, log_format) {
                // runc's error line, which containerd's shim reads back
                // from the log to report why the runtime failed.
                let line = serde_json::json!({
                    "level": "error",
                    "msg": msg,
                    "time": runtime::time::rfc3339(std::time::SystemTime::now()),
                });
                let written = std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()));
                if written.is_err() {
                    tracing::error!("{msg}");
                }
            } else if log_path.is_some() {
                tracing::error!("{msg}");
            }
            eprintln!("moat: {msg}");
            std::process::exit(1);
        }
    }
}

/// The error and its causes, each cause once: many of our errors already
/// name their source in their own message.
fn render(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

fn dispatch(cli: Cli) -> Result<i32> {
    if cli.systemd_cgroup && std::path::Path::new("/run/systemd/system").exists() {
        bail!(
            "--systemd-cgroup: systemd runs this host and would want the container's scope made over \
             D-Bus, which moat does not do yet; drop the flag and give linux.cgroupsPath as a path \
             (moat makes the cgroup itself)"
        );
    }
    if cli.platform != "ptrace" {
        bail!("--platform={}: unknown or unsupported platform (supported: ptrace)", cli.platform);
    }
    if let Err(e) = control::launch::NetworkMode::parse_supported(&cli.network) {
        bail!("{e}");
    }
    if let Err(e) = cli.overlay2.parse::<sentry::RootOverlay>() {
        bail!("{e}");
    }
    let mut rt = runtime::container::Runtime::new(cli.root.clone());
    rt.log = cli.log.clone();
    rt.log_format = cli.log_format.as_str().into();
    rt.debug = cli.debug;
    rt.strace = cli.strace;
    rt.platform = cli.platform.clone();
    rt.network = cli.network.clone();
    rt.overlay2 = cli.overlay2.clone();
    rt.systemd_cgroup = cli.systemd_cgroup;
    match cli.command {
        Command::Create(c) => c.execute(&rt),
        Command::Start(c) => c.execute(&rt),
        Command::State(c) => c.execute(&rt),
        Command::Kill(c) => c.execute(&rt),
        Command::Delete(c) => c.execute(&rt),
        Command::Run(c) => c.execute(&rt),
        Command::Exec(c) => c.execute(&rt),
        Command::Ps(c) => c.execute(&rt),
        Command::Pause(c) => c.execute(&rt),
        Command::Resume(c) => c.execute(&rt),
        Command::Wait(c) => c.execute(&rt),
        Command::Events(c) => c.execute(&rt),
        Command::Install(c) => c.execute(),
        Command::Features(c) => c.execute(),
        Command::List(c) => c.execute(&rt),
        Command::Spec(c) => c.execute(),
        Command::Syscalls(c) => c.execute(),
        Command::Do(c) => c.execute(&rt),
        Command::Boot(_) | Command::Gofer(_) => unreachable!("handled before logging"),
    }
}

/// The runtime's own log: to `--log` (appended) or stderr; text or JSON
/// lines; debug level with `--debug`, warnings otherwise.
fn init_logging(cli: &Cli) -> Result<()> {
    let level = if cli.debug { tracing::Level::DEBUG } else { tracing::Level::WARN };
    let builder = tracing_subscriber::fmt().with_max_level(level).with_ansi(false);
    match &cli.log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
            let file = std::sync::Mutex::new(file);
            match cli.log_format {
                LogFormat::Json => builder.json().with_writer(file).init(),
                LogFormat::Text => builder.with_writer(file).init(),
            }
        }
        None => match cli.log_format {
            LogFormat::Json => builder.json().with_writer(std::io::stderr).init(),
            LogFormat::Text => builder.with_writer(std::io::stderr).init(),
        },
    }
    Ok(())
}
