//! The HTTP(S) listener: one accept loop for plain and TLS connections,
//! with the limits that keep slow or idle clients from holding the server.
//!
//! - `header_read_timeout_ms`: a connection must deliver a request's
//!   headers (and, with TLS, finish the handshake) this soon; also bounds
//!   the wait for the next request on a kept-alive HTTP/1 connection.
//! - `request_timeout_ms`: a request, body included, is answered within
//!   this (408 otherwise); a body trickled a byte at a time cannot hold a
//!   handler. It covers the time until the response starts, so a long
//!   response body (none in the authorization server today) is not cut.
//! - `idle_timeout_secs`: a connection with no request in flight for this
//!   long is closed (HTTP/1 and HTTP/2). One that has not begun a request
//!   at all is closed after `header_read_timeout_ms`.
//! - `max_connections`: connections served at once. Beyond it the server
//!   stops accepting until one ends: new connections wait in the kernel's
//!   backlog (and time out there on the client's side) instead of each
//!   costing a task and buffers. Together with the timeouts above a slot is
//!   always given back within a bounded time unless a request is in flight.

pub use authgate_authority::listener_config::{HttpConfig, validate_config};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// The whole-request deadline, applied around the router: a request that
/// is not answered in time (a body sent a byte every few seconds, a stalled
/// handler) gets 408 and its handler is dropped.
pub fn with_request_timeout(app: Router, c: &HttpConfig) -> Router {
    app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        Duration::from_millis(c.request_timeout_ms),
    ))
}

/// Accepts and serves connections until `stop` changes, then lets
/// in-flight requests finish (at most 10 s).
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    c: HttpConfig,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(c.max_connections));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(c.header_read_timeout_ms));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(c.idle_timeout_secs.clamp(1, 30)))
        .max_concurrent_streams(128);
    let builder = Arc::new(builder);
    let limits = Arc::new(c);
    loop {
        // A slot first: beyond `max_connections` nothing is accepted.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off a
                    // little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let svc = app
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let (tls, builder, limits, stop) =
            (tls.clone(), builder.clone(), limits.clone(), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let header_timeout = Duration::from_millis(limits.header_read_timeout_ms);
            match tls {
                None => serve_connection(TokioIo::new(tcp), svc, &builder, &limits, stop).await,
                Some(acceptor) => {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    serve_connection(TokioIo::new(tls), svc, &builder, &limits, stop).await
                }
            }
        });
    }
    // Every connection holds a slot until it ends: wait for all of them.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
}

type Activity = Arc<ConnActivity>;

/// What a connection's idle watchdog looks at.
struct ConnActivity {
    started: Instant,
    /// A request has begun on this connection.
    served_any: AtomicBool,
    in_flight: AtomicUsize,
    /// Milliseconds after `started` of the last request start or end.
    last_ms: AtomicU64,
}

impl ConnActivity {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.started.elapsed().saturating_sub(last))
    }
}

/// Counts a request in flight until its response is ready.
struct InFlight(Activity);

impl InFlight {
    fn begin(a: &Activity) -> Self {
        a.served_any.store(true, Ordering::Relaxed);
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        a.touch();
        Self(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The router as a hyper service that reports its activity.
#[derive(Clone)]
struct Tracked {
    inner: hyper_util::service::TowerToHyperService<Router>,
    activity: Activity,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Tracked {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let guard = InFlight::begin(&self.activity);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            drop(guard);
            r
        })
    }
}

async fn serve_connection<I>(
    io: TokioIo<I>,
    app: Router,
    builder: &Builder<TokioExecutor>,
    limits: &HttpConfig,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(ConnActivity {
        started: Instant::now(),
        served_any: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        last_ms: AtomicU64::new(0),
    });
    let svc = Tracked {
        inner: hyper_util::service::TowerToHyperService::new(app),
        activity: activity.clone(),
    };
    let conn = builder.serve_connection_with_upgrades(io, svc);
    tokio::pin!(conn);
    let idle_limit = Duration::from_secs(limits.idle_timeout_secs);
    // Until its first request a connection gets the header timeout: a
    // connection that sends nothing at all is a request whose headers never
    // come (and, before hyper has seen a byte, its own header timer has not
    // started).
    let first_limit = Duration::from_millis(limits.header_read_timeout_ms).min(idle_limit);
    let mut tick = tokio::time::interval((first_limit / 2).min(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = *stop.borrow();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                let limit = if activity.served_any.load(Ordering::Relaxed) {
                    idle_limit
                } else {
                    first_limit
                };
                if activity.idle_for().is_some_and(|d| d >= limit) {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_their_key() {
        validate_config(&HttpConfig::default()).unwrap();
        let e = validate_config(&HttpConfig {
            max_connections: 0,
            ..HttpConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "http.max_connections");
        let e = validate_config(&HttpConfig {
            header_read_timeout_ms: 0,
            ..HttpConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "http.header_read_timeout_ms");
        let e = validate_config(&HttpConfig {
            request_timeout_ms: 10_000_000,
            ..HttpConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "http.request_timeout_ms");
        let e = validate_config(&HttpConfig {
            idle_timeout_secs: 0,
            ..HttpConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "http.idle_timeout_secs");
    }
}
