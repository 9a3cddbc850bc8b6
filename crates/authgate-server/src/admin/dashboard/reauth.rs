//! Re-authentication for sensitive dashboard actions (signing keys,
//! administrators, client secrets, password links): when the session's last
//! password sign-in is older than `admin_reauthenticate_after_secs`, the
//! action answers with a page asking for the password again, carrying the
//! submitted form along, and goes on once it is given. A session cookie
//! taken from an unattended browser, or a session left open for hours, is
//! then not enough to mint secrets or administrators. The admin API (bearer
//! tokens) is not affected: its tokens are short-lived and scoped.

use super::{AdminCtx, Submitted, failure, render};
use crate::app::AppState;
use crate::http::client_address::AddressKey;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// The form field the password comes back in.
const FIELD: &str = "reauth_password";

#[derive(Template)]
#[template(path = "admin/reauth.html")]
struct ReauthPage {
    a: AdminCtx,
    what: String,
    minutes: i64,
    action: String,
    cancel: String,
    hidden: Vec<(String, String)>,
    error: Option<String>,
}

/// Whether the session signed in with a password recently enough.
fn recent(state: &AppState, f: &Submitted) -> bool {
    let now = state.clock.now();
    let max_age = state.settings.raw.admin_reauthenticate_after_secs;
    f.admin
        .session
        .auth_time
        .is_some_and(|t| t <= now && now - t <= max_age)
}

/// `f` if its session authenticated recently, or once the password it
/// carries is right (the session's `auth_time` then becomes now); else the
/// page asking for the password, which posts the same form back to
/// `action`. `what` names the action ("Rotating the signing key").
pub async fn require_recent_password(
    state: &AppState,
    mut f: Submitted,
    what: &str,
    action: &str,
    cancel: &str,
) -> Result<Submitted, Response> {
    if recent(state, &f) {
        return Ok(f);
    }
    let password = f.get(FIELD);
    let ask = |f: &Submitted, status: StatusCode, error: Option<String>| {
        let hidden = f
            .pairs
            .iter()
            .filter(|(k, _)| k != FIELD && k != "csrf")
            .cloned()
            .collect();
        render(
            state,
            status,
            &ReauthPage {
                a: f.admin.ctx(state, ""),
                what: what.to_owned(),
                minutes: (state.settings.raw.admin_reauthenticate_after_secs + 59) / 60,
                action: action.to_owned(),
                cancel: cancel.to_owned(),
                hidden,
                error,
            },
        )
    };
    if password.is_empty() {
        return Err(ask(&f, StatusCode::OK, None));
    }
    // Password guesses here count like sign-in failures (same throttle, same
    // client-address rule): a stolen session cookie is not a free oracle.
    let now = state.clock.now();
    let account = f.admin.user.email.to_lowercase();
    // Outside a request's scope (never, in practice) everyone shares the
    // unspecified address's bucket rather than escaping the limit.
    let address = AddressKey::of(
        authgate_authority::audit::current_client_address()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
    );
    if let Err(r) = state.login_throttle.check(&account, address, now) {
        return Err(ask(
            &f,
            StatusCode::TOO_MANY_REQUESTS,
            Some(crate::endpoints::login::wait_message(r)),
        ));
    }
    let ok = password.len() <= 1024
        && state
            .passwords
            .verify(password, Some(f.admin.user.password_hash.clone()))
            .await;
    if !ok {
        state.login_throttle.fail(&account, address, now);
        authgate_authority::audit::audit_detail(
            state,
            "admin.reauthenticate",
            Some(&f.admin.user.email),
            None,
            None,
            None,
            "refused",
            json!({"action": what}),
        );
        return Err(ask(
            &f,
            StatusCode::UNAUTHORIZED,
            Some("The password is not correct.".into()),
        ));
    }
    state.login_throttle.succeed(&account, address);
    f.admin.session.auth_time = Some(now);
    if let Err(e) = state.store.update_session(&f.admin.session).await {
        return Err(failure(state, e));
    }
    authgate_authority::audit::audit_detail(
        state,
        "admin.reauthenticate",
        Some(&f.admin.user.email),
        None,
        None,
        None,
        "ok",
        json!({"action": what}),
    );
    Ok(f)
}
