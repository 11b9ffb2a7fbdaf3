//! AF_NETLINK, NETLINK_ROUTE only (gVisor: `pkg/sentry/socket/netlink/route`):
//! the sentry answers link, address and route requests about its
//! interfaces from its own description of the namespace (`iface`), enough for glibc's
//! `getifaddrs()`/`if_nameindex()` and `ip addr`/`ip route`. Requests that
//! would change the configuration are answered EOPNOTSUPP. Each request's
//! answer (a dump and its NLMSG_DONE) is queued as one datagram.

use super::addr::{ip_from_std, is_mapped};
use super::addr::{AF_INET, AF_INET6};
use super::iface::{netmask, nics, Nic, LO_INDEX};
use super::SockOpts;
use crate::kernel::waiter::WaitQueue;
use crate::vfs::{FileDescription, IoctlReply};
use abi::{ioctl, Errno, Stat};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

pub const AF_NETLINK: u16 = 16;
pub const NETLINK_ROUTE: u64 = 0;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_MULTI: u16 = 2;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const HDR: usize = 16;

const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_HOST: u8 = 254;
const RT_TABLE_MAIN: u8 = 254;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_KERNEL: u8 = 2;
const RTPROT_BOOT: u8 = 3;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;
const IFA_F_PERMANENT: u32 = 0x80;
const IFA_F_NOPREFIXROUTE: u32 = 0x200;

/// Port ids in use (Linux's `nl_table` for NETLINK_ROUTE).
fn port_ids() -> MutexGuard<'static, HashSet<u32>> {
    static IDS: OnceLock<Mutex<HashSet<u32>>> = OnceLock::new();
    IDS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

struct St {
    port_id: u32,
    replies: VecDeque<Vec<u8>>,
    common: SockOpts,
    bufs: (usize, usize),
}

pub struct NetlinkSocket {
    pub ty: i32,
    pub queue: WaitQueue,
    ino: u64,
    flags: crate::vfs::StatusFlags,
    st: Mutex<St>,
}

/// A message under construction: header, fixed body, then attributes.
struct Msg(Vec<u8>);

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32, pid: u32, body: &[u8]) -> Msg {
        let mut b = vec![0u8; HDR];
        b[4..6].copy_from_slice(&ty.to_le_bytes());
        b[6..8].copy_from_slice(&flags.to_le_bytes());
        b[8..12].copy_from_slice(&seq.to_le_bytes());
        b[12..16].copy_from_slice(&pid.to_le_bytes());
        b.extend_from_slice(body);
        Msg(b)
    }
    fn attr(mut self, ty: u16, data: &[u8]) -> Msg {
        self.0.extend_from_slice(&((4 + data.len()) as u16).to_le_bytes());
        self.0.extend_from_slice(&ty.to_le_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }
    fn finish(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

fn link_msg(nic: &Nic, flags: u16, seq: u32, pid: u32) -> Vec<u8> {
    let mut body = vec![0u8; 16];
    body[2..4].copy_from_slice(&nic.arphrd.to_le_bytes());
    body[4..8].copy_from_slice(&nic.index.to_le_bytes());
    body[8..12].copy_from_slice(&nic.flags.to_le_bytes());
    let mut name = nic.name.as_bytes().to_vec();
    name.push(0);
    // IFLA_OPERSTATE: lo reports unknown, a card up.
    let (oper, qdisc): (u8, &[u8]) = if nic.is_loopback() {
        (0, b"noqueue\0")
    } else if nic.flags & 0x1_0000 != 0 {
        (6, b"noqueue\0")
    } else {
        (2, b"noqueue\0") // IF_OPER_DOWN: a host interface without carrier
    };
    let bcast = if nic.is_loopback() { [0; 6] } else { [0xff; 6] };
    Msg::new(RTM_NEWLINK, flags, seq, pid, &body)
        .attr(3, &name) // IFLA_IFNAME
        .attr(13, &1000u32.to_le_bytes()) // IFLA_TXQLEN, as SIOCGIFTXQLEN
        .attr(16, &[oper]) // IFLA_OPERSTATE
        .attr(17, &[0]) // IFLA_LINKMODE
        .attr(4, &nic.mtu.to_le_bytes()) // IFLA_MTU
        .attr(6, qdisc) // IFLA_QDISC
        .attr(1, &nic.mac) // IFLA_ADDRESS
        .attr(2, &bcast) // IFLA_BROADCAST
        .attr(7, &[0; 100]) // IFLA_STATS: struct rtnl_link_stats
        .finish()
}

fn addr_msgs(family: u8, flags: u16, seq: u32, pid: u32) -> Vec<Vec<u8>> {
    let cache = [u32::MAX.to_le_bytes(), u32::MAX.to_le_bytes(), [0; 4], [0; 4]].concat();
    let mut out = Vec::new();
    for want in [AF_INET as u8, AF_INET6 as u8] {
        if family != 0 && family != want {
            continue;
        }
        for nic in nics() {
            for (ip, prefix) in nic.addrs.iter().filter(|(ip, _)| is_mapped(ip) == (want == AF_INET as u8)) {
                let link_local = ip[..2] == [0xfe, 0x80];
                let scope = if nic.is_loopback() {
                    RT_SCOPE_HOST
                } else if link_local {
                    RT_SCOPE_LINK
                } else {
                    RT_SCOPE_UNIVERSE
                };
                let mut body = vec![want, *prefix, IFA_F_PERMANENT as u8, scope];
                body.extend_from_slice(&(nic.index as u32).to_le_bytes());
                let mut m = Msg::new(RTM_NEWADDR, flags, seq, pid, &body);
                if want == AF_INET as u8 {
                    let v4: [u8; 4] = ip[12..].try_into().unwrap();
                    let mut label = nic.name.as_bytes().to_vec();
                    label.push(0);
                    m = m.attr(1, &v4).attr(2, &v4); // IFA_ADDRESS, IFA_LOCAL
                    if !nic.is_loopback() {
                        let bcast = u32::from_be_bytes(v4) | !u32::from_be_bytes(netmask(*prefix));
                        m = m.attr(4, &bcast.to_be_bytes()); // IFA_BROADCAST
                    }
                    m = m.attr(3, &label).attr(8, &IFA_F_PERMANENT.to_le_bytes()).attr(6, &cache);
                } else {
                    let fl = if nic.is_loopback() { IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE } else { IFA_F_PERMANENT };
                    m = m.attr(1, ip).attr(6, &cache).attr(8, &fl.to_le_bytes());
                }
                out.push(m.finish());
            }
        }
    }
    out
}

/// One route as RTM_NEWROUTE describes it.
#[derive(Clone)]
struct Route {
    family: u8,
    dst: Vec<u8>,
    prefix: u8,
    table: u8,
    protocol: u8,
    scope: u8,
    ty: u8,
    metric: Option<u32>,
    prefsrc: Option<Vec<u8>>,
    gateway: Option<Vec<u8>>,
    oif: i32,
}

/// The bytes of an address of `family` (IPv4: the 4 of the mapped form).
fn addr_bytes(ip: &[u8; 16]) -> Vec<u8> {
    if is_mapped(ip) {
        ip[12..].to_vec()
    } else {
        ip.to_vec()
    }
}

fn routes() -> Vec<Route> {
    let (v4, v6) = (AF_INET as u8, AF_INET6 as u8);
    let lo = |family, dst: Vec<u8>, prefix, table, scope, ty, metric| Route {
        family,
        dst,
        prefix,
        table,
        protocol: RTPROT_KERNEL,
        scope,
        ty,
        metric,
        prefsrc: (family == v4).then(|| vec![127, 0, 0, 1]),
        gateway: None,
        oif: LO_INDEX,
    };
    let mut out = vec![
        lo(v4, vec![127, 0, 0, 0], 8, RT_TABLE_LOCAL, RT_SCOPE_HOST, RTN_LOCAL, None),
        lo(v4, vec![127, 0, 0, 1], 32, RT_TABLE_LOCAL, RT_SCOPE_HOST, RTN_LOCAL, None),
        lo(v4, vec![127, 255, 255, 255], 32, RT_TABLE_LOCAL, RT_SCOPE_LINK, RTN_BROADCAST, None),
        lo(v6, super::addr::LOOPBACK6.to_vec(), 128, RT_TABLE_MAIN, RT_SCOPE_UNIVERSE, RTN_UNICAST, Some(256)),
        lo(v6, super::addr::LOOPBACK6.to_vec(), 128, RT_TABLE_LOCAL, RT_SCOPE_UNIVERSE, RTN_LOCAL, Some(0)),
    ];
    for nic in nics().into_iter().filter(|n| !n.is_loopback()) {
        for (ip, prefix) in &nic.addrs {
            let family = if is_mapped(ip) { v4 } else { v6 };
            let own = addr_bytes(ip);
            let mut subnet = own.clone();
            let bits = usize::from(*prefix);
            for (i, b) in subnet.iter_mut().enumerate() {
                let keep = bits.saturating_sub(i * 8).min(8);
                *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            }
            let on_link = Route {
                family,
                dst: subnet,
                prefix: *prefix,
                table: RT_TABLE_MAIN,
                protocol: RTPROT_KERNEL,
                scope: RT_SCOPE_LINK,
                ty: RTN_UNICAST,
                metric: (family == v6).then_some(256),
                prefsrc: (family == v4).then(|| own.clone()),
                gateway: None,
                oif: nic.index,
            };
            let local = Route {
                dst: own.clone(),
                prefix: if family == v4 { 32 } else { 128 },
                table: RT_TABLE_LOCAL,
                scope: if family == v4 { RT_SCOPE_HOST } else { RT_SCOPE_UNIVERSE },
                ty: RTN_LOCAL,
                metric: (family == v6).then_some(0),
                ..on_link.clone()
            };
            out.push(on_link);
            out.push(local);
        }
        for r in super::routes().iter().filter(|r| r.nic == nic.name && r.gateway.is_some()) {
            let dst = addr_bytes(&ip_from_std(r.dst));
            let family = if r.dst.is_ipv4() { v4 } else { v6 };
            out.push(Route {
                family,
                dst,
                prefix: r.prefix,
                table: RT_TABLE_MAIN,
                protocol: RTPROT_BOOT,
                scope: RT_SCOPE_UNIVERSE,
                ty: RTN_UNICAST,
                metric: (family == v6).then_some(1024),
                prefsrc: None,
                gateway: r.gateway.map(|g| addr_bytes(&ip_from_std(g))),
                oif: nic.index,
            });
        }
    }
    // IPv4 in the order of Linux's FIB walk: the main table, then the
    // local one, each by destination (the default route first).
    out.sort_by(|a, b| {
        let key = |r: &Route| (r.family, r.family == v4 && r.table != RT_TABLE_MAIN);
        let order = key(a).cmp(&key(b));
        if a.family == v4 && b.family == v4 {
            order.then_with(|| a.dst.cmp(&b.dst)).then(a.prefix.cmp(&b.prefix))
        } else {
            order
        }
    });
    out
}

fn route_msgs(family: u8, flags: u16, seq: u32, pid: u32) -> Vec<Vec<u8>> {
    routes()
        .into_iter()
        .filter(|r| family == 0 || family == r.family)
        .map(|r| {
            let body = [r.family, r.prefix, 0, 0, r.table, r.protocol, r.scope, r.ty, 0, 0, 0, 0];
            let mut m = Msg::new(RTM_NEWROUTE, flags, seq, pid, &body).attr(15, &u32::from(r.table).to_le_bytes()); // RTA_TABLE
            if r.prefix != 0 {
                m = m.attr(1, &r.dst); // RTA_DST
            }
            if let Some(src) = &r.prefsrc {
                m = m.attr(7, src); // RTA_PREFSRC
            }
            if let Some(p) = r.metric {
                m = m.attr(6, &p.to_le_bytes()); // RTA_PRIORITY
            }
            if let Some(gw) = &r.gateway {
                m = m.attr(5, gw); // RTA_GATEWAY
            }
            m.attr(4, &(r.oif as u32).to_le_bytes()).finish() // RTA_OIF
        })
        .collect()
}

fn error_msg(err: i32, req: &[u8], pid: u32) -> Vec<u8> {
    let seq = u32::from_le_bytes(req[8..12].try_into().unwrap());
    let mut body = err.to_le_bytes().to_vec();
    body.extend_from_slice(&req[..HDR]);
    let mut m = Msg::new(NLMSG_ERROR, 0, seq, pid, &body).finish();
    // The echoed header keeps the request's own length (NETLINK_CAP_ACK style).
    m[4 + HDR..4 + HDR + 4].copy_from_slice(&req[..4]);
    m
}

/// The answer to one request message (`pid`: the requester's port id).
fn answer(req: &[u8], pid: u32) -> Vec<u8> {
    let ty = u16::from_le_bytes([req[4], req[5]]);
    let flags = u16::from_le_bytes([req[6], req[7]]);
    let seq = u32::from_le_bytes(req[8..12].try_into().unwrap());
    let family = req.get(HDR).copied().unwrap_or(0);
    if flags & NLM_F_REQUEST == 0 {
        return Vec::new();
    }
    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
    let parts = match ty {
        RTM_GETLINK if dump => nics().iter().map(|n| link_msg(n, NLM_F_MULTI, seq, pid)).collect(),
        RTM_GETLINK => {
            let index = req.get(HDR + 4..HDR + 8).map_or(0, |b| i32::from_le_bytes(b.try_into().unwrap()));
            let name = find_attr(req, HDR + 16, 3).and_then(|n| n.split(|&b| b == 0).next());
            let found =
                nics().into_iter().find(|n| n.index == index || (index == 0 && name == Some(n.name.as_bytes())));
            if let Some(nic) = found {
                let mut out = link_msg(&nic, 0, seq, pid);
                if flags & NLM_F_ACK != 0 {
                    out.extend(error_msg(0, req, pid));
                }
                return out;
            }
            return error_msg(-Errno::ENODEV.into_raw(), req, pid);
        }
        RTM_GETADDR if dump => addr_msgs(family, NLM_F_MULTI, seq, pid),
        RTM_GETROUTE if dump => route_msgs(family, NLM_F_MULTI, seq, pid),
        _ => return error_msg(-Errno::EOPNOTSUPP.into_raw(), req, pid),
    };
    let mut out: Vec<u8> = parts.concat();
    out.extend(Msg::new(NLMSG_DONE, NLM_F_MULTI, seq, pid, &0i32.to_le_bytes()).finish());
    out
}

/// The payload of attribute `ty` among those starting at `off`.
fn find_attr(msg: &[u8], mut off: usize, ty: u16) -> Option<&[u8]> {
    let end = (u32::from_le_bytes(msg.get(..4)?.try_into().ok()?) as usize).min(msg.len());
    while off + 4 <= end {
        let len = u16::from_le_bytes([msg[off], msg[off + 1]]) as usize;
        let t = u16::from_le_bytes([msg[off + 2], msg[off + 3]]);
        if len < 4 || off + len > end {
            return None;
        }
        if t & 0x3fff == ty {
            return Some(&msg[off + 4..off + len]);
        }
        off += len.next_multiple_of(4);
    }
    None
}

impl NetlinkSocket {
    pub fn new(ty: i32, nonblock: bool) -> NetlinkSocket {
        static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 30);
        NetlinkSocket {
            ty,
            queue: WaitQueue::default(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            flags: crate::vfs::StatusFlags::new(nonblock),
            st: Mutex::new(St {
                port_id: 0,
                replies: VecDeque::new(),
                common: SockOpts::default(),
                bufs: (crate::fs::unix::DEFAULT_BUF, crate::fs::unix::DEFAULT_BUF),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `struct sockaddr_nl` for `port_id`.
    pub fn addr_bytes(port_id: u32) -> Vec<u8> {
        let mut b = AF_NETLINK.to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&port_id.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b
    }

    fn parse(raw: &[u8]) -> Result<u32, Errno> {
        if raw.len() < 12 || u16::from_le_bytes([raw[0], raw[1]]) != AF_NETLINK {
            return Err(Errno::EINVAL);
        }
        Ok(u32::from_le_bytes(raw[4..8].try_into().unwrap()))
    }

    /// Binds to `raw`'s port id (0: the process's pid if free, else a
    /// negative number, as Linux's `netlink_autobind`).
    pub fn bind(&self, raw: &[u8], tgid: i32) -> Result<(), Errno> {
        let want = Self::parse(raw)?;
        self.autobind(want, tgid)
    }

    fn autobind(&self, want: u32, tgid: i32) -> Result<(), Errno> {
        let mut st = self.lock();
        if st.port_id != 0 {
            return if want == 0 || want == st.port_id { Ok(()) } else { Err(Errno::EINVAL) };
        }
        let mut ids = port_ids();
        let id = if want != 0 {
            if ids.contains(&want) {
                return Err(Errno::EADDRINUSE);
            }
            want
        } else if tgid > 0 && !ids.contains(&(tgid as u32)) {
            tgid as u32
        } else {
            let mut id = u32::MAX - 4096;
            while ids.contains(&id) {
                id -= 1;
            }
            id
        };
        ids.insert(id);
        st.port_id = id;
        Ok(())
    }

    pub fn port_id(&self) -> u32 {
        self.lock().port_id
    }

    /// connect(2): only the kernel (port id 0) answers here.
    pub fn connect(&self, raw: &[u8], tgid: i32) -> Result<(), Errno> {
        if Self::parse(raw)? != 0 {
            return Err(Errno::ECONNREFUSED);
        }
        self.autobind(0, tgid)
    }

    /// Takes the requests in `data`; the answers are queued.
    pub fn send(&self, to: Option<&[u8]>, data: &[u8], tgid: i32) -> Result<usize, Errno> {
        if let Some(raw) = to {
            if Self::parse(raw)? != 0 {
                return Err(Errno::ECONNREFUSED);
            }
        }
        self.autobind(0, tgid)?;
        let pid = self.port_id();
        let mut out = Vec::new();
        let mut off = 0;
        while off + HDR <= data.len() {
            let len = u32::from_le_bytes(data[off..off + 4].try_into().unwrap()) as usize;
            if len < HDR || off + len > data.len() {
                break;
            }
            out.extend(answer(&data[off..off + len], pid));
            off += len.next_multiple_of(4);
        }
        if !out.is_empty() {
            self.lock().replies.push_back(out);
            self.queue.notify();
        }
        Ok(data.len())
    }

    /// One queued answer (EAGAIN when none): (bytes, whole length, sender).
    pub fn recv(&self, len: usize, peek: bool) -> Result<(Vec<u8>, usize, Vec<u8>), Errno> {
        let mut st = self.lock();
        let msg = if peek { st.replies.front().cloned() } else { st.replies.pop_front() };
        let mut msg = msg.ok_or(Errno::EAGAIN)?;
        let full = msg.len();
        msg.truncate(len);
        Ok((msg, full, Self::addr_bytes(0)))
    }

    pub fn readiness(&self) -> u32 {
        use abi::poll::*;
        let mut r = POLLOUT | POLLWRNORM;
        if !self.lock().replies.is_empty() {
            r |= POLLIN | POLLRDNORM;
        }
        r
    }

    pub fn common(&self) -> SockOpts {
        self.lock().common
    }
    pub fn set_common(&self, f: impl FnOnce(&mut SockOpts)) {
        f(&mut self.lock().common)
    }
    pub fn bufs(&self) -> (usize, usize) {
        self.lock().bufs
    }
    pub fn set_bufs(&self, snd: Option<usize>, rcv: Option<usize>) {
        let mut st = self.lock();
        st.bufs = (snd.unwrap_or(st.bufs.0), rcv.unwrap_or(st.bufs.1));
    }
}

impl Drop for NetlinkSocket {
    fn drop(&mut self) {
        let id = self.lock().port_id;
        if id != 0 {
            port_ids().remove(&id);
        }
    }
}

impl FileDescription for NetlinkSocket {
    fn flags(&self) -> u64 {
        self.flags.get()
    }
    fn set_flags(&self, flags: u64) {
        self.flags.set(flags);
    }
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let (data, _, _) = self.recv(buf.len(), false)?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        self.send(None, data, 0)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(crate::net::socket_stat(self.ino))
    }
    fn ioctl(&self, cmd: u64) -> Result<IoctlReply, Errno> {
        match cmd {
            ioctl::FIONREAD => {
                let n = self.lock().replies.front().map_or(0, Vec::len);
                Ok(IoctlReply::Out((n as i32).to_le_bytes().to_vec()))
            }
            _ => Err(Errno::ENOTTY),
        }
    }
    fn path(&self) -> String {
        crate::net::socket_path(self.ino)
    }
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }
    fn readiness(&self, _mask: u32) -> u32 {
        NetlinkSocket::readiness(self)
    }
    fn pollable(&self) -> bool {
        true
    }
    fn as_socket(&self) -> Option<super::SocketRef<'_>> {
        Some(super::SocketRef::Netlink(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ty: u16, flags: u16, family: u8) -> Vec<u8> {
        Msg::new(ty, flags, 7, 0, &[family, 0, 0, 0]).finish()
    }

    /// (type, flags) of each message in a datagram.
    fn walk(mut d: &[u8]) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        while d.len() >= HDR {
            let len = u32::from_le_bytes(d[..4].try_into().unwrap()) as usize;
            out.push((u16::from_le_bytes([d[4], d[5]]), u16::from_le_bytes([d[6], d[7]])));
            d = &d[len.next_multiple_of(4).min(d.len())..];
        }
        out
    }

    #[test]
    fn dumps_lo() {
        let s = NetlinkSocket::new(3, false);
        s.send(None, &request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 0), 4242).unwrap();
        let (d, full, from) = s.recv(65536, false).unwrap();
        assert_eq!((d.len(), from), (full, NetlinkSocket::addr_bytes(0)));
        let msgs = walk(&d);
        assert_eq!(msgs, vec![(RTM_NEWADDR, NLM_F_MULTI), (RTM_NEWADDR, NLM_F_MULTI), (NLMSG_DONE, NLM_F_MULTI)]);
        assert_eq!(u32::from_le_bytes(d[12..16].try_into().unwrap()), 4242);
        s.send(None, &request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0), 4242).unwrap();
        let (d, _, _) = s.recv(65536, false).unwrap();
        let name = find_attr(&d, HDR + 16, 3).unwrap();
        assert_eq!(name, b"lo\0");
        s.send(None, &request(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, AF_INET6 as u8), 4242).unwrap();
        assert_eq!(walk(&s.recv(65536, false).unwrap().0).len(), 3);
        s.send(None, &request(RTM_NEWADDR, NLM_F_REQUEST, 0), 4242).unwrap();
        let (d, _, _) = s.recv(65536, false).unwrap();
        assert_eq!(walk(&d)[0].0, NLMSG_ERROR);
        assert_eq!(i32::from_le_bytes(d[16..20].try_into().unwrap()), -Errno::EOPNOTSUPP.into_raw());
    }
}
