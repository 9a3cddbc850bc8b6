use crate::support::*;
use authgate_core::random::OsRandom;
use serde_json::Value;

#[tokio::test]
async fn rotation_publishes_both_keys_and_old_tokens_stay_valid() {
    let app = TestApp::start().await;
    let old_token = app.svc_token("weather:read").await;
    let old_kid = decode_segment(&old_token, 0)["kid"]
        .as_str()
        .unwrap()
        .to_string();

    let st = app.state();
    let new_kid = authgate_authority::keys::rotate(
        app.store.as_ref(),
        &st.kek,
        st.settings.signing_alg,
        st.clock.now(),
        7200,
        &OsRandom::new(),
    )
    .await
    .unwrap();
    // The running server picks the rotation up from the store (as another
    // instance or the CLI would make it) within the reload interval.
    let mut published = Vec::new();
    for _ in 0..40 {
        let j: Value = app
            .http
            .get(app.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        published = j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        if published.contains(&new_kid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        published.contains(&new_kid) && published.contains(&old_kid),
        "{published:?}"
    );

    let new_token = app.svc_token("weather:read").await;
    assert_eq!(decode_segment(&new_token, 0)["kid"], new_kid.as_str());
    for t in [&old_token, &new_token] {
        let r: Value = app
            .http
            .post(app.url("/introspect"))
            .basic_auth("svc", Some(SVC_SECRET))
            .form(&[("token", t.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["active"], true);
    }
    // After the publication window the retired keys (the access-token key
    // and the two ID-token keys of the other algorithms) are removed.
    let removed =
        authgate_authority::keys::purge_removed(app.store.as_ref(), st.clock.now() + 7201)
            .await
            .unwrap();
    assert_eq!(removed, 3);
    app.shutdown().await;
}

#[tokio::test]
async fn keys_are_sealed_at_rest() {
    let app = TestApp::start().await;
    let recs = app.store.list_signing_keys().await.unwrap();
    // The access-token key and the ID-token keys, all sealed alike.
    assert_eq!(recs.len(), 3);
    let kek = &app.state().kek;
    let wrong = authgate_core::crypto_box::Kek::from_bytes(&[9u8; 32]).unwrap();
    for r in &recs {
        let sealed = &r.private_key_sealed;
        // A PKCS#8 key starts with a DER SEQUENCE; sealed bytes must not.
        assert!(
            !(sealed.len() > 4 && sealed[0] == 0x30 && (sealed[2] == 0x02 || sealed[4] == 0x02)),
            "{:?}",
            r.alg
        );
        let der = kek
            .open(sealed, r.kid.as_bytes())
            .expect("opens with the KEK");
        assert_eq!(der[0], 0x30);
        assert!(wrong.open(sealed, r.kid.as_bytes()).is_err());
    }
    app.shutdown().await;
}

#[tokio::test]
async fn other_algorithms_can_be_chosen() {
    for alg in ["EdDSA", "RS256"] {
        let mut cfg = default_config();
        cfg.signing_alg = alg.into();
        let app = TestApp::start_with(cfg, "").await;
        let t = app.svc_token("weather:read").await;
        assert_eq!(decode_segment(&t, 0)["alg"], alg);
        let j: Value = app
            .http
            .get(app.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kid = decode_segment(&t, 0)["kid"].clone();
        let key = j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .expect("the access token's key is published");
        assert_eq!(key["alg"], alg);
        app.shutdown().await;
    }
}
