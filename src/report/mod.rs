//! The fleet reliability report and the named queries.
//!
//! [`build`] computes a [`Report`] with SQL over the `operations` table of a
//! `SessionContext`; [`render`] turns it into Markdown, self-contained HTML
//! (with the `html` feature) or JSON. `fail_if` checks headline metrics for
//! scheduled runs and [`queries`] holds the named analyses behind
//! `fleetops run`.
//!
//! ```no_run
//! # async fn demo() -> fleetops::Result<()> {
//! use fleetops::report::{self, Format, ReportOptions};
//! let ctx = fleetops::session::new_context()?;
//! let loaded = fleetops::session::register_data(
//!     &ctx,
//!     &["sample-data".into()],
//!     &Default::default(),
//! )?;
//! let report = report::build(&ctx, Some(&loaded), &ReportOptions::default()).await?;
//! print!("{}", report::render(&report, Format::Markdown)?);
//! # Ok(()) }
//! ```

pub(crate) mod fail_if;
pub(crate) mod format;
#[cfg(feature = "html")]
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod markdown;
pub mod model;
pub mod queries;
pub(crate) mod tables;
pub(crate) mod window;

pub use fail_if::{Check, Condition, Op, apply as apply_fail_if};
pub use model::{Report, ReportOptions, build, data_bounds};
pub use queries::NamedQuery;
pub use window::{Bounds, End, When, Window, parse_span};

#[cfg(not(feature = "html"))]
use crate::error::Error;
use crate::error::Result;

/// A report format (`--format md|html|json` of `fleetops report`; the CLI's
/// help lists the names only, hence `help = None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// GitHub-flavoured Markdown.
    #[cfg_attr(feature = "cli", value(name = "md", help = None::<&str>))]
    Markdown,
    /// One self-contained HTML file with inline SVG charts (the `html` feature).
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Html,
    /// JSON for alerting and dashboards.
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Json,
}

/// Renders a report. Markdown and JSON depend on nothing but the report, so
/// the same data gives the same bytes.
pub fn render(report: &Report, format: Format) -> Result<String> {
    match format {
        Format::Markdown => Ok(markdown::render(report)),
        Format::Json => json::render(report),
        #[cfg(feature = "html")]
        Format::Html => Ok(html::render(report)),
        #[cfg(not(feature = "html"))]
        Format::Html => Err(Error::BadArgument(
            "this build of fleetops has no HTML reports (build it with the `html` feature)".into(),
        )),
    }
}

/// Whether HTML reports are available in this build.
pub const HAS_HTML: bool = cfg!(feature = "html");
