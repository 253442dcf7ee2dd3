//! The report as Markdown: GitHub-flavoured tables that read well in a
//! terminal and render in a wiki.

use std::fmt::Write;

use super::format::{NONE, fmt_change, fmt_rate, fmt_secs, fmt_value};
use super::model::Report;
use super::tables;
use super::window::{format_minute, format_span};

/// A bar of `█` for `fraction` of `width` cells, with eighth blocks.
pub fn bar(fraction: f64, width: usize) -> String {
    const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let f = fraction.clamp(0.0, 1.0);
    let eighths = (f * width as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    s.push_str(EIGHTHS[eighths % 8]);
    s
}

/// Text for a table cell: no pipes or line breaks.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn opt(s: &Option<String>, none: &str) -> String {
    match s {
        Some(s) => cell(s),
        None => none.into(),
    }
}

/// Markdown cells: no pipes or line breaks.
struct Md;

impl tables::Cells for Md {
    fn text(&self, s: &str) -> String {
        cell(s)
    }
}

fn draw(out: &mut String, t: tables::Table) {
    table(out, t.header, &t.rows);
}

fn table(out: &mut String, header: &[(&str, bool)], rows: &[Vec<String>]) {
    let _ = writeln!(
        out,
        "| {} |",
        header
            .iter()
            .map(|(h, _)| *h)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        header
            .iter()
            .map(|(_, right)| if *right { "---:" } else { ":---" })
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

/// Renders the report as Markdown.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let w = &r.window;
    let _ = writeln!(out, "# Fleet reliability report\n");
    let _ = writeln!(
        out,
        "**Window:** {} – {} ({}), compared with the {} before it ({} – {}).  ",
        format_minute(w.since.0),
        format_minute(w.until.0),
        w.length,
        w.length,
        format_minute(w.previous_since.0),
        format_minute(w.previous_until.0),
    );
    match (r.data.earliest, r.data.latest) {
        (Some(e), Some(l)) => {
            let _ = writeln!(
                out,
                "**Data:** {} operations, {} – {}.",
                r.data.operations,
                format_minute(e.0),
                format_minute(l.0)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "**Data:** {} operations, none with a timestamp: the window above is a \
                 placeholder.",
                r.data.operations
            );
        }
    }
    out.push('\n');
    if r.empty {
        let _ = writeln!(
            out,
            "> **No operations were created in this window.** Choose another with \
             `--since` / `--until`.\n"
        );
    }
    if !r.data.previous_window_covered && r.data.latest.is_some() {
        let _ = writeln!(
            out,
            "> The previous window starts before the earliest operation in the data: \
             its figures cover only part of it.\n"
        );
    }

    // Headline
    let _ = writeln!(out, "## Headline\n");
    let prev = format!("Previous {}", w.length);
    let rows: Vec<Vec<String>> = r
        .headline
        .0
        .iter()
        .map(|m| {
            vec![
                m.label.to_string(),
                fmt_value(m, m.current),
                fmt_value(m, m.previous),
                fmt_change(m),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            ("Metric", false),
            ("This window", true),
            (&prev, true),
            ("Change", false),
        ],
        &rows,
    );
    let _ = writeln!(
        out,
        "Failure rate = failed / (successful + failed); durations run from start to completion; \
         stuck = unfinished more than {} after creation, at the end of the window.\n",
        format_span((r.settings.stuck_after_s * 1e6) as i64)
    );

    if !r.checks.is_empty() {
        let _ = writeln!(out, "## Checks\n");
        for c in &r.checks {
            let value = match c.value {
                Some(v) => format!("{v}"),
                None => "no value in this window".into(),
            };
            let _ = writeln!(
                out,
                "- {} `{}` ({} = {value})",
                if c.breached { "**BREACHED**" } else { "ok" },
                c.condition,
                c.metric
            );
        }
        out.push('\n');
    }

    if !r.empty {
        // Operation types
        let _ = writeln!(out, "## Operation types\n");
        draw(&mut out, tables::operation_types(r, &Md));

        // Daily trend
        let _ = writeln!(out, "## Daily trend (UTC)\n");
        let max_rate = r
            .daily
            .iter()
            .filter_map(|d| d.failure_rate)
            .fold(0.0f64, f64::max);
        let rows: Vec<Vec<String>> = r
            .daily
            .iter()
            .map(|d| {
                let worst = d
                    .by_type
                    .iter()
                    .filter(|t| t.failed > 0)
                    .max_by(|a, b| {
                        a.failed
                            .cmp(&b.failed)
                            .then_with(|| b.operation_type.cmp(&a.operation_type))
                    })
                    .map(|t| format!("{} ({})", opt(&t.operation_type, "(none)"), t.failed))
                    .unwrap_or_else(|| NONE.into());
                vec![
                    if d.partial {
                        format!("{} (part)", d.day)
                    } else {
                        d.day.clone()
                    },
                    d.operations.to_string(),
                    d.failed.to_string(),
                    fmt_rate(d.failure_rate),
                    match d.failure_rate {
                        Some(f) if max_rate > 0.0 => bar(f / max_rate, 20),
                        _ => String::new(),
                    },
                    worst,
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                ("Day", false),
                ("Ops", true),
                ("Failed", true),
                ("Failure rate", true),
                ("", false),
                ("Most failures", false),
            ],
            &rows,
        );
        if r.daily.iter().any(|d| d.partial) {
            let _ = writeln!(out, "(part): only part of this day lies in the window.\n");
        }

        // Devices
        let _ = writeln!(out, "## Top failing devices\n");
        if r.top_devices.is_empty() {
            let _ = writeln!(out, "No device had a failed operation.\n");
        } else {
            draw(&mut out, tables::top_devices(r, &Md));
        }

        // Errors
        let _ = writeln!(out, "## Top error codes\n");
        if r.top_errors.is_empty() {
            let _ = writeln!(out, "No failed operations.\n");
        } else {
            draw(&mut out, tables::top_errors(r, &Md));
        }

        // Durations
        let _ = writeln!(out, "## Duration distribution\n");
        let max = r.durations.iter().map(|b| b.operations).max().unwrap_or(0);
        let rows: Vec<Vec<String>> = r
            .durations
            .iter()
            .map(|b| {
                vec![
                    b.label.clone(),
                    b.operations.to_string(),
                    b.failed.to_string(),
                    if max > 0 {
                        bar(b.operations as f64 / max as f64, 20)
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                ("Duration", false),
                ("Operations", true),
                ("Failed", true),
                ("", false),
            ],
            &rows,
        );
    }

    // Stuck
    let s = &r.stuck;
    let _ = writeln!(out, "## Stuck operations\n");
    if s.total == 0 {
        let _ = writeln!(
            out,
            "None: no operation was unfinished more than {} after creation at {}.\n",
            format_span((s.older_than_s * 1e6) as i64),
            format_minute(s.as_of.0)
        );
    } else {
        let _ = writeln!(
            out,
            "{} operation{} unfinished more than {} after creation at {}{}:\n",
            s.total,
            if s.total == 1 { "" } else { "s" },
            format_span((s.older_than_s * 1e6) as i64),
            format_minute(s.as_of.0),
            if (s.total as usize) > s.operations.len() {
                format!(" (the oldest {})", s.operations.len())
            } else {
                String::new()
            }
        );
        let rows: Vec<Vec<String>> = s
            .operations
            .iter()
            .map(|o| {
                vec![
                    cell(&o.id),
                    opt(&o.device_id, "(unknown device)"),
                    opt(&o.operation_type, "(none)"),
                    opt(&o.status, NONE),
                    format_minute(o.created.0),
                    fmt_secs(Some(o.age_s)),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                ("Operation", false),
                ("Device", false),
                ("Type", false),
                ("Status", false),
                ("Created", false),
                ("Age", true),
            ],
            &rows,
        );
    }

    // Data quality
    let q = &r.data_quality;
    let _ = writeln!(out, "## Data quality\n");
    let mut any = false;
    if let Some(i) = &q.ingest {
        any = true;
        let runs = match i.runs {
            Some(n) => format!(" over {n} ingest run{}", if n == 1 { "" } else { "s" }),
            None => " (read in memory)".into(),
        };
        let _ = writeln!(
            out,
            "- Ingest{runs}: {} records from {} file{}; {} duplicates collapsed, {} rejected, \
             {} with a repaired timestamp{}.",
            i.records,
            i.files,
            if i.files == 1 { "" } else { "s" },
            i.duplicates,
            i.rejected,
            i.repaired,
            if i.failed_files > 0 {
                format!("; {} files could not be read", i.failed_files)
            } else {
                String::new()
            }
        );
    }
    if q.rejects.total > 0 {
        any = true;
        let _ = writeln!(
            out,
            "- {} rejected record{} kept aside{}:",
            q.rejects.total,
            if q.rejects.total == 1 { "" } else { "s" },
            if (q.rejects.total as usize) > q.rejects.listed.len() {
                format!(" (the first {})", q.rejects.listed.len())
            } else {
                String::new()
            }
        );
        for j in &q.rejects.listed {
            let place = if j.place.is_empty() {
                String::new()
            } else {
                format!(" {}", j.place)
            };
            let _ = writeln!(
                out,
                "  - `{}`{place}: {}",
                j.file.replace('`', "'"),
                cell(&j.reason)
            );
        }
    }
    for f in &q.findings {
        any = true;
        let _ = writeln!(
            out,
            "- {} operation{} {}.",
            f.count,
            if f.count == 1 { "" } else { "s" },
            f.text
        );
    }
    for n in &q.notes {
        any = true;
        let _ = writeln!(out, "- Note: {}", cell(n));
    }
    if !any {
        let _ = writeln!(out, "- Nothing to note.");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 3), "█▌");
        assert_eq!(bar(0.0, 4), "");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
