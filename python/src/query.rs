//! `fleetops.report`, `fleetops.run` and `fleetops.queries`: the command
//! line's reports and named queries, with the same arguments and results.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use fleetops::report::{self, Format, ReportOptions, When, Window, queries};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::stream::ArrowStream;
use crate::{block_on, to_py};

/// A session with `data` loaded (and redacted with `redact_key`).
fn load(data: &[PathBuf], redact_key: Option<&[u8]>) -> fleetops::Result<SessionCtx> {
    let redactor = redact_key
        .map(fleetops::redact::Redactor::from_key_text)
        .transpose()?;
    let ctx = fleetops::session::new_context()?;
    let loaded = fleetops::session::register_data(&ctx, data, &Default::default())?;
    if let Some(r) = &redactor {
        fleetops::redact::redact_context(&ctx, r)?;
    }
    Ok(SessionCtx { ctx, loaded })
}

struct SessionCtx {
    ctx: datafusion::prelude::SessionContext,
    loaded: fleetops::session::Loaded,
}

fn parse_when(flag: &str, text: Option<String>) -> fleetops::Result<Option<When>> {
    text.map(|t| {
        t.parse::<When>().map_err(|e| match e {
            fleetops::Error::BadArgument(m) => fleetops::Error::BadArgument(format!("{flag}: {m}")),
            other => other,
        })
    })
    .transpose()
}

/// The fleet reliability report as text (Markdown, HTML or JSON).
#[pyfunction]
#[pyo3(name = "report", signature = (data, since, until, stuck_after, top, format, redact_key))]
#[allow(clippy::too_many_arguments)]
pub fn report_text(
    py: Python<'_>,
    data: Vec<PathBuf>,
    since: Option<String>,
    until: Option<String>,
    stuck_after: Option<String>,
    top: usize,
    format: &str,
    redact_key: Option<Vec<u8>>,
) -> PyResult<String> {
    let format = match format {
        "md" | "markdown" => Format::Markdown,
        "html" => Format::Html,
        "json" => Format::Json,
        other => {
            return Err(to_py(fleetops::Error::BadArgument(format!(
                "format: '{other}' is not a report format; use \"json\", \"md\" or \"html\""
            ))));
        }
    };
    let defaults = ReportOptions::default();
    let opts = ReportOptions {
        since: parse_when("since", since).map_err(to_py)?,
        until: parse_when("until", until).map_err(to_py)?,
        stuck_after: match stuck_after {
            Some(s) => report::parse_span(&s)
                .map_err(|e| to_py(fleetops::Error::BadArgument(format!("stuck_after: {e}"))))?,
            None => defaults.stuck_after,
        },
        top,
    };
    Window::check_order(opts.since, opts.until).map_err(to_py)?;
    block_on(py, async move {
        let s = load(&data, redact_key.as_deref())?;
        let report = report::build(&s.ctx, Some(&s.loaded), &opts).await?;
        report::render(&report, format)
    })
}

/// A named query's result.
#[pyfunction]
#[pyo3(name = "run", signature = (name, data, params, queries_dir, redact_key))]
pub fn run_query(
    py: Python<'_>,
    name: &str,
    data: Vec<PathBuf>,
    params: Vec<(String, String)>,
    queries_dir: Option<PathBuf>,
    redact_key: Option<Vec<u8>>,
) -> PyResult<ArrowStream> {
    let query = queries::find(name, queries_dir.as_deref()).map_err(to_py)?;
    // Parameters that do not depend on the data are checked before it is read.
    query
        .bind(&params, report::Bounds::default())
        .map_err(to_py)?;
    let (schema, batches) = block_on(py, async move {
        let s = load(&data, redact_key.as_deref())?;
        let df = query.dataframe(&s.ctx, &params).await?;
        let schema = df.schema().inner().clone();
        // Plain strings, as the CLI's exports: the table reads some columns
        // as views, which pandas and older pyarrow take less well.
        let schema = plain_strings(&schema);
        let batches = df
            .collect()
            .await?
            .iter()
            .map(|b| {
                let columns = b
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(RecordBatch::try_new(schema.clone(), columns)?)
            })
            .collect::<fleetops::Result<Vec<_>>>()?;
        Ok((schema, batches))
    })?;
    Ok(ArrowStream::new(schema, batches))
}

/// `schema` with its top-level Utf8View columns as Utf8.
fn plain_strings(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View => f.as_ref().clone().with_data_type(DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The named queries (built in, and those of `queries_dir`), with their
/// parameters.
#[pyfunction]
#[pyo3(name = "queries", signature = (queries_dir))]
pub fn list_queries(
    py: Python<'_>,
    queries_dir: Option<PathBuf>,
) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let all = queries::load(queries_dir.as_deref()).map_err(to_py)?;
    all.iter()
        .map(|q| {
            let d = PyDict::new(py);
            d.set_item("name", &q.name)?;
            d.set_item("title", &q.title)?;
            d.set_item("description", &q.description)?;
            let params = q
                .params
                .iter()
                .map(|p| {
                    let pd = PyDict::new(py);
                    pd.set_item("name", &p.name)?;
                    pd.set_item("type", p.ty.name())?;
                    pd.set_item("default", p.default.as_deref())?;
                    pd.set_item("description", &p.description)?;
                    Ok(pd)
                })
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("params", params)?;
            Ok(d)
        })
        .collect()
}
