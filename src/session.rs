//! Putting the `operations` table (and its rejects) on a `SessionContext`.
//!
//! `--data` is either a dataset written by `ingest` (read in place as a
//! Parquet listing table) or raw export files and folders (ingested in memory).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::ingest::dataset::Dataset;
use crate::ingest::{self, FileReject, IngestReport, Manifest};
use crate::schema::rejects::{self, RejectLine, TABLE_NAME as REJECTS_TABLE};
use crate::schema::{TABLE_NAME, operations_read_schema};

mod dataset_format;
mod dataset_table;
mod date_trunc;

pub use dataset_format::DatasetFormat;
pub use dataset_table::DatasetTable;
pub use date_trunc::DateTruncUtc;

/// The session settings fleetops queries run with.
pub fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new().with_information_schema(true);
    let parquet = &mut config.options_mut().execution.parquet;
    // Plain Utf8 strings: exports (CSV, Arrow IPC) then read everywhere as
    // they are; the functions accept Utf8View all the same.
    parquet.schema_force_view_types = false;
    // Where filters are evaluated while decoding (the report turns that on
    // for its stuck operations), the cheapest column goes first, and the
    // other columns are decoded, and their pages read, only for the rows that
    // pass. Off by default: it slowed queries whose filters keep most rows
    // (Q3 of benches/compare by 12%).
    parquet.reorder_filters = true;
    // A fleetops file's footer is a few KiB: the default hint (512 KiB)
    // would read a third of a day's file to plan a query that skips it.
    parquet.metadata_size_hint = Some(16 * 1024);
    // With two partitions or fewer, partial aggregates go to one final
    // aggregation rather than being hashed into partitions first: the
    // exchange cost more than it spread (exact percentiles of 10M durations
    // per operation type, Q2 of benches/compare: a quarter of the time).
    if config.target_partitions() <= 2 {
        config.options_mut().optimizer.repartition_aggregations = false;
    }
    config
}

/// A new `SessionContext` with every fleetops function registered, and
/// DataFusion's `date_trunc` in the form of [`DateTruncUtc`] (the same
/// results, faster on the table's UTC timestamps).
pub fn new_context() -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config(session_config());
    crate::functions::register_all(&ctx)?;
    ctx.register_udf(ScalarUDF::from(DateTruncUtc::default()));
    Ok(ctx)
}

/// What `--data` turned out to be.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// A dataset written by `ingest`, with its log of runs.
    Dataset {
        /// The dataset's folder, as given.
        root: PathBuf,
        /// Its `_fleetops.json`: the log of the ingest runs that wrote it.
        manifest: Manifest,
    },
    /// Raw exports, ingested in memory.
    Exports {
        /// What the in-memory ingest counted, its failures and notes.
        report: IngestReport,
    },
}

fn rejects_batch(rejects: &[FileReject]) -> Result<RecordBatch> {
    let lines: Vec<RejectLine<'_>> = rejects.iter().map(FileReject::as_line).collect();
    rejects::batch(&lines)
}

/// Reads the `_rejects/*.ndjson` files of a dataset.
pub fn read_rejects(root: &Path) -> Result<Vec<FileReject>> {
    let dir = root.join(ingest::dataset::REJECTS_DIR);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(_) => return Ok(Vec::new()),
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let l: RejectLine<'_> = serde_json::from_str(line).map_err(|e| Error::Dataset {
                path: f.clone(),
                message: format!("a damaged reject line ({e})"),
            })?;
            out.push(FileReject::from(l));
        }
    }
    Ok(out)
}

/// DataFusion's Parquet format with the session's Parquet settings (see
/// [`session_config`]; `ParquetFormat::default()` alone would read with
/// DataFusion's defaults).
fn parquet_format(state: &datafusion::execution::SessionState) -> ParquetFormat {
    ParquetFormat::default().with_options(state.table_options().parquet.clone())
}

/// How a cluster reads a dataset's Parquet files: DataFusion's own format
/// (its plans are serialised, and only that format has a wire form), with
/// the session's settings.
#[cfg(feature = "cluster")]
pub(crate) fn dataset_listing_options(
    state: &datafusion::execution::SessionState,
) -> ListingOptions {
    ListingOptions::new(Arc::new(parquet_format(state))).with_file_extension(".parquet")
}

/// Registers the Parquet files of a dataset as the table `name`: both
/// layouts, flat `operations/*.parquet` and day folders
/// `operations/created_date=YYYY-MM-DD/*.parquet` (see [`DatasetTable`]).
pub fn register_dataset(ctx: &SessionContext, root: &Path, name: &str) -> Result<()> {
    let dir = Dataset::new(root).operations_dir();
    let dir = std::path::absolute(&dir).map_err(|e| Error::io(&dir, e))?;
    std::fs::create_dir_all(&dir).ok();
    let state = ctx.state();
    let format = DatasetFormat::new(parquet_format(&state));
    let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    // Each file's statistics are read once per session, not once per query
    // (a report runs about fifteen).
    let cache = state.runtime_env().cache_manager.get_file_statistic_cache();
    let table = DatasetTable::try_new(&dir, options, operations_read_schema(), cache)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Registers `operations` and `rejects` from `--data` paths: one dataset
/// folder, or any mix of export files and folders (ingested in memory).
pub fn register_data(
    ctx: &SessionContext,
    paths: &[PathBuf],
    opts: &ingest::Options,
) -> Result<Loaded> {
    if paths.is_empty() {
        return Err(Error::BadArgument(
            "--data needs a dataset folder or export files".into(),
        ));
    }
    for p in paths {
        if p.as_os_str() != "-" && !p.exists() {
            return Err(Error::io(
                p,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
    }
    if let [root] = paths
        && Dataset::is_dataset(root)
    {
        let manifest = Dataset::new(root).manifest()?;
        register_dataset(ctx, root, TABLE_NAME)?;
        let rejects = rejects_batch(&read_rejects(root)?)?;
        ctx.register_table(
            REJECTS_TABLE,
            Arc::new(MemTable::try_new(rejects::schema(), vec![vec![rejects]])?),
        )?;
        return Ok(Loaded::Dataset {
            root: root.clone(),
            manifest,
        });
    }
    let mem = ingest::ingest_memory(paths, opts)?;
    register_batches(ctx, mem.batches)?;
    let rejects = rejects_batch(&mem.rejects)?;
    ctx.register_table(
        REJECTS_TABLE,
        Arc::new(MemTable::try_new(rejects::schema(), vec![vec![rejects]])?),
    )?;
    Ok(Loaded::Exports { report: mem.report })
}

/// Registers in-memory `operations` batches (in
/// [`operations_schema`](crate::schema::operations_schema)),
/// spread over the session's partitions, as a table of the same schema as a
/// dataset's ([`operations_read_schema`]).
pub fn register_batches(ctx: &SessionContext, batches: Vec<RecordBatch>) -> Result<()> {
    let n = ctx.copied_config().target_partitions().max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); n];
    let schema = operations_read_schema();
    for (i, b) in batches.into_iter().enumerate() {
        // Views of the same buffers: nothing is copied but the offsets.
        let columns = b
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        parts[i % n].push(RecordBatch::try_new(schema.clone(), columns)?);
    }
    let table = MemTable::try_new(schema, parts)?;
    ctx.register_table(TABLE_NAME, Arc::new(table))?;
    Ok(())
}
