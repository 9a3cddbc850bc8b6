//! Email over a real SMTP server: aiosmtpd (PyPI), run by
//! `e2e/smtp-sink/smtp_sink.py` on a loopback port, writes each message it
//! receives to a directory, decoded as a mail client would read it. Its
//! venv is made on first use (`python3 -m venv` + `pip install`), so
//! `cargo test` alone runs these.

use crate::browser::*;
use crate::support::*;
use authgate_authority::mail::SmtpConfig;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const NEW_PASSWORD: &str = "a brand new passphrase 42";

fn sink_python() -> PathBuf {
    static READY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    READY
        .get_or_init(|| {
            let root = sink_root();
            let venv = root.join(".venv");
            let python = venv.join("bin/python");
            let stamp = venv.join(".installed");
            if !stamp.exists() {
                let _ = std::fs::remove_dir_all(&venv);
                let ok = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success())
                    && Command::new(&python)
                        .args(["-m", "pip", "install", "-q", "-r"])
                        .arg(root.join("requirements.txt"))
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    ok,
                    "could not install aiosmtpd in {} (needs python3-venv and PyPI)",
                    venv.display()
                );
                std::fs::write(&stamp, "").expect("venv stamp");
            }
            python
        })
        .clone()
}

fn sink_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e/smtp-sink")
}

/// A message the SMTP server received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) raw: String,
    pub(crate) rcpt_tos: Vec<String>,
    pub(crate) subject: String,
    pub(crate) to: String,
    pub(crate) content_type: String,
    pub(crate) text: String,
    pub(crate) html: String,
}

impl Received {
    /// The first link in the text part that contains `path`.
    pub(crate) fn link(&self, path: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in: {}", self.text))
            .to_owned()
    }
}

/// The running SMTP server (killed on drop).
pub(crate) struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    pub(crate) port: u16,
}

impl Sink {
    pub(crate) fn start() -> Self {
        Self::start_on(None)
    }

    fn start_on(port: Option<u16>) -> Self {
        let python = sink_python();
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let mut cmd = Command::new(python);
        cmd.arg(sink_root().join("smtp_sink.py"))
            .arg(&port_file)
            .arg(dir.path().join("mail"));
        if let Some(p) = port {
            cmd.arg(p.to_string());
        }
        let child = cmd.spawn().expect("start the SMTP server");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Self { child, dir, port }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .iter()
            .map(|p| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                Received {
                    raw: std::fs::read_to_string(p.with_extension("eml")).unwrap(),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_owned())
                        .collect(),
                    subject: s("subject"),
                    to: s("to"),
                    content_type: s("content_type"),
                    text: s("text"),
                    html: s("html"),
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, got {}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The one message whose subject contains `what`, waiting for it.
    pub(crate) async fn one(&self, what: &str) -> Received {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got: Vec<_> = self
                .received()
                .into_iter()
                .filter(|m| m.subject.contains(what))
                .collect();
            if let [m] = got.as_slice() {
                return m.clone();
            }
            assert!(got.len() < 2, "two messages about {what:?}: {got:?}");
            assert!(Instant::now() < deadline, "no message about {what:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn smtp(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls: "none".into(),
        username: None,
        password_file: None,
        from: "Example ID <id@example.test>".into(),
        timeout_secs: 5,
        max_attempts: 8,
        retry_base_secs: 1,
    }
}

async fn app_mailing_to(port: u16) -> TestApp {
    let mut cfg = default_config();
    cfg.smtp = Some(smtp(port));
    TestApp::start_with(cfg, "").await
}

/// Asks for a reset link for `email` from a fresh browser; the page.
async fn ask_reset(app: &TestApp, email: &str) -> Page {
    let b = Browser::new();
    let p = b.get(&app.url("/password/forgot")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    b.post(
        &app.url("/password/forgot"),
        &[("csrf", &p.hidden("csrf")), ("email", email)],
    )
    .await
}

/// Sets `password` through the reset link `url` in browser `b`.
async fn use_reset_link(b: &Browser, app: &TestApp, url: &str, password: &str) -> Page {
    let form = b.get(url).await;
    if form.status != 200 {
        return form;
    }
    b.post(
        &app.url("/password/reset"),
        &[
            ("csrf", &form.hidden("csrf")),
            ("token", &form.hidden("token")),
            ("password", password),
            ("password2", password),
        ],
    )
    .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> (Browser, Page) {
    let b = Browser::new();
    let p = b.get(&app.url("/login")).await;
    let done = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &p.hidden("csrf")),
                ("r", ""),
                ("email", email),
                ("password", password),
            ],
        )
        .await;
    (b, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_by_mail_end_to_end() {
    let sink = Sink::start();
    let app = app_mailing_to(sink.port).await;
    let ann = add_user(&app, "ann@example.com").await;

    // Ann uses an app: a session, a grant and a refresh token. Allowing a
    // client for the first time is mailed to her.
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ann@example.com", &[]).await;
    let (s, tokens) = exchange(&app, &p.query()["code"], VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let notice = sink.one("can now use your account").await;
    assert!(
        notice.text.contains("Public") && notice.text.contains("Weather"),
        "{}",
        notice.text
    );
    assert_eq!(notice.rcpt_tos, vec!["ann@example.com"]);

    // She forgot her password: the page says "check your mail".
    let page = ask_reset(&app, "ann@example.com").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"reset-sent\""), "{}", page.body);
    let mail = sink.one("Reset your password").await;
    assert_eq!(mail.rcpt_tos, vec!["ann@example.com"]);
    assert!(
        mail.to.contains("Ada") && mail.to.contains("<ann@example.com>"),
        "{}",
        mail.to
    );
    assert_eq!(mail.content_type, "multipart/alternative");
    let link = mail.link("/password/reset?token=");
    assert!(
        link.starts_with(&app.url("/password/reset?token=")),
        "{link}"
    );
    assert!(mail.html.contains(&link), "the HTML part has the link too");
    let token = link.rsplit('=').next().unwrap();
    assert_eq!(token.len(), 43, "256 random bits");

    // The link sets a new password...
    let nb = Browser::new();
    let done = use_reset_link(&nb, &app, &link, NEW_PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.unwrap().ends_with("/login?password_set=1"));
    // ...once.
    let again = use_reset_link(&Browser::new(), &app, &link, "yet another passphrase").await;
    assert_eq!(again.status, 404, "a used link is refused: {}", again.body);

    // Her sessions ended and her grants were revoked.
    let account = b.get(&app.url("/account")).await;
    assert_eq!(account.status, 303, "the old session is gone");
    let (s, body) = refresh(&app, &rt, None).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        app.store
            .list_grants_for_user(&ann.id)
            .await
            .unwrap()
            .is_empty()
    );

    // The new password signs in; the old one does not.
    let (_, ok) = sign_in(&app, "ann@example.com", NEW_PASSWORD).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let (_, old) = sign_in(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(old.status, 401);

    // And she is told her password changed.
    let changed = sink.one("was changed").await;
    assert!(changed.text.contains("ann@example.com"), "{}", changed.text);
    assert!(
        !changed.text.contains("token="),
        "a notice carries no link secret"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_reset_link_is_refused() {
    let app = TestApp::start().await;
    let u = add_user(&app, "exp@example.com").await;
    let link = authgate_authority::setup_links::create_link(
        app.state(),
        authgate_authority::setup_links::Purpose::PasswordReset,
        Some(&u.id),
        1,
    )
    .await
    .unwrap();
    let b = Browser::new();
    assert_eq!(b.get(&link.url).await.status, 200, "live at first");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let done = use_reset_link(&Browser::new(), &app, &link.url, NEW_PASSWORD).await;
    assert_eq!(done.status, 404, "{}", done.body);
    let (_, old) = sign_in(&app, "exp@example.com", PASSWORD).await;
    assert_eq!(old.status, 303, "the password did not change");
    app.shutdown().await;
}

/// A reset ends every other reset link: one left in a mailbox (or sent
/// to an attacker who briefly controlled it) must not reset the new
/// password again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_kills_the_other_reset_links() {
    let app = TestApp::start().await;
    let u = add_user(&app, "two@example.com").await;
    let make = || async {
        authgate_authority::setup_links::create_link(
            app.state(),
            authgate_authority::setup_links::Purpose::PasswordReset,
            Some(&u.id),
            600,
        )
        .await
        .unwrap()
        .url
    };
    let (first, second) = (make().await, make().await);
    assert_eq!(
        Browser::new().get(&second).await.status,
        200,
        "live at first"
    );
    let done = use_reset_link(&Browser::new(), &app, &first, NEW_PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let late = use_reset_link(&Browser::new(), &app, &second, "an attacker's passphrase").await;
    assert_eq!(
        late.status, 404,
        "the other link died with the reset: {}",
        late.body
    );
    let (_, ok) = sign_in(&app, "two@example.com", NEW_PASSWORD).await;
    assert_eq!(
        ok.status, 303,
        "the first reset's password stands: {}",
        ok.body
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_answers_alike_for_unknown_accounts_and_is_throttled() {
    let sink = Sink::start();
    let app = app_mailing_to(sink.port).await;
    add_user(&app, "known@example.com").await;
    // One browser (one CSRF token), so the two answers can be compared
    // byte for byte.
    let b = Browser::new();
    let form = b.get(&app.url("/password/forgot")).await;
    let csrf = form.hidden("csrf");
    let ask = |email: &'static str| {
        let (b, csrf, url) = (&b, csrf.clone(), app.url("/password/forgot"));
        async move { b.post(&url, &[("csrf", &csrf), ("email", email)]).await }
    };
    let known = ask("known@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_eq!(known.body, unknown.body, "the same page either way");
    sink.wait_for(1).await;

    // Three requests per address in the window; the fourth gets the same
    // page and sends nothing.
    for _ in 0..3 {
        let p = ask("known@example.com").await;
        assert_eq!(p.body, known.body);
    }
    sink.wait_for(3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = sink.received();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|m| m.rcpt_tos == vec!["known@example.com"]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newline_in_a_display_name_injects_no_header() {
    let sink = Sink::start();
    let app = app_mailing_to(sink.port).await;
    let mut eve = add_user(&app, "eve@example.com").await;
    eve.name = Some("Eve\r\nBcc: mallory@evil.example\r\nSubject: pwned".into());
    app.store.update_user(&eve).await.unwrap();
    ask_reset(&app, "eve@example.com").await;
    let [m] = sink.wait_for(1).await.try_into().unwrap();
    assert_eq!(m.rcpt_tos, vec!["eve@example.com"], "no extra recipient");
    let headers = m.raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(
        !headers.lines().any(|l| l.starts_with("bcc:")),
        "no Bcc header: {headers}"
    );
    assert_eq!(
        headers
            .lines()
            .filter(|l| l.starts_with("subject:"))
            .count(),
        1,
        "one Subject: {headers}"
    );
    assert!(
        m.subject.starts_with("Reset your password"),
        "{}",
        m.subject
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_keeps_mail_while_the_smtp_server_is_down() {
    // A port with nothing listening (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = app_mailing_to(port).await;
    add_user(&app, "patient@example.com").await;
    let page = ask_reset(&app, "patient@example.com").await;
    assert!(page.body.contains("id=\"reset-sent\""));
    // Attempts fail while the server is down...
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = app
        .store
        .list_audit_events(Some("mail.given_up"), None, 10)
        .await
        .unwrap();
    assert!(events.is_empty(), "not given up: {events:?}");
    // ...and the message goes out once it is back.
    let sink = Sink::start_on(Some(port));
    let mail = sink.one("Reset your password").await;
    let done = use_reset_link(
        &Browser::new(),
        &app,
        &mail.link("/password/reset?token="),
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(done.status, 303, "the delayed link works: {}", done.body);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_verification_link_verifies_once() {
    let sink = Sink::start();
    let app = app_mailing_to(sink.port).await;
    let u = add_user(&app, "vera@example.com").await;
    let (b, signed_in) = sign_in(&app, "vera@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303);
    let account = b.get(&app.url("/account")).await;
    assert!(
        account.body.contains("id=\"verify-email\""),
        "{}",
        account.body
    );
    let sent = b
        .post(
            &app.url("/account/verify-email"),
            &[("csrf", &account.hidden("csrf"))],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert!(
        sent.location
            .unwrap()
            .ends_with("/account?verification_sent=1")
    );

    let mail = sink.one("Confirm your email address").await;
    let link = mail.link("/email/verify?token=");
    // Opening the link (as a mail scanner would) spends nothing.
    let page = Browser::new().get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !app.store
            .get_user(&u.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    let v = Browser::new();
    let form = v.get(&link).await;
    let done = v
        .post(
            &app.url("/email/verify"),
            &[
                ("csrf", &form.hidden("csrf")),
                ("token", &form.hidden("token")),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"email-verified\""));
    assert!(
        app.store
            .get_user(&u.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    // Once only.
    let again = v
        .post(
            &app.url("/email/verify"),
            &[
                ("csrf", &form.hidden("csrf")),
                ("token", &form.hidden("token")),
            ],
        )
        .await;
    assert_eq!(again.status, 404);
    // Verified: the account page no longer offers it.
    let account = b.get(&app.url("/account")).await;
    assert!(!account.body.contains("id=\"verify-email\""));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_link_does_not_verify_a_changed_address() {
    let app = TestApp::start().await;
    let mut u = add_user(&app, "old@example.com").await;
    let link = authgate_authority::setup_links::create_email_link(
        app.state(),
        authgate_authority::setup_links::Purpose::EmailVerification,
        &u.id,
        &u.email,
        3600,
    )
    .await
    .unwrap();
    u.email = "new@example.com".into();
    app.store.update_user(&u).await.unwrap();
    assert_eq!(Browser::new().get(&link.url).await.status, 404);
    app.shutdown().await;
}

/// Runs the `authgate` binary with `stdin`; (exit code, stdout, stderr).
fn cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authgate"));
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHGATE_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.spawn().expect("spawn authgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_verify_emails_from_the_command_line() {
    let sink = Sink::start();
    let app = app_mailing_to(sink.port).await;
    // The running server's database and key-encryption key, so what the
    // command queues is what the server's outbox worker sends.
    let s = &app.state().settings;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "issuer = {:?}\ndatabase_url = {:?}\ndata_dir = {:?}\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Example ID <id@example.test>\"\n",
            s.issuer,
            s.database_url,
            s.raw.data_dir.display().to_string(),
            sink.port
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let verified = |email: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .get_user_by_email(email)
                .await
                .unwrap()
                .unwrap()
                .email_verified
        }
    };

    // `user add` starts unverified unless the operator says otherwise.
    let pw = format!("{PASSWORD}\n");
    let (code, _, err) = cli(
        &["--config", c, "user", "add", "--email", "plain@example.com"],
        &pw,
    );
    assert_eq!(code, 0, "{err}");
    assert!(!verified("plain@example.com").await);
    let (code, _, err) = cli(
        &[
            "--config",
            c,
            "user",
            "add",
            "--email",
            "op@example.com",
            "--verified",
        ],
        &pw,
    );
    assert_eq!(code, 0, "{err}");
    assert!(verified("op@example.com").await);

    // Without --send: on the operator's word.
    let (code, out, err) = cli(
        &["--config", c, "user", "verify-email", "plain@example.com"],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("plain@example.com is verified"), "{out}");
    assert!(verified("plain@example.com").await);

    // --send: a link, sent by the running server.
    add_user(&app, "link@example.com").await;
    let (code, out, err) = cli(
        &[
            "--config",
            c,
            "user",
            "verify-email",
            "link@example.com",
            "--send",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queued"), "{out}");
    let mail = sink.one("Confirm your email address").await;
    assert_eq!(mail.rcpt_tos, vec!["link@example.com"]);
    let page = Browser::new().get(&mail.link("/email/verify?token=")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!verified("link@example.com").await, "not until confirmed");

    // An unknown person is named in the error.
    let (code, _, err) = cli(
        &["--config", c, "user", "verify-email", "nobody@example.com"],
        "",
    );
    assert_ne!(code, 0);
    assert!(err.contains("nobody@example.com"), "{err}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_gives_up_after_max_attempts_and_audits_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = default_config();
    let mut smtp = smtp(port);
    smtp.max_attempts = 2;
    cfg.smtp = Some(smtp);
    let app = TestApp::start_with(cfg, "").await;
    add_user(&app, "lost@example.com").await;
    ask_reset(&app, "lost@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let event = loop {
        let events = app
            .store
            .list_audit_events(Some("mail.given_up"), None, 10)
            .await
            .unwrap();
        if let Some(e) = events.into_iter().next() {
            break e;
        }
        assert!(Instant::now() < deadline, "never given up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(event.outcome, "failed");
    let detail = serde_json::to_string(&event.detail).unwrap();
    assert!(detail.contains("\"attempts\":2"), "{detail}");
    assert!(detail.contains("password_reset"), "{detail}");
    assert!(
        !detail.contains("token="),
        "no link secret in the audit log"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_mail_is_sealed_at_rest() {
    // No [smtp]: nothing drains the outbox while we look at it.
    let app = TestApp::start().await;
    let content = authgate_authority::mail::MailContent {
        to: "ann@example.com".into(),
        to_name: Some("Ann".into()),
        subject: "Reset".into(),
        text: "https://id.example/password/reset?token=SECRET-LINK-TOKEN".into(),
        html: "<a href=\"https://id.example/password/reset?token=SECRET-LINK-TOKEN\">x</a>".into(),
    };
    let id = authgate_authority::mail::enqueue(app.state(), "password_reset", &content)
        .await
        .unwrap();
    let row = app.store.get_mail(&id).await.unwrap().expect("queued");
    assert!(row.sealed);
    assert!(
        !row.payload.contains("SECRET-LINK-TOKEN"),
        "{}",
        row.payload
    );
    assert_eq!(row.recipient, "ann@example.com");
    assert_eq!(
        authgate_authority::mail::outbox::open(app.state(), &row).unwrap(),
        content,
        "opens with the key-encryption key"
    );
    // Tampered with (or moved to another row), it does not open.
    let mut moved = row.clone();
    moved.id = "another-id".into();
    assert!(authgate_authority::mail::outbox::open(app.state(), &moved).is_err());
    app.shutdown().await;
}

/// A person who signs in only through an identity provider (no password)
/// gets no reset link: it would give their account a password, a way in
/// around the provider. The page is the same as for anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reset_link_for_an_account_without_a_password() {
    let sink = Sink::start();
    let app = app_mailing_to(sink.port).await;
    let mut fed = add_user(&app, "fed@example.com").await;
    fed.password_hash = authgate_authority::federation::link::NO_PASSWORD.into();
    app.store.update_user(&fed).await.unwrap();
    add_user(&app, "pw@example.com").await;
    ask_reset(&app, "fed@example.com").await;
    ask_reset(&app, "pw@example.com").await;
    sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = sink.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].rcpt_tos, vec!["pw@example.com"]);
    app.shutdown().await;
}

/// The admin API verifies an address the two ways the CLI does (so
/// `authgate user verify-email --server …` works): marked verified now, or
/// a link mailed (through the real SMTP server); audited; documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_verify_emails_through_the_admin_api() {
    let sink = Sink::start();
    let mut cfg = crate::admin::admin_config();
    cfg.smtp = Some(smtp(sink.port));
    let app = TestApp::start_with(cfg, "").await;
    let token = crate::admin::client_token(&app, "ops", "authgate:admin").await;
    let a = crate::admin::Admin { app, token };
    let ann = add_user(&a.app, "ann@example.com").await;
    let bob = add_user(&a.app, "bob@example.com").await;

    let (s, v) = a
        .call(
            "POST",
            &format!("/users/{}/verify-email", ann.id),
            Some(serde_json::json!({"send": true})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["email_verified"], false, "not yet: a link went out");
    let mail = sink.one("Confirm your email address").await;
    assert_eq!(mail.rcpt_tos, vec!["ann@example.com"]);
    assert!(mail.text.contains("/email/verify?token="), "{}", mail.text);

    let (s, v) = a
        .call(
            "POST",
            &format!("/users/{}/verify-email", bob.id),
            Some(serde_json::json!({"send": false})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["email_verified"], true, "{v}");
    assert!(
        a.app
            .store
            .get_user(&bob.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    crate::admin::audit_event(&a.app, "admin.user.email_verified", |e| {
        e["event"] == "admin.user.email_verified"
    })
    .await;
    let (s, _) = a
        .call(
            "POST",
            "/users/nobody/verify-email",
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, e) = a
        .call(
            "POST",
            &format!("/users/{}/verify-email", bob.id),
            Some(serde_json::json!({"send": "yes"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let doc: serde_json::Value = a
        .app
        .http
        .get(a.api("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/users/{id}/verify-email"]["post"].is_object());
    a.app.shutdown().await;
}

/// Without `[smtp]`, asking the API to mail a link is a clear 400 naming
/// `send`, and nothing changes.
#[tokio::test]
async fn the_admin_api_cannot_mail_a_link_without_smtp() {
    let a = crate::admin::Admin::start().await;
    let u = add_user(&a.app, "cy@example.com").await;
    let (s, e) = a
        .call(
            "POST",
            &format!("/users/{}/verify-email", u.id),
            Some(serde_json::json!({"send": true})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "send", "{e}");
    a.app.shutdown().await;
}
