//! Points in time and spans as users type them: `--since`, `--until` and
//! timestamp or duration parameters of named queries.
//!
//! A WHEN is one of:
//! - a date, `2026-11-20` (the start of that day in UTC for a start, the end of
//!   that day for an end);
//! - a timestamp, `2026-11-20T08:00:00Z`, `2026-11-20 08:00:00+01:00`, or
//!   without a zone (read as UTC), seconds optional;
//! - a span back from a reference point, `7d`, `24h`, `1d12h`, `90m`, `2w`,
//!   `30s` (for `--since`, back from the end of the window; anywhere else,
//!   back from the latest timestamp in the data);
//! - `latest` / `earliest`: the latest / earliest timestamp in the data.
//!
//! Nothing here reads the wall clock: the same data and the same arguments
//! always give the same window.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::error::{Error, Result};

/// Microseconds in a second.
pub const SECOND: i64 = 1_000_000;
/// Microseconds in a minute.
pub const MINUTE: i64 = 60 * SECOND;
/// Microseconds in an hour.
pub const HOUR: i64 = 60 * MINUTE;
/// Microseconds in a day.
pub const DAY: i64 = 24 * HOUR;
/// Microseconds in a week.
pub const WEEK: i64 = 7 * DAY;

/// The report window when neither end is given: the last 7 days of the data.
pub const DEFAULT_SPAN: i64 = 7 * DAY;

/// A point in time as typed, before the data it refers to is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An instant, microseconds since the Unix epoch (UTC).
    At(i64),
    /// A calendar day (UTC): its first microsecond for a start, its last for an end.
    Date(NaiveDate),
    /// A span (microseconds) back from a reference point.
    Ago(i64),
    /// The latest timestamp in the data.
    Latest,
    /// The earliest timestamp in the data.
    Earliest,
}

/// Which end of an interval a [`When`] stands for (a date resolves to the
/// start or the end of its day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The start of an interval: a date is its first microsecond.
    Start,
    /// The end of an interval (inclusive): a date is its last microsecond.
    End,
}

/// The earliest and latest timestamps in the data (microseconds, UTC), if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// The earliest timestamp, in microseconds since the Unix epoch (UTC); `None` without any.
    pub earliest: Option<i64>,
    /// The latest timestamp, in microseconds since the Unix epoch (UTC); `None` without any.
    pub latest: Option<i64>,
}

impl When {
    /// Resolves to microseconds since the epoch. `reference` is what a span
    /// counts back from; `bounds` gives `latest` / `earliest`. A data-relative
    /// point on data without timestamps resolves to the Unix epoch.
    pub fn resolve(self, end: End, reference: i64, bounds: Bounds) -> i64 {
        match self {
            When::At(t) => t,
            When::Date(d) => {
                let start = d.and_time(NaiveTime::MIN).and_utc().timestamp_micros();
                match end {
                    End::Start => start,
                    End::End => start + DAY - 1,
                }
            }
            When::Ago(span) => reference.saturating_sub(span),
            When::Latest => bounds.latest.unwrap_or(0),
            When::Earliest => bounds.earliest.unwrap_or(0),
        }
    }
}

impl std::str::FromStr for When {
    type Err = Error;

    fn from_str(s: &str) -> Result<When> {
        parse_when(s)
    }
}

/// Parses a WHEN (see the module documentation).
pub fn parse_when(text: &str) -> Result<When> {
    let t = text.trim();
    let bad = || {
        Error::BadArgument(format!(
            "'{text}' is not a point in time: give a date (2026-11-20), a timestamp \
             (2026-11-20T08:00:00Z) or a span back (7d, 24h, 90m)"
        ))
    };
    if t.is_empty() {
        return Err(bad());
    }
    match t.to_ascii_lowercase().as_str() {
        "latest" => return Ok(When::Latest),
        "earliest" => return Ok(When::Earliest),
        _ => {}
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(When::Date(d));
    }
    if let Some(at) = parse_timestamp(t) {
        return Ok(When::At(at));
    }
    if t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return parse_span(t).map(When::Ago).map_err(|_| bad());
    }
    Err(bad())
}

/// Parses a timestamp with or without a zone (none is UTC), `T` or a space
/// between date and time, seconds and fraction optional.
pub fn parse_timestamp(t: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Some(dt.with_timezone(&Utc).timestamp_micros());
        }
    }
    let naive = t.strip_suffix(['Z', 'z']).unwrap_or(t);
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, f) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    None
}

/// Parses a span: one or more `<number><unit>` (units `w`, `d`, `h`, `m`,
/// `s`, `ms`; the number may have a fraction), e.g. `7d`, `1d12h`, `1.5h`.
/// Returns microseconds.
pub fn parse_span(text: &str) -> Result<i64> {
    let bad = || {
        Error::BadArgument(format!(
            "'{text}' is not a span: use a number and a unit, w d h m s or ms (7d, 24h, 1d12h, 90m)"
        ))
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match rest[..u].trim().to_ascii_lowercase().as_str() {
            "w" | "wk" | "week" | "weeks" => WEEK,
            "d" | "day" | "days" => DAY,
            "h" | "hr" | "hour" | "hours" => HOUR,
            "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
            "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
            "ms" => 1_000,
            _ => return Err(bad()),
        };
        total += number * unit as f64;
        rest = &rest[u..];
    }
    if !total.is_finite() || total > i64::MAX as f64 / 2.0 {
        return Err(bad());
    }
    Ok(total.round() as i64)
}

/// A report window: every operation created in `since ..= until`, compared
/// with the window of the same length just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First microsecond in the window.
    pub since: i64,
    /// Last microsecond in the window (inclusive).
    pub until: i64,
}

impl Window {
    /// Resolves `--since` / `--until` against the data. The end defaults to the
    /// latest timestamp in the data (not the wall clock), the start to
    /// [`DEFAULT_SPAN`] before the end; a span in `--since` counts back from the
    /// end, a span in `--until` from the latest timestamp.
    pub fn resolve(since: Option<When>, until: Option<When>, bounds: Bounds) -> Result<Window> {
        let latest = bounds.latest.unwrap_or(0);
        let until = until
            .unwrap_or(When::Latest)
            .resolve(End::End, latest, bounds);
        let since = since
            .unwrap_or(When::Ago(DEFAULT_SPAN))
            .resolve(End::Start, until, bounds);
        if since > until {
            return Err(Error::BadArgument(format!(
                "the window starts ({}) after it ends ({})",
                format_micros(since),
                format_micros(until)
            )));
        }
        Ok(Window { since, until })
    }

    /// Length in microseconds: the inclusive span, in whole seconds when it
    /// is longer than one (`--since 2026-11-20 --until 2026-11-26` is 7 days,
    /// the default window 7 days to the latest timestamp is 7 days).
    pub fn length(&self) -> i64 {
        let span = self.until - self.since + 1;
        if span >= SECOND {
            span - span % SECOND
        } else {
            span
        }
    }

    /// The window of the same length just before this one, as a half-open
    /// range `[since, until)` (it ends where this one starts).
    pub fn previous(&self) -> (i64, i64) {
        (self.since - self.length().max(1), self.since)
    }

    /// Checks, before any data is read, that two points given as dates or
    /// timestamps are in order.
    pub fn check_order(since: Option<When>, until: Option<When>) -> Result<()> {
        let fixed = |w: Option<When>, end| match w {
            Some(w @ (When::At(_) | When::Date(_))) => Some(w.resolve(end, 0, Bounds::default())),
            _ => None,
        };
        match (fixed(since, End::Start), fixed(until, End::End)) {
            (Some(a), Some(b)) if a > b => Err(Error::BadArgument(format!(
                "the window starts ({}) after it ends ({})",
                format_micros(a),
                format_micros(b)
            ))),
            _ => Ok(()),
        }
    }

    /// The UTC days the window touches, first to last.
    pub fn days(&self) -> Vec<NaiveDate> {
        let first = day_of(self.since);
        let last = day_of(self.until);
        first.iter_days().take_while(|d| *d <= last).collect()
    }
}

/// The UTC day of a microsecond timestamp.
pub fn day_of(micros: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// `2026-11-27T19:41:03.45Z`: RFC 3339 in UTC, with as many fraction digits
/// as needed (none for whole seconds).
pub fn format_micros(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(dt) => {
            let frac = micros.rem_euclid(SECOND);
            if frac == 0 {
                dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                let digits = format!("{frac:06}");
                format!(
                    "{}.{}Z",
                    dt.format("%Y-%m-%dT%H:%M:%S"),
                    digits.trim_end_matches('0')
                )
            }
        }
        None => micros.to_string(),
    }
}

/// `2026-11-27 19:41 UTC`: to the minute, for people.
pub fn format_minute(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(dt) => dt.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => micros.to_string(),
    }
}

/// A span for people: `7d`, `3d 4h`, `1h 5m`, `42.5s`.
pub fn format_span(micros: i64) -> String {
    let neg = micros < 0;
    let m = micros.unsigned_abs() as i64;
    let text = if m < MINUTE {
        let s = m as f64 / SECOND as f64;
        if (s - s.round()).abs() < 1e-9 {
            format!("{}s", s.round() as i64)
        } else {
            format!("{s:.1}s")
        }
    } else {
        let (d, h, min, s) = (
            m / DAY,
            (m % DAY) / HOUR,
            (m % HOUR) / MINUTE,
            (m % MINUTE) / SECOND,
        );
        let parts: Vec<String> = [(d, "d"), (h, "h"), (min, "m"), (s, "s")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect();
        // Two most significant units are enough for reading.
        parts.into_iter().take(2).collect::<Vec<_>>().join(" ")
    };
    if neg { format!("-{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("7d").unwrap(), 7 * DAY);
        assert_eq!(parse_span("24h").unwrap(), DAY);
        assert_eq!(parse_span("1d12h").unwrap(), DAY + 12 * HOUR);
        assert_eq!(parse_span("1.5h").unwrap(), 90 * MINUTE);
        assert_eq!(parse_span("90m").unwrap(), 90 * MINUTE);
        assert_eq!(parse_span("2w").unwrap(), 14 * DAY);
        assert_eq!(parse_span("250ms").unwrap(), 250_000);
        assert!(parse_span("7").is_err());
        assert!(parse_span("d").is_err());
        assert!(parse_span("7y").is_err());
        assert!(parse_span("").is_err());
    }

    #[test]
    fn whens() {
        assert_eq!(
            parse_when("2026-11-20").unwrap(),
            When::Date(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
        );
        assert_eq!(
            parse_when("2026-11-20T08:00:00+01:00").unwrap(),
            When::At(at("2026-11-20T07:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-11-20 07:00").unwrap(),
            When::At(at("2026-11-20T07:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-11-20T07:00:00.5").unwrap(),
            When::At(at("2026-11-20T07:00:00.5Z"))
        );
        assert_eq!(parse_when("7d").unwrap(), When::Ago(7 * DAY));
        assert_eq!(parse_when("LATEST").unwrap(), When::Latest);
        assert!(parse_when("yesterday").is_err());
        assert!(parse_when("2026-11-31").is_err());
        assert!(parse_when("").is_err());
    }

    #[test]
    fn windows() {
        let latest = at("2026-11-27T19:41:03.45Z");
        let bounds = Bounds {
            earliest: Some(at("2026-10-31T01:00:00Z")),
            latest: Some(latest),
        };
        let w = Window::resolve(None, None, bounds).unwrap();
        assert_eq!(w.until, latest);
        assert_eq!(w.since, latest - 7 * DAY);
        assert_eq!(w.previous(), (latest - 14 * DAY, latest - 7 * DAY));
        assert_eq!(w.days().len(), 8);

        let w = Window::resolve(
            Some(parse_when("2026-11-20").unwrap()),
            Some(parse_when("2026-11-26").unwrap()),
            bounds,
        )
        .unwrap();
        assert_eq!(w.since, at("2026-11-20T00:00:00Z"));
        assert_eq!(w.until, at("2026-11-27T00:00:00Z") - 1);
        assert_eq!(w.days().len(), 7);
        assert_eq!(w.length(), 7 * DAY);
        assert_eq!(
            w.previous(),
            (at("2026-11-13T00:00:00Z"), at("2026-11-20T00:00:00Z"))
        );
        assert!(
            Window::check_order(
                Some(parse_when("2026-11-20").unwrap()),
                Some(parse_when("2026-11-19").unwrap())
            )
            .is_err()
        );
        assert!(
            Window::check_order(
                Some(parse_when("2026-11-20").unwrap()),
                Some(When::Ago(DAY))
            )
            .is_ok()
        );

        let w = Window::resolve(Some(When::Ago(DAY)), Some(When::Ago(DAY)), bounds).unwrap();
        assert_eq!(w.until, latest - DAY);
        assert_eq!(w.since, latest - 2 * DAY);

        assert!(
            Window::resolve(
                Some(parse_when("2026-11-28").unwrap()),
                Some(parse_when("2026-11-20").unwrap()),
                bounds
            )
            .is_err()
        );
        // No data: still a window, at the epoch.
        let w = Window::resolve(None, None, Bounds::default()).unwrap();
        assert_eq!(w.until, 0);
    }

    #[test]
    fn formatting() {
        assert_eq!(
            format_micros(at("2026-11-27T19:41:03.45Z")),
            "2026-11-27T19:41:03.45Z"
        );
        assert_eq!(
            format_micros(at("2026-11-27T19:41:03Z")),
            "2026-11-27T19:41:03Z"
        );
        assert_eq!(format_span(42_500_000), "42.5s");
        assert_eq!(format_span(3 * DAY + 4 * HOUR + 5 * MINUTE), "3d 4h");
        assert_eq!(format_span(65 * MINUTE), "1h 5m");
        assert_eq!(format_span(7 * DAY), "7d");
    }
}
