//! `fleetops sql`: run SQL over a dataset or raw exports, or open the shell.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use tokio::runtime::Runtime;

use super::{SqlArgs, shell};
use crate::error::{Error, Result};
use crate::output::{self, OutputFormat};
use crate::session::Loaded;

/// The result of one statement.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// True for statements without a result set (`CREATE VIEW`, `SET`, ...).
    pub fn is_empty_statement(&self) -> bool {
        self.schema.fields().is_empty()
    }

    /// `3 rows in 0.012s`.
    pub fn summary(&self) -> String {
        let n = self.rows();
        format!(
            "{n} {} in {:.3}s",
            if n == 1 { "row" } else { "rows" },
            self.elapsed.as_secs_f64()
        )
    }
}

/// The tokio runtime queries run on.
pub(crate) fn runtime() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("<runtime>", e))
}

/// Splits SQL text into statements with the session's dialect (a `;` inside
/// a string literal or comment does not split).
pub(crate) fn parse_statements(ctx: &SessionContext, sql: &str) -> Result<Vec<Statement>> {
    let state = ctx.state();
    let options = state.config().options();
    let dialect = dialect_from_str(options.sql_parser.dialect).ok_or_else(|| {
        Error::BadArgument(format!(
            "unsupported SQL dialect {}",
            options.sql_parser.dialect
        ))
    })?;
    let statements = DFParserBuilder::new(sql)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(options.sql_parser.recursion_limit.get())
        .build()?
        .parse_statements()?;
    Ok(statements.into())
}

/// Plans, runs and collects one statement.
pub(crate) async fn execute(ctx: &SessionContext, statement: Statement) -> Result<Outcome> {
    let start = Instant::now();
    // A fresh state each time: an earlier statement may have changed it.
    let plan = ctx.state().statement_to_plan(statement).await?;
    let df = ctx.execute_logical_plan(plan).await?;
    let schema = df.schema().inner().clone();
    let batches = df.collect().await?;
    Ok(Outcome {
        schema,
        batches,
        elapsed: start.elapsed(),
    })
}

/// Writes one result in `format` to `out`.
pub(crate) fn write_outcome(
    outcome: &Outcome,
    format: OutputFormat,
    out: &mut (dyn std::io::Write + Send),
) -> Result<()> {
    output::write_batches(&outcome.batches, &outcome.schema, format, out)
}

/// One line on stderr about an in-memory ingest that did not take every record.
pub(crate) fn warn_loaded(loaded: &Loaded) {
    let Loaded::Exports { report } = loaded else {
        return;
    };
    let c = &report.counts;
    let mut parts = Vec::new();
    if c.rejected > 0 {
        parts.push(format!(
            "{} of {} records rejected (query the rejects table for the reasons)",
            c.rejected, c.records
        ));
    }
    if c.repaired > 0 {
        parts.push(format!("{} timestamps repaired", c.repaired));
    }
    if !report.failures.is_empty() {
        let files: Vec<&str> = report.failures.iter().map(|f| f.file.as_str()).collect();
        parts.push(format!("unreadable files skipped: {}", files.join(", ")));
    }
    parts.extend(report.notes.iter().cloned());
    if !parts.is_empty() {
        eprintln!("fleetops: warning: {}", super::one_line(&parts.join("; ")));
    }
}

pub fn run(a: SqlArgs) -> Result<ExitCode> {
    let format = a.format;
    if a.query.is_none() {
        if a.output.is_some() {
            return Err(Error::BadArgument(
                "--output needs a QUERY (the shell writes to the terminal)".into(),
            ));
        }
        if matches!(format, OutputFormat::Parquet | OutputFormat::Arrow) {
            return Err(Error::BadArgument(
                "--format parquet and arrow need a QUERY (the shell writes text)".into(),
            ));
        }
    }
    let redactor = a.redact.redactor()?;
    let rt = runtime()?;
    let (ctx, loaded) = a.data.open(&rt, redactor.as_ref())?;
    warn_loaded(&loaded);
    match a.query {
        None => shell::run(&rt, &ctx, format),
        Some(sql) => match rt.block_on(run_query(&ctx, &sql, format, a.output.as_deref())) {
            // `fleetops sql ... | head`: the reader has all it wanted.
            Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
            r => r.map(|()| ExitCode::SUCCESS),
        },
    }
}

/// True when writing failed because the reader of stdout went away.
pub(crate) fn is_broken_pipe(e: &Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Runs every statement of `sql`; a table shows each result, other formats
/// write the result of the last statement.
async fn run_query(
    ctx: &SessionContext,
    sql: &str,
    format: OutputFormat,
    path: Option<&std::path::Path>,
) -> Result<()> {
    let statements = parse_statements(ctx, sql)?;
    if statements.is_empty() {
        return Err(Error::BadArgument("the query has no SQL statement".into()));
    }
    let mut results = Vec::new();
    for statement in statements {
        results.push(execute(ctx, statement).await?);
    }
    if format == OutputFormat::Table {
        let shown: Vec<&Outcome> = results.iter().filter(|o| !o.is_empty_statement()).collect();
        output::write_output(path, |w| {
            for (i, o) in shown.iter().enumerate() {
                if i > 0 {
                    writeln!(w).map_err(|e| Error::io("<output>", e))?;
                }
                write_outcome(o, format, w)?;
            }
            Ok(())
        })
    } else {
        let last = results.last().expect("at least one statement");
        output::write_output(path, |w| write_outcome(last, format, w))
    }
}
