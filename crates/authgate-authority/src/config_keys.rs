//! Every configuration key, documented once: the README's Configuration
//! table is generated from [`KEYS`] (a test fails when they differ), a test
//! fails when a [`Config`](crate::config::Config) field has no row, and the
//! unknown-key error suggests the nearest key from it.

/// One configuration key. `key` is its dotted path (`cimd.max_clients` is
/// `max_clients` in the `[cimd]` table).
pub struct KeyDoc {
    pub key: &'static str,
    pub kind: &'static str,
    /// Shown as the default when the built-in default value alone would
    /// mislead (derived, or computed at start); `None`: the value in
    /// `Config::default()`.
    pub default: Option<&'static str>,
    pub meaning: &'static str,
}

const fn key(
    key: &'static str,
    kind: &'static str,
    default: Option<&'static str>,
    meaning: &'static str,
) -> KeyDoc {
    KeyDoc {
        key,
        kind,
        default,
        meaning,
    }
}

/// The keys, in the order the README lists them.
pub const KEYS: &[KeyDoc] = &[
    key(
        "issuer",
        "URL",
        Some("`http://<listen>`"),
        "issuer URL, byte for byte as clients see it: no trailing `/` (refused, since clients compare it exactly and discovery, tokens and checks all use it as given); https unless loopback; may have a path (`https://id.example.com/t`). Unset, it is the listen address when that is loopback (`--listen 127.0.0.1:9000` → `http://127.0.0.1:9000`); with a non-loopback `listen` (e.g. `0.0.0.0:8080` in a container) start-up stops and asks for it. A loopback issuer on another port than `listen` starts with a warning (links point at that port)",
    ),
    key("listen", "address", None, "listen address"),
    key(
        "database_url",
        "URL",
        Some("`sqlite://authgate.db`"),
        "`sqlite://path` or `postgres://user@host/db`",
    ),
    key(
        "database_url_file",
        "path",
        None,
        "file holding `database_url` (give one of the two)",
    ),
    key(
        "data_dir",
        "path",
        None,
        "where generated files go: the key-encryption key (when none is given) and the first administrator's setup link",
    ),
    key(
        "key_encryption_key",
        "string",
        None,
        "32 bytes, base64, sealing signing keys at rest; instances sharing a database share it. Prefer `key_encryption_key_file`",
    ),
    key(
        "key_encryption_key_file",
        "path",
        Some("`<data_dir>/kek`, generated"),
        "file holding the key-encryption key (base64); created (mode 0600) on first start when missing, unless the database already holds sealed keys",
    ),
    key(
        "signing_alg",
        "string",
        None,
        "`ES256`, `RS256` or `EdDSA`: the access-token algorithm (ID tokens are RS256 unless a client registers `id_token_signed_response_alg`)",
    ),
    key(
        "key_reload_interval_secs",
        "integer",
        None,
        "how soon a key rotated elsewhere is published",
    ),
    key(
        "tls_cert_file",
        "path",
        None,
        "PEM certificate chain to serve HTTPS directly (with `tls_key_file`)",
    ),
    key(
        "tls_key_file",
        "path",
        None,
        "PEM private key for `tls_cert_file`",
    ),
    key(
        "metrics_listen",
        "address",
        None,
        "e.g. `127.0.0.1:9090`: Prometheus metrics at `/metrics` (series listed in [docs/metrics.md](docs/metrics.md))",
    ),
    key(
        "log_level",
        "string",
        None,
        "`trace`, `debug`, `info`, `warn` or `error`, or a list like `info,authgate=debug` (anything else is refused: an unknown word would silence all logging); `AUTHGATE_LOG` takes any filter",
    ),
    key("log_json", "boolean", None, "log as JSON lines"),
    key("max_body_bytes", "integer", None, "largest request body"),
    key(
        "http.header_read_timeout_ms",
        "integer",
        None,
        "a connection must send a request's headers (and finish the TLS handshake) this soon, or it is closed; also the longest wait for the next request on a kept-alive HTTP/1 connection",
    ),
    key(
        "http.request_timeout_ms",
        "integer",
        None,
        "a request, body included, must be answered within this, else `408` (a body trickled a byte at a time cannot hold a handler)",
    ),
    key(
        "http.idle_timeout_secs",
        "integer",
        None,
        "a connection (HTTP/1 or HTTP/2) with no request in flight for this long is closed",
    ),
    key(
        "http.max_connections",
        "integer",
        None,
        "connections served at once; beyond it the server stops accepting until one ends (new connections wait in the kernel's backlog)",
    ),
    key(
        "mfa.required",
        "boolean",
        None,
        "every local password sign-in needs a second factor (an authenticator app code or a passkey); a person with none must set up an authenticator app before the sign-in completes. An organization can require it for its members alone (`require_mfa`)",
    ),
    key(
        "signup.enabled",
        "boolean",
        None,
        "self sign-up: the sign-in page offers “Create an account”. The new account must open the link mailed to it before any app is allowed (it can sign in meanwhile); an existing address gets the same answer and a mail to its owner instead. Needs `[smtp]` (start-up stops without it). Each MCP server can override it with its `signup` rule (`inherit`, `open`, `closed`); the request's MCP server decides",
    ),
    key(
        "signup.allowed_email_domains",
        "list of domains",
        None,
        "when not empty, only addresses at these domains may sign up (exact match: `example.com` does not admit `sub.example.com`); members of an organization that forbids local passwords never can",
    ),
    key(
        "authorization_code_ttl_secs",
        "integer",
        None,
        "code lifetime (1–600)",
    ),
    key(
        "refresh_grace_secs",
        "integer",
        None,
        "a rotated refresh token presented again within this window gets the same successor (parallel refreshes); later it revokes the grant",
    ),
    key("id_token_ttl_secs", "integer", None, "ID token lifetime"),
    key(
        "session_ttl_secs",
        "integer",
        None,
        "sign-in session lifetime",
    ),
    key(
        "instance_name",
        "string",
        None,
        "shown on the sign-in and consent pages",
    ),
    key(
        "logo_uri",
        "URL",
        None,
        "logo shown on the sign-in and consent pages",
    ),
    key(
        "primary_color",
        "string",
        None,
        "accent colour of the person-facing pages in the light theme (`#rrggbb`); refused unless it has WCAG AA contrast (4.5:1) against white",
    ),
    key(
        "primary_color_dark",
        "string",
        None,
        "accent colour in the dark theme; refused unless it has 4.5:1 contrast against the dark background (#181c22)",
    ),
    key(
        "password_hash_concurrency",
        "integer",
        None,
        "Argon2id checks at once (keeps a sign-in flood off the token endpoint)",
    ),
    key(
        "login_max_failures_per_account",
        "integer",
        None,
        "failures for one account *from one client address* before that pair is locked out. Past 4 × this from all addresses together, the account is slowed down (1 s doubling to 60 s between attempts), never locked",
    ),
    key(
        "login_max_failures_per_address",
        "integer",
        None,
        "failures from one address (any accounts) before the address is locked out",
    ),
    key(
        "login_lockout_secs",
        "integer",
        None,
        "the failure window and the lockout length",
    ),
    key(
        "trusted_proxies",
        "list of strings",
        None,
        "reverse proxies (addresses or CIDR ranges, e.g. `[\"10.0.0.0/8\"]`) whose `X-Forwarded-For` gives the client address for every limiter (sign-in, registration) and the audit log; the right-most address that is not a trusted proxy is used. IPv6 clients are counted per /64. (Formerly `dynamic_registration.trusted_proxies`, now refused with a message saying to move it)",
    ),
    key(
        "audit_retention_days",
        "integer",
        None,
        "audit events older than this are deleted by the hourly purge (1–36500)",
    ),
    key(
        "admin_reauthenticate_after_secs",
        "integer",
        None,
        "dashboard actions on signing keys, people (roles, edit, disable, delete, sign out everywhere), client secrets and password links ask for the password again when the session signed in longer ago than this (30–86400)",
    ),
    key(
        "audit_queue_capacity",
        "integer",
        None,
        "audit events queued for the writer. When it is full, routine events (`token.issued`, `authorization_code.issued`, `sign_out`, `admin.resource.checked`) are dropped and counted in `authgate_audit_dropped_total`; every other event is a security event and is never dropped: the request that raised it waits for room (2 s), then writes it to the store itself, and answers `503` if even that fails",
    ),
    key(
        "admin_connection_check_allow_private",
        "boolean",
        None,
        "let the admin connection check reach MCP servers on loopback and private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); link-local (cloud metadata) and other special-use addresses stay refused. Loopback MCP servers are checked anyway when the issuer itself is loopback",
    ),
    key(
        "cimd.enabled",
        "boolean",
        None,
        "accept client ID metadata documents (URL client ids) at all; each MCP server can still refuse them with `allow_client_id_metadata_documents`",
    ),
    key(
        "cimd.allow_hosts",
        "list of strings",
        None,
        "when not empty, only documents on these hosts are accepted: a host name (`claude.ai`) or `*.` and a domain (`*.example.com`, every subdomain)",
    ),
    key(
        "cimd.deny_hosts",
        "list of strings",
        None,
        "documents on these hosts (same patterns) are refused",
    ),
    key(
        "cimd.trusted_hosts",
        "list of strings",
        None,
        "clients whose document is on one of these hosts get a \"verified\" label on the consent page",
    ),
    key(
        "cimd.allow_loopback",
        "boolean",
        None,
        "UNSAFE outside tests: fetch documents from loopback addresses (and plain http to a loopback host); every other special-use address stays refused",
    ),
    key(
        "cimd.max_document_bytes",
        "integer",
        None,
        "largest metadata document read",
    ),
    key(
        "cimd.connect_timeout_ms",
        "integer",
        None,
        "connect timeout of a document or `jwks_uri` fetch",
    ),
    key(
        "cimd.timeout_ms",
        "integer",
        None,
        "whole-fetch timeout, body included",
    ),
    key(
        "cimd.cache_min_secs",
        "integer",
        None,
        "a fetched document is reused at least this long (`Cache-Control: max-age` is clamped into `cache_min_secs`..`cache_max_secs`; `no-store`/`no-cache` count as the minimum)",
    ),
    key(
        "cimd.cache_max_secs",
        "integer",
        None,
        "a fetched document is reused at most this long",
    ),
    key(
        "cimd.cache_default_secs",
        "integer",
        None,
        "reuse time when the answer has no `max-age`",
    ),
    key(
        "cimd.max_fetches_per_host",
        "integer",
        None,
        "client metadata document and client `jwks_uri` fetches at once to one host (64 in all): a stalling host cannot starve lookups on other hosts",
    ),
    key(
        "cimd.negative_cache_secs",
        "integer",
        None,
        "a failed document or `jwks_uri` fetch, or a refused document or key set, is answered from memory this long instead of fetched again (`0`: off)",
    ),
    key(
        "cimd.max_clients",
        "integer",
        None,
        "most stored metadata document clients; beyond it a client not yet stored is refused (`invalid_client` naming this key). A client is stored only once it proved something (a person approved it and a code is issued), never because a request named its URL",
    ),
    key(
        "cimd.unused_client_ttl_secs",
        "integer",
        None,
        "stored metadata document clients unused this long are deleted by the hourly purge (blocked ones stay)",
    ),
    key(
        "dynamic_registration.enabled",
        "boolean",
        None,
        "serve RFC 7591 registration at `<issuer>/register`; each MCP server can still refuse dynamic clients with `allow_dynamic_registration`",
    ),
    key(
        "dynamic_registration.rate_limit_per_minute",
        "integer",
        None,
        "sustained registrations per minute from one client address (IPv4 address or IPv6 /64)",
    ),
    key(
        "dynamic_registration.rate_limit_burst",
        "integer",
        None,
        "registrations one address may make in a burst",
    ),
    key(
        "dynamic_registration.max_clients",
        "integer",
        None,
        "most live dynamically registered clients; registration answers `503` when full (identical re-registrations still succeed)",
    ),
    key(
        "dynamic_registration.unused_client_ttl_secs",
        "integer",
        None,
        "dynamic clients unused this long are deleted by the hourly purge (at least 3600)",
    ),
    key(
        "dynamic_registration.initial_access_tokens",
        "list of strings",
        None,
        "when not empty, registration requires `Authorization: Bearer <one of these>`; an entry is the token itself (16+ characters) or `sha256:<hex>` of it",
    ),
    key(
        "resources",
        "array of tables",
        None,
        "`[[resources]]`: MCP servers, applied idempotently at start: `id`, `name`, `uri`, `scopes = [{name, description, implies}]` (`description` optional: without it the consent page shows just the name, as with `authgate resource add --scope name`), `default_scopes`, `access_token_ttl_secs`, `refresh_token_idle_ttl_secs`, `refresh_token_absolute_ttl_secs`, `allow_dynamic_registration` (default `true`), `allow_client_id_metadata_documents` (default `true`), `allow_dynamic_client_credentials` (default `false`: whether dynamically registered and metadata document clients may use `client_credentials` for this server — they are anonymous, so leave it off unless anyone may have its scopes without a person), `documentation_uri`, `logo_uri` (https; the consent page shows it), `signup` (`inherit` the instance's `[signup]`, `open` — needs `[smtp]` — or `closed`)",
    ),
    key(
        "smtp.host",
        "string",
        Some("unset: no mail is sent"),
        "`[smtp]`: the mail server for password reset links, email verification and notices (queued in the database, retried until sent). Its host name or address",
    ),
    key(
        "smtp.port",
        "integer",
        Some("587 (`starttls`), 465 (`tls`), 25 (`none`)"),
        "the mail server's port",
    ),
    key(
        "smtp.tls",
        "string",
        Some("`starttls`"),
        "`starttls` (required, not opportunistic), `tls` (implicit TLS) or `none` (only for a relay on a loopback address: mail and password would cross the network in clear text)",
    ),
    key(
        "smtp.username",
        "string",
        Some("none"),
        "SMTP user name (with `smtp.password_file`)",
    ),
    key(
        "smtp.password_file",
        "path",
        Some("none"),
        "file holding the SMTP password (never the TOML itself)",
    ),
    key(
        "smtp.from",
        "string",
        Some("required"),
        "the sender, an RFC 5322 mailbox: `Example ID <id@example.com>`",
    ),
    key(
        "smtp.timeout_secs",
        "integer",
        Some("30"),
        "longest SMTP conversation",
    ),
    key(
        "smtp.max_attempts",
        "integer",
        Some("10"),
        "attempts before a message is given up (audited as `mail.given_up`)",
    ),
    key(
        "smtp.retry_base_secs",
        "integer",
        Some("30"),
        "delay after a first failed attempt, doubled after each (at most an hour)",
    ),
    key(
        "gateway",
        "table",
        None,
        "`[gateway]`: also run the MCP gateway inside `authgate serve`, on its own `listen` address, with the keys of `authgate gateway`'s file (see \"Protect any MCP server: authgate gateway\"); its tool-call audit rows go to authgate's audit log",
    ),
    key(
        "clients",
        "array of tables",
        None,
        "`[[clients]]`: pre-registered clients: `client_id`, `client_name`, `client_secret` / `client_secret_file`, `token_endpoint_auth_method`, `redirect_uris`, `grant_types`, `resources`, `scopes`. `resources` lists the MCP server ids the client may get tokens for; `[\"*\"]` means every MCP server except the admin API; empty or absent means **none** (its requests get `invalid_target`). The admin API (`authgate-admin`) is reachable only when listed by id. `scopes` (absent: any the server defines) caps every grant",
    ),
];

/// The row for a dotted key.
pub fn find(key: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.key == key)
}

/// The documented keys directly inside `table` (`""`: the top level).
pub fn keys_in(table: &str) -> impl Iterator<Item = &'static str> + '_ {
    KEYS.iter().filter_map(move |k| {
        let (parent, name) = k.key.rsplit_once('.').unwrap_or(("", k.key));
        (parent == table).then_some(name)
    })
}

/// Top-level keys that take a single value, i.e. the ones an
/// `AUTHGATE_<KEY>` environment variable may set.
pub fn env_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(|k| !k.key.contains('.') && k.kind != "array of tables")
        .map(|k| k.key)
}

/// The known word nearest to `unknown` when it is close enough to be a
/// likely typo (a few edits, or one contains the other).
pub fn nearest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let u = unknown.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&u, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3) || (u.len() >= 4 && k.contains(u.as_str())))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The README's Configuration table (between the `config-table` markers).
pub fn markdown_table() -> String {
    let defaults = serde_json::to_value(crate::config::Config::default()).unwrap_or_default();
    let mut out = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        let name = match k.key.rsplit_once('.') {
            Some((table, name)) => format!("`[{table}]` `{name}`"),
            None if k.kind == "array of tables" => format!("`[[{}]]`", k.key),
            None => format!("`{}`", k.key),
        };
        let default = match k.default {
            Some(d) => d.to_string(),
            None => default_text(k.key.split('.').fold(&defaults, |v, p| &v[p])),
        };
        out.push_str(&format!(
            "| {name} | {} | {default} | {} |\n",
            k.kind, k.meaning
        ));
    }
    out
}

fn default_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => format!("`{s}`"),
        serde_json::Value::Array(a) if a.is_empty() => "—".into(),
        other => format!("`{other}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- config-table:start -->\n";
    const END: &str = "<!-- config-table:end -->";

    /// Every key `Config::default()` serializes to (nested tables walked)
    /// has a row, and every row is a key.
    #[test]
    fn every_config_key_has_a_row() {
        fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
            let Some(map) = v.as_object() else { return };
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_object() {
                    walk(&path, v, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut keys = vec![];
        walk(
            "",
            &serde_json::to_value(crate::config::Config::default()).unwrap(),
            &mut keys,
        );
        let missing: Vec<_> = keys.iter().filter(|k| find(k).is_none()).collect();
        assert!(
            missing.is_empty(),
            "add these keys to config_keys::KEYS: {missing:?}"
        );
        let extra: Vec<_> = KEYS
            .iter()
            .filter(|d| !keys.iter().any(|k| k == d.key))
            // `[gateway]` is absent by default, so the default `Config`
            // does not serialize it.
            .filter(|d| d.key != "gateway" && !d.key.starts_with("smtp."))
            .map(|d| d.key)
            .collect();
        assert!(extra.is_empty(), "rows for keys Config lacks: {extra:?}");
    }

    /// The README's table is [`markdown_table`]. To regenerate it:
    /// `UPDATE_README=1 cargo test -p authgate-authority --lib config_keys`.
    #[test]
    fn readme_table_is_generated_from_keys() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let start = readme
            .find(START)
            .expect("README lacks the config-table:start marker")
            + START.len();
        let end = readme
            .find(END)
            .expect("README lacks the config-table:end marker");
        let table = markdown_table();
        if readme[start..end] == table {
            return;
        }
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        panic!(
            "README's Configuration table differs from config_keys::KEYS; regenerate it with\n  \
             UPDATE_README=1 cargo test -p authgate-authority --lib config_keys"
        );
    }

    #[test]
    fn nearest_finds_typos_not_strangers() {
        assert_eq!(nearest("issuers", keys_in("")), Some("issuer"));
        assert_eq!(nearest("isuer", keys_in("")), Some("issuer"));
        assert_eq!(
            nearest("max_fetch_per_host", keys_in("cimd")),
            Some("max_fetches_per_host")
        );
        assert_eq!(nearest("zzzzzz", keys_in("")), None);
    }

    #[test]
    fn env_keys_are_the_top_level_values() {
        let env: Vec<_> = env_keys().collect();
        assert!(env.contains(&"issuer") && env.contains(&"trusted_proxies"));
        assert!(!env.contains(&"resources") && !env.iter().any(|k| k.contains('.')));
    }
}
