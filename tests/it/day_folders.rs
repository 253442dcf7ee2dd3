//! Datasets as `fleetops ingest` writes them: day folders
//! (`operations/created_date=YYYY-MM-DD/`, `created_date=unknown/`), the
//! flat files of a version 1 dataset (`operations/*.parquet`), or both.
//!
//! - Every layout gives the same `operations` table (today's columns, no
//!   partition column) and the same report.
//! - A query over a time window opens only the files that can hold its rows,
//!   and the scan hands on only the window's rows (the plan's metrics say so).
//! - A row that is not in the folder of its creation day (an export gave a
//!   stored operation another creation day, or gave one a day only after it
//!   was stored in `unknown`) is still found by a window that holds it, and
//!   filters on other times are not taken for filters on the creation day.
//! - A report over one week of four reads, of the other weeks' files, only
//!   their footers, where it finds their stuck operations (every read of the
//!   files is recorded, and mapped to the column chunks it touches).
//!
//! The data comes from the generator (`fleetops-gen`) and is ingested by the
//! `fleetops` binary; the version 1 layout is made from an ingest by moving
//! its files, as a dataset of that version held them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
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
use fleetops::internals::ingest::Dataset;
use fleetops::internals::ingest::dataset::writer_properties;
use fleetops::report::{self, Format, ReportOptions};
use fleetops::schema::{idx, operations_read_schema, operations_schema};
use fleetops::session;
use fleetops_gen::Format as GenFormat;
use futures::stream::BoxStream;
use parquet::arrow::ArrowWriter;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::support::{assert_ok, fleetops_command, micros, read_parquet, text_at};

const DAY: i64 = 86_400_000_000;
/// The generated data's first day and length.
const START: &str = "2026-03-02";
const DAYS: u32 = 28;

/// Generated exports, with records added (one operation without a creation
/// time, one still in progress since the data's third day, and 33 more
/// stuck in old files), ingested by `fleetops ingest`.
struct Data {
    _folder: tempfile::TempDir,
    /// The ingested dataset (in `_folder`), copied for each layout.
    base: PathBuf,
    /// Its rows.
    rows: RecordBatch,
    /// The old operation still in progress.
    in_flight_id: String,
}

fn start() -> i64 {
    micros(&format!("{START}T00:00:00Z"))
}

/// An RFC 3339 UTC timestamp `offset` after the data's first day.
fn at(offset: i64) -> String {
    chrono::DateTime::from_timestamp_micros(start() + offset)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
    fleetops_gen::generate(&opts, &exports.path().join("generated")).unwrap();
    let in_flight_id = "stuck-since-the-third-day".to_string();
    let mut extra = vec![
        format!(
            r#"{{"id":"without-creation-time","deviceId":"dev-extra","operationType":"deviceRestart","status":"successful","lastActionDateTime":"{}"}}"#,
            at(15 * DAY)
        ),
        format!(
            r#"{{"id":"{in_flight_id}","deviceId":"dev-extra","operationType":"deviceRestart","status":"inProgress","createdDateTime":"{0}","startedDateTime":"{0}","lastActionDateTime":"{0}"}}"#,
            at(2 * DAY + DAY / 3)
        ),
    ];
    // More stuck operations: 30 queued on the first day (more than a file's
    // footer lists) and 3 scheduled on the sixth.
    for (k, day) in (0..30).map(|k| (k, 0)).chain((30..33).map(|k| (k, 5))) {
        let status = if day == 0 { "queued" } else { "scheduled" };
        extra.push(format!(
            r#"{{"id":"stuck-{k:02}","deviceId":"dev-stuck-{device}","operationType":"deviceDiagnostics","status":"{status}","createdDateTime":"{t}","lastActionDateTime":"{t}"}}"#,
            device = k % 4,
            t = at(day * DAY + DAY / 2 + (k % 7) * 60_000_000)
        ));
    }
    let extra = crate::support::write(exports.path(), "extra.ndjson", extra.join("\n") + "\n");
    let folder = tempfile::tempdir().unwrap();
    let base = folder.path().join("ds");
    ingest(&[exports.path().join("generated"), extra], &base);
    let batches: Vec<RecordBatch> = parquet_files(&base.join("operations"))
        .iter()
        .flat_map(|p| read_parquet(p))
        .collect();
    let rows = concat_batches(&operations_schema(), &batches).unwrap();
    Data {
        _folder: folder,
        base,
        rows,
        in_flight_id,
    }
}

/// `fleetops ingest INPUTS --out DIR`.
fn ingest(inputs: &[PathBuf], out: &Path) {
    let o = fleetops_command()
        .arg("ingest")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert_ok(&o);
}

/// A copy of the folder `from` at `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
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

/// How a dataset's files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Version 1: `operations/*.parquet`.
    Flat,
    /// `operations/created_date=YYYY-MM-DD/` and `created_date=unknown/`, as
    /// the ingest wrote them.
    Days,
    /// The first half of the days flat, the rest in day folders.
    Mixed,
}

/// A copy of the ingested dataset, its files moved into `layout`.
fn write(data: &Data, layout: Layout) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&data.base, dir.path());
    let ops = dir.path().join("operations");
    let half = day_name(start() + i64::from(DAYS) / 2 * DAY);
    for (i, f) in Dataset::new(dir.path())
        .files()
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let folder = f.parent().unwrap().file_name().unwrap().to_string_lossy();
        let day = folder.strip_prefix("created_date=").unwrap();
        let flat = match layout {
            Layout::Flat => true,
            Layout::Days => false,
            Layout::Mixed => day != "unknown" && day < half.as_str(),
        };
        if flat {
            std::fs::rename(&f, ops.join(format!("part-old-{i:05}.parquet"))).unwrap();
        }
    }
    for e in std::fs::read_dir(&ops).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && std::fs::read_dir(&p).unwrap().next().is_none() {
            std::fs::remove_dir(&p).unwrap();
        }
    }
    if layout == Layout::Flat {
        // As version 1 wrote it: no id index, and the manifest says so.
        std::fs::remove_dir_all(dir.path().join("_index")).unwrap();
        let manifest = dir.path().join("_fleetops.json");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
        std::fs::write(&manifest, text.replace("\"version\": 2", "\"version\": 1")).unwrap();
    }
    dir
}

/// Rewrites each of the dataset's files in place, in creation order and in
/// row groups of 64 rows, with the ingest's other settings: a day's file
/// then has row groups for statistics to prune, as a day of a large fleet
/// (past the 128K rows of the ingest's row groups) has.
fn in_small_row_groups(dir: &Path) {
    let props = writer_properties()
        .into_builder()
        .set_max_row_group_row_count(Some(64))
        .build();
    for f in parquet_files(&dir.join("operations")) {
        let rows = concat_batches(&operations_schema(), &read_parquet(&f)).unwrap();
        let created = rows
            .column(idx::CREATED)
            .as_primitive::<TimestampMicrosecondType>();
        let mut order: Vec<(Option<i64>, u32)> = (0..rows.num_rows())
            .map(|i| ((!created.is_null(i)).then(|| created.value(i)), i as u32))
            .collect();
        order.sort();
        let order: UInt32Array = order.iter().map(|&(_, i)| i).collect();
        let columns = rows
            .columns()
            .iter()
            .map(|c| take(c, &order, None).unwrap())
            .collect();
        let rows = RecordBatch::try_new(operations_schema(), columns).unwrap();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(&f).unwrap(),
            operations_schema(),
            Some(props.clone()),
        )
        .unwrap();
        w.write(&rows).unwrap();
        w.close().unwrap();
    }
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
        assert_eq!(
            schema.fields(),
            operations_read_schema().fields(),
            "{layout:?}"
        );
        tables.push(sorted_rows(&ctx).await);
        let r = report::build(&ctx, None, &week()).await.unwrap();
        reports.push(report::render(&r, Format::Json).unwrap());
    }
    let n: usize = tables[0].iter().map(RecordBatch::num_rows).sum();
    assert_eq!(n, data.rows.num_rows());
    assert!(n > 5_000, "{n}");
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
    in_small_row_groups(dir.path());
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

/// An export record: `times` are offsets from the data's first day
/// (created, started, completed, last action), `None` for none.
fn record(id: &str, status: &str, times: [Option<i64>; 4]) -> String {
    let mut fields = vec![
        format!(r#""id":"{id}""#),
        r#""deviceId":"dev-1","operationType":"deviceRestart""#.to_string(),
        format!(r#""status":"{status}""#),
    ];
    let names = [
        "createdDateTime",
        "startedDateTime",
        "completedDateTime",
        "lastActionDateTime",
    ];
    for (name, t) in names.iter().zip(times) {
        if let Some(t) = t {
            fields.push(format!(r#""{name}":"{}""#, at(t)));
        }
    }
    format!("{{{}}}\n", fields.join(","))
}

/// The ids `sql` returns, in order.
/// The result of `sql` on `ctx`.
async fn run(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

async fn ids(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = run(ctx, sql).await;
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            out.push(text_at(b.column(0).as_ref(), i).unwrap());
        }
    }
    out
}

/// Files the scans of `sql`'s plan opened.
async fn files_opened(ctx: &SessionContext, sql: &str) -> usize {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    collect(plan.clone(), ctx.task_ctx()).await.unwrap();
    let mut m = ScanMetrics::default();
    scan_metrics(&plan, &mut m);
    m.files_opened
}

/// An id stays in the folder it was first stored in (README, "Where a row
/// lives"): a row can be in another day's folder than its creation time's,
/// in `unknown` with a creation time, or in a day's folder without one. A
/// filter on the creation time finds such rows, and one on another time is
/// not taken for one on the creation day: the dataset answers as the same
/// exports read in memory (no folders) do.
#[tokio::test]
async fn rows_outside_the_folder_of_their_creation_day_are_found() {
    let d = tempfile::tempdir().unwrap();
    let h = DAY / 24;
    let first = crate::support::write(
        d.path(),
        "first.ndjson",
        [
            record(
                "moved",
                "inProgress",
                [Some(2 * DAY), Some(2 * DAY), None, Some(2 * DAY)],
            ),
            record("dated-later", "queued", [None, None, None, Some(2 * DAY)]),
            record(
                "undated-later",
                "successful",
                [
                    Some(16 * DAY),
                    Some(16 * DAY),
                    Some(16 * DAY + h),
                    Some(16 * DAY + h),
                ],
            ),
            record(
                "plain",
                "failed",
                [
                    Some(16 * DAY + 2 * h),
                    Some(16 * DAY + 2 * h),
                    Some(16 * DAY + 3 * h),
                    Some(16 * DAY + 3 * h),
                ],
            ),
            record(
                "long-running",
                "successful",
                [
                    Some(2 * DAY + h),
                    Some(2 * DAY + h),
                    Some(16 * DAY + h),
                    Some(16 * DAY + h),
                ],
            ),
            record(
                "elsewhere",
                "successful",
                [
                    Some(8 * DAY),
                    Some(8 * DAY),
                    Some(8 * DAY + h),
                    Some(8 * DAY + h),
                ],
            ),
        ]
        .concat(),
    );
    let second = crate::support::write(
        d.path(),
        "second.ndjson",
        [
            record(
                "moved",
                "successful",
                [
                    Some(16 * DAY),
                    Some(16 * DAY),
                    Some(16 * DAY + 4 * h),
                    Some(16 * DAY + 4 * h),
                ],
            ),
            record(
                "dated-later",
                "failed",
                [
                    Some(16 * DAY + h),
                    Some(16 * DAY + h),
                    Some(16 * DAY + 4 * h),
                    Some(16 * DAY + 4 * h),
                ],
            ),
            record(
                "undated-later",
                "successful",
                [None, Some(16 * DAY), Some(17 * DAY), Some(17 * DAY)],
            ),
        ]
        .concat(),
    );
    let ds = d.path().join("ds");
    ingest(std::slice::from_ref(&first), &ds);
    ingest(std::slice::from_ref(&second), &ds);

    // Where the ingest kept them.
    let folder_of = |id: &str| -> String {
        let f = parquet_files(&ds.join("operations"))
            .into_iter()
            .find(|f| {
                read_parquet(f).iter().any(|b| {
                    (0..b.num_rows())
                        .any(|i| text_at(b.column(idx::ID).as_ref(), i).as_deref() == Some(id))
                })
            })
            .unwrap();
        f.parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let day = |n: i64| format!("created_date={}", day_name(start() + n * DAY));
    assert_eq!(folder_of("moved"), day(2));
    assert_eq!(folder_of("dated-later"), "created_date=unknown");
    assert_eq!(folder_of("undated-later"), day(16));
    assert_eq!(parquet_files(&ds.join("operations")).len(), 4);

    let stored = context(&ds);
    let memory = session::new_context().unwrap();
    session::register_data(&memory, &[first, second], &Default::default()).unwrap();

    let t = |offset: i64| format!("to_timestamp_micros({}, 'UTC')", start() + offset);
    let select = |filter: String| format!("SELECT id FROM operations WHERE {filter} ORDER BY id");
    let day16 = select(format!(
        "created_date_time >= {} AND created_date_time < {}",
        t(16 * DAY),
        t(17 * DAY)
    ));
    assert_eq!(
        ids(&stored, &day16).await,
        ["dated-later", "moved", "plain"]
    );
    // The day's folder, the older one and `unknown`; not the 8th's.
    assert_eq!(files_opened(&stored, &day16).await, 3);
    let day2 = select(format!(
        "created_date_time >= {} AND created_date_time < {}",
        t(2 * DAY),
        t(3 * DAY)
    ));
    assert_eq!(ids(&stored, &day2).await, ["long-running"]);
    assert_eq!(files_opened(&stored, &day2).await, 1);

    let queries = [
        day16,
        day2,
        select(format!("created_date_time <= {}", t(3 * DAY))),
        select(format!("{} <= created_date_time", t(16 * DAY))),
        select(format!("created_date_time = {}", t(16 * DAY))),
        select(format!(
            "created_date_time BETWEEN {} AND {}",
            t(15 * DAY),
            t(17 * DAY)
        )),
        select("created_date_time IS NULL".into()),
        select(format!("completed_date_time >= {}", t(16 * DAY))),
        select(format!("last_action_date_time >= {}", t(17 * DAY))),
        select(format!(
            "started_date_time >= {} AND created_date_time IS NULL",
            t(16 * DAY)
        )),
    ];
    for sql in &queries {
        assert_eq!(ids(&stored, sql).await, ids(&memory, sql).await, "{sql}");
    }
    for (since, until) in [(15 * DAY, 18 * DAY - 1), (DAY, 4 * DAY - 1)] {
        let opts = ReportOptions {
            since: Some(fleetops::internals::window::When::At(start() + since)),
            until: Some(fleetops::internals::window::When::At(start() + until)),
            ..Default::default()
        };
        let a = report::build(&stored, None, &opts).await.unwrap();
        let b = report::build(&memory, None, &opts).await.unwrap();
        assert_eq!(
            report::render(&a, Format::Json).unwrap(),
            report::render(&b, Format::Json).unwrap()
        );
    }
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

    // The report is right: the same as over the rows in memory (where
    // nothing comes from a footer), and the old operation still in progress
    // is stuck. The same with more stuck operations listed than a footer
    // keeps.
    let in_memory = session::new_context().unwrap();
    session::register_batches(&in_memory, vec![data.rows.clone()]).unwrap();
    let json = |r: &report::Report| report::render(r, Format::Json).unwrap();
    let want = report::build(&in_memory, None, &week()).await.unwrap();
    assert_eq!(json(&r), json(&want));
    assert_eq!(r.stuck.total, 34, "{:?}", r.stuck);
    assert_eq!(r.stuck.operations[0].id, "stuck-00");
    // Files without the summary (written by an earlier version, or by
    // another writer) are scanned, with the same report.
    let plain = write(&data, Layout::Days);
    in_small_row_groups(plain.path());
    let got = report::build(&context(plain.path()), None, &week())
        .await
        .unwrap();
    assert_eq!(json(&got), json(&want));
    let many = ReportOptions { top: 40, ..week() };
    let got = report::build(&context(dir.path()), None, &many)
        .await
        .unwrap();
    let want = report::build(&in_memory, None, &many).await.unwrap();
    assert_eq!(json(&got), json(&want));
    assert_eq!(got.stuck.operations.len(), 34);
    assert!(
        got.stuck
            .operations
            .iter()
            .any(|s| s.id == data.in_flight_id),
        "{:?}",
        got.stuck
    );

    // Days before the previous window, and after the window.
    let first = day_name(r.window.previous_since.0);
    let last = day_name(r.window.until.0);
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
        // Before the previous window, the stuck operations come from the
        // files' footers.
        if day == "unknown" || *day > last || *day < first {
            assert!(columns.is_empty(), "{day}: read {columns:?}");
        }
    }

    // Counts that statistics could answer are those of the rows, struct
    // columns too (a dataset's files give no statistics for them: they are
    // counted by scanning).
    let counts = "SELECT count(*) AS n, count(error) AS e, count(error['code']) AS c,
        count(created_by) AS b, count(device_id) AS d, count(created_date_time) AS t,
        min(created_date_time) AS lo, max(completed_date_time) AS hi FROM operations";
    let got = run(&context(dir.path()), counts).await;
    assert_eq!(got, run(&in_memory, counts).await);
    assert_eq!(got[0].num_rows(), 1);
}
