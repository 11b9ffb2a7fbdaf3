//! Internet addresses as the sentry keeps them: IPv6 form, IPv4 ones
//! v4-mapped (`::ffff:a.b.c.d`), so one comparison serves both families;
//! the `sockaddr_in`/`sockaddr_in6` forms applications use; and the set of
//! destinations a bound address receives (the basis of bind conflicts).

use abi::Errno;

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

const V4_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// An IPv4 address in its v4-mapped IPv6 form.
pub const fn mapped(v4: [u8; 4]) -> [u8; 16] {
    let mut ip = [0u8; 16];
    ip[10] = 0xff;
    ip[11] = 0xff;
    ip[12] = v4[0];
    ip[13] = v4[1];
    ip[14] = v4[2];
    ip[15] = v4[3];
    ip
}

pub fn is_mapped(ip: &[u8; 16]) -> bool {
    ip[..12] == V4_PREFIX
}

pub const LOOPBACK4: [u8; 16] = mapped([127, 0, 0, 1]);
pub const ANY4: [u8; 16] = mapped([0, 0, 0, 0]);
pub const LOOPBACK6: [u8; 16] = {
    let mut ip = [0u8; 16];
    ip[15] = 1;
    ip
};
pub const ANY6: [u8; 16] = [0; 16];

/// Whether `ip` is one of this namespace's own addresses (127.0.0.0/8 or ::1).
pub fn is_loopback(ip: &[u8; 16]) -> bool {
    if is_mapped(ip) {
        ip[12] == 127
    } else {
        *ip == LOOPBACK6
    }
}

pub fn ip_to_std(ip: &[u8; 16]) -> std::net::IpAddr {
    if is_mapped(ip) {
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]))
    } else {
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(*ip))
    }
}

pub fn ip_from_std(ip: std::net::IpAddr) -> [u8; 16] {
    match ip {
        std::net::IpAddr::V4(v4) => mapped(v4.octets()),
        std::net::IpAddr::V6(v6) => v6.octets(),
    }
}

/// An address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    pub ip: [u8; 16],
    pub port: u16,
}

impl Addr {
    /// The address as the network stack takes it (IPv4 unmapped).
    pub fn to_std(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(ip_to_std(&self.ip), self.port)
    }

    pub fn from_std(a: std::net::SocketAddr) -> Addr {
        Addr { ip: ip_from_std(a.ip()), port: a.port() }
    }

    /// The `sockaddr_in`/`sockaddr_in6` an application of `family` sees.
    pub fn to_bytes(&self, family: u16) -> Vec<u8> {
        let mut b = family.to_le_bytes().to_vec();
        b.extend_from_slice(&self.port.to_be_bytes());
        if family == AF_INET {
            b.extend_from_slice(&self.ip[12..]);
            b.extend_from_slice(&[0; 8]);
        } else {
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(&self.ip);
            b.extend_from_slice(&[0; 4]);
        }
        b
    }
}

/// Parses a `sockaddr_in` or `sockaddr_in6` (`v4_ok`: an AF_INET6 socket
/// may be handed an AF_INET address, as UDP's sendto and connect allow).
/// Returns the address and the family it was written in.
pub fn parse_addr(raw: &[u8], family: u16, v4_ok: bool) -> Result<(Addr, u16), Errno> {
    if raw.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let given = u16::from_le_bytes([raw[0], raw[1]]);
    let v4 = |raw: &[u8]| -> Result<Addr, Errno> {
        if raw.len() < 16 {
            return Err(Errno::EINVAL);
        }
        let port = u16::from_be_bytes([raw[2], raw[3]]);
        Ok(Addr { ip: mapped([raw[4], raw[5], raw[6], raw[7]]), port })
    };
    if family == AF_INET {
        if raw.len() < 16 {
            return Err(Errno::EINVAL);
        }
        return match given {
            AF_INET => Ok((v4(raw)?, AF_INET)),
            _ => Err(Errno::EAFNOSUPPORT),
        };
    }
    match given {
        AF_INET6 => {
            // SIN6_LEN_RFC2133: the scope id may be left off.
            if raw.len() < 24 {
                return Err(Errno::EINVAL);
            }
            let port = u16::from_be_bytes([raw[2], raw[3]]);
            let ip: [u8; 16] = raw[8..24].try_into().unwrap();
            Ok((Addr { ip, port }, AF_INET6))
        }
        AF_INET if v4_ok => Ok((v4(raw)?, AF_INET)),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// Which destinations a bound address receives.
#[derive(Clone, Copy, Debug)]
pub struct AddrSet {
    pub any4: bool,
    pub any6: bool,
    pub exact: Option<[u8; 16]>,
}

impl AddrSet {
    pub fn of(ip: [u8; 16], family: u16, v6only: bool) -> AddrSet {
        if family == AF_INET6 && ip == ANY6 {
            AddrSet { any4: !v6only, any6: true, exact: None }
        } else if ip == ANY4 {
            AddrSet { any4: true, any6: false, exact: None }
        } else {
            AddrSet { any4: false, any6: false, exact: Some(ip) }
        }
    }
    pub fn covers(&self, ip: &[u8; 16]) -> bool {
        self.exact == Some(*ip) || if is_mapped(ip) { self.any4 } else { self.any6 }
    }
    pub fn overlaps(&self, other: &AddrSet) -> bool {
        let has4 = |s: &AddrSet| s.any4 || s.exact.is_some_and(|ip| is_mapped(&ip));
        let has6 = |s: &AddrSet| s.any6 || s.exact.is_some_and(|ip| !is_mapped(&ip));
        (self.any4 && has4(other))
            || (self.any6 && has6(other))
            || (other.any4 && has4(self))
            || (other.any6 && has6(self))
            || (self.exact.is_some() && self.exact == other.exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_sets_overlap_as_linux() {
        let any6 = AddrSet::of(ANY6, AF_INET6, false);
        let any6_only = AddrSet::of(ANY6, AF_INET6, true);
        let any4 = AddrSet::of(ANY4, AF_INET, false);
        let lo4 = AddrSet::of(LOOPBACK4, AF_INET, false);
        let lo6 = AddrSet::of(LOOPBACK6, AF_INET6, false);
        assert!(any6.overlaps(&any4) && any6.overlaps(&lo4) && any6.overlaps(&lo6));
        assert!(!any6_only.overlaps(&any4) && !any6_only.overlaps(&lo4) && any6_only.overlaps(&lo6));
        assert!(any4.overlaps(&lo4) && !any4.overlaps(&lo6) && !lo4.overlaps(&lo6));
        assert!(any6.covers(&LOOPBACK4) && !any6_only.covers(&LOOPBACK4) && !any4.covers(&LOOPBACK6));
    }
}
