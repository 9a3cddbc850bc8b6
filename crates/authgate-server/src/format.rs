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
    fn dates() {
        assert_eq!(super::time(Some(0)), "1970-01-01 00:00");
        assert_eq!(super::time(Some(1_764_288_000)), "2025-11-28 00:00");
    }
}
