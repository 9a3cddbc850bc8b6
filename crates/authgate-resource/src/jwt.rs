//! The compact-JWS hot path: split, header, signature, payload. Header and
//! signature are decoded into stack buffers; the payload is the one heap
//! allocation before the claims themselves.

use crate::claims::RawClaims;
use crate::error::InvalidReason;
use crate::jwk::{Algorithm, Key};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::borrow::Cow;

/// The largest encoded header accepted whatever the configuration.
pub(crate) const HEADER_LIMIT: usize = 2048;
/// Base64url of a 8192-bit RSA signature (1024 bytes) is 1366 characters.
const SIGNATURE_B64_LIMIT: usize = 1368;

/// A compact JWS split into its parts.
pub(crate) struct Jws<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a [u8],
}

pub(crate) fn split(
    token: &str,
    max_token: usize,
    max_header: usize,
) -> Result<Jws<'_>, InvalidReason> {
    if token.len() > max_token {
        return Err(InvalidReason::TooLarge);
    }
    let b = token.as_bytes();
    let d1 = memchr(b, 0).ok_or(InvalidReason::Malformed)?;
    let d2 = memchr(b, d1 + 1).ok_or(InvalidReason::Malformed)?;
    if memchr(b, d2 + 1).is_some() || d1 == 0 || d2 == d1 + 1 {
        return Err(InvalidReason::Malformed);
    }
    if d1 > max_header.min(HEADER_LIMIT) {
        return Err(InvalidReason::TooLarge);
    }
    Ok(Jws {
        header: &token[..d1],
        payload: &token[d1 + 1..d2],
        signature: &token[d2 + 1..],
        signing_input: &b[..d2],
    })
}

fn memchr(b: &[u8], from: usize) -> Option<usize> {
    b[from..].iter().position(|&c| c == b'.').map(|i| i + from)
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    /// Any critical extension is one this SDK does not understand
    /// (RFC 7515 §4.1.11), so its presence refuses the token.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The checked header: an accepted algorithm and `typ` = `at+jwt`.
pub(crate) struct Header<'b> {
    pub alg: Algorithm,
    pub kid: Option<Cow<'b, str>>,
}

/// Buffer for a decoded header (3/4 of [`HEADER_LIMIT`], plus slack for
/// the decoder's estimate).
pub(crate) type HeaderBuf = [u8; HEADER_LIMIT / 4 * 3 + 8];

pub(crate) fn header<'b>(
    encoded: &str,
    buf: &'b mut HeaderBuf,
    allowed: &[Algorithm],
    typ: Option<&str>,
) -> Result<Header<'b>, InvalidReason> {
    let n = URL_SAFE_NO_PAD
        .decode_slice(encoded, buf)
        .map_err(|_| InvalidReason::Malformed)?;
    let raw: RawHeader<'b> =
        serde_json::from_slice(&buf[..n]).map_err(|_| InvalidReason::Header)?;
    if raw.crit.is_some() {
        return Err(InvalidReason::Header);
    }
    let alg = Algorithm::from_name(&raw.alg)
        .filter(|a| allowed.contains(a))
        .ok_or(InvalidReason::Algorithm)?;
    let typ_ok = match typ {
        None => raw.typ.as_deref().is_some_and(is_access_token_typ),
        Some(want) => raw
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(want)),
    };
    if !typ_ok {
        return Err(InvalidReason::Type);
    }
    Ok(Header { alg, kid: raw.kid })
}

/// `at+jwt` or `application/at+jwt`, case-insensitively (RFC 9068 §4).
fn is_access_token_typ(t: &str) -> bool {
    let t = if t.len() > 12 && t[..12].eq_ignore_ascii_case("application/") {
        &t[12..]
    } else {
        t
    };
    t.eq_ignore_ascii_case("at+jwt")
}

/// Verifies the signature with the key the header selected.
pub(crate) fn verify(key: &Key, jws: &Jws<'_>) -> Result<(), InvalidReason> {
    if jws.signature.len() > SIGNATURE_B64_LIMIT || jws.signature.is_empty() {
        return Err(InvalidReason::Signature);
    }
    let mut sig = [0u8; SIGNATURE_B64_LIMIT / 4 * 3 + 8];
    let n = URL_SAFE_NO_PAD
        .decode_slice(jws.signature, &mut sig)
        .map_err(|_| InvalidReason::Malformed)?;
    key.key
        .verify_sig(jws.signing_input, &sig[..n])
        .map_err(|_| InvalidReason::Signature)
}

/// Decodes and parses the payload.
/// Typical payloads (a few hundred bytes) are decoded on the stack.
pub(crate) fn payload(encoded: &str) -> Result<RawClaims, InvalidReason> {
    let mut stack = [0u8; 2048];
    let heap;
    let bytes: &[u8] = if encoded.len() / 4 * 3 + 3 <= stack.len() {
        let n = URL_SAFE_NO_PAD
            .decode_slice(encoded, &mut stack)
            .map_err(|_| InvalidReason::Malformed)?;
        &stack[..n]
    } else {
        heap = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| InvalidReason::Malformed)?;
        &heap
    };
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            InvalidReason::Claims
        } else {
            InvalidReason::Malformed
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn hdr(json: &str) -> Result<Algorithm, InvalidReason> {
        let mut buf: HeaderBuf = [0; HEADER_LIMIT / 4 * 3 + 8];
        header(&enc(json), &mut buf, &Algorithm::ALL, None).map(|h| h.alg)
    }

    #[test]
    fn a_configured_typ_replaces_the_access_token_typ() {
        let mut buf: HeaderBuf = [0; HEADER_LIMIT / 4 * 3 + 8];
        let want = Some("authgate-caller+jwt");
        let caller = enc(r#"{"alg":"ES256","typ":"authgate-caller+jwt"}"#);
        let access = enc(r#"{"alg":"ES256","typ":"at+jwt"}"#);
        assert!(header(&caller, &mut buf, &Algorithm::ALL, want).is_ok());
        assert_eq!(
            header(&access, &mut buf, &Algorithm::ALL, want).err(),
            Some(InvalidReason::Type)
        );
        assert_eq!(
            header(&caller, &mut buf, &Algorithm::ALL, None).err(),
            Some(InvalidReason::Type)
        );
    }

    #[test]
    fn typ_and_alg_rules() {
        assert_eq!(
            hdr(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            Ok(Algorithm::ES256)
        );
        assert_eq!(
            hdr(r#"{"alg":"EdDSA","typ":"AT+JWT"}"#),
            Ok(Algorithm::EdDSA)
        );
        assert_eq!(
            hdr(r#"{"alg":"RS256","typ":"application/at+jwt"}"#),
            Ok(Algorithm::RS256)
        );
        assert_eq!(
            hdr(r#"{"alg":"ES256","typ":"JWT"}"#),
            Err(InvalidReason::Type)
        );
        assert_eq!(hdr(r#"{"alg":"ES256"}"#), Err(InvalidReason::Type));
        assert_eq!(
            hdr(r#"{"alg":"ES256","typ":"application/jwt"}"#),
            Err(InvalidReason::Type)
        );
        for alg in ["none", "HS256", "es256", "PS256", "ES384", ""] {
            let j = format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#);
            assert_eq!(hdr(&j), Err(InvalidReason::Algorithm), "{alg}");
        }
        assert_eq!(
            hdr(r#"{"alg":"ES256","typ":"at+jwt","crit":["exp"]}"#),
            Err(InvalidReason::Header)
        );
        assert_eq!(
            hdr(r#"{"alg":"ES256","alg":"none","typ":"at+jwt"}"#),
            Err(InvalidReason::Header)
        );
        assert_eq!(hdr("not json"), Err(InvalidReason::Header));
        let kid_escaped = r#"{"alg":"ES256","typ":"at+jwt","kid":"a\"b"}"#;
        let mut buf: HeaderBuf = [0; HEADER_LIMIT / 4 * 3 + 8];
        let h = header(&enc(kid_escaped), &mut buf, &Algorithm::ALL, None).unwrap();
        assert_eq!(h.kid.as_deref(), Some("a\"b"));
        assert_eq!(
            header(
                &enc(r#"{"alg":"RS256","typ":"at+jwt"}"#),
                &mut buf,
                &[Algorithm::ES256],
                None
            )
            .err(),
            Some(InvalidReason::Algorithm)
        );
    }

    #[test]
    fn split_rules() {
        assert!(split("a.b.c", 100, 100).is_ok());
        assert!(split("a.b.", 100, 100).is_ok());
        for bad in ["a.b", "a.b.c.d", ".b.c", "a..c", "abc", ""] {
            assert_eq!(
                split(bad, 100, 100).err(),
                Some(InvalidReason::Malformed),
                "{bad}"
            );
        }
        assert_eq!(split("a.b.c", 4, 100).err(), Some(InvalidReason::TooLarge));
        assert_eq!(
            split("aaaa.b.c", 100, 3).err(),
            Some(InvalidReason::TooLarge)
        );
        let j = split("hh.pp.ss", 100, 100).unwrap();
        assert_eq!(j.signing_input, b"hh.pp");
        assert_eq!((j.header, j.payload, j.signature), ("hh", "pp", "ss"));
    }
}
