//! `--behind-gateway <GATEWAY_URL>`: weather-mcp as the upstream of
//! `authgate gateway`.
//!
//! The gateway validates the caller's access token, enforces its per-tool
//! scopes and forwards the call without the token, naming the caller in a
//! signed assertion (`Authgate-Caller`: an ES256 JWT, `typ`
//! `authgate-caller+jwt`, `iss` the gateway's origin, `aud` this server's
//! URL, 60 s). This mode verifies that assertion against the gateway's
//! JWKS (`<GATEWAY_URL>/.well-known/jwks.json`) with the same
//! `authgate-resource` validator it uses for access tokens, so a request
//! that did not come through the gateway — no assertion, a forged one, one
//! minted for another upstream — is refused (401), wherever this server
//! listens. The caller's scopes come from the assertion, and the tools
//! check them again here (defence in depth: a too-lax gateway rule does
//! not open `set_alert`). The plain `Authgate-Sub` / `Authgate-Client-Id`
//! headers are ignored: they are not signed.

use crate::Settings;
use authgate_resource::{AuthClaims, ConfigError, Validator};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The gateway's assertion header (`authgate_gateway::forward`).
const CALLER: &str = "authgate-caller";
/// The `typ` of the gateway's assertions.
const CALLER_TYP: &str = "authgate-caller+jwt";

/// Where the gateway's assertions come from.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The gateway's origin (`http://127.0.0.1:8090`): the assertions' `iss`.
    pub origin: String,
    /// Its JWKS; `None`: `<origin>/.well-known/jwks.json`.
    pub jwks_uri: Option<String>,
}

/// The validator for the gateway's assertions to this server.
pub fn validator(settings: &Settings, gateway: &Gateway) -> Result<Validator, ConfigError> {
    let origin = gateway.origin.trim_end_matches('/');
    let jwks = gateway
        .jwks_uri
        .clone()
        .unwrap_or_else(|| format!("{origin}/.well-known/jwks.json"));
    Validator::builder(origin, settings.resource.clone())
        .jwks_uri(jwks)
        .token_type(CALLER_TYP)
        .algorithms(&[authgate_resource::Algorithm::ES256])
        .scope_implies(crate::WRITE, [crate::READ])
        .build()
}

/// Hands the tools the caller the gateway's verified assertion names, or
/// answers 401.
pub async fn caller(State(v): State<Arc<Validator>>, mut req: Request, next: Next) -> Response {
    let Some(assertion) = req.headers().get(CALLER).and_then(|h| h.to_str().ok()) else {
        return (
            StatusCode::UNAUTHORIZED,
            "this server answers only calls forwarded by authgate gateway",
        )
            .into_response();
    };
    match v.validate(assertion).await {
        Ok(claims) => {
            req.extensions_mut().insert(AuthClaims(claims));
            next.run(req).await
        }
        Err(e) => {
            tracing::debug!(error = %e, "caller assertion refused");
            (
                StatusCode::UNAUTHORIZED,
                "the gateway's caller assertion did not verify",
            )
                .into_response()
        }
    }
}
