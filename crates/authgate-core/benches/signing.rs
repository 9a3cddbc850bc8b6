//! Access-token signing throughput, single core.
//!
//! * `aws_lc_rs_sign`: aws-lc-rs's safe `EcdsaKeyPair::sign` of a typical
//!   access token's signing input, prepared in advance — one ES256
//!   signature through the safe API, nothing else.
//! * `sign_jwt`: `SigningKey::sign_jwt` of the same claims — the whole
//!   token as the token endpoint makes it: claims to JSON, base64url,
//!   SHA-256 and ECDSA through the same aws-lc-rs `EcdsaKeyPair::sign`
//!   (a key parsed once), base64url.
//!
//! `cargo bench -p authgate-core --bench signing -- --quick` prints
//! criterion's timings, then both rates and their ratio, and the same
//! numbers as one `BENCH_JSON {…}` line, which `bench/run` puts in its
//! report beside the CPU each token costs under load.

// A benchmark: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_core::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use authgate_core::model::SigningAlg;
use authgate_core::random::OsRandom;
use authgate_core::signing::SigningKey;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair};
use criterion::Criterion;
use std::hint::black_box;

mod support {
    pub mod rates;
}
use support::rates::interleaved;

/// Claims shaped like the benchmark's client-credentials tokens.
fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "http://127.0.0.1:18080".into(),
        sub: "bench-client".into(),
        aud: "http://127.0.0.1:19999/mcp".into(),
        client_id: "bench-client".into(),
        scope: "mcp:read".into(),
        iat: 1_795_794_474,
        exp: 1_795_798_074,
        jti: "ijWv0oLkhRMZ3NnvX8z8XA".into(),
        auth_time: None,
        gid: None,
        amr: Vec::new(),
        idp: None,
        org_id: None,
    }
}

fn main() {
    let generated = SigningKey::generate(SigningAlg::ES256, &OsRandom::new()).expect("key");
    let key = generated.key;
    let safe = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &generated.pkcs8,
    )
    .expect("same key through aws-lc-rs");
    let rng = SystemRandom::new();
    let claims = claims();
    let token = key.sign_jwt(ACCESS_TOKEN_TYP, &claims).expect("sign");
    let (signing_input, _) = token.rsplit_once('.').expect("JWS");
    let signing_input = signing_input.as_bytes().to_vec();
    // The token verifies with the key's own public half.
    let _: AccessTokenClaims =
        authgate_core::signing::verify_jwt(&token, ACCESS_TOKEN_TYP, &[key.verifying_key()])
            .expect("sign_jwt makes a valid token");

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("aws_lc_rs_sign", |b| {
        b.iter(|| safe.sign(&rng, black_box(&signing_input)).expect("sign"))
    });
    c.bench_function("sign_jwt", |b| {
        b.iter(|| key.sign_jwt(ACCESS_TOKEN_TYP, black_box(&claims)))
    });
    c.final_summary();

    // `cargo test --benches` runs the functions once; the summary is for
    // `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (safe_rate, jwt_rate, ratio) = interleaved(
        200,
        50,
        || {
            let _ = black_box(safe.sign(&rng, black_box(&signing_input)));
        },
        || {
            let _ = black_box(key.sign_jwt(ACCESS_TOKEN_TYP, black_box(&claims)));
        },
    );
    println!("aws-lc-rs safe ES256 sign: {safe_rate:>10.0} /s");
    println!(
        "sign_jwt (whole token):    {jwt_rate:>10.0} /s  ({ratio:.3}x the safe signature alone, median of interleaved rounds)"
    );
    println!(
        "BENCH_JSON {}",
        serde_json::json!({
            "kind": "signing",
            "aws_lc_rs_sign_per_s": safe_rate,
            "sign_jwt_per_s": jwt_rate,
            "sign_jwt_ratio": ratio,
        })
    );
}
