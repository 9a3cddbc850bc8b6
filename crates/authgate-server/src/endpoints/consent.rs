//! The consent page: who is asking, for which MCP server, for what; Allow
//! issues the code, Deny returns `access_denied`. A pending request is
//! single-use. The page is skipped when the person already allowed the
//! request (see [`after_sign_in`] and `authorize::consent_remembered`).

use crate::endpoints::authorize::{IssueError, Return, consent_remembered, issue_code};
use crate::http::form::FormPairs;
use crate::pages::i18n::msg;
use crate::pages::page::{self, PageCtx};
use crate::pages::session;
use crate::state::{AppState, SharedState};
use askama::Template;
use authgate_authority::clients;
use authgate_core::authorize::{AuthorizationRequest, new_scopes};
use authgate_core::model::{Consent, Session};
use authgate_core::token_request::Params;
use authgate_core::{ErrorCode, OAuthError};
use authgate_store::StoreError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    page: PageCtx,
    csrf: String,
    request_id: String,
    client_name: String,
    /// How the client is identified, in the page's language.
    verification: String,
    verified: bool,
    name_warning: Option<String>,
    /// The client's host: its metadata document's, else its redirect's.
    client_host: Option<String>,
    redirect_host: String,
    resource_name: String,
    resource_uri: String,
    /// The MCP server's logo, when its operator set one.
    resource_logo: Option<String>,
    user_email: String,
    /// The identity provider and organization of this sign-in, if any.
    through: crate::pages::signed_in_through::SignedInThrough,
    new_scopes: Vec<(String, String)>,
    granted_scopes: Vec<(String, String)>,
}

fn expired(state: &AppState) -> Response {
    page::error_page(
        state,
        StatusCode::BAD_REQUEST,
        msg("This request expired"),
        msg(
            "The approval page was open too long, was already used, or belongs to another browser session.",
        ),
        msg("Go back to the app and connect again."),
    )
}

fn failure(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "failure on consent");
    page::error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        msg("Something went wrong"),
        msg("The server could not complete the request."),
        msg("Try again in a moment."),
    )
}

/// Where a pending request goes once the person has signed in (`sess` is
/// the renewed, signed-in session): straight back to the client with a code
/// when remembered consent covers it (the rule /authorize applies to a
/// browser already signed in), else to this page.
pub async fn after_sign_in(
    state: &AppState,
    mut sess: Session,
    rid: &str,
    req: AuthorizationRequest,
    user_id: &str,
) -> Result<Response, StoreError> {
    let (redirect_uri, client_state) = (req.redirect_uri.clone(), req.state.clone());
    let req = match super::scope_rules::apply(state, user_id, req).await? {
        super::scope_rules::Ruled::Go(r) => *r,
        super::scope_rules::Ruled::Denied => {
            // Single use, as when the consent page is answered.
            session::remove_pending(&mut sess, rid);
            state.store.update_session(&sess).await?;
            let issuer = state.settings.issuer.clone();
            let ret = Return {
                redirect_uri: &redirect_uri,
                state: client_state.as_deref(),
                issuer: &issuer,
            };
            return Ok(ret.error(&OAuthError::new(
                ErrorCode::AccessDenied,
                super::scope_rules::DENIED,
            )));
        }
    };
    let base = state.settings.issuer_path();
    let consent_page = page::see_other(&format!("{base}/consent?r={rid}"));
    // A held account (unverified, self-made) is told why on the consent
    // page, which keeps the request for when the address is verified.
    if authgate_authority::signup::hold_for(state, user_id, &req.resource_id)
        .await?
        .is_some()
        || !consent_remembered(state, user_id, &req).await?
    {
        return Ok(consent_page);
    }
    // Single use, as when the consent page is answered.
    session::remove_pending(&mut sess, rid);
    state.store.update_session(&sess).await?;
    let now = state.clock.now();
    let code = match issue_code(
        state,
        &req,
        user_id,
        sess.auth_time.unwrap_or(now),
        &session::auth_context(&sess),
    )
    .await
    {
        Ok(code) => code,
        Err(IssueError::Store(e)) => return Err(e),
        Err(IssueError::Held(_)) => return Ok(consent_page),
    };
    let issuer = state.settings.issuer.clone();
    let ret = Return {
        redirect_uri: &req.redirect_uri,
        state: req.state.as_deref(),
        issuer: &issuer,
    };
    Ok(ret.code(&code))
}

/// The signed-in session, or a redirect to sign in.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    rid: &str,
) -> Result<(Session, authgate_core::model::User), Response> {
    let base = state.settings.issuer_path();
    let login = page::see_other(&format!("{base}/login?r={rid}"));
    let (s, _) = match session::load(state, headers).await {
        Ok(Some(x)) => x,
        Ok(None) => return Err(expired(state)),
        Err(e) => return Err(failure(state, e)),
    };
    let Some(uid) = session::signed_in_user(&s).map(str::to_owned) else {
        return Err(login);
    };
    match state.store.get_user(&uid).await {
        Ok(Some(u)) if !u.disabled => Ok((s, u)),
        Ok(_) => Err(login),
        Err(e) => Err(failure(state, e)),
    }
}

pub async fn consent_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rid = q.get("r").cloned().unwrap_or_default();
    let (sess, user) = match signed_in(&state, &headers, &rid).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(req) = session::pending(&sess, &rid, state.clock.now()) else {
        return expired(&state);
    };
    match held(&state, &sess, &user, &rid, &req).await {
        Ok(Some(resp)) => return resp,
        Ok(None) => {}
        Err(e) => return failure(&state, e),
    }
    // Only what the person's groups allow is shown (and later granted); a
    // request with nothing allowed was answered before this page.
    let req = match super::scope_rules::apply(&state, &user.id, req).await {
        Ok(super::scope_rules::Ruled::Go(r)) => *r,
        Ok(super::scope_rules::Ruled::Denied) => return expired(&state),
        Err(e) => return failure(&state, e),
    };
    let client = match clients::resolve(&state, &req.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return expired(&state),
        Err(e) => return failure(&state, e),
    };
    let resource = match state
        .registry
        .resource_by_id(state.store.as_ref(), &req.resource_id)
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => return expired(&state),
        Err(e) => return failure(&state, e),
    };
    let consented = match state
        .store
        .get_consent(&user.id, &client.client_id, &resource.id)
        .await
    {
        Ok(c) => c.map(|c| c.scopes).unwrap_or_default(),
        Err(e) => return failure(&state, e),
    };
    let describe = |name: &String| {
        let d = resource
            .scopes
            .iter()
            .find(|d| &d.name == name)
            .map(|d| d.description.clone())
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| oidc_description(name).to_owned());
        (name.clone(), d)
    };
    // prompt=consent forces this page but still tells new scopes from
    // those already allowed, so the person sees what changes.
    let fresh = new_scopes(&req.scopes, &consented);
    let granted: Vec<String> = req
        .scopes
        .iter()
        .filter(|s| !fresh.contains(s))
        .cloned()
        .collect();
    let identity = clients::identity(&state, &client);
    let page_ctx = PageCtx::new(&state).with_ui_locales(req.ui_locales.as_deref());
    let redirect_host = redirect_display(&req.redirect_uri);
    let client_host = identity.host.clone().or_else(|| {
        url::Url::parse(&req.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    });
    let verification = verification_label(&page_ctx, &client.kind, &identity);
    let through =
        crate::pages::signed_in_through::describe(&state, &session::auth_context(&sess)).await;
    let page = ConsentPage {
        page: page_ctx,
        csrf: sess.csrf_token.clone(),
        request_id: rid,
        client_name: client.display_name().to_owned(),
        verification,
        verified: identity.verified,
        name_warning: identity.name_warning,
        client_host,
        redirect_host,
        resource_name: resource.name.clone(),
        resource_uri: resource.uri.clone(),
        resource_logo: resource.logo_uri.clone(),
        user_email: user.email.clone(),
        through,
        new_scopes: fresh.iter().map(describe).collect(),
        granted_scopes: granted.iter().map(describe).collect(),
    };
    let mut resp = page::render(&state, StatusCode::OK, &page);
    if let Some(logo) = &resource.logo_uri {
        page::allow_image(&mut resp, logo);
    }
    resp
}

/// What the person is told about who registered the client.
fn verification_label(
    page: &PageCtx,
    kind: &authgate_core::model::ClientKind,
    identity: &clients::ClientIdentity,
) -> String {
    use authgate_core::model::ClientKind;
    match (kind, identity.host.as_deref(), identity.verified) {
        (ClientKind::PreRegistered, _, _) => {
            page.t(msg("Registered by your administrator")).to_owned()
        }
        (ClientKind::Dynamic, _, _) => page.t(msg("Unverified — registered by itself")).to_owned(),
        (ClientKind::MetadataDocument, Some(h), true) => {
            page.tf(msg("Verified domain {host}"), &[("host", h)])
        }
        (ClientKind::MetadataDocument, Some(h), false) => page.tf(
            msg("Identified by a metadata document at {host} — the name is chosen by that site"),
            &[("host", h)],
        ),
        (ClientKind::MetadataDocument, None, _) => page
            .t(msg("Identified by a metadata document at an unknown host"))
            .to_owned(),
    }
}

fn oidc_description(s: &str) -> &'static str {
    match s {
        "openid" => msg("Know who you are (your account id)"),
        "profile" => msg("See your name"),
        "email" => msg("See your email address"),
        "offline_access" => msg("Stay connected when you are away"),
        _ => msg("Use this MCP server on your behalf (the server gives no description)"),
    }
}

/// Host (and port) the person will be sent back to; custom schemes whole.
fn redirect_display(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => match u.host_str() {
            Some(h) => match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            },
            None => format!("{}:", u.scheme()),
        },
        Err(_) => uri.to_owned(),
    }
}

pub async fn consent_submit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<FormPairs, crate::http::error::ApiError>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return expired(&state);
    };
    let p = Params::new(&pairs);
    let field = |k: &str| p.single(k).ok().flatten().unwrap_or("").to_owned();
    let (rid, csrf, decision) = (field("r"), field("csrf"), field("decision"));
    let (mut sess, user) = match signed_in(&state, &headers, &rid).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !session::csrf_ok(&sess, Some(&csrf)) {
        return page::error_page(
            &state,
            StatusCode::FORBIDDEN,
            msg("Approval refused"),
            msg("The form did not come from this page (CSRF check failed)."),
            msg("Go back to the app and connect again."),
        );
    }
    let now = state.clock.now();
    let Some(req) = session::pending(&sess, &rid, now) else {
        return expired(&state);
    };
    // Held (an unverified self-made account): nothing is granted, and the
    // request stays for when the address is verified.
    if decision == "allow" {
        match held(&state, &sess, &user, &rid, &req).await {
            Ok(Some(resp)) => return resp,
            Ok(None) => {}
            Err(e) => return failure(&state, e),
        }
    }
    // Single use: remove before acting.
    session::remove_pending(&mut sess, &rid);
    if let Err(e) = state.store.update_session(&sess).await {
        return failure(&state, e);
    }
    let issuer = state.settings.issuer.clone();
    let ret = Return {
        redirect_uri: &req.redirect_uri,
        state: req.state.as_deref(),
        issuer: &issuer,
    };
    match decision.as_str() {
        "allow" => {}
        "deny" => {
            authgate_authority::audit::audit(
                &state,
                "consent.denied",
                Some(&user.id),
                Some(&req.client_id),
                Some(&req.resource_id),
                "denied",
            );
            return ret.error(&OAuthError::new(
                ErrorCode::AccessDenied,
                "the person denied the request",
            ));
        }
        _ => {
            return page::error_page(
                &state,
                StatusCode::BAD_REQUEST,
                msg("Unknown choice"),
                msg("Choose Allow or Deny."),
                msg("Go back to the app and connect again."),
            );
        }
    }
    let req = match super::scope_rules::apply(&state, &user.id, req.clone()).await {
        Ok(super::scope_rules::Ruled::Go(r)) => *r,
        Ok(super::scope_rules::Ruled::Denied) => {
            return ret.error(&OAuthError::new(
                ErrorCode::AccessDenied,
                super::scope_rules::DENIED,
            ));
        }
        Err(e) => return failure(&state, e),
    };
    // The person approved the client: a metadata document client has
    // proved itself and is stored now (the consent row refers to it).
    authgate_authority::cimd::remember(&state, &req.client_id).await;
    if let Err(e) = record_consent(&state, &user.id, &req, now).await {
        return failure(&state, e);
    }
    match issue_code(
        &state,
        &req,
        &user.id,
        sess.auth_time.unwrap_or(now),
        &session::auth_context(&sess),
    )
    .await
    {
        Ok(code) => ret.code(&code),
        Err(IssueError::Store(e)) => failure(&state, e),
        Err(IssueError::Held(_)) => ret.error(&OAuthError::new(
            ErrorCode::AccessDenied,
            "the account may not be granted access now",
        )),
    }
}

/// The page saying why nothing can be allowed yet, when `user` is held
/// (`signup::hold`) for the request's MCP server.
async fn held(
    state: &AppState,
    sess: &Session,
    user: &authgate_core::model::User,
    rid: &str,
    req: &AuthorizationRequest,
) -> Result<Option<Response>, StoreError> {
    let Some(resource) = state
        .registry
        .resource_by_id(state.store.as_ref(), &req.resource_id)
        .await?
    else {
        return Ok(Some(expired(state)));
    };
    Ok(
        authgate_authority::signup::hold(&state.settings, user.standing(), &resource).map(|h| {
            crate::endpoints::signup::held_page(state, h, user, &sess.csrf_token, rid, false)
        }),
    )
}

/// Remembers the approval: the scopes just allowed join those allowed
/// before (a consent only grows here), so the next request for them skips
/// the page. Audited as `consent.given`.
async fn record_consent(
    state: &AppState,
    user_id: &str,
    req: &AuthorizationRequest,
    now: authgate_core::clock::UnixTime,
) -> Result<(), StoreError> {
    let existing = state
        .store
        .get_consent(user_id, &req.client_id, &req.resource_id)
        .await?;
    let mut scopes = existing
        .as_ref()
        .map(|c| c.scopes.clone())
        .unwrap_or_default();
    for s in &req.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    let consent = Consent {
        user_id: user_id.to_owned(),
        client_id: req.client_id.clone(),
        resource_id: req.resource_id.clone(),
        scopes,
        created_at: existing.as_ref().map(|c| c.created_at).unwrap_or(now),
        updated_at: now,
    };
    state.store.upsert_consent(&consent).await?;
    authgate_authority::audit::audit(
        state,
        "consent.given",
        Some(user_id),
        Some(&req.client_id),
        Some(&req.resource_id),
        "ok",
    );
    if existing.is_none() {
        notify_new_client(state, user_id, req).await;
    }
    Ok(())
}

/// A client the person had not allowed (for this MCP server) before: told
/// by mail, so an app they did not connect does not go unnoticed.
async fn notify_new_client(state: &AppState, user_id: &str, req: &AuthorizationRequest) {
    if !crate::mail::enabled(state) {
        return;
    }
    let Ok(Some(user)) = state.store.get_user(user_id).await else {
        return;
    };
    let client = match authgate_authority::clients::resolve(state, &req.client_id).await {
        Ok(Some(c)) => c.display_name().to_owned(),
        _ => req.client_id.clone(),
    };
    let server = match state
        .registry
        .resource_by_id(state.store.as_ref(), &req.resource_id)
        .await
    {
        Ok(Some(r)) => r.name.clone(),
        _ => req.resource_id.clone(),
    };
    crate::mail::notify(
        state,
        crate::mail::request_locale(),
        &user,
        crate::mail::Mail::NewClient {
            client: &client,
            server: &server,
        },
    )
    .await;
}
