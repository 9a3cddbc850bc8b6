//! Token claims: RFC 9068 access tokens and OIDC ID tokens.

use serde::{Deserialize, Serialize};

/// `typ` header value of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of an RFC 9068 JWT access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user id, or the client id for client credentials.
    pub sub: String,
    /// The resource's canonical URL exactly as registered.
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The grant the token belongs to (user grants only), so introspection
    /// can tell when the grant was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// RFC 8176 methods the person signed in with (`pwd`, `otp`, `hwk`,
    /// `mfa`, ...); omitted when unknown (client credentials, grants made
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The upstream connection the person signed in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The organization the person signed in as a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// Claims of an OIDC ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub azp: String,
    /// RFC 8176 methods the person signed in with (OIDC Core §2); omitted
    /// when unknown. No `acr`: authgate has no assurance levels to name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(amr: &[&str], idp: Option<&str>, org_id: Option<&str>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://as.example".into(),
            sub: "u1".into(),
            aud: "https://mcp.example/mcp".into(),
            client_id: "c1".into(),
            scope: "mcp".into(),
            iat: 1,
            exp: 2,
            jti: "j".into(),
            auth_time: Some(1),
            gid: None,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            idp: idp.map(str::to_owned),
            org_id: org_id.map(str::to_owned),
        }
    }

    #[test]
    fn sign_in_context_claims_are_written_when_known() {
        let c = access(&["pwd", "otp", "mfa"], Some("okta"), Some("org_1"));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
        assert_eq!(v["idp"], "okta");
        assert_eq!(v["org_id"], "org_1");
        let back: AccessTokenClaims = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn sign_in_context_claims_are_omitted_when_empty() {
        let v = serde_json::to_value(access(&[], None, None)).unwrap();
        let obj = v.as_object().unwrap();
        for k in ["amr", "idp", "org_id"] {
            assert!(!obj.contains_key(k), "{k} must be omitted: {v}");
        }
        // Tokens minted before these claims existed still parse.
        let back: AccessTokenClaims = serde_json::from_value(v).unwrap();
        assert!(back.amr.is_empty() && back.idp.is_none() && back.org_id.is_none());
    }
}
