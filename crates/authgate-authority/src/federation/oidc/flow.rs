//! One upstream sign-in, start to end: [`begin`] makes the authorization
//! URL and what the browser's session must keep ([`PendingFlow`]);
//! [`finish`] takes the callback, checks it belongs to that flow (state,
//! RFC 9207 `iss`), exchanges the code (PKCE verifier, client secret),
//! validates the ID token (or, for GitHub, reads its user API) and returns
//! the verified [`UpstreamIdentity`].

use super::config::{OidcSettings, open_secrets};
use super::id_token::{self, Expected, IssuerRule};
use super::{UpstreamError, json_answer};
use crate::Authority;
use crate::federation::identity::UpstreamIdentity;
use authgate_core::connection::{Connection, ConnectionKind};
use authgate_core::{pkce, secret};
use authgate_store::StoreError;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// How long an upstream sign-in may take, start to callback.
pub const FLOW_TTL: i64 = 600;
/// Longest `login_hint` passed on.
const MAX_LOGIN_HINT: usize = 254;

/// What the browser's session keeps between [`begin`] and [`finish`]. It
/// is bound to that browser (it lives in its session), and its `state` and
/// `nonce` are spent in the store's single-use table on the way back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFlow {
    pub connection_id: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The pending `/authorize` request to continue.
    pub rid: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Started {
    pub url: String,
    pub flow: PendingFlow,
}

/// The authorization response's parameters (the callback's query).
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

fn settings(conn: &Connection) -> Result<OidcSettings, UpstreamError> {
    if conn.kind == ConnectionKind::Saml {
        return Err(UpstreamError::Misconfigured(
            "a SAML connection has no OpenID Connect sign-in".into(),
        ));
    }
    OidcSettings::of(conn).map_err(UpstreamError::Misconfigured)
}

fn random(auth: &Authority) -> Result<String, UpstreamError> {
    Ok(secret::generate(auth.rng.as_ref()).map_err(StoreError::from)?)
}

fn github_endpoint(v: &Option<String>, default: &str) -> String {
    v.clone().unwrap_or_else(|| default.to_owned())
}

/// Starts a sign-in through `conn`, coming back to `redirect_uri` (this
/// connection's own callback) and then to the pending request `rid`.
pub async fn begin(
    auth: &Authority,
    conn: &Connection,
    redirect_uri: &str,
    rid: &str,
    login_hint: Option<&str>,
) -> Result<Started, UpstreamError> {
    let s = settings(conn)?;
    let oidc = conn.kind == ConnectionKind::Oidc;
    let endpoint = if oidc {
        auth.federation
            .discover(&s.issuer, s.tenant_issuer)
            .await?
            .authorization_endpoint
            .clone()
    } else {
        github_endpoint(
            &s.authorization_endpoint,
            crate::federation::presets::GITHUB_AUTHORIZE,
        )
    };
    let mut url = auth.federation.url_ok(&endpoint)?;
    let flow = PendingFlow {
        connection_id: conn.id.clone(),
        state: random(auth)?,
        nonce: random(auth)?,
        verifier: random(auth)?,
        rid: rid.to_owned(),
        created_at: auth.clock.now(),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &s.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &s.scope_param(oidc))
            .append_pair("state", &flow.state)
            .append_pair("code_challenge", &pkce::s256(&flow.verifier))
            .append_pair("code_challenge_method", "S256");
        if oidc {
            q.append_pair("nonce", &flow.nonce);
            if let Some(h) = login_hint
                .map(str::trim)
                .filter(|h| !h.is_empty() && h.len() <= MAX_LOGIN_HINT)
            {
                q.append_pair("login_hint", h);
            }
        }
    }
    Ok(Started {
        url: url.into(),
        flow,
    })
}

/// Records `value` as used; `false` when it was used before.
async fn spend(auth: &Authority, kind: &str, value: &str, until: i64) -> Result<bool, StoreError> {
    let key = format!("federation-{kind}:{}", secret::hash(value));
    auth.store.use_nonce(&key, until, auth.clock.now()).await
}

/// An upstream's `error` code, kept only when it looks like one (it ends
/// up in the audit trail).
fn error_code(e: &str) -> String {
    if (1..=64).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        e.to_owned()
    } else {
        "invalid".to_owned()
    }
}

/// Finishes the sign-in `flow` (found in this browser's session by the
/// callback's `state`) with the callback `cb`.
pub async fn finish(
    auth: &Authority,
    conn: &Connection,
    redirect_uri: &str,
    flow: &PendingFlow,
    cb: &Callback,
) -> Result<UpstreamIdentity, UpstreamError> {
    let now = auth.clock.now();
    let state_ok = cb
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(flow.state.as_bytes())));
    if !state_ok || flow.connection_id != conn.id || now - flow.created_at > FLOW_TTL {
        return Err(UpstreamError::BadState);
    }
    // Any answer spends the state: a second callback with it (a replay,
    // a back button) finds it used.
    if !spend(auth, "state", &flow.state, flow.created_at + FLOW_TTL).await? {
        return Err(UpstreamError::BadState);
    }
    let s = settings(conn)?;
    // RFC 9207 applies to error responses too: the issuer is checked
    // before anything in the response is believed.
    let md = match conn.kind {
        ConnectionKind::Oidc => Some(check_iss(auth, &s, cb).await?),
        _ => None,
    };
    if let Some(e) = cb.error.as_deref() {
        return Err(if e == "access_denied" {
            UpstreamError::Denied
        } else {
            UpstreamError::Upstream(error_code(e))
        });
    }
    match md {
        Some(md) => finish_oidc(auth, conn, &s, &md, redirect_uri, flow, cb).await,
        None => {
            let code = cb.code.as_deref().ok_or(UpstreamError::NoCode)?;
            let token = exchange(
                auth,
                conn,
                &s,
                &github_endpoint(&s.token_endpoint, crate::federation::presets::GITHUB_TOKEN),
                redirect_uri,
                code,
                &flow.verifier,
            )
            .await?;
            let access = token
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or_else(|| UpstreamError::TokenEndpoint("no access_token".into()))?;
            super::github::identity(auth, conn, &s, access).await
        }
    }
}

/// RFC 9207 mix-up defence: an upstream that says it sends `iss` must
/// send its own; any `iss` sent must be this connection's issuer.
async fn check_iss(
    auth: &Authority,
    s: &OidcSettings,
    cb: &Callback,
) -> Result<std::sync::Arc<super::ProviderMetadata>, UpstreamError> {
    let md = auth.federation.discover(&s.issuer, s.tenant_issuer).await?;
    match cb.iss.as_deref() {
        Some(i) if !s.tenant_issuer && i != md.issuer => Err(UpstreamError::IssMismatch),
        // A multi-tenant issuer (`…/{tenantid}/v2.0`): the `iss` sent must
        // be that template with one plausible tenant id in it, never
        // another provider's issuer.
        Some(i) if s.tenant_issuer && !fits_tenant_template(&md.issuer, i) => {
            Err(UpstreamError::IssMismatch)
        }
        None if md.authorization_response_iss_parameter_supported => {
            Err(UpstreamError::IssMismatch)
        }
        _ => Ok(md),
    }
}

/// Whether `iss` is `template` (`…{tenantid}…`) with a plausible tenant id.
fn fits_tenant_template(template: &str, iss: &str) -> bool {
    let Some((prefix, suffix)) = template.split_once("{tenantid}") else {
        return iss == template;
    };
    iss.len() > prefix.len() + suffix.len()
        && iss.starts_with(prefix)
        && iss.ends_with(suffix)
        && super::id_token::plausible_tenant(&iss[prefix.len()..iss.len() - suffix.len()])
}

async fn finish_oidc(
    auth: &Authority,
    conn: &Connection,
    s: &OidcSettings,
    md: &super::ProviderMetadata,
    redirect_uri: &str,
    flow: &PendingFlow,
    cb: &Callback,
) -> Result<UpstreamIdentity, UpstreamError> {
    let code = cb.code.as_deref().ok_or(UpstreamError::NoCode)?;
    let token = exchange(
        auth,
        conn,
        s,
        &md.token_endpoint,
        redirect_uri,
        code,
        &flow.verifier,
    )
    .await?;
    let id_token = token
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| UpstreamError::IdToken("the provider returned no ID token".into()))?;
    let (alg, kid) = id_token::header(id_token).map_err(UpstreamError::IdToken)?;
    let jwk = auth
        .federation
        .signing_key(&md.jwks_uri, kid.as_deref())
        .await?;
    let claims = id_token::verify_signature(id_token, alg, &jwk).map_err(UpstreamError::IdToken)?;
    let template;
    let issuer = if s.tenant_issuer {
        template = super::tenant_template(&s.issuer);
        IssuerRule::Tenant(&template)
    } else {
        IssuerRule::Exact(&md.issuer)
    };
    let sub = id_token::check_claims(
        &claims,
        &Expected {
            issuer,
            client_id: &s.client_id,
            nonce: &flow.nonce,
            now: auth.clock.now(),
        },
    )
    .map_err(UpstreamError::IdToken)?;
    // The nonce is single use: a replayed ID token (even inside a fresh
    // flow that somehow carried the same nonce) signs nobody in.
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if !spend(
        auth,
        "nonce",
        &flow.nonce,
        exp.max(flow.created_at + FLOW_TTL) + id_token::LEEWAY,
    )
    .await?
    {
        return Err(UpstreamError::NonceReplayed);
    }
    let mut merged = claims.clone();
    let access = token.get("access_token").and_then(Value::as_str);
    if merged.get("email").and_then(Value::as_str).is_none()
        && let (Some(ui), Some(access)) = (&md.userinfo_endpoint, access)
    {
        let info = userinfo(auth, ui, access).await?;
        if info.get("sub").and_then(Value::as_str) != Some(sub.as_str()) {
            return Err(UpstreamError::UserInfo(
                "the userinfo answer is about another subject".into(),
            ));
        }
        if let (Some(m), Some(i)) = (merged.as_object_mut(), info.as_object()) {
            for k in ["email", "email_verified", "name", "groups"] {
                if !m.contains_key(k)
                    && let Some(v) = i.get(k)
                {
                    m.insert(k.to_owned(), v.clone());
                }
            }
        }
    }
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(map_claims(&conn.id, &sub, &issuer, &merged))
}

fn strings(v: Option<&Value>, max: usize, max_len: usize) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= max_len)
                .take(max)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The standard claims as an [`UpstreamIdentity`].
pub(crate) fn map_claims(
    connection_id: &str,
    sub: &str,
    issuer: &str,
    c: &Value,
) -> UpstreamIdentity {
    let email = c
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@') && e.len() <= 254);
    // Some providers send `"true"` as a string. Microsoft Entra sends no
    // `email_verified`; its optional claim `xms_edov` (the email domain's
    // owner is verified) is its answer, and only when configured.
    let email_verified = match c.get("email_verified").or_else(|| c.get("xms_edov")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.len() <= 200)
        .map(str::to_owned);
    let amr = strings(c.get("amr"), 8, 32)
        .into_iter()
        .filter(|m| {
            m.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .collect();
    UpstreamIdentity {
        connection_id: connection_id.to_owned(),
        subject: sub.to_owned(),
        issuer: issuer.to_owned(),
        email_verified: email_verified && email.is_some(),
        email,
        name,
        groups: strings(c.get("groups"), 256, 256),
        amr,
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// How the token request proves it is the client.
enum Credential {
    /// RFC 6749 2.3.1 `client_secret_basic`.
    Basic(String),
    /// `client_secret_post`.
    Post(String),
    /// RFC 7523 `private_key_jwt`: the signed assertion.
    Assertion(String),
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// An assertion is good for this long (it is used at once).
const ASSERTION_TTL: i64 = 60;

/// RFC 7523 section 3 client assertion for the token request: `iss` and
/// `sub` the client id, `aud` the token endpoint (OIDC Core 9; the key is
/// this connection's alone, so an assertion cannot be replayed at another
/// provider even where `aud` is loosely checked), single-use `jti`, one
/// minute of life.
fn client_assertion(
    auth: &Authority,
    s: &OidcSettings,
    secrets: &crate::federation::oidc::ConnectionSecrets,
    token_endpoint: &str,
) -> Result<String, UpstreamError> {
    let key = secrets
        .private_key
        .as_ref()
        .ok_or_else(|| UpstreamError::Misconfigured("the connection has no private key".into()))?
        .signing_key()
        .map_err(UpstreamError::Misconfigured)?;
    let now = auth.clock.now();
    let jti = authgate_core::secret::generate(auth.rng.as_ref())
        .map_err(|_| UpstreamError::Misconfigured("no randomness for the assertion".into()))?;
    let claims = serde_json::json!({
        "iss": s.client_id,
        "sub": s.client_id,
        "aud": token_endpoint,
        "jti": jti,
        "iat": now,
        "exp": now + ASSERTION_TTL,
    });
    key.sign_jwt("JWT", &claims).map_err(|_| {
        UpstreamError::Misconfigured("the client assertion could not be signed".into())
    })
}

/// The code exchange at `token_endpoint`, authenticated as the connection
/// says: client secret (RFC 6749 2.3.1: basic credentials are form-encoded
/// first) or a signed client assertion.
async fn exchange(
    auth: &Authority,
    conn: &Connection,
    s: &OidcSettings,
    token_endpoint: &str,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<Value, UpstreamError> {
    let url = auth.federation.url_ok(token_endpoint)?;
    let secrets = open_secrets(auth, conn).map_err(UpstreamError::Misconfigured)?;
    let credential = if s.uses_private_key() {
        Credential::Assertion(client_assertion(auth, s, &secrets, token_endpoint)?)
    } else {
        let secret = secrets.client_secret.ok_or_else(|| {
            UpstreamError::Misconfigured("the connection has no client secret".into())
        })?;
        if s.token_endpoint_auth_method == "client_secret_post" {
            Credential::Post(secret)
        } else {
            Credential::Basic(secret)
        }
    };
    // Built in a block: the serializer is not Send, so it must not live
    // across an await.
    let form = {
        let mut f = url::form_urlencoded::Serializer::new(String::new());
        f.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", verifier);
        match &credential {
            Credential::Post(secret) => {
                f.append_pair("client_id", &s.client_id)
                    .append_pair("client_secret", secret);
            }
            Credential::Assertion(jwt) => {
                f.append_pair("client_id", &s.client_id)
                    .append_pair("client_assertion_type", JWT_BEARER)
                    .append_pair("client_assertion", jwt);
            }
            Credential::Basic(_) => {}
        }
        f.finish()
    };
    let mut req = auth
        .federation
        .fetcher
        .client()
        .post(url.as_str())
        .header(reqwest::header::ACCEPT, "application/json")
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
    if let Credential::Basic(secret) = &credential {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form_encode(&s.client_id),
            form_encode(secret)
        ));
        req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let a = auth
        .federation
        .fetcher
        .request(&url, req.body(form))
        .await
        .map_err(UpstreamError::Unreachable)?;
    let body: Option<Value> = serde_json::from_slice(&a.body).ok();
    // GitHub answers errors with 200 and an `error` member.
    if let Some(e) = body
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
    {
        return Err(UpstreamError::TokenEndpoint(error_code(e)));
    }
    json_answer(&a, "token endpoint").map_err(UpstreamError::TokenEndpoint)
}

/// GET `url` with the access token; the JSON answer.
pub(crate) async fn bearer_get(
    auth: &Authority,
    url: &str,
    access: &str,
    accept: &str,
    what: &str,
) -> Result<Value, UpstreamError> {
    let url = auth.federation.url_ok(url)?;
    let req = auth
        .federation
        .fetcher
        .client()
        .get(url.as_str())
        .header(reqwest::header::ACCEPT, accept)
        .header(reqwest::header::AUTHORIZATION, format!("Bearer {access}"));
    let a = auth
        .federation
        .fetcher
        .request(&url, req)
        .await
        .map_err(UpstreamError::Unreachable)?;
    json_answer(&a, what).map_err(UpstreamError::UserInfo)
}

async fn userinfo(auth: &Authority, url: &str, access: &str) -> Result<Value, UpstreamError> {
    bearer_get(auth, url, access, "application/json", "userinfo endpoint").await
}

#[cfg(test)]
mod iss_tests {
    use super::fits_tenant_template;

    #[test]
    fn tenant_issuers_fit_only_their_template() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(fits_tenant_template(
            t,
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        ));
        for bad in [
            "https://evil.example/9188040d/v2.0",
            "https://login.microsoftonline.com//v2.0",
            "https://login.microsoftonline.com/a/b/v2.0",
            "https://login.microsoftonline.com/x/v2.0/extra",
            "https://login.microsoftonline.com/{tenantid}/v2.0x",
        ] {
            assert!(!fits_tenant_template(t, bad), "{bad}");
        }
        assert!(fits_tenant_template(
            "https://a.example",
            "https://a.example"
        ));
        assert!(!fits_tenant_template(
            "https://a.example",
            "https://b.example"
        ));
    }
}
