//! Which addresses an outbound request may connect to — the one address
//! policy of every outbound fetch (client metadata documents, client JWKS,
//! the admin connection check).
//!
//! By default public unicast only. Everything RFC 6890 (and its successors)
//! lists as special-use is refused — loopback, private, link-local (cloud
//! metadata 169.254.169.254 included), CGNAT, multicast, unspecified,
//! broadcast, documentation, benchmarking, reserved, unique-local,
//! NAT64 local-use, Teredo, 6to4, IPv4-compatible
//! — and IPv4 addresses inside IPv6 (mapped, NAT64 well-known prefix) are
//! judged by the embedded address. Two switches widen it:
//!
//! - `allow_loopback` (tests only): 127.0.0.0/8 and ::1;
//! - `allow_private` (the admin connection check, for MCP servers on the
//!   operator's own network): loopback plus private networks (10/8,
//!   172.16/12, 192.168/16, CGNAT 100.64/10, unique-local fc00::/7).
//!
//! Link-local and the cloud metadata addresses inside private ranges
//! (fd00:ec2::254, 100.100.100.200), multicast, unspecified, broadcast and the
//! reserved and documentation ranges stay refused under every switch.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an outbound request may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressPolicy {
    /// Test-only: loopback addresses (127.0.0.0/8, ::1) are allowed.
    pub allow_loopback: bool,
    /// Loopback and private-network addresses are allowed.
    pub allow_private: bool,
}

impl AddressPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            Class::Public => true,
            Class::Loopback => self.allow_loopback || self.allow_private,
            Class::Private => self.allow_private,
            Class::SpecialUse => false,
        }
    }

    /// Plain http is acceptable only where no network path is crossed:
    /// loopback hosts, and only when loopback is allowed at all.
    pub fn allows_plain_http_to(&self, host: &str) -> bool {
        (self.allow_loopback || self.allow_private)
            && authgate_core::resource_uri::is_loopback_host(host)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Public,
    Loopback,
    /// A private network (RFC 1918, CGNAT, unique-local).
    Private,
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
    // Cloud metadata services inside otherwise private ranges (Alibaba
    // Cloud's 100.100.100.200 sits in CGNAT space): refused under every
    // switch, like 169.254.169.254.
    if ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Class::SpecialUse;
    }
    const PRIVATE: &[([u8; 4], u32)] = &[
        ([10, 0, 0, 0], 8),     // private
        ([100, 64, 0, 0], 10),  // CGNAT shared address space
        ([172, 16, 0, 0], 12),  // private
        ([192, 168, 0, 0], 16), // private
    ];
    if PRIVATE.iter().any(|(n, p)| in_v4(ip, *n, *p)) {
        return Class::Private;
    }
    const SPECIAL: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // TEST-NET-1
        ([192, 31, 196, 0], 24), // AS112
        ([192, 52, 193, 0], 24), // AMT
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
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
    // NAT64 well-known prefix: a translator reaches the embedded v4
    // address; public only when it is, never a way to loopback or private.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return match classify_v4(embedded_v4(ip)) {
            Class::Public => Class::Public,
            _ => Class::SpecialUse,
        };
    }
    // AWS's IPv6 instance metadata service, inside unique-local space:
    // refused under every switch, like its IPv4 169.254.169.254.
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Class::SpecialUse;
    }
    // Unique-local fc00::/7.
    if in_v6(ip, [0xfc00, 0, 0, 0, 0, 0, 0, 0], 7) {
        return Class::Private;
    }
    // Only global unicast (2000::/3) can be public at all; that excludes
    // ::/128, IPv4-compatible ::/96, discard 100::/64, link-local
    // fe80::/10, site-local, multicast ff00::/8.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Class::SpecialUse;
    }
    const SPECIAL: &[([u16; 8], u32)] = &[
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
        ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4 (embeds any v4 address)
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

    const STRICT: AddressPolicy = AddressPolicy {
        allow_loopback: false,
        allow_private: false,
    };
    const LOOPBACK: AddressPolicy = AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    };
    const PRIVATE: AddressPolicy = AddressPolicy {
        allow_loopback: false,
        allow_private: true,
    };

    /// (address, class) for every range, both families.
    const TABLE: &[(&str, Class)] = &[
        // IPv4
        ("0.0.0.0", Class::SpecialUse),
        ("0.1.2.3", Class::SpecialUse),
        ("10.1.2.3", Class::Private),
        ("100.64.0.1", Class::Private),
        ("100.100.100.200", Class::SpecialUse), // Alibaba Cloud metadata
        ("100.127.255.254", Class::Private),
        ("127.0.0.1", Class::Loopback),
        ("127.8.9.10", Class::Loopback),
        ("169.254.169.254", Class::SpecialUse),
        ("172.16.0.1", Class::Private),
        ("172.31.255.255", Class::Private),
        ("192.0.0.170", Class::SpecialUse),
        ("192.0.2.1", Class::SpecialUse),
        ("192.88.99.1", Class::SpecialUse),
        ("192.168.1.1", Class::Private),
        ("198.18.0.1", Class::SpecialUse),
        ("198.19.255.255", Class::SpecialUse),
        ("198.51.100.7", Class::SpecialUse),
        ("203.0.113.9", Class::SpecialUse),
        ("224.0.0.1", Class::SpecialUse),
        ("239.255.255.250", Class::SpecialUse),
        ("240.0.0.1", Class::SpecialUse),
        ("255.255.255.255", Class::SpecialUse),
        ("8.8.8.8", Class::Public),
        ("1.1.1.1", Class::Public),
        ("172.32.0.1", Class::Public),
        ("100.128.0.1", Class::Public),
        ("198.20.0.1", Class::Public),
        ("93.184.216.34", Class::Public),
        // IPv6
        ("::", Class::SpecialUse),
        ("::1", Class::Loopback),
        ("::ffff:127.0.0.1", Class::Loopback),
        ("::ffff:10.0.0.1", Class::Private),
        ("::ffff:169.254.169.254", Class::SpecialUse),
        ("::ffff:8.8.8.8", Class::Public),
        ("::10.0.0.1", Class::SpecialUse),  // IPv4-compatible
        ("::8.8.8.8", Class::SpecialUse),   // IPv4-compatible, deprecated
        ("::127.0.0.1", Class::SpecialUse), // IPv4-compatible
        ("64:ff9b::a00:1", Class::SpecialUse),
        ("64:ff9b::7f00:1", Class::SpecialUse),
        ("64:ff9b::808:808", Class::Public),
        ("64:ff9b:1::1", Class::SpecialUse),
        ("fc00::1", Class::Private),
        ("fd00:ec2::254", Class::SpecialUse), // AWS metadata (IPv6)
        ("fd00:ec2::253", Class::Private),
        ("fe80::1", Class::SpecialUse),
        ("fec0::1", Class::SpecialUse),
        ("ff02::1", Class::SpecialUse),
        ("ff0e::1", Class::SpecialUse),
        ("100::1", Class::SpecialUse),
        ("2001::1", Class::SpecialUse),             // Teredo
        ("2001:0:4136:e378::1", Class::SpecialUse), // Teredo
        ("2001:2::1", Class::SpecialUse),           // benchmarking
        ("2001:db8::1", Class::SpecialUse),
        ("2002:c0a8:0101::1", Class::SpecialUse), // 6to4 of 192.168.1.1
        ("2002:0808:0808::1", Class::SpecialUse), // 6to4 of a public address
        ("3fff::1", Class::SpecialUse),
        ("2606:4700::1111", Class::Public),
        ("2a00:1450:4001::1", Class::Public),
    ];

    #[test]
    fn every_range_in_both_families() {
        for (a, want) in TABLE {
            assert_eq!(c(a), *want, "{a}");
        }
    }

    #[test]
    fn the_switches() {
        for (a, class) in TABLE {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(STRICT.permits(ip), *class == Class::Public, "{a}");
            assert_eq!(
                LOOPBACK.permits(ip),
                matches!(class, Class::Public | Class::Loopback),
                "{a}"
            );
            assert_eq!(
                PRIVATE.permits(ip),
                matches!(class, Class::Public | Class::Loopback | Class::Private),
                "{a}"
            );
        }
        // Cloud metadata stays out of reach under every switch.
        for p in [STRICT, LOOPBACK, PRIVATE] {
            assert!(!p.permits("169.254.169.254".parse().unwrap()));
            assert!(!p.permits("::ffff:169.254.169.254".parse().unwrap()));
        }
    }

    #[test]
    fn plain_http_only_to_loopback_hosts_when_allowed() {
        assert!(!STRICT.allows_plain_http_to("127.0.0.1"));
        assert!(LOOPBACK.allows_plain_http_to("127.0.0.1"));
        assert!(LOOPBACK.allows_plain_http_to("localhost"));
        assert!(!LOOPBACK.allows_plain_http_to("example.com"));
        assert!(!PRIVATE.allows_plain_http_to("10.0.0.1"));
    }
}
