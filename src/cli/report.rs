//! `fleetops report`, `fleetops run` and `fleetops queries`.

use std::process::ExitCode;

use super::sql::{is_broken_pipe, runtime, warn_loaded};
use super::{EXIT_BREACH, QueriesArgs, ReportArgs, RunArgs};
use crate::error::{Error, Result};
use crate::output;
use crate::report::{self, Format, ReportOptions, queries, window};

pub fn run(a: ReportArgs) -> Result<ExitCode> {
    // Every argument is checked before any data is read (clap has parsed
    // the values of --since, --until, --stuck-after and --fail-if).
    let format = a.format;
    if format == Format::Html && !report::HAS_HTML {
        return Err(Error::BadArgument(
            "this build of fleetops has no HTML reports (build it with the `html` feature)".into(),
        ));
    }
    let opts = ReportOptions {
        since: a.since,
        until: a.until,
        stuck_after: a.stuck_after,
        top: a.top,
    };
    window::Window::check_order(opts.since, opts.until)?;
    let conditions = a.fail_if;
    let redactor = a.redact.redactor()?;

    let rt = runtime()?;
    let (ctx, loaded) = a.data.open(&rt, redactor.as_ref())?;
    warn_loaded(&loaded);
    let mut report = rt.block_on(report::build(&ctx, Some(&loaded), &opts))?;
    let breached = report::fail_if::apply(&mut report, &conditions);
    let text = report::render(&report, format)?;
    match output::write_output(a.output.as_deref(), |w| {
        w.write_all(text.as_bytes())
            .map_err(|e| Error::io("<output>", e))
    }) {
        Err(e) if is_broken_pipe(&e) => {}
        r => r?,
    }
    if report.empty {
        eprintln!(
            "fleetops: note: no operations were created in the window {} – {}",
            window::format_micros(report.window.since.0),
            window::format_micros(report.window.until.0)
        );
    }
    for c in &report.checks {
        match (c.breached, c.value) {
            (true, Some(v)) => {
                eprintln!("fleetops: breached: {} ({} = {v})", c.condition, c.metric)
            }
            (false, None) => eprintln!(
                "fleetops: note: {} has no value in this window, so '{}' is not breached",
                c.metric, c.condition
            ),
            _ => {}
        }
    }
    Ok(if breached {
        ExitCode::from(EXIT_BREACH)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run_named(a: RunArgs) -> Result<ExitCode> {
    let query = queries::find(&a.name, a.queries.as_deref())?;
    let params = a.params;
    // Parameters that do not depend on the data are checked before it is read.
    query.bind(&params, window::Bounds::default())?;
    let format = a.format;
    let redactor = a.redact.redactor()?;
    let rt = runtime()?;
    let (ctx, loaded) = a.data.open(&rt, redactor.as_ref())?;
    warn_loaded(&loaded);
    let (schema, batches) = rt.block_on(async {
        let df = query.dataframe(&ctx, &params).await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        Ok::<_, Error>((schema, batches))
    })?;
    match output::write_output(a.output.as_deref(), |w| {
        output::write_batches(&batches, &schema, format, w)
    }) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        r => r.map(|()| ExitCode::SUCCESS),
    }
}

pub fn queries(a: QueriesArgs) -> Result<ExitCode> {
    let all = queries::load(a.queries.as_deref())?;
    let text = queries::listing(&all);
    match output::write_output(None, |w| {
        w.write_all(text.as_bytes())
            .map_err(|e| Error::io("<stdout>", e))
    }) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        r => r.map(|()| ExitCode::SUCCESS),
    }
}
