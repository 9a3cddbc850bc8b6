//! One keep-alive HTTP/1.1 connection per worker, on loopback only.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where a scenario sends its requests: one URL, split once.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    pub path: Uri,
}

impl Endpoint {
    /// Parses `http://127.0.0.1:PORT/path`. Anything but a loopback address
    /// is refused: this tool must never send load off the machine.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("only plain http on loopback is supported: {url}"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("URL without host: {url}"))?;
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(80);
        let ip: std::net::IpAddr = match host {
            "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
            other => other
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| format!("host must be a loopback IP address: {url}"))?,
        };
        if !ip.is_loopback() {
            return Err(format!("refusing a non-loopback target: {url}"));
        }
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .map_err(|e| format!("bad path in {url}: {e}"))?;
        Ok(Endpoint {
            addr: SocketAddr::new(ip, port),
            host: HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?,
            path,
        })
    }

    pub fn request(&self, method: http::Method) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(self.path.clone())
            .header(http::header::HOST, self.host.clone())
    }

    /// The same server at another path (`/x?y`); `None` if it is not a path.
    pub fn at(&self, path_and_query: &str) -> Option<Endpoint> {
        if !path_and_query.starts_with('/') || path_and_query.starts_with("//") {
            return None;
        }
        Some(Endpoint {
            addr: self.addr,
            host: self.host.clone(),
            path: path_and_query.parse().ok()?,
        })
    }
}

/// A reply, read in full.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Connections opened after the first one (the server closed one, or a
    /// request failed on it).
    pub reconnects: u64,
    opened: u64,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            sender: None,
            reconnects: 0,
            opened: 0,
        }
    }

    async fn connect(&mut self) -> Result<(), &'static str> {
        let stream = TcpStream::connect(self.addr).await.map_err(|_| "connect")?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| "connect")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        if self.opened > 0 {
            self.reconnects += 1;
        }
        self.opened += 1;
        self.sender = Some(sender);
        Ok(())
    }

    /// Sends one request and reads the whole answer. A connection the server
    /// closed while idle is replaced silently; a failure on a live one is an
    /// error (`io` or `timeout`) and the connection is dropped.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Reply, &'static str> {
        let usable = match self.sender.as_mut() {
            Some(sender) if !sender.is_closed() => sender.ready().await.is_ok(),
            _ => false,
        };
        if !usable {
            self.sender = None;
            self.connect().await?;
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err("connect");
        };
        let exchange = async {
            let response = sender.send_request(request).await.map_err(|_| "io")?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|_| "io")?.to_bytes();
            Ok::<_, &'static str>(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err("timeout"),
        };
        if outcome.is_err() {
            self.sender = None;
        }
        outcome
    }
}

impl Conn {
    /// Sends one request and returns the answer with its body unread: a
    /// stream, which holds this connection until it is dropped.
    pub async fn open_stream(
        &mut self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<hyper::Response<hyper::body::Incoming>, &'static str> {
        let usable = match self.sender.as_mut() {
            Some(sender) if !sender.is_closed() => sender.ready().await.is_ok(),
            _ => false,
        };
        if !usable {
            self.sender = None;
            self.connect().await?;
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err("connect");
        };
        match tokio::time::timeout(timeout, sender.send_request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err("io"),
            Err(_) => Err("timeout"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(Endpoint::parse("http://127.0.0.1:8080/token").is_ok());
        assert!(Endpoint::parse("http://localhost:8080/token").is_ok());
        assert!(Endpoint::parse("http://[::1]:8080/token").is_ok());
        assert!(Endpoint::parse("http://127.1.2.3/x").is_ok());
        assert!(Endpoint::parse("http://10.0.0.1:8080/token").is_err());
        assert!(Endpoint::parse("http://example.com/token").is_err());
        assert!(Endpoint::parse("https://127.0.0.1/token").is_err());
    }

    #[test]
    fn the_path_and_host_header_are_kept() {
        let e = Endpoint::parse("http://127.0.0.1:18080/.well-known/x?a=b").unwrap();
        assert_eq!(e.path, "/.well-known/x?a=b");
        assert_eq!(e.host, "127.0.0.1:18080");
        assert_eq!(e.addr.port(), 18080);
        let login = e.at("/login?r=abc").unwrap();
        assert_eq!(login.path, "/login?r=abc");
        assert_eq!(login.host, "127.0.0.1:18080");
        assert!(e.at("http://evil.example/x").is_none());
        assert!(e.at("//evil.example/x").is_none());
    }
}
