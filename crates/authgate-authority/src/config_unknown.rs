//! Keys nobody reads: an unknown key in the configuration file is an error
//! naming the key, the file and the line, with the nearest known key; an
//! `AUTHGATE_*` environment variable that sets nothing is a warning naming
//! the nearest key (other tools share the prefix, so it cannot be refused).

use crate::config_error::ConfigError;
use crate::config_keys;
use std::path::Path;

/// `AUTHGATE_*` variables read by something other than the configuration
/// (the CLI, logging, tests and benchmarks).
const OTHER_ENV: &[&str] = &[
    "CONFIG",
    "LOG",
    "SERVER",
    "ADMIN_CLIENT_ID",
    "ADMIN_CLIENT_SECRET",
    "BIN",
    "BUILT",
];

/// The error for `path` (figment's path: table keys and array indexes,
/// ending with the unknown key), found in `file` when it came from one.
/// `expected` is serde's list of the struct's fields, used where the
/// key table has no rows (inside `[[resources]]` and `[[clients]]`).
pub fn unknown_key(path: &[String], expected: &[&str], file: Option<&Path>) -> ConfigError {
    let Some((name, parents)) = path.split_last() else {
        return ConfigError::new("config", "unknown key");
    };
    let table = parents.join(".");
    let documented: Vec<&str> = config_keys::keys_in(&table).collect();
    let candidates = if documented.is_empty() {
        expected.to_vec()
    } else {
        documented
    };
    let mut reason = String::from("unknown key");
    if let Some(f) = file {
        reason.push_str(&format!(" in {}", f.display()));
        if let Some(line) = std::fs::read_to_string(f)
            .ok()
            .and_then(|text| key_line(&text, path))
        {
            reason.push_str(&format!(" line {line}"));
        }
    }
    match config_keys::nearest(name, candidates) {
        Some(k) => reason.push_str(&format!("; did you mean `{k}`?")),
        None => reason.push_str(" (every key is listed in the README's Configuration table)"),
    }
    ConfigError::new(display_path(path), reason)
}

/// `resources.0.idd` as people write it: `resources[0].idd`.
fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for p in path {
        if p.parse::<usize>().is_ok() {
            out.push_str(&format!("[{p}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(p);
        }
    }
    out
}

/// The 1-based line where the key at `path` is written in `text`.
pub fn key_line(text: &str, path: &[String]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let (last, parents) = path.split_last()?;
    let mut table: &DeTable = doc.get_ref();
    let mut current: Option<&DeValue> = None;
    for p in parents {
        let next = match current {
            None => table.get(p.as_str()),
            Some(DeValue::Array(a)) => a.get(p.parse::<usize>().ok()?),
            Some(_) => None,
        }?;
        current = Some(next.get_ref());
        if let DeValue::Table(t) = next.get_ref() {
            table = t;
            current = None;
        }
    }
    let (k, _) = table.get_key_value(last.as_str())?;
    let offset = k.span().start;
    Some(text.get(..offset)?.matches('\n').count() + 1)
}

/// A warning for each `AUTHGATE_<NAME>` in `vars` that sets no key.
pub fn unknown_env(vars: impl IntoIterator<Item = String>) -> Vec<String> {
    let keys: Vec<&str> = config_keys::env_keys().collect();
    vars.into_iter()
        .filter_map(|var| {
            let name = var.strip_prefix("AUTHGATE_")?.to_ascii_lowercase();
            let upper = name.to_ascii_uppercase();
            if keys.contains(&name.as_str())
                || OTHER_ENV.contains(&upper.as_str())
                || upper.starts_with("TEST_")
            {
                return None;
            }
            let hint = match config_keys::nearest(&name, keys.iter().copied()) {
                Some(k) => format!("; did you mean AUTHGATE_{}?", k.to_ascii_uppercase()),
                None => String::new(),
            };
            Some(format!(
                "environment variable {var} sets no configuration key and is ignored{hint}"
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_the_line_of_a_key() {
        let text = "# c\nlisten = \"x\"\n\nissuers = \"y\"\n[cimd]\nmax_fetch = 1\n\
                    [[resources]]\nid = \"a\"\n[[resources]]\nidd = \"b\"\n";
        assert_eq!(key_line(text, &path(&["issuers"])), Some(4));
        assert_eq!(key_line(text, &path(&["cimd", "max_fetch"])), Some(6));
        assert_eq!(key_line(text, &path(&["resources", "1", "idd"])), Some(10));
        assert_eq!(key_line(text, &path(&["nope"])), None);
    }

    #[test]
    fn unknown_key_names_file_line_and_nearest_key() {
        let dir = std::env::temp_dir().join(format!("authgate-unknown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("authgate.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:1\"\n\nissuers = \"x\"\n").unwrap();
        let e = unknown_key(&path(&["issuers"]), &[], Some(&f));
        let msg = e.to_string();
        assert!(
            msg.contains("issuers") && msg.contains("authgate.toml line 3"),
            "{msg}"
        );
        assert!(msg.contains("did you mean `issuer`?"), "{msg}");
        // Inside [[clients]] the serde field list is the candidates.
        let e = unknown_key(
            &path(&["clients", "0", "client_secrt"]),
            &["client_id", "client_secret"],
            None,
        );
        assert_eq!(e.key, "clients[0].client_secrt");
        assert!(e.reason.contains("`client_secret`"), "{}", e.reason);
        // Nothing close: no guess, and no list of every key either.
        let e = unknown_key(&path(&["qqqqqqqq"]), &[], None);
        assert!(!e.reason.contains("did you mean"), "{}", e.reason);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_env_variables_warn_with_the_nearest_key() {
        let w = unknown_env([
            "AUTHGATE_ISUER".to_string(),
            "AUTHGATE_ISSUER".into(),
            "AUTHGATE_LOG".into(),
            "AUTHGATE_TEST_POSTGRES_URL".into(),
            "PATH".into(),
        ]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("AUTHGATE_ISUER") && w[0].contains("AUTHGATE_ISSUER"),
            "{w:?}"
        );
    }
}
