//! `--behind-gateway`: weather-mcp as the upstream of `authgate gateway`.
//!
//! The gateway validates the caller's access token, enforces the per-tool
//! scopes and forwards the call without the token; it names the caller in
//! `Authgate-Sub` / `Authgate-Client-Id` next to its signed
//! `Authgate-Caller` assertion. In this mode weather-mcp does no token
//! validation of its own: it trusts whoever can reach it, which is why
//! `main` refuses the mode unless it listens on a loopback address (only
//! the gateway on the same host reaches it), and why it grants the caller
//! `weather:read` only — it cannot see the token's scopes, so `set_alert`
//! stays refused here. Without the assertion header a request did not come
//! through the gateway and is refused (401).
//!
//! It exists so the benchmark can compare "weather-mcp validating tokens
//! itself" with "the gateway validating, weather-mcp not" (bench/README.md).
//! An upstream reachable by anything but the gateway must verify the
//! assertion against the gateway's JWKS instead.

use crate::{READ, Settings, WRITE};
use authgate_resource::{AuthClaims, Claims, ScopeImplications};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The gateway's headers (`authgate_gateway::forward`).
const CALLER: &str = "authgate-caller";
const SUB: &str = "authgate-sub";
const CLIENT_ID: &str = "authgate-client-id";

/// What every forwarded call is given.
pub struct Trust {
    resource: String,
    implications: ScopeImplications,
}

impl Trust {
    pub fn new(settings: &Settings) -> Self {
        let mut implications = ScopeImplications::new();
        implications.add(WRITE, [READ]);
        Self {
            resource: settings.resource.clone(),
            implications,
        }
    }

    /// The caller the gateway names, or why the request is refused.
    fn claims(&self, h: &HeaderMap) -> Result<Claims, &'static str> {
        let text = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
        };
        if text(CALLER).is_none() {
            return Err("this server answers only calls forwarded by authgate gateway");
        }
        let (Some(sub), Some(client_id)) = (text(SUB), text(CLIENT_ID)) else {
            return Err("the gateway did not name the caller");
        };
        Ok(Claims::new(
            "authgate-gateway",
            sub,
            client_id,
            self.resource.clone(),
            vec![READ.to_owned()],
            0,
            0,
            &self.implications,
        ))
    }
}

/// Hands the tools the caller the gateway named, or answers 401.
pub async fn caller(State(trust): State<Arc<Trust>>, mut req: Request, next: Next) -> Response {
    match trust.claims(req.headers()) {
        Ok(claims) => {
            req.extensions_mut().insert(AuthClaims(Arc::new(claims)));
            next.run(req).await
        }
        Err(why) => (StatusCode::UNAUTHORIZED, why).into_response(),
    }
}

/// Whether `listen` is a loopback socket address (the only place this
/// mode may listen).
pub fn loopback_only(listen: &str) -> Result<(), String> {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => Ok(()),
        Ok(a) => Err(format!(
            "--behind-gateway trusts every caller that reaches it: listen on a loopback address, not {a}"
        )),
        Err(_) => Err(format!(
            "--behind-gateway needs --listen as a loopback IP:port (e.g. 127.0.0.1:3001), not {listen}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_accepted() {
        assert!(loopback_only("127.0.0.1:3001").is_ok());
        assert!(loopback_only("[::1]:3001").is_ok());
        assert!(loopback_only("0.0.0.0:3001").is_err());
        assert!(loopback_only("192.168.1.2:3001").is_err());
        assert!(loopback_only("localhost:3001").is_err());
    }
}
