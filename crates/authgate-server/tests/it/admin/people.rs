//! People management (issue 22): roles (an auditor reads, never writes),
//! edit, disable, delete, sign out everywhere, the paged list, and where
//! `/` leads; through the dashboard's forms and the admin API.

use super::dashboard::{admin_browser, element};
use super::*;
use crate::browser::{
    Browser, REDIRECT, VERIFIER, abs, add_user, authorize_through, exchange, refresh,
};
use authgate_server::admin::api::ROUTES;
use serde_json::json;

/// A person with `role`, who signs in with the test password.
async fn add_person(app: &TestApp, email: &str, role: Role) -> User {
    let mut u = add_user(app, email).await;
    u.role = role;
    assert!(app.store.update_user(&u).await.unwrap());
    u
}

/// Calls the admin API on the person `id` (`tail` after their path).
async fn on_user(
    a: &Admin,
    method: &str,
    id: &str,
    tail: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    a.call(method, &format!("/users/{id}{tail}"), body).await
}

/// Posts the person `id`'s dashboard form `action` with `page`'s CSRF token.
async fn post_person(
    app: &TestApp,
    b: &Browser,
    page: &crate::browser::Page,
    id: &str,
    action: &str,
) -> crate::browser::Page {
    let url = app.url(&format!("/admin/users/{id}/{action}"));
    b.post(&url, &[("csrf", &page.hidden("csrf"))]).await
}

/// A browser signed in as `email`.
async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let b = Browser::new();
    sign_in(app, &b, email).await;
    b
}

/// A refresh token `email` gave the public client for weather, through
/// the browser `b` (signing in there when needed).
async fn refresh_token_of(app: &TestApp, b: &Browser, email: &str) -> String {
    let p = authorize_through(app, b, email, &[]).await;
    let (s, tokens) = exchange(app, &p.query()["code"], VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// Whether the refresh token still works (it rotates when it does).
async fn refresh_works(app: &TestApp, rt: &str) -> bool {
    refresh(app, rt, None).await.0 == 200
}

/// Whether the browser's session is still signed in (the account page).
async fn still_signed_in(app: &TestApp, b: &Browser) -> bool {
    let p = b.get(&app.url("/account")).await;
    match p.status {
        200 => true,
        303 => false,
        s => panic!("account page: {s} {}", p.body),
    }
}

#[tokio::test]
async fn an_auditor_reads_the_dashboard_and_every_form_is_refused() {
    let app = TestApp::start_with(admin_config(), "").await;
    let ada = add_user(&app, "ada@example.com").await;
    add_person(&app, "audrey@example.com", Role::Auditor).await;
    let b = signed_in(&app, "audrey@example.com").await;
    for path in [
        "/admin",
        "/admin/servers/weather",
        "/admin/clients",
        "/admin/users",
        "/admin/keys",
        "/admin/audit",
    ] {
        let p = b.get(&app.url(path)).await;
        assert_eq!(p.status, 200, "{path}: {}", p.body);
    }
    // The person's page shows no action to an auditor.
    let page = b.get(&app.url(&format!("/admin/users/{}", ada.id))).await;
    assert_eq!(page.status, 200);
    assert!(element(&page, "read-only").contains("auditor (read-only)"));
    for id in ["disable", "delete-user", "sign-out-everywhere", "edit-form"] {
        assert!(!page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let csrf = page.hidden("csrf");
    let user = |tail: &str| format!("/admin/users/{}{tail}", ada.id);
    for path in [
        "/admin/servers".to_owned(),
        "/admin/servers/weather/edit".into(),
        "/admin/servers/weather/delete".into(),
        "/admin/servers/weather/check".into(),
        "/admin/clients".into(),
        "/admin/clients/secret".into(),
        "/admin/clients/block".into(),
        "/admin/clients/unblock".into(),
        "/admin/clients/delete".into(),
        "/admin/users".into(),
        user("/disable"),
        user("/enable"),
        user("/edit"),
        user("/role"),
        user("/delete"),
        user("/sign-out"),
        user("/password-link"),
        user("/revoke"),
        "/admin/keys/rotate".into(),
        "/admin/keys/retire".into(),
    ] {
        let p = b
            .post(
                &app.url(&path),
                &[
                    ("csrf", csrf.as_str()),
                    ("role", "admin"),
                    ("email", "x@example.com"),
                    ("client_id", "svc"),
                ],
            )
            .await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
        assert!(p.body.contains("read-only"), "{path}: {}", p.body);
    }
    // Nothing changed.
    let still = app.store.get_user(&ada.id).await.unwrap().unwrap();
    assert_eq!(still, ada);
    // A person with the user role sees no dashboard at all.
    let b = signed_in(&app, "ada@example.com").await;
    assert_eq!(b.get(&app.url("/admin/users")).await.status, 403);
    app.shutdown().await;
}

/// The config plus a public client people may authorize for the admin API.
fn delegated_config() -> Config {
    let mut cfg = admin_config();
    cfg.clients.push(ClientConfig {
        client_id: "console".into(),
        client_name: Some("Console".into()),
        client_secret: None,
        client_secret_file: None,
        token_endpoint_auth_method: Some("none".into()),
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        grant_types: vec![],
        resources: vec!["authgate-admin".into()],
        scopes: None,
    });
    cfg
}

/// An admin API access token `email` delegated to the console client.
async fn delegated_token(app: &TestApp, email: &str) -> String {
    let api = app.url("/admin/api/v1");
    let extra = [
        ("client_id", "console"),
        ("resource", api.as_str()),
        ("scope", "authgate:admin"),
    ];
    let p = authorize_through(app, &Browser::new(), email, &extra).await;
    let code = p.query()["code"].clone();
    let (s, v, _) = app
        .token_form(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "console"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
                ("resource", &api),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_auditors_api_token_reads_and_every_write_is_refused() {
    let a = Admin {
        app: TestApp::start_with(delegated_config(), "").await,
        token: String::new(),
    };
    let ada = add_user(&a.app, "ada@example.com").await;
    add_person(&a.app, "audrey@example.com", Role::Auditor).await;
    add_admin(&a.app, "root@example.com").await;
    let auditor = delegated_token(&a.app, "audrey@example.com").await;
    let kid = a.app.store.list_signing_keys().await.unwrap()[0]
        .kid
        .clone();
    for (method, path, _) in ROUTES {
        let path = path
            .replace("{id}", "weather")
            .replace("{client_id}", "svc")
            .replace("{kid}", &kid);
        // User routes name a person.
        let path = if path.starts_with("/users/weather") {
            path.replacen("weather", &ada.id, 1)
        } else {
            path
        };
        let body = (*method != "GET").then(|| json!({}));
        let (s, v, _) = a.call_with(Some(&auditor), method, &path, body).await;
        if *method == "GET" {
            assert!(s == 200 || s == 404, "{method} {path}: {s} {v}");
        } else {
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert_eq!(v["error"], "access_denied", "{method} {path}: {v}");
            assert!(
                v["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("read-only"),
                "{v}"
            );
        }
    }
    assert_eq!(a.app.store.get_user(&ada.id).await.unwrap().unwrap(), ada);
    // An administrator's delegated token writes, acting as that person.
    let root = delegated_token(&a.app, "root@example.com").await;
    let (s, v, _) = a
        .call_with(
            Some(&root),
            "POST",
            &format!("/users/{}/role", ada.id),
            Some(json!({"role": "auditor"})),
        )
        .await;
    assert_eq!((s, v["role"].as_str()), (200, Some("auditor")), "{v}");
    audit_event(&a.app, "admin.user.role_changed", |e| {
        e["actor"] == "root@example.com"
    })
    .await;
    // A person demoted to user loses the API at once.
    let (s, _, _) = a.call_with(Some(&auditor), "GET", "/users", None).await;
    assert_eq!(s, 200);
    let audrey = a
        .app
        .store
        .get_user_by_email("audrey@example.com")
        .await
        .unwrap()
        .unwrap();
    let (s, _, _) = a
        .call_with(
            Some(&root),
            "POST",
            &format!("/users/{}/role", audrey.id),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v, _) = a.call_with(Some(&auditor), "GET", "/users", None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("access_denied")),
        "{v}"
    );
    a.app.shutdown().await;
}

#[tokio::test]
async fn disabling_ends_sessions_and_refresh_tokens_and_sign_in_says_why() {
    let app = TestApp::start_with(admin_config(), "").await;
    let ada = add_user(&app, "ada@example.com").await;
    let person = Browser::new();
    let rt = refresh_token_of(&app, &person, "ada@example.com").await;
    assert!(still_signed_in(&app, &person).await);
    let b = admin_browser(&app).await;
    let page = b.get(&app.url(&format!("/admin/users/{}", ada.id))).await;
    let p = post_person(&app, &b, &page, &ada.id, "disable").await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(!still_signed_in(&app, &person).await, "the session ended");
    assert!(!refresh_works(&app, &rt).await, "the refresh token died");
    // Sign-in is refused, and says why (the password was right).
    let login = person.get(&app.url("/login")).await;
    let p = person
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", ""),
                ("email", "ada@example.com"),
                ("password", crate::browser::PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("This account is disabled"), "{}", p.body);
    // A wrong password still says nothing about the account.
    let p = person
        .post(
            &app.url("/login"),
            &[
                ("csrf", &login.hidden("csrf")),
                ("r", ""),
                ("email", "ada@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert!(!p.body.contains("disabled"), "{}", p.body);
    audit_event(&app, "admin.user.disabled", |e| {
        e["detail"]["grants_revoked"] == 1 && e["detail"]["sessions_ended"] == 1
    })
    .await;
    // Nobody disables their own account.
    let grace = app
        .store
        .get_user_by_email("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    add_admin(&app, "root@example.com").await;
    let p = post_person(&app, &b, &page, &grace.id, "disable").await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("your own account"), "{}", p.body);
    app.shutdown().await;
}

#[tokio::test]
async fn delete_removes_grants_never_the_last_admin_nor_yourself() {
    let a = Admin::start().await;
    let app = &a.app;
    let ada = add_user(app, "ada@example.com").await;
    let rt = refresh_token_of(app, &Browser::new(), "ada@example.com").await;
    let (s, v) = on_user(&a, "DELETE", &ada.id, "", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["grants_removed"].as_u64(), v["consents_removed"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(!refresh_works(app, &rt).await, "the grant went with her");
    assert!(
        app.store
            .list_grants_for_user(&ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.store
            .list_consents_for_user(&ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    let (s, _) = on_user(&a, "GET", &ada.id, "", None).await;
    assert_eq!(s, 404);
    // The only administrator stays.
    let root = add_admin(app, "root@example.com").await;
    let (s, v) = on_user(&a, "DELETE", &root.id, "", None).await;
    assert_eq!((s, v["field"].as_str()), (409, Some("id")), "{v}");
    assert!(v["error_description"].as_str().unwrap().contains("last"));
    // Through the dashboard: another person goes, yourself never.
    let bob = add_user(app, "bob@example.com").await;
    let b = admin_browser(app).await;
    let page = b.get(&app.url(&format!("/admin/users/{}", bob.id))).await;
    assert!(page.body.contains("id=\"delete-user\""));
    let p = post_person(app, &b, &page, &bob.id, "delete").await;
    assert_eq!(p.status, 303, "{}", p.body);
    let list = b.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert!(list.body.contains("Person deleted"), "{}", list.body);
    assert!(app.store.get_user(&bob.id).await.unwrap().is_none());
    let grace = app
        .store
        .get_user_by_email("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    let own = b.get(&app.url(&format!("/admin/users/{}", grace.id))).await;
    assert!(!own.body.contains("id=\"delete-user\""));
    let p = post_person(app, &b, &page, &grace.id, "delete").await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("your own account"));
    assert!(app.store.get_user(&grace.id).await.unwrap().is_some());
    audit_event(app, "admin.user.deleted", |e| {
        e["detail"]["email"] == "bob@example.com" && e["actor"] == "grace@example.com"
    })
    .await;
    a.app.shutdown().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_another_browsers_session() {
    let a = Admin::start().await;
    let app = &a.app;
    add_user(app, "ada@example.com").await;
    // Two browsers; the first also holds a refresh token.
    let laptop = Browser::new();
    let rt = refresh_token_of(app, &laptop, "ada@example.com").await;
    let phone = signed_in(app, "ada@example.com").await;
    let account = phone.get(&app.url("/account")).await;
    assert!(account.body.contains("id=\"sign-out-everywhere\""));
    assert!(!account.body.contains("id=\"dashboard-link\""));
    let p = phone
        .post(
            &app.url("/account/sign-out-everywhere"),
            &[("csrf", &account.hidden("csrf"))],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let login = phone.get(&abs(app, p.location.as_deref().unwrap())).await;
    assert!(
        login.body.contains("signed out everywhere"),
        "{}",
        login.body
    );
    assert!(!still_signed_in(app, &laptop).await, "the other browser");
    assert!(!still_signed_in(app, &phone).await, "this browser");
    assert!(!refresh_works(app, &rt).await);
    audit_event(app, "user.signed_out_everywhere", |e| {
        e["detail"]["sessions_ended"] == 2 && e["detail"]["grants_revoked"] == 1
    })
    .await;
    // An administrator does it for someone: dashboard, then API.
    let laptop = Browser::new();
    let rt = refresh_token_of(app, &laptop, "ada@example.com").await;
    let ada = app
        .store
        .get_user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    let b = admin_browser(app).await;
    let page = b.get(&app.url(&format!("/admin/users/{}", ada.id))).await;
    let p = post_person(app, &b, &page, &ada.id, "sign-out").await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(!still_signed_in(app, &laptop).await);
    assert!(!refresh_works(app, &rt).await);
    assert!(still_signed_in(app, &b).await, "the administrator stays");
    let laptop = Browser::new();
    let rt = refresh_token_of(app, &laptop, "ada@example.com").await;
    let (s, v) = on_user(&a, "POST", &ada.id, "/sign-out", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["sessions_ended"].as_u64(), v["grants_revoked"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(!still_signed_in(app, &laptop).await);
    assert!(!refresh_works(app, &rt).await);
    a.app.shutdown().await;
}

#[tokio::test]
async fn a_password_reset_by_an_administrator_ends_sessions_and_grants() {
    let a = Admin::start().await;
    let app = &a.app;
    let ada = add_user(app, "ada@example.com").await;
    let laptop = Browser::new();
    let rt = refresh_token_of(app, &laptop, "ada@example.com").await;
    let (s, v) = on_user(&a, "POST", &ada.id, "/password-link", None).await;
    assert_eq!(s, 200, "{v}");
    assert!(!still_signed_in(app, &laptop).await);
    assert!(!refresh_works(app, &rt).await);
    a.app.shutdown().await;
}

#[tokio::test]
async fn roles_change_and_the_last_admin_is_never_demoted() {
    let a = Admin::start().await;
    let app = &a.app;
    let root = add_admin(app, "root@example.com").await;
    let (s, v) = on_user(
        &a,
        "POST",
        &root.id,
        "/role",
        Some(json!({"role": "auditor"})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("id")), "{v}");
    assert!(v["error_description"].as_str().unwrap().contains("last"));
    let (s, v) = on_user(
        &a,
        "POST",
        &root.id,
        "/role",
        Some(json!({"role": "superuser"})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("role")), "{v}");
    // Add people with roles; the list and the store agree.
    let (s, v) = a
        .call(
            "POST",
            "/users",
            Some(json!({"email": "audrey@example.com", "role": "auditor"})),
        )
        .await;
    assert_eq!(
        (s, v["user"]["role"].as_str()),
        (201, Some("auditor")),
        "{v}"
    );
    let (s, v) = a
        .call("POST", "/users", Some(json!({"email": "ann@example.com"})))
        .await;
    assert_eq!((s, v["user"]["role"].as_str()), (201, Some("user")), "{v}");
    let ann = v["user"]["id"].as_str().unwrap().to_owned();
    // Through the dashboard: promote ann, then the former sole admin may
    // be demoted.
    let b = admin_browser(app).await;
    let page = b.get(&app.url(&format!("/admin/users/{ann}"))).await;
    let p = b
        .post(
            &app.url(&format!("/admin/users/{ann}/role")),
            &[("csrf", &page.hidden("csrf")), ("role", "admin")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        app.store.get_user(&ann).await.unwrap().unwrap().role,
        Role::Admin
    );
    let (s, v) = on_user(
        &a,
        "POST",
        &root.id,
        "/role",
        Some(json!({"role": "auditor"})),
    )
    .await;
    assert_eq!((s, v["role"].as_str()), (200, Some("auditor")), "{v}");
    // The dashboard's add form gives a role.
    let list = b.get(&app.url("/admin/users")).await;
    let p = b
        .post(
            &app.url("/admin/users"),
            &[
                ("csrf", &list.hidden("csrf")),
                ("email", "olga@example.com"),
                ("name", "Olga"),
                ("role", "auditor"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let olga = app
        .store
        .get_user_by_email("olga@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(olga.role, Role::Auditor);
    a.app.shutdown().await;
}

#[tokio::test]
async fn edit_checks_that_the_email_is_nobody_elses() {
    let a = Admin::start().await;
    let app = &a.app;
    let ada = add_user(app, "ada@example.com").await;
    add_user(app, "bob@example.com").await;
    let (s, v) = on_user(
        &a,
        "PATCH",
        &ada.id,
        "",
        Some(json!({"email": "BOB@example.com"})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("email")), "{v}");
    let (s, v) = on_user(
        &a,
        "PATCH",
        &ada.id,
        "",
        Some(json!({"email": "not an email"})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("email")), "{v}");
    let (s, v) = on_user(
        &a,
        "PATCH",
        &ada.id,
        "",
        Some(json!({"email": "Ada.Lovelace@example.com", "name": "Ada L."})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["email"].as_str(), v["name"].as_str()),
        (Some("ada.lovelace@example.com"), Some("Ada L."))
    );
    // The dashboard form: the same rule, the error on the page.
    let b = admin_browser(app).await;
    let page = b.get(&app.url(&format!("/admin/users/{}", ada.id))).await;
    let p = b
        .post(
            &app.url(&format!("/admin/users/{}/edit", ada.id)),
            &[
                ("csrf", &page.hidden("csrf")),
                ("email", "bob@example.com"),
                ("name", "Ada"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("data-field=\"email\""), "{}", p.body);
    let p = b
        .post(
            &app.url(&format!("/admin/users/{}/edit", ada.id)),
            &[
                ("csrf", &page.hidden("csrf")),
                ("email", "ada@example.com"),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let now = app.store.get_user(&ada.id).await.unwrap().unwrap();
    assert_eq!((now.email.as_str(), now.name), ("ada@example.com", None));
    audit_event(app, "admin.user.updated", |e| {
        e["detail"]["previous_email"] == "ada.lovelace@example.com"
    })
    .await;
    a.app.shutdown().await;
}

#[tokio::test]
async fn the_users_list_searches_filters_and_pages() {
    let a = Admin::start().await;
    let app = &a.app;
    // No password (no Argon2 work): they are only listed.
    for i in 0..60 {
        let u = User {
            id: format!("p{i:02}"),
            email: format!("person{i:02}@example.com"),
            name: None,
            password_hash: "!".into(),
            disabled: false,
            role: Role::User,
            created_at: i,
            email_verified: false,
            signed_up: false,
        };
        app.store.insert_user(&u).await.unwrap();
    }
    add_person(app, "audrey@example.com", Role::Auditor).await;
    let mut off = add_user(app, "off@example.com").await;
    off.disabled = true;
    app.store.update_user(&off).await.unwrap();
    let (s, v) = a.call("GET", "/users?q=PERSON0&limit=5", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["total"].as_u64(), v["next_offset"].as_u64()),
        (Some(10), Some(5))
    );
    assert_eq!(v["items"][0]["email"], "person00@example.com");
    let (_, v) = a
        .call("GET", "/users?q=person0&limit=5&offset=5", None)
        .await;
    assert_eq!(v["items"][4]["email"], "person09@example.com");
    assert!(v["next_offset"].is_null());
    let (_, v) = a.call("GET", "/users?role=auditor", None).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["email"], "audrey@example.com");
    let (_, v) = a.call("GET", "/users?status=disabled", None).await;
    assert_eq!(
        (v["total"].as_u64(), v["items"][0]["email"].as_str()),
        (Some(1), Some("off@example.com"))
    );
    let (s, v) = a.call("GET", "/users?role=root", None).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("role")));
    let (s, v) = a.call("GET", "/users?status=gone", None).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("status")));
    // The dashboard: 50 a page, a next link that keeps the filters.
    let b = admin_browser(app).await;
    let p = b.get(&app.url("/admin/users?q=person")).await;
    assert_eq!(p.status, 200);
    assert!(element(&p, "shown").contains("1–50 of 60"), "{}", p.body);
    assert!(p.body.contains("person49@example.com"));
    assert!(!p.body.contains("person50@example.com"));
    let next = p.body.find("id=\"next-page\"").expect("a next page link");
    assert!(
        p.body[..next].ends_with("offset=50\" rel=\"next\" "),
        "{}",
        p.body
    );
    let p = b.get(&app.url("/admin/users?q=person&offset=50")).await;
    assert!(element(&p, "shown").contains("51–60 of 60"));
    assert!(p.body.contains("person59@example.com"));
    assert!(!p.body.contains("person00@example.com"));
    let p = b
        .get(&app.url("/admin/users?role=auditor&status=active"))
        .await;
    assert!(p.body.contains("audrey@example.com"));
    assert!(!p.body.contains("person00@example.com"));
    a.app.shutdown().await;
}

#[tokio::test]
async fn the_root_leads_somewhere_useful() {
    let app = TestApp::start_with(admin_config(), "").await;
    add_user(&app, "ada@example.com").await;
    add_person(&app, "audrey@example.com", Role::Auditor).await;
    add_admin(&app, "root@example.com").await;
    let to = |p: crate::browser::Page| (p.status, p.location);
    assert_eq!(
        to(Browser::new().get(&app.url("/")).await),
        (303, Some("/login".into()))
    );
    for (email, place) in [
        ("ada@example.com", "/account"),
        ("audrey@example.com", "/admin"),
        ("root@example.com", "/admin"),
    ] {
        let b = signed_in(&app, email).await;
        assert_eq!(
            to(b.get(&app.url("/")).await),
            (303, Some(place.into())),
            "{email}"
        );
        // The account page links to the dashboard for those who see it.
        let account = b.get(&app.url("/account")).await;
        assert_eq!(
            account.body.contains("id=\"dashboard-link\""),
            place == "/admin",
            "{email}"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_builtin_admin_api_is_shown_apart_from_mcp_servers() {
    let app = TestApp::start_with(admin_config(), "").await;
    let b = admin_browser(&app).await;
    // The MCP servers list (the dashboard's home is the overview).
    let p = b.get(&app.url("/admin/servers")).await;
    let servers = &p.body[p.body.find("id=\"servers\"").unwrap()..];
    let servers = &servers[..servers.find("</table>").unwrap()];
    assert!(!servers.contains("authgate-admin"), "{servers}");
    assert!(p.body.contains("id=\"builtin-servers\""));
    let detail = b.get(&app.url("/admin/servers/authgate-admin")).await;
    assert!(detail.body.contains("id=\"builtin-note\""));
    assert!(!detail.body.contains("id=\"metadata-json\""));
    app.shutdown().await;
}
