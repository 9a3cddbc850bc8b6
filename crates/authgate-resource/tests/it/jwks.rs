//! The JWKS cache: rotation, refetch limits, outages, discovery.

use crate::{RESOURCE, builder, invalid};
use authgate_resource::testing::TestAuthorizationServer;
use authgate_resource::{Algorithm, InvalidReason as R, ValidationError, Validator};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn rotation_is_picked_up_on_the_first_token_with_the_new_kid() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth)
        .jwks_refresh_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let old = auth.token(RESOURCE, &["weather:read"]);
    v.validate(&old).await.unwrap();
    assert_eq!(auth.jwks_requests(), 1);

    auth.rotate(Algorithm::EdDSA, "key-2", false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let new = auth.token(RESOURCE, &["weather:read"]);
    let c = v.validate(&new).await.expect("new kid accepted at once");
    assert_eq!(c.sub, "user-1");
    assert_eq!(auth.jwks_requests(), 2);
    // Known kids need no fetch.
    v.validate(&auth.token(RESOURCE, &["weather:write"]))
        .await
        .unwrap();
    assert_eq!(auth.jwks_requests(), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch_per_interval() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth)
        .jwks_refresh_interval(Duration::from_secs(3600))
        .cache_capacity(0)
        .build()
        .unwrap();
    // Nothing fetched yet: the first flood triggers the first fetch, once.
    let key = auth.signing_key();
    let claims = auth.claims(RESOURCE, &["weather:read"]);
    let forged = |i: usize| {
        key.sign_with_header(
            &json!({"alg":"ES256","kid":format!("ghost-{i}"),"typ":"at+jwt"}),
            &claims,
        )
    };
    let flood = |offset: usize| {
        let v = v.clone();
        let tokens: Vec<String> = (0..100).map(|i| forged(offset + i)).collect();
        async move {
            let tasks: Vec<_> = tokens
                .into_iter()
                .map(|t| {
                    let v = v.clone();
                    tokio::spawn(async move { v.validate(&t).await })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap().unwrap_err(), invalid(R::UnknownKey));
            }
        }
    };
    flood(0).await;
    assert_eq!(
        auth.jwks_requests(),
        1,
        "one fetch for 100 concurrent unknown kids"
    );
    flood(100).await;
    assert_eq!(auth.jwks_requests(), 1, "no refetch within the interval");
    assert_eq!(v.jwks_fetch_count(), 1);
    // Known keys keep working meanwhile.
    v.validate(&auth.token(RESOURCE, &["weather:read"]))
        .await
        .unwrap();
}

#[tokio::test]
async fn known_keys_keep_working_when_the_authorization_server_is_down() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth)
        .jwks_refresh_interval(Duration::ZERO)
        .cache_capacity(0)
        .build()
        .unwrap();
    let before = auth.token(RESOURCE, &["weather:read"]);
    let later = auth.sign(&{
        let mut c = auth.claims(RESOURCE, &["weather:write"]);
        c["jti"] = json!("later");
        c
    });
    let stranger = auth.signing_key().sign_with_header(
        &json!({"alg":"ES256","kid":"unknown","typ":"at+jwt"}),
        &auth.claims(RESOURCE, &["weather:read"]),
    );
    v.validate(&before).await.unwrap();
    auth.shutdown().await;

    // An unknown kid makes the validator try (and fail) to refetch...
    assert_eq!(
        v.validate(&stranger).await.unwrap_err(),
        invalid(R::UnknownKey)
    );
    // ...and the keys it knew still verify.
    let c = v.validate(&later).await.expect("known key still valid");
    assert!(c.has_scope("weather:write"));
    v.validate(&before).await.unwrap();
}

#[tokio::test]
async fn no_keys_ever_fetched_is_unavailable_not_invalid() {
    let auth = TestAuthorizationServer::start().await;
    let token = auth.token(RESOURCE, &["weather:read"]);
    let issuer = auth.issuer().to_owned();
    auth.shutdown().await;
    let v = Validator::builder(issuer, RESOURCE).build().unwrap();
    let err = v.validate(&token).await.unwrap_err();
    assert_eq!(err, ValidationError::Unavailable);
    assert_eq!(err.status_code(), 503);
    assert!(v.prefetch().await.is_err());
}

#[tokio::test]
async fn discovery_with_an_issuer_path_and_issuer_mismatch() {
    let auth = TestAuthorizationServer::start_with(Algorithm::ES256, "/tenant-a").await;
    let v = Validator::builder(auth.issuer(), RESOURCE).build().unwrap();
    v.prefetch().await.expect("path-inserted discovery");
    v.validate(&auth.token(RESOURCE, &["weather:read"]))
        .await
        .unwrap();

    // A configured issuer differing by a trailing slash does not match the
    // metadata's issuer: discovery refuses it.
    let slash = Validator::builder(format!("{}/", auth.issuer()), RESOURCE)
        .build()
        .unwrap();
    assert_eq!(
        slash.prefetch().await.unwrap_err(),
        ValidationError::Unavailable
    );
}

#[tokio::test]
async fn explicit_jwks_uri_skips_discovery() {
    let auth = TestAuthorizationServer::start().await;
    let jwks = format!("{}/jwks", auth.issuer());
    let v = builder(&auth).jwks_uri(jwks).build().unwrap();
    v.validate(&auth.token(RESOURCE, &["weather:read"]))
        .await
        .unwrap();
    assert_eq!(auth.jwks_requests(), 1);
}

#[tokio::test]
async fn an_authorization_server_started_late_is_noticed_within_a_second() {
    // Reserve a port; nothing listens there yet.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let v = Validator::builder(format!("http://{addr}"), RESOURCE)
        .jwks_refresh_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    assert!(v.prefetch().await.is_err());

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let auth = TestAuthorizationServer::start_on(listener, Algorithm::ES256, "");
    let token = auth.token(RESOURCE, &["weather:read"]);
    // Within a second of the failed attempt: no new attempt yet.
    assert_eq!(
        v.validate(&token).await.unwrap_err(),
        ValidationError::Unavailable
    );
    assert_eq!(auth.jwks_requests(), 0);
    // Not the hour-long interval: a second later the keys are fetched.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    v.validate(&token).await.expect("late AS noticed");
    assert_eq!(auth.jwks_requests(), 1);
}

#[tokio::test]
async fn a_withdrawn_key_stops_verifying_after_the_maximum_age() {
    let auth = TestAuthorizationServer::start().await;
    let v = builder(&auth)
        .jwks_max_age(Duration::ZERO)
        .jwks_refresh_interval(Duration::ZERO)
        .cache_capacity(0)
        .build()
        .unwrap();
    let old = auth.token(RESOURCE, &["weather:read"]);
    v.validate(&old).await.unwrap();
    assert_eq!(auth.jwks_requests(), 1);
    // The AS withdraws the key (compromise): only the new one is published.
    auth.rotate(Algorithm::ES256, "key-2", true);
    // The stale set still answers this request, and a refetch starts in the
    // background...
    v.validate(&old).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while auth.jwks_requests() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // ...after which the withdrawn key no longer verifies.
    assert_eq!(v.validate(&old).await.unwrap_err(), invalid(R::UnknownKey));
    v.validate(&auth.token(RESOURCE, &["weather:read"]))
        .await
        .unwrap();
}
