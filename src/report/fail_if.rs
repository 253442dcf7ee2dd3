//! `--fail-if 'failure_rate > 0.10'`: conditions on the headline metrics that
//! make a scheduled run exit with a distinct status when breached.
//!
//! A condition is `METRIC OP VALUE` with a metric of [`METRICS`], an operator
//! `>`, `>=`, `<`, `<=`, `==` (or `=`), `!=`, and a number; `10%` is 0.10, and
//! the duration metrics also take a span (`p95_duration_s > 15m`). A metric
//! without a value in the window (a failure rate with nothing finished, a
//! percentile with no durations) breaches nothing.

use serde::Serialize;

use super::model::{METRICS, Report};
use super::window;
use crate::error::{Error, Result};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==` (also written `=`)
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// The operator as written in a normalised condition: `>`, `>=`, `<`, `<=`, `==`, `!=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Whether `a OP b` holds (`a` the metric's value, `b` the threshold).
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// A parsed `--fail-if` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The metric's key, one of [`METRICS`].
    pub metric: &'static str,
    /// The comparison.
    pub op: Op,
    /// The value compared with, in the metric's unit: rates as fractions (`10%` is 0.10),
    /// durations in seconds.
    pub threshold: f64,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op.as_str(), self.threshold)
    }
}

impl std::str::FromStr for Condition {
    type Err = Error;

    fn from_str(s: &str) -> Result<Condition> {
        Condition::parse(s)
    }
}

impl Condition {
    /// Parses `METRIC OP VALUE` (spaces optional).
    pub fn parse(text: &str) -> Result<Condition> {
        let t = text.trim();
        let usage = |why: &str| {
            Error::BadArgument(format!(
                "'{text}': {why}; write METRIC OP VALUE, e.g. 'failure_rate > 0.10', \
                 with METRIC one of {} and OP one of > >= < <= == !=",
                METRICS.join(", ")
            ))
        };
        let start = t
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| usage("no comparison operator"))?;
        let name = t[..start].trim();
        let rest = &t[start..];
        let (op, len) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ]
        .iter()
        .find(|(s, _)| rest.starts_with(s))
        .map(|(s, op)| (*op, s.len()))
        .ok_or_else(|| usage("no comparison operator"))?;
        let metric = METRICS
            .iter()
            .find(|m| m.eq_ignore_ascii_case(name))
            .copied()
            .ok_or_else(|| usage(&format!("unknown metric '{name}'")))?;
        let value = rest[len..].trim();
        if value.is_empty() {
            return Err(usage("no value"));
        }
        let threshold = if let Some(p) = value.strip_suffix('%') {
            p.trim().parse::<f64>().map(|v| v / 100.0).ok()
        } else if let Ok(v) = value.parse::<f64>() {
            Some(v)
        } else if metric.ends_with("_duration_s") {
            window::parse_span(value)
                .ok()
                .map(|us| us as f64 / window::SECOND as f64)
        } else {
            None
        }
        .filter(|v| v.is_finite())
        .ok_or_else(|| usage(&format!("'{value}' is not a number")))?;
        Ok(Condition {
            metric,
            op,
            threshold,
        })
    }

    /// Evaluates the condition on a report's current window.
    pub fn check(&self, report: &Report) -> Check {
        let value = report
            .headline
            .get(self.metric)
            .and_then(|m| m.current)
            .map(|n| n.as_f64());
        Check {
            condition: self.to_string(),
            metric: self.metric,
            op: self.op.as_str(),
            threshold: self.threshold,
            value,
            breached: value.is_some_and(|v| self.op.holds(v, self.threshold)),
        }
    }
}

/// The outcome of one condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The condition, normalised: `failure_rate > 0.1`.
    pub condition: String,
    /// The metric's key, one of [`METRICS`].
    pub metric: &'static str,
    /// The operator: `>`, `>=`, `<`, `<=`, `==` or `!=`.
    pub op: &'static str,
    /// The threshold, in the metric's unit (rates as fractions, durations in seconds).
    pub threshold: f64,
    /// The metric's value in the window (`null` when it has none).
    pub value: Option<f64>,
    /// The condition holds; never when `value` is `null`.
    pub breached: bool,
}

/// Evaluates every condition and records the outcomes in the report; returns
/// whether any was breached.
pub fn apply(report: &mut Report, conditions: &[Condition]) -> bool {
    report.checks = conditions.iter().map(|c| c.check(report)).collect();
    report.checks.iter().any(|c| c.breached)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let c = Condition::parse("failure_rate > 0.10").unwrap();
        assert_eq!(c.metric, "failure_rate");
        assert_eq!(c.op, Op::Gt);
        assert_eq!(c.threshold, 0.1);
        assert_eq!(c.to_string(), "failure_rate > 0.1");
        assert_eq!(
            Condition::parse("failure_rate>=10%").unwrap().threshold,
            0.1
        );
        assert_eq!(Condition::parse("stuck!=0").unwrap().op, Op::Ne);
        assert_eq!(Condition::parse("operations = 0").unwrap().op, Op::Eq);
        assert_eq!(Condition::parse("operations == 0").unwrap().op, Op::Eq);
        assert_eq!(Condition::parse("failed <= 3").unwrap().op, Op::Le);
        assert_eq!(Condition::parse("failed < 3").unwrap().op, Op::Lt);
        assert_eq!(
            Condition::parse("p95_duration_s > 15m").unwrap().threshold,
            900.0
        );
        assert_eq!(
            Condition::parse("P50_DURATION_S > 30").unwrap().metric,
            "p50_duration_s"
        );
        for bad in [
            "",
            "failure_rate",
            "failure_rate >",
            "errors > 1",
            "failure_rate > high",
            "stuck > 1h",
            "> 3",
            "failed => 3",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn operators() {
        assert!(Op::Gt.holds(2.0, 1.0) && !Op::Gt.holds(1.0, 1.0));
        assert!(Op::Ge.holds(1.0, 1.0));
        assert!(Op::Lt.holds(0.0, 1.0) && !Op::Lt.holds(1.0, 1.0));
        assert!(Op::Le.holds(1.0, 1.0));
        assert!(Op::Eq.holds(1.0, 1.0) && !Op::Ne.holds(1.0, 1.0));
    }
}
