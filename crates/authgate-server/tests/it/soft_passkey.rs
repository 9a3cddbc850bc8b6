//! A software passkey authenticator for in-process tests: makes the
//! browser's answers to `navigator.credentials.create` (attestation
//! "none") and `.get` from the server's options, with a P-256 key of
//! aws-lc-rs and a small CBOR writer, so the server's WebAuthn library
//! checks a real ceremony (challenge, origin, RP id hash, flags,
//! signature). The Chromium suite (e2e/) drives a browser's virtual
//! authenticator instead.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

/// Flags: user present, user verified (what a passkey with a screen lock
/// says), attested credential data included.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftPasskey {
    key: EcdsaKeyPair,
    cred_id: Vec<u8>,
    /// The user handle given at registration (answered at sign-in).
    user_handle: Vec<u8>,
    counter: u32,
    origin: String,
}

/// A CBOR item head (RFC 8949 §3).
fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn int(v: i64, out: &mut Vec<u8>) {
    if v >= 0 {
        head(0, v as u64, out)
    } else {
        head(1, (-1 - v) as u64, out)
    }
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    head(2, b.len() as u64, out);
    out.extend(b);
}

fn text(s: &str, out: &mut Vec<u8>) {
    head(3, s.len() as u64, out);
    out.extend(s.as_bytes());
}

fn rp_id_hash(options: &Value, fallback: &str) -> Vec<u8> {
    let rp = options["rp"]["id"]
        .as_str()
        .or(options["rpId"].as_str())
        .unwrap_or(fallback);
    digest(&SHA256, rp.as_bytes()).as_ref().to_vec()
}

fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
    json!({
        "type": kind,
        "challenge": options["challenge"].as_str().expect("a challenge"),
        "origin": origin,
        "crossOrigin": false,
    })
    .to_string()
    .into_bytes()
}

impl SoftPasskey {
    /// An authenticator for pages at `origin` (e.g. `http://localhost:1234`).
    pub fn new(origin: &str) -> Self {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let mut cred_id = vec![0u8; 16];
        aws_lc_rs::rand::fill(&mut cred_id).unwrap();
        Self {
            key,
            cred_id,
            user_handle: Vec::new(),
            counter: 0,
            origin: origin.trim_end_matches('/').to_owned(),
        }
    }

    fn host(&self) -> String {
        url::Url::parse(&self.origin)
            .unwrap()
            .host_str()
            .unwrap()
            .to_owned()
    }

    /// The answer to `navigator.credentials.create({publicKey: options})`
    /// (`options` = the server's `publicKey` member), as the JSON the page
    /// script posts.
    pub fn create(&mut self, options: &Value) -> String {
        self.user_handle = B64
            .decode(options["user"]["id"].as_str().expect("a user id"))
            .unwrap();
        let point = self.key.public_key().as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        // COSE_Key: kty EC2, alg ES256, crv P-256, x, y.
        let mut cose = Vec::new();
        head(5, 5, &mut cose);
        int(1, &mut cose);
        int(2, &mut cose);
        int(3, &mut cose);
        int(-7, &mut cose);
        int(-1, &mut cose);
        int(1, &mut cose);
        int(-2, &mut cose);
        bytes(&point[1..33], &mut cose);
        int(-3, &mut cose);
        bytes(&point[33..65], &mut cose);

        let mut auth_data = rp_id_hash(options, &self.host());
        auth_data.push(UP | UV | AT);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((self.cred_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.cred_id);
        auth_data.extend(cose);

        let mut att = Vec::new();
        head(5, 3, &mut att);
        text("fmt", &mut att);
        text("none", &mut att);
        text("attStmt", &mut att);
        head(5, 0, &mut att);
        text("authData", &mut att);
        bytes(&auth_data, &mut att);

        let id = B64.encode(&self.cred_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(att),
                "clientDataJSON": B64.encode(client_data("webauthn.create", options, &self.origin)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// The answer to `navigator.credentials.get({publicKey: options})`.
    pub fn get(&mut self, options: &Value) -> String {
        self.counter += 1;
        let mut auth_data = rp_id_hash(options, &self.host());
        auth_data.push(UP | UV);
        auth_data.extend(self.counter.to_be_bytes());
        let cd = client_data("webauthn.get", options, &self.origin);
        let mut signed = auth_data.clone();
        signed.extend(digest(&SHA256, &cd).as_ref());
        let sig = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        let id = B64.encode(&self.cred_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(cd),
                "signature": B64.encode(sig.as_ref()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}
