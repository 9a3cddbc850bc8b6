//! How times are written for people, the same in the CLI's tables, the
//! dashboard and the account page.

/// UTC date and time to the minute ("2025-11-28 14:05"), "-" for none.
pub fn time(t: Option<i64>) -> String {
    match t {
        None => "-".into(),
        Some(t) => {
            // UTC, without pulling a date crate: days since epoch to y-m-d.
            let days = t.div_euclid(86400);
            let secs = t.rem_euclid(86400);
            let (y, m, d) = civil_from_days(days);
            format!(
                "{y:04}-{m:02}-{d:02} {:02}:{:02}",
                secs / 3600,
                (secs % 3600) / 60
            )
        }
    }
}

/// The start (00:00 UTC) of a date written `YYYY-MM-DD`, as a form's
/// date field sends it; `None` when it is not such a date.
pub fn date_start(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = days_from_civil(y, m, d)?;
    // Reject 2025-02-30 and the like: the date must come back unchanged.
    (civil_from_days(days) == (y, m, d)).then_some(days * 86400)
}

/// Howard Hinnant's civil-to-days algorithm; `None` outside months 1-12
/// and days 1-31.
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_fields() {
        use super::date_start;
        assert_eq!(date_start("1970-01-01"), Some(0));
        assert_eq!(date_start("2025-11-28"), Some(1_764_288_000));
        assert_eq!(date_start("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2025-02-30",
            "2025-13-01",
            "2025-1-01",
            "x",
            "",
            "2025-11-28T00",
        ] {
            assert_eq!(date_start(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(super::time(Some(0)), "1970-01-01 00:00");
        assert_eq!(super::time(Some(1_764_288_000)), "2025-11-28 00:00");
    }
}
