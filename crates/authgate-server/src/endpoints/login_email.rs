//! The email-first step of sign-in (home-realm discovery): the person types
//! their email; a verified domain of an organization sends them to its
//! identity provider, otherwise they get the password field. What comes
//! back depends only on the domain typed, never on whether an account
//! exists (no account enumeration).

use crate::endpoints::login::{
    ConnectionButton, LoginPage, client_name, signed_form_session, store_failure,
};
use crate::http::form::FormPairs;
use crate::pages::page;
use crate::state::{AppState, SharedState};
use authgate_authority::orgs::{self, SignInRoute};
use authgate_authority::sign_in::MAX_EMAIL_BYTES;
use authgate_core::token_request::Params;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// Connections offered to everyone on the first step (social sign-in):
/// the enabled ones the operator marked `show_on_login`. A storage failure
/// shows no buttons (the email step still works).
pub(crate) async fn social_buttons(state: &AppState) -> Vec<ConnectionButton> {
    match state.store.list_connections().await {
        Ok(list) => list
            .into_iter()
            .filter(|c| c.show_on_login && !c.disabled)
            .map(|c| ConnectionButton {
                id: c.id,
                name: c.display_name,
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot list connections for the sign-in page");
            Vec::new()
        }
    }
}

/// The button of connection `id`, named as the operator named it.
async fn button(state: &AppState, id: String) -> ConnectionButton {
    let name = match state.store.get_connection(&id).await {
        Ok(Some(c)) => c.display_name,
        _ => id.clone(),
    };
    ConnectionButton { id, name }
}

/// The start of sign-in through connection `id`, back to request `rid`.
fn start_url(state: &AppState, id: &str, rid: &str, email: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "{}/federation/{}/start?r={}&login_hint={}",
        state.settings.issuer_path(),
        enc(id),
        enc(rid),
        enc(email)
    )
}

pub async fn email_submit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return page::error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The form could not be read.",
            "Go back and try again.",
        );
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (email, rid, csrf) = (
        field("email").trim().to_lowercase(),
        field("r"),
        field("csrf"),
    );
    let sess = match signed_form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let client = client_name(&state, &sess, &rid).await;
    if email.is_empty() || email.len() > MAX_EMAIL_BYTES || !email.contains('@') {
        let mut page = LoginPage::at(&state, "email", &sess.csrf_token, &rid, email);
        page.client_name = client;
        page.error = Some("Enter your email address, like name@example.com.".into());
        page.social = social_buttons(&state).await;
        page.signup = crate::endpoints::signup::offered(&state, &sess, &rid).await;
        let mut resp = page::render(&state, StatusCode::BAD_REQUEST, &page);
        crate::endpoints::passkeys::allow_script(&mut resp);
        return resp;
    }
    let route = match orgs::route_email(&state, &email).await {
        Ok(r) => r,
        Err(e) => return store_failure(&state, e),
    };
    let mut page = match route {
        SignInRoute::Password => LoginPage::at(&state, "password", &sess.csrf_token, &rid, email),
        SignInRoute::Connections {
            org,
            connection_ids,
            password_allowed,
        } => {
            // One company sign-in: go straight there (the organization
            // chose it for its members); several: let the person choose.
            if let [only] = connection_ids.as_slice() {
                return page::see_other(&start_url(&state, only, &rid, &email));
            }
            let mut page = LoginPage::at(&state, "choose", &sess.csrf_token, &rid, email);
            page.org_name = Some(org.name);
            page.password_allowed = password_allowed;
            for id in connection_ids {
                page.connections.push(button(&state, id).await);
            }
            page
        }
        SignInRoute::CompanySignInOnly { org } => {
            let mut page = LoginPage::at(&state, "company", &sess.csrf_token, &rid, email);
            page.org_name = Some(org.name);
            page
        }
        SignInRoute::OrgDisabled { org } => {
            let mut page = LoginPage::at(&state, "org_disabled", &sess.csrf_token, &rid, email);
            page.org_name = Some(org.name);
            page
        }
    };
    page.client_name = client;
    page.signup = crate::endpoints::signup::offered(&state, &sess, &rid).await;
    let mut resp = page::render(&state, StatusCode::OK, &page);
    crate::endpoints::passkeys::allow_script(&mut resp);
    resp
}
