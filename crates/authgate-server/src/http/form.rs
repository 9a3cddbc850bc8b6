//! `application/x-www-form-urlencoded` bodies as ordered pairs, so that
//! repeated parameters (`resource`) survive and duplicated singletons can be
//! refused. Broken percent-encoding or UTF-8 is `invalid_request`, not a
//! silent replacement character.

use super::error::ApiError;
use authgate_core::OAuthError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use percent_encoding::percent_decode;

#[derive(Debug, Clone, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            )
            .into());
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    OAuthError::invalid_request("the request body is too large")
                } else {
                    OAuthError::invalid_request("the request body could not be read")
                }
            })?;
        parse(&body).map(FormPairs).map_err(Into::into)
    }
}

pub fn parse(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let mut out = Vec::new();
    for part in body.split(|b| *b == b'&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &[][..]),
        };
        let k = decode(k)?;
        let v = decode(v)?;
        if out.len() >= 256 {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    // Reject malformed escapes ("%zz", a lone "%") rather than passing them on.
    let mut i = 0;
    while i < plus.len() {
        if plus[i] == b'%' {
            let ok = plus.len() > i + 2
                && plus[i + 1].is_ascii_hexdigit()
                && plus[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(OAuthError::invalid_request(
                    "malformed percent-encoding in the body",
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let s = percent_decode(&plus)
        .decode_utf8()
        .map_err(|_| OAuthError::invalid_request("the request body is not valid UTF-8"))?;
    if s.chars().any(|c| c == '\0') {
        return Err(OAuthError::invalid_request(
            "the request body contains a NUL character",
        ));
    }
    Ok(s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_in_order() {
        let p = parse(b"a=1&b=x+y&resource=https%3A%2F%2Fa&resource=b&flag").unwrap();
        assert_eq!(p[1], ("b".into(), "x y".into()));
        assert_eq!(p[2].1, "https://a");
        assert_eq!(p[4], ("flag".into(), "".into()));
    }

    #[test]
    fn refuses_broken_encodings() {
        assert!(parse(b"a=%zz").is_err());
        assert!(parse(b"a=%e").is_err());
        assert!(parse(b"a=%ff%fe").is_err());
        assert!(parse(b"a=%00").is_err());
    }
}
