//! Datasets whose Parquet files sit in day folders
//! (`operations/created_date=YYYY-MM-DD/`, `created_date=unknown/`), in
//! flat files (`operations/*.parquet`, the first layout) or both.
//!
//! - Every layout gives the same `operations` table (today's columns, no
//!   partition column) and the same report.
//! - A query over a time window lists and opens only its days' files, and
//!   skips the row groups of its first and last day outside the window (the
//!   plan's metrics say so).
//! - A report over one week of four reads, of the other weeks' files, their
//!   footers and, for stuck operations, only their `status` column (every
//!   read of the files is recorded, and mapped to the column chunks it
//!   touches).
//!
//! The data comes from the generator (`fleetops-gen`) and today's ingester;
//! the layouts are written here, so the test does not depend on how the
//! ingester lays its files out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::TimestampMicrosecondType;
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path as StorePath;
use datafusion::object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use fleetops::report::{self, Format, ReportOptions};
use fleetops::schema::{UTC, idx, operations_schema};
use fleetops::session;
use fleetops_gen::Format as GenFormat;
use futures::stream::BoxStream;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::support::micros;

const DAY: i64 = 86_400_000_000;
/// The generated data's first day and length.
const START: &str = "2026-03-02";
const DAYS: u32 = 28;

/// The rows of a generated dataset, as today's ingester wrote them, with two
/// changes the layouts must carry: one operation without a creation time,
/// and one still in progress since the data's third day (stuck, in an old
/// file).
struct Data {
    rows: RecordBatch,
    /// A dataset folder written by the ingester: its manifest is copied.
    base: tempfile::TempDir,
    /// The old operation still in progress.
    in_flight_id: String,
}

fn start() -> i64 {
    micros(&format!("{START}T00:00:00Z"))
}

fn data() -> Data {
    let exports = tempfile::tempdir().unwrap();
    let opts = fleetops_gen::Options {
        ops: 6_000,
        format: GenFormat::Ndjson,
        seed: 15,
        start_day: fleetops_gen::parse_day(START).unwrap(),
        days: DAYS,
        ..Default::default()
    };
    fleetops_gen::generate(&opts, exports.path()).unwrap();
    let base = tempfile::tempdir().unwrap();
    fleetops::ingest::ingest_dataset(
        &[exports.path().to_path_buf()],
        base.path(),
        &Default::default(),
    )
    .unwrap();
    let batches: Vec<RecordBatch> = parquet_files(&base.path().join("operations"))
        .iter()
        .flat_map(|p| read(p))
        .collect();
    let rows = concat_batches(&operations_schema(), &batches).unwrap();

    // Row 0 loses its creation time; the first successful operation of the
    // third day is in progress again.
    let created = rows
        .column(idx::CREATED)
        .as_primitive::<TimestampMicrosecondType>();
    let status = rows.column(idx::STATUS).as_string::<i32>();
    let third = start() + 2 * DAY..start() + 3 * DAY;
    let k = (1..rows.num_rows())
        .find(|&i| third.contains(&created.value(i)) && status.value(i) == "successful")
        .unwrap();
    let in_flight_id = rows.column(idx::ID).as_string::<i32>().value(k).to_string();
    let mut cols = rows.columns().to_vec();
    cols[idx::CREATED] = Arc::new(
        created
            .iter()
            .enumerate()
            .map(|(i, t)| if i == 0 { None } else { t })
            .collect::<TimestampMicrosecondArray>()
            .with_timezone(UTC),
    );
    cols[idx::STATUS] = Arc::new(
        status
            .iter()
            .enumerate()
            .map(|(i, s)| if i == k { Some("inProgress") } else { s })
            .collect::<StringArray>(),
    );
    let completed = rows
        .column(idx::COMPLETED)
        .as_primitive::<TimestampMicrosecondType>();
    cols[idx::COMPLETED] = Arc::new(
        completed
            .iter()
            .enumerate()
            .map(|(i, t)| if i == k { None } else { t })
            .collect::<TimestampMicrosecondArray>()
            .with_timezone(UTC),
    );
    let rows = RecordBatch::try_new(operations_schema(), cols).unwrap();
    Data {
        rows,
        base,
        in_flight_id,
    }
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(parquet_files(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// How a dataset's files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `operations/*.parquet`.
    Flat,
    /// `operations/created_date=YYYY-MM-DD/` and `created_date=unknown/`.
    Days,
    /// The first half of the days flat, the rest in day folders.
    Mixed,
}

/// Writes `data` in `layout` to a new dataset folder. Rows are in creation
/// order within a file, in row groups of 64, so statistics prune inside a
/// day too.
fn write(data: &Data, layout: Layout) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ops = dir.path().join("operations");
    std::fs::create_dir_all(&ops).unwrap();
    std::fs::copy(
        data.base.path().join("_fleetops.json"),
        dir.path().join("_fleetops.json"),
    )
    .unwrap();
    let created = data
        .rows
        .column(idx::CREATED)
        .as_primitive::<TimestampMicrosecondType>();
    // Row indexes by folder ("" for flat), each in creation order.
    let mut by_folder: BTreeMap<String, Vec<(Option<i64>, u32)>> = BTreeMap::new();
    for i in 0..data.rows.num_rows() {
        let t = (!created.is_null(i)).then(|| created.value(i));
        let day = t.map(|t| (t - start()).div_euclid(DAY));
        let folder = match (layout, day) {
            (Layout::Flat, _) => String::new(),
            (Layout::Mixed, Some(d)) if d < i64::from(DAYS) / 2 => String::new(),
            (_, None) => "created_date=unknown".to_string(),
            (_, Some(_)) => format!("created_date={}", day_name(t.unwrap())),
        };
        by_folder.entry(folder).or_default().push((t, i as u32));
    }
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(64))
        .build();
    for (folder, mut rows) in by_folder {
        rows.sort();
        let idx: arrow::array::UInt32Array = rows.iter().map(|&(_, i)| i).collect();
        let cols: Vec<ArrayRef> = data
            .rows
            .columns()
            .iter()
            .map(|c| take(c, &idx, None).unwrap())
            .collect();
        let batch = RecordBatch::try_new(operations_schema(), cols).unwrap();
        let d = ops.join(&folder);
        std::fs::create_dir_all(&d).unwrap();
        let f = std::fs::File::create(d.join("part-00000.parquet")).unwrap();
        let mut w = ArrowWriter::try_new(f, operations_schema(), Some(props.clone())).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    dir
}

fn day_name(t: i64) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn context(dir: &Path) -> SessionContext {
    let ctx = session::new_context().unwrap();
    session::register_data(&ctx, &[dir.to_path_buf()], &Default::default()).unwrap();
    ctx
}

async fn sorted_rows(ctx: &SessionContext) -> Vec<RecordBatch> {
    ctx.sql("SELECT * FROM operations ORDER BY id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
}

/// A week in the middle of the data (its third), starting at noon so that
/// its first and last day are cut inside their files.
fn week() -> ReportOptions {
    let since = start() + 14 * DAY + DAY / 2;
    ReportOptions {
        since: Some(fleetops::internals::window::When::At(since)),
        until: Some(fleetops::internals::window::When::At(since + 7 * DAY - 1)),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_layout_reads_as_the_same_table_and_report() {
    let data = data();
    let mut tables = Vec::new();
    let mut reports = Vec::new();
    for layout in [Layout::Flat, Layout::Days, Layout::Mixed] {
        let dir = write(&data, layout);
        if layout == Layout::Days {
            assert!(dir.path().join("operations/created_date=unknown").is_dir());
        }
        let ctx = context(dir.path());
        let schema = ctx
            .table("operations")
            .await
            .unwrap()
            .schema()
            .inner()
            .clone();
        assert_eq!(schema.fields(), operations_schema().fields(), "{layout:?}");
        tables.push(sorted_rows(&ctx).await);
        let r = report::build(&ctx, None, &week()).await.unwrap();
        reports.push(report::render(&r, Format::Json).unwrap());
    }
    let n: usize = tables[0].iter().map(RecordBatch::num_rows).sum();
    assert_eq!(n, data.rows.num_rows());
    assert_eq!(tables[0], tables[1]);
    assert_eq!(tables[0], tables[2]);
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

/// What the scans of an executed plan did, summed over its `DataSourceExec`s.
#[derive(Debug, Default)]
struct ScanMetrics {
    files_opened: usize,
    rows: usize,
    row_groups: usize,
    row_groups_pruned: usize,
}

fn scan_metrics(plan: &Arc<dyn ExecutionPlan>, out: &mut ScanMetrics) {
    if plan.name() == "DataSourceExec"
        && let Some(metrics) = plan.metrics()
    {
        for m in metrics.iter() {
            match m.value() {
                MetricValue::OutputRows(c) => out.rows += c.value(),
                MetricValue::Count { name, count } if name == "files_opened" => {
                    out.files_opened += count.value();
                }
                MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } if name == "row_groups_pruned_statistics" => {
                    out.row_groups += pruning_metrics.pruned() + pruning_metrics.matched();
                    out.row_groups_pruned += pruning_metrics.pruned();
                }
                _ => {}
            }
        }
    }
    for child in plan.children() {
        scan_metrics(child, out);
    }
}

#[tokio::test]
async fn a_window_query_opens_its_days_and_reads_its_rows() {
    let data = data();
    let dir = write(&data, Layout::Days);
    let ctx = context(dir.path());
    // Noon of day 14 to noon of day 21: eight files, the first and last cut.
    let (lo, hi) = (start() + 14 * DAY + DAY / 2, start() + 21 * DAY + DAY / 2);
    let created = data
        .rows
        .column(idx::CREATED)
        .as_primitive::<TimestampMicrosecondType>();
    let want = created
        .iter()
        .flatten()
        .filter(|t| (lo..hi).contains(t))
        .count();
    let (first_day, end_day) = (start() + 14 * DAY, start() + 22 * DAY);
    let in_days = created
        .iter()
        .flatten()
        .filter(|t| (first_day..end_day).contains(t))
        .count();
    let sql = format!(
        "SELECT operation_type, count(*) AS n FROM operations
         WHERE created_date_time >= to_timestamp_micros({lo}, 'UTC')
           AND created_date_time < to_timestamp_micros({hi}, 'UTC')
         GROUP BY operation_type"
    );
    let df = ctx.sql(&sql).await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    let batches = collect(plan.clone(), ctx.task_ctx()).await.unwrap();
    let counted: i64 = batches
        .iter()
        .map(|b| {
            b.column(1)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum();
    assert_eq!(counted as usize, want);

    let mut m = ScanMetrics::default();
    scan_metrics(&plan, &mut m);
    let files = parquet_files(&dir.path().join("operations")).len();
    assert_eq!(files, DAYS as usize + 1, "a file per day, and unknown");
    assert_eq!(m.files_opened, 8, "{m:?}");
    // Row groups (and pages) of the first and last day outside the window
    // are not read: the scan hands on fewer rows than its eight days hold.
    assert!(
        m.rows >= want && m.rows < in_days,
        "rows out of the scan: {m:?}, want {want}, the days hold {in_days}"
    );
    assert!(m.row_groups_pruned > 0, "{m:?}");
    assert!(m.row_groups_pruned < m.row_groups, "{m:?}");

    // With filters evaluated while decoding (as the report's stuck
    // operations run), the scan hands on exactly the window's rows.
    let mut state = ctx.state();
    state
        .config_mut()
        .options_mut()
        .execution
        .parquet
        .pushdown_filters = true;
    let ctx = SessionContext::new_with_state(state);
    let plan = ctx
        .sql(&sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    collect(plan.clone(), ctx.task_ctx()).await.unwrap();
    let mut m = ScanMetrics::default();
    scan_metrics(&plan, &mut m);
    assert_eq!((m.files_opened, m.rows), (8, want), "{m:?}");
}

/// Every byte range read from a file, recorded around the local file system.
#[derive(Debug)]
struct Recorder {
    inner: LocalFileSystem,
    reads: Mutex<Vec<(String, Range<u64>)>>,
}

impl fmt::Display for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recorder({})", self.inner)
    }
}

impl Recorder {
    fn note(&self, location: &StorePath, range: Range<u64>) {
        self.reads
            .lock()
            .unwrap()
            .push((location.to_string(), range));
    }
}

type StoreResult<T> = datafusion::object_store::Result<T>;

#[async_trait]
impl ObjectStore for Recorder {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> StoreResult<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: PutMultipartOptions,
    ) -> StoreResult<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &StorePath, options: GetOptions) -> StoreResult<GetResult> {
        let head = options.head;
        let r = self.inner.get_opts(location, options).await?;
        if !head {
            self.note(location, r.range.clone());
        }
        Ok(r)
    }

    async fn get_ranges(
        &self,
        location: &StorePath,
        ranges: &[Range<u64>],
    ) -> StoreResult<Vec<Bytes>> {
        for r in ranges {
            self.note(location, r.clone());
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, StoreResult<StorePath>>,
    ) -> BoxStream<'static, StoreResult<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&StorePath>) -> BoxStream<'static, StoreResult<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&StorePath>) -> StoreResult<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> StoreResult<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: RenameOptions,
    ) -> StoreResult<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// The columns whose data a read of `range` touches in the Parquet file
/// `path`. A read that ends at the end of the file fetches the footer (and,
/// in a small file, whatever comes before it): it touches no column.
fn columns_read(path: &Path, range: &Range<u64>) -> BTreeSet<String> {
    let len = std::fs::metadata(path).unwrap().len();
    let mut out = BTreeSet::new();
    if range.end == len {
        return out;
    }
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    for rg in reader.metadata().row_groups() {
        for c in rg.columns() {
            let (start, n) = c.byte_range();
            if range.start < start + n && start < range.end {
                out.insert(c.column_path().string());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_weeks_report_reads_other_weeks_only_for_stuck_operations() {
    let data = data();
    let dir = write(&data, Layout::Days);
    let ctx = context(dir.path());
    let recorder = Arc::new(Recorder {
        inner: LocalFileSystem::new(),
        reads: Mutex::new(Vec::new()),
    });
    ctx.register_object_store(
        ObjectStoreUrl::local_filesystem().as_ref(),
        recorder.clone(),
    );
    let r = report::build(&ctx, None, &week()).await.unwrap();

    // The report is right: the old operation still in progress is stuck.
    let flat = write(&data, Layout::Flat);
    let want = report::build(&context(flat.path()), None, &week())
        .await
        .unwrap();
    assert_eq!(
        report::render(&r, Format::Json).unwrap(),
        report::render(&want, Format::Json).unwrap()
    );
    assert!(
        r.stuck.operations.iter().any(|s| s.id == data.in_flight_id),
        "{:?}",
        r.stuck
    );

    // Days before the previous window, and after the window.
    let first = day_name(r.window.previous_since.0);
    let last = day_name(r.window.until.0);
    let in_flight_day = day_name(start() + 2 * DAY);
    let mut read_by_day: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (location, range) in recorder.reads.lock().unwrap().iter() {
        let path = PathBuf::from(format!("/{location}"));
        let folder = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let day = folder.strip_prefix("created_date=").unwrap().to_string();
        read_by_day
            .entry(day)
            .or_default()
            .extend(columns_read(&path, range));
    }
    assert!(read_by_day.contains_key(&first), "{read_by_day:?}");
    for (day, columns) in &read_by_day {
        if day == "unknown" || *day > last {
            assert!(columns.is_empty(), "{day}: read {columns:?}");
        } else if *day < first && *day != in_flight_day {
            let status: BTreeSet<String> = ["status".to_string()].into();
            assert!(columns.is_subset(&status), "{day}: read {columns:?}");
        }
    }
}
