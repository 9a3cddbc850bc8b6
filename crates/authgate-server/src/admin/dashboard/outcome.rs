//! The one vocabulary the dashboard uses for audit outcomes: every event
//! records its outcome in its own word (`ok`, `success`, `failed`,
//! `denied`…); people read one of three. The mapping lives here and
//! nowhere else: the audit page's filter asks the store for the recorded
//! words of the one chosen.

/// What happened, in the dashboard's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was attempted and went wrong (a check failed, a registration
    /// was invalid, a server error).
    Failure,
    /// authgate said no on purpose (bad password, lockout, consent
    /// denied, a replayed code).
    Refused,
}

/// Each word, and the outcomes events record that it stands for.
const RECORDED: [(Outcome, &[&str]); 3] = [
    (Outcome::Success, &["ok", "success"]),
    (Outcome::Failure, &["failed", "failure", "error"]),
    (Outcome::Refused, &["refused", "denied", "locked"]),
];

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Refused];

    /// The word shown (and used in the filter's query string).
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Refused => "refused",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.word() == word)
    }

    /// The outcome of an event that recorded `recorded`; `None` for a word
    /// no event uses (shown as recorded).
    pub fn of(recorded: &str) -> Option<Self> {
        RECORDED
            .iter()
            .find(|(_, words)| words.contains(&recorded))
            .map(|(o, _)| *o)
    }

    /// The recorded words this outcome stands for.
    pub fn recorded(self) -> Vec<String> {
        RECORDED
            .iter()
            .filter(|(o, _)| *o == self)
            .flat_map(|(_, words)| words.iter().map(|w| (*w).to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_maps_back_to_its_outcome() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.word()), Some(o));
            for w in o.recorded() {
                assert_eq!(Outcome::of(&w), Some(o), "{w}");
            }
        }
        assert_eq!(Outcome::of("ok"), Some(Outcome::Success));
        assert_eq!(Outcome::of("denied"), Some(Outcome::Refused));
        assert_eq!(Outcome::of("failed"), Some(Outcome::Failure));
        assert_eq!(Outcome::of("something new"), None);
        assert_eq!(Outcome::parse("ok"), None, "only the dashboard's words");
    }
}
