//! Terminals (issue #6): `--console-socket` as runc does it, the console
//! with job control, `exec --tty`, foreground terminals. Needs root, a
//! built `moat` and `scripts/make-bundles`.

mod common;

use std::time::Duration;

use common::*;
use moat_tests::{unique_name, Bundle, Moat};

// ---- terminals: --console-socket, the console, exec --tty ----

/// The receiving end of a `--console-socket`, as containerd's shim holds
/// it: a listening Unix socket whose first connection brings the pty
/// master (SCM_RIGHTS) with runc's payload, the name `/dev/ptmx`.
struct ConsoleSocket {
    listener: std::os::unix::net::UnixListener,
    path: String,
}

impl ConsoleSocket {
    fn new(moat: &Moat) -> ConsoleSocket {
        let path = moat.scratch().join(unique_name("console")).to_string_lossy().into_owned();
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind the console socket");
        ConsoleSocket { listener, path }
    }

    /// The master the runtime sent (it connects before it returns, so the
    /// message is waiting in the backlog), and the payload that came with it.
    fn master(&self) -> (std::os::fd::OwnedFd, String) {
        use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
        use std::mem::MaybeUninit;
        self.listener.set_nonblocking(true).unwrap();
        let (conn, _) = self.listener.accept().expect("the runtime connected to the console socket");
        conn.set_nonblocking(false).unwrap();
        let mut buf = [0u8; 256];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
        let mut ancillary = RecvAncillaryBuffer::new(&mut space);
        let msg = recvmsg(&conn, &mut [std::io::IoSliceMut::new(&mut buf)], &mut ancillary, RecvFlags::CMSG_CLOEXEC)
            .expect("recvmsg on the console socket");
        let mut fds = Vec::new();
        for m in ancillary.drain() {
            if let RecvAncillaryMessage::ScmRights(f) = m {
                fds.extend(f);
            }
        }
        assert_eq!(fds.len(), 1, "one descriptor comes over the console socket, got {fds:?}");
        (fds.remove(0), String::from_utf8_lossy(&buf[..msg.bytes]).into_owned())
    }
}

/// Reads the terminal's master until `until` appears in what came, the
/// other side hangs up (EIO), or `deadline` passes; returns what came.
fn read_master(master: &std::os::fd::OwnedFd, until: &str, deadline: Duration) -> String {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < deadline && !String::from_utf8_lossy(&got).contains(until) {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) == 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(master, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn write_master(master: &std::os::fd::OwnedFd, s: &str) {
    nix::unistd::write(master, s.as_bytes()).expect("write to the terminal's master");
}

/// A busybox shell whose stdio is the console.
fn console_shell() -> Bundle {
    Bundle::derive_with(|spec| {
        spec["process"]["terminal"] = serde_json::Value::from(true);
        spec["process"]["args"] = serde_json::json!(["/bin/busybox", "sh"]);
        spec["process"]["consoleSize"] = serde_json::json!({"height": 25, "width": 81});
    })
}

#[test]
fn console_socket_gets_the_master_and_the_shell_talks_through_it() {
    let moat = Moat::new();
    let sock = ConsoleSocket::new(&moat);
    let bundle = console_shell();
    let id = unique_name("tty");
    moat.run(&["create", "--bundle", bundle.path_str(), "--console-socket", &sock.path, &id]).assert_success();
    let (master, name) = sock.master();
    assert_eq!(name, "/dev/ptmx", "runc's payload names the master");
    moat.run(&["start", &id]).assert_success();
    // The shell's prompt, then a command line typed into the master: the
    // host's line discipline echoes it and maps \n to \r\n on output.
    // (Each marker is split by quotes on the command line, so that the
    // echo of the line typed does not match it.)
    write_master(&master, "echo hi; tty; stty size; [ -t 0 ] && echo is\"\"atty\n");
    let out = read_master(&master, "isatty", DEADLINE);
    assert!(out.contains("hi\r\n"), "echo's output comes back through the master:\n{out:?}");
    assert!(out.contains("/dev/console\r\n"), "the console is /dev/console, as with runc:\n{out:?}");
    assert!(out.contains("25 81\r\n"), "process.consoleSize sizes the terminal:\n{out:?}");
    // ^C in the host's line discipline reaches the foreground job inside,
    // not the shell (which is in the background meanwhile).
    // (A shell abandons the rest of a command line whose job died of
    // SIGINT, so the status is asked for on the next line.)
    write_master(&master, "sleep 100\n");
    let ps_shows_sleep = || moat.run(&["ps", &id]).stdout.contains("sleep");
    let start = std::time::Instant::now();
    while !ps_shows_sleep() && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
    }
    write_master(&master, "\x03");
    write_master(&master, "echo sta\"\"tus $?\n");
    let out = read_master(&master, "status 130", DEADLINE);
    assert!(out.contains("status 130"), "^C killed sleep with SIGINT, and only sleep:\n{out:?}");
    // Job control: a background read stops with SIGTTIN.
    write_master(&master, "cat & sleep 0.5; jobs; kill -9 %1\n");
    let out = read_master(&master, "tty input", DEADLINE);
    assert!(out.contains("Stopped (tty input)"), "a background read of the terminal stops:\n{out:?}");
    // SIGKILL ends the stopped job.
    let start = std::time::Instant::now();
    while moat.run(&["ps", &id]).stdout.contains(" cat") && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!moat.run(&["ps", &id]).stdout.contains(" cat"), "SIGKILL ends a stopped job");
    // A shell that has not yet seen its stopped job die refuses the first
    // exit ("You have stopped jobs."); the second always goes.
    write_master(&master, "exit 7\n");
    let out = read_master(&master, "\u{0}", Duration::from_secs(2));
    if out.contains("stopped jobs") {
        write_master(&master, "exit 7\n");
        read_master(&master, "\u{0}", DEADLINE);
    }
    let out = moat.run(&["wait", &id]);
    out.assert_exit(7);
    moat.run(&["delete", &id]).assert_success();
}

#[test]
fn terminal_without_a_console_socket_or_socket_without_terminal_fails() {
    let moat = Moat::new();
    let sock = ConsoleSocket::new(&moat);
    let bundle = console_shell();
    fails_naming(&moat, &["create", "--bundle", bundle.path_str(), "c1"], "--console-socket", "create needs a socket");
    fails_naming(
        &moat,
        &["run", "--bundle", bundle.path_str(), "--console-socket", &sock.path, "c2"],
        "without detaching",
        "a foreground run takes no console socket (runc's rule)",
    );
    let plain = sleeper();
    fails_naming(
        &moat,
        &["create", "--bundle", plain.path_str(), "--console-socket", &sock.path, "c3"],
        "without a terminal",
        "a console socket needs process.terminal",
    );
    assert_nothing_left(&moat);
}

#[test]
fn exec_tty_console_socket() {
    let moat = Moat::new();
    let bundle = sleeper();
    let (id, pid) = started(&moat, &bundle);
    let sock = ConsoleSocket::new(&moat);
    let out = moat.run(&["exec", "--detach", "--tty", "--console-socket", &sock.path, &id, "/bin/busybox", "sh"]);
    out.assert_success();
    let (master, name) = sock.master();
    assert_eq!(name, "/dev/ptmx");
    write_master(&master, "[ -t 1 ] && echo is\"\"atty\n");
    let out = read_master(&master, "isatty", DEADLINE);
    assert!(out.contains("isatty\r\n"), "the exec'd shell's stdout is a terminal:\n{out:?}");
    // ^C: the host's line discipline signals the waiter `moat exec` left
    // behind (it leads the terminal's host session), which forwards it to
    // the foreground job inside.
    // (Not `sleep 100`: the init is `sleep 1000`.)
    write_master(&master, "sleep 99\n");
    let start = std::time::Instant::now();
    while !moat.run(&["ps", &id]).stdout.contains("sleep 99") && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
    }
    write_master(&master, "\x03");
    write_master(&master, "echo sta\"\"tus $?; exit 3\n");
    let out = read_master(&master, "\u{0}", DEADLINE);
    assert!(out.contains("status 130"), "^C reached the exec'd shell's foreground job:\n{out:?}");
    // In the foreground, `moat exec -t` copies between its stdio and the
    // pty, as runc does.
    let out = moat.run(&["exec", "-t", &id, "/bin/busybox", "sh", "-c", "[ -t 0 ] && echo is a tty; exit 6"]);
    out.assert_exit(6);
    assert_eq!(out.stdout, "is a tty\r\n", "ONLCR of the pty shows in the copied output:\n{out}");
    // Its terminal has a name, as runc's exec'd terminal is a devpts node:
    // ttyname finds /dev/pts/N, whose node is the descriptor's.
    let script = "t=$(tty) && echo name $t && [ -c $t ] && [ $t -ef /proc/self/fd/0 ] && ls /dev/pts | grep -qx ${t##*/} && echo same node";
    let out = moat.run(&["exec", "-t", &id, "/bin/busybox", "sh", "-c", script]);
    out.assert_success();
    assert!(
        out.stdout.contains("name /dev/pts/") && out.stdout.contains("same node"),
        "tty in an exec'd terminal:\n{out}"
    );
    delete_and_check_gone(&moat, &id, pid, true);
}

#[test]
fn run_in_the_foreground_copies_between_its_stdio_and_the_terminal() {
    let moat = Moat::new();
    let bundle = console_shell();
    let id = unique_name("fg");
    let mut cmd = moat.command(&[]);
    cmd.args(["run", "--bundle", bundle.path_str(), &id]);
    let mut child =
        cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().expect("spawn moat run");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"echo h\"\"i; tty; exit 4\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "the shell's status:\n{stdout}");
    assert!(stdout.contains("hi\r\n/dev/console\r\n"), "the shell's output through the pty:\n{stdout:?}");
}
