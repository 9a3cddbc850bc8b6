//! The mails authgate sends, composed in the person's language (the
//! request's, through the page catalog) as plain text and HTML, and put in
//! the outbox (`authgate_authority::mail`); the outbox worker sends them.
//!
//! Every text goes through `msg(...)` so the French catalog covers it.
//! Self sign-up sends [`Mail::EmailVerification`] (or, for an address
//! that has an account, [`Mail::AccountExists`]); invitations send
//! [`Mail::Invitation`].

use crate::pages::i18n::{self, Locale, msg};
use crate::state::AppState;
use askama::Template;
use authgate_authority::mail::MailContent;
use authgate_authority::setup_links::{self, Purpose};
use authgate_core::model::User;
use authgate_store::StoreError;

/// How long a password reset link mailed to a person works.
pub const RESET_LINK_TTL: i64 = 30 * 60;
/// How long an email verification link works.
pub const VERIFY_LINK_TTL: i64 = 24 * 3600;
/// How long an invitation link works.
pub const INVITATION_LINK_TTL: i64 = 7 * 24 * 3600;

/// What to tell the person.
pub enum Mail<'a> {
    PasswordReset {
        url: &'a str,
    },
    EmailVerification {
        url: &'a str,
    },
    /// Someone tried to sign up with an address that has an account.
    AccountExists,
    Invitation {
        url: &'a str,
    },
    PasswordChanged,
    PasskeyAdded {
        name: &'a str,
    },
    NewClient {
        client: &'a str,
        server: &'a str,
    },
}

impl Mail<'_> {
    /// The outbox kind (logs, audit).
    pub fn kind(&self) -> &'static str {
        match self {
            Mail::PasswordReset { .. } => "password_reset",
            Mail::EmailVerification { .. } => "email_verification",
            Mail::AccountExists => "notice.account_exists",
            Mail::Invitation { .. } => "invitation",
            Mail::PasswordChanged => "notice.password_changed",
            Mail::PasskeyAdded { .. } => "notice.passkey_added",
            Mail::NewClient { .. } => "notice.new_client",
        }
    }
}

/// One mail's words, for both templates.
struct Body {
    lang: &'static str,
    subject: String,
    greeting: String,
    paragraphs: Vec<String>,
    action: Option<Action>,
    footer: String,
}

/// The mail's button: its label and its link.
struct Action {
    label: String,
    url: String,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextMail<'a> {
    m: &'a Body,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlMail<'a> {
    m: &'a Body,
}

fn body(state: &AppState, locale: Locale, user: &User, mail: &Mail<'_>) -> Body {
    let instance = state.settings.raw.instance_name.as_str();
    let t = |s: &str, args: &[(&str, &str)]| i18n::translate_with(locale, s, args);
    let email = user.email.as_str();
    let account = format!("{}/account", state.settings.issuer);
    let (subject, paragraphs, action) = match mail {
        Mail::PasswordReset { url } => (
            t(
                msg("Reset your password on {instance}"),
                &[("instance", instance)],
            ),
            vec![
                t(
                    msg(
                        "Someone asked to reset the password of your account {email} on {instance}.",
                    ),
                    &[("email", email), ("instance", instance)],
                ),
                t(
                    msg(
                        "The link below works once, for 30 minutes. If you did not ask, ignore this mail: your password stays as it is.",
                    ),
                    &[],
                ),
            ],
            Some(Action {
                label: t(msg("Choose a new password"), &[]),
                url: (*url).to_owned(),
            }),
        ),
        Mail::EmailVerification { url } => (
            t(
                msg("Confirm your email address for {instance}"),
                &[("instance", instance)],
            ),
            vec![
                t(
                    msg("Confirm that {email} is your address on {instance}."),
                    &[("email", email), ("instance", instance)],
                ),
                t(
                    msg(
                        "The link below works once, for 24 hours. If you did not ask, ignore this mail.",
                    ),
                    &[],
                ),
            ],
            Some(Action {
                label: t(msg("Confirm my email address"), &[]),
                url: (*url).to_owned(),
            }),
        ),
        Mail::AccountExists => (
            t(
                msg("You already have an account on {instance}"),
                &[("instance", instance)],
            ),
            vec![
                t(
                    msg(
                        "Someone tried to create an account on {instance} with your address {email}, which already has one. No new account was made.",
                    ),
                    &[("email", email), ("instance", instance)],
                ),
                t(
                    msg(
                        "If it was you, sign in instead; if you forgot your password, choose “Forgot your password?” on the sign-in page. If it was not you, ignore this mail.",
                    ),
                    &[],
                ),
            ],
            Some(Action {
                label: t(msg("Forgot your password?"), &[]),
                url: format!("{}/password/forgot", state.settings.issuer),
            }),
        ),
        Mail::Invitation { url } => (
            t(
                msg("You are invited to {instance}"),
                &[("instance", instance)],
            ),
            vec![
                t(
                    msg(
                        "An administrator of {instance} invited you to sign in to it as {email}. Choose your password to accept.",
                    ),
                    &[("email", email), ("instance", instance)],
                ),
                t(
                    msg(
                        "The link below works once, for 7 days. If you did not expect it, ignore this mail.",
                    ),
                    &[],
                ),
            ],
            Some(Action {
                label: t(msg("Accept the invitation"), &[]),
                url: (*url).to_owned(),
            }),
        ),
        Mail::PasswordChanged => (
            t(
                msg("Your password on {instance} was changed"),
                &[("instance", instance)],
            ),
            vec![
                t(
                    msg(
                        "The password of your account {email} was changed. Every session was ended and every app must be allowed again.",
                    ),
                    &[("email", email)],
                ),
                t(
                    msg(
                        "If it was not you, reset your password now and tell an administrator of this server.",
                    ),
                    &[],
                ),
            ],
            None,
        ),
        Mail::PasskeyAdded { name } => (
            t(
                msg("A passkey was added to your account on {instance}"),
                &[("instance", instance)],
            ),
            vec![
                t(
                    msg("A passkey named “{name}” was added to your account {email}."),
                    &[("name", name), ("email", email)],
                ),
                t(
                    msg(
                        "If it was not you, remove it on your account page and reset your password.",
                    ),
                    &[],
                ),
            ],
            Some(Action {
                label: t(msg("Open your account"), &[]),
                url: format!("{account}/passkeys"),
            }),
        ),
        Mail::NewClient { client, server } => (
            t(
                msg("{client} can now use your account on {instance}"),
                &[("client", client), ("instance", instance)],
            ),
            vec![
                t(
                    msg("You allowed {client} to use {server} with your account {email}."),
                    &[("client", client), ("server", server), ("email", email)],
                ),
                t(
                    msg(
                        "If it was not you, revoke its access on your account page and reset your password.",
                    ),
                    &[],
                ),
            ],
            Some(Action {
                label: t(msg("Open your account"), &[]),
                url: account,
            }),
        ),
    };
    let name = trusted_name(user).unwrap_or(email);
    Body {
        lang: locale.tag(),
        subject,
        greeting: t(msg("Hello {name},"), &[("name", name)]),
        paragraphs,
        action,
        footer: t(
            msg("This mail was sent by {instance} to {email}."),
            &[("instance", instance), ("email", email)],
        ),
    }
}

/// The name a mail may address the person by. A name typed on the
/// sign-up form of an unverified account came from whoever typed the
/// address, maybe not its owner: it is left out, so sign-up cannot put
/// someone's words ("your account is locked, call …") into our mail to
/// any address.
fn trusted_name(user: &User) -> Option<&str> {
    if authgate_authority::signup::needs_verification(user) {
        None
    } else {
        user.name.as_deref()
    }
}

/// The mail, composed in `locale`.
pub fn compose(
    state: &AppState,
    locale: Locale,
    user: &User,
    mail: &Mail<'_>,
) -> Result<MailContent, askama::Error> {
    let b = body(state, locale, user, mail);
    Ok(MailContent {
        to: user.email.clone(),
        to_name: trusted_name(user).map(str::to_owned),
        text: TextMail { m: &b }.render()?,
        html: HtmlMail { m: &b }.render()?,
        subject: b.subject,
    })
}

/// Whether mail can be sent (`[smtp]` is configured).
pub fn enabled(state: &AppState) -> bool {
    state.settings.smtp.is_some()
}

/// Composes and queues `mail` for `user`. Without `[smtp]` nothing is
/// queued (it would never leave): logged, and `Ok(false)`.
pub async fn send(
    state: &AppState,
    locale: Locale,
    user: &User,
    mail: Mail<'_>,
) -> Result<bool, StoreError> {
    if !enabled(state) {
        tracing::info!(kind = mail.kind(), "no [smtp] configured: mail not sent");
        return Ok(false);
    }
    let content =
        compose(state, locale, user, &mail).map_err(|e| StoreError::Backend(e.to_string()))?;
    authgate_authority::mail::enqueue(state, mail.kind(), &content).await?;
    Ok(true)
}

/// A notice: failures are logged, never a reason to fail the request
/// that caused it.
pub async fn notify(state: &AppState, locale: Locale, user: &User, mail: Mail<'_>) {
    let kind = mail.kind();
    if let Err(e) = send(state, locale, user, mail).await {
        tracing::error!(error = %e, kind, "could not queue a notice");
    }
}

/// The request's language (pages resolve it the same way).
pub fn request_locale() -> Locale {
    i18n::current_hints().resolve(None)
}

/// A fresh single-use verification link for `user`'s current address.
pub async fn verification_link(state: &AppState, user: &User) -> Result<String, StoreError> {
    Ok(setup_links::create_email_link(
        state,
        Purpose::EmailVerification,
        &user.id,
        &user.email,
        VERIFY_LINK_TTL,
    )
    .await?
    .url)
}

/// Mails `user` a verification link; `Ok(false)` without `[smtp]`.
pub async fn send_verification(
    state: &AppState,
    locale: Locale,
    user: &User,
) -> Result<bool, StoreError> {
    if !enabled(state) {
        return Ok(false);
    }
    let url = verification_link(state, user).await?;
    send(state, locale, user, Mail::EmailVerification { url: &url }).await
}

/// What an operator asked for a person's address (CLI, admin API): marked
/// verified, or a verification link mailed. The one place both go through.
pub async fn operator_verify_email(
    state: &AppState,
    actor: &authgate_authority::manage::Actor,
    id: &str,
    input: authgate_authority::manage::VerifyEmailInput,
) -> authgate_authority::manage::AdminResult<authgate_authority::manage::types::UserView> {
    use authgate_authority::manage::{self, AdminError};
    if !input.send {
        let u = manage::mark_email_verified(state, actor, id).await?;
        return Ok(manage::types::UserView::from(&u));
    }
    if !enabled(state) {
        return Err(AdminError::invalid(
            "send",
            "a verification link goes by mail: configure [smtp] first, or mark the address verified",
        ));
    }
    let u = manage::get_user(state, id).await?;
    send_verification(state, request_locale(), &u).await?;
    manage::record_verification_sent(state, actor, &u);
    Ok(manage::types::UserView::from(&u))
}

/// Invites a person (`manage::invite_user`) and mails them the link. The
/// link goes only by mail, so without `[smtp]` nothing is created.
pub async fn invite(
    state: &AppState,
    actor: &authgate_authority::manage::Actor,
    input: authgate_authority::manage::types::InvitationInput,
) -> authgate_authority::manage::AdminResult<authgate_authority::manage::types::InvitationSent> {
    use authgate_authority::manage::AdminError;
    if !enabled(state) {
        return Err(AdminError::invalid(
            "email",
            "invitations go by mail: configure [smtp] first (or add the person with a password link)",
        ));
    }
    let (user, link) = authgate_authority::manage::invite_user(state, actor, input).await?;
    send(
        state,
        request_locale(),
        &user,
        Mail::Invitation { url: &link.url },
    )
    .await?;
    Ok(authgate_authority::manage::types::InvitationSent {
        user: authgate_authority::manage::types::UserView::from(&user),
        expires_at: link.expires_at,
    })
}
