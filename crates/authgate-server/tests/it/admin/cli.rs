//! The `authgate` binary: first administrator offline, the setup link, and
//! the management commands against a running server's admin API.

use super::*;
use serde_json::json;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_authgate");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Out {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHGATE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn authgate");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.unwrap_or("").as_bytes()).await.unwrap();
        drop(i);
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("authgate finished in time")
    .expect("output");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A config file for the local store in `dir` (a SQLite file, its own data
/// directory).
fn local_config(dir: &std::path::Path) -> std::path::PathBuf {
    let db = format!("sqlite://{}", dir.join("a.db").display());
    let data = dir.join("data");
    let cfg = dir.join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "database_url = {db:?}\ndata_dir = {:?}\nissuer = \"http://127.0.0.1:9\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

#[tokio::test]
async fn admin_create_and_setup_link_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = local_config(dir.path());
    let c = cfg.to_str().unwrap();
    // No administrator yet: a setup link.
    let out = run(&["--config", c, "admin", "setup-link"], &[], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .trim()
            .starts_with("http://127.0.0.1:9/admin/setup?token="),
        "{}",
        out.stdout
    );
    // A short password is refused; then the admin is created.
    let out = run(
        &[
            "--config",
            c,
            "admin",
            "create",
            "--email",
            "Root@Example.com",
        ],
        &[],
        Some("short\n"),
    )
    .await;
    assert_ne!(out.code, 0);
    let out = run(
        &[
            "--config",
            c,
            "admin",
            "create",
            "--email",
            "Root@Example.com",
            "--name",
            "Root",
        ],
        &[],
        Some("a long enough password\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("administrator root@example.com created")
    );
    let out = run(
        &[
            "--config",
            c,
            "admin",
            "create",
            "--email",
            "root@example.com",
        ],
        &[],
        Some("a long enough password\n"),
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("already an administrator"),
        "{}",
        out.stderr
    );
    // Now there is one: no setup link.
    let out = run(&["--config", c, "admin", "setup-link"], &[], None).await;
    assert_ne!(out.code, 0);
    // The audit log shows it (local store).
    let out = run(&["--config", c, "audit", "--json"], &[], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["items"][0]["event"], "admin.user.created");
    assert_eq!(v["items"][0]["actor"], "cli");
    // Local admin operations run on the store too.
    let out = run(
        &["--config", c, "admin", "password-link", "root@example.com"],
        &[],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("http://127.0.0.1:9/password/reset?token=")
    );
    // Local changes are audited too.
    let out = run(&["--config", c, "keys", "rotate"], &[], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(
        &[
            "--config",
            c,
            "client",
            "add",
            "--id",
            "local-made",
            "--confidential",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("client_secret: "), "{}", out.stdout);
    let out = run(
        &["--config", c, "audit", "--json", "--limit", "5"],
        &[],
        None,
    )
    .await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let events: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].clone(),
                e["actor"].clone(),
                e["client_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events[0],
        (
            json!("admin.client.created"),
            json!("cli"),
            json!("local-made")
        )
    );
    assert!(events.iter().any(|e| e.0 == "key.rotated"), "{events:?}");
    assert!(!out.stdout.contains("client_secret"));

    // What `client add` stored: the defaults a client declared in the
    // config file gets (auth method from whether it has a secret, grant
    // types from whether it has redirect URIs).
    let out = run(
        &[
            "--config",
            c,
            "client",
            "add",
            "--id",
            "local-public",
            "--redirect-uri",
            "http://127.0.0.1:7777/cb",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("client_secret"), "{}", out.stdout);
    let out = run(&["--config", c, "client", "list", "--json"], &[], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let listed = |id: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|x| x["client_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not listed: {v}"))
    };
    let confidential = listed("local-made");
    assert_eq!(
        confidential["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(confidential["grant_types"], json!(["client_credentials"]));
    assert_eq!(confidential["kind"], "pre_registered");
    assert_eq!(confidential["source"], "administrator");
    let public = listed("local-public");
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert_eq!(
        public["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(public["redirect_uris"], json!(["http://127.0.0.1:7777/cb"]));
}

#[tokio::test]
async fn management_commands_through_the_admin_api() {
    let app = TestApp::start_with(admin_config(), "").await;
    let base = app.base.clone();
    let env = [
        ("AUTHGATE_ADMIN_CLIENT_ID", "ops"),
        ("AUTHGATE_ADMIN_CLIENT_SECRET", OPS_SECRET),
    ];
    let remote = |args: &[&str]| {
        let mut v = vec!["--server", base.as_str()];
        v.extend_from_slice(args);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let call = |args: Vec<String>, stdin: Option<&'static str>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs, &env, stdin).await
    };
    // Without credentials: a clear error.
    let out = run(
        &remote(&["resource", "list"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &[],
        None,
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("AUTHGATE_ADMIN_CLIENT_ID"),
        "{}",
        out.stderr
    );
    // Lists, as JSON and as a table.
    let out = call(remote(&["resource", "list", "--json"]), None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|r| r["id"] == "weather"));
    let out = call(remote(&["resource", "list"]), None).await;
    assert!(out.stdout.starts_with("ID"), "{}", out.stdout);
    assert!(out.stdout.contains(WEATHER_URI));
    // Add an MCP server; its metadata comes back.
    let out = call(
        remote(&[
            "resource",
            "add",
            "--id",
            "fc",
            "--name",
            "Forecasts",
            "--uri",
            "https://fc.example.com/mcp",
            "--scope",
            "fc:read=Read",
            "--scope",
            "fc:write=Write",
            "--implies",
            "fc:write>fc:read",
            "--default-scope",
            "fc:read",
        ]),
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("\"resource\": \"https://fc.example.com/mcp\""),
        "{}",
        out.stdout
    );
    let r = app.store.get_resource("fc").await.unwrap().unwrap();
    assert_eq!(r.scopes[1].implies, vec!["fc:read"]);
    // Validation errors name the field.
    let out = call(
        remote(&[
            "resource",
            "add",
            "--id",
            "bad",
            "--name",
            "x",
            "--uri",
            "http://x.example",
        ]),
        None,
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("uri:"), "{}", out.stderr);
    // A client; its secret works.
    let out = call(
        remote(&[
            "client",
            "add",
            "--id",
            "cli-made",
            "--confidential",
            "--resource",
            "weather",
        ]),
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let secret = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .trim()
        .to_string();
    let (s, body, _) = app
        .token_form(
            Some(("cli-made", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("resource", WEATHER_URI),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let out = call(
        remote(&["admin", "rotate-secret", "cli-made", "--json"]),
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_ne!(v["client_secret"], secret.as_str());
    for args in [
        vec!["client", "block", "cli-made"],
        vec!["client", "unblock", "cli-made"],
    ] {
        let out = call(remote(&args), None).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let out = call(remote(&["client", "list"]), None).await;
    assert!(out.stdout.contains("cli-made") && out.stdout.contains("LAST USED"));
    // A person, disabled and enabled by email.
    let out = call(
        remote(&["user", "add", "--email", "eve@example.com"]),
        Some("a long enough password\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for args in [
        vec!["user", "disable", "eve@example.com"],
        vec!["user", "enable", "eve@example.com"],
    ] {
        let out = call(remote(&args), None).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let out = call(
        remote(&["admin", "grants", "eve@example.com", "--json"]),
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Roles, edit, search, sign out and delete, through the API.
    for args in [
        vec!["user", "set-role", "eve@example.com", "auditor"],
        vec!["user", "edit", "eve@example.com", "--name", "Eve A."],
        vec!["user", "sign-out", "eve@example.com"],
        vec!["user", "mfa-reset", "eve@example.com"],
    ] {
        let out = call(remote(&args), None).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    let out = call(
        remote(&["user", "list", "--role", "auditor", "--json"]),
        None,
    )
    .await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        (v[0]["email"].as_str(), v[0]["name"].as_str()),
        (Some("eve@example.com"), Some("Eve A."))
    );
    let out = call(remote(&["user", "delete", "eve@example.com"]), None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        app.store
            .get_user_by_email("eve@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // Keys and the audit log.
    let out = call(remote(&["keys", "rotate"]), None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = call(remote(&["keys", "list", "--json"]), None).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    // Three keys (access token, RS256 and EdDSA ID tokens), each rotated.
    assert_eq!(v.as_array().unwrap().len(), 6);
    audit_event(&app, "key.rotated", |e| e["event"] == "key.rotated").await;
    let out = call(remote(&["audit", "--q", "admin.client", "--json"]), None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"].as_str().unwrap().starts_with("admin.client"))
    );
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "client:ops")
    );
    // Remove; local-only commands say so.
    let out = call(remote(&["resource", "remove", "fc"]), None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(app.store.get_resource("fc").await.unwrap().is_none());
    let out = call(remote(&["admin", "setup-link"]), None).await;
    assert_ne!(out.code, 0);
    app.shutdown().await;
}

/// Local management commands run the admin operations: each change leaves
/// the admin API's audit row (actor `cli`, the operating-system user as
/// its address) and is validated as the API validates it.
#[tokio::test]
async fn local_changes_are_audited_admin_operations() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = local_config(dir.path());
    let c = cfg.to_str().unwrap();
    let env = [("USER", "tester")];
    let ok = |args: Vec<&'static str>| {
        let mut v = vec!["--config", c];
        v.extend(args);
        async move {
            let out = run(&v, &env, None).await;
            assert_eq!(out.code, 0, "{v:?}: {}", out.stderr);
            out
        }
    };
    let tides = "https://tides.example.com/mcp";
    ok(vec![
        "resource", "add", "--id", "tides", "--name", "Tides", "--uri", tides,
    ])
    .await;
    ok(vec![
        "client",
        "add",
        "--id",
        "m",
        "--confidential",
        "--resource",
        "tides",
    ])
    .await;
    ok(vec!["client", "block", "m"]).await;
    ok(vec!["client", "block-host", "evil.example"]).await;
    ok(vec!["resource", "remove", "tides"]).await;
    // Behaviour change: the CLI refused nothing the config file took; a
    // public client with client_credentials is refused as by the API.
    let out = run(
        &[
            "--config",
            c,
            "client",
            "add",
            "--id",
            "public-machine",
            "--grant-type",
            "client_credentials",
        ],
        &env,
        None,
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("grant_types:"), "{}", out.stderr);

    // Behaviour change: `user disable` keeps the last active administrator,
    // as the API does (the local command disabled it).
    let out = run(
        &[
            "--config",
            c,
            "user",
            "add",
            "--email",
            "root@example.com",
            "--admin",
        ],
        &env,
        Some("a long enough password\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(
        &["--config", c, "user", "disable", "root@example.com"],
        &env,
        None,
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("last active administrator"),
        "{}",
        out.stderr
    );
    // Roles from the command line: an auditor added, promoted, listed by
    // role; the last administrator not demoted.
    let out = run(
        &[
            "--config",
            c,
            "user",
            "add",
            "--email",
            "audrey@example.com",
            "--role",
            "auditor",
        ],
        &env,
        Some("a long enough password\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = ok(vec!["user", "list", "--role", "auditor", "--json"]).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["email"], "audrey@example.com", "{v}");
    let out = run(
        &[
            "--config",
            c,
            "user",
            "set-role",
            "root@example.com",
            "user",
        ],
        &env,
        None,
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("last active administrator"),
        "{}",
        out.stderr
    );
    ok(vec!["user", "set-role", "audrey@example.com", "admin"]).await;
    ok(vec!["user", "set-role", "root@example.com", "user"]).await;
    let out = ok(vec!["user", "list", "--role", "admin"]).await;
    assert!(out.stdout.contains("audrey@example.com") && !out.stdout.contains("root@"));
    let out = run(
        &[
            "--config",
            c,
            "user",
            "add",
            "--email",
            "x@example.com",
            "--role",
            "root",
        ],
        &env,
        None, // refused before the password is read
    )
    .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("not user, auditor or admin"),
        "{}",
        out.stderr
    );

    let out = ok(vec!["audit", "--json", "--q", "admin.resource"]).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
    let out = ok(vec!["audit", "--json", "--q", "admin.client"]).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let events: Vec<(String, Value)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["actor"], "cli", "{e}");
            assert_eq!(e["address"], "local (tester)", "{e}");
            (e["event"].as_str().unwrap().to_owned(), e.clone())
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "admin.client.host_blocked",
            "admin.client.blocked",
            "admin.client.created",
        ]
    );
    // The operations' details, not the old generic ones.
    assert_eq!(events[2].1["client_id"], "m");
    assert_eq!(events[2].1["detail"]["confidential"], true);
}

/// The hidden benchmark helper mints refresh tokens outside every flow: it
/// leaves an audit row saying how many, for which client.
#[tokio::test]
async fn minting_bench_refresh_tokens_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = local_config(dir.path());
    let c = cfg.to_str().unwrap();
    let env = [("USER", "tester")];
    for args in [
        vec![
            "resource",
            "add",
            "--id",
            "tides",
            "--name",
            "Tides",
            "--uri",
            "https://tides.example.com/mcp",
        ],
        vec![
            "client",
            "add",
            "--id",
            "m",
            "--confidential",
            "--resource",
            "tides",
        ],
    ] {
        let mut v = vec!["--config", c];
        v.extend(args);
        let out = run(&v, &env, None).await;
        assert_eq!(out.code, 0, "{v:?}: {}", out.stderr);
    }
    let out = run(
        &[
            "--config",
            c,
            "bench-seed-refresh",
            "--client",
            "m",
            "--count",
            "3",
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    let out = run(
        &[
            "--config",
            c,
            "audit",
            "--json",
            "--q",
            "cli.bench_refresh_tokens_minted",
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["client_id"], "m");
    assert_eq!(items[0]["resource_id"], "tides");
    assert_eq!(items[0]["detail"]["count"], 3);
}

#[tokio::test]
async fn user_invite_and_resource_signup_rule_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = local_config(dir.path());
    let cfg_s = cfg.to_str().unwrap();
    // Without [smtp], nothing is created.
    let out = run(
        &["user", "invite", "ivy@example.com", "--config", cfg_s],
        &[],
        None,
    )
    .await;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("[smtp]"), "{}", out.stderr);
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "[smtp]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\nfrom = \"id <id@example.test>\"\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let out = run(
        &[
            "user",
            "invite",
            "ivy@example.com",
            "--name",
            "Ivy",
            "--config",
            cfg_s,
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("invitation for ivy@example.com queued"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("token="), "the link is never printed");
    let list = run(&["user", "list", "--json", "--config", cfg_s], &[], None).await;
    assert!(list.stdout.contains("ivy@example.com"), "{}", list.stdout);

    let out = run(
        &[
            "resource",
            "add",
            "--id",
            "shut",
            "--name",
            "Shut",
            "--uri",
            "https://shut.example/mcp",
            "--signup",
            "closed",
            "--config",
            cfg_s,
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = run(
        &["resource", "list", "--json", "--config", cfg_s],
        &[],
        None,
    )
    .await;
    assert!(
        list.stdout.contains("\"signup\": \"closed\""),
        "{}",
        list.stdout
    );
    let bad = run(
        &[
            "resource",
            "add",
            "--id",
            "x",
            "--name",
            "X",
            "--uri",
            "https://x.example/mcp",
            "--signup",
            "sometimes",
            "--config",
            cfg_s,
        ],
        &[],
        None,
    )
    .await;
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("inherit, open, closed"),
        "{}",
        bad.stderr
    );
}
