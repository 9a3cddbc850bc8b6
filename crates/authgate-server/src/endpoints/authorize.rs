//! The authorization endpoint (OAuth 2.1 §4.1.1).
//!
//! Until `client_id` and `redirect_uri` are validated, problems are shown
//! on an error page and never redirected (an open redirector otherwise).
//! After that, errors go back to the client with `error`,
//! `error_description`, `state` and `iss` (RFC 9207). The validated request
//! is kept server-side in the browser session while the person signs in
//! and consents.

use crate::pages::page;
use crate::pages::session;
use crate::state::{AppState, SharedState};
use authgate_authority::clients;
use authgate_core::authorize::{self, AuthorizationRequest, PageError, RawParams};
use authgate_core::model::{AuthorizationCode, Client};
use authgate_core::{ErrorCode, OAuthError, redirect_uri, scope, secret};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn authorize_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    authorize(&state, &headers, &pairs).await
}

pub async fn authorize_post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    form: Result<crate::http::form::FormPairs, crate::http::error::ApiError>,
) -> Response {
    match form {
        Ok(f) => authorize(&state, &headers, &f.0).await,
        Err(_) => bad_request_page(&state, "The authorization request could not be read."),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
}

fn bad_request_page(state: &AppState, message: &str) -> Response {
    page::error_page(
        state,
        StatusCode::BAD_REQUEST,
        "This sign-in link does not work",
        message,
        "Go back to the app you came from and try connecting again. If it keeps happening, tell the app's developer.",
    )
}

/// Where the person goes back to, and with what (errors and codes).
pub struct Return<'a> {
    pub redirect_uri: &'a str,
    pub state: Option<&'a str>,
    pub issuer: &'a str,
}

impl Return<'_> {
    pub fn error(&self, e: &OAuthError) -> Response {
        self.with(&[
            ("error", e.code.as_str()),
            ("error_description", &e.description),
        ])
    }

    pub fn code(&self, code: &str) -> Response {
        self.with(&[("code", code)])
    }

    fn with(&self, params: &[(&str, &str)]) -> Response {
        let Ok(mut url) = url::Url::parse(self.redirect_uri) else {
            return (StatusCode::BAD_REQUEST, "invalid redirect").into_response();
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            if let Some(s) = self.state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", self.issuer);
        }
        page::see_other(url.as_str())
    }
}

async fn authorize(state: &AppState, headers: &HeaderMap, pairs: &[(String, String)]) -> Response {
    let raw = match RawParams::parse(pairs) {
        Ok(r) => r,
        Err(PageError::MissingClientId) => {
            if wants_json(headers) {
                return crate::http::error::ApiError::from(OAuthError::invalid_request(
                    "client_id is required",
                ))
                .into_response();
            }
            return bad_request_page(
                state,
                "The request does not say which app is asking (client_id is missing).",
            );
        }
        Err(PageError::Duplicate(p)) => {
            return bad_request_page(state, &format!("The request repeats the parameter {p}."));
        }
    };
    let client = match requesting_client(state, headers, &raw).await {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    if client.blocked {
        return bad_request_page(state, "An administrator has blocked this app.");
    }
    let redirect = match choose_redirect_uri(&client, raw.redirect_uri.as_deref()) {
        Ok(r) => r,
        Err(msg) => return bad_request_page(state, msg),
    };
    let issuer = state.settings.issuer.clone();
    let st = raw.state();
    let ret = Return {
        redirect_uri: &redirect,
        state: st.as_deref(),
        issuer: &issuer,
    };
    match validate(state, &client, &raw, &redirect).await {
        Ok(req) => proceed(state, headers, req).await,
        Err(e) if e.code == ErrorCode::ServerError => page::error_page(
            state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not process the request.",
            "Try again in a moment.",
        ),
        Err(e) => ret.error(&e),
    }
}

/// The client named by `client_id`, or the answer to give when there is
/// none: still before any redirect (the redirect URI is not trusted yet),
/// so a page for a browser, JSON for a client that asked for it.
async fn requesting_client(
    state: &AppState,
    headers: &HeaderMap,
    raw: &RawParams,
) -> Result<Arc<Client>, Response> {
    let client_id = raw.client_id.clone().unwrap_or_default();
    match clients::resolve(state, &client_id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) if wants_json(headers) => {
            // Clients use this to notice they must register again; 400
            // (not 401) because no client authentication was attempted.
            Err((
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({
                    "error": "invalid_client",
                    "error_description": "unknown client_id"
                })),
            )
                .into_response())
        }
        Ok(None) => Err(bad_request_page(
            state,
            "The app asking for access is not known to this server.",
        )),
        Err(e) if e.code == ErrorCode::ServerError => Err(page::error_page(
            state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not look up the app asking for access.",
            "Try again in a moment.",
        )),
        Err(e) if wants_json(headers) => Err(crate::http::error::ApiError::from(e).into_response()),
        Err(e) => Err(bad_request_page(
            state,
            &format!("The app could not be verified: {}", e.description),
        )),
    }
}

/// The registered redirect URI this request uses: the one given (exact
/// match, loopback port free), or the only registered one when none given.
fn choose_redirect_uri(client: &Client, given: Option<&str>) -> Result<String, &'static str> {
    let registered = &client.metadata.redirect_uris;
    match given {
        Some(r) => {
            if redirect_uri::is_allowed(r, registered) {
                Ok(r.to_owned())
            } else {
                Err("The address to return to (redirect_uri) is not registered for this app.")
            }
        }
        None => match registered.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err("This app has no registered address to return to."),
            _ => Err("The request does not say where to return to (redirect_uri is missing)."),
        },
    }
}

async fn validate(
    state: &AppState,
    client: &Client,
    raw: &RawParams,
    redirect: &str,
) -> Result<AuthorizationRequest, OAuthError> {
    let v = raw.validate()?;
    if !authgate_authority::grants::registered(client, "authorization_code") {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the authorization code flow",
        ));
    }
    let resource = authgate_authority::grants::resource::resolve(
        state,
        client,
        &v.resource,
        authgate_authority::clients::TokenFor::Person,
    )
    .await?;
    let scopes = scope::negotiate(
        &v.requested_scopes,
        &resource.scopes,
        &resource.default_scopes,
        authgate_authority::clients::scope_ceiling(
            client,
            authgate_authority::clients::TokenFor::Person,
        )
        .as_deref(),
        scope::UnknownScopes::Drop,
    )?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect.to_owned(),
        state: v.state,
        code_challenge: v.code_challenge,
        resource_id: resource.id.clone(),
        scopes,
        nonce: v.nonce,
        prompt: v.prompt,
        max_age: v.max_age,
        login_hint: v.login_hint,
        ui_locales: v.ui_locales,
        created_at: state.clock.now(),
    })
}

/// With a valid request: sign in if needed, consent if needed, else issue
/// the code right away.
async fn proceed(state: &AppState, headers: &HeaderMap, req: AuthorizationRequest) -> Response {
    let now = state.clock.now();
    let issuer = state.settings.issuer.clone();
    let ret = Return {
        redirect_uri: &req.redirect_uri,
        state: req.state.as_deref(),
        issuer: &issuer,
    };
    let server_error = |e: authgate_store::StoreError| {
        tracing::error!(error = %e, "storage failure at /authorize");
        ret.error(&OAuthError::server_error(
            "the server could not process the request",
        ))
    };
    let (mut sess, raw_cookie, is_new) = match session::load_or_create(state, headers).await {
        Ok(x) => x,
        Err(e) => return server_error(e),
    };
    let signed_in_user = match session::signed_in_user(&sess) {
        Some(uid) => match state.store.get_user(uid).await {
            Ok(u) => u.filter(|u| !u.disabled),
            Err(e) => return server_error(e),
        },
        None => None,
    };
    let auth_time = signed_in_user.as_ref().and(sess.auth_time);
    let must_login = authorize::needs_login(auth_time, req.prompt, req.max_age, now);
    if must_login && req.prompt.none {
        return ret.error(&OAuthError::new(
            ErrorCode::LoginRequired,
            "the person is not signed in",
        ));
    }
    let held = match &signed_in_user {
        Some(u) => match authgate_authority::signup::hold_for(state, &u.id, &req.resource_id).await
        {
            Ok(h) => h.is_some(),
            Err(e) => return server_error(e),
        },
        None => false,
    };
    if !must_login
        && !held
        && let Some(user) = &signed_in_user
    {
        match consent_remembered(state, &user.id, &req).await {
            Ok(true) => {
                let req = match super::scope_rules::apply(state, &user.id, req.clone()).await {
                    Ok(super::scope_rules::Ruled::Go(r)) => *r,
                    Ok(super::scope_rules::Ruled::Denied) => {
                        return ret.error(&OAuthError::new(
                            ErrorCode::AccessDenied,
                            super::scope_rules::DENIED,
                        ));
                    }
                    Err(e) => return server_error(e),
                };
                return match issue_code(
                    state,
                    &req,
                    &user.id,
                    auth_time.unwrap_or(now),
                    &session::auth_context(&sess),
                )
                .await
                {
                    Ok(code) => ret.code(&code),
                    Err(IssueError::Store(e)) => server_error(e),
                    Err(IssueError::Held(_)) => ret.error(&OAuthError::new(
                        ErrorCode::AccessDenied,
                        "the account may not be granted access now",
                    )),
                };
            }
            Ok(false) => {}
            Err(e) => return server_error(e),
        }
        if req.prompt.none {
            return ret.error(&OAuthError::new(
                ErrorCode::ConsentRequired,
                "consent is required",
            ));
        }
    }
    if !must_login && held && req.prompt.none {
        // The consent page would say why (verify the address first).
        return ret.error(&OAuthError::new(
            ErrorCode::InteractionRequired,
            "the person must verify their email address first",
        ));
    }
    let rid = match secret::generate_id(state.rng.as_ref()) {
        Ok(rid) => rid,
        Err(e) => return server_error(e.into()),
    };
    session::add_pending(&mut sess, &rid, &req, now);
    // A visitor's pending request rides in their pre-session cookie; only a
    // signed-in browser's session is in the store.
    let new_cookie = match session::save(state, &sess).await {
        Ok(c) => c,
        Err(session::SaveError::Store(e)) => return server_error(e),
        Err(e @ session::SaveError::TooLarge) => {
            return ret.error(&OAuthError::invalid_request(e.to_string()));
        }
    };
    let base = state.settings.issuer_path();
    let next = if must_login {
        format!("{base}/login?r={rid}")
    } else {
        format!("{base}/consent?r={rid}")
    };
    let mut resp = page::see_other(&next);
    if let Some(c) = new_cookie {
        session::set_cookie(state, &mut resp, &c);
    } else if is_new {
        session::set_cookie(state, &mut resp, &raw_cookie);
    }
    resp
}

/// Whether the consent page can be skipped: the person already allowed
/// this client every requested scope for this resource, and the client did
/// not ask for the page (`prompt=consent`). The one rule for both a
/// signed-in browser at /authorize and a browser that has just signed in.
pub async fn consent_remembered(
    state: &AppState,
    user_id: &str,
    req: &AuthorizationRequest,
) -> Result<bool, authgate_store::StoreError> {
    if req.prompt.consent {
        return Ok(false);
    }
    let consent = state
        .store
        .get_consent(user_id, &req.client_id, &req.resource_id)
        .await?;
    Ok(consent.is_some_and(|c| authorize::new_scopes(&req.scopes, &c.scopes).is_empty()))
}

/// Why [`issue_code`] issued nothing.
#[derive(Debug)]
pub enum IssueError {
    Store(authgate_store::StoreError),
    /// The person may not be granted anything now (`signup::Hold`).
    Held(authgate_authority::signup::Hold),
}

impl From<authgate_store::StoreError> for IssueError {
    fn from(e: authgate_store::StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<authgate_core::random::RandomError> for IssueError {
    fn from(e: authgate_core::random::RandomError) -> Self {
        Self::Store(e.into())
    }
}

impl std::fmt::Display for IssueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => e.fmt(f),
            Self::Held(h) => write!(f, "no code for this person now: {h:?}"),
        }
    }
}

/// Creates a single-use code bound to everything the token request must
/// match. Every code goes through here, so this is where an account held
/// by `signup::hold` (an unverified self-made account) is refused, whatever
/// page led here: fail closed.
pub async fn issue_code(
    state: &AppState,
    req: &AuthorizationRequest,
    user_id: &str,
    auth_time: i64,
    auth: &authgate_core::model::AuthContext,
) -> Result<String, IssueError> {
    if let Some(h) = authgate_authority::signup::hold_for(state, user_id, &req.resource_id).await? {
        authgate_authority::audit::audit(
            state,
            "authorization_code.held",
            Some(user_id),
            Some(&req.client_id),
            Some(&req.resource_id),
            "refused",
        );
        return Err(IssueError::Held(h));
    }
    // A metadata document client has now proved itself (a person approved
    // it): only now is its row stored.
    authgate_authority::cimd::remember(state, &req.client_id).await;
    let code = secret::generate(state.rng.as_ref())?;
    let now = state.clock.now();
    state
        .store
        .insert_code(&AuthorizationCode {
            code_hash: secret::hash(&code),
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            resource_id: req.resource_id.clone(),
            scopes: req.scopes.clone(),
            user_id: user_id.to_owned(),
            auth_time,
            nonce: req.nonce.clone(),
            grant_id: secret::generate_id(state.rng.as_ref())?,
            expires_at: now + state.settings.raw.authorization_code_ttl_secs,
            consumed_at: None,
            auth: auth.clone(),
        })
        .await?;
    authgate_authority::audit::audit(
        state,
        "authorization_code.issued",
        Some(user_id),
        Some(&req.client_id),
        Some(&req.resource_id),
        "ok",
    );
    Ok(code)
}
