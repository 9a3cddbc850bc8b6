//! QR codes on the pages (the authenticator-app enrolment): an SVG built
//! by the `qrcode` crate, shown as a `data:` image so no script or inline
//! style is needed; the page that shows one widens its CSP's `img-src`
//! with [`allow_data_images`].

use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine;

/// `text` as a QR code in a `data:image/svg+xml` URI; `None` when it does
/// not fit in a QR code (the page then shows the text alone).
pub fn svg_data_uri(text: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// Lets the page show `data:` images (its QR code).
pub fn allow_data_images(resp: &mut Response) {
    if let Some(csp) = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|c| c.replacen("img-src 'self'", "img-src 'self' data:", 1))
        && let Ok(v) = HeaderValue::from_str(&csp)
    {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otpauth_uri_becomes_an_svg_image() {
        let uri = svg_data_uri(
            "otpauth://totp/authgate:a%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=authgate",
        )
        .unwrap();
        let b64 = uri.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("<path"), "{svg}");
    }

    #[test]
    fn too_much_text_is_no_qr_code() {
        assert!(svg_data_uri(&"x".repeat(10_000)).is_none());
    }
}
