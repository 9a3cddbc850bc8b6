//! PKCE (RFC 7636), S256 only: OAuth 2.1 and the MCP spec refuse `plain`.

use crate::error::OAuthError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// Validates the challenge half sent to /authorize.
pub fn validate_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<String, OAuthError> {
    let challenge = challenge.filter(|c| !c.is_empty()).ok_or_else(|| {
        OAuthError::invalid_request("code_challenge is required (PKCE with S256)")
    })?;
    match method {
        Some("S256") => {}
        None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256; plain is not allowed",
            ));
        }
    }
    // A S256 challenge is the base64url of 32 bytes: exactly 43 characters.
    if challenge.len() != 43 || !is_unreserved_b64(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge is not a valid S256 challenge",
        ));
    }
    Ok(challenge.to_owned())
}

/// Checks a verifier from /token against the stored challenge.
pub fn verify(verifier: &str, challenge: &str) -> Result<(), OAuthError> {
    // RFC 7636 §4.1: 43..128 characters of [A-Z a-z 0-9 - . _ ~].
    let ok_shape = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !ok_shape {
        return Err(OAuthError::invalid_grant("code_verifier is malformed"));
    }
    let computed = s256(verifier);
    if computed.as_bytes().ct_eq(challenge.as_bytes()).into() {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ))
    }
}

/// base64url(SHA-256(verifier)).
pub fn s256(verifier: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

fn is_unreserved_b64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_vector() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(verify(VERIFIER, CHALLENGE).is_ok());
    }

    #[test]
    fn wrong_verifier_is_invalid_grant() {
        let e = verify(&"a".repeat(43), CHALLENGE).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidGrant);
        assert!(verify("short", CHALLENGE).is_err());
        assert!(verify(&"a".repeat(129), CHALLENGE).is_err());
    }

    #[test]
    fn plain_and_missing_are_refused() {
        assert!(validate_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(validate_challenge(Some(CHALLENGE), None).is_err());
        assert!(validate_challenge(None, Some("S256")).is_err());
        assert!(validate_challenge(Some("abc"), Some("S256")).is_err());
        assert!(validate_challenge(Some(CHALLENGE), Some("S256")).is_ok());
    }
}
