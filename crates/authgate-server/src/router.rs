//! The router: every endpoint, page and admin route under the issuer's
//! path, the client-address middleware and the body limit.

use crate::endpoints;
use crate::state::SharedState;
use authgate_authority::config::Settings;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// Endpoint paths under the issuer (the issuer may have a path, `/t`).
pub struct Paths {
    pub base: String,
}

impl Paths {
    pub fn new(settings: &Settings) -> Self {
        Self {
            base: settings.issuer_path().to_owned(),
        }
    }
    pub fn at(&self, p: &str) -> String {
        format!("{}{}", self.base, p)
    }
}

pub fn router(state: SharedState) -> Router {
    let paths = Paths::new(&state.settings);
    let max_body = state.settings.raw.max_body_bytes;
    let base = &paths.base;
    let mut r = Router::new()
        .route("/healthz", get(endpoints::health::healthz))
        .route("/readyz", get(endpoints::health::readyz))
        .route(&paths.at("/jwks.json"), get(endpoints::jwks::jwks))
        .route(
            &paths.at("/token"),
            post(endpoints::token::token).fallback(endpoints::fallback::method_not_allowed),
        )
        .route(
            &paths.at("/introspect"),
            post(endpoints::introspect::introspect)
                .fallback(endpoints::fallback::method_not_allowed),
        )
        .route(
            &paths.at("/authorize"),
            get(endpoints::authorize::authorize_get).post(endpoints::authorize::authorize_post),
        )
        .route(
            &paths.at("/login"),
            get(endpoints::login::login_page).post(endpoints::login::login_submit),
        )
        .route(
            &paths.at("/login/email"),
            post(endpoints::login_email::email_submit),
        )
        .route(&paths.at("/logout"), post(endpoints::login::logout))
        .route(
            &paths.at("/federation/{id}/start"),
            get(endpoints::federation::start),
        )
        .route(
            &paths.at("/federation/{id}/callback"),
            get(endpoints::federation::callback),
        )
        .route(&paths.at("/saml/{id}"), get(endpoints::saml::metadata))
        .route(
            &paths.at("/saml/{id}/acs"),
            post(endpoints::saml::acs)
                .layer(DefaultBodyLimit::max(endpoints::saml::MAX_ACS_FORM_BYTES)),
        )
        .route(
            &paths.at("/saml/{id}/acs/continue"),
            post(endpoints::saml::acs_continue)
                .layer(DefaultBodyLimit::max(endpoints::saml::MAX_ACS_FORM_BYTES)),
        )
        .route(
            &paths.at("/assets/saml-post.js"),
            get(endpoints::saml::script),
        )
        .route(
            &paths.at("/federation/{id}/jwks.json"),
            get(endpoints::federation::client_jwks),
        )
        .route(
            &paths.at("/federation/link"),
            post(endpoints::federation::link_submit),
        )
        .route(
            &paths.at("/consent"),
            get(endpoints::consent::consent_page).post(endpoints::consent::consent_submit),
        )
        .route(&paths.at("/"), get(endpoints::home::home))
        .route(&paths.at("/account"), get(endpoints::account::account_page))
        .route(
            &paths.at("/account/sign-out-everywhere"),
            post(endpoints::account::sign_out_everywhere),
        )
        .route(
            &paths.at("/account/revoke"),
            post(endpoints::account::revoke),
        )
        // Email (issue 21): password reset by mail, email verification.
        // The new-password form itself is `admin::setup`'s.
        .route(
            &paths.at("/password/forgot"),
            get(endpoints::password_reset::forgot_page)
                .post(endpoints::password_reset::forgot_submit),
        )
        // Self sign-up (issue 21): off unless `[signup]` or the MCP
        // server's rule opens it.
        .route(
            &paths.at("/signup"),
            get(endpoints::signup::signup_page).post(endpoints::signup::signup_submit),
        )
        .route(&paths.at("/signup/resend"), post(endpoints::signup::resend))
        .route(
            &paths.at("/email/verify"),
            get(endpoints::email_verify::verify_page).post(endpoints::email_verify::verify_submit),
        )
        .route(
            &paths.at("/account/verify-email"),
            post(endpoints::account::verify_email_request),
        )
        .route(
            &paths.at("/userinfo"),
            get(endpoints::userinfo::userinfo).post(endpoints::userinfo::userinfo),
        )
        // Passkeys (issue 21): the person's list and signing in with one.
        .route(
            &paths.at("/account/passkeys"),
            get(endpoints::passkeys::list_page).post(endpoints::passkeys::register),
        )
        .route(
            &paths.at("/account/passkeys/options"),
            post(endpoints::passkeys::registration_options),
        )
        .route(
            &paths.at("/account/passkeys/{id}/rename"),
            post(endpoints::passkeys::rename),
        )
        .route(
            &paths.at("/account/passkeys/{id}/delete"),
            post(endpoints::passkeys::remove),
        )
        .route(
            &paths.at("/login/passkey"),
            post(endpoints::passkeys::sign_in),
        )
        .route(
            &paths.at("/login/passkey/options"),
            post(endpoints::passkeys::sign_in_options),
        )
        // TOTP and recovery codes (issue 21): the second sign-in step and
        // the account's page.
        .route(
            &paths.at("/login/mfa"),
            get(endpoints::mfa::step_page).post(endpoints::mfa::verify),
        )
        .route(&paths.at("/login/mfa/enroll"), post(endpoints::mfa::enrol))
        .route(
            &paths.at("/login/mfa/passkey"),
            post(endpoints::mfa_passkey::register),
        )
        .route(
            &paths.at("/login/mfa/passkey/options"),
            post(endpoints::mfa_passkey::options),
        )
        .route(
            &paths.at("/login/mfa/continue"),
            get(endpoints::mfa::continue_after_enrolment),
        )
        .route(&paths.at("/account/mfa"), get(endpoints::mfa_account::page))
        .route(
            &paths.at("/account/mfa/setup"),
            post(endpoints::mfa_account::setup),
        )
        .route(
            &paths.at("/account/mfa/confirm"),
            post(endpoints::mfa_account::confirm),
        )
        .route(
            &paths.at("/account/mfa/recovery-codes"),
            post(endpoints::mfa_account::regenerate_codes),
        )
        .route(
            &paths.at("/account/mfa/remove"),
            post(endpoints::mfa_account::remove),
        )
        .route(
            &paths.at("/assets/passkey.js"),
            get(endpoints::passkeys::script),
        )
        .route(
            &paths.at("/assets/authgate.css"),
            get(crate::pages::assets::stylesheet),
        )
        .route(
            &paths.at("/assets/brand.css"),
            get(crate::pages::assets::brand_stylesheet),
        )
        .route(&paths.at("/language"), post(crate::pages::language::switch))
        .route(
            &paths.at("/register"),
            post(endpoints::register::register).fallback(endpoints::fallback::method_not_allowed),
        )
        .route(
            &paths.at("/register/{client_id}"),
            get(endpoints::register::read)
                .put(endpoints::register::update)
                .delete(endpoints::register::delete),
        )
        .route(
            &paths.at("/revoke"),
            post(endpoints::revoke::revoke).fallback(endpoints::fallback::method_not_allowed),
        );
    // RFC 8414 §3: path-inserted metadata; OIDC discovery also appended.
    let as_meta = format!("/.well-known/oauth-authorization-server{base}");
    let oidc_meta = format!("/.well-known/openid-configuration{base}");
    r = r
        .route(&as_meta, get(endpoints::discovery::authorization_server))
        .route(&oidc_meta, get(endpoints::discovery::openid_configuration));
    if !base.is_empty() {
        r = r.route(base, get(endpoints::home::home));
        r = r.route(
            &format!("{base}/.well-known/openid-configuration"),
            get(endpoints::discovery::openid_configuration),
        );
    }
    r.merge(crate::admin::router(&state.settings))
        .fallback(endpoints::fallback::not_found)
        .layer(axum::middleware::from_fn(
            crate::pages::i18n::negotiate_layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::telemetry::client_address,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(crate::telemetry::http_metrics))
        .with_state(state)
}
