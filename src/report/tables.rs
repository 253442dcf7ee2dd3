//! The report's tables that Markdown and HTML show alike: the columns and
//! the cell texts are chosen here once; each renderer only says how text is
//! made safe for it and then draws the table.

use super::format::{NONE, fmt_rate, fmt_secs};
use super::model::Report;
use super::window::format_minute;

/// How a renderer makes text safe in a cell.
pub trait Cells {
    /// Any text from the data.
    fn text(&self, s: &str) -> String;
    /// A device id (HTML sets it in a monospace span).
    fn id(&self, s: &str) -> String {
        self.text(s)
    }
}

/// A table: each column's header and whether it is right-aligned, then rows.
pub struct Table {
    pub header: &'static [(&'static str, bool)],
    pub rows: Vec<Vec<String>>,
}

fn opt(c: &dyn Cells, s: &Option<String>, none: &str) -> String {
    match s {
        Some(s) => c.text(s),
        None => none.into(),
    }
}

/// One row per operation type.
pub fn operation_types(r: &Report, c: &dyn Cells) -> Table {
    Table {
        header: &[
            ("Operation type", false),
            ("Ops", true),
            ("Successful", true),
            ("Failed", true),
            ("Cancelled", true),
            ("In flight", true),
            ("Failure rate", true),
            ("Previous rate", true),
            ("p50", true),
            ("p95", true),
            ("Mean queue", true),
        ],
        rows: r
            .operation_types
            .iter()
            .map(|t| {
                vec![
                    opt(c, &t.operation_type, "(none)"),
                    t.operations.to_string(),
                    t.successful.to_string(),
                    t.failed.to_string(),
                    t.cancelled.to_string(),
                    t.in_flight.to_string(),
                    fmt_rate(t.failure_rate),
                    fmt_rate(t.previous_failure_rate),
                    fmt_secs(t.p50_duration_s),
                    fmt_secs(t.p95_duration_s),
                    fmt_secs(t.mean_queue_s),
                ]
            })
            .collect(),
    }
}

/// The devices with the most failures.
pub fn top_devices(r: &Report, c: &dyn Cells) -> Table {
    Table {
        header: &[
            ("Device", false),
            ("Ops", true),
            ("Failed", true),
            ("Failure rate", true),
            ("Top error", false),
            ("Last failure", false),
        ],
        rows: r
            .top_devices
            .iter()
            .map(|d| {
                vec![
                    c.id(d.device_id.as_deref().unwrap_or("(unknown device)")),
                    d.operations.to_string(),
                    d.failed.to_string(),
                    fmt_rate(d.failure_rate),
                    opt(c, &d.top_error_code, "(no code)"),
                    d.last_failure
                        .map(|t| format_minute(t.0))
                        .unwrap_or_else(|| NONE.into()),
                ]
            })
            .collect(),
    }
}

/// The most frequent error codes.
pub fn top_errors(r: &Report, c: &dyn Cells) -> Table {
    Table {
        header: &[
            ("Error code", false),
            ("Failures", true),
            ("Share", true),
            ("Devices", true),
            ("Operation types", false),
            ("Example message", false),
        ],
        rows: r
            .top_errors
            .iter()
            .map(|e| {
                vec![
                    opt(c, &e.error_code, "(no code)"),
                    e.failures.to_string(),
                    fmt_rate(Some(e.share)),
                    e.devices.to_string(),
                    c.text(&e.operation_types.join(", ")),
                    opt(c, &e.example_message, NONE),
                ]
            })
            .collect(),
    }
}
