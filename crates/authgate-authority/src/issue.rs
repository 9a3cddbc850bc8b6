//! Minting tokens: RFC 9068 access tokens signed with the `signing_alg`
//! key, and OIDC ID tokens signed with the algorithm the client registered
//! (`id_token_signed_response_alg`, RS256 by default); keys are parsed once
//! (see `keys`).
//!
//! Both fail, never panic, when the random generator or the signer does:
//! the request gets `server_error` and the log one error line.

use crate::Authority;
use authgate_core::OAuthError;
use authgate_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims, IdTokenClaims};
use authgate_core::model::{AuthContext, Resource, SigningAlg, User};
use authgate_core::signing::DEFAULT_ID_TOKEN_ALG;
use authgate_core::{scope, secret};
use serde::Serialize;

pub struct AccessTokenSpec<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub resource: &'a Resource,
    pub scopes: &'a [String],
    pub auth_time: Option<i64>,
    pub grant_id: Option<&'a str>,
    /// How the person signed in (`None` for client credentials): claims
    /// `amr`, `idp`, `org_id`.
    pub auth: Option<&'a AuthContext>,
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
    pub claims: AccessTokenClaims,
}

pub fn access_token(
    state: &Authority,
    spec: AccessTokenSpec<'_>,
) -> Result<IssuedAccessToken, OAuthError> {
    let now = state.clock.now();
    let ttl = spec.resource.access_token_ttl_secs;
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: spec.subject.to_owned(),
        aud: spec.resource.uri.clone(),
        client_id: spec.client_id.to_owned(),
        scope: scope::join(spec.scopes),
        iat: now,
        exp: now + ttl,
        jti: secret::generate_id(state.rng.as_ref())?,
        auth_time: spec.auth_time,
        gid: spec.grant_id.map(str::to_owned),
        amr: spec.auth.map(|a| a.amr.clone()).unwrap_or_default(),
        idp: spec.auth.and_then(|a| a.idp.clone()),
        org_id: spec.auth.and_then(|a| a.org_id.clone()),
    };
    let keys = state.keys.current();
    let token = keys.active.sign_jwt(ACCESS_TOKEN_TYP, &claims)?;
    Ok(IssuedAccessToken {
        token,
        expires_in: ttl,
        claims,
    })
}

pub struct IdTokenSpec<'a> {
    pub client_id: &'a str,
    /// The client's `id_token_signed_response_alg`; `None` means RS256.
    pub alg: Option<SigningAlg>,
    pub user: &'a User,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
    pub scopes: &'a [String],
    /// How the person signed in: the `amr` claim.
    pub auth: &'a AuthContext,
}

pub fn id_token(state: &Authority, spec: IdTokenSpec<'_>) -> Result<String, OAuthError> {
    let alg = spec.alg.unwrap_or(DEFAULT_ID_TOKEN_ALG);
    let now = state.clock.now();
    let has = |s: &str| spec.scopes.iter().any(|x| x == s);
    let claims = IdTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: spec.user.id.clone(),
        aud: spec.client_id.to_owned(),
        iat: now,
        exp: now + state.settings.raw.id_token_ttl_secs,
        auth_time: spec.auth_time,
        nonce: spec.nonce.map(str::to_owned),
        at_hash: Some(authgate_core::signing::at_hash(alg, spec.access_token)),
        email: has("email").then(|| spec.user.email.clone()),
        email_verified: has("email").then_some(spec.user.email_verified),
        name: if has("profile") {
            spec.user.name.clone()
        } else {
            None
        },
        azp: spec.client_id.to_owned(),
        amr: spec.auth.amr.clone(),
    };
    let keys = state.keys.current();
    // Registration accepts only algorithms authgate keeps a key for, so
    // this is only reached if the store lost one: refuse rather than sign
    // with an algorithm the client would reject.
    let Some(key) = keys.id_token_key(alg) else {
        tracing::error!(
            client_id = spec.client_id,
            alg = alg.as_str(),
            "no signing key for the client's id_token_signed_response_alg"
        );
        return Err(OAuthError::server_error(format!(
            "the server has no {} key for ID tokens",
            alg.as_str()
        )));
    };
    Ok(key.sign_jwt("JWT", &claims)?)
}

/// The token endpoint's success body (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The MCP server the access token is for (its id): the `resource`
    /// label of `authgate_tokens_issued_total`, not part of the body.
    #[serde(skip)]
    pub resource_id: String,
}

impl TokenResponse {
    /// The JSON body, byte for byte what the derived `Serialize` writes.
    /// Written by hand because it is on every token request: the tokens are
    /// most of the bytes and are base64url and `.`, which JSON never escapes,
    /// so one check and one copy replace serde_json's per-byte escaping, and
    /// the buffer is sized once.
    pub fn to_json(&self) -> Vec<u8> {
        use std::io::Write as _;
        let tokens = self.access_token.len()
            + self.refresh_token.as_ref().map_or(0, String::len)
            + self.id_token.as_ref().map_or(0, String::len);
        let mut out = Vec::with_capacity(tokens + self.scope.len() + 128);
        out.extend_from_slice(b"{\"access_token\":");
        push_json_str(&mut out, &self.access_token);
        out.extend_from_slice(b",\"token_type\":");
        push_json_str(&mut out, self.token_type);
        // Writing to a Vec cannot fail.
        let _ = write!(out, ",\"expires_in\":{}", self.expires_in);
        out.extend_from_slice(b",\"scope\":");
        push_json_str(&mut out, &self.scope);
        if let Some(refresh_token) = &self.refresh_token {
            out.extend_from_slice(b",\"refresh_token\":");
            push_json_str(&mut out, refresh_token);
        }
        if let Some(id_token) = &self.id_token {
            out.extend_from_slice(b",\"id_token\":");
            push_json_str(&mut out, id_token);
        }
        out.push(b'}');
        out
    }
}

/// A JSON string. serde_json escapes only control characters, `"` and `\\`;
/// text without them is copied between quotes as it is. The check has no
/// early exit so that it vectorizes.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    let plain = s
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::TokenResponse;

    fn response(token: &str, scope: &str) -> TokenResponse {
        TokenResponse {
            access_token: token.to_owned(),
            token_type: "Bearer",
            expires_in: 3600,
            scope: scope.to_owned(),
            refresh_token: None,
            id_token: None,
            resource_id: "r".to_owned(),
        }
    }

    #[test]
    fn hand_written_token_json_matches_serde() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";
        let mut cases = vec![
            response(jwt, "mcp:read mcp:write"),
            response(jwt, ""),
            response("", "a\"b\\c\u{1}\n\u{7f}\u{e9}\u{1F600}"),
            response("t\"ok\\en\u{0}", "s"),
        ];
        let mut full = response(jwt, "openid profile");
        full.expires_in = -5;
        full.refresh_token = Some("rt_AbC-_".to_owned());
        full.id_token = Some(format!("{jwt}\u{2028}"));
        cases.push(full);
        let mut refresh_only = response(jwt, "x");
        refresh_only.expires_in = i64::MAX;
        refresh_only.refresh_token = Some("r\"".to_owned());
        cases.push(refresh_only);
        for case in cases {
            let ours = case.to_json();
            assert_eq!(
                String::from_utf8(ours.clone()).unwrap(),
                serde_json::to_string(&case).unwrap()
            );
            let back: serde_json::Value = serde_json::from_slice(&ours).unwrap();
            assert_eq!(back["access_token"], case.access_token.as_str());
            assert_eq!(back["scope"], case.scope.as_str());
        }
    }
}
