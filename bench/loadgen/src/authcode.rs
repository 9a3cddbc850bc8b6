//! The authorization code flow, scripted as a browser and a public MCP client
//! do it, on one keep-alive connection:
//!
//! 1. `GET /authorize?…&code_challenge=…&code_challenge_method=S256` with a
//!    fresh PKCE verifier and `state`; authgate answers 303 to its sign-in page
//!    and sets the session cookie;
//! 2. `GET` the sign-in page, read the form's hidden `csrf` and `r`, and
//!    `POST` them with the email and password (303, a renewed session cookie);
//! 3. if the consent page is shown, `GET` it and `POST` `decision=allow`;
//! 4. the last 303 goes to the client's `redirect_uri` with `code`, `state`
//!    and `iss`, which must match;
//! 5. `POST /token` `grant_type=authorization_code` with the code, the
//!    verifier, `redirect_uri`, `resource` and `client_id` (no client
//!    authentication: a public client), and check the tokens.
//!
//! Each flow starts with an empty cookie jar, so each one signs in (one
//! Argon2 check on the server). The whole flow is one "request" for the
//! engine: one count, one latency. Every deviation is a short static label.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use http_body_util::Full;
use sha2::{Digest, Sha256};

use crate::conn::{Conn, Endpoint, Reply};
use crate::flows::{Check, JwtExpectation, TokenResponse, form_encode};

/// What every worker's flow uses.
pub struct AuthCodeSetup {
    /// The authorization endpoint (its host serves the pages too).
    pub authorize: Endpoint,
    pub token: Endpoint,
    /// Expected `iss` on the redirect (RFC 9207), exactly.
    pub issuer: String,
    /// The issuer's path (`""` for `http://127.0.0.1:8080`): pages live under it.
    pub base_path: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub resource: String,
    pub scope: String,
    pub email: String,
    pub password: String,
    pub jwt: JwtExpectation,
    /// The `upstream` scenario: the email's domain routes to an upstream
    /// OpenID Connect connection, and the person signs in there instead of
    /// with a password.
    pub upstream: Option<UpstreamSetup>,
}

/// An upstream OpenID Connect provider (node oidc-provider with its
/// development sign-in pages) behind one authgate connection.
pub struct UpstreamSetup {
    /// The upstream's issuer, `http://127.0.0.1:PORT`: its pages, and the
    /// `iss` it must put on its redirect back to authgate (RFC 9207).
    pub issuer: Endpoint,
    pub issuer_url: String,
    /// The authgate connection's id: the `/federation/{id}/…` paths and the
    /// access token's `idp` claim.
    pub connection: String,
}

/// Counters over all of a worker's flows (warm-up included).
#[derive(Clone, Copy, Debug, Default)]
pub struct AuthCodeStats {
    pub flows_started: u64,
    pub flows_ok: u64,
    pub http_requests: u64,
    pub sign_ins: u64,
    pub consent_pages: u64,
    /// Requests to the upstream provider (its own connection), and the
    /// sign-ins done there.
    pub upstream_requests: u64,
    pub upstream_sign_ins: u64,
    /// Wall time of the sign-in step alone, summed over completed sign-ins:
    /// the password `POST` (authcode), or from `GET /federation/{id}/start`
    /// through authgate's answer to the upstream's callback (upstream).
    pub sign_in_step_us: u64,
    pub sign_in_steps: u64,
}

impl AuthCodeStats {
    pub fn add(&mut self, other: &AuthCodeStats) {
        self.flows_started += other.flows_started;
        self.flows_ok += other.flows_ok;
        self.http_requests += other.http_requests;
        self.sign_ins += other.sign_ins;
        self.consent_pages += other.consent_pages;
        self.upstream_requests += other.upstream_requests;
        self.upstream_sign_ins += other.upstream_sign_ins;
        self.sign_in_step_us += other.sign_in_step_us;
        self.sign_in_steps += other.sign_in_steps;
    }
}

/// One worker's flow: its setup, a secret seed for its PKCE verifiers and
/// states, and the cookie jar it empties before each flow.
pub struct AuthCode {
    setup: Arc<AuthCodeSetup>,
    seed: [u8; 32],
    worker: u64,
    counter: u64,
    jar: CookieJar,
    /// The upstream scenario: a second keep-alive connection, to the
    /// upstream provider, and the browser's cookies for that host.
    upstream_conn: Option<Conn>,
    upstream_jar: CookieJar,
    pub stats: AuthCodeStats,
}

#[derive(Clone, Copy)]
enum Step {
    Authorize,
    LoginPage,
    Email,
    SignIn,
    ConsentPage,
    Consent,
    Token,
    FederationStart,
    Upstream,
    FederationCallback,
}

macro_rules! status_labels {
    ($step:literal) => {
        [
            concat!($step, "_status_2xx"),
            concat!($step, "_status_3xx"),
            concat!($step, "_status_400"),
            concat!($step, "_status_401"),
            concat!($step, "_status_403"),
            concat!($step, "_status_404"),
            concat!($step, "_status_429"),
            concat!($step, "_status_4xx"),
            concat!($step, "_status_5xx"),
        ]
    };
}

impl Step {
    /// `sign_in_status_401`, `token_status_400`, ...: which step, which status.
    fn status_label(self, status: StatusCode) -> &'static str {
        let labels: [&'static str; 9] = match self {
            Step::Authorize => status_labels!("authorize"),
            Step::LoginPage => status_labels!("login_page"),
            Step::Email => status_labels!("email_step"),
            Step::SignIn => status_labels!("sign_in"),
            Step::ConsentPage => status_labels!("consent_page"),
            Step::Consent => status_labels!("consent"),
            Step::Token => status_labels!("token"),
            Step::FederationStart => status_labels!("federation_start"),
            Step::Upstream => status_labels!("upstream"),
            Step::FederationCallback => status_labels!("federation_callback"),
        };
        labels[match status.as_u16() {
            200..=299 => 0,
            300..=399 => 1,
            400 => 2,
            401 => 3,
            403 => 4,
            404 => 5,
            429 => 6,
            402..=499 => 7,
            _ => 8,
        }]
    }
}

/// Where a redirect points.
#[derive(Debug, PartialEq)]
enum Target {
    /// A page of the server itself.
    Here(Endpoint),
    /// The client's redirect URI: its query.
    Callback(String),
}

impl AuthCode {
    pub fn new(setup: Arc<AuthCodeSetup>, seed: [u8; 32], worker: usize) -> Self {
        let upstream_conn = setup.upstream.as_ref().map(|u| Conn::new(u.issuer.addr));
        AuthCode {
            setup,
            seed,
            worker: worker as u64,
            counter: 0,
            jar: CookieJar::default(),
            upstream_conn,
            upstream_jar: CookieJar::default(),
            stats: AuthCodeStats::default(),
        }
    }

    /// 43 characters of base64url (256 bits), unique per worker, flow and
    /// purpose, unpredictable without the process's secret seed.
    fn random(&self, purpose: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(self.worker.to_le_bytes());
        h.update(self.counter.to_le_bytes());
        h.update(purpose);
        URL_SAFE_NO_PAD.encode(h.finalize())
    }

    fn sign_in_step_done(&mut self, started: Instant) {
        self.stats.sign_in_step_us += started.elapsed().as_micros() as u64;
        self.stats.sign_in_steps += 1;
    }

    fn page_path(&self, page: &str) -> String {
        format!("{}/{page}", self.setup.base_path)
    }

    /// Sends one browser request with the jar's cookies, and keeps the
    /// cookies the answer sets.
    async fn browse(
        &mut self,
        conn: &mut Conn,
        timeout: Duration,
        to: &Endpoint,
        form: Option<String>,
    ) -> Result<Reply, &'static str> {
        self.stats.http_requests += 1;
        browse(&mut self.jar, conn, timeout, to, form).await
    }

    /// A 303 (or 302) answer's target: a page here or the client's callback.
    fn redirect(&self, reply: &Reply, step: Step) -> Result<Target, &'static str> {
        if !matches!(reply.status.as_u16(), 302 | 303) {
            return Err(step.status_label(reply.status));
        }
        let location = reply
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("redirect_without_location")?;
        resolve(&self.setup, location)
    }

    /// The upstream scenario, from authgate's answer to the email step to
    /// its answer to the upstream's callback: authgate's redirect to
    /// `/federation/{id}/start`, that page's redirect to the upstream's
    /// authorization endpoint, the upstream's own pages (login with the
    /// email as login hint and any password, then its consent) on the
    /// upstream connection with the upstream's cookie jar (empty at each
    /// flow's start), the upstream's redirect to authgate's callback with
    /// `code`, `state` and `iss`, and authgate's answer to that callback
    /// (which exchanged the code, checked the ID token and linked the
    /// person): where it sends the browser next.
    async fn upstream_sign_in(
        &mut self,
        conn: &mut Conn,
        timeout: Duration,
        email_reply: &Reply,
    ) -> Result<Target, &'static str> {
        let setup = self.setup.clone();
        let up = setup.upstream.as_ref().ok_or("no_upstream")?;
        let start_path = self.page_path(&format!("federation/{}/start", up.connection));
        let callback_path = self.page_path(&format!("federation/{}/callback", up.connection));
        let start = match self.redirect(email_reply, Step::Email)? {
            Target::Here(page) if page.path.path() == start_path => page,
            _ => return Err("email_step_not_to_federation"),
        };
        let session_before = self.jar.snapshot();
        let step_started = Instant::now();
        let reply = self.browse(conn, timeout, &start, None).await?;
        if !matches!(reply.status.as_u16(), 302 | 303) {
            return Err(Step::FederationStart.status_label(reply.status));
        }
        let location = reply
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or("redirect_without_location")?;
        let mut to = upstream_location(up, location)?.ok_or("federation_start_not_to_upstream")?;
        let query = to.path.query().unwrap_or("");
        if query_value(query, "code_challenge_method").as_deref() != Some("S256")
            || query_value(query, "login_hint").as_deref() != Some(setup.email.as_str())
        {
            return Err("upstream_request_params");
        }

        // The upstream's pages, on its own connection and cookie jar.
        self.upstream_jar.clear();
        let up_conn = self.upstream_conn.as_mut().ok_or("no_upstream")?;
        let mut form: Option<String> = None;
        let mut callback = None;
        for _ in 0..12 {
            self.stats.upstream_requests += 1;
            let reply = browse(&mut self.upstream_jar, up_conn, timeout, &to, form.take()).await?;
            match reply.status.as_u16() {
                302 | 303 => {
                    let location = reply
                        .headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .ok_or("redirect_without_location")?;
                    match upstream_location(up, location)? {
                        Some(next) => to = next,
                        None => {
                            callback = Some(location.to_owned());
                            break;
                        }
                    }
                }
                200 if to.path.path().starts_with("/interaction/") => {
                    let action = to.path.path().to_owned();
                    // oidc-provider writes the form's action as an absolute URL.
                    let page = Form::parse(&reply.body, &format!("{}{action}", up.issuer_url))
                        .or_else(|| Form::parse(&reply.body, &action))
                        .ok_or("upstream_form_missing")?;
                    form = Some(match page.field("prompt") {
                        Some("login") => {
                            // The login hint authgate sent fills the login field.
                            if page.field("login") != Some(setup.email.as_str()) {
                                return Err("upstream_login_hint_missing");
                            }
                            self.stats.upstream_sign_ins += 1;
                            format!(
                                "prompt=login&login={}&password=any",
                                form_encode(&setup.email)
                            )
                        }
                        Some("consent") => "prompt=consent".to_owned(),
                        _ => return Err("upstream_prompt_unknown"),
                    });
                    to = up.issuer.at(&action).ok_or("upstream_form_action")?;
                }
                _ => return Err(Step::Upstream.status_label(reply.status)),
            }
        }
        let callback = callback.ok_or("upstream_too_many_steps")?;

        // Back at authgate's callback, with the upstream's code.
        let callback = match resolve(&setup, &callback)? {
            Target::Here(page) if page.path.path() == callback_path => page,
            _ => return Err("upstream_not_to_federation_callback"),
        };
        let query = callback.path.query().unwrap_or("");
        if query_value(query, "code").is_none_or(|c| c.is_empty())
            || query_value(query, "state").is_none_or(|c| c.is_empty())
        {
            return Err("upstream_callback_params");
        }
        if query_value(query, "iss").as_deref() != Some(up.issuer_url.as_str()) {
            return Err("upstream_callback_iss_mismatch");
        }
        let reply = self.browse(conn, timeout, &callback, None).await?;
        let next = self.redirect(&reply, Step::FederationCallback)?;
        self.sign_in_step_done(step_started);
        if self.jar.snapshot() == session_before {
            // Signing in must renew the session id (no fixation).
            return Err("session_not_renewed");
        }
        Ok(next)
    }

    /// One whole flow. `Ok` only if every step answered as it should.
    pub async fn run(&mut self, conn: &mut Conn, timeout: Duration) -> Check {
        self.stats.flows_started += 1;
        self.counter += 1;
        self.jar.clear();
        let setup = self.setup.clone();
        let verifier = self.random(b"pkce code_verifier");
        let state = self.random(b"state")[..22].to_owned();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));

        // 1. The authorization request: to the sign-in page, with a session cookie.
        let query = format!(
            "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&resource={}&state={}\
             &code_challenge={}&code_challenge_method=S256",
            setup.authorize.path.path(),
            form_encode(&setup.client_id),
            form_encode(&setup.redirect_uri),
            form_encode(&setup.scope),
            form_encode(&setup.resource),
            state,
            challenge,
        );
        let authorize = setup.authorize.at(&query).ok_or("request_unbuildable")?;
        let reply = self.browse(conn, timeout, &authorize, None).await?;
        let login = match self.redirect(&reply, Step::Authorize)? {
            Target::Here(page) if page.path.path() == self.page_path("login") => page,
            Target::Here(_) => return Err("authorize_not_to_sign_in"),
            Target::Callback(query) if query_value(&query, "error").is_some() => {
                return Err("authorize_error_redirect");
            }
            // A code for a browser that never signed in.
            Target::Callback(_) => return Err("code_without_sign_in"),
        };
        if self.jar.is_empty() {
            return Err("no_session_cookie");
        }
        let rid = login
            .path
            .query()
            .and_then(|q| query_value(q, "r"))
            .ok_or("sign_in_redirect_without_r")?;

        // 2. The sign-in page asks for the email first (home-realm
        // discovery), then answers with the password step for it.
        let reply = self.browse(conn, timeout, &login, None).await?;
        if reply.status != StatusCode::OK {
            return Err(Step::LoginPage.status_label(reply.status));
        }
        let email_action = self.page_path("login/email");
        let form = Form::parse(&reply.body, &email_action).ok_or("email_form_missing")?;
        let csrf = form.field("csrf").ok_or("login_csrf_missing")?;
        if form.field("r").ok_or("login_r_missing")? != rid {
            return Err("login_r_mismatch");
        }
        if form.field("email").is_none() {
            return Err("email_field_missing");
        }
        let body = format!(
            "csrf={}&r={}&email={}",
            form_encode(csrf),
            form_encode(&rid),
            form_encode(&setup.email),
        );
        let to = setup
            .authorize
            .at(&email_action)
            .ok_or("email_form_action")?;
        let reply = self.browse(conn, timeout, &to, Some(body)).await?;
        let next = if setup.upstream.is_some() {
            self.upstream_sign_in(conn, timeout, &reply).await?
        } else {
            if reply.status != StatusCode::OK {
                return Err(Step::Email.status_label(reply.status));
            }
            let login_action = self.page_path("login");
            let form = Form::parse(&reply.body, &login_action).ok_or("login_form_missing")?;
            let csrf = form.field("csrf").ok_or("login_csrf_missing")?;
            if form.field("r").ok_or("login_r_missing")? != rid {
                return Err("login_r_mismatch");
            }
            if form.field("email") != Some(setup.email.as_str()) || form.field("password").is_none()
            {
                return Err("login_fields_missing");
            }
            let session_before = self.jar.snapshot();
            let body = format!(
                "csrf={}&r={}&email={}&password={}",
                form_encode(csrf),
                form_encode(&rid),
                form_encode(&setup.email),
                form_encode(&setup.password),
            );
            let to = setup
                .authorize
                .at(&login_action)
                .ok_or("login_form_action")?;
            self.stats.sign_ins += 1;
            let step_started = Instant::now();
            let reply = self.browse(conn, timeout, &to, Some(body)).await?;
            if reply.status == StatusCode::UNAUTHORIZED {
                // The form again, with an error: a wrong password, or a lockout.
                let page = String::from_utf8_lossy(&reply.body);
                return Err(if page.contains("Too many failed attempts") {
                    "sign_in_locked_out"
                } else {
                    "sign_in_refused"
                });
            }
            let next = self.redirect(&reply, Step::SignIn)?;
            self.sign_in_step_done(step_started);
            if self.jar.snapshot() == session_before {
                // Signing in must renew the session id (no fixation).
                return Err("session_not_renewed");
            }
            next
        };

        // 3. Consent, if asked.
        let callback = match next {
            Target::Callback(query) => query,
            Target::Here(consent) if consent.path.path() == self.page_path("consent") => {
                let reply = self.browse(conn, timeout, &consent, None).await?;
                if reply.status != StatusCode::OK {
                    return Err(Step::ConsentPage.status_label(reply.status));
                }
                self.stats.consent_pages += 1;
                let consent_action = self.page_path("consent");
                let form =
                    Form::parse(&reply.body, &consent_action).ok_or("consent_form_missing")?;
                let csrf = form.field("csrf").ok_or("consent_csrf_missing")?;
                if form.field("r").ok_or("consent_r_missing")? != rid {
                    return Err("consent_r_mismatch");
                }
                if !form.has_button("decision", "allow") {
                    return Err("consent_allow_missing");
                }
                let body = format!(
                    "csrf={}&r={}&decision=allow",
                    form_encode(csrf),
                    form_encode(&rid)
                );
                let to = setup
                    .authorize
                    .at(&consent_action)
                    .ok_or("consent_form_action")?;
                let reply = self.browse(conn, timeout, &to, Some(body)).await?;
                match self.redirect(&reply, Step::Consent)? {
                    Target::Callback(query) => query,
                    Target::Here(_) => return Err("consent_not_to_callback"),
                }
            }
            Target::Here(_) => return Err("sign_in_unexpected_redirect"),
        };

        // 4. Back at the client: code, state and iss.
        if query_value(&callback, "error").is_some() {
            return Err("callback_error");
        }
        let single = |name: &str| -> Option<String> {
            let mut values = query_values(&callback, name);
            match (values.next(), values.next()) {
                (Some(v), None) => Some(v),
                _ => None,
            }
        };
        let code = single("code")
            .filter(|c| !c.is_empty())
            .ok_or("callback_code_missing")?;
        if single("state").as_deref() != Some(state.as_str()) {
            return Err("callback_state_mismatch");
        }
        if single("iss").as_deref() != Some(setup.issuer.as_str()) {
            return Err("callback_iss_mismatch");
        }

        // 5. The MCP client redeems the code (no cookies: it is not the browser).
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id={}&resource={}",
            form_encode(&code),
            form_encode(&setup.redirect_uri),
            verifier,
            form_encode(&setup.client_id),
            form_encode(&setup.resource),
        );
        let request = setup
            .token
            .request(Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| "request_unbuildable")?;
        self.stats.http_requests += 1;
        let reply = conn.send(request, timeout).await?;
        if reply.status != StatusCode::OK {
            return Err(Step::Token.status_label(reply.status));
        }
        let token = TokenResponse::parse(reply.status, &reply.body).map_err(|_| "token_shape")?;
        setup.jwt.check(&token.access_token)?;
        if let Some(up) = &setup.upstream
            && jwt_claim(&token.access_token, "idp").as_deref() != Some(up.connection.as_str())
        {
            return Err("jwt_idp");
        }
        if token.refresh_token.is_none_or(|t| t.is_empty()) {
            return Err("refresh_token_missing");
        }
        self.stats.flows_ok += 1;
        Ok(())
    }
}

/// One browser request to `to` with `jar`'s cookies for it (a form POST if
/// `form`); the cookies the answer sets go into `jar`.
async fn browse(
    jar: &mut CookieJar,
    conn: &mut Conn,
    timeout: Duration,
    to: &Endpoint,
    form: Option<String>,
) -> Result<Reply, &'static str> {
    let path = to.path.path().to_owned();
    let mut builder = to
        .request(if form.is_some() {
            Method::POST
        } else {
            Method::GET
        })
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");
    if let Some(cookie) = jar.header(&path) {
        builder = builder.header(header::COOKIE, cookie);
    }
    if form.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let request = builder
        .body(Full::new(form.map(Bytes::from).unwrap_or_default()))
        .map_err(|_| "request_unbuildable")?;
    let reply = conn.send(request, timeout).await?;
    jar.store(&reply.headers, &path)?;
    Ok(reply)
}

/// A redirect's `Location` on the upstream provider: a path there or an
/// absolute URL; `Ok(None)` if it leaves the upstream.
fn upstream_location(up: &UpstreamSetup, location: &str) -> Result<Option<Endpoint>, &'static str> {
    let path = if location.starts_with('/') && !location.starts_with("//") {
        location
    } else {
        match location.strip_prefix(up.issuer_url.as_str()) {
            Some(path) if path.starts_with('/') => path,
            _ => return Ok(None),
        }
    };
    up.issuer
        .at(path)
        .map(Some)
        .ok_or("upstream_redirect_malformed")
}

/// A `Location` value: a path or absolute URL on this server, or the client's
/// redirect URI (with a query). Anything else is an off-site redirect.
fn resolve(setup: &AuthCodeSetup, location: &str) -> Result<Target, &'static str> {
    if let Some(rest) = location.strip_prefix(setup.redirect_uri.as_str()) {
        return match rest.strip_prefix('?') {
            Some(query) => Ok(Target::Callback(query.to_owned())),
            None if rest.is_empty() => Ok(Target::Callback(String::new())),
            None => Err("redirect_offsite"),
        };
    }
    let path = if location.starts_with('/') {
        location
    } else {
        let origin = format!("http://{}", setup.authorize.host.to_str().unwrap_or(""));
        match location.strip_prefix(origin.as_str()) {
            Some(path) if path.starts_with('/') => path,
            _ => return Err("redirect_offsite"),
        }
    };
    setup
        .authorize
        .at(path)
        .map(Target::Here)
        .ok_or("redirect_offsite")
}

/// `application/x-www-form-urlencoded` decoding; `None` on a bad escape.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Every value of `name` in a query string (undecodable ones are skipped).
fn query_values<'a>(query: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    query.split('&').filter_map(move |pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k)? == name).then(|| form_decode(v))?
    })
}

fn query_value(query: &str, name: &str) -> Option<String> {
    query_values(query, name).next()
}

/// One string claim of a JWT's payload (decoded, not verified).
fn jwt_claim(jwt: &str, name: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims[name].as_str().map(str::to_owned)
}

/// The first POST form of a page: its action and its named inputs and buttons.
#[derive(Debug)]
struct Form {
    /// (tag, name, value): `input` or `button`.
    controls: Vec<(&'static str, String, String)>,
}

impl Form {
    /// The page's POST form to `action` (a page has others: the language
    /// switcher, the passkey sign-in).
    fn parse(body: &[u8], action: &str) -> Option<Form> {
        let html = std::str::from_utf8(body).ok()?;
        let mut rest = html;
        let inner = loop {
            let start = rest.find("<form")?;
            let after = &rest[start..];
            let end = after.find('>')?;
            let tag = &after[..=end];
            let inner = &after[end + 1..];
            let inner = &inner[..inner.find("</form>")?];
            if attr(tag, "method").is_some_and(|m| m.eq_ignore_ascii_case("post"))
                && attr(tag, "action").as_deref() == Some(action)
            {
                break inner;
            }
            rest = &after[end + 1..];
        };
        let mut controls = Vec::new();
        for kind in ["input", "button"] {
            let open = format!("<{kind}");
            let mut rest = inner;
            while let Some(start) = rest.find(&open) {
                let after = &rest[start..];
                let end = after.find('>')?;
                let tag = &after[..=end];
                if let Some(name) = attr(tag, "name") {
                    controls.push((kind, name, attr(tag, "value").unwrap_or_default()));
                }
                rest = &after[end + 1..];
            }
        }
        Some(Form { controls })
    }

    /// An input's value (hidden fields, or empty for a text field).
    fn field(&self, name: &str) -> Option<&str> {
        let mut found = self
            .controls
            .iter()
            .filter(|(kind, n, _)| *kind == "input" && n == name);
        match (found.next(), found.next()) {
            (Some((_, _, value)), None) => Some(value),
            // Absent, or ambiguous: both count as missing.
            _ => None,
        }
    }

    fn has_button(&self, name: &str, value: &str) -> bool {
        self.controls
            .iter()
            .any(|(kind, n, v)| *kind == "button" && n == name && v == value)
    }
}

/// A double-quoted attribute of one tag, HTML entities decoded. `None` if
/// absent or if it holds an entity this reader does not know.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut from = 0;
    while let Some(found) = tag[from..].find(&needle) {
        let at = from + found;
        let preceded_by_space = tag[..at].ends_with(|c: char| c.is_ascii_whitespace());
        let value_start = at + needle.len();
        if preceded_by_space {
            let len = tag[value_start..].find('"')?;
            return unescape_html(&tag[value_start..value_start + len]);
        }
        from = value_start;
    }
    None
}

fn unescape_html(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';')?;
        let entity = &after[..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    entity.strip_prefix('#')?.parse().ok()?
                };
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A browser's cookie store for one plain-http host, as far as a flow needs:
/// name, value and path; `Max-Age<=0` deletes. Over plain http a browser
/// ignores cookies marked `Secure` and the `__Secure-`/`__Host-` prefixed
/// ones (RFC 6265bis), and so does this jar. `Domain` is ignored (one host),
/// and so is `Expires` (cookies live for one flow).
#[derive(Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

#[derive(Clone, Debug, PartialEq)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

impl CookieJar {
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    fn snapshot(&self) -> Vec<Cookie> {
        self.cookies.clone()
    }

    /// Takes in every `Set-Cookie` of an answer to a request for `request_path`.
    pub fn store(&mut self, headers: &HeaderMap, request_path: &str) -> Check {
        for value in headers.get_all(header::SET_COOKIE) {
            let line = value.to_str().map_err(|_| "set_cookie_malformed")?;
            let mut parts = line.split(';');
            let pair = parts.next().unwrap_or("");
            let (name, value) = pair.split_once('=').ok_or("set_cookie_malformed")?;
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                return Err("set_cookie_malformed");
            }
            let mut path = None;
            let mut secure = false;
            let mut delete = false;
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                let (key, val) = (key.trim(), val.trim());
                if key.eq_ignore_ascii_case("path") && val.starts_with('/') {
                    path = Some(val.to_owned());
                } else if key.eq_ignore_ascii_case("secure") {
                    secure = true;
                } else if key.eq_ignore_ascii_case("max-age") {
                    delete = val.parse::<i64>().map_err(|_| "set_cookie_malformed")? <= 0;
                } else if key.eq_ignore_ascii_case("expires") && val.contains(" 1970 ") {
                    // How koa (oidc-provider) deletes a cookie: an expiry at the epoch.
                    delete = true;
                }
            }
            if secure || name.starts_with("__Secure-") || name.starts_with("__Host-") {
                continue;
            }
            let path = path.unwrap_or_else(|| default_path(request_path));
            self.cookies.retain(|c| !(c.name == name && c.path == path));
            if !delete {
                self.cookies.push(Cookie {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    path,
                });
            }
        }
        Ok(())
    }

    /// The `Cookie` header for a request to `request_path`, longest paths first.
    pub fn header(&self, request_path: &str) -> Option<String> {
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| path_matches(request_path, &c.path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// RFC 6265 §5.1.4 default-path: the request path up to its last `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn setup() -> AuthCodeSetup {
        AuthCodeSetup {
            authorize: Endpoint::parse("http://127.0.0.1:8080/authorize").unwrap(),
            token: Endpoint::parse("http://127.0.0.1:8080/token").unwrap(),
            issuer: "http://127.0.0.1:8080".into(),
            base_path: String::new(),
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1:19998/callback".into(),
            resource: "http://127.0.0.1:19999/mcp".into(),
            scope: "mcp:read".into(),
            email: "a@b.c".into(),
            password: "p".into(),
            jwt: JwtExpectation {
                alg: "ES256".into(),
                audience: "http://127.0.0.1:19999/mcp".into(),
                scope: Some("mcp:read".into()),
            },
            upstream: None,
        }
    }

    const LOGIN: &str = r#"<!doctype html><html><head><title>Sign in</title></head><body>
<form method="post" action="/language"><input type="hidden" name="lang" value="fr"></form>
<form method="post" action="/login">
<input type="hidden" name="csrf" value="Ab-_c&amp;d">
<input type="hidden" name="r" value="rid123">
<input id="email" name="email" type="email" autocomplete="username" required value="" autofocus>
<input id="password" name="password" type="password" required>
<button type="submit" class="primary">Sign in</button>
</form></body></html>"#;

    const CONSENT: &str = r#"<form method="get" action="/elsewhere"><input name="csrf" value="no"></form>
<form method="post" action="/consent" class="actions">
<input type="hidden" name="csrf" value="tok">
<input type="hidden" name="r" value="rid123">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
</form>"#;

    #[test]
    fn forms_give_their_action_and_hidden_fields() {
        let login = Form::parse(LOGIN.as_bytes(), "/login").unwrap();
        assert_eq!(login.field("csrf"), Some("Ab-_c&d"));
        assert_eq!(login.field("r"), Some("rid123"));
        assert_eq!(login.field("email"), Some(""));
        assert_eq!(login.field("missing"), None);
        assert!(!login.has_button("decision", "allow"));

        // The switcher's form comes first but posts elsewhere.
        assert!(Form::parse(LOGIN.as_bytes(), "/login/email").is_none());
        let consent = Form::parse(CONSENT.as_bytes(), "/consent").unwrap();
        // A GET form to the same action is not the one.
        assert!(Form::parse(CONSENT.as_bytes(), "/elsewhere").is_none());
        assert_eq!(consent.field("csrf"), Some("tok"));
        assert!(consent.has_button("decision", "allow"));
        assert!(consent.has_button("decision", "deny"));

        assert!(Form::parse(b"<p>no form</p>", "/x").is_none());
        assert!(Form::parse(b"<form method=\"post\" action=\"/x\">unclosed", "/x").is_none());
        let twice = r#"<form method="post" action="/x"><input name="r" value="1"><input name="r" value="2"></form>"#;
        assert_eq!(
            Form::parse(twice.as_bytes(), "/x").unwrap().field("r"),
            None
        );
    }

    #[test]
    fn attributes_need_a_space_before_and_known_entities() {
        assert_eq!(
            attr(r#"<input data-name="x" name="y">"#, "name").as_deref(),
            Some("y")
        );
        assert_eq!(
            attr(r#"<input value="&#x27;&#39;&lt;&quot;">"#, "value").as_deref(),
            Some("''<\"")
        );
        assert_eq!(attr(r#"<input value="&nbsp;">"#, "value"), None);
        assert_eq!(attr(r#"<input name="x">"#, "value"), None);
    }

    #[test]
    fn redirects_resolve_to_pages_or_the_callback() {
        let s = setup();
        match resolve(&s, "/login?r=abc").unwrap() {
            Target::Here(e) => assert_eq!(e.path, "/login?r=abc"),
            other => panic!("{other:?}"),
        }
        match resolve(&s, "http://127.0.0.1:8080/consent?r=abc").unwrap() {
            Target::Here(e) => assert_eq!(e.path, "/consent?r=abc"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            resolve(&s, "http://127.0.0.1:19998/callback?code=x&state=y").unwrap(),
            Target::Callback("code=x&state=y".into())
        );
        assert_eq!(
            resolve(&s, "http://127.0.0.1:19998/callbackx?code=x"),
            Err("redirect_offsite")
        );
        assert_eq!(
            resolve(&s, "http://127.0.0.1:8081/login"),
            Err("redirect_offsite")
        );
        assert_eq!(resolve(&s, "//evil.example/login"), Err("redirect_offsite"));
    }

    #[test]
    fn query_values_are_form_decoded() {
        let q = "code=a%2Bb&state=s&iss=http%3A%2F%2F127.0.0.1%3A8080&x=1+2";
        assert_eq!(query_value(q, "code").as_deref(), Some("a+b"));
        assert_eq!(
            query_value(q, "iss").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(query_value(q, "x").as_deref(), Some("1 2"));
        assert_eq!(query_value(q, "missing"), None);
        assert_eq!(query_values("a=1&a=2", "a").count(), 2);
        assert_eq!(form_decode("%zz"), None);
    }

    #[test]
    fn the_jar_keeps_replaces_and_deletes_cookies() {
        let mut jar = CookieJar::default();
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "authgate_session=one; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200",
            ),
        );
        jar.store(&headers, "/authorize").unwrap();
        assert_eq!(
            jar.header("/login").as_deref(),
            Some("authgate_session=one")
        );

        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("authgate_session=two; Path=/; HttpOnly"),
        );
        // Never stored over plain http: Secure, or a __Host-/__Secure- name.
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("other=x; Path=/; Secure"),
        );
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("__Host-s=y; Path=/"),
        );
        // Default path: the request's directory.
        headers.append(header::SET_COOKIE, HeaderValue::from_static("scoped=z"));
        jar.store(&headers, "/admin/login").unwrap();
        assert_eq!(
            jar.header("/consent").as_deref(),
            Some("authgate_session=two")
        );
        assert_eq!(
            jar.header("/admin/x").as_deref(),
            Some("scoped=z; authgate_session=two")
        );
        assert_eq!(
            jar.header("/administrator").as_deref(),
            Some("authgate_session=two")
        );

        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("authgate_session=; Path=/; Max-Age=0"),
        );
        jar.store(&headers, "/logout").unwrap();
        assert_eq!(jar.header("/login"), None);

        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("novalue"));
        assert_eq!(jar.store(&headers, "/"), Err("set_cookie_malformed"));
    }

    #[test]
    fn upstream_redirects_stay_on_the_upstream_or_leave_it() {
        let up = UpstreamSetup {
            issuer: Endpoint::parse("http://127.0.0.1:9100").unwrap(),
            issuer_url: "http://127.0.0.1:9100".into(),
            connection: "up".into(),
        };
        let at = |l: &str| {
            upstream_location(&up, l)
                .unwrap()
                .map(|e| e.path.to_string())
        };
        assert_eq!(at("/interaction/abc").as_deref(), Some("/interaction/abc"));
        assert_eq!(
            at("http://127.0.0.1:9100/auth/abc").as_deref(),
            Some("/auth/abc")
        );
        // Back to authgate (another port), or anywhere else: it leaves.
        assert_eq!(
            at("http://127.0.0.1:8080/federation/up/callback?code=x"),
            None
        );
        assert_eq!(at("http://127.0.0.1:91000/x"), None);
        assert_eq!(at("//evil.example/x"), None);
    }

    #[test]
    fn koa_deletes_a_cookie_with_an_expiry_at_the_epoch() {
        let mut jar = CookieJar::default();
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "_interaction=abc; path=/interaction/abc; samesite=lax; httponly",
            ),
        );
        jar.store(&headers, "/auth").unwrap();
        assert_eq!(
            jar.header("/interaction/abc").as_deref(),
            Some("_interaction=abc")
        );
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "_interaction=; path=/interaction/abc; expires=Thu, 01 Jan 1970 00:00:00 GMT; samesite=lax; httponly",
            ),
        );
        jar.store(&headers, "/interaction/abc").unwrap();
        assert_eq!(jar.header("/interaction/abc"), None);
    }

    #[test]
    fn jwt_claims_are_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"idp":"up","n":1}"#);
        let jwt = format!("e30.{payload}.sig");
        assert_eq!(jwt_claim(&jwt, "idp").as_deref(), Some("up"));
        assert_eq!(jwt_claim(&jwt, "n"), None);
        assert_eq!(jwt_claim("nodots", "idp"), None);
    }

    #[test]
    fn status_labels_name_the_step() {
        assert_eq!(
            Step::SignIn.status_label(StatusCode::FORBIDDEN),
            "sign_in_status_403"
        );
        assert_eq!(
            Step::Token.status_label(StatusCode::BAD_REQUEST),
            "token_status_400"
        );
        assert_eq!(
            Step::Authorize.status_label(StatusCode::OK),
            "authorize_status_2xx"
        );
        assert_eq!(
            Step::ConsentPage.status_label(StatusCode::SERVICE_UNAVAILABLE),
            "consent_page_status_5xx"
        );
    }

    #[test]
    fn pkce_challenge_is_base64url_sha256() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let flow = AuthCode::new(Arc::new(setup()), [7; 32], 3);
        let a = flow.random(b"x");
        assert_eq!(a.len(), 43);
        assert_ne!(a, flow.random(b"y"));
    }
}
