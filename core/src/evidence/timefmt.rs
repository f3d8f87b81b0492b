//! Dates for people: UTC milliseconds and a local offset to `2025-03-01 08:15:02 +01:00`.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's method).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
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

fn parts(ms: i64) -> (i64, u32, u32, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2025-03-01T07:15:02Z`.
pub(crate) fn utc(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = parts(ms);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `2025-03-01 08:15:02 +01:00` (local time at the given offset).
pub(crate) fn local(ms: i64, offset_minutes: i32) -> String {
    let (y, m, d, hh, mm, ss) = parts(ms + i64::from(offset_minutes) * 60_000);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} {sign}{:02}:{:02}",
        off / 60,
        off % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_709_277_302_000), "2024-03-01T07:15:02Z");
        assert_eq!(local(1_709_277_302_000, 60), "2024-03-01 08:15:02 +01:00");
        assert_eq!(local(1_709_277_302_000, -330), "2024-03-01 01:45:02 -05:30");
    }
}
