//! How numbers read in the report: rates, durations, headline values and
//! their changes, as Markdown and HTML both show them (JSON keeps the raw
//! numbers).

use super::model::{Metric, Num};

/// `–` for a missing value.
pub const NONE: &str = "–";

/// `12.5%`.
pub fn fmt_rate(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => NONE.into(),
    }
}

/// Seconds for people: `42.5s`, `3m 05s`, `2h 10m`, `1d 4h`.
pub fn fmt_secs(s: Option<f64>) -> String {
    let Some(s) = s else {
        return NONE.into();
    };
    let neg = s < 0.0;
    let a = s.abs();
    let text = if a < 60.0 {
        format!("{a:.1}s")
    } else if a < 3600.0 {
        let t = a.round() as i64;
        format!("{}m {:02}s", t / 60, t % 60)
    } else if a < 86_400.0 {
        let t = (a / 60.0).round() as i64;
        format!("{}h {:02}m", t / 60, t % 60)
    } else {
        let t = (a / 3600.0).round() as i64;
        format!("{}d {}h", t / 24, t % 24)
    };
    if neg { format!("−{text}") } else { text }
}

/// A headline value.
pub fn fmt_value(m: &Metric, v: Option<Num>) -> String {
    match v {
        None => NONE.into(),
        Some(Num::Count(n)) => n.to_string(),
        Some(Num::Real(x)) => match m.key {
            "failure_rate" => fmt_rate(Some(x)),
            k if k.ends_with("_s") => fmt_secs(Some(x)),
            _ => format!("{x}"),
        },
    }
}

/// The change column: `▲ +3.4 pp (worse)`.
pub fn fmt_change(m: &Metric) -> String {
    let Some(change) = m.change() else {
        return NONE.into();
    };
    let arrow = match m.direction() {
        Some("up") => "▲",
        Some("down") => "▼",
        _ => return "= same".into(),
    };
    let sign = |x: f64| if x > 0.0 { "+" } else { "−" };
    let amount = match change {
        Num::Count(n) => format!("{}{}", sign(n as f64), n.abs()),
        Num::Real(x) => match m.key {
            "failure_rate" => format!("{}{:.1} pp", sign(x), (x * 100.0).abs()),
            k if k.ends_with("_s") => format!("{}{}", sign(x), fmt_secs(Some(x.abs()))),
            _ => format!("{}{}", sign(x), x.abs()),
        },
    };
    match m.worse() {
        Some(true) => format!("{arrow} {amount} (worse)"),
        Some(false) => format!("{arrow} {amount} (better)"),
        None => format!("{arrow} {amount}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_rate(Some(0.125)), "12.5%");
        assert_eq!(fmt_rate(None), "–");
        assert_eq!(fmt_secs(Some(42.46)), "42.5s");
        assert_eq!(fmt_secs(Some(185.0)), "3m 05s");
        assert_eq!(fmt_secs(Some(7800.0)), "2h 10m");
        assert_eq!(fmt_secs(Some(100_800.0)), "1d 4h");
        assert_eq!(fmt_secs(Some(-3.0)), "−3.0s");
    }
}
