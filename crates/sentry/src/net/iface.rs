//! The network namespace's interfaces, `lo` and, with `--network=sandbox`,
//! the network stack's card, as ioctls (Linux `dev_ioctl`, `inet_gifconf`)
//! and /proc/net report them.

use super::addr::{ip_from_std, is_mapped, AF_INET, LOOPBACK4, LOOPBACK6};
use super::inet::Proto;
use abi::Errno;

pub const LO_NAME: &str = "lo";
pub const LO_INDEX: i32 = 1;
pub const LO_MTU: u32 = 65536;
/// `IFF_UP | IFF_LOOPBACK | IFF_RUNNING`, and `IFF_LOWER_UP` (which does
/// not fit the 16 bits of `ifr_flags`).
pub const LO_FLAGS: u32 = 0x1 | 0x8 | 0x40 | 0x1_0000;
/// `IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP`.
pub const ETHER_FLAGS: u32 = 0x1 | 0x2 | 0x40 | 0x1000 | 0x1_0000;
/// `ARPHRD_LOOPBACK`, `ARPHRD_ETHER`.
pub const ARPHRD_LOOPBACK: u16 = 772;
pub const ARPHRD_ETHER: u16 = 1;

pub const SIOCGIFNAME: u64 = 0x8910;
pub const SIOCGIFCONF: u64 = 0x8912;
pub const SIOCGIFFLAGS: u64 = 0x8913;
pub const SIOCGIFADDR: u64 = 0x8915;
pub const SIOCGIFBRDADDR: u64 = 0x8919;
pub const SIOCGIFNETMASK: u64 = 0x891b;
pub const SIOCGIFMTU: u64 = 0x8921;
pub const SIOCGIFHWADDR: u64 = 0x8927;
pub const SIOCGIFINDEX: u64 = 0x8933;
pub const SIOCGIFTXQLEN: u64 = 0x8942;
/// Every interface's transmit queue length, as Linux's default.
const TXQLEN: i32 = 1000;
/// `struct ifreq`: a 16-byte name and a 24-byte union.
pub const IFREQ_LEN: usize = 40;

/// One interface.
pub struct Nic {
    pub name: String,
    pub index: i32,
    pub flags: u32,
    pub arphrd: u16,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// Addresses (IPv4 ones v4-mapped) and prefix lengths.
    pub addrs: Vec<([u8; 16], u8)>,
}

impl Nic {
    pub fn is_loopback(&self) -> bool {
        self.arphrd == ARPHRD_LOOPBACK
    }

    fn first_v4(&self) -> Option<([u8; 4], u8)> {
        self.addrs.iter().find(|(ip, _)| is_mapped(ip)).map(|(ip, p)| (ip[12..].try_into().unwrap(), *p))
    }
}

/// The interfaces, `lo` first.
pub fn nics() -> Vec<Nic> {
    if let Some(host) = super::host() {
        return host_nics(host);
    }
    let mut out = vec![Nic {
        name: LO_NAME.into(),
        index: LO_INDEX,
        flags: LO_FLAGS,
        arphrd: ARPHRD_LOOPBACK,
        mac: [0; 6],
        mtu: LO_MTU,
        addrs: vec![(LOOPBACK4, 8), (LOOPBACK6, 128)],
    }];
    if let Some(stack) = super::stack() {
        let n = stack.nic();
        out.push(Nic {
            name: n.name.clone(),
            index: n.index as i32,
            flags: ETHER_FLAGS,
            arphrd: ARPHRD_ETHER,
            mac: n.mac,
            mtu: n.mtu as u32,
            addrs: n.addrs.iter().map(|(ip, p)| (ip_from_std(*ip), *p)).collect(),
        });
    }
    out
}

/// `--network=host`: the namespace's own interfaces, as boot read them
/// (loopback first, as Linux lists it).
fn host_nics(host: &super::HostNetConfig) -> Vec<Nic> {
    let mut out: Vec<Nic> = host
        .nics
        .iter()
        .map(|n| Nic {
            name: n.name.clone(),
            index: n.index as i32,
            flags: n.flags,
            arphrd: n.arphrd,
            mac: n.mac,
            mtu: n.mtu,
            addrs: n.addrs.iter().map(|(ip, p)| (ip_from_std(*ip), *p)).collect(),
        })
        .collect();
    out.sort_by_key(|n| (!n.is_loopback(), n.index));
    out
}

/// The IPv4 netmask of a prefix length.
pub fn netmask(prefix: u8) -> [u8; 4] {
    let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
    m.to_be_bytes()
}

fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&AF_INET.to_le_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

/// An `ifreq` naming `name` with `value` in its union.
fn ifreq(name: &str, value: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; IFREQ_LEN];
    r[..name.len().min(15)].copy_from_slice(&name.as_bytes()[..name.len().min(15)]);
    r[16..16 + value.len()].copy_from_slice(value);
    r
}

/// Whether this ioctl is one of the interface queries answered here.
pub fn is_if_ioctl(cmd: u64) -> bool {
    matches!(
        cmd,
        SIOCGIFNAME
            | SIOCGIFFLAGS
            | SIOCGIFADDR
            | SIOCGIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCGIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
    )
}

/// Answers a query on the `ifreq` the application passed (ENODEV for an
/// interface that does not exist).
pub fn if_ioctl(cmd: u64, req: &[u8; IFREQ_LEN]) -> Result<Vec<u8>, Errno> {
    let nics = nics();
    if cmd == SIOCGIFNAME {
        let index = i32::from_le_bytes(req[16..20].try_into().unwrap());
        let nic = nics.iter().find(|n| n.index == index).ok_or(Errno::ENODEV)?;
        return Ok(ifreq(&nic.name, &req[16..20]));
    }
    let name_end = req[..16].iter().position(|&b| b == 0).unwrap_or(16);
    let nic = nics.iter().find(|n| n.name.as_bytes() == &req[..name_end]).ok_or(Errno::ENODEV)?;
    let v4 = || nic.first_v4().ok_or(Errno::EADDRNOTAVAIL);
    Ok(match cmd {
        SIOCGIFFLAGS => ifreq(&nic.name, &(nic.flags as u16).to_le_bytes()),
        SIOCGIFADDR => ifreq(&nic.name, &sockaddr_in(v4()?.0)),
        SIOCGIFNETMASK => ifreq(&nic.name, &sockaddr_in(netmask(v4()?.1))),
        SIOCGIFBRDADDR => {
            let (ip, prefix) = v4()?;
            let bcast = u32::from_be_bytes(ip) | !u32::from_be_bytes(netmask(prefix));
            ifreq(&nic.name, &sockaddr_in(if nic.is_loopback() { [0; 4] } else { bcast.to_be_bytes() }))
        }
        SIOCGIFMTU => ifreq(&nic.name, &nic.mtu.to_le_bytes()),
        SIOCGIFHWADDR => {
            let mut sa = [0u8; 16];
            sa[..2].copy_from_slice(&nic.arphrd.to_le_bytes());
            sa[2..8].copy_from_slice(&nic.mac);
            ifreq(&nic.name, &sa)
        }
        SIOCGIFINDEX => ifreq(&nic.name, &nic.index.to_le_bytes()),
        SIOCGIFTXQLEN => ifreq(&nic.name, &TXQLEN.to_le_bytes()),
        _ => return Err(Errno::ENOTTY),
    })
}

/// SIOCGIFCONF's records: one per IPv4 address.
pub fn ifconf_records() -> Vec<u8> {
    let mut out = Vec::new();
    for nic in nics() {
        for (ip, _) in nic.addrs.iter().filter(|(ip, _)| is_mapped(ip)) {
            out.extend(ifreq(&nic.name, &sockaddr_in(ip[12..].try_into().unwrap())));
        }
    }
    out
}

/// /proc/net/dev.
pub fn proc_net_dev() -> String {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for nic in nics() {
        s.push_str(&format!("{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}\n", nic.name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    }
    s
}

/// /proc/net/route: the main table's IPv4 routes (the cards' subnets and
/// the gateway routes), in the order of Linux's FIB walk, each line padded
/// to 127 columns as Linux pads it.
pub fn proc_net_route() -> String {
    let hex = |ip: [u8; 4]| format!("{:08X}", u32::from_le_bytes(ip));
    /// (destination, prefix, interface, gateway)
    type V4Route = ([u8; 4], u8, String, Option<[u8; 4]>);
    let mut routes: Vec<V4Route> = Vec::new();
    for nic in nics().into_iter().filter(|n| !n.is_loopback()) {
        for (ip, prefix) in nic.addrs.iter().filter(|(ip, _)| is_mapped(ip)) {
            let mask = u32::from_be_bytes(netmask(*prefix));
            let net = u32::from_be_bytes(ip[12..].try_into().unwrap()) & mask;
            routes.push((net.to_be_bytes(), *prefix, nic.name.clone(), None));
        }
    }
    // The stack's routes, or with --network=host the namespace's.
    for r in super::routes() {
        if let (std::net::IpAddr::V4(dst), Some(std::net::IpAddr::V4(gw))) = (r.dst, r.gateway) {
            routes.push((dst.octets(), r.prefix, r.nic.clone(), Some(gw.octets())));
        }
    }
    routes.sort_by_key(|(dst, prefix, _, _)| (u32::from_be_bytes(*dst), *prefix));
    let mut s =
        format!("{:<127}\n", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
    for (dst, prefix, name, gw) in routes {
        // RTF_UP, and RTF_GATEWAY for a route through a router.
        let flags = if gw.is_some() { 0x3 } else { 0x1 };
        let line = format!(
            "{name}\t{}\t{}\t{flags:04X}\t0\t0\t0\t{}\t0\t0\t0",
            hex(dst),
            hex(gw.unwrap_or([0; 4])),
            hex(netmask(prefix))
        );
        s.push_str(&format!("{line:<127}\n"));
    }
    s
}

/// `ip` as /proc/net prints it: each 32-bit word in host order, in hex.
fn hex_ip(ip: &[u8], port: u16) -> String {
    let mut s: String = ip.chunks(4).map(|w| format!("{:08X}", u32::from_le_bytes(w.try_into().unwrap()))).collect();
    s.push_str(&format!(":{port:04X}"));
    s
}

/// /proc/net/{tcp,tcp6,udp,udp6}: the bound sockets of one family.
pub fn proc_net_inet(proto: Proto, family: u16) -> String {
    let mut s = if family == AF_INET {
        String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        )
    } else {
        String::from(
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        )
    };
    if super::host().is_some() {
        return proc_net_host(s, proto, family);
    }
    let socks = super::inet::bound_sockets(proto);
    for (i, sock) in socks.iter().filter(|s| s.family == family).enumerate() {
        let (local, peer) = (sock.local(), sock.peer_or_zero());
        let ip = |a: &[u8; 16]| if family == AF_INET { a[12..].to_vec() } else { a.to_vec() };
        let state = match proto {
            Proto::Tcp => sock.tcp_state(),
            Proto::Udp | Proto::UdpLite | Proto::Icmp if sock.peer().is_ok() => 1,
            Proto::Udp | Proto::UdpLite | Proto::Icmp => 7,
        };
        let (tx, rx) = sock.queues();
        s.push_str(&format!(
            "{i:4}: {} {} {state:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {:5} {:8} {} 1 0000000000000000 100 0 0 10 0\n",
            hex_ip(&ip(&local.ip), local.port),
            hex_ip(&ip(&peer.ip), peer.port),
            sock.uid(),
            0,
            sock.ino,
        ));
    }
    s
}

/// /proc/net/{tcp,tcp6,udp,udp6} with `--network=host`: the sandbox's own
/// host sockets (not the rest of the namespace's), as the host reports
/// their addresses, state and queues.
fn proc_net_host(mut s: String, proto: Proto, family: u16) -> String {
    use super::addr::Addr;
    let ty = match proto {
        Proto::Tcp => super::hostinet::SOCK_STREAM,
        Proto::Udp => super::hostinet::SOCK_DGRAM,
        // Host sockets do not record their protocol: a host UDP-Lite
        // socket is listed with the UDP ones, and udplite stays empty.
        Proto::UdpLite | Proto::Icmp => return s,
    };
    let socks = super::hostinet::sockets();
    let mut i = 0;
    for sock in socks.iter().filter(|x| x.family == family && x.ty() == ty) {
        let (local, peer, state, tx, rx) = sock.proc_row();
        // Unbound sockets are not listed, as Linux's hash tables hold
        // only bound ones.
        if local.port() == 0 {
            continue;
        }
        let (local, peer) = (Addr::from_std(local), peer.map(Addr::from_std).unwrap_or(Addr { ip: [0; 16], port: 0 }));
        let ip = |a: &[u8; 16]| if family == AF_INET { a[12..].to_vec() } else { a.to_vec() };
        s.push_str(&format!(
            "{i:4}: {} {} {state:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {:5} {:8} {} 1 0000000000000000 100 0 0 10 0\n",
            hex_ip(&ip(&local.ip), local.port),
            hex_ip(&ip(&peer.ip), peer.port),
            sock.uid,
            0,
            sock.ino,
        ));
        i += 1;
    }
    s
}
