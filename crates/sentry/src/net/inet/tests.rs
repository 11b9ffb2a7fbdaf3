use super::*;
use crate::net::addr::mapped;
use abi::poll::*;

fn v4(ip: [u8; 4], port: u16) -> Vec<u8> {
    Addr { ip: mapped(ip), port }.to_bytes(AF_INET)
}

fn v6(ip: [u8; 16], port: u16) -> Vec<u8> {
    Addr { ip, port }.to_bytes(AF_INET6)
}

#[test]
fn tcp_connect_accept_and_data() {
    let l = InetSocket::new(AF_INET, Proto::Tcp, 0);
    l.bind(&v4([127, 0, 0, 1], 0)).unwrap();
    let port = l.local().port;
    assert!(EPHEMERAL.contains(&port));
    let c = InetSocket::new(AF_INET, Proto::Tcp, 0);
    assert_eq!(c.connect(&v4([127, 0, 0, 1], port), false), Err(Errno::ECONNREFUSED));
    l.listen(1).unwrap();
    c.connect(&v4([127, 0, 0, 1], port), false).unwrap();
    assert_ne!(l.readiness() & POLLIN, 0);
    let s = l.accept().unwrap();
    assert_eq!(s.peer().unwrap(), c.local());
    assert_eq!(c.send(None, b"ping", SendCtl::default()), Ok(4));
    assert_eq!(s.recv(10, false, true).unwrap().data, b"ping");
    c.shutdown(1).unwrap();
    assert_eq!(s.recv(10, false, true).unwrap().data, b"");
    assert_eq!(s.tcp_state(), 8);
    assert_eq!(c.send(None, b"x", SendCtl::default()), Err(Errno::EPIPE));
    s.close();
    c.close();
    l.close();
}

#[test]
fn full_accept_queue_holds_blocking_connects() {
    let l = InetSocket::new(AF_INET, Proto::Tcp, 0);
    l.bind(&v4([127, 0, 0, 1], 0)).unwrap();
    l.listen(0).unwrap();
    let to = v4([127, 0, 0, 1], l.local().port);
    let c1 = InetSocket::new(AF_INET, Proto::Tcp, 0);
    c1.connect(&to, false).unwrap();
    let c2 = InetSocket::new(AF_INET, Proto::Tcp, 0);
    assert_eq!(c2.connect(&to, false), Err(Errno::EAGAIN));
    let seen = c2.queue().generation();
    let s1 = l.accept().unwrap();
    assert_ne!(c2.queue().generation(), seen, "the waiting connect is woken");
    c2.connect(&to, false).unwrap();
    let c3 = InetSocket::new(AF_INET, Proto::Tcp, 0);
    assert_eq!(c3.connect(&to, true), Err(Errno::EINPROGRESS));
    for s in [l, c1, c2, c3, s1] {
        s.close();
    }
}

#[test]
fn bind_conflicts_and_reuseaddr() {
    let a = InetSocket::new(AF_INET6, Proto::Tcp, 0);
    a.bind(&v6(ANY6, 0)).unwrap();
    let port = a.local().port;
    let b = InetSocket::new(AF_INET, Proto::Tcp, 0);
    assert_eq!(b.bind(&v4([127, 0, 0, 1], port)), Err(Errno::EADDRINUSE));
    a.reuseaddr.store(true, Ordering::Relaxed);
    b.reuseaddr.store(true, Ordering::Relaxed);
    b.bind(&v4([127, 0, 0, 1], port)).unwrap();
    a.listen(5).unwrap();
    assert_eq!(b.listen(5), Err(Errno::EADDRINUSE));
    let c = InetSocket::new(AF_INET, Proto::Tcp, 0);
    assert_eq!(c.bind(&v4([10, 0, 0, 1], 0)), Err(Errno::EADDRNOTAVAIL));
    let d = InetSocket::new(AF_INET6, Proto::Udp, 0);
    d.v6only.store(true, Ordering::Relaxed);
    assert_eq!(d.bind(&v6(LOOPBACK4, 0)), Err(Errno::EINVAL));
    for s in [a, b, c, d] {
        s.close();
    }
}

#[test]
fn udp_boundaries_and_refusal() {
    let r = InetSocket::new(AF_INET, Proto::Udp, 0);
    r.bind(&v4([127, 0, 0, 1], 0)).unwrap();
    let port = r.local().port;
    let s = InetSocket::new(AF_INET6, Proto::Udp, 0);
    s.send(Some(&v4([127, 0, 0, 1], port)), b"one", SendCtl::default()).unwrap();
    s.send(Some(&v6(mapped([127, 0, 0, 1]), port)), b"three", SendCtl::default()).unwrap();
    let got = r.recv(2, false, true).unwrap();
    assert_eq!((got.data.as_slice(), got.full_len), (&b"on"[..], 3));
    assert_eq!(got.from.unwrap(), Addr { ip: LOOPBACK4, port: s.local().port }.to_bytes(AF_INET));
    assert_eq!(r.recv(100, false, true).unwrap().data, b"three");
    r.close();
    s.connect(&v4([127, 0, 0, 1], port), false).unwrap();
    assert_eq!(s.send(None, b"lost", SendCtl::default()), Ok(4));
    assert_ne!(s.readiness() & POLLERR, 0);
    assert_eq!(s.recv(10, false, true).err(), Some(Errno::ECONNREFUSED));
    assert_eq!(s.recv(10, false, true).err(), Some(Errno::EAGAIN));
    s.close();
}
