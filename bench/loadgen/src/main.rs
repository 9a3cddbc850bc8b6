//! Load generator for the authgate benchmark (see bench/README.md).
//!
//! Each load subcommand runs a closed loop at a fixed concurrency, bounded by
//! time (`--warmup` + `--duration`) and by count (`--max-requests`), checks
//! every answer, and prints one JSON line. Only loopback targets are accepted.

mod authcode;
mod conn;
mod engine;
mod flows;
mod mcp;
mod procstat;
mod report;
mod streams;

use std::hash::RandomState;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use authcode::{AuthCode, AuthCodeSetup};
use conn::{Conn, Endpoint};
use flows::{
    ClientCredentials, Flow, Get, Introspect, JwtExpectation, RefreshChain, Register, TokenResponse,
};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Closed-loop HTTP load generator for the authgate benchmark (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Client credentials: POST the token endpoint with Basic auth.
    Cc {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        client: ClientArgs,
        /// The access token is opaque: check the response shape only.
        #[arg(long)]
        opaque: bool,
        /// Accept the same access token twice in a row (the floor's static one).
        #[arg(long)]
        allow_repeated_token: bool,
    },
    /// Refresh-token rotation: each worker follows its own chain.
    Refresh {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        client: ClientArgs,
        /// One refresh token per line; worker i starts from line i.
        #[arg(long)]
        tokens_file: PathBuf,
        /// Send `resource` with each refresh request.
        #[arg(long)]
        send_resource: bool,
        /// Skip replaying each chain's last rotated token at the end.
        #[arg(long)]
        no_replay_check: bool,
    },
    /// The whole authorization code flow with PKCE (S256) as a browser and a
    /// public MCP client run it: authorize, sign in, consent, token. Each
    /// flow starts with an empty cookie jar, so it signs in. One "request"
    /// in the output line is one whole flow; its latency is the flow's.
    Authcode {
        /// `--url` is the authorization endpoint.
        #[command(flatten)]
        load: LoadArgs,
        /// The token endpoint the code is redeemed at.
        #[arg(long)]
        token_url: String,
        /// The issuer: the expected `iss` on the redirect; pages live under it.
        #[arg(long)]
        issuer: String,
        /// A public client (`token_endpoint_auth_method` none).
        #[arg(long)]
        client_id: String,
        #[arg(long, default_value = "http://127.0.0.1:19998/callback")]
        redirect_uri: String,
        /// RFC 8707 resource indicator; also the expected `aud`.
        #[arg(long)]
        resource: String,
        #[arg(long)]
        scope: String,
        /// Expected JWS `alg` of the access tokens.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// The person who signs in.
        #[arg(long)]
        email: String,
        /// Their password, from the environment (a command line is visible
        /// to every user of the machine).
        #[arg(long, env = "LOADGEN_PASSWORD", hide_env_values = true)]
        password: String,
        /// The upstream scenario: the email's domain routes to an upstream
        /// OpenID Connect provider with this issuer (`http://127.0.0.1:PORT`,
        /// node oidc-provider's development pages), where the person signs
        /// in instead of with a password; on a second connection.
        #[arg(long, requires = "connection")]
        upstream_issuer: Option<String>,
        /// The authgate connection's id (the access token's `idp` claim).
        #[arg(long, requires = "upstream_issuer")]
        connection: Option<String>,
    },
    /// RFC 7591 dynamic client registration: POST a JSON body.
    Register {
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, default_value = "http://127.0.0.1:19998/callback")]
        redirect_uri: String,
    },
    /// RFC 7662 introspection of one access token obtained first.
    Introspect {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        client: ClientArgs,
        /// Token endpoint used once to obtain the token to introspect.
        #[arg(long)]
        token_url: String,
    },
    /// MCP `tools/call` POSTs (streamable HTTP) with a bearer token from a
    /// client-credentials request: the `initialize` handshake once per
    /// worker, then one checked call per request.
    McpCall {
        /// `--url` is the MCP endpoint.
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        mcp: McpArgs,
    },
    /// Open `--streams` idle SSE streams (one MCP session and connection
    /// each), hold them, and report the server's RSS before and with them.
    McpStreams {
        /// The MCP endpoint.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        mcp: McpArgs,
        #[arg(long, default_value_t = 1000)]
        streams: usize,
        /// Streams being opened at once.
        #[arg(long, default_value_t = 16)]
        parallel: usize,
        /// Seconds to hold them all open before reading RSS again.
        #[arg(long, default_value_t = 3.0)]
        hold_s: f64,
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        #[arg(long)]
        server_pid: Option<u32>,
        #[arg(long)]
        upstream_pid: Option<u32>,
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
    },
    /// GET a JSON document (JWKS, metadata).
    Get {
        #[command(flatten)]
        load: LoadArgs,
        /// A top-level field the document must have (e.g. `keys`, `issuer`).
        #[arg(long)]
        expect_field: Option<String>,
    },
    /// Wait until a client-credentials token request succeeds; print the
    /// milliseconds since `--since-epoch-us` (or since this command started).
    WaitToken {
        #[arg(long)]
        url: String,
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        opaque: bool,
        #[arg(long)]
        since_epoch_us: Option<u128>,
        #[arg(long, default_value_t = 60.0)]
        timeout_s: f64,
        /// Give up as soon as this process has exited.
        #[arg(long)]
        pid: Option<u32>,
    },
    /// Fetch a JSON document and print one string field (e.g. `jwks_uri`).
    JsonField {
        #[arg(long)]
        url: String,
        #[arg(long)]
        field: String,
    },
    /// Print a free TCP port on 127.0.0.1.
    FreePort,
    /// Turn result lines into the markdown report.
    Report {
        /// JSON lines written by the load subcommands (plus the runner's labels).
        #[arg(long)]
        input: PathBuf,
        /// The runner's JSON facts: machine, versions, start-up, idle RSS.
        #[arg(long)]
        meta: PathBuf,
    },
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// Full URL of the endpoint under load (loopback only).
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds of measured load, after the warm-up.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of load before measuring starts (answers still checked).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Hard cap on the number of requests sent.
    #[arg(long, default_value_t = 3_000_000)]
    max_requests: u64,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Tokio worker threads for the load generator itself.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Server process to read CPU (utime+stime) and memory from.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Database server process (postmaster); its whole process tree's CPU is read.
    #[arg(long)]
    db_pid: Option<u32>,
    /// A second process serving the same requests (an MCP server behind a
    /// gateway): its CPU and memory are read too.
    #[arg(long)]
    upstream_pid: Option<u32>,
    /// Labels copied into the output line, as key=value.
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
}

#[derive(Args, Clone)]
struct McpArgs {
    /// Token endpoint the bearer token is obtained from (client credentials,
    /// `--resource` = the MCP URL the token is for).
    #[arg(long)]
    token_url: String,
    #[command(flatten)]
    client: ClientArgs,
    /// The tool called.
    #[arg(long, default_value = "whoami")]
    tool: String,
    /// Its arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    arguments: String,
    /// The tool echoes its caller (`structuredContent.client_id`): check it
    /// is the token's client.
    #[arg(long)]
    check_caller: bool,
}

impl McpArgs {
    /// Obtains the token and builds the shared request parts.
    fn setup(&self, url: &str) -> Result<Arc<mcp::McpSetup>, String> {
        let endpoint = Endpoint::parse(url)?;
        let arguments: Value =
            serde_json::from_str(&self.arguments).map_err(|e| format!("--arguments: {e}"))?;
        if !arguments.is_object() {
            return Err("--arguments must be a JSON object".into());
        }
        let token_endpoint = Endpoint::parse(&self.token_url)?;
        let rt = runtime(1).map_err(|e| e.to_string())?;
        let token = rt.block_on(fetch_token(
            &token_endpoint,
            &self.client,
            self.client.jwt(false).as_ref(),
        ))?;
        let bearer = http::HeaderValue::from_str(&format!("Bearer {}", token.access_token))
            .map_err(|e| format!("access token: {e}"))?;
        Ok(Arc::new(mcp::McpSetup {
            endpoint,
            bearer,
            tool: self.tool.clone(),
            arguments,
            expect_client_id: self.check_caller.then(|| self.client.client_id.clone()),
        }))
    }
}

#[derive(Args, Clone)]
struct ClientArgs {
    #[arg(long, default_value = "bench-client")]
    client_id: String,
    #[arg(long, default_value = "bench-secret-0123456789abcdef0123456789abcdef")]
    client_secret: String,
    /// RFC 8707 resource indicator; also the expected `aud` of JWT access tokens.
    #[arg(long)]
    resource: Option<String>,
    #[arg(long)]
    scope: Option<String>,
    /// Expected JWS `alg` of JWT access tokens.
    #[arg(long, default_value = "ES256")]
    alg: String,
}

impl ClientArgs {
    fn jwt(&self, opaque: bool) -> Option<JwtExpectation> {
        if opaque {
            return None;
        }
        Some(JwtExpectation {
            alg: self.alg.clone(),
            audience: self.resource.clone()?,
            scope: self.scope.clone(),
        })
    }
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("a label is key=value")?;
    Ok((k.to_owned(), v.to_owned()))
}

fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

fn settings(load: &LoadArgs) -> engine::Settings {
    engine::Settings {
        concurrency: load.concurrency,
        warmup: Duration::from_secs_f64(load.warmup),
        duration: Duration::from_secs_f64(load.duration),
        max_requests: load.max_requests,
        timeout: Duration::from_millis(load.timeout_ms),
        server_pid: load.server_pid,
        db_pid: load.db_pid,
        upstream_pid: load.upstream_pid,
    }
}

/// One client-credentials request on a fresh connection.
async fn fetch_token(
    endpoint: &Endpoint,
    client: &ClientArgs,
    jwt: Option<&JwtExpectation>,
) -> Result<TokenResponse, String> {
    let mut conn = Conn::new(endpoint.addr);
    let request = endpoint
        .request(http::Method::POST)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(
            http::header::AUTHORIZATION,
            flows::basic_auth(&client.client_id, &client.client_secret)?,
        )
        .body(http_body_util::Full::new(ClientCredentials::body(
            client.resource.as_deref(),
            client.scope.as_deref(),
        )))
        .map_err(|e| e.to_string())?;
    let reply = conn.send(request, Duration::from_secs(10)).await?;
    let token = TokenResponse::parse(reply.status, &reply.body)
        .map_err(|kind| format!("{kind}: {}", String::from_utf8_lossy(&reply.body)))?;
    if let Some(jwt) = jwt {
        jwt.check(&token.access_token)?;
    }
    Ok(token)
}

fn load_flows(
    load: &LoadArgs,
    make: impl FnMut(usize) -> Result<Flow, String>,
) -> Result<Vec<(Flow, Conn)>, String> {
    let endpoint = Endpoint::parse(&load.url)?;
    (0..load.concurrency.max(1))
        .map(make)
        .map(|flow| flow.map(|f| (f, Conn::new(endpoint.addr))))
        .collect()
}

/// 32 bytes from the kernel: the secret behind PKCE verifiers and states.
fn random_seed() -> Result<[u8; 32], String> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(seed)
}

fn epoch_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

fn run_load(
    scenario: &str,
    load: &LoadArgs,
    flows: Vec<(Flow, Conn)>,
    check_replay: bool,
) -> Result<Value, String> {
    let rt = runtime(load.threads).map_err(|e| e.to_string())?;
    let mut line = rt.block_on(engine::run(settings(load), flows, check_replay))?;
    line["scenario"] = json!(scenario);
    line["url"] = json!(load.url);
    line["duration_s"] = json!(load.duration);
    line["warmup_s"] = json!(load.warmup);
    for (k, v) in &load.labels {
        line[k] = json!(v);
    }
    Ok(line)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode, String> {
    let cli = Cli::parse();
    let line = match cli.command {
        Command::Cc {
            load,
            client,
            opaque,
            allow_repeated_token,
        } => {
            let endpoint = Endpoint::parse(&load.url)?;
            let auth = flows::basic_auth(&client.client_id, &client.client_secret)?;
            let body = ClientCredentials::body(client.resource.as_deref(), client.scope.as_deref());
            let jwt = client.jwt(opaque);
            let flows = load_flows(&load, |_| {
                Ok(Flow::ClientCredentials(ClientCredentials {
                    endpoint: endpoint.clone(),
                    auth: auth.clone(),
                    body: body.clone(),
                    jwt: jwt.clone(),
                    answered: 0,
                    distinct: !allow_repeated_token,
                    hasher: RandomState::new(),
                    last_token_hash: None,
                }))
            })?;
            run_load("cc", &load, flows, false)?
        }
        Command::Refresh {
            load,
            client,
            tokens_file,
            send_resource,
            no_replay_check,
        } => {
            let endpoint = Endpoint::parse(&load.url)?;
            let text = std::fs::read_to_string(&tokens_file)
                .map_err(|e| format!("{}: {e}", tokens_file.display()))?;
            let tokens: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            if tokens.len() < load.concurrency {
                return Err(format!(
                    "{} refresh tokens for concurrency {}",
                    tokens.len(),
                    load.concurrency
                ));
            }
            let auth = flows::basic_auth(&client.client_id, &client.client_secret)?;
            let hasher = RandomState::new();
            let resource = if send_resource {
                client.resource.clone()
            } else {
                None
            };
            let jwt = client.jwt(false);
            let flows = load_flows(&load, |i| {
                Ok(Flow::Refresh(RefreshChain::new(
                    endpoint.clone(),
                    auth.clone(),
                    resource.clone(),
                    tokens[i].to_owned(),
                    jwt.clone(),
                    hasher.clone(),
                )))
            })?;
            run_load("refresh", &load, flows, !no_replay_check)?
        }
        Command::Authcode {
            load,
            token_url,
            issuer,
            client_id,
            redirect_uri,
            resource,
            scope,
            alg,
            email,
            password,
            upstream_issuer,
            connection,
        } => {
            let upstream = match (upstream_issuer, connection) {
                (Some(issuer_url), Some(connection)) => Some(authcode::UpstreamSetup {
                    issuer: Endpoint::parse(&issuer_url)?,
                    issuer_url,
                    connection,
                }),
                _ => None,
            };
            let authorize = Endpoint::parse(&load.url)?;
            let token = Endpoint::parse(&token_url)?;
            let issuer_endpoint = Endpoint::parse(&issuer)?;
            if issuer_endpoint.addr != authorize.addr || token.addr != authorize.addr {
                return Err("--url, --token-url and --issuer must be the same server".into());
            }
            let setup = Arc::new(AuthCodeSetup {
                authorize,
                token,
                base_path: issuer_endpoint.path.path().trim_end_matches('/').to_owned(),
                issuer,
                client_id,
                redirect_uri,
                jwt: JwtExpectation {
                    alg,
                    audience: resource.clone(),
                    scope: Some(scope.clone()),
                },
                resource,
                scope,
                email,
                password,
                upstream,
            });
            let seed = random_seed()?;
            let flows = load_flows(&load, |worker| {
                Ok(Flow::AuthCode(Box::new(AuthCode::new(
                    setup.clone(),
                    seed,
                    worker,
                ))))
            })?;
            run_load("authcode", &load, flows, false)?
        }
        Command::Register { load, redirect_uri } => {
            let endpoint = Endpoint::parse(&load.url)?;
            let flows = load_flows(&load, |worker| {
                Ok(Flow::Register(Register {
                    endpoint: endpoint.clone(),
                    worker,
                    sent: 0,
                    redirect_uri: redirect_uri.clone(),
                    seen: Default::default(),
                }))
            })?;
            run_load("register", &load, flows, false)?
        }
        Command::Introspect {
            load,
            client,
            token_url,
        } => {
            let endpoint = Endpoint::parse(&load.url)?;
            let token_endpoint = Endpoint::parse(&token_url)?;
            let rt = runtime(1).map_err(|e| e.to_string())?;
            let token = rt.block_on(fetch_token(&token_endpoint, &client, None))?;
            drop(rt);
            let auth = flows::basic_auth(&client.client_id, &client.client_secret)?;
            let body = format!("token={}", flows::form_encode(&token.access_token));
            let flows = load_flows(&load, |_| {
                Ok(Flow::Introspect(Introspect {
                    endpoint: endpoint.clone(),
                    auth: auth.clone(),
                    body: body.clone(),
                }))
            })?;
            run_load("introspect", &load, flows, false)?
        }
        Command::McpCall { load, mcp: args } => {
            let setup = args.setup(&load.url)?;
            let flows = load_flows(&load, |_| {
                Ok(Flow::Mcp(Box::new(mcp::McpCall {
                    setup: setup.clone(),
                    session: None,
                    next_id: 0,
                })))
            })?;
            run_load("mcp-call", &load, flows, false)?
        }
        Command::McpStreams {
            url,
            mcp: args,
            streams,
            parallel,
            hold_s,
            timeout_ms,
            server_pid,
            upstream_pid,
            labels,
        } => {
            let setup = args.setup(&url)?;
            let rt = runtime(1).map_err(|e| e.to_string())?;
            let mut line = rt.block_on(streams::hold(
                setup,
                streams::HoldSettings {
                    streams,
                    parallel,
                    hold: Duration::from_secs_f64(hold_s),
                    timeout: Duration::from_millis(timeout_ms),
                    server_pid,
                    upstream_pid,
                },
            ));
            line["scenario"] = json!("mcp-streams");
            line["url"] = json!(url);
            for (k, v) in &labels {
                line[k] = json!(v);
            }
            println!("{line}");
            let complete = line["errors"].as_u64() == Some(0)
                && line["streams_alive_at_end"].as_u64() == Some(streams as u64);
            return Ok(if complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Command::Get { load, expect_field } => {
            let endpoint = Endpoint::parse(&load.url)?;
            let flows = load_flows(&load, |_| {
                Ok(Flow::Get(Get {
                    endpoint: endpoint.clone(),
                    expect_field: expect_field.clone(),
                }))
            })?;
            run_load("get", &load, flows, false)?
        }
        Command::WaitToken {
            url,
            client,
            opaque,
            since_epoch_us,
            timeout_s,
            pid,
        } => {
            let endpoint = Endpoint::parse(&url)?;
            let since = since_epoch_us.unwrap_or_else(epoch_us);
            let give_up = Instant::now() + Duration::from_secs_f64(timeout_s);
            let jwt = client.jwt(opaque);
            let rt = runtime(1).map_err(|e| e.to_string())?;
            let mut last_error;
            loop {
                match rt.block_on(fetch_token(&endpoint, &client, jwt.as_ref())) {
                    Ok(_) => {
                        let ms = (epoch_us().saturating_sub(since)) as f64 / 1000.0;
                        println!("{}", json!({ "ready_ms": (ms * 10.0).round() / 10.0 }));
                        return Ok(ExitCode::SUCCESS);
                    }
                    Err(e) => last_error = e,
                }
                if let Some(pid) = pid
                    && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                {
                    return Err(format!(
                        "process {pid} exited before answering; last error: {last_error}"
                    ));
                }
                if Instant::now() >= give_up {
                    return Err(format!(
                        "no token from {url} within {timeout_s} s; last error: {last_error}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Command::JsonField { url, field } => {
            let endpoint = Endpoint::parse(&url)?;
            let rt = runtime(1).map_err(|e| e.to_string())?;
            let reply = rt.block_on(async {
                let mut conn = Conn::new(endpoint.addr);
                let request = endpoint
                    .request(http::Method::GET)
                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                    .map_err(|e| e.to_string())?;
                conn.send(request, Duration::from_secs(10))
                    .await
                    .map_err(str::to_owned)
            })?;
            if !reply.status.is_success() {
                return Err(format!("{url}: HTTP {}", reply.status));
            }
            let doc: Value =
                serde_json::from_slice(&reply.body).map_err(|e| format!("{url}: {e}"))?;
            let value = doc[&field]
                .as_str()
                .ok_or_else(|| format!("{url}: no string field {field}"))?;
            println!("{value}");
            return Ok(ExitCode::SUCCESS);
        }
        Command::FreePort => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            println!(
                "{}",
                listener.local_addr().map_err(|e| e.to_string())?.port()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Command::Report { input, meta } => {
            print!("{}", report::render(&input, &meta)?);
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!("{line}");
    // A load run with errors still prints its line; the exit code tells.
    Ok(
        if line["errors"].as_u64() == Some(0) && line["requests_ok"].as_u64().unwrap_or(0) > 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
