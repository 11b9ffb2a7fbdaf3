//! The network namespace's one interface, `lo`, as ioctls (Linux
//! `dev_ioctl`, `inet_gifconf`) and /proc/net report it.

use super::addr::AF_INET;
use super::inet::Proto;
use abi::Errno;

pub const LO_NAME: &str = "lo";
pub const LO_INDEX: i32 = 1;
pub const LO_MTU: u32 = 65536;
/// `IFF_UP | IFF_LOOPBACK | IFF_RUNNING`, and `IFF_LOWER_UP` (which does
/// not fit the 16 bits of `ifr_flags`).
pub const LO_FLAGS: u32 = 0x1 | 0x8 | 0x40 | 0x1_0000;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

pub const SIOCGIFNAME: u64 = 0x8910;
pub const SIOCGIFCONF: u64 = 0x8912;
pub const SIOCGIFFLAGS: u64 = 0x8913;
pub const SIOCGIFADDR: u64 = 0x8915;
pub const SIOCGIFNETMASK: u64 = 0x891b;
pub const SIOCGIFMTU: u64 = 0x8921;
pub const SIOCGIFINDEX: u64 = 0x8933;
/// `struct ifreq`: a 16-byte name and a 24-byte union.
pub const IFREQ_LEN: usize = 40;

fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&AF_INET.to_le_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

/// An `ifreq` naming `lo` with `value` in its union.
fn lo_ifreq(value: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; IFREQ_LEN];
    r[..LO_NAME.len()].copy_from_slice(LO_NAME.as_bytes());
    r[16..16 + value.len()].copy_from_slice(value);
    r
}

/// Whether this ioctl is one of the interface queries answered here.
pub fn is_if_ioctl(cmd: u64) -> bool {
    matches!(cmd, SIOCGIFNAME | SIOCGIFFLAGS | SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFMTU | SIOCGIFINDEX)
}

/// Answers a query on the `ifreq` the application passed (ENODEV for any
/// interface but `lo`).
pub fn if_ioctl(cmd: u64, req: &[u8; IFREQ_LEN]) -> Result<Vec<u8>, Errno> {
    if cmd == SIOCGIFNAME {
        let index = i32::from_le_bytes(req[16..20].try_into().unwrap());
        return if index == LO_INDEX { Ok(lo_ifreq(&req[16..20])) } else { Err(Errno::ENODEV) };
    }
    let name_end = req[..16].iter().position(|&b| b == 0).unwrap_or(16);
    if &req[..name_end] != LO_NAME.as_bytes() {
        return Err(Errno::ENODEV);
    }
    Ok(match cmd {
        SIOCGIFFLAGS => lo_ifreq(&(LO_FLAGS as u16).to_le_bytes()),
        SIOCGIFADDR => lo_ifreq(&sockaddr_in([127, 0, 0, 1])),
        SIOCGIFNETMASK => lo_ifreq(&sockaddr_in([255, 0, 0, 0])),
        SIOCGIFMTU => lo_ifreq(&LO_MTU.to_le_bytes()),
        SIOCGIFINDEX => lo_ifreq(&LO_INDEX.to_le_bytes()),
        _ => return Err(Errno::ENOTTY),
    })
}

/// SIOCGIFCONF's records: one per IPv4 address.
pub fn ifconf_records() -> Vec<u8> {
    lo_ifreq(&sockaddr_in([127, 0, 0, 1]))
}

/// /proc/net/dev.
pub fn proc_net_dev() -> String {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    s.push_str(&format!("{LO_NAME:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}\n", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
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
    let socks = super::inet::bound_sockets(proto);
    for (i, sock) in socks.iter().filter(|s| s.family == family).enumerate() {
        let (local, peer) = (sock.local(), sock.peer_or_zero());
        let ip = |a: &[u8; 16]| if family == AF_INET { a[12..].to_vec() } else { a.to_vec() };
        let state = match proto {
            Proto::Tcp => sock.tcp_state(),
            Proto::Udp if sock.peer().is_ok() => 1,
            Proto::Udp => 7,
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
