//! Graph timestamp parsing, without allocation.
//!
//! arrow-json fails a whole batch on Graph's `0001-01-01` placeholder and on the
//! documentation's hyphenated times, so timestamps are parsed here, one record
//! at a time, into UTC microseconds.

/// The outcome of parsing one timestamp property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// Microseconds since the Unix epoch, UTC.
    Value(i64),
    /// A value that had to be repaired to be read (hyphenated time,
    /// missing zone, PowerShell `/Date(ms)/`).
    Repaired(i64),
    /// `""` or Graph's unset value `0001-01-01T00:00:00Z`: stored as NULL.
    Unset,
}

/// Why a timestamp could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// Parses an ISO 8601 date-time as Graph and PowerShell write them.
///
/// Accepts `YYYY-MM-DDTHH:MM:SS[.f{0,9}](Z|±hh:mm|±hhmm|±hh)` (also with a space
/// for `T`, lowercase `t`/`z`); repairs `HH-MM-SS` times (Graph's documentation
/// example), a missing zone (read as UTC) and `/Date(ms)/`. Fractions beyond
/// microseconds are truncated.
pub fn parse(text: &str) -> Result<Parsed, Invalid> {
    let b = text.trim().as_bytes();
    if b.is_empty() {
        return Ok(Parsed::Unset);
    }
    if b[0] == b'/' || b[0] == b'\\' {
        return parse_ms_date(b).and_then(in_range).map(Parsed::Repaired);
    }
    let mut repaired = false;
    // Date: YYYY-MM-DD
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(Invalid);
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(Invalid);
    }
    let mut i = 10;
    let (mut hour, mut minute, mut second) = (0u32, 0u32, 0u32);
    let mut micros: i64 = 0;
    let mut has_time = false;
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        i += 1;
        if b.len() < i + 8 {
            return Err(Invalid);
        }
        let sep1 = b[i + 2];
        let sep2 = b[i + 5];
        match (sep1, sep2) {
            (b':', b':') => {}
            (b'-', b'-') => repaired = true,
            _ => return Err(Invalid),
        }
        hour = digits(&b[i..i + 2])?;
        minute = digits(&b[i + 3..i + 5])?;
        second = digits(&b[i + 6..i + 8])?;
        if hour > 23 || minute > 59 || second > 59 {
            return Err(Invalid);
        }
        i += 8;
        has_time = true;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let start = i;
            let mut scale = 100_000i64;
            while i < b.len() && b[i].is_ascii_digit() {
                if scale > 0 {
                    micros += (b[i] - b'0') as i64 * scale;
                    scale /= 10;
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return Err(Invalid);
            }
        }
    }
    // Zone.
    let offset_seconds: i64 = if i == b.len() {
        // No zone at all: Graph never writes this, PowerShell's local
        // DateTime can. Read as UTC and count as repaired.
        repaired = true;
        0
    } else if (b[i] == b'Z' || b[i] == b'z') && i + 1 == b.len() {
        0
    } else if (b[i] == b'+' || b[i] == b'-') && has_time {
        let sign = if b[i] == b'-' { -1 } else { 1 };
        let z = &b[i + 1..];
        let (h, m) = match z.len() {
            2 => (digits(z)?, 0),
            4 => (digits(&z[0..2])?, digits(&z[2..4])?),
            5 if z[2] == b':' => (digits(&z[0..2])?, digits(&z[3..5])?),
            _ => return Err(Invalid),
        };
        if h > 23 || m > 59 {
            return Err(Invalid);
        }
        sign * (h as i64 * 3600 + m as i64 * 60)
    } else {
        return Err(Invalid);
    };
    if year == 1 && month == 1 && day == 1 && hour == 0 && minute == 0 && second == 0 && micros == 0
    {
        return Ok(Parsed::Unset);
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset_seconds;
    let value = in_range(secs * 1_000_000 + micros)?;
    Ok(if repaired {
        Parsed::Repaired(value)
    } else {
        Parsed::Value(value)
    })
}

/// `/Date(1624104063450)/` or `/Date(1624104063450+0200)/` (Windows
/// PowerShell's `ConvertTo-Json`); the offset is informational, ms are UTC.
fn parse_ms_date(b: &[u8]) -> Result<i64, Invalid> {
    let s = std::str::from_utf8(b).map_err(|_| Invalid)?;
    let s = s.trim_start_matches('\\').trim_end_matches('\\');
    let inner = s
        .strip_prefix("/Date(")
        .and_then(|r| r.strip_suffix(")/").or_else(|| r.strip_suffix(")\\/")))
        .ok_or(Invalid)?;
    let end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i)
        .unwrap_or(inner.len());
    let ms: i64 = inner[..end].parse().map_err(|_| Invalid)?;
    ms.checked_mul(1000).ok_or(Invalid)
}

/// 0001-01-01T00:00:00Z, in microseconds.
const MIN_MICROS: i64 = -62_135_596_800_000_000;
/// 9999-12-31T23:59:59.999999Z, in microseconds.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// Years 1 to 9999 only: what Graph can write, and what every reader and
/// formatter downstream (Arrow, chrono, pandas) can show.
fn in_range(micros: i64) -> Result<i64, Invalid> {
    if (MIN_MICROS..=MAX_MICROS).contains(&micros) {
        Ok(micros)
    } else {
        Err(Invalid)
    }
}

fn digits(b: &[u8]) -> Result<u32, Invalid> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(Invalid);
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Ok(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn graph_forms() {
        assert_eq!(
            parse("2021-04-12T20:38:53.5926766Z"),
            Ok(Parsed::Value(micros("2021-04-12T20:38:53.592676Z")))
        );
        assert_eq!(
            parse("2026-11-27T10:00:00+02:00"),
            Ok(Parsed::Value(micros("2026-11-27T08:00:00Z")))
        );
        assert_eq!(
            parse("2026-11-27T10:00:00.123456789-05:30"),
            Ok(Parsed::Value(micros("2026-11-27T15:30:00.123456Z")))
        );
        assert_eq!(parse("1970-01-01T00:00:00Z"), Ok(Parsed::Value(0)));
        assert_eq!(parse("1969-12-31T23:59:59.5Z"), Ok(Parsed::Value(-500_000)));
    }

    #[test]
    fn repairs_and_unset() {
        assert_eq!(
            parse("2021-06-19T12-01-03.45Z"),
            Ok(Parsed::Repaired(micros("2021-06-19T12:01:03.45Z")))
        );
        assert_eq!(parse("0001-01-01T00:00:00Z"), Ok(Parsed::Unset));
        assert_eq!(
            parse("0001-01-01T00:00:00.0000000+00:00"),
            Ok(Parsed::Unset)
        );
        assert_eq!(parse(""), Ok(Parsed::Unset));
        assert_eq!(
            parse("/Date(1624104063450)/"),
            Ok(Parsed::Repaired(1_624_104_063_450_000))
        );
        assert_eq!(
            parse("2021-06-19T12:01:03"),
            Ok(Parsed::Repaired(micros("2021-06-19T12:01:03Z")))
        );
    }

    #[test]
    fn invalid() {
        for s in [
            "not-a-date",
            "2026-02-30T10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T10:00:00.Z",
            "2026-01-01T10:00:00.1234567890Z",
            "2026-01-01T10:00:00Zjunk",
            "2026-01-01T10:00Z",
            "2026-01-01T10:00:00+25:00",
            "/Date(abc)/",
            "2026-1-01T10:00:00Z",
        ] {
            assert_eq!(parse(s), Err(Invalid), "{s}");
        }
    }

    #[test]
    fn agrees_with_chrono_on_leap_days() {
        assert_eq!(
            parse("2024-02-29T00:00:00Z"),
            Ok(Parsed::Value(micros("2024-02-29T00:00:00Z")))
        );
        assert_eq!(parse("2023-02-29T00:00:00Z"), Err(Invalid));
        assert_eq!(
            parse("2000-02-29T23:59:59.999999Z"),
            Ok(Parsed::Value(micros("2000-02-29T23:59:59.999999Z")))
        );
    }
}
