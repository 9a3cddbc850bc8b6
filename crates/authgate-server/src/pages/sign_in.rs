//! What the sign-in page shares with the dashboard: the dashboard sends an
//! administrator to sign in and gets them back, and asks for the password
//! again under the same throttle, so the same refusal message.

use crate::state::AppState;
use authgate_authority::throttle::Refusal;
use authgate_core::model::Session;

/// Where `/login` sends an administrator back to (set when the dashboard
/// sent them to sign in). Only dashboard paths on this server.
pub fn after_login(state: &AppState, s: &Session) -> Option<String> {
    let to = s.data.get("after_login")?.as_str()?;
    let prefix = format!("{}/admin", state.settings.issuer_path());
    let ok = to.starts_with(&prefix)
        && !to.contains("//")
        && !to.contains('\\')
        && to.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| to.to_owned())
}

/// What a refused attempt is told: how long to wait, nothing about why
/// beyond "too many failed attempts" (the same for unknown accounts).
pub fn wait_message(r: Refusal) -> String {
    let secs = r.secs().max(1);
    let (n, unit) = if secs < 60 {
        (secs, "second")
    } else {
        ((secs + 59) / 60, "minute")
    };
    format!(
        "Too many failed attempts. Try again in {n} {unit}{}.",
        if n == 1 { "" } else { "s" }
    )
}

/// The end of every successful sign-in (password, passkey, upstream): a
/// new stored session made with `ctx`, then on to the pending
/// authorization request `rid` (consent, or straight back to the client
/// when consent was given), else back to the dashboard or the account page.
pub async fn complete(
    state: &AppState,
    old: &Session,
    user_id: &str,
    ctx: &authgate_core::model::AuthContext,
    rid: &str,
) -> Result<axum::response::Response, authgate_store::StoreError> {
    use crate::pages::session;
    let (new_sess, raw) = session::renew_for_user(state, old, user_id, ctx).await?;
    let mut resp = continue_to(state, new_sess, user_id, rid).await?;
    session::set_cookie(state, &mut resp, &raw);
    Ok(resp)
}

/// Where a signed-in session `sess` of `user_id` goes after signing in:
/// the pending authorization request `rid` (consent, or straight back to
/// the client when consent was given), else the dashboard or the account
/// page.
pub async fn continue_to(
    state: &AppState,
    sess: Session,
    user_id: &str,
    rid: &str,
) -> Result<axum::response::Response, authgate_store::StoreError> {
    use crate::pages::{page, session};
    let now = state.clock.now();
    Ok(if let Some(req) = session::pending(&sess, rid, now) {
        crate::endpoints::consent::after_sign_in(state, sess, rid, req, user_id).await?
    } else if let Some(to) = after_login(state, &sess) {
        page::see_other(&to)
    } else {
        page::see_other(&format!("{}/account", state.settings.issuer_path()))
    })
}
