//! The audit trail: the events the application records ([`audit`],
//! [`audit_detail`]), with the client address of the request that raised
//! them. Nothing secret goes in: no tokens, codes, secrets or passwords —
//! only ids and outcomes. The queue that writes them, and which events may
//! be dropped under overload, is `audit_sink` (re-exported here).

use crate::Authority;
use authgate_core::model::AuditEvent;

pub use crate::audit_sink::{
    AuditSink, ROUTINE_EVENTS, SECURITY_WAIT, is_security_event, with_audit_scope,
};

tokio::task_local! {
    /// The client address of the request being handled, for audit events.
    static CLIENT_ADDR: std::net::IpAddr;
}

/// Runs `fut` (a request's handling) with `addr` as the address of the
/// audit events it records without one of their own.
pub async fn with_client_address<F: std::future::Future>(
    addr: std::net::IpAddr,
    fut: F,
) -> F::Output {
    CLIENT_ADDR.scope(addr, fut).await
}

/// The client address of the request being handled (by the one rule in
/// `http::client_address`), when there is one.
pub fn current_client_address() -> Option<std::net::IpAddr> {
    CLIENT_ADDR.try_with(|a| *a).ok()
}

/// Records an audit event with the common fields.
pub fn audit(
    state: &Authority,
    event: &str,
    actor: Option<&str>,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    outcome: &str,
) {
    audit_detail(
        state,
        event,
        actor,
        client_id,
        resource_id,
        None,
        outcome,
        serde_json::Value::Null,
    );
}

#[allow(clippy::too_many_arguments)]
pub fn audit_detail(
    state: &Authority,
    event: &str,
    actor: Option<&str>,
    client_id: Option<&str>,
    resource_id: Option<&str>,
    address: Option<&str>,
    outcome: &str,
    detail: serde_json::Value,
) {
    state.audit.record(AuditEvent {
        id: 0,
        at: state.clock.now(),
        event: event.to_owned(),
        actor: actor.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        resource_id: resource_id.map(str::to_owned),
        address: address
            .map(str::to_owned)
            .or_else(|| CLIENT_ADDR.try_with(|a| ip_text(*a)).ok()),
        outcome: outcome.to_owned(),
        detail,
    });
}

/// An address as `Display` writes it. IPv4, nearly every event's, is
/// written by hand: `Display` for `Ipv4Addr` formats through a padded
/// buffer, which was a fifth of building an audit event.
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ip_text;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn ip_text_matches_display() {
        // Every octet value in every position, plus the edges.
        for n in 0..=255u8 {
            for ip in [
                Ipv4Addr::new(n, 0, 9, 255),
                Ipv4Addr::new(10, n, 100, 1),
                Ipv4Addr::new(99, 199, n, 0),
                Ipv4Addr::new(1, 20, 250, n),
            ] {
                assert_eq!(ip_text(IpAddr::V4(ip)), ip.to_string());
            }
        }
        for ip in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::LOCALHOST,
        ] {
            assert_eq!(ip_text(IpAddr::V4(ip)), ip.to_string());
        }
        for ip in [
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::UNSPECIFIED,
            "2001:db8::8a2e:370:7334".parse().unwrap(),
            "::ffff:192.0.2.1".parse().unwrap(),
        ] {
            assert_eq!(ip_text(IpAddr::V6(ip)), ip.to_string());
        }
    }
}
