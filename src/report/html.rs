//! The report as one self-contained HTML file: inline CSS and inline SVG
//! charts drawn with plotters (failure rate by operation type as bars, the
//! daily failure rate as lines, the duration distribution as stacked bars).
//! No scripts, fonts or images are fetched.

use std::fmt::Write;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::format::{NONE, fmt_change, fmt_rate, fmt_secs, fmt_value};
use super::model::{Report, TypeRow};
use super::tables;
use super::window::{format_minute, format_span};

/// Colours that stay apart for colour-blind readers (Okabe & Ito).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(140, 86, 75),
    RGBColor(120, 120, 120),
];
const BAR: RGBColor = RGBColor(0, 114, 178);
const FAILED: RGBColor = RGBColor(213, 94, 0);
const INK: RGBColor = RGBColor(33, 37, 41);
const GRID: RGBColor = RGBColor(222, 226, 230);

const WIDTH: u32 = 880;
/// Operation types drawn in the daily chart besides the overall line.
const DAILY_TYPES: usize = 4;
const FONT: &str = "sans-serif";

type ChartResult<T = String> = Result<T, Box<dyn std::error::Error>>;

/// Series names and colours, for a legend under a chart.
type Legend = Vec<(String, RGBColor)>;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hex(c: &RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn type_name(t: &Option<String>) -> String {
    t.clone().unwrap_or_else(|| "(none)".into())
}

/// Horizontal bars: the failure rate of each operation type, worst on top.
fn failure_by_type_chart(types: &[TypeRow]) -> ChartResult {
    let rows: Vec<&TypeRow> = types.iter().filter(|t| t.failure_rate.is_some()).collect();
    let n = rows.len();
    let height = 70 + 30 * n as u32;
    let max = rows
        .iter()
        .filter_map(|t| t.failure_rate)
        .fold(0.0f64, f64::max);
    let x_max = (max * 1.25).clamp(0.05, 1.0);
    let names: Vec<String> = rows.iter().map(|t| type_name(&t.operation_type)).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(260)
            .build_cartesian_2d(0f64..x_max, (0..n.saturating_sub(1)).into_segmented())?;
        let y_label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => names[n - 1 - i].clone(),
            _ => String::new(),
        };
        let x_label = |x: &f64| format!("{:.0}%", x * 100.0);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .y_labels(n)
            .y_label_formatter(&y_label)
            .x_label_formatter(&x_label)
            .x_desc("failure rate = failed / (successful + failed)")
            .label_style((FONT, 16).into_font().color(&INK))
            .axis_desc_style((FONT, 16).into_font().color(&INK))
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, t)| {
            let seg = n - 1 - i;
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(seg)),
                    (t.failure_rate.unwrap_or(0.0), SegmentValue::Exact(seg + 1)),
                ],
                BAR.filled(),
            );
            r.set_margin(5, 5, 0, 0);
            r
        }))?;
        let label_style = (FONT, 15)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(rows.iter().enumerate().map(|(i, t)| {
            let seg = n - 1 - i;
            EmptyElement::at((t.failure_rate.unwrap_or(0.0), SegmentValue::CenterOf(seg)))
                + Text::new(
                    format!(
                        "{} ({} of {})",
                        fmt_rate(t.failure_rate),
                        t.failed,
                        t.failed + t.successful
                    ),
                    (6, 0),
                    label_style.clone(),
                )
        }))?;
        root.present()?;
    }
    Ok(svg)
}

/// Lines: the daily failure rate, all operations and per type.
fn daily_chart(r: &Report) -> ChartResult<(String, Legend)> {
    let days = &r.daily;
    let n = days.len();
    // The overall line, and one per type for the types that failed most
    // (every type would be noise: a day with two operations swings 0-100%).
    let mut failures: Vec<(i64, Option<String>)> = r
        .operation_types
        .iter()
        .filter(|t| t.failed > 0)
        .map(|t| (t.failed, t.operation_type.clone()))
        .collect();
    failures.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let types: Vec<Option<String>> = failures
        .into_iter()
        .take(DAILY_TYPES)
        .map(|(_, t)| t)
        .collect();
    let mut series: Vec<(String, RGBColor, u32, Vec<Option<f64>>)> = vec![(
        "all operations".into(),
        INK,
        3,
        days.iter().map(|d| d.failure_rate).collect(),
    )];
    for (k, t) in types.iter().enumerate() {
        series.push((
            type_name(t),
            PALETTE[k % PALETTE.len()],
            2,
            days.iter()
                .map(|d| {
                    d.by_type
                        .iter()
                        .find(|x| &x.operation_type == t)
                        .and_then(|x| x.failure_rate)
                })
                .collect(),
        ));
    }
    let max = series
        .iter()
        .flat_map(|s| s.3.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b));
    let y_max = (max * 1.1).clamp(0.05, 1.0);
    let labels: Vec<String> = days
        .iter()
        .map(|d| d.day.get(5..).unwrap_or(&d.day).to_string())
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 340)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0f64..y_max)?;
        let x_label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[*i].clone(),
            _ => String::new(),
        };
        let y_label = |y: &f64| format!("{:.0}%", y * 100.0);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(n)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_desc("day (UTC)")
            .y_desc("failure rate")
            .label_style((FONT, 16).into_font().color(&INK))
            .axis_desc_style((FONT, 16).into_font().color(&INK))
            .draw()?;
        // Thin type lines first, the overall line on top.
        for (_, color, width, points) in series.iter().rev() {
            let style = color.stroke_width(*width);
            let mut run: Vec<(SegmentValue<usize>, f64)> = Vec::new();
            let mut runs = Vec::new();
            for (i, p) in points.iter().enumerate() {
                match p {
                    Some(v) => run.push((SegmentValue::CenterOf(i), *v)),
                    None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                    None => {}
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            for run in runs {
                if run.len() > 1 {
                    chart.draw_series(std::iter::once(PathElement::new(run.clone(), style)))?;
                }
                chart.draw_series(
                    run.into_iter()
                        .map(|p| Circle::new(p, *width + 1, color.filled())),
                )?;
            }
        }
        root.present()?;
    }
    let legend = series
        .into_iter()
        .map(|(name, c, _, _)| (name, c))
        .collect();
    Ok((svg, legend))
}

/// Stacked bars: operations by duration bucket, failed on top.
fn duration_chart(r: &Report) -> ChartResult {
    let b = &r.durations;
    let n = b.len();
    let max = b.iter().map(|x| x.operations).max().unwrap_or(0).max(1);
    let y_max = (max as f64 * 1.12).ceil();
    let labels: Vec<String> = b.iter().map(|x| x.label.clone()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0f64..y_max)?;
        let x_label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[*i].clone(),
            _ => String::new(),
        };
        let y_label = |y: &f64| format!("{y:.0}");
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(n)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_desc("duration, start to completion")
            .y_desc("operations")
            .label_style((FONT, 16).into_font().color(&INK))
            .axis_desc_style((FONT, 16).into_font().color(&INK))
            .draw()?;
        let rect = |i: usize, lo: f64, hi: f64, color: RGBColor| {
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), lo),
                    (SegmentValue::Exact(i + 1), hi),
                ],
                color.filled(),
            );
            r.set_margin(0, 0, 8, 8);
            r
        };
        chart.draw_series(
            b.iter()
                .enumerate()
                .filter(|(_, x)| x.operations > x.failed)
                .map(|(i, x)| rect(i, 0.0, (x.operations - x.failed) as f64, BAR)),
        )?;
        chart.draw_series(
            b.iter()
                .enumerate()
                .filter(|(_, x)| x.failed > 0)
                .map(|(i, x)| {
                    rect(
                        i,
                        (x.operations - x.failed) as f64,
                        x.operations as f64,
                        FAILED,
                    )
                }),
        )?;
        root.present()?;
    }
    Ok(svg)
}

fn figure(out: &mut String, id: &str, title: &str, chart: ChartResult, caption: &str) {
    let _ = writeln!(out, "<figure class=\"chart\" id=\"{id}\">");
    let _ = writeln!(out, "<figcaption>{}</figcaption>", esc(title));
    match chart {
        Ok(svg) => out.push_str(&svg),
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"note\">This chart could not be drawn: {}</p>",
                esc(&e.to_string())
            );
        }
    }
    if !caption.is_empty() {
        let _ = writeln!(out, "\n<p class=\"caption\">{caption}</p>");
    }
    let _ = writeln!(out, "</figure>");
}

/// HTML cells: escaped text, device ids in a monospace span.
struct Html;

impl tables::Cells for Html {
    fn text(&self, s: &str) -> String {
        esc(s)
    }
    fn id(&self, s: &str) -> String {
        format!("<span class=\"id\">{}</span>", esc(s))
    }
}

fn draw(out: &mut String, t: tables::Table) {
    table(out, t.header, &t.rows);
}

fn table(out: &mut String, header: &[(&str, bool)], rows: &[Vec<String>]) {
    out.push_str("<div class=\"table\"><table>\n<thead><tr>");
    for (h, right) in header {
        let _ = write!(
            out,
            "<th{}>{}</th>",
            if *right { " class=\"num\"" } else { "" },
            esc(h)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for (cell, (_, right)) in r.iter().zip(header) {
            let _ = write!(
                out,
                "<td{}>{}</td>",
                if *right { " class=\"num\"" } else { "" },
                cell
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn opt(s: &Option<String>, none: &str) -> String {
    esc(s.as_deref().unwrap_or(none))
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #212529; background: #f5f6f8; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 24px 48px; background: #fff; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 10px; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }
.meta { color: #495057; margin: 2px 0; }
.note { background: #fff3cd; border-left: 4px solid #e6a100; padding: 8px 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.card { border: 1px solid #dee2e6; border-radius: 6px; padding: 10px 12px; }
.card .label { font-size: .85rem; color: #495057; }
.card .value { font-size: 1.5rem; font-weight: 600; margin: 2px 0; }
.card .prev { font-size: .8rem; color: #6c757d; }
.worse { color: #b02a37; } .better { color: #146c43; } .neutral { color: #495057; }
.checks li { margin: 2px 0; } .breached { color: #b02a37; font-weight: 600; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid #e9ecef; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .82rem; }
figure.chart { margin: 12px 0 20px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
figure.chart svg { display: block; width: 100%; height: auto; }
.caption { color: #6c757d; font-size: .85rem; margin: 4px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .85rem; margin-top: 6px; }
.legend span::before { content: ""; display: inline-block; width: 14px; height: 4px;
                       margin-right: 5px; vertical-align: middle; background: var(--c); }
footer { color: #6c757d; font-size: .8rem; margin-top: 32px; }
"#;

/// Renders the report as one HTML page.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let w = &r.window;
    let title = format!(
        "Fleet reliability report, {} – {}",
        format_minute(w.since.0),
        format_minute(w.until.0)
    );
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>",
        esc(&title)
    );
    let _ = writeln!(out, "<h1>Fleet reliability report</h1>");
    let _ = writeln!(
        out,
        "<p class=\"meta\"><strong>Window:</strong> {} – {} ({}), compared with the {} before it \
         ({} – {}).</p>",
        format_minute(w.since.0),
        format_minute(w.until.0),
        esc(&w.length),
        esc(&w.length),
        format_minute(w.previous_since.0),
        format_minute(w.previous_until.0)
    );
    if let (Some(e), Some(l)) = (r.data.earliest, r.data.latest) {
        let _ = writeln!(
            out,
            "<p class=\"meta\"><strong>Data:</strong> {} operations, {} – {}.</p>",
            r.data.operations,
            format_minute(e.0),
            format_minute(l.0)
        );
    } else {
        let _ = writeln!(
            out,
            "<p class=\"meta\"><strong>Data:</strong> {} operations, none with a timestamp: \
             the window above is a placeholder.</p>",
            r.data.operations
        );
    }
    if r.empty {
        let _ = writeln!(
            out,
            "<p class=\"note\"><strong>No operations were created in this window.</strong> \
             Choose another with <code>--since</code> / <code>--until</code>.</p>"
        );
    }
    if !r.data.previous_window_covered && r.data.latest.is_some() {
        let _ = writeln!(
            out,
            "<p class=\"note\">The previous window starts before the earliest operation in the \
             data: its figures cover only part of it.</p>"
        );
    }

    // Headline cards
    let _ = writeln!(out, "<h2>Headline</h2>\n<div class=\"cards\">");
    for m in &r.headline.0 {
        let class = match m.worse() {
            Some(true) => "worse",
            Some(false) if m.direction() != Some("same") => "better",
            _ => "neutral",
        };
        let _ = writeln!(
            out,
            "<div class=\"card\" data-metric=\"{}\"><div class=\"label\">{}</div>\
             <div class=\"value\">{}</div><div class=\"prev\">previous {}: {} · \
             <span class=\"{class}\">{}</span></div></div>",
            m.key,
            esc(m.label),
            esc(&fmt_value(m, m.current)),
            esc(&w.length),
            esc(&fmt_value(m, m.previous)),
            esc(&fmt_change(m))
        );
    }
    let _ = writeln!(out, "</div>");
    let _ = writeln!(
        out,
        "<p class=\"caption\">Failure rate = failed / (successful + failed); durations run from \
         start to completion; stuck = unfinished more than {} after creation, at the end of the \
         window.</p>",
        format_span((r.settings.stuck_after_s * 1e6) as i64)
    );

    if !r.checks.is_empty() {
        let _ = writeln!(out, "<h2>Checks</h2>\n<ul class=\"checks\">");
        for c in &r.checks {
            let value = match c.value {
                Some(v) => format!("{v}"),
                None => "no value in this window".into(),
            };
            let _ = writeln!(
                out,
                "<li class=\"{}\">{} <code>{}</code> ({} = {})</li>",
                if c.breached { "breached" } else { "ok" },
                if c.breached { "BREACHED" } else { "ok" },
                esc(&c.condition),
                esc(c.metric),
                esc(&value)
            );
        }
        let _ = writeln!(out, "</ul>");
    }

    if !r.empty {
        let _ = writeln!(out, "<h2>Charts</h2>");
        figure(
            &mut out,
            "chart-failure-by-type",
            "Failure rate by operation type",
            failure_by_type_chart(&r.operation_types),
            "Operation types with at least one finished (successful or failed) operation in the \
             window.",
        );
        match daily_chart(r) {
            Ok((svg, legend)) => {
                let mut caption = String::from("<span class=\"legend\">");
                for (name, c) in legend {
                    let _ = write!(
                        caption,
                        "<span style=\"--c:{}\">{}</span>",
                        hex(&c),
                        esc(&name)
                    );
                }
                caption.push_str("</span>");
                figure(
                    &mut out,
                    "chart-daily-failure-rate",
                    "Daily failure rate (UTC days): all operations and the operation types that failed most",
                    Ok(svg),
                    &caption,
                );
            }
            Err(e) => figure(
                &mut out,
                "chart-daily-failure-rate",
                "Daily failure rate (UTC days)",
                Err(e),
                "",
            ),
        }
        figure(
            &mut out,
            "chart-durations",
            "Duration distribution",
            duration_chart(r),
            &format!(
                "<span class=\"legend\"><span style=\"--c:{}\">successful, cancelled or unknown</span>\
                 <span style=\"--c:{}\">failed</span></span>",
                hex(&BAR),
                hex(&FAILED)
            ),
        );

        let _ = writeln!(out, "<h2>Operation types</h2>");
        draw(&mut out, tables::operation_types(r, &Html));

        let _ = writeln!(out, "<h2>Daily trend (UTC)</h2>");
        let rows: Vec<Vec<String>> = r
            .daily
            .iter()
            .map(|d| {
                vec![
                    if d.partial {
                        format!("{} (part of the day)", esc(&d.day))
                    } else {
                        esc(&d.day)
                    },
                    d.operations.to_string(),
                    d.failed.to_string(),
                    fmt_rate(d.failure_rate),
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
            ],
            &rows,
        );

        let _ = writeln!(out, "<h2>Top failing devices</h2>");
        if r.top_devices.is_empty() {
            let _ = writeln!(out, "<p>No device had a failed operation.</p>");
        } else {
            draw(&mut out, tables::top_devices(r, &Html));
        }

        let _ = writeln!(out, "<h2>Top error codes</h2>");
        if r.top_errors.is_empty() {
            let _ = writeln!(out, "<p>No failed operations.</p>");
        } else {
            draw(&mut out, tables::top_errors(r, &Html));
        }
    }

    let s = &r.stuck;
    let _ = writeln!(out, "<h2>Stuck operations</h2>");
    let older = format_span((s.older_than_s * 1e6) as i64);
    if s.total == 0 {
        let _ = writeln!(
            out,
            "<p>None: no operation was unfinished more than {older} after creation at {}.</p>",
            format_minute(s.as_of.0)
        );
    } else {
        let _ = writeln!(
            out,
            "<p>{} operation{} unfinished more than {older} after creation at {}{}.</p>",
            s.total,
            if s.total == 1 { "" } else { "s" },
            format_minute(s.as_of.0),
            if (s.total as usize) > s.operations.len() {
                format!(" (the oldest {} below)", s.operations.len())
            } else {
                String::new()
            }
        );
        let rows: Vec<Vec<String>> = s
            .operations
            .iter()
            .map(|o| {
                vec![
                    format!("<span class=\"id\">{}</span>", esc(&o.id)),
                    format!(
                        "<span class=\"id\">{}</span>",
                        opt(&o.device_id, "(unknown device)")
                    ),
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

    let q = &r.data_quality;
    let _ = writeln!(out, "<h2>Data quality</h2>\n<ul>");
    let mut any = false;
    if let Some(i) = &q.ingest {
        any = true;
        let runs = match i.runs {
            Some(n) => format!(" over {n} ingest run{}", if n == 1 { "" } else { "s" }),
            None => " (read in memory)".into(),
        };
        let _ = writeln!(
            out,
            "<li>Ingest{runs}: {} records from {} file{}; {} duplicates collapsed, {} rejected, {} \
             with a repaired timestamp{}.</li>",
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
            "<li>{} rejected record{} kept aside{}:<ul>",
            q.rejects.total,
            if q.rejects.total == 1 { "" } else { "s" },
            if (q.rejects.total as usize) > q.rejects.listed.len() {
                format!(" (the first {})", q.rejects.listed.len())
            } else {
                String::new()
            }
        );
        for j in &q.rejects.listed {
            let _ = writeln!(
                out,
                "<li><code>{}</code> {}: {}</li>",
                esc(&j.file),
                esc(&j.place),
                esc(&j.reason)
            );
        }
        let _ = writeln!(out, "</ul></li>");
    }
    for f in &q.findings {
        any = true;
        let _ = writeln!(
            out,
            "<li>{} operation{} {}.</li>",
            f.count,
            if f.count == 1 { "" } else { "s" },
            esc(&f.text)
        );
    }
    for n in &q.notes {
        any = true;
        let _ = writeln!(out, "<li>Note: {}</li>", esc(n));
    }
    if !any {
        let _ = writeln!(out, "<li>Nothing to note.</li>");
    }
    let _ = writeln!(out, "</ul>");
    let _ = writeln!(
        out,
        "<footer>fleetops {} · report format {}</footer>\n</main>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        r.version
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(hex(&RGBColor(0, 114, 178)), "#0072b2");
    }
}
