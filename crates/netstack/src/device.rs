//! An Ethernet device over a host `AF_PACKET` socket: each `read` is one
//! frame the interface received, each `write` one frame it sends.

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// The largest frame a read can bring: a GSO super-frame the peer's
/// kernel handed over unsegmented (veth does), up to 64 KiB of IP.
const RX_FRAME: usize = 65536 + 64;

pub struct PacketDevice {
    fd: Arc<OwnedFd>,
    mtu: usize,
    rx: Vec<u8>,
    rx_len: usize,
    tx: Vec<u8>,
}

impl PacketDevice {
    pub fn new(fd: Arc<OwnedFd>, mtu: usize) -> PacketDevice {
        PacketDevice { fd, mtu, rx: vec![0; RX_FRAME], rx_len: 0, tx: vec![0; mtu + 14] }
    }

    /// Reads the next frame, if one is waiting.
    fn fill(&mut self) -> bool {
        loop {
            match rustix::io::read(&self.fd, &mut self.rx[..]) {
                Ok(n) if n >= 14 => {
                    self.rx_len = n;
                    return true;
                }
                Ok(_) => continue,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => return false,
                Err(e) => {
                    tracing::warn!("reading a frame from the interface: {e}");
                    return false;
                }
            }
        }
    }
}

pub struct Rx<'a>(&'a [u8]);
pub struct Tx<'a> {
    fd: &'a OwnedFd,
    buf: &'a mut Vec<u8>,
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let r = f(&mut self.buf[..len]);
        // A full socket buffer drops the frame, as a full NIC queue does;
        // TCP sends it again.
        loop {
            match rustix::io::write(self.fd, &self.buf[..len]) {
                Err(rustix::io::Errno::INTR) => continue,
                Ok(_) | Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::NOBUFS) => break,
                Err(e) => {
                    tracing::warn!("sending a frame on the interface: {e}");
                    break;
                }
            }
        }
        r
    }
}

impl phy::Device for PacketDevice {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        if !self.fill() {
            return None;
        }
        let PacketDevice { fd, rx, rx_len, tx, .. } = self;
        Some((Rx(&rx[..*rx_len]), Tx { fd, buf: tx }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        Some(Tx { fd: &self.fd, buf: &mut self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + 14;
        // Frames from the host's side of a veth may carry checksums left
        // for an offload that never happens (CHECKSUM_PARTIAL): they come
        // from the host kernel, so received checksums are not verified.
        // Everything sent is checksummed in full.
        let mut sums = ChecksumCapabilities::default();
        sums.ipv4 = Checksum::Tx;
        sums.tcp = Checksum::Tx;
        sums.udp = Checksum::Tx;
        caps.checksum = sums;
        caps
    }
}
