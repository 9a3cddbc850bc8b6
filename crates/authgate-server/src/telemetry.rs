//! Logs and the request middleware that ties a request to its client
//! address and its audit events (the audit trail itself is
//! `authgate_authority::audit`).

pub fn init_logging(level: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("AUTHGATE_LOG")
        .or_else(|_| EnvFilter::try_new(format!("{level},sqlx=warn,hyper=warn,tower_http=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: tests may initialise more than once.
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

/// Middleware: works out the request's client address once, by the one
/// rule in `http::client_address` (`X-Forwarded-For` only from trusted
/// proxies), puts it in the request's extensions for limiters and makes it
/// the address of audit events recorded while handling the request (those
/// given no address explicitly); and holds the response until the security
/// events it raised are queued or stored (503 when they cannot be).
pub async fn client_address(
    axum::extract::State(state): axum::extract::State<crate::state::SharedState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let handled = async move {
        match peer {
            Some(ip) => {
                let addr = crate::http::client_address::client_address(
                    ip,
                    req.headers(),
                    &state.settings.trusted_proxies,
                );
                req.extensions_mut()
                    .insert(crate::http::client_address::ClientAddress(addr));
                authgate_authority::audit::with_client_address(addr, next.run(req)).await
            }
            None => next.run(req).await,
        }
    };
    match authgate_authority::audit::with_audit_scope(handled).await {
        Ok(resp) => resp,
        // Fail closed: what the request did could not be audited.
        Err(_) => {
            let mut resp = axum::response::IntoResponse::into_response((
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "5")],
                "the audit trail is unavailable; try again later",
            ));
            resp.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            resp
        }
    }
}

/// Middleware: counts every request in `authgate_http_requests_total{route,
/// status}` and times it in `authgate_http_request_duration_seconds{route}`.
/// `route` is the matched route's pattern (`/register/{client_id}`), never
/// the raw path, so the label set is bounded; requests no route matched
/// are `other`.
pub async fn http_metrics(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::metric_catalog::{HTTP_REQUESTS, HTTP_SECONDS};
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "other".to_owned(), |m| m.as_str().to_owned());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!(HTTP_SECONDS, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status).increment(1);
    resp
}
