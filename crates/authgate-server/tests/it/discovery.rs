use crate::support::*;
use serde_json::Value;

async fn get_json(app: &TestApp, url: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = app.http.get(url).send().await.unwrap();
    let s = r.status().as_u16();
    let h = r.headers().clone();
    (s, r.json().await.unwrap_or(Value::Null), h)
}

fn assert_urls_absolute(v: &Value) {
    for (k, val) in v.as_object().unwrap() {
        if k.ends_with("_endpoint") || k.ends_with("_uri") || k == "issuer" {
            let s = val
                .as_str()
                .unwrap_or_else(|| panic!("{k} is not a string"));
            url::Url::parse(s).unwrap_or_else(|_| panic!("{k} = {s} is not an absolute URL"));
        }
    }
}

#[tokio::test]
async fn metadata_has_every_required_field() {
    let app = TestApp::start().await;
    let (s, m, h) = get_json(&app, &app.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(s, 200);
    assert!(h["cache-control"].to_str().unwrap().contains("max-age"));
    assert_eq!(m["issuer"], app.base.as_str());
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(m["client_id_metadata_document_supported"], true);
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    let methods = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.iter().any(|x| x == "none"));
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            m["grant_types_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == g)
        );
    }
    for k in [
        "jwks_uri",
        "registration_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "token_endpoint",
        "authorization_endpoint",
    ] {
        assert!(m[k].as_str().unwrap().starts_with(&app.base), "{k}");
    }
    let scopes = m["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|x| x == "weather:write"));
    assert_urls_absolute(&m);

    let (s, o, _) = get_json(&app, &app.url("/.well-known/openid-configuration")).await;
    assert_eq!(s, 200);
    assert_eq!(o["issuer"], m["issuer"]);
    assert_eq!(o["subject_types_supported"], serde_json::json!(["public"]));
    // RS256 (the OIDC default, required by OIDC Discovery) first; the
    // access-token algorithm (ES256 here) is among them.
    assert_eq!(
        o["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn issuer_with_a_path_serves_every_variant() {
    let app = TestApp::start_with(default_config(), "/t").await;
    let origin = app.origin();
    for url in [
        format!("{origin}/.well-known/oauth-authorization-server/t"),
        format!("{origin}/.well-known/openid-configuration/t"),
        format!("{origin}/t/.well-known/openid-configuration"),
    ] {
        let (s, m, _) = get_json(&app, &url).await;
        assert_eq!(s, 200, "{url}");
        assert_eq!(m["issuer"], format!("{origin}/t"), "{url}");
        assert_eq!(m["token_endpoint"], format!("{origin}/t/token"));
    }
    // The token endpoint lives under the issuer path.
    let (s, body, _) = app
        .token_form(
            Some(("svc", SVC_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let claims = decode_segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["iss"], format!("{origin}/t"));
    app.shutdown().await;
}

#[tokio::test]
async fn jwks_publishes_public_keys_only() {
    let app = TestApp::start().await;
    let (s, j, h) = get_json(&app, &app.url("/jwks.json")).await;
    assert_eq!(s, 200);
    assert!(h["cache-control"].to_str().unwrap().contains("max-age"));
    // The ES256 access-token key and the RS256 and EdDSA ID-token keys.
    let keys = j["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let mut algs: Vec<_> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    for k in keys {
        let kty = match k["alg"].as_str().unwrap() {
            "ES256" => "EC",
            "RS256" => "RSA",
            _ => "OKP",
        };
        assert_eq!(k["kty"], kty);
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].as_str().is_some());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                k.get(private).is_none(),
                "private part must never be published"
            );
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn health_endpoints() {
    let app = TestApp::start().await;
    let origin = app.origin();
    assert_eq!(
        app.http
            .get(format!("{origin}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(format!("{origin}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.shutdown().await;
}
