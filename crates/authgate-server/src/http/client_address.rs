//! The one client-address rule: where a request comes from, and the key
//! every per-address limiter counts it under. Sign-in throttling,
//! registration limits and the audit log's address all go through here, so
//! a reverse proxy in front is either believed everywhere or nowhere.
//!
//! `X-Forwarded-For` is believed only when the socket peer is a configured
//! trusted proxy, and then only up to the right-most entry that is not
//! itself a trusted proxy (entries to its left were written by the client
//! and can say anything). The `Forwarded` header is not read: a proxy that
//! writes only `X-Forwarded-For` would pass a client's own `Forwarded`
//! through, and believing either header from the same hop would let the
//! client choose.

pub use authgate_authority::net::{AddressKey, ProxyRange, parse_trusted};
use authgate_authority::net::{canonical, trusted};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where a request comes from: the socket peer, or, when the peer is a
/// trusted proxy, the right-most `X-Forwarded-For` entry that is not a
/// trusted proxy. An unparsable entry stops the walk there (what lies left
/// of it cannot be attributed to anyone), and the last trusted hop is used.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, proxies: &[ProxyRange]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted(proxies, peer) {
        return peer;
    }
    let mut chain: Vec<&str> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(s) = v.to_str() else {
            return peer;
        };
        chain.extend(s.split(','));
    }
    let mut hop = peer;
    for entry in chain.into_iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            return hop;
        };
        if !trusted(proxies, ip) {
            return ip;
        }
        hop = ip;
    }
    hop
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_entry(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// The request's client address, put into the request's extensions by the
/// `client_address` middleware of `telemetry` (which applies the rule
/// above once per request). A request with no peer at all (an in-process
/// call) counts as `0.0.0.0`: such callers share one bucket rather than
/// escaping the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// From request parts: the middleware's answer, else the raw peer.
    pub fn from_parts(parts: &Parts) -> Self {
        if let Some(a) = parts.extensions.get::<ClientAddress>() {
            return *a;
        }
        Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| canonical(c.0.ip()))
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        )
    }

    pub fn key(&self) -> AddressKey {
        AddressKey::of(self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn ipv6_keys_by_prefix() {
        let a = AddressKey::of(ip("2001:db8:1:2::1"));
        let b = AddressKey::of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let c = AddressKey::of(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            AddressKey::of(ip("::ffff:10.0.0.1")),
            AddressKey::of(ip("10.0.0.1"))
        );
        assert_ne!(
            AddressKey::of(ip("10.0.0.1")),
            AddressKey::of(ip("10.0.0.2"))
        );
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxies = [ProxyRange::parse("10.0.0.9").unwrap()];
        let h = xff("1.2.3.4, 5.6.7.8");
        assert_eq!(client_address(ip("10.0.0.9"), &h, &proxies), ip("5.6.7.8"));
        // Anyone else's header is ignored.
        assert_eq!(client_address(ip("10.0.0.8"), &h, &proxies), ip("10.0.0.8"));
        assert_eq!(client_address(ip("10.0.0.9"), &h, &[]), ip("10.0.0.9"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.9"), &HeaderMap::new(), &proxies),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn right_most_untrusted_hop_wins() {
        let proxies = [ProxyRange::parse("10.0.0.0/8").unwrap()];
        // The client wrote 6.6.6.6 itself; the outer proxy appended the
        // address it saw (7.7.7.7), then an inner proxy appended 10.1.1.1.
        let h = xff("6.6.6.6, 7.7.7.7, 10.1.1.1");
        assert_eq!(client_address(ip("10.0.0.9"), &h, &proxies), ip("7.7.7.7"));
        // Ports and IPv6 brackets are tolerated; mapped addresses canonical.
        let h = xff("[2001:db8::1]:443");
        assert_eq!(
            client_address(ip("10.0.0.9"), &h, &proxies),
            ip("2001:db8::1")
        );
        let h = xff("1.2.3.4:55");
        assert_eq!(
            client_address(ip("::ffff:10.0.0.9"), &h, &proxies),
            ip("1.2.3.4")
        );
        // Garbage stops the walk at the last trusted hop.
        let h = xff("1.2.3.4, nonsense, 10.2.2.2");
        assert_eq!(client_address(ip("10.0.0.9"), &h, &proxies), ip("10.2.2.2"));
        // Several header lines are one list, in order.
        let mut h = xff("1.1.1.1");
        h.append("x-forwarded-for", "2.2.2.2".parse().unwrap());
        assert_eq!(client_address(ip("10.0.0.9"), &h, &proxies), ip("2.2.2.2"));
    }

    #[test]
    fn proxy_ranges() {
        let r = ProxyRange::parse("192.168.0.0/16").unwrap();
        assert!(r.contains(ip("192.168.4.5")));
        assert!(r.contains(ip("::ffff:192.168.4.5")));
        assert!(!r.contains(ip("192.169.0.1")));
        assert!(
            ProxyRange::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        let v6 = ProxyRange::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.1/", "10.0.0.1/+8", "::/129"] {
            assert!(ProxyRange::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            parse_trusted("trusted_proxies", &["1.2.3.4".into(), "x".into()])
                .unwrap_err()
                .key,
            "trusted_proxies[1]"
        );
    }
}
