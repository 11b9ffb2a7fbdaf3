//! `AF_PACKET` sockets: how `--network=sandbox` hands the sandbox's
//! TCP/IP stack the interfaces of the container's network namespace.
//! rustix makes the socket and sets the receive buffer; binding to a
//! `sockaddr_ll` and `PACKET_IGNORE_OUTGOING` it does not offer.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// `PACKET_IGNORE_OUTGOING` (Linux 4.20), which the libc crate does not name.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// `ETH_P_ALL` in network byte order, as `sll_protocol` wants it.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// Opens a non-blocking, close-on-exec `AF_PACKET`/`SOCK_RAW` socket for
/// every protocol, bound to interface `ifindex` of the calling thread's
/// network namespace. It does not see the frames it sends itself
/// (`PACKET_IGNORE_OUTGOING`), and its receive buffer is forced to
/// `rcvbuf` bytes (`SO_RCVBUFFORCE`, past `net.core.rmem_max`; needs
/// `CAP_NET_ADMIN` in the host's user namespace, else `SO_RCVBUF`). The socket keeps working after its owner moves to
/// another network namespace.
pub fn open_bound(ifindex: u32, rcvbuf: usize) -> io::Result<OwnedFd> {
    use rustix::net::{eth, socket_with, AddressFamily, SocketFlags, SocketType};
    let fd = socket_with(
        AddressFamily::PACKET,
        SocketType::RAW,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        Some(eth::ALL),
    )
    .map_err(|e| ctx(e.into(), "socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)"))?;
    let index = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("interface index {ifindex} out of range")))?;
    let addr = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: ETH_P_ALL_BE,
        sll_ifindex: index,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: `addr` is a fully initialised sockaddr_ll that outlives the
    // call, and the length passed is its size; the kernel only reads it.
    // `fd` is an open socket we own.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(ctx(io::Error::last_os_error(), &format!("binding the packet socket to interface {ifindex}")));
    }
    let one: libc::c_int = 1;
    // SAFETY: the option value is a live c_int and its exact size is passed;
    // the kernel only reads it. `fd` is an open socket we own.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            (&one as *const libc::c_int).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(ctx(io::Error::last_os_error(), "setsockopt(PACKET_IGNORE_OUTGOING)"));
    }
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN in the host's user namespace; a
    // sandbox in a namespace of its own (Docker's) gets what
    // net.core.rmem_max allows.
    match rustix::net::sockopt::set_socket_recv_buffer_size_force(&fd, rcvbuf) {
        Err(rustix::io::Errno::PERM) => rustix::net::sockopt::set_socket_recv_buffer_size(&fd, rcvbuf)
            .map_err(|e| ctx(e.into(), &format!("setsockopt(SO_RCVBUF, {rcvbuf})")))?,
        r => r.map_err(|e| ctx(e.into(), &format!("setsockopt(SO_RCVBUFFORCE, {rcvbuf})")))?,
    }
    Ok(fd)
}

fn ctx(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    /// Needs CAP_NET_RAW/CAP_NET_ADMIN: checked against the loopback
    /// interface (index 1 in every namespace) when run as root.
    #[test]
    fn loopback_socket_when_root() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("not root: the packet socket test needs CAP_NET_RAW, not run");
            return;
        }
        let fd = super::open_bound(1, 1 << 20).unwrap();
        let flags = rustix::fs::fcntl_getfl(&fd).unwrap();
        assert!(flags.contains(rustix::fs::OFlags::NONBLOCK));
        // The kernel doubles the value it stores.
        assert!(rustix::net::sockopt::socket_recv_buffer_size(&fd).unwrap() >= 1 << 20);
        assert!(super::open_bound(u32::MAX, 1 << 20).is_err());
    }
}
