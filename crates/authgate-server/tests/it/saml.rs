//! SAML 2.0 sign-in against a REAL identity provider: pysaml2's IdP
//! (`e2e/upstream-saml/idp.py`, signing with xmlsec1) runs as a child
//! process on a loopback port, reads authgate's SP metadata from its
//! entity id, decodes the AuthnRequest, shows its login page and answers
//! with a signed Response through an auto-submitting form. The test
//! browser walks: /authorize → email step → /federation/{id}/start →
//! the IdP's page → ACS → the same-site hand-on → consent → token.
//! Attacks: a replayed response, a response to another request, another
//! browser, a wrong RelayState, an unsigned and a wrapped assertion, an
//! assertion for another SP.

use crate::browser::*;
use crate::support::*;
use authgate_authority::federation::manage::{self as conns, ConnectionInput, SamlInput};
use authgate_authority::manage::Actor;
use authgate_authority::orgs::manage::{self as orgs, OrgInput};
use base64::Engine as _;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

fn actor() -> Actor {
    Actor {
        name: "ops@example.com".into(),
        address: None,
        user_id: None,
    }
}

fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e/upstream-saml")
}

/// The IdP's Python (a venv with pysaml2, made on first use).
fn python() -> PathBuf {
    static READY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    READY
        .get_or_init(|| {
            let root = idp_dir();
            let venv = root.join(".venv");
            let python = venv.join("bin/python");
            let _lock = std::fs::File::create(std::env::temp_dir().join("authgate-saml-venv.lock"));
            if !venv.join(".installed").exists() {
                let _ = std::fs::remove_dir_all(&venv);
                let ok = std::process::Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success())
                    && std::process::Command::new(&python)
                        .args(["-m", "pip", "install", "-q", "-r"])
                        .arg(root.join("requirements.txt"))
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    ok,
                    "could not install the pysaml2 test IdP in {} (needs python3-venv, PyPI and xmlsec1)",
                    venv.display()
                );
                std::fs::write(venv.join(".installed"), "").unwrap();
            }
            python
        })
        .clone()
}

/// The real pysaml2 IdP, killed when dropped.
pub struct Idp {
    pub entity_id: String,
    pub sso_url: String,
    pub cert_pem: String,
    _child: tokio::process::Child,
}

impl Idp {
    pub async fn start() -> Self {
        let cfg = serde_json::json!({
            "accounts": {
                "ann": {"password": "ann-pw", "name_id": "ann-0001",
                        "attributes": {"mail": ["Ann@Acme.example"], "displayName": ["Ann Saml"],
                                       "groups": ["eng", "ops"]}},
            },
            "sp_prefixes": ["http://127.0.0.1:"],
        });
        let mut child = tokio::process::Command::new(python())
            .arg(idp_dir().join("idp.py"))
            .env("UPSTREAM_SAML", cfg.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 is needed for the SAML tests");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the pysaml2 IdP did not start in 60 s")
            .unwrap()
            .expect("the pysaml2 IdP printed nothing");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        Self {
            entity_id: v["entity_id"].as_str().unwrap().to_owned(),
            sso_url: v["sso_url"].as_str().unwrap().to_owned(),
            cert_pem: v["cert_pem"].as_str().unwrap().to_owned(),
            _child: child,
        }
    }
}

/// authgate with SAML connection `corp` (trusted for acme.example) to a
/// fresh pysaml2 IdP, and organization `acme` (acme.example) routed to it.
async fn setup() -> (TestApp, Idp) {
    let app = TestApp::start().await;
    let idp = Idp::start().await;
    let c = conns::create_connection(
        app.state(),
        &actor(),
        ConnectionInput {
            id: "corp".into(),
            display_name: Some("Corp SAML".into()),
            trusted_email_domains: vec!["acme.example".into()],
            show_on_login: true,
            saml: Some(SamlInput {
                idp_entity_id: idp.entity_id.clone(),
                sso_url: idp.sso_url.clone(),
                idp_certificates: vec![idp.cert_pem.clone()],
                subject_attribute: None,
                trust_email: false,
            }),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(c.kind, "saml");
    assert_eq!(
        c.sp_entity_id.as_deref(),
        Some(app.url("/saml/corp").as_str())
    );
    assert_eq!(
        c.acs_url.as_deref(),
        Some(app.url("/saml/corp/acs").as_str())
    );
    orgs::create_org(
        app.state(),
        &actor(),
        OrgInput {
            id: "acme".into(),
            name: "Acme".into(),
            connection_ids: vec!["corp".into()],
            forbid_local_passwords: false,
            require_mfa: false,
        },
    )
    .await
    .unwrap();
    orgs::add_domain(app.state(), &actor(), "acme", "acme.example")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor(), "acme", "acme.example")
        .await
        .unwrap();
    (app, idp)
}

/// From /authorize through the email step to the IdP's SSO URL.
async fn to_idp(app: &TestApp, b: &Browser, email: &str) -> String {
    let p = b.get(&authorize_url(app, &[])).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let login = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("Corp SAML"), "button: {}", login.body);
    let p = b
        .post(
            &app.url("/login/email"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", &login.hidden("r")),
                ("email", email),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let start = p.location.unwrap();
    assert!(start.starts_with("/federation/corp/start?r="), "{start}");
    let p = b.get(&abs(app, &start)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    p.location.unwrap()
}

/// A `name='k' value='v'` field of the IdP's pages (single quotes).
fn field(body: &str, name: &str) -> String {
    let needle = format!("name='{name}' value='");
    let start = body
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + needle.len();
    let end = body[start..].find('\'').unwrap() + start;
    unescape(&body[start..end])
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#43;", "+")
        .replace("&#x3d;", "=")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The IdP's answer: the ACS URL its form posts to, SAMLResponse and
/// RelayState.
struct IdpAnswer {
    acs: String,
    response: String,
    relay_state: String,
}

/// Signs in as ann at the IdP's page (`mode`: a test knob of idp.py).
async fn idp_sign_in(b: &Browser, sso: &str, mode: &str) -> IdpAnswer {
    let page = b.get(sso).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let idp_base = url::Url::parse(sso).unwrap();
    let login = idp_base.join("/login").unwrap().to_string();
    let p = b
        .post(
            &login,
            &[
                ("key", &field(&page.body, "key")),
                ("username", "ann"),
                ("password", "ann-pw"),
                ("mode", mode),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let start = p.body.find("action='").unwrap() + "action='".len();
    let end = p.body[start..].find('\'').unwrap() + start;
    IdpAnswer {
        acs: unescape(&p.body[start..end]),
        response: field(&p.body, "SAMLResponse"),
        relay_state: field(&p.body, "RelayState"),
    }
}

/// What the browser does with the IdP's form: POST it to the ACS (cross
/// site), then submit authgate's hand-on form (same site). Returns the
/// second answer.
async fn post_to_acs(app: &TestApp, b: &Browser, a: &IdpAnswer) -> Page {
    let hand_on = b
        .post(
            &a.acs,
            &[
                ("SAMLResponse", &a.response),
                ("RelayState", &a.relay_state),
            ],
        )
        .await;
    assert_eq!(hand_on.status, 200, "{}", hand_on.body);
    let csp = hand_on.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert!(hand_on.body.contains("/assets/saml-post.js"));
    assert_eq!(unescape(&hand_on.hidden("SAMLResponse")), a.response);
    b.post(
        &app.url("/saml/corp/acs/continue"),
        &[
            ("SAMLResponse", &unescape(&hand_on.hidden("SAMLResponse"))),
            ("RelayState", &unescape(&hand_on.hidden("RelayState"))),
        ],
    )
    .await
}

async fn audited(app: &TestApp, event: &str, outcome: &str) -> bool {
    for _ in 0..100 {
        let events = app
            .store
            .list_audit_events(Some(event), None, 50)
            .await
            .unwrap();
        if events.iter().any(|e| e.outcome == outcome) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Consent, code, token; returns the access token's claims.
async fn consent_and_token(app: &TestApp, b: &Browser, p: Page) -> serde_json::Value {
    assert_eq!(p.status, 303, "{}", p.body);
    let consent = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains("id=\"consent-idp\">Corp SAML<"),
        "{}",
        consent.body
    );
    let p = b
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &consent.hidden("csrf")),
                ("r", &consent.hidden("r")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let code = p.query()["code"].clone();
    let (status, tokens) = exchange(app, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    decode_segment(tokens["access_token"].as_str().unwrap(), 1)
}

#[tokio::test]
async fn saml_sign_in_through_pysaml2_ends_in_a_token_with_idp_and_org() {
    let (app, idp) = setup().await;
    let b = Browser::new();
    let sso = to_idp(&app, &b, "ann@acme.example").await;
    assert!(sso.starts_with(&format!("{}?", idp.sso_url)), "{sso}");
    let q: std::collections::HashMap<_, _> = url::Url::parse(&sso)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(q.contains_key("SAMLRequest"));
    // RelayState is an opaque random value, never a URL.
    let relay = &q["RelayState"];
    assert!(
        relay.len() >= 32 && !relay.contains(':') && !relay.contains('/'),
        "{relay}"
    );

    let answer = idp_sign_in(&b, &sso, "").await;
    assert_eq!(answer.acs, app.url("/saml/corp/acs"), "from our metadata");
    assert_eq!(&answer.relay_state, relay);
    let p = post_to_acs(&app, &b, &answer).await;
    let claims = consent_and_token(&app, &b, p).await;
    assert_eq!(claims["idp"], "corp", "{claims}");
    assert_eq!(claims["org_id"], "acme", "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["fed"]), "{claims}");

    let user = app
        .store
        .get_user_by_email("ann@acme.example")
        .await
        .unwrap()
        .expect("created just in time from the trusted domain's email");
    assert_eq!(user.name.as_deref(), Some("Ann Saml"));
    let link = app
        .store
        .get_user_identity("corp", "ann-0001")
        .await
        .unwrap()
        .expect("linked by (connection, NameID)");
    assert_eq!(link.user_id, user.id);
    assert_eq!(link.claims.groups, vec!["eng", "ops"]);
    assert!(audited(&app, "federation.sign_in.succeeded", "ok").await);

    // The same response again, through the whole ACS: the flow is spent.
    let again = post_to_acs(&app, &b, &answer).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert!(audited(&app, "federation.sign_in.failed", "bad_state").await);
    app.shutdown().await;
}

#[tokio::test]
async fn an_assertion_id_signs_in_once_even_in_a_flow_with_the_same_request_id() {
    use authgate_authority::federation::oidc::UpstreamError;
    use authgate_authority::federation::saml;
    let (app, _idp) = setup().await;
    let mut conn = app.store.get_connection("corp").await.unwrap().unwrap();
    // No trusted domain: the email still counts as verified, in a
    // verified domain of the organization whose own IdP this is.
    conn.trusted_email_domains.clear();
    assert!(app.store.update_connection(&conn).await.unwrap());
    let b = Browser::new();
    let first = saml::begin(app.state(), &conn, "").await.unwrap();
    let a = idp_sign_in(&b, &first.url, "").await;
    let id = saml::finish(app.state(), &conn, &first.flow, &a.relay_state, &a.response)
        .await
        .unwrap();
    assert_eq!(id.subject, "ann-0001");
    assert!(
        id.email_verified,
        "acme.example is Acme's, and corp is Acme's IdP"
    );
    // Not an organization's IdP any more, no trusted domain: unverified.
    orgs::set_connection(app.state(), &actor(), "acme", "corp", false)
        .await
        .unwrap();
    let other = saml::begin(app.state(), &conn, "").await.unwrap();
    let a2 = idp_sign_in(&b, &other.url, "").await;
    let id = saml::finish(
        app.state(),
        &conn,
        &other.flow,
        &a2.relay_state,
        &a2.response,
    )
    .await
    .unwrap();
    assert!(!id.email_verified);
    // A second flow that carries the first one's request ID (so the
    // InResponseTo fits): the assertion's ID is in the replay cache.
    let mut second = saml::begin(app.state(), &conn, "").await.unwrap();
    second.flow.nonce = first.flow.nonce.clone();
    let e = saml::finish(
        app.state(),
        &conn,
        &second.flow,
        &second.flow.state,
        &a.response,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, UpstreamError::AssertionReplayed), "{e:?}");
    // The first flow again: spent.
    let e = saml::finish(app.state(), &conn, &first.flow, &a.relay_state, &a.response)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::BadState), "{e:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_response_to_another_request_is_refused() {
    let (app, _idp) = setup().await;
    let b = Browser::new();
    let sso = to_idp(&app, &b, "ann@acme.example").await;
    let first = idp_sign_in(&b, &sso, "").await;
    let p = post_to_acs(&app, &b, &first).await;
    assert_eq!(p.status, 303, "{}", p.body);
    // A new flow in the same browser; the old assertion, its RelayState
    // swapped for the new flow's: the InResponseTo no longer matches.
    let sso2 = to_idp(&app, &b, "ann@acme.example").await;
    let relay2: String = url::Url::parse(&sso2)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let replay = IdpAnswer {
        relay_state: relay2,
        ..first
    };
    let p = post_to_acs(&app, &b, &replay).await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(audited(&app, "federation.sign_in.failed", "bad_assertion").await);
    app.shutdown().await;
}

#[tokio::test]
async fn another_browser_or_a_wrong_relay_state_signs_nobody_in() {
    let (app, _idp) = setup().await;
    let b = Browser::new();
    let sso = to_idp(&app, &b, "ann@acme.example").await;
    let answer = idp_sign_in(&b, &sso, "").await;
    // An attacker's browser (no session) posting the victim's answer.
    let eve = Browser::new();
    let p = post_to_acs(&app, &eve, &answer).await;
    assert_eq!(p.status, 400, "{}", p.body);
    // The right browser, a RelayState of no flow of its own.
    let wrong = IdpAnswer {
        relay_state: "not-a-flow-of-this-browser-0123456789abcdef".into(),
        acs: answer.acs.clone(),
        response: answer.response.clone(),
    };
    let p = post_to_acs(&app, &b, &wrong).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("not started in this browser"), "{}", p.body);
    // A RelayState that is a URL (open redirect attempt) is not even read.
    let p = b
        .post(
            &app.url("/saml/corp/acs"),
            &[
                ("SAMLResponse", answer.response.as_str()),
                ("RelayState", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(!p.body.contains("evil.example"));
    // The flow was never spent by those: the right answer still works.
    let p = post_to_acs(&app, &b, &answer).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(!p.location.unwrap().contains("evil.example"));
    assert!(audited(&app, "federation.sign_in.failed", "bad_state").await);
    app.shutdown().await;
}

#[tokio::test]
async fn unsigned_wrapped_or_misaddressed_assertions_sign_nobody_in() {
    let (app, _idp) = setup().await;
    // Unsigned: pysaml2 told not to sign.
    let b = Browser::new();
    let sso = to_idp(&app, &b, "ann@acme.example").await;
    let a = idp_sign_in(&b, &sso, "unsigned").await;
    let p = post_to_acs(&app, &b, &a).await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(p.body.contains("could not be accepted"), "{}", p.body);

    // For another SP (audience): signed, but not for us.
    let b = Browser::new();
    let sso = to_idp(&app, &b, "ann@acme.example").await;
    let a = idp_sign_in(&b, &sso, "other-audience").await;
    let p = post_to_acs(&app, &b, &a).await;
    assert_eq!(p.status, 502, "{}", p.body);

    // Wrapped (XSW): the signed assertion moved after an unsigned evil
    // twin with another subject and email.
    let b = Browser::new();
    let sso = to_idp(&app, &b, "ann@acme.example").await;
    let a = idp_sign_in(&b, &sso, "").await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let doc = String::from_utf8(b64.decode(&a.response).unwrap()).unwrap();
    let start = doc[..doc.find(":Assertion ").unwrap()].rfind('<').unwrap();
    let end = doc.find(":Assertion>").unwrap() + ":Assertion>".len();
    let signed = &doc[start..end];
    let sig_start = signed.find("<ns2:Signature").expect("a signed assertion");
    let sig_end = signed.find("</ns2:Signature>").unwrap() + "</ns2:Signature>".len();
    let evil = format!("{}{}", &signed[..sig_start], &signed[sig_end..])
        .replace(">ann-0001<", ">admin<")
        .replace("Ann@Acme.example", "boss@acme.example");
    let wrapped = format!("{}{}{}{}", &doc[..start], evil, signed, &doc[end..]);
    let attack = IdpAnswer {
        response: b64.encode(wrapped),
        ..a
    };
    let p = post_to_acs(&app, &b, &attack).await;
    if p.status == 303 {
        // Only ever the signed person, never the evil twin.
        assert!(
            app.store
                .get_user_identity("corp", "admin")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            app.store
                .get_user_by_email("boss@acme.example")
                .await
                .unwrap()
                .is_none()
        );
    } else {
        assert_eq!(p.status, 502, "{}", p.body);
    }
    assert!(
        app.store
            .get_user_identity("corp", "admin")
            .await
            .unwrap()
            .is_none()
    );
    assert!(audited(&app, "federation.sign_in.failed", "bad_assertion").await);
    app.shutdown().await;
}

#[tokio::test]
async fn sp_metadata_names_the_acs_and_a_bad_certificate_is_a_clear_error() {
    let (app, idp) = setup().await;
    let r = reqwest::get(app.url("/saml/corp")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/samlmetadata+xml"
    );
    let xml = r.text().await.unwrap();
    let md: samael::metadata::EntityDescriptor = xml.parse().expect("well-formed metadata");
    assert_eq!(
        md.entity_id.as_deref(),
        Some(app.url("/saml/corp").as_str())
    );
    let sp = &md.sp_sso_descriptors.as_ref().unwrap()[0];
    assert_eq!(sp.want_assertions_signed, Some(true));
    let acs = &sp.assertion_consumer_services[0];
    assert_eq!(acs.location, app.url("/saml/corp/acs"));
    assert_eq!(
        acs.binding,
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    );
    assert!(
        sp.name_id_formats
            .as_ref()
            .unwrap()
            .iter()
            .any(|f| f.ends_with(":persistent"))
    );
    // No metadata for an unknown connection.
    let r = reqwest::get(app.url("/saml/nope")).await.unwrap();
    assert_eq!(r.status(), 404);

    let bad = |certs: Vec<String>| ConnectionInput {
        id: "corp2".into(),
        display_name: Some("Corp 2".into()),
        saml: Some(SamlInput {
            idp_entity_id: idp.entity_id.clone(),
            sso_url: idp.sso_url.clone(),
            idp_certificates: certs,
            subject_attribute: None,
            trust_email: false,
        }),
        ..ConnectionInput::default()
    };
    for certs in [
        vec![],
        vec!["not a certificate".to_string()],
        vec!["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".to_string()],
    ] {
        let e = conns::create_connection(app.state(), &actor(), bad(certs))
            .await
            .unwrap_err();
        assert_eq!(e.field(), Some("idp_certificates"), "{e}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_connection_cli_adds_a_saml_idp_and_names_a_bad_certificate() {
    use std::process::Command;
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "issuer = \"http://127.0.0.1:4444\"\ndatabase_url = \"sqlite://{d}/a.db\"\n\
             data_dir = \"{d}/data\"\nkey_encryption_key_file = \"{d}/kek\"\n\
             [[resources]]\nid = \"w\"\nname = \"W\"\nuri = \"https://w.example/mcp\"\n\
             scopes = [{{name = \"r\", description = \"r\"}}]\n"
        ),
    )
    .unwrap();
    let good = dir.path().join("idp.crt");
    std::fs::write(&good, &idp.cert_pem).unwrap();
    let bad = dir.path().join("idp.key");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_authgate"));
        cmd.arg("--config").arg(&cfg).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("AUTHGATE_") {
                cmd.env_remove(k);
            }
        }
        let o = cmd.output().unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let add = |cert: &std::path::Path| {
        vec![
            "connection".to_string(),
            "add".into(),
            "corp".into(),
            "--kind".into(),
            "saml".into(),
            "--name".into(),
            "Corp".into(),
            "--idp-entity-id".into(),
            idp.entity_id.clone(),
            "--sso-url".into(),
            idp.sso_url.clone(),
            "--idp-certificate-file".into(),
            cert.to_str().unwrap().to_owned(),
        ]
    };
    let args = add(&bad);
    let (ok, out) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && out.contains("idp_certificates"), "{out}");
    let (ok, out) = run(&[
        "connection",
        "add",
        "corp",
        "--kind",
        "saml",
        "--name",
        "Corp",
    ]);
    assert!(!ok && out.contains("--idp-certificate-file"), "{out}");
    let args = add(&good);
    let (ok, out) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{out}");
    assert!(out.contains("http://127.0.0.1:4444/saml/corp/acs"), "{out}");
    let (ok, out) = run(&["connection", "show", "corp"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("SP entity id and metadata URL: http://127.0.0.1:4444/saml/corp"),
        "{out}"
    );
    assert!(out.contains(&format!("sso_url: {}", idp.sso_url)), "{out}");
    // A key rollover: a bad new certificate is refused and names the
    // field; a new SSO URL alone keeps the stored certificate.
    let bad_arg = bad.to_str().unwrap();
    let (ok, out) = run(&[
        "connection",
        "edit",
        "corp",
        "--idp-certificate-file",
        bad_arg,
    ]);
    assert!(!ok && out.contains("idp_certificates"), "{out}");
    let new_sso = format!("{}?v=2", idp.sso_url);
    let (ok, out) = run(&["connection", "edit", "corp", "--sso-url", &new_sso]);
    assert!(ok, "{out}");
    let (_, out) = run(&["connection", "show", "corp", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["config"]["sso_url"], new_sso);
    assert_eq!(v["config"]["idp_certificates"][0], idp.cert_pem.trim());
}
