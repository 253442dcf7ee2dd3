//! The report as JSON, for alerting and dashboards.
//!
//! Keys are stable (a change of meaning bumps `version`): `window`, `data`,
//! `settings`, `empty`, `headline` (one object per metric with `current`,
//! `previous`, `change`, `direction` and `worse`), `operation_types`,
//! `daily`, `top_devices`, `top_errors`, `stuck`, `durations`,
//! `data_quality` and `checks`. Timestamps are RFC 3339 UTC text, rates are
//! fractions (0.125), durations are seconds, missing values are `null`.

use super::model::Report;
use crate::error::Result;

/// Renders the report as pretty-printed JSON with a final newline.
pub fn render(report: &Report) -> Result<String> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}
