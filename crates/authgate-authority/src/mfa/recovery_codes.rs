//! Recovery codes: when the second factor (authenticator app or passkey)
//! is lost, one of ten codes stands in for it, once, and only while the
//! person has one (`policy::Factors::take_recovery_codes`). Each is 16 characters of Crockford base32
//! (80 random bits, shown as `xxxx-xxxx-xxxx-xxxx`), so a fast hash is
//! right at rest (as for every other high-entropy secret here,
//! `authgate_core::secret::hash`); they are shown once, when made, and
//! making new ones replaces all the old.

use super::{MfaError, check_throttle, event, failed, succeeded};
use crate::Authority;
use crate::net::AddressKey;
use authgate_core::secret;
use serde_json::json;

/// How many codes a person gets.
pub const COUNT: usize = 10;
/// Characters per code (5 bits each).
const CHARS: usize = 16;
/// Crockford's base32: no I, L, O or U, so a code read aloud or typed
/// from paper is hard to get wrong.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The hash a code is stored as.
fn hash(normalized: &str) -> String {
    secret::hash(&format!("recovery-code:{normalized}"))
}

/// A code as typed: case, spaces and dashes do not matter, and the letters
/// Crockford maps (I and L to 1, O to 0) are read as their digits.
fn normalize(code: &str) -> Option<String> {
    let mut out = String::with_capacity(CHARS);
    for c in code.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CHARS).then_some(out)
}

/// A code for showing: four groups of four.
fn display(normalized: &str) -> String {
    normalized
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

fn generate_one(auth: &Authority) -> Result<String, MfaError> {
    let mut bytes = [0u8; CHARS];
    auth.rng.fill(&mut bytes)?;
    // 256 is a multiple of 32: the low five bits are uniform.
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect())
}

/// Makes the person's new codes, replacing all the old ones; the codes are
/// returned to be shown once. Audited `recovery_codes.generated`.
pub async fn regenerate(auth: &Authority, user_id: &str) -> Result<Vec<String>, MfaError> {
    let codes = (0..COUNT)
        .map(|_| generate_one(auth))
        .collect::<Result<Vec<_>, _>>()?;
    let hashes: Vec<String> = codes.iter().map(|c| hash(c)).collect();
    auth.store
        .replace_recovery_codes(user_id, &hashes, auth.clock.now())
        .await?;
    event(
        auth,
        "recovery_codes.generated",
        user_id,
        "ok",
        json!({"count": COUNT}),
    );
    Ok(codes.iter().map(|c| display(c)).collect())
}

/// How many unused codes the person has.
pub async fn remaining(auth: &Authority, user_id: &str) -> Result<u64, MfaError> {
    Ok(auth.store.count_recovery_codes(user_id).await?)
}

/// Spends one of the person's codes. Audited `recovery_code.used` (with
/// how many are left). A person with no second factor left spends none
/// ([`MfaError::NotEnrolled`]): their old codes stand in for nothing.
pub async fn use_code(
    auth: &Authority,
    user_id: &str,
    code: &str,
    address: AddressKey,
) -> Result<(), MfaError> {
    check_throttle(auth, user_id, address)?;
    if !super::policy::factors(auth, user_id)
        .await?
        .take_recovery_codes()
    {
        return Err(MfaError::NotEnrolled);
    }
    let spent = match normalize(code) {
        Some(c) => {
            auth.store
                .use_recovery_code(user_id, &hash(&c), auth.clock.now())
                .await?
        }
        None => false,
    };
    if !spent {
        failed(
            auth,
            user_id,
            address,
            "recovery_code",
            "wrong or used code",
        );
        return Err(MfaError::WrongCode);
    }
    succeeded(auth, user_id, address);
    let left = auth.store.count_recovery_codes(user_id).await?;
    event(
        auth,
        "recovery_code.used",
        user_id,
        "ok",
        json!({"remaining": left}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_normalized() {
        let c = "0123456789abcdef";
        assert_eq!(normalize(c).as_deref(), Some(c));
        assert_eq!(normalize("0123-4567-89AB-CDEF").as_deref(), Some(c));
        assert_eq!(normalize(" 0123 4567 89ab cdef ").as_deref(), Some(c));
        // Crockford's look-alikes.
        assert_eq!(
            normalize("O123-4567-89ab-cdef").as_deref(),
            normalize("0123-4567-89ab-cdef").as_deref()
        );
        assert_eq!(normalize("i111111111111111"), normalize("1111111111111111"));
        assert_eq!(normalize("0123-4567-89ab-cde"), None, "too short");
        assert_eq!(normalize("0123-4567-89ab-cdefg"), None, "too long");
        assert_eq!(
            normalize("0123-4567-89ab-cdeu"),
            None,
            "u is not base32 here"
        );
        assert_eq!(normalize("0123-4567-89ab-cdé1"), None);
    }

    #[test]
    fn codes_show_in_groups_and_hash_per_code() {
        assert_eq!(display("0123456789abcdef"), "0123-4567-89ab-cdef");
        assert_ne!(hash("0123456789abcdef"), hash("0123456789abcdeg"));
        assert_eq!(hash("0123456789abcdef").len(), 64);
    }
}
