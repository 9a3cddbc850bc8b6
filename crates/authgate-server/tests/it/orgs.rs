//! Organizations: email-first routing by verified domain (and no account
//! enumeration), organizations that forbid local passwords, DNS TXT
//! verification, group -> scope rules at consent, deactivation revoking
//! members' grants.

use crate::browser::*;
use crate::support::*;
use authgate_authority::manage::Actor;
use authgate_authority::orgs::dns::{self, StaticResolver};
use authgate_authority::orgs::manage::{self as orgs, OrgInput};

fn actor() -> Actor {
    Actor {
        name: "ops@example.com".into(),
        address: None,
        user_id: None,
    }
}

async fn org(app: &TestApp, id: &str, connections: &[&str], forbid: bool) {
    orgs::create_org(
        app.state(),
        &actor(),
        OrgInput {
            id: id.into(),
            name: format!("{id} Inc"),
            connection_ids: connections.iter().map(|c| c.to_string()).collect(),
            forbid_local_passwords: forbid,
            require_mfa: false,
        },
    )
    .await
    .unwrap();
}

/// A stored upstream connection `id` (routing offers only connections
/// that exist and are enabled).
async fn stored_connection(app: &TestApp, id: &str, disabled: bool) {
    let conn = authgate_core::connection::Connection {
        id: id.into(),
        kind: authgate_core::connection::ConnectionKind::Oidc,
        display_name: format!("{id} SSO"),
        preset: None,
        config: serde_json::json!({}),
        secret_sealed: None,
        trusted_email_domains: vec![],
        show_on_login: false,
        disabled,
        created_at: 0,
    };
    app.state().store.insert_connection(&conn).await.unwrap();
}

/// The email step's answer for `email` in a fresh browser.
async fn email_step(app: &TestApp, email: &str) -> Page {
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(
        login.body.contains("action=\"/login/email\""),
        "{}",
        login.body
    );
    assert!(
        !login.body.contains("type=\"password\""),
        "step 1 asks only for the email"
    );
    b.post(
        &app.url("/login/email"),
        &[("csrf", &login.hidden("csrf")), ("r", ""), ("email", email)],
    )
    .await
}

/// The routing-relevant part of an answer: status, location without the
/// `login_hint` (which echoes the typed email), and whether the page asks
/// for a password.
fn shape(p: &Page) -> (u16, Option<String>, bool) {
    (
        p.status,
        p.location
            .as_ref()
            .map(|l| l.split("&login_hint=").next().unwrap_or("").to_owned()),
        p.body.contains("type=\"password\""),
    )
}

#[tokio::test]
async fn email_first_routes_verified_org_domains_to_their_connection_without_enumeration() {
    let app = TestApp::start().await;
    add_user(&app, "ann@acme.test").await;
    stored_connection(&app, "okta", false).await;
    stored_connection(&app, "google", false).await;
    stored_connection(&app, "off", true).await;
    org(&app, "acme", &["okta", "off", "gone"], false).await;
    orgs::add_domain(app.state(), &actor(), "acme", "ACME.test.")
        .await
        .unwrap();

    // Unverified: no routing, the password step.
    let p = email_step(&app, "ann@acme.test").await;
    assert_eq!(shape(&p), (200, None, true), "{}", p.body);

    orgs::mark_domain_verified(app.state(), &actor(), "acme", "acme.test")
        .await
        .unwrap();
    let known = email_step(&app, "ann@acme.test").await;
    let unknown = email_step(&app, "nobody-here@Acme.Test").await;
    assert_eq!(known.status, 303, "{}", known.body);
    let loc = known.location.clone().unwrap();
    assert!(
        loc.starts_with("/federation/okta/start?r="),
        "one connection: straight to its start, got {loc}"
    );
    assert_eq!(
        shape(&known),
        shape(&unknown),
        "the answer depends on the domain only"
    );

    // Elsewhere: the password step, whether the account exists or not.
    let a = email_step(&app, "ada@example.com").await;
    let b = email_step(&app, "ghost@example.com").await;
    assert_eq!(shape(&a), (200, None, true));
    assert_eq!(shape(&a), shape(&b));

    // Several connections: a choice, with the organization's name.
    orgs::set_connection(app.state(), &actor(), "acme", "google", true)
        .await
        .unwrap();
    let p = email_step(&app, "ann@acme.test").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("acme Inc"), "{}", p.body);
    assert!(p.body.contains("/federation/okta/start"), "{}", p.body);
    assert!(p.body.contains("/federation/google/start"), "{}", p.body);
    assert!(
        p.body.contains("google SSO"),
        "buttons carry the display name"
    );
    // A disabled or missing connection is never offered.
    assert!(!p.body.contains("/federation/off/start"), "{}", p.body);
    assert!(!p.body.contains("/federation/gone/start"), "{}", p.body);

    // Bad input is a page, not a 500.
    let p = email_step(&app, "not an email").await;
    assert_eq!(p.status, 400, "{}", p.body);
    app.shutdown().await;
}

#[tokio::test]
async fn an_org_that_forbids_passwords_refuses_them_even_with_the_right_password() {
    let app = TestApp::start().await;
    add_user(&app, "bob@corp.test").await;
    add_user(&app, "ada@example.com").await;
    org(&app, "corp", &[], true).await;
    orgs::add_domain(app.state(), &actor(), "corp", "corp.test")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor(), "corp", "corp.test")
        .await
        .unwrap();

    let p = email_step(&app, "bob@corp.test").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("id=\"login-company\""), "{}", p.body);
    assert!(!p.body.contains("type=\"password\""));

    let st = app.state();
    assert!(
        !authgate_authority::orgs::local_password_allowed(st, "bob@corp.test")
            .await
            .unwrap()
    );
    assert!(
        authgate_authority::orgs::local_password_allowed(st, "ada@example.com")
            .await
            .unwrap()
    );

    // Posting the password anyway: refused before it is checked.
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", ""),
                ("email", "bob@corp.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("does not allow passwords"), "{}", p.body);
    // Someone else still signs in with a password.
    let b = Browser::new();
    let login = b.get(&app.url("/login")).await;
    let p = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", ""),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    app.shutdown().await;
}

#[tokio::test]
async fn dns_txt_verification_needs_the_exact_record() {
    let app = TestApp::start().await;
    org(&app, "dnsco", &["okta"], false).await;
    let d = orgs::add_domain(app.state(), &actor(), "dnsco", "dnsco.test")
        .await
        .unwrap();
    assert_eq!(d.txt_name, "_authgate-challenge.dnsco.test");
    assert!(d.txt_value.starts_with("authgate-domain-verification="));
    let resolver = StaticResolver::new();
    let e = orgs::verify_domain(app.state(), &actor(), &resolver, "dnsco", "dnsco.test")
        .await
        .unwrap_err();
    assert!(e.message().contains("no TXT record"), "{}", e.message());
    resolver.set(
        &d.txt_name,
        vec![format!("{}x", d.txt_value), "v=spf1 -all".into()],
    );
    let e = orgs::verify_domain(app.state(), &actor(), &resolver, "dnsco", "dnsco.test")
        .await
        .unwrap_err();
    assert!(e.message().contains("do not include"), "{}", e.message());
    // Another organization cannot claim it.
    org(&app, "other", &[], false).await;
    assert!(
        orgs::add_domain(app.state(), &actor(), "other", "DNSCO.test")
            .await
            .is_err()
    );
    assert!(
        authgate_authority::orgs::org_for_email(app.state(), "x@dnsco.test")
            .await
            .unwrap()
            .is_none(),
        "unverified domains route nothing"
    );
    resolver.set(&d.txt_name, vec![d.txt_value.clone()]);
    let v = orgs::verify_domain(app.state(), &actor(), &resolver, "dnsco", "dnsco.test")
        .await
        .unwrap();
    assert!(v.verified);
    assert_eq!(v.method.as_deref(), Some("dns"));
    assert_eq!(
        authgate_authority::orgs::org_for_email(app.state(), "x@dnsco.test")
            .await
            .unwrap()
            .map(|o| o.id),
        Some("dnsco".into())
    );
    assert_eq!(dns::challenge_name("a.b"), "_authgate-challenge.a.b");
    app.shutdown().await;
}

#[tokio::test]
async fn a_person_outside_the_group_cannot_consent_to_its_scopes() {
    let app = TestApp::start().await;
    add_user(&app, "ada@example.com").await;
    // Rules need an existing MCP server.
    assert!(
        orgs::set_scope_rule(app.state(), &actor(), "nope", "x", &["g".into()])
            .await
            .is_err()
    );
    orgs::set_scope_rule(
        app.state(),
        &actor(),
        "weather",
        "weather:read",
        &["forecasters".into()],
    )
    .await
    .unwrap();
    let b = Browser::new();
    let p = authorize_through(&app, &b, "ada@example.com", &[]).await;
    let q = p.query();
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("access_denied"),
        "{q:?}"
    );
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));

    // Asking for the allowed openid and the ruled scope: only openid is
    // granted (fewer scopes than asked, RFC 6749 3.3).
    let p = authorize_through(
        &app,
        &b,
        "ada@example.com",
        &[("scope", "openid weather:read")],
    )
    .await;
    let q = p.query();
    let code = q.get("code").unwrap_or_else(|| panic!("{q:?}"));
    let (s, tok) = exchange(&app, code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["scope"], "openid");

    // Once her organization's upstream asserted the group (the claims
    // stored on a linked identity), the same person may have the scope;
    // any other upstream naming the group does not count.
    org(&app, "exco", &["corp"], false).await;
    orgs::add_domain(app.state(), &actor(), "exco", "example.com")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor(), "exco", "example.com")
        .await
        .unwrap();
    let ada = app
        .state()
        .store
        .get_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    let conn = authgate_core::connection::Connection {
        id: "corp".into(),
        kind: authgate_core::connection::ConnectionKind::Oidc,
        display_name: "Corp".into(),
        preset: None,
        config: serde_json::json!({}),
        secret_sealed: None,
        trusted_email_domains: vec![],
        show_on_login: false,
        disabled: false,
        created_at: 0,
    };
    app.state().store.insert_connection(&conn).await.unwrap();
    let social = authgate_core::connection::Connection {
        id: "social".into(),
        ..conn.clone()
    };
    app.state().store.insert_connection(&social).await.unwrap();
    app.state()
        .store
        .insert_user_identity(&authgate_core::connection::UserIdentity {
            connection_id: "social".into(),
            subject: "ada-social".into(),
            user_id: ada.id.clone(),
            claims: authgate_core::connection::IdentityClaims {
                email: Some("ada@example.com".into()),
                email_verified: true,
                name: None,
                groups: vec!["forecasters".into()],
            },
            created_at: 0,
            last_seen_at: 0,
        })
        .await
        .unwrap();
    assert!(
        authgate_authority::orgs::scopes::groups_of(app.state(), &ada.id)
            .await
            .unwrap()
            .is_empty(),
        "a group named by an upstream outside her organization counts for nothing"
    );
    app.state()
        .store
        .insert_user_identity(&authgate_core::connection::UserIdentity {
            connection_id: "corp".into(),
            subject: "ada-upstream".into(),
            user_id: ada.id.clone(),
            claims: authgate_core::connection::IdentityClaims {
                email: Some("ada@example.com".into()),
                email_verified: true,
                name: None,
                groups: vec!["forecasters".into()],
            },
            created_at: 0,
            last_seen_at: 0,
        })
        .await
        .unwrap();
    let p = authorize_through(&app, &Browser::new(), "ada@example.com", &[]).await;
    let q = p.query();
    let code = q.get("code").unwrap_or_else(|| panic!("{q:?}"));
    let (s, tok) = exchange(&app, code, VERIFIER).await;
    assert_eq!(s, 200, "{tok}");
    assert!(
        tok["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "weather:read"),
        "{tok}"
    );
    app.state().store.delete_connection("corp").await.unwrap();

    // Without the rule, the same person consents as before.
    orgs::set_scope_rule(app.state(), &actor(), "weather", "weather:read", &[])
        .await
        .unwrap();
    let p = authorize_through(&app, &Browser::new(), "ada@example.com", &[]).await;
    assert!(p.query().contains_key("code"), "{:?}", p.query());
    app.shutdown().await;
}

#[tokio::test]
async fn deactivating_an_org_revokes_its_members_grants_and_sessions() {
    let app = TestApp::start().await;
    let ann = add_user(&app, "ann@acme.test").await;
    let ada = add_user(&app, "ada@example.com").await;
    org(&app, "acme", &[], false).await;
    orgs::add_domain(app.state(), &actor(), "acme", "acme.test")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor(), "acme", "acme.test")
        .await
        .unwrap();
    for email in ["ann@acme.test", "ada@example.com"] {
        let p = authorize_through(&app, &Browser::new(), email, &[]).await;
        let (s, tok) = exchange(&app, &p.query()["code"], VERIFIER).await;
        assert_eq!(s, 200, "{tok}");
    }
    let grants = |id: String| {
        let st = app.state();
        async move { st.store.list_grants_for_user(&id).await.unwrap().len() }
    };
    assert_eq!(grants(ann.id.clone()).await, 1);
    let out = orgs::set_org_disabled(app.state(), &actor(), "acme", true)
        .await
        .unwrap();
    assert_eq!(out.members, 1);
    assert_eq!(out.grants_revoked, 1);
    assert!(out.sessions_ended >= 1);
    assert_eq!(grants(ann.id.clone()).await, 0);
    assert_eq!(grants(ada.id.clone()).await, 1, "non-members keep theirs");
    // Members of a deactivated organization are told so and cannot use
    // their password.
    let p = email_step(&app, "ann@acme.test").await;
    assert!(p.body.contains("id=\"login-org-disabled\""), "{}", p.body);
    assert!(
        !authgate_authority::orgs::local_password_allowed(app.state(), "ann@acme.test")
            .await
            .unwrap()
    );
    // Audited (the audit trail is written off the request path).
    let mut found = 0;
    for _ in 0..100 {
        found = app
            .store
            .list_audit_events(Some("admin.org.disabled"), None, 10)
            .await
            .unwrap()
            .len();
        if found > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found, 1);
    app.shutdown().await;
}

/// The one organization rule every way in asks: local credentials
/// (password, passkey) and upstream connections.
#[tokio::test]
async fn the_org_gate_covers_every_way_in() {
    use authgate_authority::orgs::{OrgGate, gate};
    let app = TestApp::start().await;
    org(&app, "acme", &["acme-okta"], false).await;
    orgs::add_domain(app.state(), &actor(), "acme", "acme.test")
        .await
        .unwrap();
    orgs::mark_domain_verified(app.state(), &actor(), "acme", "acme.test")
        .await
        .unwrap();
    let st = app.state();
    let open = |g: OrgGate| matches!(g, OrgGate::Open);
    // Not a member: open every way.
    assert!(open(gate(st, "a@example.com", None).await.unwrap()));
    assert!(open(
        gate(st, "a@example.com", Some("github")).await.unwrap()
    ));
    // A member: its own connection and (passwords allowed) local ones,
    // never another identity provider.
    assert!(open(
        gate(st, "a@acme.test", Some("acme-okta")).await.unwrap()
    ));
    assert!(open(gate(st, "a@acme.test", None).await.unwrap()));
    assert!(matches!(
        gate(st, "a@acme.test", Some("github")).await.unwrap(),
        OrgGate::UseCompanySignIn(_)
    ));
    // Passwords forbidden: no local credential either.
    org(&app, "beta", &[], true).await;
    orgs::add_domain(st, &actor(), "beta", "beta.test")
        .await
        .unwrap();
    orgs::mark_domain_verified(st, &actor(), "beta", "beta.test")
        .await
        .unwrap();
    assert!(matches!(
        gate(st, "b@beta.test", None).await.unwrap(),
        OrgGate::UseCompanySignIn(_)
    ));
    assert!(matches!(
        gate(st, "b@beta.test", Some("github")).await.unwrap(),
        OrgGate::UseCompanySignIn(_)
    ));
    // Deactivated: nothing.
    orgs::set_org_disabled(st, &actor(), "acme", true)
        .await
        .unwrap();
    for via in [None, Some("acme-okta"), Some("github")] {
        assert!(matches!(
            gate(st, "a@acme.test", via).await.unwrap(),
            OrgGate::Disabled(_)
        ));
    }
    app.shutdown().await;
}
