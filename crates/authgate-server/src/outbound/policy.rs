//! Which addresses an outbound fetch (client metadata documents, client
//! JWKS) may connect to: public unicast only. Everything RFC 6890 (and its
//! successors) lists as special-use is refused — loopback, private,
//! link-local (cloud metadata 169.254.169.254 included), CGNAT, multicast,
//! unspecified, documentation, benchmarking, reserved, unique-local
//! (fd00:ec2::254 included), NAT64 local-use, Teredo, 6to4 — and so are
//! IPv4 addresses hidden inside IPv6 (mapped, compatible, NAT64) when the
//! embedded address is itself special-use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an outbound fetch may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Test-only: loopback addresses (127.0.0.0/8, ::1) are allowed.
    pub allow_loopback: bool,
}

impl AddressPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            Class::Public => true,
            Class::Loopback => self.allow_loopback,
            Class::SpecialUse => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Public,
    Loopback,
    SpecialUse,
}

pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    if in_v4(ip, [127, 0, 0, 0], 8) {
        return Class::Loopback;
    }
    const SPECIAL: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT shared address space
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // TEST-NET-1
        ([192, 31, 196, 0], 24), // AS112
        ([192, 52, 193, 0], 24), // AMT
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([192, 175, 48, 0], 24), // AS112 direct delegation
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2
        ([203, 0, 113, 0], 24),  // TEST-NET-3
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    if SPECIAL.iter().any(|(n, p)| in_v4(ip, *n, *p)) {
        Class::SpecialUse
    } else {
        Class::Public
    }
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

fn embedded_v4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    if ip == Ipv6Addr::LOCALHOST {
        return Class::Loopback;
    }
    // IPv4-mapped (::ffff:a.b.c.d): what the socket reaches is the v4 address.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) {
        return classify_v4(embedded_v4(ip));
    }
    // NAT64 well-known prefix: public only when the embedded v4 is.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return match classify_v4(embedded_v4(ip)) {
            Class::Public => Class::Public,
            _ => Class::SpecialUse,
        };
    }
    // Only global unicast (2000::/3) can be public at all; that excludes
    // ::/128, IPv4-compatible ::/96, discard 100::/64, ULA fc00::/7 (and with
    // it fd00:ec2::254), link-local fe80::/10, site-local, multicast ff00::/8.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Class::SpecialUse;
    }
    const SPECIAL: &[([u16; 8], u32)] = &[
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
        ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // NAT64 local use
    ];
    if SPECIAL.iter().any(|(n, p)| in_v6(ip, *n, *p)) {
        Class::SpecialUse
    } else {
        Class::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Class {
        classify(s.parse().unwrap())
    }

    #[test]
    fn special_use_v4() {
        for a in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.100.100.200",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.170",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert_eq!(c(a), Class::SpecialUse, "{a}");
        }
        assert_eq!(c("127.0.0.1"), Class::Loopback);
        assert_eq!(c("127.8.9.10"), Class::Loopback);
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
        ] {
            assert_eq!(c(a), Class::Public, "{a}");
        }
    }

    #[test]
    fn special_use_v6() {
        for a in [
            "::",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::10.0.0.1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2002:c0a8:0101::1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "3fff::1",
            "100::1",
        ] {
            assert_eq!(c(a), Class::SpecialUse, "{a}");
        }
        assert_eq!(c("::1"), Class::Loopback);
        assert_eq!(c("::ffff:127.0.0.1"), Class::Loopback);
        for a in [
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(c(a), Class::Public, "{a}");
        }
    }

    #[test]
    fn loopback_switch() {
        let strict = AddressPolicy {
            allow_loopback: false,
        };
        let lax = AddressPolicy {
            allow_loopback: true,
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(!strict.permits(lo));
        assert!(lax.permits(lo));
        assert!(!lax.permits(private));
    }
}
