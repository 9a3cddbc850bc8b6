//! One module per endpoint.

pub mod account;
pub mod authorize;
pub mod consent;
pub mod discovery;
pub mod email_verify;
pub mod fallback;
pub mod federation;
pub mod health;
pub mod home;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod login_email;
pub mod mfa;
pub mod mfa_account;
pub mod mfa_passkey;
pub mod passkeys;
pub mod password_reset;
pub mod register;
pub mod revoke;
pub mod saml;
pub mod scope_rules;
pub mod signup;
pub mod token;
pub mod userinfo;
