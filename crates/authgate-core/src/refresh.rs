//! Refresh-token rotation (OAuth 2.1 §4.3.1) that survives real clients.
//!
//! MCP hosts refresh in parallel (several tool calls, several processes).
//! Successors are derived deterministically from the presented token with a
//! server-side key, so a parallel request that lost the race can be handed
//! *the same* successor without storing any plaintext: only hashes are
//! stored. A token presented again after the grace window is a replay and
//! revokes the whole grant.

use crate::clock::UnixTime;
use crate::model::{Grant, RefreshToken};

/// What to do with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Live and unused: rotate it.
    Rotate,
    /// Already rotated moments ago (parallel refresh): return the same
    /// successor (if it is still live).
    ReturnSuccessor { successor_hash: String },
    /// Rotated before the grace window: treat as stolen, revoke the grant.
    Replay,
    /// Expired or revoked: `invalid_grant`.
    Invalid(&'static str),
}

pub fn classify(
    token: &RefreshToken,
    grant: &Grant,
    now: UnixTime,
    grace_secs: i64,
) -> RefreshDecision {
    if token.revoked_at.is_some() || grant.revoked_at.is_some() {
        return RefreshDecision::Invalid("refresh token was revoked");
    }
    if let (Some(rotated_at), Some(succ)) = (token.rotated_at, &token.successor_hash) {
        return if now - rotated_at <= grace_secs {
            RefreshDecision::ReturnSuccessor {
                successor_hash: succ.clone(),
            }
        } else {
            RefreshDecision::Replay
        };
    }
    if now >= token.expires_at || now >= grant.expires_at {
        return RefreshDecision::Invalid("refresh token expired");
    }
    RefreshDecision::Rotate
}

/// The successor of a presented refresh token (deterministic, keyed).
pub fn successor(key: &[u8], presented: &str) -> String {
    crate::secret::derive(key, presented)
}

/// Idle expiry of a new refresh token, capped by the grant's absolute end.
pub fn next_expiry(now: UnixTime, idle_ttl: i64, grant_expires_at: UnixTime) -> UnixTime {
    (now + idle_ttl).min(grant_expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            id: "g".into(),
            client_id: "c".into(),
            user_id: Some("u".into()),
            resource_id: "r".into(),
            scopes: vec![],
            auth_time: 0,
            created_at: 0,
            last_used_at: 0,
            expires_at: 1000,
            revoked_at: None,
            auth: Default::default(),
        }
    }
    fn token() -> RefreshToken {
        RefreshToken {
            token_hash: "h".into(),
            grant_id: "g".into(),
            client_id: "c".into(),
            scopes: vec![],
            issued_at: 0,
            expires_at: 500,
            rotated_at: None,
            successor_hash: None,
            revoked_at: None,
        }
    }

    #[test]
    fn fresh_token_rotates() {
        assert_eq!(classify(&token(), &grant(), 10, 5), RefreshDecision::Rotate);
    }

    #[test]
    fn grace_then_replay() {
        let mut t = token();
        t.rotated_at = Some(100);
        t.successor_hash = Some("s".into());
        assert_eq!(
            classify(&t, &grant(), 104, 5),
            RefreshDecision::ReturnSuccessor {
                successor_hash: "s".into()
            }
        );
        assert_eq!(classify(&t, &grant(), 106, 5), RefreshDecision::Replay);
    }

    #[test]
    fn expiry_and_revocation() {
        assert!(matches!(
            classify(&token(), &grant(), 500, 5),
            RefreshDecision::Invalid(_)
        ));
        let mut g = grant();
        g.expires_at = 50;
        assert!(matches!(
            classify(&token(), &g, 60, 5),
            RefreshDecision::Invalid(_)
        ));
        g.revoked_at = Some(1);
        assert!(matches!(
            classify(&token(), &g, 10, 5),
            RefreshDecision::Invalid(_)
        ));
        assert_eq!(next_expiry(10, 100, 50), 50);
    }

    #[test]
    fn successor_is_stable() {
        assert_eq!(successor(b"k", "t"), successor(b"k", "t"));
        assert_ne!(successor(b"k", "t"), "t");
    }
}
