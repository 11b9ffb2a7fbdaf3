//! netstack: the sandbox's user-space TCP/IP stack (gVisor: `pkg/tcpip`).
//!
//! `--network=sandbox` gives the sentry the container network namespace's
//! interfaces as raw `AF_PACKET` sockets; this crate runs IPv4/IPv6, ARP,
//! NDP, ICMP echo, TCP and UDP over them on smoltcp, behind a socket-level
//! API of its own that the sentry's `net::inet` drives.
#![forbid(unsafe_code)]

mod device;
mod stack;

pub use stack::{IcmpId, ListenId, NicInfo, Notify, Stack, TcpId, TcpStatus, UdpId};

use std::net::IpAddr;
use std::os::fd::OwnedFd;

/// One interface handed to the sandbox: what the runtime read from the
/// container's network namespace before it removed the addresses there.
#[derive(Debug)]
pub struct NicConfig {
    /// The name the application sees (`eth0`).
    pub name: String,
    /// The host's interface index in the container's namespace.
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: usize,
    /// Addresses with their prefix lengths.
    pub addrs: Vec<(IpAddr, u8)>,
    /// An `AF_PACKET`/`SOCK_RAW` socket bound to the interface, for all
    /// protocols, non-blocking.
    pub fd: OwnedFd,
}

/// A route: `dst/prefix` via `gateway` (none: on-link) through `nic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    pub dst: IpAddr,
    pub prefix: u8,
    pub gateway: Option<IpAddr>,
    /// The interface's name (one of [`NetConfig::nics`]).
    pub nic: String,
}

/// The network a sandbox starts with. Empty: loopback only
/// (`--network=none`, or a namespace with nothing but `lo`).
#[derive(Debug, Default)]
pub struct NetConfig {
    pub nics: Vec<NicConfig>,
    pub routes: Vec<RouteConfig>,
}
