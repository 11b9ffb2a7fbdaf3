//! The container's network, as the sandbox takes it before it confines
//! itself (gVisor: `runsc/sandbox/network.go`, which the runtime runs).
//!
//! 1. [`enter_namespace`]: the spec's `network` namespace with a path
//!    (Docker's, CNI's) is joined; without an entry, the runtime's own is
//!    kept (the runtime refuses that in sandbox mode when it is the host's
//!    initial one).
//! 2. [`take_interfaces`] (`--network=sandbox`): over rtnetlink, every
//!    interface that is up, except loopback, with its MAC, MTU, addresses
//!    and main-table routes; for each an `AF_PACKET` socket bound to it;
//!    then its addresses are deleted, so the host kernel no longer answers
//!    for them (ARP, NDP, RSTs for the sandbox's connections). What was
//!    taken goes to the sentry's stack as a [`NetConfig`].
//!
//! For a joined namespace both run as root in the host's user namespace;
//! `confine` then unshares a new network namespace, and the packet sockets
//! keep working from it. A namespace of the sandbox's own (an entry without
//! a path, as Docker gives) is the one `confine` unshares: the runtime runs
//! the createRuntime hooks during the handshake (Docker's
//! `libnetwork-setkey` moves the container's veth end in and addresses it),
//! and step 2 runs after that, with the capabilities the sandbox holds in
//! its new user namespace, which owns the network namespace.
//!
//! With `--network=host` (runsc's hostinet) step 2 is [`read_host`]
//! instead: the namespace keeps everything, nothing new is unshared (the
//! sentry's host sockets live in it), and the sentry is only told what it
//! holds (every interface, `lo` and those that are down included, their
//! addresses, and the main table's routes) to show the application.
//! A spec asking for a new namespace (an entry without a path) gets the
//! runtime's instead, as with runsc, and a log line says so.

use crate::spec::NetNamespace;
use crate::BootError;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use netstack::{NetConfig, NicConfig, RouteConfig};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;

/// Receive buffer of each packet socket: bursts of full-size frames wait
/// here while the stack is busy.
const PACKET_RCVBUF: usize = 4 << 20;

fn net_err(msg: String) -> BootError {
    BootError::Network(msg)
}

/// Step 1: puts the calling thread (the only one yet) in the container's
/// network namespace, or checks that staying in ours is allowed.
pub fn enter_namespace(ns: &NetNamespace) -> Result<(), BootError> {
    match ns {
        NetNamespace::New => Ok(()),
        NetNamespace::Join(path) => {
            let file = std::fs::File::open(path).map_err(|e| {
                net_err(format!("cannot open the network namespace {} (linux.namespaces): {e}", path.display()))
            })?;
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                net_err(format!("cannot join the network namespace {} (linux.namespaces): {e}", path.display()))
            })?;
            tracing::debug!(path = %path.display(), "joined the container's network namespace");
            Ok(())
        }
        // Staying in the runtime's namespace: the runtime has refused that
        // in sandbox mode when it is the host's initial one
        // (`runtime::spec::check_network_namespace`).
        NetNamespace::Inherit => Ok(()),
    }
}

/// Step 2, in the namespace the calling thread is in: the container's
/// (joined by [`enter_namespace`]), or the sandbox's own new one once the
/// runtime's createRuntime hooks have set it up.
pub fn take_interfaces() -> Result<NetConfig, BootError> {
    let mut nl = Netlink::open().map_err(|e| net_err(format!("rtnetlink socket: {e}")))?;
    let scraped = scrape(&mut nl).map_err(|e| net_err(format!("reading the network namespace: {e}")))?;
    let mut config = NetConfig { nics: Vec::new(), routes: scraped.routes };
    for link in &scraped.links {
        let fd = hostsys::packet::open_bound(link.index, PACKET_RCVBUF)
            .map_err(|e| net_err(format!("packet socket on {}: {e}", link.name)))?;
        config.nics.push(NicConfig {
            name: link.name.clone(),
            index: link.index,
            mac: link.mac,
            mtu: link.mtu,
            addrs: link.addrs.iter().map(|a| (a.ip, a.prefix)).collect(),
            fd,
        });
    }
    for link in &scraped.links {
        for a in &link.addrs {
            nl.delete_address(a).map_err(|e| {
                net_err(format!("removing {}/{} from {} on the host side: {e}", a.ip, a.prefix, link.name))
            })?;
        }
    }
    for nic in &config.nics {
        let addrs: Vec<String> = nic.addrs.iter().map(|(ip, p)| format!("{ip}/{p}")).collect();
        let mac = nic.mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        tracing::info!(nic = nic.name, index = nic.index, mac, mtu = nic.mtu, addrs = ?addrs, "network: took interface");
    }
    for r in &config.routes {
        let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
        tracing::info!("network: route {}/{}{via} dev {}", r.dst, r.prefix, r.nic);
    }
    if config.nics.is_empty() {
        tracing::info!("network: no interface up besides loopback");
    }
    Ok(config)
}

/// Step 2 for `--network=host`: the namespace we are in, as the
/// application will see it. Nothing is taken or changed.
pub fn read_host() -> Result<sentry::net::HostNetConfig, BootError> {
    let mut nl = Netlink::open().map_err(|e| net_err(format!("rtnetlink socket: {e}")))?;
    let read = |nl: &mut Netlink| -> std::io::Result<sentry::net::HostNetConfig> {
        let mut nics = Vec::new();
        for msg in nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))? {
            let RouteNetlinkMessage::NewLink(m) = msg else { continue };
            let mut nic = sentry::net::HostNic {
                name: format!("if{}", m.header.index),
                index: m.header.index,
                flags: m.header.flags.bits(),
                arphrd: u16::from(m.header.link_layer_type),
                mac: [0; 6],
                mtu: 1500,
                addrs: Vec::new(),
            };
            for a in &m.attributes {
                match a {
                    LinkAttribute::IfName(n) => nic.name = n.clone(),
                    LinkAttribute::Address(b) if b.len() == 6 => nic.mac.copy_from_slice(b),
                    LinkAttribute::Mtu(v) => nic.mtu = *v,
                    _ => {}
                }
            }
            nics.push(nic);
        }
        for msg in nl.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))? {
            let RouteNetlinkMessage::NewAddress(m) = msg else { continue };
            if let (Some(nic), Some(a)) = (nics.iter_mut().find(|n| n.index == m.header.index), addr_of(&m)) {
                nic.addrs.push((a.ip, a.prefix));
            }
        }
        // route_of names a route's interface from this list.
        let links: Vec<Link> = nics
            .iter()
            .map(|n| Link { name: n.name.clone(), index: n.index, mac: n.mac, mtu: n.mtu as usize, addrs: Vec::new() })
            .collect();
        let mut routes = Vec::new();
        for msg in nl.dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()))? {
            let RouteNetlinkMessage::NewRoute(m) = msg else { continue };
            if let Some(r) = route_of(&m, &links) {
                routes.push(r);
            }
        }
        Ok(sentry::net::HostNetConfig { nics, routes })
    };
    let host = read(&mut nl).map_err(|e| net_err(format!("reading the network namespace: {e}")))?;
    for r in &host.routes {
        let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
        tracing::info!("network: --network=host, route {}/{}{via} dev {}", r.dst, r.prefix, r.nic);
    }
    Ok(host)
}

/// An address as the kernel listed it: enough to delete it again.
#[derive(Debug, Clone)]
struct Addr {
    ip: IpAddr,
    prefix: u8,
    /// `IFA_ADDRESS` when it differs from the local one (point-to-point peers).
    peer: Option<IpAddr>,
    index: u32,
}

#[derive(Debug)]
struct Link {
    name: String,
    index: u32,
    mac: [u8; 6],
    mtu: usize,
    addrs: Vec<Addr>,
}

#[derive(Debug)]
struct Scraped {
    links: Vec<Link>,
    routes: Vec<RouteConfig>,
}

fn scrape(nl: &mut Netlink) -> std::io::Result<Scraped> {
    let mut links = Vec::new();
    for msg in nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))? {
        let RouteNetlinkMessage::NewLink(m) = msg else { continue };
        if let Some(link) = link_of(&m) {
            links.push(link);
        }
    }
    for msg in nl.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))? {
        let RouteNetlinkMessage::NewAddress(m) = msg else { continue };
        if let Some(link) = links.iter_mut().find(|l| l.index == m.header.index) {
            if let Some(a) = addr_of(&m) {
                link.addrs.push(a);
            }
        }
    }
    let mut routes = Vec::new();
    for msg in nl.dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()))? {
        let RouteNetlinkMessage::NewRoute(m) = msg else { continue };
        if let Some(r) = route_of(&m, &links) {
            routes.push(r);
        }
    }
    Ok(Scraped { links, routes })
}

/// An interface to take: up, not loopback, Ethernet. Others are logged.
fn link_of(m: &LinkMessage) -> Option<Link> {
    let mut name = None;
    let mut mac = None;
    let mut mtu = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(b) => mac = <[u8; 6]>::try_from(b.as_slice()).ok(),
            LinkAttribute::Mtu(v) => mtu = Some(*v as usize),
            _ => {}
        }
    }
    let name = name.unwrap_or_else(|| format!("if{}", m.header.index));
    let flags = m.header.flags;
    if flags.contains(LinkFlags::Loopback) {
        return None;
    }
    if !flags.contains(LinkFlags::Up) {
        tracing::info!(nic = name, "network: interface is down, not taken");
        return None;
    }
    if m.header.link_layer_type != LinkLayerType::Ether {
        tracing::warn!(
            nic = name,
            kind = ?m.header.link_layer_type,
            "network: only Ethernet interfaces can be handed to the sandbox; this one is left alone"
        );
        return None;
    }
    let Some(mac) = mac else {
        tracing::warn!(nic = name, "network: Ethernet interface without a 6-byte address, left alone");
        return None;
    };
    Some(Link { name, index: m.header.index, mac, mtu: mtu.unwrap_or(1500), addrs: Vec::new() })
}

fn addr_of(m: &AddressMessage) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    // IPv4 lists its own address as IFA_LOCAL (IFA_ADDRESS is the peer on
    // point-to-point links); IPv6 gives IFA_ADDRESS alone unless it has a peer.
    let ip = local.or(address)?;
    let peer = address.filter(|a| Some(*a) != local && local.is_some());
    Some(Addr { ip, prefix: m.header.prefix_len, peer, index: m.header.index })
}

/// A main-table unicast route through one of `links`.
fn route_of(m: &RouteMessage, links: &[Link]) -> Option<RouteConfig> {
    let h = &m.header;
    let mut table = u32::from(h.table);
    let mut dst = None;
    let mut gateway = None;
    let mut oif = None;
    let mut multipath = false;
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => dst = ip_of(d),
            RouteAttribute::Gateway(g) => gateway = ip_of(g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(_) => multipath = true,
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) || h.kind != RouteType::Unicast {
        return None;
    }
    let dst = match (dst, h.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    if multipath {
        tracing::warn!("network: multipath route to {dst}/{} not taken (not supported)", h.destination_prefix_length);
        return None;
    }
    let link = links.iter().find(|l| Some(l.index) == oif)?;
    Some(RouteConfig { dst, prefix: h.destination_prefix_length, gateway, nic: link.name.clone() })
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// A synchronous rtnetlink socket in the calling thread's namespace.
struct Netlink {
    sock: Socket,
    seq: u32,
}

impl Netlink {
    fn open() -> std::io::Result<Netlink> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(Netlink { sock, seq: 0 })
    }

    /// Sends `msg` with `flags` and collects the answers until the dump's
    /// end or the request's acknowledgement.
    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> std::io::Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.sock.recv_from_full()?;
            let mut off = 0;
            while off < data.len() {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[off..])
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
                let len = m.header.length as usize;
                if m.header.sequence_number != self.seq {
                    off += len.max(1);
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(_) => return Err(e.into()),
                    },
                    NetlinkPayload::InnerMessage(inner) => {
                        out.push(inner);
                        if m.header.flags & NLM_F_MULTIPART == 0 && flags & NLM_F_ACK == 0 {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
                if len == 0 {
                    break;
                }
                off += len;
            }
        }
    }

    fn dump(&mut self, msg: RouteNetlinkMessage) -> std::io::Result<Vec<RouteNetlinkMessage>> {
        self.request(msg, NLM_F_REQUEST | NLM_F_DUMP)
    }

    fn delete_address(&mut self, a: &Addr) -> std::io::Result<()> {
        let mut m = AddressMessage::default();
        m.header.family = match a.ip {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        m.header.prefix_len = a.prefix;
        m.header.index = a.index;
        match a.ip {
            IpAddr::V4(_) => {
                m.attributes.push(AddressAttribute::Local(a.ip));
                m.attributes.push(AddressAttribute::Address(a.peer.unwrap_or(a.ip)));
            }
            IpAddr::V6(_) => m.attributes.push(AddressAttribute::Address(a.ip)),
        }
        self.request(RouteNetlinkMessage::DelAddress(m), NLM_F_REQUEST | NLM_F_ACK).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, flags: LinkFlags, kind: LinkLayerType, mac: &[u8]) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = flags;
        m.header.link_layer_type = kind;
        m.attributes.push(LinkAttribute::IfName(format!("eth{index}")));
        m.attributes.push(LinkAttribute::Address(mac.to_vec()));
        m.attributes.push(LinkAttribute::Mtu(9000));
        m
    }

    #[test]
    fn only_ethernet_interfaces_that_are_up_are_taken() {
        let mac = [2, 0, 0, 0, 0, 1];
        let up = LinkFlags::Up | LinkFlags::LowerUp;
        let l = link_of(&link(2, up, LinkLayerType::Ether, &mac)).expect("an up Ethernet interface is taken");
        assert_eq!((l.name.as_str(), l.index, l.mac, l.mtu), ("eth2", 2, mac, 9000));
        assert!(link_of(&link(1, up | LinkFlags::Loopback, LinkLayerType::Loopback, &[0; 6])).is_none());
        assert!(link_of(&link(3, LinkFlags::empty(), LinkLayerType::Ether, &mac)).is_none(), "down");
        assert!(link_of(&link(4, up, LinkLayerType::None, &[])).is_none(), "not Ethernet");
        assert!(link_of(&link(5, up, LinkLayerType::Ether, &[1, 2, 3])).is_none(), "no MAC");
    }

    #[test]
    fn addresses_local_first() {
        let mut m = AddressMessage::default();
        m.header.prefix_len = 24;
        m.header.index = 2;
        let v4: IpAddr = "198.18.0.1".parse().unwrap();
        m.attributes.push(AddressAttribute::Address(v4));
        m.attributes.push(AddressAttribute::Local(v4));
        let a = addr_of(&m).unwrap();
        assert_eq!((a.ip, a.prefix, a.peer, a.index), (v4, 24, None, 2));
        // Point to point: IFA_ADDRESS is the peer.
        let peer: IpAddr = "198.18.0.9".parse().unwrap();
        m.attributes[0] = AddressAttribute::Address(peer);
        assert_eq!(addr_of(&m).unwrap().peer, Some(peer));
        // IPv6: IFA_ADDRESS alone.
        let mut m = AddressMessage::default();
        let v6: IpAddr = "fe80::1".parse().unwrap();
        m.header.prefix_len = 64;
        m.attributes.push(AddressAttribute::Address(v6));
        let a = addr_of(&m).unwrap();
        assert_eq!((a.ip, a.prefix, a.peer), (v6, 64, None));
    }

    fn route(
        family: AddressFamily,
        table: u8,
        kind: RouteType,
        prefix: u8,
        attrs: Vec<RouteAttribute>,
    ) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = family;
        m.header.table = table;
        m.header.kind = kind;
        m.header.destination_prefix_length = prefix;
        m.attributes = attrs;
        m
    }

    #[test]
    fn main_table_unicast_routes_through_taken_links() {
        let links = vec![Link { name: "eth0".into(), index: 2, mac: [0; 6], mtu: 1500, addrs: vec![] }];
        let main = RouteHeader::RT_TABLE_MAIN;
        let gw = RouteAttribute::Gateway(RouteAddress::Inet("198.18.0.2".parse().unwrap()));
        let default = route(AddressFamily::Inet, main, RouteType::Unicast, 0, vec![gw.clone(), RouteAttribute::Oif(2)]);
        assert_eq!(
            route_of(&default, &links),
            Some(RouteConfig {
                dst: "0.0.0.0".parse().unwrap(),
                prefix: 0,
                gateway: Some("198.18.0.2".parse().unwrap()),
                nic: "eth0".into()
            })
        );
        let dst = RouteAttribute::Destination(RouteAddress::Inet6("fe80::".parse().unwrap()));
        let onlink =
            route(AddressFamily::Inet6, main, RouteType::Unicast, 64, vec![dst.clone(), RouteAttribute::Oif(2)]);
        let r = route_of(&onlink, &links).unwrap();
        assert_eq!((r.dst, r.prefix, r.gateway), ("fe80::".parse().unwrap(), 64, None));
        // The table in RTA_TABLE counts (tables above 255 have only that).
        let mut other = onlink.clone();
        other.attributes.push(RouteAttribute::Table(1000));
        assert!(route_of(&other, &links).is_none());
        let local = route(AddressFamily::Inet, 255, RouteType::Local, 32, vec![RouteAttribute::Oif(2)]);
        assert!(route_of(&local, &links).is_none());
        let elsewhere = route(AddressFamily::Inet, main, RouteType::Unicast, 0, vec![gw, RouteAttribute::Oif(7)]);
        assert!(route_of(&elsewhere, &links).is_none(), "through an interface not taken");
    }
}
