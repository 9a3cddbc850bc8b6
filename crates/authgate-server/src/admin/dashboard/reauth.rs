//! Re-authentication for sensitive dashboard actions (signing keys,
//! administrators, client secrets, password links): when the session's last
//! password sign-in is older than `admin_reauthenticate_after_secs`, the
//! action answers with a page asking for the password again, carrying the
//! submitted form along, and goes on once it is given. A session cookie
//! taken from an unattended browser, or a session left open for hours, is
//! then not enough to mint secrets or administrators. The admin API (bearer
//! tokens) is not affected: its tokens are short-lived and scoped.
//!
//! A handler says its action is sensitive by extracting
//! [`Reauthenticated`] of a [`SensitiveAction`] instead of [`Submitted`].

use super::admin_page::this_page;
use super::form::Submitted;
use super::layout::{AdminCtx, failure, render};
use crate::http::client_address::AddressKey;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_core::clock::UnixTime;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use std::marker::PhantomData;

/// The form field the password comes back in.
const FIELD: &str = "reauth_password";

/// A dashboard action that asks for the password again (see the module
/// documentation). The password page posts back to where the form posted.
pub trait SensitiveAction: Send + Sync + 'static {
    /// Names it on the password page ("Rotating the signing key").
    const WHAT: &'static str;
    /// Sensitive only when this box of the form is checked (adding a
    /// person is not, adding an administrator is).
    const ONLY_WHEN_CHECKED: Option<&'static str> = None;
    /// The form is on the page it posts to (a list's add form), not on the
    /// page a level up; the password page's Cancel goes back there.
    const FORM_ON_ACTION_PAGE: bool = false;
    /// Whether this submission is sensitive (by default: always, or when
    /// the `ONLY_WHEN_CHECKED` box is checked).
    fn applies(form: &Submitted) -> bool {
        Self::ONLY_WHEN_CHECKED.is_none_or(|k| form.checked(k))
    }
}

/// Where the password page's Cancel goes, from where the form posts to.
fn cancel<A: SensitiveAction>(action: &str) -> String {
    if A::FORM_ON_ACTION_PAGE {
        return action.to_owned();
    }
    action
        .rsplit_once('/')
        .map_or(action, |(up, _)| up)
        .to_owned()
}

/// A [`Submitted`] form of a [`SensitiveAction`], its session's password
/// sign-in recent or the password given again. Extract it last.
pub struct Reauthenticated<A: SensitiveAction> {
    pub form: Submitted,
    action: PhantomData<A>,
}

impl<A: SensitiveAction> FromRequest<SharedState> for Reauthenticated<A> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let action = this_page(&mut parts).await;
        let mut form = Submitted::from_request(Request::from_parts(parts, body), state).await?;
        if A::applies(&form) {
            let ask = Ask {
                what: A::WHAT,
                cancel: cancel::<A>(&action),
                action,
            };
            form = require_recent_password(state, form, &ask).await?;
        }
        Ok(Self {
            form,
            action: PhantomData,
        })
    }
}

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

/// What the password page says, where it posts the form back to, and
/// where Cancel goes.
struct Ask {
    what: &'static str,
    action: String,
    cancel: String,
}

impl Ask {
    /// The page asking for the password, carrying `f` along.
    fn page(
        &self,
        state: &AppState,
        f: &Submitted,
        status: StatusCode,
        error: Option<String>,
    ) -> Response {
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
                what: self.what.to_owned(),
                minutes: (state.settings.raw.admin_reauthenticate_after_secs + 59) / 60,
                action: self.action.clone(),
                cancel: self.cancel.clone(),
                hidden,
                error,
            },
        )
    }
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
/// page asking for the password, which posts the same form back.
async fn require_recent_password(
    state: &AppState,
    mut f: Submitted,
    ask: &Ask,
) -> Result<Submitted, Response> {
    if recent(state, &f) {
        return Ok(f);
    }
    let password = f.get(FIELD);
    if password.is_empty() {
        return Err(ask.page(state, &f, StatusCode::OK, None));
    }
    let now = state.clock.now();
    if let Err((status, error)) = check_password(state, &f, password, ask.what, now).await {
        return Err(ask.page(state, &f, status, Some(error)));
    }
    f.admin.session.auth_time = Some(now);
    if let Err(e) = state.store.update_session(&f.admin.session).await {
        return Err(failure(state, e));
    }
    audit(state, &f, ask.what, "ok");
    Ok(f)
}

/// Whether `password` is the administrator's. Guesses here count like
/// sign-in failures (same throttle, same client-address rule): a stolen
/// session cookie is not a free oracle. The refusal's status and message.
async fn check_password(
    state: &AppState,
    f: &Submitted,
    password: String,
    what: &str,
    now: UnixTime,
) -> Result<(), (StatusCode, String)> {
    let account = f.admin.user.email.to_lowercase();
    // Outside a request's scope (never, in practice) everyone shares the
    // unspecified address's bucket rather than escaping the limit.
    let address = AddressKey::of(
        authgate_authority::audit::current_client_address()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
    );
    if let Err(r) = state.login_throttle.check(&account, address, now) {
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            crate::pages::sign_in::wait_message(r),
        ));
    }
    let ok = password.len() <= 1024
        && state
            .passwords
            .verify(password, Some(f.admin.user.password_hash.clone()))
            .await;
    if !ok {
        state.login_throttle.fail(&account, address, now);
        audit(state, f, what, "refused");
        return Err((
            StatusCode::UNAUTHORIZED,
            "The password is not correct.".into(),
        ));
    }
    state.login_throttle.succeed(&account, address);
    Ok(())
}

fn audit(state: &AppState, f: &Submitted, what: &str, outcome: &str) {
    authgate_authority::audit::audit_detail(
        state,
        "admin.reauthenticate",
        Some(&f.admin.user.email),
        None,
        None,
        None,
        outcome,
        json!({"action": what}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    struct UpALevel;
    impl SensitiveAction for UpALevel {
        const WHAT: &'static str = "";
    }
    struct OnItsPage;
    impl SensitiveAction for OnItsPage {
        const WHAT: &'static str = "";
        const FORM_ON_ACTION_PAGE: bool = true;
    }

    #[test]
    fn cancel_goes_to_the_page_the_form_is_on() {
        assert_eq!(cancel::<UpALevel>("/b/admin/keys/rotate"), "/b/admin/keys");
        assert_eq!(
            cancel::<UpALevel>("/b/admin/users/a%2Fb/disable"),
            "/b/admin/users/a%2Fb"
        );
        assert_eq!(cancel::<OnItsPage>("/b/admin/users"), "/b/admin/users");
    }
}
