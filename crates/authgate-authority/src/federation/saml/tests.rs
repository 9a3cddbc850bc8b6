//! Responses here are signed at test time by a real pysaml2 IdP
//! (`e2e/upstream-saml/make_response.py`, xmlsec1), never hand-written
//! XML with fake signatures. Attacks are edits of those real documents.

use super::*;
use base64::Engine as _;
use serde_json::json;
use std::io::Write as _;
use std::process::{Command, Stdio};

const ISSUER: &str = "https://as.test";
const CONN: &str = "c1";
const IDP: &str = "https://idp.test/idp";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The test IdP's Python, its venv made on first use (once per test run:
/// `python3 -m venv` + `pip install -r requirements.txt`, which needs
/// Debian's python3-venv and xmlsec1), so `cargo test` alone runs these.
fn install_idp(root: &std::path::Path) -> std::path::PathBuf {
    static READY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    READY
        .get_or_init(|| {
            let venv = root.join(".venv");
            let python = venv.join("bin/python");
            let stamp = venv.join(".installed");
            if !stamp.exists() {
                let _ = std::fs::remove_dir_all(&venv);
                let ok = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success())
                    && Command::new(&python)
                        .args(["-m", "pip", "install", "-q", "-r"])
                        .arg(root.join("requirements.txt"))
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    ok,
                    "could not install the pysaml2 test IdP in {} (needs python3-venv, PyPI and xmlsec1)",
                    venv.display()
                );
                std::fs::write(&stamp, "").expect("venv stamp");
            }
            python
        })
        .clone()
}

/// Runs the pysaml2 IdP; returns (base64 response, IdP cert PEM).
fn idp_response(overrides: serde_json::Value) -> (String, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e/upstream-saml");
    let python = install_idp(&root);
    let dir = std::env::temp_dir().join(format!("authgate-saml-idp-{}", std::process::id()));
    let mut req = json!({
        "dir": dir,
        "idp_entity_id": IDP,
        "sp_entity_id": sp_entity_id(ISSUER, CONN),
        "acs_url": acs_url(ISSUER, CONN),
        "in_response_to": "id-req-1",
        "name_id": "user-42",
        "attributes": {"mail": ["Ann@Example.test"], "displayName": ["Ann"], "groups": ["eng", "ops"]},
        "sign_assertion": true,
        "sign_response": false,
    });
    if let (Some(base), Some(extra)) = (req.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let mut child = Command::new(python)
        .arg(root.join("make_response.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the pysaml2 IdP");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(req.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("IdP output");
    assert!(out.status.success(), "the pysaml2 IdP failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("IdP JSON");
    (
        v["response"].as_str().expect("response").to_string(),
        v["cert_pem"].as_str().expect("cert").to_string(),
    )
}

fn sp(cert: &str) -> SamlSp {
    sp_with(cert, |_| {})
}

fn sp_with(cert: &str, f: impl FnOnce(&mut SamlConnectionConfig)) -> SamlSp {
    let mut cfg = SamlConnectionConfig {
        idp_entity_id: IDP.into(),
        sso_url: format!("{IDP}/sso"),
        idp_certificates: vec![cert.to_string()],
        attributes: AttributeMap::default(),
        subject_attribute: None,
        trust_email: false,
    };
    f(&mut cfg);
    SamlSp::new(ISSUER, CONN, cfg).expect("sp")
}

fn xml(resp: &str) -> String {
    String::from_utf8(b64().decode(resp).expect("b64")).expect("utf8")
}

fn enc(xml: &str) -> String {
    b64().encode(xml)
}

/// The `<…Assertion …>…</…Assertion>` element of a pysaml2 response.
fn assertion_span(doc: &str) -> (usize, usize) {
    let start = doc
        .find(":Assertion ")
        .and_then(|i| doc[..i].rfind('<'))
        .expect("assertion start");
    let close = doc.find(":Assertion>").expect("assertion end");
    let end = close + ":Assertion>".len();
    (start, end)
}

#[test]
fn good_signed_assertion_is_accepted_and_mapped() {
    let (resp, cert) = idp_response(json!({}));
    let (id, key, exp) = sp(&cert).validate(&resp, "id-req-1").expect("valid");
    assert_eq!(id.subject, "user-42");
    assert_eq!(id.issuer, IDP);
    assert_eq!(id.connection_id, CONN);
    assert_eq!(id.email.as_deref(), Some("ann@example.test"));
    assert!(
        !id.email_verified,
        "not trusted for email unless the operator says so"
    );
    assert_eq!(id.name.as_deref(), Some("Ann"));
    assert_eq!(id.groups, vec!["eng".to_string(), "ops".to_string()]);
    assert!(key.starts_with("saml:c1:"));
    assert!(exp > chrono::Utc::now().timestamp());
    let trusted = sp_with(&cert, |c| c.trust_email = true);
    assert!(
        trusted
            .validate(&resp, "id-req-1")
            .expect("valid")
            .0
            .email_verified
    );
}

#[test]
fn signed_response_covering_the_assertion_is_accepted() {
    let (resp, cert) = idp_response(json!({"sign_assertion": false, "sign_response": true}));
    let (id, _, _) = sp(&cert).validate(&resp, "id-req-1").expect("valid");
    assert_eq!(id.subject, "user-42");
}

#[test]
fn unsigned_response_is_refused() {
    let (resp, cert) = idp_response(json!({"sign_assertion": false, "sign_response": false}));
    assert!(matches!(
        sp(&cert).validate(&resp, "id-req-1"),
        Err(SamlError::Invalid(_))
    ));
}

#[test]
fn other_idp_key_is_refused() {
    let (resp, _) = idp_response(json!({}));
    let other_dir =
        std::env::temp_dir().join(format!("authgate-saml-other-{}", std::process::id()));
    let (_, other_cert) = idp_response(json!({"dir": other_dir}));
    assert!(sp(&other_cert).validate(&resp, "id-req-1").is_err());
}

#[test]
fn wrong_audience_recipient_or_in_response_to_is_refused() {
    let (resp, cert) = idp_response(json!({"sp_entity_id": "https://evil.test/sp"}));
    assert!(sp(&cert).validate(&resp, "id-req-1").is_err(), "audience");
    let (resp, cert) = idp_response(json!({"acs_url": "https://evil.test/acs"}));
    assert!(sp(&cert).validate(&resp, "id-req-1").is_err(), "recipient");
    let (resp, cert) = idp_response(json!({}));
    assert!(
        sp(&cert).validate(&resp, "id-req-OTHER").is_err(),
        "InResponseTo"
    );
}

#[test]
fn tampered_attribute_is_refused() {
    let (resp, cert) = idp_response(json!({}));
    let doc = xml(&resp).replace("Ann@Example.test", "boss@example.test");
    assert!(matches!(
        sp(&cert).validate(&enc(&doc), "id-req-1"),
        Err(SamlError::Invalid(_))
    ));
}

#[test]
fn wrapped_assertions_never_yield_the_evil_subject() {
    let (resp, cert) = idp_response(json!({}));
    let doc = xml(&resp);
    let (s, e) = assertion_span(&doc);
    let signed = &doc[s..e];
    // The evil twin: same ID, unsigned, another subject.
    let sig_start = signed.find("<ns2:Signature").expect("signature");
    let sig_end =
        signed.find("</ns2:Signature>").expect("signature end") + "</ns2:Signature>".len();
    let evil =
        format!("{}{}", &signed[..sig_start], &signed[sig_end..]).replace(">user-42<", ">admin<");
    // 1: evil assertion in place, the signed original moved after it.
    let xsw1 = format!("{}{}{}{}", &doc[..s], evil, signed, &doc[e..]);
    // 2: the signed original moved inside the evil assertion.
    let inner = evil.replacen("<ns1:Subject>", &format!("{signed}<ns1:Subject>"), 1);
    let xsw2 = format!("{}{}{}", &doc[..s], inner, &doc[e..]);
    for (name, attack) in [("xsw1", xsw1), ("xsw2", xsw2)] {
        if let Ok((id, _, _)) = sp(&cert).validate(&enc(&attack), "id-req-1") {
            assert_ne!(
                id.subject, "admin",
                "{name}: the unsigned assertion was read"
            );
            assert_eq!(id.subject, "user-42", "{name}");
        }
    }
}

#[test]
fn transient_name_id_needs_a_stable_attribute() {
    let transient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
    let (resp, cert) = idp_response(json!({"name_id_format": transient, "name_id": "_t1"}));
    assert!(matches!(
        sp(&cert).validate(&resp, "id-req-1"),
        Err(SamlError::Subject(_))
    ));
    let stable = sp_with(&cert, |c| c.subject_attribute = Some("mail".into()));
    let (id, _, _) = stable.validate(&resp, "id-req-1").expect("valid");
    assert_eq!(id.subject, "Ann@Example.test");
}

#[test]
fn config_without_certificates_is_refused() {
    let cfg = SamlConnectionConfig {
        idp_entity_id: IDP.into(),
        sso_url: format!("{IDP}/sso"),
        idp_certificates: vec![],
        attributes: AttributeMap::default(),
        subject_attribute: None,
        trust_email: false,
    };
    assert!(matches!(
        SamlSp::new(ISSUER, CONN, cfg),
        Err(SamlError::Config(_))
    ));
    let bad: Result<SamlConnectionConfig, _> = serde_json::from_value(
        json!({"idp_entity_id": IDP, "sso_url": "x", "idp_certificates": [], "nope": 1}),
    );
    assert!(bad.is_err(), "unknown keys are refused");
}
