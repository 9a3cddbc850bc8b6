//! Server-rendered pages (sign-in, consent, connected apps, errors): no
//! JavaScript, no external assets, strict security headers.

pub mod assets;
pub mod i18n;
pub mod language;
pub mod page;
pub mod qr;
pub mod session;
pub mod sign_in;
pub mod signed_in_through;
