//! `weather-mcp`: the sample MCP server.

use clap::Parser;
use weather_mcp::{Settings, app, app_behind_gateway, behind_gateway, protected_resource};

#[derive(Parser, Debug)]
#[command(version, about = "Sample MCP server protected by authgate")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "WEATHER_LISTEN", default_value = "127.0.0.1:3000")]
    listen: String,
    /// The authorization server's issuer identifier.
    #[arg(long, env = "WEATHER_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// This server's canonical URL (the `aud` of its tokens).
    #[arg(
        long,
        env = "WEATHER_RESOURCE",
        default_value = "http://127.0.0.1:3000/mcp"
    )]
    resource: String,
    /// Leave tools the token cannot call out of tools/list.
    #[arg(long, env = "WEATHER_HIDE_UNAUTHORIZED_TOOLS")]
    hide_unauthorized_tools: bool,
    /// Run as the upstream of `authgate gateway` at this URL (its origin,
    /// e.g. http://127.0.0.1:8090): accept only calls carrying the
    /// gateway's signed caller assertion, verified against its JWKS,
    /// instead of access tokens.
    #[arg(long, env = "WEATHER_BEHIND_GATEWAY", value_name = "GATEWAY_URL")]
    behind_gateway: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let settings = Settings {
        issuer: args.issuer,
        resource: args.resource,
        hide_unauthorized_tools: args.hide_unauthorized_tools,
    };
    let router = if let Some(origin) = &args.behind_gateway {
        let gateway = behind_gateway::Gateway {
            origin: origin.clone(),
            jwks_uri: None,
        };
        match behind_gateway::validator(&settings, &gateway) {
            Ok(v) => app_behind_gateway(&settings, v),
            Err(e) => {
                eprintln!("weather-mcp: --behind-gateway: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    } else {
        let resource = match protected_resource(&settings) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("weather-mcp: {e}");
                return std::process::ExitCode::from(2);
            }
        };
        // Fetch the keys now if the authorization server is up; otherwise
        // the first request will.
        if resource.validator().prefetch().await.is_err() {
            tracing::warn!(issuer = %settings.issuer, "authorization server not reachable yet");
        }
        app(&settings, &resource)
    };
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("weather-mcp: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::from(1);
        }
    };
    tracing::info!(listen = %args.listen, resource = %settings.resource, behind_gateway = ?args.behind_gateway, "weather-mcp listening");
    // Without TCP_NODELAY an answer written in pieces (the SSE priming
    // event, then the message) waits for the client's delayed ACK: ~40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    {
        eprintln!("weather-mcp: {e}");
        return std::process::ExitCode::from(1);
    }
    std::process::ExitCode::SUCCESS
}
