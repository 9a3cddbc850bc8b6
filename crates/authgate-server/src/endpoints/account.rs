//! Connected apps: every client a person approved, for which MCP server,
//! with what; Revoke removes the consent and every token of those grants.
//! "Sign out everywhere" ends every session and grant of the person. An
//! administrator or auditor also gets a link to the dashboard.

use crate::format::time as fmt_time;
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::manage::{self, Actor, roles};
use authgate_core::model::User;
use authgate_core::token_request::Params;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

struct AppRow {
    client_id: String,
    client_name: String,
    resource_id: String,
    resource_name: String,
    resource_uri: String,
    scopes: String,
    first: String,
    last_used: String,
    /// How the person signed in when they last allowed or renewed it.
    through: crate::pages::signed_in_through::SignedInThrough,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: PageCtx,
    csrf: String,
    user_email: String,
    /// How this session signed in.
    through: crate::pages::signed_in_through::SignedInThrough,
    apps: Vec<AppRow>,
    notice: Option<String>,
    /// The person's role may see the dashboard: link to it.
    sees_dashboard: bool,
    email_verified: bool,
    /// Mail can be sent (offer "Verify my email").
    mail_enabled: bool,
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on connected apps");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        msg("Something went wrong"),
        msg("The server could not load your connected apps."),
        msg("Try again in a moment."),
    )
}

pub async fn account_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let (sess, _) = match session::load(&state, &headers).await {
        Ok(Some(x)) => x,
        Ok(None) => return page::see_other(&format!("{base}/login")),
        Err(e) => return failure(&state, e),
    };
    let Some(uid) = session::signed_in_user(&sess).map(str::to_owned) else {
        return page::see_other(&format!("{base}/login"));
    };
    let user = match state.store.get_user(&uid).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return page::see_other(&format!("{base}/login")),
        Err(e) => return failure(&state, e),
    };
    let store = state.store.as_ref();
    let (consents, grants) = match (
        store.list_consents_for_user(&uid).await,
        store.list_grants_for_user(&uid).await,
    ) {
        (Ok(c), Ok(g)) => (c, g),
        (Err(e), _) | (_, Err(e)) => return failure(&state, e),
    };
    let mut apps = Vec::new();
    for c in consents {
        let client_name = match authgate_authority::clients::resolve(&state, &c.client_id).await {
            Ok(Some(cl)) => cl.display_name().to_owned(),
            _ => c.client_id.clone(),
        };
        let (resource_name, resource_uri) =
            match state.registry.resource_by_id(store, &c.resource_id).await {
                Ok(Some(r)) => (r.name.clone(), r.uri.clone()),
                _ => (c.resource_id.clone(), String::new()),
            };
        let latest = grants
            .iter()
            .filter(|g| g.client_id == c.client_id && g.resource_id == c.resource_id)
            .max_by_key(|g| g.last_used_at);
        let last = latest.map(|g| g.last_used_at);
        let through = match latest {
            Some(g) => crate::pages::signed_in_through::describe(&state, &g.auth).await,
            None => Default::default(),
        };
        apps.push(AppRow {
            client_id: c.client_id.clone(),
            client_name,
            resource_id: c.resource_id.clone(),
            resource_name,
            resource_uri,
            scopes: c.scopes.join(" "),
            first: fmt_time(Some(c.created_at)),
            last_used: last
                .map(|t| fmt_time(Some(t)))
                .unwrap_or_else(|| msg("never").into()),
            through,
        });
    }
    let notice = if q.contains_key("revoked") {
        Some(msg("Access revoked.").to_string())
    } else if q.contains_key("verification_sent") {
        Some(msg("We sent you a link: open it to confirm your email address.").to_string())
    } else {
        None
    };
    let through =
        crate::pages::signed_in_through::describe(&state, &session::auth_context(&sess)).await;
    let page = AccountPage {
        page: PageCtx::new(&state),
        through,
        csrf: sess.csrf_token.clone(),
        sees_dashboard: roles::sees_dashboard(user.role),
        email_verified: user.email_verified,
        mail_enabled: crate::mail::enabled(&state),
        user_email: user.email,
        apps,
        notice,
    };
    page::render(&state, StatusCode::OK, &page)
}

/// The signed-in person of a posted account form (its CSRF token
/// checked) and the form's fields; otherwise the page to answer with.
async fn signed_in_form(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Result<(User, Vec<(String, String)>), Response> {
    let base = state.settings.issuer_path();
    let Ok(FormPairs(pairs)) = form else {
        return Err(page::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form could not be read.",
            "Reload the page and try again.",
        ));
    };
    let csrf = Params::new(&pairs)
        .single("csrf")
        .ok()
        .flatten()
        .map(str::to_owned);
    let sess = match session::load(state, headers).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return Err(page::see_other(&format!("{base}/login"))),
        Err(e) => return Err(failure(state, e)),
    };
    let Some(uid) = session::signed_in_user(&sess).map(str::to_owned) else {
        return Err(page::see_other(&format!("{base}/login")));
    };
    if !session::csrf_ok(&sess, csrf.as_deref()) {
        return Err(page::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form did not come from this page (CSRF check failed).",
            "Reload the page and try again.",
        ));
    }
    match state.store.get_user(&uid).await {
        Ok(Some(u)) if !u.disabled => Ok((u, pairs)),
        Ok(_) => Err(page::see_other(&format!("{base}/login"))),
        Err(e) => Err(failure(state, e)),
    }
}

pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let (user, pairs) = match signed_in_form(&state, &headers, form).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let uid = user.id;
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (client_id, resource_id) = (field("client_id"), field("resource_id"));
    let now = state.clock.now();
    let store = state.store.as_ref();
    if let Err(e) = store.delete_consent(&uid, &client_id, &resource_id).await {
        return failure(&state, e);
    }
    if let Err(e) = store
        .revoke_grants_for(&uid, &client_id, &resource_id, now)
        .await
    {
        return failure(&state, e);
    }
    authgate_authority::audit::audit(
        &state,
        "consent.revoked",
        Some(&uid),
        Some(&client_id),
        Some(&resource_id),
        "ok",
    );
    page::see_other(&format!("{base}/account?revoked=1"))
}

/// Signs the person out of every browser (this one too) and revokes every
/// grant they gave: a lost laptop or a shared computer keeps nothing.
pub async fn sign_out_everywhere(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let (user, _) = match signed_in_form(&state, &headers, form).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let actor = Actor {
        name: user.email.clone(),
        address: authgate_authority::audit::current_client_address().map(|a| a.to_string()),
        user_id: Some(user.id.clone()),
    };
    match manage::sign_out_everywhere(&state, &actor, &user.id).await {
        Ok(_) => page::see_other(&format!(
            "{}/login?signed_out_everywhere=1",
            state.settings.issuer_path()
        )),
        Err(e) => failure(&state, e),
    }
}

/// "Verify my email": mails the person a verification link for their
/// current address.
pub async fn verify_email_request(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let base = state.settings.issuer_path().to_owned();
    let (user, _) = match signed_in_form(&state, &headers, form).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    if user.email_verified {
        return page::see_other(&format!("{base}/account"));
    }
    match crate::mail::send_verification(&state, crate::mail::request_locale(), &user).await {
        Ok(true) => {
            authgate_authority::audit::audit(
                &state,
                "user.email_verification.sent",
                Some(&user.id),
                None,
                None,
                "ok",
            );
            page::see_other(&format!("{base}/account?verification_sent=1"))
        }
        Ok(false) => page::error_page(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            msg("Mail is not set up"),
            msg("This server cannot send mail yet."),
            msg("Ask an administrator of this server."),
        ),
        Err(e) => failure(&state, e),
    }
}
