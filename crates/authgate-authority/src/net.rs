//! Addresses and the keys limiters count them under. Which address a
//! request comes from (`X-Forwarded-For` only from trusted proxies) is
//! decided by the server's `http::client_address`, with these types.

use crate::config_error::ConfigError;
use std::net::{IpAddr, Ipv6Addr};

/// A trusted proxy: one address or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange {
    net: IpAddr,
    prefix: u8,
}

impl ProxyRange {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net = canonical(addr.parse::<IpAddr>().ok()?);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
        };
        Some(Self { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `trusted_proxies` from the configuration, parsed.
pub fn parse_trusted(key: &str, list: &[String]) -> Result<Vec<ProxyRange>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            ProxyRange::parse(p).ok_or_else(|| {
                ConfigError::new(
                    format!("{key}[{i}]"),
                    format!("{p:?} is not an IP address or CIDR range (like 10.0.0.0/8)"),
                )
            })
        })
        .collect()
}

/// An IPv4-mapped IPv6 address is the IPv4 address it maps (a dual-stack
/// listener reports IPv4 peers that way).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

pub fn trusted(list: &[ProxyRange], ip: IpAddr) -> bool {
    list.iter().any(|r| r.contains(ip))
}

/// The key a caller is counted under by every per-address limiter: an
/// IPv4 address, or the /64 of an IPv6 address (one host or household is
/// usually given a whole /64 and can pick any address in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    pub fn of(ip: IpAddr) -> Self {
        match canonical(ip) {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & (u128::MAX << 64);
                Self(IpAddr::V6(Ipv6Addr::from(bits)))
            }
            v4 => Self(v4),
        }
    }
}

impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}"),
            IpAddr::V6(a) => write!(f, "{a}/64"),
        }
    }
}
