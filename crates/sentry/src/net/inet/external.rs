//! An inet socket's side in the network stack (`--network=sandbox`):
//! connections, listeners, UDP ports and ICMP identifiers of the
//! `netstack` crate that a socket holds (`Ext`), and the socket operations
//! that go through them when a peer is off the sandbox. The rest of the
//! socket, the port table and the local paths, is `inet/mod.rs`'s.

use super::*;

pub(super) const SOCK_RAW: i32 = 3;
pub(super) const ICMP_ECHOREPLY: u8 = 0;
pub(super) const ICMP_ECHO: u8 = 8;

/// The network stack's side of a socket.
#[derive(Default, Clone, Copy)]
pub(super) struct Ext {
    pub(super) conn: Option<netstack::TcpId>,
    pub(super) listen: Option<netstack::ListenId>,
    pub(super) udp: Option<netstack::UdpId>,
    pub(super) icmp: Option<netstack::IcmpId>,
}

/// The Internet checksum (RFC 1071) of `b`.
pub(super) fn inet_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet of protocol ICMP from `src` to `dst` (v4-mapped forms),
/// as a raw socket receives it: 20-byte header, TTL 64, DF.
pub(super) fn ipv4_packet(src: &[u8; 16], dst: &[u8; 16], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, IPPROTO_ICMP as u8, 0, 0]);
    p.extend_from_slice(&src[12..]);
    p.extend_from_slice(&dst[12..]);
    let sum = inet_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub(super) fn stack() -> Option<&'static netstack::Stack> {
    crate::net::stack().map(|s| &**s)
}

/// Linux `tcp_poll` for a connection of the network stack.
pub(super) fn ext_readiness(s: &netstack::TcpStatus, own_shutdown: u8) -> u32 {
    use abi::poll::*;
    if s.connecting {
        return 0;
    }
    let mut r = 0;
    if s.error.is_some() && !s.established {
        return POLLOUT | POLLWRNORM | POLLERR | POLLHUP;
    }
    if s.error.is_some() {
        r |= POLLERR;
    }
    if s.readable {
        r |= POLLIN | POLLRDNORM;
    }
    if s.peer_closed {
        r |= POLLIN | POLLRDNORM | POLLRDHUP;
    }
    if s.writable && own_shutdown & SHUT_SEND == 0 {
        r |= POLLOUT | POLLWRNORM;
    }
    if s.closed || (s.peer_closed && own_shutdown & SHUT_SEND != 0) {
        r |= POLLHUP;
    }
    r
}

impl InetSocket {
    /// What the network stack calls when this socket may be ready.
    pub(super) fn notifier(self: &Arc<Self>) -> netstack::Notify {
        let me = Arc::downgrade(self);
        Arc::new(move || {
            if let Some(s) = me.upgrade() {
                s.queue().notify();
            }
        })
    }

    /// A UDP socket bound to the wildcard or an interface's address also
    /// takes its port in the network stack, to hear from off the sandbox
    /// (not UDP-Lite, which the stack does not speak).
    pub(super) fn open_udp_port(self: &Arc<Self>) -> Result<(), Errno> {
        let Some(stack) = stack() else { return Ok(()) };
        let local = self.local();
        if self.proto != Proto::Udp || is_loopback(&local.ip) || self.lock().ext.udp.is_some() {
            return Ok(());
        }
        match stack.udp_bind(local.to_std(), self.notifier()) {
            Ok(id) => {
                self.lock().ext.udp = Some(id);
                Ok(())
            }
            Err(e) => {
                self.release_port();
                Err(Errno::new(e.raw_os_error()))
            }
        }
    }

    /// Starts a connection through the network stack. The handshake runs
    /// there; the caller hears EINPROGRESS (non-blocking) or EAGAIN, and
    /// the syscall layer sleeps and calls connect again until it is over.
    pub(super) fn ext_connect(self: &Arc<Self>, local: Addr, dst: Addr, nonblock: bool) -> Result<(), Errno> {
        let stack = stack().ok_or(Errno::ENETUNREACH)?;
        let id = match stack.tcp_connect(local.to_std(), dst.to_std(), self.notifier()) {
            Ok(id) => id,
            Err(e) => {
                self.release_port();
                return Err(Errno::new(e.raw_os_error()));
            }
        };
        let nodelay = {
            let mut st = self.lock();
            st.ext.conn = Some(id);
            st.tcp = Tcp::Connected { connecting: true };
            st.peer = Some(dst);
            st.opts.nodelay
        };
        stack.tcp_set_nodelay(id, nodelay);
        Err(if nonblock { Errno::EINPROGRESS } else { Errno::EAGAIN })
    }

    /// A connect call while the stack's handshake is under way: 0 once it
    /// is done (then EISCONN), its error if it failed, else EALREADY (or
    /// EAGAIN for a blocking caller, which sleeps on).
    pub(super) fn ext_connect_progress(self: &Arc<Self>, nonblock: bool) -> Result<(), Errno> {
        let (stack, id) = (stack().ok_or(Errno::ENETUNREACH)?, self.lock().ext.conn.expect("checked"));
        let status = stack.tcp_status(id);
        if status.connecting {
            return Err(if nonblock { Errno::EALREADY } else { Errno::EAGAIN });
        }
        if !status.established {
            let e = stack.tcp_take_error(id).unwrap_or(Errno::ECONNREFUSED.into_raw());
            stack.tcp_close(id);
            let mut st = self.lock();
            st.ext.conn = None;
            st.tcp = Tcp::Closed;
            st.peer = None;
            drop(st);
            self.release_port();
            return Err(Errno::new(e));
        }
        self.lock().tcp = Tcp::Connected { connecting: false };
        Ok(())
    }

    /// Takes a connection the network stack established.
    pub(super) fn ext_accept(&self, listen: Option<netstack::ListenId>) -> Result<Arc<InetSocket>, Errno> {
        let (Some(stack), Some(listen)) = (stack(), listen) else { return Err(Errno::EAGAIN) };
        if !stack.tcp_acceptable(listen) {
            return Err(Errno::EAGAIN);
        }
        let server = InetSocket::new(self.family, Proto::Tcp, self.uid);
        let id = stack.tcp_accept(listen, server.notifier()).ok_or(Errno::EAGAIN)?;
        let (local, peer) = stack.tcp_endpoints(id).ok_or(Errno::ECONNABORTED)?;
        let (common, opts) = {
            let st = self.lock();
            (st.common, st.opts)
        };
        let local = Addr::from_std(local);
        {
            let mut ss = server.lock();
            ss.local = Some(local);
            ss.peer = Some(Addr::from_std(peer));
            ss.tcp = Tcp::Connected { connecting: false };
            ss.common = common;
            ss.opts = opts;
            ss.ext.conn = Some(id);
        }
        stack.tcp_set_nodelay(id, opts.nodelay);
        table().insert(&server, local.port);
        Ok(server)
    }

    /// A raw ICMP send. To one of the sandbox's own addresses the message
    /// comes back to the socket, as every raw ICMP socket sees it on
    /// loopback, followed by the echo reply the kernel makes; to anyone
    /// else it leaves through the stack, whose ICMP socket is bound to the
    /// first echo request's identifier.
    pub(super) fn icmp_send(self: &Arc<Self>, to: Option<Addr>, data: &[u8]) -> Result<usize, Errno> {
        let dst = to.or(self.lock().peer).ok_or(Errno::EDESTADDRREQ)?;
        if data.len() > UDP_MAX_V4 + 8 {
            return Err(Errno::EMSGSIZE);
        }
        let (dst, path) = self.route(dst)?;
        let src = self.source_for(self.local(), &dst.ip);
        if path == Path::Out {
            let stack = stack().ok_or(Errno::ENETUNREACH)?;
            let bound = self.lock().ext.icmp;
            let id = match bound {
                Some(id) => id,
                None => {
                    let ident = data.get(4..6).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                    let id = stack.icmp_bind(ident, self.notifier()).map_err(|e| Errno::new(e.raw_os_error()))?;
                    self.lock().ext.icmp = Some(id);
                    id
                }
            };
            return stack.icmp_send(id, ip_to_std(&dst.ip), data).map_err(|e| Errno::new(e.raw_os_error()));
        }
        let mut packets = vec![(ipv4_packet(&src, &dst.ip, data), src)];
        if data.len() >= 8 && data[0] == ICMP_ECHO && data[1] == 0 {
            let mut reply = data.to_vec();
            reply[0] = ICMP_ECHOREPLY;
            reply[2..4].copy_from_slice(&[0, 0]);
            let sum = inet_checksum(&reply);
            reply[2..4].copy_from_slice(&sum.to_be_bytes());
            packets.push((ipv4_packet(&dst.ip, &src, &reply), dst.ip));
        }
        {
            let mut st = self.lock();
            for (packet, from) in packets {
                if st.dgram_bytes + packet.len() <= st.opts.rcvbuf {
                    st.dgram_bytes += packet.len();
                    st.dgrams.push_back(Dgram {
                        data: packet,
                        from: Addr { ip: from, port: 0 },
                        hoplimit: 64,
                        tclass: 0,
                    });
                }
            }
        }
        self.queue().notify();
        Ok(data.len())
    }
}
