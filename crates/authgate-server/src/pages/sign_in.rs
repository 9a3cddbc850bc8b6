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
