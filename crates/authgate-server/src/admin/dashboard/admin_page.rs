//! The signed-in administrator of a dashboard request, as an extractor
//! ([`AdminPage`]): handlers receive the administrator or never run. Not
//! signed in: to the sign-in page, which brings them back to the page's
//! return-to URL ([`ReturnTo`]). Signed in with a role that may not see
//! the dashboard (`manage::roles`): 403. Pages are read (auditors too);
//! forms write (administrators only, [`super::form::Submitted`]).

use super::display::seg;
use super::layout::{AdminSession, failure};
use crate::pages::page;
use crate::pages::session;
use crate::state::{AppState, SharedState};
use authgate_authority::manage::Actor;
use authgate_authority::manage::roles::{self, Access};
use authgate_core::model::{Session, User};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::marker::PhantomData;
use std::net::SocketAddr;

/// Where sign-in brings an administrator back to from a page.
pub trait ReturnTo: Send + Sync + 'static {
    fn here(state: &AppState, parts: &mut Parts) -> impl Future<Output = String> + Send;
}

/// Back to the page itself (its query left off).
pub struct ThisPage;

impl ReturnTo for ThisPage {
    async fn here(_: &AppState, parts: &mut Parts) -> String {
        this_page(parts).await
    }
}

/// Back to the dashboard's home, whichever of its addresses was asked for.
pub struct Home;

impl ReturnTo for Home {
    async fn here(state: &AppState, _: &mut Parts) -> String {
        format!("{}/admin", state.settings.issuer_path())
    }
}

/// The URL of the requested page as the dashboard writes its links: the
/// route with each path parameter percent-encoded by [`seg`], no query.
/// (The request's own path may encode the same id differently.)
pub async fn this_page(parts: &mut Parts) -> String {
    let route = match parts.extensions.get::<MatchedPath>() {
        Some(m) => m.as_str().to_owned(),
        None => return parts.uri.path().to_owned(),
    };
    // The handler's own `Path` extractor has refused undecodable
    // parameters before this runs.
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .ok()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    route
        .split('/')
        .map(|part| {
            let name = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
            match name.and_then(|n| params.iter().find(|(k, _)| k == n)) {
                Some((_, v)) => seg(v),
                None => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A dashboard page's signed-in administrator. Put it after the handler's
/// `Path` and `Query` extractors: they refuse malformed requests first.
pub struct AdminPage<R: ReturnTo = ThisPage> {
    pub admin: AdminSession,
    returns_to: PhantomData<R>,
}

impl<R: ReturnTo> FromRequestParts<SharedState> for AdminPage<R> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let here = R::here(state, parts).await;
        Ok(Self {
            admin: require_admin(state, parts, &here, Access::Read).await?,
            returns_to: PhantomData,
        })
    }
}

/// The signed-in person whose role allows `access` (`roles::check`), or
/// the response to send instead: to the sign-in page (coming back to
/// `here`), or 403 saying why.
pub async fn require_admin(
    state: &AppState,
    parts: &mut Parts,
    here: &str,
    access: Access,
) -> Result<AdminSession, Response> {
    let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let headers = &parts.headers;
    let loaded = session::load(state, headers)
        .await
        .map_err(|e| failure(state, e))?;
    let user = match loaded
        .as_ref()
        .and_then(|(s, _)| session::signed_in_user(s).map(str::to_owned))
    {
        None => None,
        Some(uid) => match state.store.get_user(&uid).await {
            Ok(u) => u.filter(|u| !u.disabled),
            Err(e) => return Err(failure(state, e)),
        },
    };
    let Some(user) = user else {
        return Err(to_sign_in(state, loaded, here).await);
    };
    let Some((session, _)) = loaded else {
        return Err(page::see_other(&format!(
            "{}/login",
            state.settings.issuer_path()
        )));
    };
    if let Err(e) = roles::check(&user, access) {
        return Err(page::error_page(
            state,
            StatusCode::FORBIDDEN,
            if access == Access::Read {
                "Administrators only"
            } else {
                "Read-only access"
            },
            &e.message(),
            "Ask an administrator if you need access.",
        ));
    }
    Ok(admin_session(session, user, &peer))
}

fn admin_session(session: Session, user: User, peer: &ConnectInfo<SocketAddr>) -> AdminSession {
    AdminSession {
        actor: Actor {
            name: user.email.clone(),
            // The client address by the one rule (a trusted proxy's
            // X-Forwarded-For), as the middleware worked it out.
            address: Some(
                authgate_authority::audit::current_client_address()
                    .unwrap_or(peer.0.ip())
                    .to_string(),
            ),
            user_id: Some(user.id.clone()),
        },
        session,
        user,
    }
}

/// To the sign-in page, remembering `here` to come back to.
async fn to_sign_in(state: &AppState, loaded: Option<(Session, String)>, here: &str) -> Response {
    let (mut s, raw, is_new) = match loaded {
        Some((s, raw)) => (s, raw, false),
        None => match session::create(state, json!({})).await {
            Ok((s, raw)) => (s, raw, true),
            Err(e) => return failure(state, e),
        },
    };
    if !s.data.is_object() {
        s.data = json!({});
    }
    if let Some(o) = s.data.as_object_mut() {
        o.insert("after_login".into(), Value::String(here.to_owned()));
    }
    // A visitor's "come back here" rides in their pre-session cookie.
    let new_cookie = match session::save(state, &s).await {
        Ok(c) => c,
        Err(e) => return failure(state, e),
    };
    let mut resp = page::see_other(&format!("{}/login", state.settings.issuer_path()));
    if let Some(c) = new_cookie {
        session::set_cookie(state, &mut resp, &c);
    } else if is_new {
        session::set_cookie(state, &mut resp, &raw);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn page_of(route: &str, uri: &str) -> String {
        let app = Router::new().route(
            route,
            get(|req: Request| async move {
                let (mut parts, _) = req.into_parts();
                this_page(&mut parts).await
            }),
        );
        let resp = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn this_page_encodes_parameters_like_the_dashboard_links() {
        // The id as `seg` writes it, whatever encoding the request used;
        // the base path and fixed segments as routed; no query.
        assert_eq!(
            page_of("/a-b/admin/users/{id}", "/a-b/admin/users/x-y%20z?notice=1").await,
            "/a-b/admin/users/x%2Dy%20z"
        );
        assert_eq!(
            page_of("/admin/servers/{id}/edit", "/admin/servers/s_1/edit").await,
            "/admin/servers/s%5F1/edit"
        );
        assert_eq!(
            page_of("/admin/keys", "/admin/keys?notice=rotated").await,
            "/admin/keys"
        );
    }
}
