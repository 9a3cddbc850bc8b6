//! How the dashboard writes values: times, durations, path segments.

/// UTC date and time for tables.
pub fn when(t: Option<i64>) -> String {
    crate::format::time(t)
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Seconds as a short duration ("15 min", "14 days").
pub fn duration(secs: i64) -> String {
    match secs {
        s if s % 86400 == 0 && s >= 86400 => {
            format!("{} day{}", s / 86400, if s == 86400 { "" } else { "s" })
        }
        s if s % 3600 == 0 && s >= 3600 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
