//! Tests that run the real `authgate` binary: zero-config start, config
//! errors, crash safety, and two instances sharing PostgreSQL.

use crate::support::SVC_SECRET;
use serde_json::Value;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_authgate");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &std::path::Path, args: &[&str]) -> Proc {
    Proc(
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env_remove("AUTHGATE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn authgate"),
    )
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("authgate at {base} did not become ready");
}

fn write_config(dir: &std::path::Path, port: u16, database_url: &str) -> std::path::PathBuf {
    let p = dir.join("authgate.toml");
    let mut f = std::fs::File::create(&p).unwrap();
    write!(
        f,
        r#"
issuer = "http://127.0.0.1:{port}"
listen = "127.0.0.1:{port}"
database_url = "{database_url}"
key_reload_interval_secs = 1
log_level = "warn"

[[resources]]
id = "weather"
name = "Weather"
uri = "https://mcp.example.com/weather"
default_scopes = ["weather:read"]
[[resources.scopes]]
name = "weather:read"
description = "Read forecasts"

[[clients]]
client_id = "svc"
client_secret = "{SVC_SECRET}"
resources = ["weather"]
"#
    )
    .unwrap();
    p
}

async fn cc_token(base: &str) -> String {
    let r: Value = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

async fn introspect(base: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/introspect"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_configuration_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["serve", "--issuer", "http://auth.example.com"], "issuer"),
        (&["serve", "--listen", "not-an-address"], "listen"),
        (&["serve", "--database-url", "mysql://x"], "database_url"),
        (&["serve", "--config", "/nonexistent.toml"], "--config"),
        // A level that is not one would silence all logging.
        (&["serve", "--log-level", "loud"], "log_level"),
        // No issuer and a non-loopback listen address: the public URL is
        // unknowable, so it must be given.
        (&["serve", "--listen", "0.0.0.0:18080"], "issuer"),
    ];
    for (args, key) in cases {
        let out = Command::new(BIN)
            .args(*args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{args:?}: {err}");
    }
    // Environment variables are a configuration layer too.
    let out = Command::new(BIN)
        .args(["serve"])
        .env("AUTHGATE_SIGNING_ALG", "HS256")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signing_alg"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "issuer = 5\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("issuer"));
    std::fs::write(&bad, "isuer = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("isuer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        &bad,
        "[[resources]]\nid = \"w\"\nname = \"W\"\nuri = \"http://example.com/mcp\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resources[0].uri"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn zero_config_start_creates_store_and_kek() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _p = spawn(
        dir.path(),
        &[
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--issuer",
            &format!("http://127.0.0.1:{port}"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    assert!(dir.path().join("authgate.db").exists());
    let kek = dir.path().join("authgate-data/kek");
    assert!(kek.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

/// Kill -9 while issuing tokens, restart: everything registered is still
/// there and tokens issued before still verify.
#[tokio::test]
async fn survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = write_config(dir.path(), port, "sqlite://authgate.db");
    let base = format!("http://127.0.0.1:{port}");
    let cfg_s = cfg.to_str().unwrap();
    let out = Command::new(BIN)
        .args([
            "--config",
            cfg_s,
            "user",
            "add",
            "--email",
            "ada@example.com",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(b"correct horse battery\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let mut p = spawn(dir.path(), &["serve", "--config", cfg_s]);
    wait_ready(&base).await;
    let before = cc_token(&base).await;
    // Load while killing.
    let loader = {
        let base = base.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                let _ = reqwest::Client::new()
                    .post(format!("{base}/token"))
                    .basic_auth("svc", Some(SVC_SECRET))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    kill9(&mut p);
    let _ = loader.await;
    let _p2 = spawn(dir.path(), &["serve", "--config", cfg_s]);
    wait_ready(&base).await;
    assert_eq!(introspect(&base, &before).await["active"], true);
    let after = cc_token(&base).await;
    assert_eq!(
        crate::support::decode_segment(&before, 0)["kid"],
        crate::support::decode_segment(&after, 0)["kid"],
        "the same signing key after restart"
    );
    let users = Command::new(BIN)
        .args(["--config", cfg_s, "user", "list", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&users.stdout).contains("ada@example.com"));
}

fn kill9(p: &mut Proc) {
    // Child::kill sends SIGKILL on Unix.
    p.0.kill().unwrap();
    p.0.wait().unwrap();
}

fn psql(sql: &str) {
    let url = std::env::var("AUTHGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let out = Command::new("psql")
        .arg(&url)
        .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql must be installed to run the PostgreSQL tests");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two `authgate serve` processes on one PostgreSQL database act as one.
#[tokio::test]
async fn two_instances_share_postgres() {
    let db = format!("authgate_it_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {db}"));
    psql(&format!("CREATE DATABASE {db}"));
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let cfg_a = write_config(dir.path(), pa, &url);
    let cfg_a = std::fs::rename(&cfg_a, dir.path().join("a.toml"))
        .map(|_| dir.path().join("a.toml"))
        .unwrap();
    let cfg_b = write_config(dir.path(), pb, &url);
    // Both instances must share the issuer for tokens to be interchangeable.
    let text_b = std::fs::read_to_string(&cfg_b).unwrap().replace(
        &format!("issuer = \"http://127.0.0.1:{pb}\""),
        &format!("issuer = \"http://127.0.0.1:{pa}\""),
    );
    std::fs::write(&cfg_b, text_b).unwrap();
    // One key-encryption key for both (a shared secret in a real deployment).
    let kek = dir.path().join("shared-kek");
    std::fs::write(&kek, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
    for cfg in [&cfg_a, &cfg_b] {
        let mut t = std::fs::read_to_string(cfg).unwrap();
        t = t.replacen(
            "log_level",
            &format!("key_encryption_key_file = \"{}\"\nlog_level", kek.display()),
            1,
        );
        std::fs::write(cfg, t).unwrap();
    }
    // Both start together on the empty database: they race to migrate,
    // provision and create the first signing keys, and must end up with one
    // key per algorithm between them (each verifies the other's tokens at once, not only
    // after the periodic key reload).
    let a = spawn(dir.path(), &["serve", "--config", cfg_a.to_str().unwrap()]);
    let b = spawn(dir.path(), &["serve", "--config", cfg_b.to_str().unwrap()]);
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    wait_ready(&base_a).await;
    wait_ready(&base_b).await;
    let jwks = |base: String| async move {
        reqwest::get(format!("{base}/jwks.json"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let (ja, jb) = (jwks(base_a.clone()).await, jwks(base_b.clone()).await);
    // ES256 for access tokens; RS256 and EdDSA for ID tokens.
    assert_eq!(ja["keys"].as_array().map(Vec::len), Some(3), "{ja}");
    assert_eq!(ja, jb, "both instances publish the same keys");

    // Issued by A, introspected at B; revoked at B, inactive at A.
    let t = cc_token(&base_a).await;
    assert_eq!(introspect(&base_b, &t).await["active"], true);
    let r = reqwest::Client::new()
        .post(format!("{base_b}/revoke"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("token", t.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(&base_a, &t).await["active"], false);

    // A key rotated through the CLI is published by both.
    let out = Command::new(BIN)
        .args(["--config", cfg_a.to_str().unwrap(), "keys", "rotate"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let kid = text.split_whitespace().nth(3).unwrap().to_string();
    for base in [&base_a, &base_b] {
        let mut ok = false;
        for _ in 0..60 {
            let j: Value = reqwest::get(format!("{base}/jwks.json"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if j["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid.as_str())
            {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ok, "{base} publishes the rotated key {kid}");
    }
    let t2 = cc_token(&base_b).await;
    assert_eq!(crate::support::decode_segment(&t2, 0)["kid"], kid.as_str());
    assert_eq!(introspect(&base_a, &t2).await["active"], true);
    drop(a);
    drop(b);
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

/// Serving HTTPS from PEM files, and Prometheus metrics on their own listener.
#[tokio::test]
async fn tls_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed for the TLS test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (port, mport) = (free_port(), free_port());
    let cfg = write_config(dir.path(), port, "sqlite://authgate.db");
    let mut t = std::fs::read_to_string(&cfg).unwrap();
    t = t.replace(
        &format!("issuer = \"http://127.0.0.1:{port}\""),
        &format!("issuer = \"https://localhost:{port}\""),
    );
    t = t.replacen(
        "log_level",
        &format!("tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\nmetrics_listen = \"127.0.0.1:{mport}\"\nlog_level", cert.display(), key.display()),
        1,
    );
    std::fs::write(&cfg, t).unwrap();
    let _p = spawn(dir.path(), &["serve", "--config", cfg.to_str().unwrap()]);
    // A self-signed certificate: this test checks that TLS is served from
    // the PEM files, not certificate path validation.
    let https = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = https.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "TLS server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m: Value = https
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], base.as_str());
    let r: Value = https
        .post(format!("{base}/token"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["access_token"].is_string(), "{r}");
    // Pages on an https issuer use __Host- cookies with Secure.
    let p = https.get(format!("{base}/login")).send().await.unwrap();
    let c = p.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        c.starts_with("__Host-authgate_session=") && c.contains("Secure"),
        "{c}"
    );
    let metrics = reqwest::get(format!("http://127.0.0.1:{mport}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("authgate_tokens_issued_total"),
        "{metrics}"
    );
    assert!(metrics.contains("client_credentials"));
}

fn authgate(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("AUTHGATE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run authgate")
}

/// Without `issuer`, the issuer is the loopback listen address, so the
/// discovery document and printed links point at this server.
#[tokio::test]
async fn issuer_defaults_to_the_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _p = spawn(
        dir.path(),
        &["serve", "--listen", &format!("127.0.0.1:{port}")],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let m: Value = reqwest::get(format!("{base}/.well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], base.as_str());
}

/// A loopback issuer on another port than the listen port starts (a proxy
/// may forward it) but warns that links point elsewhere.
#[tokio::test]
async fn loopback_issuer_on_another_port_warns() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let _p = Proc(
        Command::new(BIN)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--issuer",
                "http://127.0.0.1:8080",
            ])
            .current_dir(dir.path())
            .env_remove("AUTHGATE_CONFIG")
            .env_remove("AUTHGATE_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(
        log.contains("WARN") && log.contains("port 8080") && log.contains("listens on"),
        "{log}"
    );
}

/// A lost data directory (the key-encryption key gone, sealed signing keys
/// still in the database) stops start-up with a message saying what to
/// restore, and leaves no freshly generated, useless key behind.
#[tokio::test]
async fn lost_key_encryption_key_stops_start_up_without_generating_one() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    {
        let _p = spawn(dir.path(), &["serve", "--listen", &listen]);
        wait_ready(&format!("http://{listen}")).await;
    }
    let kek = dir.path().join("authgate-data/kek");
    assert!(kek.exists());
    std::fs::remove_dir_all(dir.path().join("authgate-data")).unwrap();
    let out = authgate(dir.path(), &["serve", "--listen", &listen]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("authgate-data/kek") && err.contains("Restore") && err.contains("signing key"),
        "{err}"
    );
    assert!(!kek.exists(), "no new key-encryption key was written");
    // The CLI's key rotation refuses the same way.
    let out = authgate(dir.path(), &["keys", "rotate"]);
    assert!(!out.status.success());
    assert!(!kek.exists());
}

/// Two MCP servers may not share a URL (equal under the tolerant match
/// clients' `resource` is compared with): not in one config file, not via
/// the CLI, not between the config file and what is already stored.
#[tokio::test]
async fn duplicate_resource_urls_are_refused_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = authgate(
        d,
        &[
            "resource",
            "add",
            "--id",
            "a",
            "--name",
            "A",
            "--uri",
            "https://mcp.example.com/mcp",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = authgate(
        d,
        &[
            "resource",
            "add",
            "--id",
            "b",
            "--name",
            "B",
            "--uri",
            "HTTPS://MCP.example.com:443/mcp/",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already has this URL") && err.contains("\"a\""),
        "{err}"
    );
    // Re-adding `a` itself (an update) is fine.
    let out = authgate(
        d,
        &[
            "resource",
            "add",
            "--id",
            "a",
            "--name",
            "A2",
            "--uri",
            "https://mcp.example.com/mcp/",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cfg = d.join("dup.toml");
    std::fs::write(
        &cfg,
        "[[resources]]\nid = \"x\"\nname = \"X\"\nuri = \"https://other.example.com/mcp\"\n\
         [[resources]]\nid = \"y\"\nname = \"Y\"\nuri = \"https://other.example.com/mcp/\"\n",
    )
    .unwrap();
    let out = authgate(d, &["--config", cfg.to_str().unwrap(), "serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resources[1].uri"), "{err}");

    let port = free_port();
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{port}\"\n[[resources]]\nid = \"z\"\nname = \"Z\"\n\
             uri = \"https://mcp.example.com/mcp\"\n"
        ),
    )
    .unwrap();
    let out = authgate(d, &["--config", cfg.to_str().unwrap(), "serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("resources[0].uri") && err.contains("\"a\""),
        "{err}"
    );
}

/// The first-run setup link creates an administrator: it goes to a 0600
/// file in the data directory, never to the log (stderr is not a terminal
/// here, so it is not printed either); the log names the file.
#[tokio::test]
async fn the_setup_link_is_in_a_private_file_not_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let cfg = write_config(dir.path(), port, &db);
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Proc(
        Command::new(BIN)
            .args([
                "--config",
                cfg.to_str().unwrap(),
                "--log-level",
                "info",
                "serve",
            ])
            .current_dir(dir.path())
            .env_remove("AUTHGATE_CONFIG")
            .env_remove("AUTHGATE_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn authgate"),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let file = dir.path().join("authgate-data").join("setup-link");
    let deadline = Instant::now() + Duration::from_secs(10);
    let link = loop {
        if let Ok(s) = std::fs::read_to_string(&file)
            && s.ends_with('\n')
        {
            break s.trim().to_string();
        }
        assert!(Instant::now() < deadline, "no {}", file.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        link.starts_with(&format!("{base}/admin/setup?token=")),
        "{link}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "setup-link mode {mode:o}");
    }
    let token = link.split("token=").nth(1).unwrap();
    // The log line follows the file; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut logged = std::fs::read_to_string(&log_path).unwrap();
    while !logged.contains("setup-link") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        logged = std::fs::read_to_string(&log_path).unwrap();
    }
    assert!(
        !logged.contains(token),
        "the setup token is in the log:\n{logged}"
    );
    assert!(
        logged.contains("setup-link"),
        "the log does not say where the link is:\n{logged}"
    );
    drop(child);
}

/// Reads one HTTP/1.1 request (head and Content-Length body) off `s`.
async fn read_http_request(s: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return String::from_utf8_lossy(&buf).into_owned();
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return text;
            }
        }
    }
}

/// `authgate serve` with a `[gateway]` table: the gateway listens on its
/// own address, accepts authgate's tokens for its public URL, enforces the
/// tool rules and writes its audit rows into authgate's audit log.
#[tokio::test]
async fn serve_runs_the_gateway_section_and_audits_its_tool_calls() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let (port, gw_port) = (free_port(), free_port());
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = upstream.accept().await {
            let seen = seen2.clone();
            tokio::spawn(async move {
                let req = read_http_request(&mut s).await;
                let reply: &[u8] = if req.starts_with("POST") {
                    seen.lock().unwrap().push(req.to_ascii_lowercase());
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 49\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}"
                } else {
                    b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"
                };
                let _ = s.write_all(reply).await;
            });
        }
    });
    let public = format!("http://127.0.0.1:{gw_port}/weather/mcp");
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
issuer = "http://127.0.0.1:{port}"
listen = "127.0.0.1:{port}"
database_url = "sqlite://{db}?mode=rwc"
log_level = "warn"

[[resources]]
id = "weather"
name = "Weather"
uri = "{public}"
default_scopes = ["weather:read"]
[[resources.scopes]]
name = "weather:read"
description = "Read forecasts"
[[resources.scopes]]
name = "weather:write"
description = "Set alerts"

[[clients]]
client_id = "svc"
client_secret = "{SVC_SECRET}"
resources = ["weather"]

[gateway]
listen = "127.0.0.1:{gw_port}"
signing_key_file = "gateway-data/signing-key.pem"
[[gateway.upstreams]]
name = "weather"
public_url = "{public}"
upstream_url = "http://{up_addr}/mcp"
issuer = "http://127.0.0.1:{port}"
[[gateway.upstreams.tools]]
name = "get_*"
scopes = ["weather:read"]
[[gateway.upstreams.tools]]
name = "set_alert"
scopes = ["weather:write"]
"#,
            db = dir.path().join("a.db").display(),
        ),
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let _p = spawn(dir.path(), &["serve", "--config", cfg_arg]);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let token = cc_token(&base).await;
    let http = reqwest::Client::new();
    let gw_health = format!("http://127.0.0.1:{gw_port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(&gw_health).send().await.is_err() {
        assert!(Instant::now() < deadline, "the gateway never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let call = |tool: &str| {
        http.post(&public)
            .bearer_auth(&token)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#
            ))
            .send()
    };
    let r = call("get_forecast").await.unwrap();
    assert_eq!(r.status(), 200);
    let r = call("set_alert").await.unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("scope=\"weather:read weather:write\""),
        "{challenge}"
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "only the allowed call reaches the upstream");
        assert!(seen[0].contains("authgate-caller: ") && !seen[0].contains("authorization:"));
    }
    // The audit rows land in authgate's audit log.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new(BIN)
            .args(["audit", "--json", "--q", "gateway", "--config", cfg_arg])
            .current_dir(dir.path())
            .env_remove("AUTHGATE_CONFIG")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("\"gateway.tool_call\"") && text.contains("\"gateway.tool_call.refused\"")
        {
            assert!(
                text.contains("set_alert") && text.contains("insufficient_scope"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no gateway audit rows: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
