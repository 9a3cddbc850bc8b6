//! Hidden benchmark helper: mints refresh tokens for a client directly in
//! the store (as the authorization code flow would), one per line. Each
//! use is audited (`cli.bench_refresh_tokens_minted`).

use super::error::CliError;
use super::local::{now, open_store};
use authgate_authority::config::Settings;
use authgate_core::model::{AuditEvent, Grant, RefreshToken, Role, User};
use authgate_core::random::OsRandom;
use authgate_core::secret;
use authgate_store::Store;

#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    /// The client the refresh tokens are for.
    #[arg(long)]
    client: String,
    /// How many tokens to print.
    #[arg(long, default_value_t = 16)]
    count: usize,
}

pub async fn run(a: SeedArgs, settings: &Settings) -> Result<(), CliError> {
    let store = open_store(settings).await?;
    let rng = OsRandom::new();
    let client = store
        .get_client(&a.client)
        .await?
        .ok_or_else(|| CliError(format!("no client {:?}", a.client)))?;
    let resource_id = match client
        .resources
        .iter()
        .find(|r| *r != authgate_core::model::ANY_RESOURCE)
    {
        Some(r) => r.clone(),
        None => store
            .list_resources()
            .await?
            .first()
            .map(|r| r.id.clone())
            .ok_or_else(|| CliError("no MCP server registered".into()))?,
    };
    let resource = store
        .get_resource(&resource_id)
        .await?
        .ok_or_else(|| CliError("resource missing".into()))?;
    let user = bench_user(store.as_ref(), &rng).await?;
    let t = now();
    let count = a.count.min(100_000);
    // Tokens minted outside every flow are a security event: recorded
    // before any is minted, so none exists without its audit row.
    store
        .append_audit_events(vec![AuditEvent {
            id: 0,
            at: t,
            event: "cli.bench_refresh_tokens_minted".into(),
            actor: Some("cli".into()),
            client_id: Some(client.client_id.clone()),
            resource_id: Some(resource.id.clone()),
            address: None,
            outcome: "ok".into(),
            detail: serde_json::json!({"count": count, "user_id": user.id}),
        }])
        .await?;
    for _ in 0..count {
        let g = Grant {
            id: secret::generate_id(&rng)?,
            client_id: client.client_id.clone(),
            user_id: Some(user.id.clone()),
            resource_id: resource.id.clone(),
            scopes: resource.default_scopes.clone(),
            auth_time: t,
            created_at: t,
            last_used_at: t,
            expires_at: t + resource.refresh_token_absolute_ttl_secs,
            revoked_at: None,
            auth: Default::default(),
        };
        store.insert_grant(&g).await?;
        let token = secret::generate(&rng)?;
        store
            .insert_refresh_token(&RefreshToken {
                token_hash: secret::hash(&token),
                grant_id: g.id.clone(),
                client_id: client.client_id.clone(),
                scopes: g.scopes.clone(),
                issued_at: t,
                expires_at: t + resource.refresh_token_idle_ttl_secs,
                rotated_at: None,
                successor_hash: None,
                revoked_at: None,
            })
            .await?;
        println!("{token}");
    }
    Ok(())
}

/// The person the minted grants belong to (created once, with no usable
/// password).
async fn bench_user(store: &dyn Store, rng: &OsRandom) -> Result<User, CliError> {
    let email = "bench@authgate.invalid";
    if let Some(u) = store.get_user_by_email(email).await? {
        return Ok(u);
    }
    let u = User {
        id: secret::generate_id(rng)?,
        email: email.into(),
        name: Some("Bench".into()),
        password_hash: "!".into(),
        disabled: false,
        role: Role::User,
        created_at: now(),
        email_verified: false,
        signed_up: false,
    };
    store.insert_user(&u).await?;
    Ok(u)
}
