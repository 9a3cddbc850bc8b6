//! Validation throughput, single core.
//!
//! * `raw_es256_verify`: aws-lc-rs verifying the token's ES256 signature
//!   with a pre-parsed key and a pre-decoded signature — the floor.
//! * `signature_path`: `Validator::validate` with the verified-token cache
//!   off (split, header, key lookup, base64, signature, claims, checks).
//! * `cached_path`: `Validator::validate` of a token already verified.
//!
//! `cargo bench -p authgate-resource --bench validation -- --quick`
//! prints criterion's timings, then validations/s and the ratio
//! signature-path / raw (target ≥ 0.9) and the cached rate (target
//! ≥ 1,000,000/s), and those numbers again as one `BENCH_JSON {…}` line,
//! which `bench/run` puts in its report.

// A benchmark: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authgate_resource::testing::TestAuthorizationServer;
use authgate_resource::{Claims, ValidationError, Validator};
use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[path = "../../authgate-core/benches/support/rates.rs"]
mod rates;
use rates::{interleaved, rate};

const RESOURCE: &str = "https://mcp.example.com/mcp";

/// Polls a future that completes without waiting (keys are loaded, so
/// validation never awaits): no executor overhead in the measurement.
fn now_or_never<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("validation awaited"),
    }
}

struct Setup {
    token: String,
    key: ParsedPublicKey,
    signing_input: Vec<u8>,
    sig: Vec<u8>,
    uncached: Validator,
    cached: Validator,
    now: i64,
}

fn setup(rt: &tokio::runtime::Runtime) -> (Setup, TestAuthorizationServer) {
    rt.block_on(async {
        let auth = TestAuthorizationServer::start().await;
        let mut claims = auth.claims(RESOURCE, &["weather:read", "weather:write"]);
        claims["gid"] = serde_json::json!("grant-123");
        let token = auth.sign(&claims);
        let build = |cache| {
            Validator::builder(auth.issuer(), RESOURCE)
                .scope_implies("weather:write", ["weather:read"])
                .cache_capacity(cache)
                .build()
                .expect("validator")
        };
        let (uncached, cached) = (build(0), build(10_000));
        uncached.prefetch().await.expect("keys");
        cached.prefetch().await.expect("keys");
        let (input, sig) = token.rsplit_once('.').expect("JWS");
        let s = Setup {
            key: ParsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                auth.signing_key().public_key_bytes(),
            )
            .expect("key"),
            signing_input: input.as_bytes().to_vec(),
            sig: URL_SAFE_NO_PAD.decode(sig).expect("sig"),
            now: claims["iat"].as_i64().expect("iat"),
            token,
            uncached,
            cached,
        };
        (s, auth)
    })
}

fn validate(v: &Validator, token: &str, now: i64) -> Result<Arc<Claims>, ValidationError> {
    now_or_never(v.validate_at(token, now))
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (s, _auth) = setup(&rt);
    assert!(validate(&s.uncached, &s.token, s.now).is_ok());
    assert!(validate(&s.cached, &s.token, s.now).is_ok());

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("raw_es256_verify", |b| {
        b.iter(|| {
            s.key
                .verify_sig(black_box(&s.signing_input), black_box(&s.sig))
        })
    });
    c.bench_function("signature_path", |b| {
        b.iter(|| validate(&s.uncached, black_box(&s.token), s.now))
    });
    c.bench_function("cached_path", |b| {
        b.iter(|| validate(&s.cached, black_box(&s.token), s.now))
    });
    c.final_summary();

    // `cargo test --benches` runs the functions once; the summary is for
    // `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (raw, sig, ratio) = interleaved(
        200,
        50,
        || {
            let _ = black_box(
                s.key
                    .verify_sig(black_box(&s.signing_input), black_box(&s.sig)),
            );
        },
        || {
            let _ = black_box(validate(&s.uncached, black_box(&s.token), s.now));
        },
    );
    let cached = rate(Duration::from_secs(2), || {
        let _ = black_box(validate(&s.cached, black_box(&s.token), s.now));
    });
    println!("raw aws-lc-rs ES256 verify: {raw:>12.0} /s");
    println!(
        "SDK signature path:         {sig:>12.0} /s  ({ratio:.3}x raw, median of interleaved rounds)"
    );
    println!("SDK cached path:            {cached:>12.0} /s");
    // The same numbers as one line for bench/run's report.
    println!(
        "BENCH_JSON {}",
        serde_json::json!({
            "kind": "validation",
            "raw_per_s": raw,
            "signature_per_s": sig,
            "signature_ratio": ratio,
            "cached_per_s": cached,
        })
    );
}
