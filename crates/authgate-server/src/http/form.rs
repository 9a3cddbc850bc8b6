//! `application/x-www-form-urlencoded` bodies as ordered pairs, so that
//! repeated parameters (`resource`) survive and duplicated singletons can be
//! refused. Broken percent-encoding or UTF-8 is `invalid_request`, not a
//! silent replacement character.

use super::error::ApiError;
use authgate_core::OAuthError;
use axum::extract::{FromRequest, Request};
use axum::http::header;

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
        let k = decode(k).map_err(Malformed::in_body)?;
        let v = decode(v).map_err(Malformed::in_body)?;
        if out.len() >= 256 {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// Why a form-urlencoded component was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A `%` not followed by two hex digits.
    Escape,
    /// The decoded bytes are not UTF-8.
    Utf8,
    /// The decoded text contains NUL, which no parameter may carry.
    Nul,
}

impl Malformed {
    fn in_body(self) -> OAuthError {
        OAuthError::invalid_request(match self {
            Malformed::Escape => "malformed percent-encoding in the body",
            Malformed::Utf8 => "the request body is not valid UTF-8",
            Malformed::Nul => "the request body contains a NUL character",
        })
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a
/// space, `%XX` a byte). Broken escapes ("%zz", a lone "%") are refused
/// rather than passed on, and so are non-UTF-8 results and NUL. One pass,
/// one allocation: every token request decodes a handful of these.
pub fn decode(raw: &[u8]) -> Result<String, Malformed> {
    let bytes = if raw.iter().any(|b| matches!(b, b'%' | b'+')) {
        let mut out = Vec::with_capacity(raw.len());
        let mut rest = raw;
        while let Some((&b, tail)) = rest.split_first() {
            rest = tail;
            out.push(match b {
                b'+' => b' ',
                b'%' => match rest {
                    [hi, lo, tail @ ..] => {
                        let byte = (hex_value(*hi)? << 4) | hex_value(*lo)?;
                        rest = tail;
                        byte
                    }
                    _ => return Err(Malformed::Escape),
                },
                other => other,
            });
        }
        out
    } else {
        raw.to_vec()
    };
    if bytes.contains(&0) {
        return Err(Malformed::Nul);
    }
    String::from_utf8(bytes).map_err(|_| Malformed::Utf8)
}

fn hex_value(digit: u8) -> Result<u8, Malformed> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(Malformed::Escape),
    }
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
        assert!(parse(b"a=%").is_err());
        assert!(parse(b"a=%4").is_err());
        assert!(parse(b"a=b%").is_err());
        assert!(parse(b"a=\xff").is_err());
        assert!(parse(b"a\0=b").is_err());
    }

    #[test]
    fn decodes_escapes_plus_and_utf8() {
        assert_eq!(decode(b"plain-Text_.~").unwrap(), "plain-Text_.~");
        assert_eq!(decode(b"").unwrap(), "");
        assert_eq!(decode(b"a+b%2Bc%2b").unwrap(), "a b+c+");
        assert_eq!(decode(b"%C3%A9t%c3%a9").unwrap(), "\u{e9}t\u{e9}");
        assert_eq!(decode(b"%41%7a%7E").unwrap(), "Az~");
        assert_eq!(decode(b"%%41"), Err(Malformed::Escape));
        assert_eq!(decode(b"%g1"), Err(Malformed::Escape));
        assert_eq!(decode(b"%1g"), Err(Malformed::Escape));
        assert_eq!(decode(b"%C3"), Err(Malformed::Utf8));
        assert_eq!(decode(b"\xC3\xA9").unwrap(), "\u{e9}");
        assert_eq!(decode(b"a%00b"), Err(Malformed::Nul));
        assert_eq!(decode(b"a\0b"), Err(Malformed::Nul));
    }
}
