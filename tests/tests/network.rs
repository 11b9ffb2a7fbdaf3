//! `--network` (issue #5) through the real binary: the container's network
//! namespace, what `--network=sandbox` takes from it, and traffic between
//! the container and a peer through the sandbox's TCP/IP stack.
//!
//! Each test makes its own pair of network namespaces with `ip netns add`
//! ([`NetPair`]): the container's (A) and a peer's (B), joined by a veth
//! pair, 198.18.0.1/24 and fd00:198::1/64 on A's end, 198.18.0.2/24 and
//! fd00:198::2/64 on B's (198.18.0.0/15 is set aside for benchmarking,
//! fd00::/8 is unique-local: no traffic leaves these namespaces).
//! Needs root, iproute2, curl, a built `moat` and `scripts/make-bundles`.
//!
//! The end-to-end tests pass against runc too
//! (`MOAT_BIN=$PWD/tests/support/runc-shim ...`), except the
//! `--network=none` one, a mode runc does not have.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use moat_tests::{run_cmd, unique_name, Bundle, Moat, Output};

const CONTAINER_IP: &str = "198.18.0.1";
const PEER_IP: &str = "198.18.0.2";
const PEER_IP6: &str = "fd00:198::2";

/// Two fresh network namespaces joined by a veth pair (`eth0` in each),
/// addressed and up, loopback up in both; deleted (with the veth pair)
/// on drop.
struct NetPair {
    a: String,
    b: String,
}

fn sh(args: &[&str]) -> Output {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    run_cmd(&mut c, Duration::from_secs(30))
}

impl NetPair {
    fn new() -> NetPair {
        let pair = NetPair { a: unique_name("mna"), b: unique_name("mnb") };
        sh(&["ip", "netns", "add", &pair.a]).assert_success();
        sh(&["ip", "netns", "add", &pair.b]).assert_success();
        let (a, b) = (pair.a.as_str(), pair.b.as_str());
        for step in [
            vec!["ip", "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b],
            vec!["ip", "-n", a, "addr", "add", "198.18.0.1/24", "dev", "eth0"],
            vec!["ip", "-n", b, "addr", "add", "198.18.0.2/24", "dev", "eth0"],
            vec!["ip", "-n", a, "addr", "add", "fd00:198::1/64", "dev", "eth0", "nodad"],
            vec!["ip", "-n", b, "addr", "add", "fd00:198::2/64", "dev", "eth0", "nodad"],
            vec!["ip", "-n", a, "link", "set", "eth0", "up"],
            vec!["ip", "-n", b, "link", "set", "eth0", "up"],
            vec!["ip", "-n", a, "link", "set", "lo", "up"],
            vec!["ip", "-n", b, "link", "set", "lo", "up"],
        ] {
            sh(&step).assert_success();
        }
        pair
    }

    /// The container's namespace, as a spec's `linux.namespaces` path.
    fn a_path(&self) -> String {
        format!("/var/run/netns/{}", self.a)
    }

    /// `ip -n A -4 addr show dev eth0`.
    fn a_ipv4(&self) -> String {
        let out = sh(&["ip", "-n", &self.a, "-4", "addr", "show", "dev", "eth0"]);
        out.assert_success();
        out.stdout
    }

    /// A command in namespace B.
    fn in_b(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.b]).args(args);
        c
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let out = sh(&["ip", "netns", "del", ns]);
            if !out.success() && !std::thread::panicking() {
                panic!("removing network namespace {ns}:\n{out}");
            }
        }
    }
}

/// The busybox bundle running `args`, in network namespace `path`.
fn in_netns(base: Option<&std::path::Path>, path: &str, args: &[&str]) -> Bundle {
    let edit = |spec: &mut serde_json::Value| {
        spec["process"]["args"] = args.iter().map(|a| serde_json::Value::from(*a)).collect();
        set_netns(spec, Some(path));
    };
    match base {
        Some(b) => Bundle::derive_from(b, edit),
        None => Bundle::derive_with(edit),
    }
}

/// Sets the spec's `network` namespace entry: with `path`, or removed.
fn set_netns(spec: &mut serde_json::Value, path: Option<&str>) {
    let list = spec["linux"]["namespaces"].as_array_mut().expect("the spec lists namespaces");
    list.retain(|n| n["type"] != "network");
    if let Some(p) = path {
        list.push(serde_json::json!({"type": "network", "path": p}));
    }
}

/// A host process killed and reaped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `curl` from namespace B until it gets the page at `url` or `deadline`
/// passes; returns the last attempt.
fn curl_until(pair: &NetPair, url: &str, deadline: Duration) -> Output {
    let start = Instant::now();
    loop {
        let out = run_cmd(&mut pair.in_b(&["curl", "-sS", "--max-time", "5", url]), Duration::from_secs(10));
        if out.success() || start.elapsed() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sandbox_mode_takes_the_addresses_of_the_namespace() {
    let pair = NetPair::new();
    assert!(pair.a_ipv4().contains("198.18.0.1/24"), "harness: {}", pair.a_ipv4());
    sh(&["ip", "-n", &pair.a, "route", "add", "default", "via", PEER_IP]).assert_success();
    let moat = Moat::new();
    let bundle = in_netns(None, &pair.a_path(), &["/bin/busybox", "sleep", "1000"]);
    // --debug: the sandbox logs what it took at info level.
    let id = unique_name("c");
    moat.run_global(&["--debug"], &["create", "--bundle", bundle.path_str(), &id]).assert_success();
    let pid = moat.state(&id)["pid"].as_i64().expect("state has a pid");
    moat.run(&["start", &id]).assert_success();
    let left = pair.a_ipv4();
    assert!(!left.contains(CONTAINER_IP), "the host side still has {CONTAINER_IP} while the container runs:\n{left}");
    let log = moat.log_contents();
    assert!(
        log.contains("took interface") && log.contains("198.18.0.1/24") && log.contains("nic=\"eth0\""),
        "the sandbox's log does not say it took eth0 with 198.18.0.1/24:\n{}",
        moat.log_tail(40)
    );
    for route in ["route 198.18.0.0/24 dev eth0", "route 0.0.0.0/0 via 198.18.0.2 dev eth0", "route fe80::/64 dev eth0"]
    {
        assert!(log.contains(route), "the sandbox's log does not list `{route}`:\n{}", moat.log_tail(40));
    }
    // The IPv6 link-local address went too.
    let v6 = sh(&["ip", "-n", &pair.a, "-6", "addr", "show", "dev", "eth0"]);
    assert!(!v6.stdout.contains("inet6"), "the host side still has an IPv6 address:\n{v6}");
    delete_and_check_gone(&moat, &id, pid, true);
}

#[test]
fn none_mode_leaves_the_namespace_alone() {
    let pair = NetPair::new();
    let moat = Moat::new();
    let bundle = in_netns(None, &pair.a_path(), &["/bin/busybox", "sleep", "1000"]);
    let id = unique_name("c");
    moat.run_global(&["--network=none"], &["create", "--bundle", bundle.path_str(), &id]).assert_success();
    let pid = moat.state(&id)["pid"].as_i64().expect("state has a pid");
    moat.run(&["start", &id]).assert_success();
    let left = pair.a_ipv4();
    assert!(left.contains("198.18.0.1/24"), "--network=none removed the container side's address:\n{left}");
    assert!(!moat.log_contents().contains("took interface"), "{}", moat.log_tail(40));
    delete_and_check_gone(&moat, &id, pid, true);
    assert!(pair.a_ipv4().contains("198.18.0.1/24"));
}

#[test]
fn sandbox_mode_in_the_hosts_namespace_is_refused() {
    let moat = Moat::new();
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(["/bin/busybox", "true"]);
        set_netns(spec, None);
    });
    let id = unique_name("c");
    let out = fails_naming(
        &moat,
        &["create", "--bundle", bundle.path_str(), &id],
        "--network=sandbox",
        "sandbox mode without a network namespace entry, in the host's namespace",
    );
    assert!(out.stderr.contains("host's initial one"), "{out}");
    assert_nothing_left(&moat);
    // The same spec runs with loopback only.
    moat.run_global(&["--network=none"], &["run", "--bundle", bundle.path_str(), &unique_name("r")]).assert_success();
}

#[test]
fn an_unopenable_namespace_path_is_named() {
    let moat = Moat::new();
    let missing = "/var/run/netns/moat-test-no-such-namespace";
    let bundle = in_netns(None, missing, &["/bin/busybox", "true"]);
    for global in [&[][..], &["--network=none"][..]] {
        let out = moat.run_global(global, &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
        out.assert_failure();
        assert!(out.stderr.contains(missing), "the error does not name the path:\n{out}");
        assert_nothing_left(&moat);
    }
}

#[test]
fn network_flag_values() {
    let moat = Moat::new();
    moat.run(&["--network=host", "list"]).assert_success();
    fails_naming(&moat, &["--network=bridge", "list"], "--network=bridge", "an unknown mode");
    moat.run(&["--network=sandbox", "list"]).assert_success();
    moat.run(&["--network=none", "list"]).assert_success();
}

// --- end to end: need the sandbox's TCP/IP stack ------------------------------

/// A web server in the container (ns A), `curl` from B gets `want`.
fn serve_and_fetch(base: Option<&std::path::Path>, script: &str, port: u16, want: &str) {
    serve_and_fetch_in(&[], base, script, port, want);
}

/// The same with `global` flags (`--network=host`).
fn serve_and_fetch_in(global: &[&str], base: Option<&std::path::Path>, script: &str, port: u16, want: &str) {
    let pair = NetPair::new();
    let moat = Moat::new();
    let bundle = in_netns(base, &pair.a_path(), &["/bin/sh", "-c", script]);
    let (id, pid) = started_with(&moat, global, &bundle);
    let out = curl_until(&pair, &format!("http://{CONTAINER_IP}:{port}/"), Duration::from_secs(30));
    assert!(out.success() && out.stdout.contains(want), "curl from the peer namespace:\n{out}\n{}", moat.log_tail(40));
    delete_and_check_gone(&moat, &id, pid, true);
}

#[test]
fn curl_from_the_peer_reaches_python_http_server() {
    serve_and_fetch(
        Some(&moat_tests::debian_bundle()),
        "mkdir -p /srv/www && echo moat-python-page > /srv/www/index.html && cd /srv/www \
         && exec python3 -m http.server 8000 --bind 0.0.0.0",
        8000,
        "moat-python-page",
    );
}

#[test]
fn curl_from_the_peer_reaches_busybox_httpd() {
    serve_and_fetch(
        None,
        "mkdir -p /tmp/www && echo moat-httpd-page > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www",
        8080,
        "moat-httpd-page",
    );
}

/// A python3 http.server in namespace B serving `hello.txt`; the container
/// (ns A) runs `client` (`sh -c`, `URL` set) from `base`, whose output must
/// hold the file.
fn fetch_from_the_peer(base: Option<&std::path::Path>, client: &str) {
    fetch_from_the_peer_in(&[], base, client);
}

/// The same with `global` flags (`--network=host`).
fn fetch_from_the_peer_in(global: &[&str], base: Option<&std::path::Path>, client: &str) {
    let pair = NetPair::new();
    let www = moat_tests::TempDir::new("peer-www");
    std::fs::write(www.path().join("hello.txt"), "from-the-peer-namespace\n").unwrap();
    let mut server = pair.in_b(&["python3", "-m", "http.server", "8001", "--bind", PEER_IP]);
    server.current_dir(www.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let _server = Server(server.spawn().expect("python3 http.server in the peer namespace"));
    // Up when B's own curl gets the file.
    let url = format!("http://{PEER_IP}:8001/hello.txt");
    curl_until(&pair, &url, Duration::from_secs(20)).assert_success();
    let moat = Moat::new();
    let script = format!("URL={url}; for i in 1 2 3 4 5; do {client} && exit 0; sleep 1; done; exit 1");
    let bundle = in_netns(base, &pair.a_path(), &["/bin/sh", "-c", &script]);
    let out = moat.run_global(global, &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
    out.assert_success();
    assert!(out.stdout.contains("from-the-peer-namespace"), "{out}");
}

// Debian's static busybox `wget` crashes (SIGSEGV, natively too), so busybox
// speaks HTTP through `nc`.
#[test]
fn the_container_fetches_from_the_peer_with_busybox_nc() {
    fetch_from_the_peer(
        None,
        &format!("printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 {PEER_IP} 8001"),
    );
}

#[test]
fn the_container_fetches_from_the_peer_with_python() {
    fetch_from_the_peer(
        Some(&moat_tests::debian_bundle()),
        "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \"$URL\"",
    );
}

#[test]
fn none_mode_has_only_loopback_inside() {
    let pair = NetPair::new();
    let moat = Moat::new();
    let script = "import socket; print(sorted(n for _, n in socket.if_nameindex()))";
    let bundle = in_netns(Some(&moat_tests::debian_bundle()), &pair.a_path(), &["python3", "-c", script]);
    let out = moat.run_global(&["--network=none"], &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
    out.assert_success();
    assert_eq!(out.stdout.trim(), "['lo']", "{out}");
    // And sandbox mode shows the taken interface.
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert_eq!(out.stdout.trim(), "['eth0', 'lo']", "{out}");
}

/// The peer's side of `the_container_talks_tcp_udp_and_ipv6_with_the_peer`:
/// TCP echo on port 7000 (IPv4 and IPv6), UDP echo on 7001 (IPv4), until
/// killed.
const PEER_ECHO: &str = r#"
import socket, sys, threading
def tcp(family, addr):
    s = socket.socket(family); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 7000)); s.listen(8)
    while True:
        c, _ = s.accept()
        def echo(c):
            while (b := c.recv(1 << 16)):
                c.sendall(b)
            c.close()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((sys.argv[1], 7001))
    while True:
        d, a = u.recvfrom(65536); u.sendto(d, a)
threading.Thread(target=tcp, args=(socket.AF_INET6, sys.argv[2]), daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
tcp(socket.AF_INET, sys.argv[1])
"#;

/// The container's side: 20 MB echoed intact over IPv4 and 2 MB over
/// IPv6, UDP datagrams keeping their boundaries (one bigger than the MTU:
/// fragmented and reassembled), and a refused connection.
const CONTAINER_CLIENT: &str = r#"
import hashlib, os, socket, sys, threading
peer4, peer6 = sys.argv[1], sys.argv[2]
def echo(family, addr, n):
    c = socket.create_connection((addr, 7000), timeout=20)
    data = os.urandom(n)
    t = threading.Thread(target=c.sendall, args=(data,)); t.start()
    got = bytearray()
    while len(got) < n:
        b = c.recv(1 << 20)
        if not b: break
        got += b
    t.join(); c.close()
    return hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
print("tcp4", echo(socket.AF_INET, peer4, 20_000_000))
print("tcp6", echo(socket.AF_INET6, peer6, 2_000_000))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
sizes = []
for n in (1, 1000, 1472, 8000):
    u.sendto(b"d" * n, (peer4, 7001)); sizes.append(len(u.recvfrom(65536)[0]))
print("udp", sizes)
try:
    socket.create_connection((peer4, 7999), timeout=5); print("refused", False)
except ConnectionRefusedError:
    print("refused", True)
"#;

#[test]
fn the_container_talks_tcp_udp_and_ipv6_with_the_peer() {
    talk_tcp_udp_and_ipv6_with_the_peer(&[]);
}

fn talk_tcp_udp_and_ipv6_with_the_peer(global: &[&str]) {
    let pair = NetPair::new();
    let mut server = pair.in_b(&["python3", "-c", PEER_ECHO, PEER_IP, PEER_IP6]);
    server.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let _server = Server(server.spawn().expect("the echo server in the peer namespace"));
    // Up when B's own client gets an echo.
    let probe = "import socket,sys; c=socket.create_connection((sys.argv[1],7000),timeout=2); c.sendall(b'x'); assert c.recv(1)==b'x'";
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run_cmd(pair.in_b(&["python3", "-c", probe, PEER_IP]).stdin(Stdio::null()), Duration::from_secs(10))
        .success()
    {
        assert!(Instant::now() < deadline, "the peer's echo server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let moat = Moat::new();
    let bundle = in_netns(
        Some(&moat_tests::debian_bundle()),
        &pair.a_path(),
        &["python3", "-c", CONTAINER_CLIENT, PEER_IP, PEER_IP6],
    );
    let out = moat.run_global(global, &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
    out.assert_success();
    assert_eq!(out.stdout, "tcp4 True\ntcp6 True\nudp [1, 1000, 1472, 8000]\nrefused True\n", "{out}");
}

/// A container created with `global` flags and started: its id and
/// sandbox pid.
fn started_with(moat: &Moat, global: &[&str], bundle: &Bundle) -> (String, i64) {
    let id = unique_name("c");
    moat.run_global(global, &["create", "--bundle", bundle.path_str(), &id]).assert_success();
    let pid = moat.state(&id)["pid"].as_i64().expect("state has a pid");
    moat.run(&["start", &id]).assert_success();
    (id, pid)
}

// --- --network=host: the application's sockets are host sockets in ns A ------

const HOST: &[&str] = &["--network=host"];

#[test]
fn host_mode_serves_python_http_server_to_the_peer() {
    serve_and_fetch_in(
        HOST,
        Some(&moat_tests::debian_bundle()),
        "mkdir -p /srv/www && echo moat-hostnet-page > /srv/www/index.html && cd /srv/www \
         && exec python3 -m http.server 8000 --bind 0.0.0.0",
        8000,
        "moat-hostnet-page",
    );
}

#[test]
fn host_mode_serves_busybox_httpd_to_the_peer() {
    serve_and_fetch_in(
        HOST,
        None,
        "mkdir -p /tmp/www && echo moat-hostnet-httpd > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www",
        8080,
        "moat-hostnet-httpd",
    );
}

#[test]
fn host_mode_fetches_from_the_peer_with_python() {
    fetch_from_the_peer_in(
        HOST,
        Some(&moat_tests::debian_bundle()),
        "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \"$URL\"",
    );
}

#[test]
fn host_mode_fetches_from_the_peer_with_busybox_nc() {
    fetch_from_the_peer_in(
        HOST,
        None,
        &format!("printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 {PEER_IP} 8001"),
    );
}

#[test]
fn host_mode_talks_tcp_udp_and_ipv6_with_the_peer() {
    talk_tcp_udp_and_ipv6_with_the_peer(HOST);
}

/// Inside, `ip addr` (busybox's, over NETLINK_ROUTE) and `ip route` show
/// ns A's own interfaces, addresses and routes; the namespace keeps them
/// (nothing is taken), and /proc/net/tcp6 lists the container's listener.
#[test]
fn host_mode_shows_the_namespaces_interfaces_and_leaves_them() {
    let pair = NetPair::new();
    sh(&["ip", "-n", &pair.a, "route", "add", "default", "via", PEER_IP]).assert_success();
    let moat = Moat::new();
    let script = "busybox ip addr; echo ---; busybox ip route; echo ---; \
                  busybox nc -l -p 7123 </dev/null >/dev/null & sleep 0.5; cat /proc/net/tcp /proc/net/tcp6; kill %1";
    let bundle = in_netns(None, &pair.a_path(), &["/bin/sh", "-c", script]);
    let out = moat.run_global(HOST, &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
    out.assert_success();
    let mut parts = out.stdout.split("---\n");
    let (addr, route, tcp) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    for want in ["lo:", "127.0.0.1/8", "eth0", "inet 198.18.0.1/24", "inet6 fd00:198::1/64"] {
        assert!(addr.contains(want), "`ip addr` inside lacks {want:?}:\n{out}");
    }
    for want in ["default via 198.18.0.2 dev eth0", "198.18.0.0/24 dev eth0"] {
        assert!(route.contains(want), "`ip route` inside lacks {want:?}:\n{out}");
    }
    // 7123 = 0x1BD3, listening (0A) on the wildcard (busybox nc binds `::`).
    let listening = tcp.lines().any(|l| l.contains("00000000:1BD3 ") && l.contains(":0000 0A "));
    assert!(listening, "/proc/net/tcp6 lacks the listener:\n{out}");
    assert!(pair.a_ipv4().contains("198.18.0.1/24"), "host mode took the address away:\n{}", pair.a_ipv4());
    assert!(!moat.log_contents().contains("took interface"), "{}", moat.log_tail(40));
}

/// No network entry in the spec: the sandbox stays in the runtime's own
/// namespace (as runsc's host mode), here the test's; a server there is
/// reached over loopback.
#[test]
fn host_mode_without_a_namespace_entry_uses_the_runtimes() {
    let www = moat_tests::TempDir::new("host-www");
    std::fs::write(www.path().join("hello.txt"), "from-the-runtimes-namespace\n").unwrap();
    // A port of its own: tests run in parallel in this namespace.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut c, _) = listener.accept().unwrap();
        let mut req = [0u8; 1024];
        let n = c.read(&mut req).unwrap();
        assert!(req[..n].starts_with(b"GET /"), "request: {:?}", String::from_utf8_lossy(&req[..n]));
        c.write_all(b"HTTP/1.0 200 OK\r\n\r\nfrom-the-runtimes-namespace\n").unwrap();
    });
    let bundle = Bundle::derive_with(|spec| {
        let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 127.0.0.1 {port}");
        spec["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
        set_netns(spec, None);
    });
    let out = Moat::new().run_global(HOST, &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
    out.assert_success();
    assert!(out.stdout.contains("from-the-runtimes-namespace"), "{out}");
    served.join().unwrap();
}

/// What the namespace's kernel said of its routes is what the container
/// reads in /proc/net/route once moat took the interface (a gateway route
/// added for the test).
#[test]
fn proc_net_route_matches_the_namespace() {
    let pair = NetPair::new();
    sh(&["ip", "-n", &pair.a, "route", "add", "default", "via", PEER_IP]).assert_success();
    let native = sh(&["ip", "netns", "exec", &pair.a, "cat", "/proc/net/route"]);
    native.assert_success();
    assert!(native.stdout.contains("0003"), "the gateway route is there natively:\n{native}");
    let moat = Moat::new();
    let out = moat.run_bundle(&in_netns(None, &pair.a_path(), &["/bin/cat", "/proc/net/route"]));
    out.assert_success();
    assert_eq!(out.stdout, native.stdout);
}

/// The same with `--network=host`: the namespace keeps its interface, and
/// the container reads its routes as the namespace's kernel lists them.
#[test]
fn host_mode_proc_net_route_matches_the_namespace() {
    let pair = NetPair::new();
    sh(&["ip", "-n", &pair.a, "route", "add", "default", "via", PEER_IP]).assert_success();
    let native = sh(&["ip", "netns", "exec", &pair.a, "cat", "/proc/net/route"]);
    native.assert_success();
    let moat = Moat::new();
    let bundle = in_netns(None, &pair.a_path(), &["/bin/cat", "/proc/net/route"]);
    let out = moat.run_global(HOST, &["run", "--bundle", bundle.path_str(), &unique_name("r")]);
    out.assert_success();
    assert_eq!(out.stdout, native.stdout);
}

/// `ping` from the container (a raw ICMP socket, with CAP_NET_RAW as
/// Docker gives it) reaches the peer through the stack; without the
/// capability busybox falls back to a ping socket, which Linux's default
/// `ping_group_range` refuses, as it does under runc.
#[test]
fn the_container_pings_the_peer() {
    let pair = NetPair::new();
    let moat = Moat::new();
    let ping = ["/bin/busybox", "ping", "-c", "2", "-W", "5", PEER_IP];
    let bundle = Bundle::derive_with(|spec| {
        spec["process"]["args"] = serde_json::json!(ping);
        let caps = serde_json::json!(["CAP_NET_RAW"]);
        spec["process"]["capabilities"] = serde_json::json!({"bounding": caps, "effective": caps, "permitted": caps});
        set_netns(spec, Some(&pair.a_path()));
    });
    let out = moat.run_bundle(&bundle);
    out.assert_success();
    assert!(out.stdout.contains("2 packets transmitted, 2 packets received"), "{out}");
    let out = moat.run_bundle(&in_netns(None, &pair.a_path(), &ping));
    out.assert_failure();
    assert!(out.stderr.contains("ermission denied"), "ping without CAP_NET_RAW:\n{out}");
}
