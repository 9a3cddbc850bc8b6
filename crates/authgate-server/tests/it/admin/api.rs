//! The admin API: authorization, every endpoint, validation errors naming
//! the field, pagination, the OpenAPI document.

use super::*;
use crate::browser::{Browser, add_user, authorize_through, exchange, refresh};
use authgate_server::admin::api::ROUTES;
use serde_json::json;

fn concrete(path: &str) -> String {
    path.replace("{id}", "weather")
        .replace("{client_id}", "svc")
        .replace("{kid}", "nokey")
        .replace("{domain}", "acme.test")
        .replace("{connection_id}", "okta")
        .replace("{scope}", "fc:read")
}

fn weather_input(id: &str, uri: &str) -> Value {
    json!({
        "id": id,
        "name": "Forecasts",
        "uri": uri,
        "scopes": [
            {"name": "fc:read", "description": "Read forecasts"},
            {"name": "fc:write", "description": "Set alerts", "implies": ["fc:read"]}
        ],
        "default_scopes": ["fc:read"],
        "access_token_ttl_secs": 600
    })
}

#[tokio::test]
async fn every_route_needs_a_token_with_the_admin_scope() {
    let a = Admin::start().await;
    let noscope = client_token(&a.app, "ops-noscope", "").await;
    let weather = a.app.svc_token("weather:read").await;
    for (method, path, _) in ROUTES {
        let p = concrete(path);
        let body = (*method != "GET" && *method != "DELETE").then(|| json!({}));
        // No token: 401 with a Bearer challenge naming the metadata.
        let (s, v, h) = a.call_with(None, method, &p, body.clone()).await;
        assert_eq!(s, 401, "{method} {p}: {v}");
        let challenge = h["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains(&format!(
                "resource_metadata=\"{}/.well-known/oauth-protected-resource/admin/api/v1\"",
                a.app.origin()
            )),
            "{challenge}"
        );
        assert!(!challenge.contains("error="), "{challenge}");
        assert_eq!(h["cache-control"], "no-store");
        // A token for another resource: 401 invalid_token.
        let (s, v, h) = a.call_with(Some(&weather), method, &p, body.clone()).await;
        assert_eq!(s, 401, "{method} {p}: {v}");
        assert_eq!(v["error"], "invalid_token");
        assert!(
            h["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
        // A valid admin-API token without the scope: 403 insufficient_scope.
        let (s, v, h) = a.call_with(Some(&noscope), method, &p, body).await;
        assert_eq!(s, 403, "{method} {p}: {v}");
        assert_eq!(v["error"], "insufficient_scope");
        assert!(
            h["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"insufficient_scope\"")
        );
    }
    // Garbage, and a token from a blocked client.
    let (s, _, _) = a
        .call_with(Some("not.a.jwt"), "GET", "/resources", None)
        .await;
    assert_eq!(s, 401);
    let mut ops = a.app.store.get_client("ops").await.unwrap().unwrap();
    ops.blocked = true;
    a.app.store.update_client(&ops).await.unwrap();
    a.app.state().registry.invalidate_client("ops");
    let (s, v) = a.call("GET", "/resources", None).await;
    assert_eq!(s, 401, "{v}");
    // Unblocked but no longer granted the admin API (its list now says
    // only "every MCP server", which never includes it): the token it
    // already holds stops working at once.
    ops.blocked = false;
    ops.resources = vec!["*".into()];
    a.app.store.update_client(&ops).await.unwrap();
    a.app.state().registry.invalidate_client("ops");
    let (s, v) = a.call("GET", "/resources", None).await;
    assert_eq!(s, 401, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("no longer allowed the admin API")),
        "{v}"
    );
    ops.resources = vec!["authgate-admin".into()];
    a.app.store.update_client(&ops).await.unwrap();
    a.app.state().registry.invalidate_client("ops");
    let (s, v) = a.call("GET", "/resources", None).await;
    assert_eq!(s, 200, "{v}");
    a.app.shutdown().await;
}

#[tokio::test]
async fn openapi_document_is_served_and_complete() {
    let a = Admin::start().await;
    let resp = a.app.http.get(a.api("/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], a.api(""));
    assert_eq!(
        doc["components"]["securitySchemes"]["authgate"]["flows"]["clientCredentials"]["tokenUrl"],
        a.app.url("/token")
    );
    for (method, path, _) in ROUTES {
        let op = &doc["paths"][*path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} missing from openapi.json");
        for code in ["401", "403"] {
            assert!(op["responses"][code].is_object(), "{method} {path} {code}");
        }
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    // The admin API's own protected resource metadata.
    let prm: Value = a
        .app
        .http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/admin/api/v1",
            a.app.origin()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], a.api(""));
    assert_eq!(prm["authorization_servers"][0], a.app.base);
    assert_eq!(prm["scopes_supported"], json!(["authgate:admin"]));
    a.app.shutdown().await;
}

#[tokio::test]
async fn admin_resource_is_built_in_and_protected() {
    let a = Admin::start().await;
    let (s, v) = a.call("GET", "/resources/authgate-admin", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["uri"], a.api(""));
    assert_eq!(v["builtin"], true);
    assert_eq!(v["allow_dynamic_registration"], false);
    let (s, v) = a.call("DELETE", "/resources/authgate-admin", None).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("id")), "{v}");
    let (s, v) = a
        .call(
            "PUT",
            "/resources/authgate-admin",
            Some(weather_input("x", "https://x.example")),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("id")), "{v}");
    // The token's audience is exactly the API URL.
    let claims = decode_segment(&a.token, 1);
    assert_eq!(claims["aud"], a.api(""));
    assert_eq!(claims["scope"], "authgate:admin");
    a.app.shutdown().await;
}

#[tokio::test]
async fn resources_crud_validation_and_paging() {
    let a = Admin::start().await;
    // Validation errors name the field.
    for (body, field) in [
        (json!({"name": "x"}), "uri"),
        (json!({"uri": "https://x.example"}), "name"),
        (json!({"name": "x", "uri": "http://x.example/mcp"}), "uri"),
        (json!({"name": "x", "uri": "not a url"}), "uri"),
        (
            json!({"name": "x", "uri": "https://x.example", "id": "bad id"}),
            "id",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "scopes": [{"name": "a", "implies": ["b"]}]}),
            "scopes",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "scopes": [{"name": "offline_access"}]}),
            "scopes",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "default_scopes": ["zz"]}),
            "default_scopes",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "access_token_ttl_secs": 5}),
            "access_token_ttl_secs",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "access_token_ttl_secs": "long"}),
            "access_token_ttl_secs",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "scopes": [{"description": "d"}]}),
            "scopes[0].name",
        ),
        (
            json!({"name": "x", "uri": "https://x.example", "bogus": 1}),
            "bogus",
        ),
        (json!({"name": "x", "uri": WEATHER_URI}), "uri"),
    ] {
        let (s, v) = a.call("POST", "/resources", Some(body.clone())).await;
        assert!(s == 400 || s == 409, "{body}: {s} {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(
            v["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    // Not JSON.
    let resp = a
        .app
        .http
        .post(a.api("/resources"))
        .bearer_auth(&a.token)
        .body("name=x")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (s, v) = a
        .call_with(Some(&a.token), "POST", "/resources", None)
        .await
        .clone_first_two();
    assert_eq!((s, v["field"].as_str()), (400, Some("body")));

    // Create.
    let (s, v) = a
        .call(
            "POST",
            "/resources",
            Some(weather_input("forecasts", "https://fc.example.com/mcp")),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], "forecasts");
    assert_eq!(
        v["metadata_url"],
        "https://fc.example.com/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(v["scopes"][1]["implies"], json!(["fc:read"]));
    // The id is derived from the name when omitted.
    let (s, v) = a
        .call(
            "POST",
            "/resources",
            Some(json!({"name": "Team Notes!", "uri": "https://tn.example.com/mcp"})),
        )
        .await;
    assert_eq!((s, v["id"].as_str()), (201, Some("team-notes")), "{v}");
    // Same id again: 409 naming the id.
    let (s, v) = a
        .call(
            "POST",
            "/resources",
            Some(weather_input("forecasts", "https://other.example.com/mcp")),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("id")), "{v}");

    // Get, list with paging (stable order).
    let (s, v) = a.call("GET", "/resources/forecasts", None).await;
    assert_eq!((s, v["name"].as_str()), (200, Some("Forecasts")));
    let (s, v) = a.call("GET", "/resources/nope", None).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));
    let (s, all) = a.call("GET", "/resources", None).await;
    assert_eq!(s, 200);
    let total = all["total"].as_u64().unwrap() as usize;
    assert_eq!(total, 5, "{all}"); // weather, notes, admin, forecasts, team-notes
    let mut seen = Vec::new();
    let mut offset = Some(0u64);
    while let Some(o) = offset {
        let (s, page) = a
            .call("GET", &format!("/resources?limit=2&offset={o}"), None)
            .await;
        assert_eq!(s, 200);
        assert!(page["items"].as_array().unwrap().len() <= 2);
        for i in page["items"].as_array().unwrap() {
            seen.push(i["id"].as_str().unwrap().to_string());
        }
        offset = page["next_offset"].as_u64();
    }
    let ids: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, ids);
    for bad in ["limit=0", "limit=501", "limit=x", "offset=-1"] {
        let (s, v) = a.call("GET", &format!("/resources?{bad}"), None).await;
        let field = bad.split('=').next().unwrap();
        assert_eq!((s, v["field"].as_str()), (400, Some(field)), "{bad}: {v}");
    }

    // Update (PUT replaces).
    let mut upd = weather_input("ignored", "https://fc.example.com/mcp");
    upd["name"] = json!("Forecasts v2");
    upd["allow_dynamic_registration"] = json!(false);
    let (s, v) = a.call("PUT", "/resources/forecasts", Some(upd)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], "forecasts");
    assert_eq!(v["name"], "Forecasts v2");
    assert_eq!(v["allow_dynamic_registration"], false);
    let (s, v) = a
        .call(
            "PUT",
            "/resources/forecasts",
            Some(json!({"name": "x", "uri": NOTES_URI})),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("uri")), "{v}");
    let (s, _) = a
        .call(
            "PUT",
            "/resources/nope",
            Some(weather_input("n", "https://n.example")),
        )
        .await;
    assert_eq!(s, 404);

    // Metadata snippet: exactly what resource_metadata produces.
    let (s, v) = a.call("GET", "/resources/forecasts/metadata", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["metadata"]["resource"], "https://fc.example.com/mcp");
    assert_eq!(v["metadata"]["authorization_servers"], json!([a.app.base]));
    assert_eq!(
        v["metadata"]["scopes_supported"],
        json!(["fc:read", "fc:write"])
    );
    assert_eq!(
        v["www_authenticate"],
        "Bearer resource_metadata=\"https://fc.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"fc:read\""
    );
    let rust = v["snippets"]["rust"].as_str().unwrap();
    assert!(
        rust.contains("Validator::builder(") && rust.contains("\"https://fc.example.com/mcp\"")
    );
    assert!(
        rust.contains(".scope_implies(\"fc:write\", [\"fc:read\"])"),
        "{rust}"
    );
    let node = v["snippets"]["node"].as_str().unwrap();
    assert!(
        node.contains("/.well-known/oauth-protected-resource/mcp"),
        "{node}"
    );
    assert!(node.contains(&format!("{}/jwks.json", a.app.base)));

    // Delete.
    let (s, v) = a.call("DELETE", "/resources/forecasts", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["grants_revoked"], 0);
    assert_eq!(v["access_tokens_valid_for_at_most_secs"], 600);
    let (s, _) = a.call("DELETE", "/resources/forecasts", None).await;
    assert_eq!(s, 404);
    a.app.shutdown().await;
}

trait FirstTwo {
    fn clone_first_two(self) -> (u16, Value);
}

impl FirstTwo for (u16, Value, reqwest::header::HeaderMap) {
    fn clone_first_two(self) -> (u16, Value) {
        (self.0, self.1)
    }
}

#[tokio::test]
async fn deleting_a_resource_revokes_its_grants_and_says_so() {
    let a = Admin::start().await;
    add_user(&a.app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&a.app, &b, "ada@example.com", &[]).await;
    let code = p.query()["code"].clone();
    let (s, tokens) = exchange(&a.app, &code, crate::browser::VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (s, v) = a.call("DELETE", "/resources/weather", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["grants_revoked"], 1, "{v}");
    assert_eq!(v["consents_removed"], 1, "{v}");
    assert_eq!(v["clients_restricted"], json!(["multi", "svc"]));
    let (s, _) = refresh(&a.app, rt, None).await;
    assert_eq!(s, 400);
    a.app.shutdown().await;
}

#[tokio::test]
async fn clients_create_rotate_block_delete() {
    let a = Admin::start().await;
    for (body, field) in [
        (json!({"redirect_uris": ["not a url"]}), "redirect_uris"),
        (json!({"resources": ["nope"]}), "resources"),
        (json!({"grant_types": ["password"]}), "grant_types"),
        (json!({"confidential": false}), "grant_types"),
        (json!({"client_id": "has space"}), "client_id"),
        (json!({"client_id": "https://x.example/c"}), "client_id"),
        (json!({"scopes": ["bad\"scope"]}), "scopes"),
        (
            json!({"grant_types": ["authorization_code"]}),
            "redirect_uris",
        ),
        (json!({"confidential": "yes"}), "confidential"),
        (json!({"client_id": "svc"}), "client_id"),
    ] {
        let (s, v) = a.call("POST", "/clients", Some(body.clone())).await;
        assert!(s == 400 || s == 409, "{body}: {s} {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let (s, v) = a
        .call(
            "POST",
            "/clients",
            Some(json!({
                "client_id": "reporter",
                "client_name": "Nightly report",
                "resources": ["weather"],
                "scopes": ["weather:read"]
            })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let secret = v["client_secret"].as_str().unwrap().to_string();
    assert_eq!(v["client"]["kind"], "pre_registered");
    assert_eq!(v["client"]["source"], "administrator");
    assert_eq!(v["client"]["grant_types"], json!(["client_credentials"]));
    assert!(v["client"]["last_used_at"].is_null());
    let cc = |secret: String| {
        let app = &a.app;
        async move {
            app.token_form(
                Some(("reporter", &secret)),
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", WEATHER_URI),
                ],
            )
            .await
            .0
        }
    };
    assert_eq!(cc(secret.clone()).await, 200);
    // The secret is never shown again.
    let (s, v) = a.call("GET", "/clients/reporter", None).await;
    assert_eq!(s, 200);
    assert!(!v.to_string().contains(&secret));
    assert_eq!(v["display_name"], "Nightly report");

    // Rotate.
    let (s, v) = a.call("POST", "/clients/reporter/secret", None).await;
    assert_eq!(s, 200, "{v}");
    let new_secret = v["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(cc(secret).await, 401);
    assert_eq!(cc(new_secret.clone()).await, 200);
    let (s, v) = a.call("POST", "/clients/public/secret", None).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("client_id")), "{v}");

    // Block / unblock.
    let (s, v) = a.call("POST", "/clients/reporter/block", None).await;
    assert_eq!((s, v["blocked"].as_bool()), (200, Some(true)));
    assert_ne!(cc(new_secret.clone()).await, 200);
    let (s, v) = a.call("POST", "/clients/reporter/unblock", None).await;
    assert_eq!((s, v["blocked"].as_bool()), (200, Some(false)));
    assert_eq!(cc(new_secret.clone()).await, 200);

    // List: kind, source, created, last used; filter and paging.
    let (s, v) = a
        .call("GET", "/clients?kind=pre_registered&limit=100", None)
        .await;
    assert_eq!(s, 200);
    let items = v["items"].as_array().unwrap();
    assert!(items.iter().all(|c| c["kind"] == "pre_registered"));
    assert!(
        items
            .iter()
            .any(|c| c["client_id"] == "reporter" && c["created_at"].is_i64())
    );
    let (s, v) = a.call("GET", "/clients?kind=robot", None).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("kind")));
    let (s, v) = a.call("GET", "/clients?limit=1", None).await;
    assert_eq!((s, v["next_offset"].as_u64()), (200, Some(1)));

    // Delete.
    let (s, v) = a.call("DELETE", "/clients/reporter", None).await;
    assert_eq!((s, v["client_id"].as_str()), (200, Some("reporter")), "{v}");
    assert_eq!(cc(new_secret).await, 401);
    let (s, _) = a.call("GET", "/clients/reporter", None).await;
    assert_eq!(s, 404);
    let (s, _) = a.call("DELETE", "/clients/reporter", None).await;
    assert_eq!(s, 404);
    // A public client with a redirect URI.
    let (s, v) = a
        .call(
            "POST",
            "/clients",
            Some(json!({"confidential": false, "redirect_uris": ["http://127.0.0.1:9/cb"]})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(v["client_secret"].is_null());
    assert_eq!(
        v["client"]["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    a.app.shutdown().await;
}

#[tokio::test]
async fn users_create_disable_link_and_grants() {
    let a = Admin::start().await;
    for (body, field) in [
        (json!({"email": "nope"}), "email"),
        (
            json!({"email": "x@example.com", "password": "short"}),
            "password",
        ),
        (json!({"name": "x"}), "email"),
        (
            json!({"email": "x@example.com", "is_admin": true}),
            "is_admin",
        ),
        (json!({"email": "x@example.com", "role": "root"}), "role"),
    ] {
        let (s, v) = a.call("POST", "/users", Some(body.clone())).await;
        assert_eq!((s, v["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    // With a password: can sign in.
    let (s, v) = a
        .call(
            "POST",
            "/users",
            Some(json!({"email": "Ada@Example.com", "name": "Ada", "password": crate::browser::PASSWORD})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["user"]["email"], "ada@example.com");
    assert!(v["password_link"].is_null());
    let ada = v["user"]["id"].as_str().unwrap().to_string();
    let (s, v) = a
        .call("POST", "/users", Some(json!({"email": "ada@example.com"})))
        .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("email")));
    // Without: a one-time link to set one.
    let (s, v) = a
        .call("POST", "/users", Some(json!({"email": "bob@example.com"})))
        .await;
    assert_eq!(s, 201, "{v}");
    let link = v["password_link"]["url"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&a.app.url("/password/reset?token=")),
        "{link}"
    );
    let bob = v["user"]["id"].as_str().unwrap().to_string();
    let b = Browser::new();
    let page = b.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("bob@example.com"));
    let p = b
        .post(
            &a.app.url("/password"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("token", &page.hidden("token")),
                ("password", "a brand new password"),
                ("password2", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    // Single use.
    assert_eq!(b.get(&link).await.status, 404);
    let u = a.app.store.get_user(&bob).await.unwrap().unwrap();
    assert!(authgate_authority::passwords::verify_password(
        "a brand new password",
        &u.password_hash
    ));

    // Get, list.
    let (s, v) = a.call("GET", &format!("/users/{ada}"), None).await;
    assert_eq!((s, v["name"].as_str()), (200, Some("Ada")));
    let (s, v) = a.call("GET", "/users?limit=1", None).await;
    assert_eq!(
        (s, v["total"].as_u64(), v["next_offset"].as_u64()),
        (200, Some(2), Some(1))
    );
    let (s, _) = a.call("GET", "/users/nobody", None).await;
    assert_eq!(s, 404);

    // Reset link.
    let (s, v) = a
        .call("POST", &format!("/users/{ada}/password-link"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["url"]
            .as_str()
            .unwrap()
            .contains("/password/reset?token=")
    );
    assert!(v["expires_at"].as_i64().unwrap() > 0);

    // Grants: Ada allows the public client; the admin sees and revokes it.
    let b = Browser::new();
    let p = authorize_through(&a.app, &b, "ada@example.com", &[]).await;
    let (s, tokens) = exchange(&a.app, &p.query()["code"], crate::browser::VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    let (s, v) = a.call("GET", &format!("/users/{ada}/grants"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["client_id"], "public");
    assert_eq!(v["items"][0]["resource_id"], "weather");
    assert_eq!(v["items"][0]["consented_scopes"], json!(["weather:read"]));
    assert_eq!(v["items"][0]["grants"].as_array().unwrap().len(), 1);
    let (s, v) = a
        .call(
            "POST",
            &format!("/users/{ada}/grants/revoke"),
            Some(json!({"client_id": "public"})),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("resource_id")), "{v}");
    let (s, v) = a
        .call(
            "POST",
            &format!("/users/{ada}/grants/revoke"),
            Some(json!({"client_id": "public", "resource_id": "weather"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"consent_removed": true, "grants_revoked": 1}));
    let (s, _) = refresh(&a.app, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(s, 400);
    let (_, v) = a.call("GET", &format!("/users/{ada}/grants"), None).await;
    assert_eq!(v["items"], json!([]));

    // Disable / enable.
    let (s, v) = a.call("POST", &format!("/users/{ada}/disable"), None).await;
    assert_eq!((s, v["disabled"].as_bool()), (200, Some(true)));
    let (s, v) = a.call("POST", &format!("/users/{ada}/enable"), None).await;
    assert_eq!((s, v["disabled"].as_bool()), (200, Some(false)));
    // The last administrator cannot be disabled.
    let admin = add_admin(&a.app, "root@example.com").await;
    let (s, v) = a
        .call("POST", &format!("/users/{}/disable", admin.id), None)
        .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("id")), "{v}");
    a.app.shutdown().await;
}

#[tokio::test]
async fn keys_list_rotate_retire() {
    let a = Admin::start().await;
    let (s, v) = a.call("GET", "/keys", None).await;
    assert_eq!(s, 200);
    // The ES256 access-token key and the RS256 and EdDSA ID-token keys:
    // all three sign, so all are active.
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|k| k["state"] == "active"), "{v}");
    let access = items.iter().find(|k| k["alg"] == "ES256").unwrap();
    let first = access["kid"].as_str().unwrap().to_string();
    let (s, v) = a.call("POST", &format!("/keys/{first}/retire"), None).await;
    assert_eq!((s, v["field"].as_str()), (409, Some("kid")), "{v}");
    let (s, v) = a.call("POST", "/keys/rotate", None).await;
    assert_eq!(s, 200, "{v}");
    let second = v["kid"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    // New tokens are signed by the new key; the old one is still published.
    let t = a.app.svc_token("weather:read").await;
    assert_eq!(decode_segment(&t, 0)["kid"], second);
    let jwks: Value = a
        .app
        .http
        .get(a.app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Three new keys (one per algorithm) and the three old ones.
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 6);
    let (_, v) = a.call("GET", "/keys", None).await;
    let state_of = |kid: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(
        (state_of(&first), state_of(&second)),
        (json!("retired"), json!("active"))
    );
    // The admin token (signed by the old key) still works until retired.
    let (s, v) = a.call("POST", &format!("/keys/{first}/retire"), None).await;
    assert_eq!((s, v["removed"].as_bool()), (200, Some(true)), "{v}");
    let jwks: Value = a
        .app
        .http
        .get(a.app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 5);
    let (s, _) = a.call("GET", "/keys", None).await;
    assert_eq!(s, 401, "a token signed by a retired key no longer verifies");
    let (s, _) = a.call("POST", "/keys/nokey/retire", None).await;
    assert_eq!(s, 401);
    a.app.shutdown().await;
}

#[tokio::test]
async fn audit_log_search_and_paging() {
    let a = Admin::start().await;
    for i in 0..3 {
        let (s, v) = a
            .call(
                "POST",
                "/clients",
                Some(json!({"client_id": format!("bulk-{i}")})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    audit_event(&a.app, "bulk-2", |e| e["event"] == "admin.client.created").await;
    let (s, v) = a
        .call("GET", "/audit?q=admin.client.created&limit=2", None)
        .await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["client_id"], "bulk-2");
    assert_eq!(items[0]["actor"], "client:ops");
    assert_eq!(items[0]["address"], "127.0.0.1");
    let before = v["next_before"].as_i64().unwrap();
    let (s, v) = a
        .call(
            "GET",
            &format!("/audit?q=admin.client.created&limit=2&before={before}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["items"][0]["client_id"], "bulk-0");
    assert!(v["next_before"].is_null());
    for (q, field) in [("limit=0", "limit"), ("before=x", "before")] {
        let (s, v) = a.call("GET", &format!("/audit?{q}"), None).await;
        assert_eq!((s, v["field"].as_str()), (400, Some(field)));
    }
    a.app.shutdown().await;
}

/// The discovery documents are rendered once per resource list: a resource
/// added or removed through the admin API shows in `scopes_supported` on the
/// next request, not a cached copy.
#[tokio::test]
async fn server_metadata_follows_resource_changes() {
    let a = Admin::start().await;
    let docs = [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ];
    let scopes = |a: &Admin, path: &'static str| {
        let url = a.app.url(path);
        let http = a.app.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/json");
            let v: Value = r.json().await.unwrap();
            v["scopes_supported"].as_array().unwrap().clone()
        }
    };
    for d in docs {
        let s = scopes(&a, d).await;
        assert!(s.iter().any(|x| x == "weather:read"), "{d}: {s:?}");
        assert!(!s.iter().any(|x| x == "fc:read"), "{d}: {s:?}");
        // Twice: the second answer comes from the rendered copy.
        assert_eq!(scopes(&a, d).await, s);
    }
    let (s, v) = a
        .call(
            "POST",
            "/resources",
            Some(weather_input("forecasts", "https://fc.example.com/mcp")),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    for d in docs {
        let s = scopes(&a, d).await;
        for want in ["fc:read", "fc:write", "weather:read", "openid"] {
            assert!(s.iter().any(|x| x == want), "{d} lacks {want}: {s:?}");
        }
    }
    let (s, v) = a.call("DELETE", "/resources/forecasts", None).await;
    assert_eq!(s, 200, "{v}");
    for d in docs {
        let s = scopes(&a, d).await;
        assert!(!s.iter().any(|x| x == "fc:read"), "{d}: {s:?}");
    }
    a.app.shutdown().await;
}

/// A password reset ends what the old password opened: the person's
/// sessions are signed out and their grants (refresh tokens) revoked.
#[tokio::test]
async fn password_reset_signs_out_sessions_and_revokes_grants() {
    let a = Admin::start().await;
    let ada = add_user(&a.app, "ada@example.com").await;
    let b = Browser::new();
    let p = authorize_through(&a.app, &b, "ada@example.com", &[]).await;
    let (s, tokens) = exchange(&a.app, &p.query()["code"], crate::browser::VERIFIER).await;
    assert_eq!(s, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(b.get(&a.app.url("/account")).await.status, 200);
    // An unrelated person's session and grant stay.
    add_user(&a.app, "bob@example.com").await;
    let bob = Browser::new();
    let p = authorize_through(&a.app, &bob, "bob@example.com", &[]).await;
    let (_, bob_tokens) = exchange(&a.app, &p.query()["code"], crate::browser::VERIFIER).await;
    let bob_rt = bob_tokens["refresh_token"].as_str().unwrap().to_string();

    let (s, v) = a
        .call("POST", &format!("/users/{}/password-link", ada.id), None)
        .await;
    assert_eq!(s, 200, "{v}");
    let link = v["url"].as_str().unwrap().to_string();
    let other = Browser::new();
    let page = other.get(&link).await;
    let p = other
        .post(
            &a.app.url("/password"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("token", &page.hidden("token")),
                ("password", "a brand new password"),
                ("password2", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);

    let (s, body) = refresh(&a.app, &rt, None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let p = b.get(&a.app.url("/account")).await;
    assert!(
        p.location.as_deref().is_some_and(|l| l.ends_with("/login")),
        "the old session is signed out: {} {:?}",
        p.status,
        p.location
    );
    let (s, body) = refresh(&a.app, &bob_rt, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(bob.get(&a.app.url("/account")).await.status, 200);
    a.app.shutdown().await;
}
