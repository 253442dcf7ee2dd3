//! The numbers of the fleet reliability report, computed with SQL on a
//! `SessionContext` that has the `operations` table (and, optionally,
//! `rejects`) registered. The per-type statistics are those of
//! `operation_type_stats()` ([`operation_stats`]), applied to the window.
//!
//! An operation belongs to the window its `created_date_time` falls in (when
//! the admin or the automation asked for it). Everything is sorted with
//! tie-breakers and rounded (rates to 6 decimals, seconds to milliseconds), so
//! the same data always gives the same report.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemoryCatalogProviderList, MemorySchemaProvider,
    SchemaProvider,
};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::functions_aggregate::expr_fn::{count, count_distinct};
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, col, lit};
use datafusion::prelude::SessionContext;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::fail_if::Check;
use super::window::{self, Bounds, When, Window, format_micros};
use crate::error::{Error, Result};
use crate::functions::{operation_stats, stats_column as stat};
use crate::ingest::IngestReport;
use crate::ingest::in_flight::InFlight;
use crate::schema::rejects::TABLE_NAME as REJECTS_TABLE;
use crate::schema::{TABLE_NAME, UTC, col as input};
use crate::session::{DatasetTable, Loaded};

/// Version of the JSON report layout; bumped when a key changes meaning.
pub const REPORT_VERSION: u32 = 2;

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOptions {
    /// Start of the window (default: [`window::DEFAULT_SPAN`] before the end).
    pub since: Option<When>,
    /// End of the window (default: the latest timestamp in the data).
    pub until: Option<When>,
    /// An operation unfinished this long after creation is stuck (microseconds).
    pub stuck_after: i64,
    /// Rows in the top-N tables (devices, error codes, stuck operations).
    pub top: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            since: None,
            until: None,
            stuck_after: window::DAY,
            top: 10,
        }
    }
}

/// A timestamp, serialised as RFC 3339 UTC text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub i64);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&format_micros(self.0))
    }
}

/// A number in the headline: a count or a measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A count (operations, devices).
    Count(i64),
    /// A measure: a rate (0–1) or seconds.
    Real(f64),
}

impl Num {
    /// The number as `f64`, for comparisons such as `--fail-if`.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Count(n) => n as f64,
            Num::Real(x) => x,
        }
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match *self {
            Num::Count(n) => s.serialize_i64(n),
            Num::Real(x) => s.serialize_f64(x),
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `fleetops-report`.
    pub format: &'static str,
    /// Version of the layout: [`REPORT_VERSION`].
    pub version: u32,
    /// The window reported on, and the previous one it is compared with.
    pub window: WindowInfo,
    /// The whole data, regardless of the window.
    pub data: DataInfo,
    /// The options the report was built with.
    pub settings: Settings,
    /// No operation was created in the window.
    pub empty: bool,
    /// The headline figures of the window against the previous window, keyed by metric.
    pub headline: Headline,
    /// Per operation type, worst failure rate first (ties: more failures, more operations, then
    /// by name).
    pub operation_types: Vec<TypeRow>,
    /// One row per UTC day of the window, oldest first, days without operations included.
    pub daily: Vec<DayRow>,
    /// The devices with the most failures in the window (at most `top`, only devices with a
    /// failure).
    pub top_devices: Vec<DeviceRow>,
    /// The error codes of the failed operations in the window, most failures first (at most `top`).
    pub top_errors: Vec<ErrorRow>,
    /// Operations stuck at the end of the window.
    pub stuck: Stuck,
    /// Start → completion durations of the window's operations, in fixed buckets.
    pub durations: Vec<DurationBucket>,
    /// Ingest counts, rejected records and findings about the data.
    pub data_quality: Quality,
    /// The `--fail-if` conditions and their outcome.
    pub checks: Vec<Check>,
}

/// The report's window `[since, until]` and the previous window of the same length just before
/// it (JSON `window`).
#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    /// First instant in the window.
    pub since: Ts,
    /// Last instant in the window (inclusive).
    pub until: Ts,
    /// Length of the window, in seconds (whole seconds once it is a second or longer).
    pub length_s: f64,
    /// The length for people: `7d`.
    pub length: String,
    /// The previous window, `[previous_since, previous_until)`.
    pub previous_since: Ts,
    /// End of the previous window (exclusive): the window's `since`.
    pub previous_until: Ts,
}

/// The whole data, not only the window (JSON `data`).
#[derive(Debug, Clone, Serialize)]
pub struct DataInfo {
    /// Operations in the whole data (not only the window).
    pub operations: i64,
    /// The earliest timestamp of any kind (created, started, completed, last action); `None`
    /// without any.
    pub earliest: Option<Ts>,
    /// The latest timestamp of any kind; `None` without any.
    pub latest: Option<Ts>,
    /// The previous window lies entirely within the data's time span.
    pub previous_window_covered: bool,
}

/// The options the report was built with (JSON `settings`).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// `--stuck-after`: how long after creation an unfinished operation counts as stuck, in
    /// seconds.
    pub stuck_after_s: f64,
    /// `--top`: rows in the top-N tables (devices, error codes, stuck operations, rejects).
    pub top: usize,
}

/// One headline figure, this window against the previous one.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The key in JSON and in `--fail-if`.
    pub key: &'static str,
    /// The name for people.
    pub label: &'static str,
    /// The value in the window; `None` when it has none (a rate with nothing finished).
    pub current: Option<Num>,
    /// The value in the previous window; `None` when it has none.
    pub previous: Option<Num>,
    /// `Some(true)` when a rise is bad, `None` when neither way is.
    pub higher_is_worse: Option<bool>,
}

impl Metric {
    /// current - previous.
    pub fn change(&self) -> Option<Num> {
        match (self.current?, self.previous?) {
            (Num::Count(a), Num::Count(b)) => Some(Num::Count(a - b)),
            (a, b) => Some(Num::Real(round(a.as_f64() - b.as_f64(), 6))),
        }
    }

    /// `up`, `down` or `same`.
    pub fn direction(&self) -> Option<&'static str> {
        let c = self.change()?.as_f64();
        Some(if c > 0.0 {
            "up"
        } else if c < 0.0 {
            "down"
        } else {
            "same"
        })
    }

    /// Whether the change is for the worse (`None` for neutral figures or no change).
    pub fn worse(&self) -> Option<bool> {
        let higher_is_worse = self.higher_is_worse?;
        match self.direction()? {
            "up" => Some(higher_is_worse),
            "down" => Some(!higher_is_worse),
            _ => Some(false),
        }
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("current", &self.current)?;
        m.serialize_entry("previous", &self.previous)?;
        m.serialize_entry("change", &self.change())?;
        m.serialize_entry("direction", &self.direction())?;
        m.serialize_entry("worse", &self.worse())?;
        m.end()
    }
}

/// The headline figures, in a fixed order (a JSON object keyed by metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Headline(pub Vec<Metric>);

impl Headline {
    /// The metric with this key.
    pub fn get(&self, key: &str) -> Option<&Metric> {
        self.0.iter().find(|m| m.key == key)
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<&'static str> {
        self.0.iter().map(|m| m.key).collect()
    }
}

impl Serialize for Headline {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for metric in &self.0 {
            m.serialize_entry(metric.key, metric)?;
        }
        m.end()
    }
}

/// The metric keys `--fail-if` accepts, in headline order.
pub const METRICS: [&str; 10] = [
    "operations",
    "successful",
    "failed",
    "cancelled",
    "in_flight",
    "devices",
    "failure_rate",
    "p50_duration_s",
    "p95_duration_s",
    "stuck",
];

/// Figures of one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Operations created in the window.
    pub operations: i64,
    /// Of those, successful.
    pub successful: i64,
    /// Of those, failed.
    pub failed: i64,
    /// Of those, cancelled.
    pub cancelled: i64,
    /// Of those, queued, scheduled or in progress.
    pub in_flight: i64,
    /// Distinct device ids among them.
    pub devices: i64,
    /// failed / (successful + failed), 0–1; `None` when nothing finished.
    pub failure_rate: Option<f64>,
    /// Median start → completion duration, in seconds; `None` without durations.
    pub p50_duration_s: Option<f64>,
    /// 95th percentile start → completion duration, in seconds; `None` without durations.
    pub p95_duration_s: Option<f64>,
    /// Operations (created at any time) stuck at the end of the window.
    pub stuck: i64,
}

fn headline(cur: &Figures, prev: Option<&Figures>) -> Headline {
    let count = |key, label, f: fn(&Figures) -> i64, worse| Metric {
        key,
        label,
        current: Some(Num::Count(f(cur))),
        previous: prev.map(|p| Num::Count(f(p))),
        higher_is_worse: worse,
    };
    let real = |key, label, f: fn(&Figures) -> Option<f64>, worse| Metric {
        key,
        label,
        current: f(cur).map(Num::Real),
        previous: prev.and_then(f).map(Num::Real),
        higher_is_worse: worse,
    };
    Headline(vec![
        count("operations", "Operations", |f| f.operations, None),
        count("successful", "Successful", |f| f.successful, None),
        count("failed", "Failed", |f| f.failed, Some(true)),
        count("cancelled", "Cancelled", |f| f.cancelled, None),
        count("in_flight", "In flight", |f| f.in_flight, None),
        count("devices", "Devices", |f| f.devices, None),
        real(
            "failure_rate",
            "Failure rate",
            |f| f.failure_rate,
            Some(true),
        ),
        real(
            "p50_duration_s",
            "Median duration",
            |f| f.p50_duration_s,
            Some(true),
        ),
        real(
            "p95_duration_s",
            "p95 duration",
            |f| f.p95_duration_s,
            Some(true),
        ),
        count("stuck", "Stuck operations", |f| f.stuck, Some(true)),
    ])
}

/// One operation type's figures in the window (JSON `operation_types`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeRow {
    /// The operation type; `None` for operations without one.
    pub operation_type: Option<String>,
    /// Operations of the type created in the window.
    pub operations: i64,
    /// Of those, successful.
    pub successful: i64,
    /// Of those, failed.
    pub failed: i64,
    /// Of those, cancelled.
    pub cancelled: i64,
    /// Of those, queued, scheduled or in progress.
    pub in_flight: i64,
    /// failed / (successful + failed), 0–1; `None` when nothing finished.
    pub failure_rate: Option<f64>,
    /// The type's failure rate in the previous window.
    pub previous_failure_rate: Option<f64>,
    /// Median start → completion duration, in seconds; `None` without durations.
    pub p50_duration_s: Option<f64>,
    /// 95th percentile start → completion duration, in seconds; `None` without durations.
    pub p95_duration_s: Option<f64>,
    /// Mean creation → start (queue) time, in seconds; `None` without queue times.
    pub mean_queue_s: Option<f64>,
}

/// One UTC day of the window (JSON `daily`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayRow {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Only part of the day lies in the window (its first or last day).
    pub partial: bool,
    /// Operations created that day (within the window).
    pub operations: i64,
    /// Of those, successful.
    pub successful: i64,
    /// Of those, failed.
    pub failed: i64,
    /// failed / (successful + failed), 0–1; `None` when nothing finished.
    pub failure_rate: Option<f64>,
    /// Per operation type, only the types with operations that day.
    pub by_type: Vec<DayTypeRow>,
}

/// One operation type on one day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayTypeRow {
    /// The operation type; `None` for operations without one.
    pub operation_type: Option<String>,
    /// Operations of the type created that day (within the window).
    pub operations: i64,
    /// Of those, successful.
    pub successful: i64,
    /// Of those, failed.
    pub failed: i64,
    /// failed / (successful + failed), 0–1; `None` when nothing finished.
    pub failure_rate: Option<f64>,
}

/// A device with failures in the window (JSON `top_devices`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceRow {
    /// The device id; `None` for operations without one.
    pub device_id: Option<String>,
    /// The device's operations created in the window.
    pub operations: i64,
    /// Of those, failed.
    pub failed: i64,
    /// failed / (successful + failed), 0–1; `None` when nothing finished.
    pub failure_rate: Option<f64>,
    /// The device's most frequent error code (ties: the first by name).
    pub top_error_code: Option<String>,
    /// Creation time of the device's latest failed operation in the window.
    pub last_failure: Option<Ts>,
}

/// An error code of the window's failed operations (JSON `top_errors`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorRow {
    /// The Graph `error.code`; `None` for failures without one.
    pub error_code: Option<String>,
    /// Failed operations created in the window with this code.
    pub failures: i64,
    /// Share of all failures in the window.
    pub share: f64,
    /// Distinct device ids among them.
    pub devices: i64,
    /// Their distinct operation types, sorted.
    pub operation_types: Vec<String>,
    /// One of their error messages (the first in text order); `None` when none has one.
    pub example_message: Option<String>,
    /// Creation time of the latest of them.
    pub last_seen: Option<Ts>,
}

/// Operations still unfinished long after creation, judged at the end of the window (JSON `stuck`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stuck {
    /// The moment judged from: the end of the window.
    pub as_of: Ts,
    /// How long after creation an unfinished operation counts as stuck, in seconds
    /// (`--stuck-after`).
    pub older_than_s: f64,
    /// How many operations are stuck (all of them, not only those listed).
    pub total: i64,
    /// The oldest `top` of them.
    pub operations: Vec<StuckRow>,
}

/// One stuck operation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StuckRow {
    /// The operation's `id`.
    pub id: String,
    /// The device id; `None` when unknown.
    pub device_id: Option<String>,
    /// The operation type; `None` when the export had none.
    pub operation_type: Option<String>,
    /// The status in the data (`successful` etc. when it finished after `as_of`).
    pub status: Option<String>,
    /// When the operation was created.
    pub created: Ts,
    /// Time from creation to `as_of`, in seconds.
    pub age_s: f64,
}

/// Bucket limits of the duration distribution, in seconds.
pub const DURATION_EDGES: [f64; 9] = [
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

/// One bucket of the duration distribution (JSON `durations`): `[min_s, max_s)`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DurationBucket {
    /// `10s–30s`, `≥ 2h`.
    pub label: String,
    /// Lower limit (inclusive), in seconds.
    pub min_s: f64,
    /// Upper limit (exclusive), in seconds; `None` for the last, open bucket.
    pub max_s: Option<f64>,
    /// Operations created in the window whose start → completion duration falls in the bucket.
    pub operations: i64,
    /// Of those, failed.
    pub failed: i64,
}

/// Notes on the data's quality (JSON `data_quality`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quality {
    /// What the ingest runs counted (from the dataset's log, or the in-memory ingest).
    pub ingest: Option<IngestSummary>,
    /// The rejected records (the `rejects` table).
    pub rejects: Rejects,
    /// Findings about the operations created in the window (and, for `no_created`, about the
    /// whole data), as counts of operations.
    pub findings: Vec<Finding>,
    /// Remarks of the ingest (skipped `$batch` responses and the like).
    pub notes: Vec<String>,
}

/// What ingest counted: summed over a dataset's runs, or the in-memory ingest of raw exports
/// (JSON `data_quality.ingest`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IngestSummary {
    /// Runs in the dataset's log; `None` for exports read in memory.
    pub runs: Option<u64>,
    /// Input files read.
    pub files: u64,
    /// Records read.
    pub records: u64,
    /// Records collapsed into another with the same `id`.
    pub duplicates: u64,
    /// Records rejected (see [`Rejects`]).
    pub rejected: u64,
    /// Records with a timestamp that was repaired (`12-01-03.45Z` read as `12:01:03.45Z`).
    pub repaired: u64,
    /// Files that could not be read and were skipped (`--keep-going`).
    pub failed_files: u64,
}

/// The rejected records of the data.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejects {
    /// Rejected records in all (rows of the `rejects` table; 0 when there is none).
    pub total: i64,
    /// The first `top` rejects by file and place.
    pub listed: Vec<RejectRow>,
}

/// One rejected record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RejectRow {
    /// The input file, as ingest named it.
    pub file: String,
    /// `line 7`, `index 3`, `response 2, index 0`.
    pub place: String,
    /// Why the record was rejected.
    pub reason: String,
}

/// One finding about the data: a count of operations with a flaw.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// A stable name for the flaw: `no_device`, `no_created`, `no_type`, `no_status`,
    /// `completed_before_started`, `started_before_created`, `finished_without_completion`,
    /// `unknown_status`.
    pub key: &'static str,
    /// How many operations.
    pub count: i64,
    /// What is wrong with them, to follow "N operation(s)".
    pub text: String,
}

// ---------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------

const IN_WINDOW: &str = "created_date_time >= $lo AND created_date_time < $hi";

const IN_FLIGHT: &str = "status IN ('queued', 'scheduled', 'inProgress')";

/// The operations stuck at `$as_of`, as two disjoint branches (an `OR` of
/// the two would stop Parquet statistics from pruning either): those the
/// data still shows unfinished, and those that finished only after `$as_of`.
/// The first reads only `status` of old files where nothing is in flight;
/// the second only files whose completion times reach past `$as_of`.
fn stuck_rows(columns: &str) -> String {
    format!(
        "SELECT {columns} FROM operations
         WHERE {IN_FLIGHT} AND created_date_time <= $as_of - $older_than
         UNION ALL
         SELECT {columns} FROM operations
         WHERE completed_date_time > $as_of AND is_terminal(status)
           AND created_date_time <= $as_of - $older_than"
    )
}

/// The per-type statistics ([`operation_stats`], as `operation_type_stats()`
/// computes them) of the operations created in `[lo, hi)`, grouped by `by`
/// and then by operation type.
async fn stats_by_type(ctx: &SessionContext, lo: i64, hi: i64, by: Vec<Expr>) -> Result<DataFrame> {
    let mut group = by;
    group.push(col(input::OPERATION_TYPE));
    Ok(created_in(ctx, lo, hi)
        .await?
        .aggregate(group, operation_stats()?)?)
}

/// The operations created in `[lo, hi)`.
async fn created_in(ctx: &SessionContext, lo: i64, hi: i64) -> Result<DataFrame> {
    let created = || col(input::CREATED);
    let in_window = created().gt_eq(lit(ts(lo))).and(created().lt(lit(ts(hi))));
    Ok(ctx.table(TABLE_NAME).await?.filter(in_window)?)
}

fn devices_sql() -> String {
    format!(
        "SELECT
            device_id,
            count(*) AS operations,
            count(*) FILTER (WHERE is_failed(status)) AS failed,
            failure_rate(status) AS failure_rate,
            CAST(max(created_date_time) FILTER (WHERE is_failed(status)) AS BIGINT) AS last_failure
        FROM operations WHERE {IN_WINDOW}
        GROUP BY device_id
        HAVING count(*) FILTER (WHERE is_failed(status)) > 0"
    )
}

fn device_codes_sql() -> String {
    format!(
        "SELECT device_id, error['code'] AS code, count(*) AS n
        FROM operations WHERE is_failed(status) AND {IN_WINDOW}
        GROUP BY 1, 2"
    )
}

fn errors_sql() -> String {
    format!(
        "SELECT
            error['code'] AS code,
            count(*) AS failures,
            count(DISTINCT device_id) AS devices,
            string_agg(DISTINCT operation_type, '\n' ORDER BY operation_type) AS types,
            min(error['message']) AS message,
            CAST(max(created_date_time) AS BIGINT) AS last_seen
        FROM operations WHERE is_failed(status) AND {IN_WINDOW}
        GROUP BY 1"
    )
}

fn durations_sql() -> String {
    let mut case = String::from("CASE");
    for (i, e) in DURATION_EDGES.iter().enumerate() {
        case.push_str(&format!(" WHEN s < {e:.1} THEN {i}"));
    }
    case.push_str(&format!(" ELSE {} END", DURATION_EDGES.len()));
    format!(
        "WITH d AS (
            SELECT op_duration_seconds(started_date_time, completed_date_time) AS s, status
            FROM operations WHERE {IN_WINDOW}
        )
        SELECT CAST({case} AS BIGINT) AS bucket, count(*) AS operations,
            count(*) FILTER (WHERE is_failed(status)) AS failed
        FROM d WHERE s IS NOT NULL GROUP BY 1"
    )
}

/// Data-quality counts over the operations created in the window, as
/// aggregates of the window's figures (one pass over its rows for both).
fn finding_aggregates() -> Result<Vec<Expr>> {
    let c = |column: &str| col(column);
    let counted = |name: &str, when: Expr| -> Result<Expr> {
        Ok(count(lit(1)).filter(when).build()?.alias(name))
    };
    let finished = c(input::STATUS).in_list(vec![lit("successful"), lit("failed")], false);
    Ok(vec![
        counted("no_device", c(input::DEVICE_ID).is_null())?,
        counted("no_type", c(input::OPERATION_TYPE).is_null())?,
        counted("no_status", c(input::STATUS).is_null())?,
        counted(
            "completed_before_started",
            c(input::COMPLETED).lt(c(input::STARTED)),
        )?,
        counted(
            "started_before_created",
            c(input::STARTED).lt(c(input::CREATED)),
        )?,
        counted(
            "finished_without_completion",
            finished.and(c(input::COMPLETED).is_null()),
        )?,
    ])
}

fn unknown_status_sql() -> String {
    format!(
        "SELECT status, count(*) AS n FROM operations
        WHERE status IS NOT NULL
          AND status NOT IN ('queued', 'scheduled', 'inProgress', 'successful', 'failed', 'cancelled')
          AND {IN_WINDOW}
        GROUP BY status"
    )
}

/// Figures of the whole data. Each is a count of rows or non-NULL values,
/// or a minimum or maximum of a column, so DataFusion answers the query from
/// the Parquet files' statistics without reading their data (it scans when a
/// file has no exact statistics, with the same result).
const TOTALS_SQL: &str = "SELECT
        count(*) AS operations,
        count(created_date_time) AS created,
        CAST(least(min(created_date_time), min(started_date_time), min(completed_date_time),
                   min(last_action_date_time)) AS BIGINT) AS earliest,
        CAST(greatest(max(created_date_time), max(started_date_time), max(completed_date_time),
                      max(last_action_date_time)) AS BIGINT) AS latest
    FROM operations";

/// Figures of the whole data, from the files' statistics where they have them.
struct Totals {
    operations: i64,
    /// Operations without a creation time (outside every window).
    no_created: i64,
    bounds: Bounds,
}

async fn totals(ctx: &SessionContext) -> Result<Totals> {
    let t = query(ctx, TOTALS_SQL, Vec::new()).await?;
    let one = |v: Vec<i64>| v.first().copied().unwrap_or_default();
    let operations = one(t.count("operations")?);
    Ok(Totals {
        operations,
        no_created: operations - one(t.count("created")?),
        bounds: Bounds {
            earliest: t.i64("earliest")?.first().copied().flatten(),
            latest: t.i64("latest")?.first().copied().flatten(),
        },
    })
}

/// The earliest and latest timestamp of any kind in `operations`.
pub async fn data_bounds(ctx: &SessionContext) -> Result<Bounds> {
    Ok(totals(ctx).await?.bounds)
}

/// A query's result as one batch, with typed column readers.
struct Table(RecordBatch);

impl Table {
    fn len(&self) -> usize {
        self.0.num_rows()
    }

    fn column(&self, name: &str, to: &DataType) -> Result<arrow::array::ArrayRef> {
        let c = self
            .0
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("report query lost its column '{name}'")))?;
        Ok(arrow::compute::cast(c, to)?)
    }

    fn i64(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let c = self.column(name, &DataType::Int64)?;
        Ok(c.as_primitive::<Int64Type>().iter().collect())
    }

    fn count(&self, name: &str) -> Result<Vec<i64>> {
        Ok(self
            .i64(name)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    fn f64(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let c = self.column(name, &DataType::Float64)?;
        Ok(c.as_primitive::<Float64Type>().iter().collect())
    }

    fn str(&self, name: &str) -> Result<Vec<Option<String>>> {
        let c = self.column(name, &DataType::Utf8)?;
        Ok(c.as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect())
    }
}

async fn query(ctx: &SessionContext, sql: &str, params: Vec<(&str, ScalarValue)>) -> Result<Table> {
    let df = ctx.sql(sql).await?;
    let df = if params.is_empty() {
        df
    } else {
        df.with_param_values(ParamValues::from(params))?
    };
    collect(df).await
}

async fn collect(df: DataFrame) -> Result<Table> {
    let schema = df.schema().inner().clone();
    let batches = df.collect().await?;
    let batch = arrow::compute::concat_batches(&schema, &batches)?;
    Ok(Table(batch))
}

fn ts(micros: i64) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(micros), Some(UTC.into()))
}

fn range(lo: i64, hi: i64) -> Vec<(&'static str, ScalarValue)> {
    vec![("lo", ts(lo)), ("hi", ts(hi))]
}

/// Rounds to `digits` decimals (ties away from zero), so that summation
/// order never shows in the output.
pub fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    let r = (x * p).round() / p;
    if r == 0.0 { 0.0 } else { r }
}

fn rate(failed: i64, successful: i64) -> Option<f64> {
    let n = failed + successful;
    (n > 0).then(|| round(failed as f64 / n as f64, 6))
}

fn secs(x: Option<f64>) -> Option<f64> {
    x.map(|v| round(v, 3))
}

/// Orders optional text with `None` last.
fn cmp_opt_str(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Orders optional rates high to low, `None` last.
fn cmp_rate_desc(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// The figures of the operations created in `[lo, hi)`, with `stuck` (see
/// [`stuck_counts`]), and the one-row result of the query, which has the
/// `extra` aggregates too.
async fn figures(
    ctx: &SessionContext,
    lo: i64,
    hi: i64,
    stuck: i64,
    extra: Vec<Expr>,
) -> Result<(Figures, Table)> {
    // The statistics of `operation_type_stats()`, over the whole window
    // rather than per type, and the devices.
    let mut aggregates = operation_stats()?;
    aggregates.push(count_distinct(col(input::DEVICE_ID)).alias("devices"));
    aggregates.extend(extra);
    let df = created_in(ctx, lo, hi)
        .await?
        .aggregate(vec![], aggregates)?;
    let t = collect(df).await?;
    let one = |v: Vec<i64>| v.first().copied().unwrap_or_default();
    let figures = Figures {
        operations: one(t.count(stat::OPERATIONS)?),
        successful: one(t.count(stat::SUCCESSFUL)?),
        failed: one(t.count(stat::FAILED)?),
        cancelled: one(t.count(stat::CANCELLED)?),
        in_flight: one(t.count(stat::IN_FLIGHT)?),
        devices: one(t.count("devices")?),
        failure_rate: t.f64(stat::FAILURE_RATE)?[0].map(|r| round(r, 6)),
        p50_duration_s: secs(t.f64(stat::P50_DURATION_S)?[0]),
        p95_duration_s: secs(t.f64(stat::P95_DURATION_S)?[0]),
        stuck,
    };
    Ok((figures, t))
}

fn stuck_params(as_of: i64, older_than: i64) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("as_of", ts(as_of)),
        (
            "older_than",
            ScalarValue::IntervalMonthDayNano(Some(arrow::datatypes::IntervalMonthDayNano::new(
                0,
                0,
                older_than.saturating_mul(1000),
            ))),
        ),
    ]
}

/// Where the stuck operations come from: the in-flight summaries of the
/// dataset files too old to hold anything else they count, and a context
/// whose `operations` is the rest.
struct StuckSource {
    summarised: InFlight,
    /// With Parquet filter pushdown on: the in-flight branch then reads only
    /// `status` of files where nothing is in flight, and the other columns
    /// only for the rows that pass (the session keeps it off: it slowed
    /// queries whose filters keep most rows).
    ctx: SessionContext,
}

impl StuckSource {
    /// For the stuck operations at `as_of` and at `previous_as_of`, stuck
    /// when created `older_than` before either, listing `top` of them.
    ///
    /// A file of a dataset whose rows were all created by `previous_as_of -
    /// older_than` and completed (if at all) by `previous_as_of` adds exactly
    /// its in-flight rows to both counts and the list: they come from its
    /// footer's summary, and the file is not scanned. Over a year of data
    /// that leaves the window's own files and the few old ones changed
    /// since. Other tables (exports read in memory) are scanned whole.
    async fn new(
        ctx: &SessionContext,
        previous_as_of: i64,
        older_than: i64,
        top: usize,
    ) -> Result<StuckSource> {
        let mut state = ctx.state();
        state
            .config_mut()
            .options_mut()
            .execution
            .parquet
            .pushdown_filters = true;
        let provider = ctx.table_provider(TABLE_NAME).await?;
        let Some(table) = provider.downcast_ref::<DatasetTable>() else {
            return Ok(StuckSource {
                summarised: InFlight::default(),
                ctx: SessionContext::new_with_state(state),
            });
        };
        let (summarised, rest) = table
            .split_in_flight(
                &state,
                previous_as_of.saturating_sub(older_than),
                previous_as_of,
                top,
            )
            .await?;
        // A context of its own (the catalog of `ctx` is shared by its clones)
        // with the rest as `operations`.
        let state = SessionStateBuilder::new_from_existing(state)
            .with_catalog_list(Arc::new(MemoryCatalogProviderList::new()))
            .build();
        let names = state.config_options().catalog.clone();
        let schema = MemorySchemaProvider::new();
        schema.register_table(TABLE_NAME.to_string(), Arc::new(rest))?;
        let catalog = MemoryCatalogProvider::new();
        catalog.register_schema(&names.default_schema, Arc::new(schema))?;
        let ctx = SessionContext::new_with_state(state);
        ctx.register_catalog(&names.default_catalog, Arc::new(catalog));
        Ok(StuckSource { summarised, ctx })
    }
}

/// How many operations are stuck at `as_of` and at `previous_as_of` (the
/// end of the window and of the previous one), in one pass over the rows
/// either can count: those in flight, and those finished after
/// `previous_as_of`.
async fn stuck_counts(
    source: &StuckSource,
    as_of: i64,
    previous_as_of: i64,
    older_than: i64,
) -> Result<(i64, i64)> {
    let stuck_at = |at: &str| {
        format!(
            "created_date_time <= {at} - $older_than
             AND ({IN_FLIGHT} OR completed_date_time > {at})"
        )
    };
    let sql = format!(
        "SELECT count(*) FILTER (WHERE {}) AS current,
            count(*) FILTER (WHERE {}) AS previous
        FROM (
            SELECT status, created_date_time, completed_date_time FROM operations
            WHERE {IN_FLIGHT} AND created_date_time <= $as_of - $older_than
            UNION ALL
            SELECT status, created_date_time, completed_date_time FROM operations
            WHERE completed_date_time > $previous_as_of AND is_terminal(status)
              AND created_date_time <= $as_of - $older_than
        )",
        stuck_at("$as_of"),
        stuck_at("$previous_as_of"),
    );
    let mut params = stuck_params(as_of, older_than);
    params.push(("previous_as_of", ts(previous_as_of)));
    let t = query(&source.ctx, &sql, params).await?;
    let one = |v: Vec<i64>| v.first().copied().unwrap_or_default();
    let summarised = source.summarised.rows as i64;
    Ok((
        one(t.count("current")?) + summarised,
        one(t.count("previous")?) + summarised,
    ))
}

async fn stuck_list(
    source: &StuckSource,
    as_of: i64,
    older_than: i64,
    total: i64,
    top: usize,
) -> Result<Stuck> {
    let sql = format!(
        "SELECT id, device_id, operation_type, status,
            CAST(created_date_time AS BIGINT) AS created
        FROM ({})
        ORDER BY created_date_time, id
        LIMIT {top}",
        stuck_rows("id, device_id, operation_type, status, created_date_time")
    );
    let t = query(&source.ctx, &sql, stuck_params(as_of, older_than)).await?;
    let (ids, devices, types, statuses, created) = (
        t.str("id")?,
        t.str("device_id")?,
        t.str("operation_type")?,
        t.str("status")?,
        t.i64("created")?,
    );
    let stuck_row = |id: String, device_id, operation_type, status, c: i64| StuckRow {
        id,
        device_id,
        operation_type,
        status,
        created: Ts(c),
        age_s: round((as_of - c) as f64 / window::SECOND as f64, 3),
    };
    let scanned = (0..t.len()).map(|i| {
        stuck_row(
            ids[i].clone().unwrap_or_default(),
            devices[i].clone(),
            types[i].clone(),
            statuses[i].clone(),
            created[i].unwrap_or_default(),
        )
    });
    let summarised = source.summarised.oldest.iter().map(|r| {
        stuck_row(
            r.id.clone(),
            r.device_id.clone(),
            r.operation_type.clone(),
            Some(r.status.clone()),
            r.created,
        )
    });
    let mut operations: Vec<StuckRow> = scanned.chain(summarised).collect();
    operations.sort_by(|a, b| (a.created.0, &a.id).cmp(&(b.created.0, &b.id)));
    operations.truncate(top);
    Ok(Stuck {
        as_of: Ts(as_of),
        older_than_s: older_than as f64 / window::SECOND as f64,
        total,
        operations,
    })
}

async fn type_rows(ctx: &SessionContext, w: &Window) -> Result<Vec<TypeRow>> {
    let (plo, phi) = w.previous();
    let t = collect(stats_by_type(ctx, w.since, w.until + 1, vec![]).await?).await?;
    let p = collect(stats_by_type(ctx, plo, phi, vec![]).await?).await?;
    let previous: BTreeMap<Option<String>, Option<f64>> = p
        .str(stat::OPERATION_TYPE)?
        .into_iter()
        .zip(p.f64(stat::FAILURE_RATE)?)
        .collect();
    let (types, ops, ok, failed, cancelled, in_flight, fr, p50, p95, queue) = (
        t.str(stat::OPERATION_TYPE)?,
        t.count(stat::OPERATIONS)?,
        t.count(stat::SUCCESSFUL)?,
        t.count(stat::FAILED)?,
        t.count(stat::CANCELLED)?,
        t.count(stat::IN_FLIGHT)?,
        t.f64(stat::FAILURE_RATE)?,
        t.f64(stat::P50_DURATION_S)?,
        t.f64(stat::P95_DURATION_S)?,
        t.f64(stat::MEAN_QUEUE_S)?,
    );
    let mut rows: Vec<TypeRow> = (0..t.len())
        .map(|i| TypeRow {
            operation_type: types[i].clone(),
            operations: ops[i],
            successful: ok[i],
            failed: failed[i],
            cancelled: cancelled[i],
            in_flight: in_flight[i],
            failure_rate: fr[i].map(|r| round(r, 6)),
            previous_failure_rate: previous
                .get(&types[i])
                .copied()
                .flatten()
                .map(|r| round(r, 6)),
            p50_duration_s: secs(p50[i]),
            p95_duration_s: secs(p95[i]),
            mean_queue_s: secs(queue[i]),
        })
        .collect();
    rows.sort_by(|a, b| {
        cmp_rate_desc(a.failure_rate, b.failure_rate)
            .then(b.failed.cmp(&a.failed))
            .then(b.operations.cmp(&a.operations))
            .then_with(|| cmp_opt_str(&a.operation_type, &b.operation_type))
    });
    Ok(rows)
}

async fn daily_rows(ctx: &SessionContext, w: &Window) -> Result<Vec<DayRow>> {
    // The UTC day of creation, as `YYYY-MM-DD`, with the session's
    // `date_trunc` (see `session::DateTruncUtc`).
    let date_trunc = ctx.udf("date_trunc")?;
    let day = cast(
        cast(
            date_trunc.call(vec![lit("day"), col(input::CREATED)]),
            DataType::Date32,
        ),
        DataType::Utf8,
    )
    .alias("day");
    // Only the counts: the optimizer then leaves out the other statistics.
    let by_day = stats_by_type(ctx, w.since, w.until + 1, vec![day])
        .await?
        .select_columns(&[
            "day",
            stat::OPERATION_TYPE,
            stat::OPERATIONS,
            stat::SUCCESSFUL,
            stat::FAILED,
        ])?;
    let t = collect(by_day).await?;
    let (days, types, ops, ok, failed) = (
        t.str("day")?,
        t.str(stat::OPERATION_TYPE)?,
        t.count(stat::OPERATIONS)?,
        t.count(stat::SUCCESSFUL)?,
        t.count(stat::FAILED)?,
    );
    let mut by_day: BTreeMap<String, Vec<DayTypeRow>> = BTreeMap::new();
    for i in 0..t.len() {
        by_day
            .entry(days[i].clone().unwrap_or_default())
            .or_default()
            .push(DayTypeRow {
                operation_type: types[i].clone(),
                operations: ops[i],
                successful: ok[i],
                failed: failed[i],
                failure_rate: rate(failed[i], ok[i]),
            });
    }
    Ok(w.days()
        .into_iter()
        .map(|d| {
            let day = d.format("%Y-%m-%d").to_string();
            let mut by_type = by_day.remove(&day).unwrap_or_default();
            by_type.sort_by(|a, b| cmp_opt_str(&a.operation_type, &b.operation_type));
            let sum = |f: fn(&DayTypeRow) -> i64| by_type.iter().map(f).sum::<i64>();
            let (operations, successful, failed) = (
                sum(|r| r.operations),
                sum(|r| r.successful),
                sum(|r| r.failed),
            );
            let start = d
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_micros();
            DayRow {
                day,
                partial: start < w.since || start + window::DAY - 1 > w.until,
                operations,
                successful,
                failed,
                failure_rate: rate(failed, successful),
                by_type,
            }
        })
        .collect())
}

async fn device_rows(ctx: &SessionContext, w: &Window, top: usize) -> Result<Vec<DeviceRow>> {
    let r = range(w.since, w.until + 1);
    let t = query(ctx, &devices_sql(), r.clone()).await?;
    let c = query(ctx, &device_codes_sql(), r).await?;
    // Most frequent code per device; ties go to the first code by name, no code last.
    let mut codes: BTreeMap<Option<String>, (i64, Option<String>)> = BTreeMap::new();
    for ((device, code), n) in c
        .str("device_id")?
        .into_iter()
        .zip(c.str("code")?)
        .zip(c.count("n")?)
    {
        let e = codes.entry(device).or_insert((0, None));
        let better = n > e.0 || (n == e.0 && cmp_opt_str(&code, &e.1) == std::cmp::Ordering::Less);
        if better {
            *e = (n, code);
        }
    }
    let (devices, ops, failed, fr, last) = (
        t.str("device_id")?,
        t.count("operations")?,
        t.count("failed")?,
        t.f64("failure_rate")?,
        t.i64("last_failure")?,
    );
    let mut rows: Vec<DeviceRow> = (0..t.len())
        .map(|i| DeviceRow {
            device_id: devices[i].clone(),
            operations: ops[i],
            failed: failed[i],
            failure_rate: fr[i].map(|r| round(r, 6)),
            top_error_code: codes.get(&devices[i]).and_then(|(_, c)| c.clone()),
            last_failure: last[i].map(Ts),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.failed
            .cmp(&a.failed)
            .then(cmp_rate_desc(a.failure_rate, b.failure_rate))
            .then_with(|| cmp_opt_str(&a.device_id, &b.device_id))
    });
    rows.truncate(top);
    Ok(rows)
}

async fn error_rows(ctx: &SessionContext, w: &Window, top: usize) -> Result<Vec<ErrorRow>> {
    let t = query(ctx, &errors_sql(), range(w.since, w.until + 1)).await?;
    let (codes, failures, devices, types, messages, last) = (
        t.str("code")?,
        t.count("failures")?,
        t.count("devices")?,
        t.str("types")?,
        t.str("message")?,
        t.i64("last_seen")?,
    );
    let total: i64 = failures.iter().sum();
    let mut rows: Vec<ErrorRow> = (0..t.len())
        .map(|i| ErrorRow {
            error_code: codes[i].clone(),
            failures: failures[i],
            share: if total > 0 {
                round(failures[i] as f64 / total as f64, 6)
            } else {
                0.0
            },
            devices: devices[i],
            operation_types: types[i]
                .as_deref()
                .map(|s| s.split('\n').map(str::to_string).collect())
                .unwrap_or_default(),
            example_message: messages[i].clone(),
            last_seen: last[i].map(Ts),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then_with(|| cmp_opt_str(&a.error_code, &b.error_code))
    });
    rows.truncate(top);
    Ok(rows)
}

fn bucket_label(i: usize) -> String {
    let span = |s: f64| window::format_span((s * window::SECOND as f64) as i64);
    match i {
        0 => format!("< {}", span(DURATION_EDGES[0])),
        i if i >= DURATION_EDGES.len() => format!("≥ {}", span(DURATION_EDGES[i - 1])),
        i => format!(
            "{}–{}",
            span(DURATION_EDGES[i - 1]),
            span(DURATION_EDGES[i])
        ),
    }
}

async fn duration_rows(ctx: &SessionContext, w: &Window) -> Result<Vec<DurationBucket>> {
    let t = query(ctx, &durations_sql(), range(w.since, w.until + 1)).await?;
    let mut counts = vec![(0i64, 0i64); DURATION_EDGES.len() + 1];
    for ((b, n), f) in t
        .i64("bucket")?
        .into_iter()
        .zip(t.count("operations")?)
        .zip(t.count("failed")?)
    {
        if let Some(b) = b.and_then(|b| usize::try_from(b).ok())
            && b < counts.len()
        {
            counts[b] = (n, f);
        }
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, (operations, failed))| DurationBucket {
            label: bucket_label(i),
            min_s: if i == 0 { 0.0 } else { DURATION_EDGES[i - 1] },
            max_s: DURATION_EDGES.get(i).copied(),
            operations,
            failed,
        })
        .collect())
}

fn ingest_summary(loaded: &Loaded) -> (IngestSummary, Vec<String>) {
    match loaded {
        Loaded::Dataset { manifest, .. } => {
            let sum = |f: fn(&crate::ingest::RunLog) -> u64| manifest.runs.iter().map(f).sum();
            (
                IngestSummary {
                    runs: Some(manifest.runs.len() as u64),
                    files: sum(|r| r.files),
                    records: sum(|r| r.records),
                    duplicates: sum(|r| r.duplicates),
                    rejected: sum(|r| r.rejected),
                    repaired: sum(|r| r.repaired),
                    failed_files: sum(|r| r.failed_files.len() as u64),
                },
                Vec::new(),
            )
        }
        Loaded::Exports { report } => exports_summary(report),
    }
}

fn exports_summary(report: &IngestReport) -> (IngestSummary, Vec<String>) {
    let c = &report.counts;
    let mut notes = report.notes.clone();
    notes.extend(
        report
            .failures
            .iter()
            .map(|f| format!("{}: not read: {}", f.file, f.message)),
    );
    notes.sort();
    (
        IngestSummary {
            runs: None,
            files: c.files,
            records: c.records,
            duplicates: c.duplicates,
            rejected: c.rejected,
            repaired: c.repaired,
            failed_files: report.failures.len() as u64,
        },
        notes,
    )
}

async fn rejects(ctx: &SessionContext, top: usize) -> Result<Rejects> {
    if !ctx.table_exist(REJECTS_TABLE)? {
        return Ok(Rejects {
            total: 0,
            listed: Vec::new(),
        });
    }
    let n = query(ctx, "SELECT count(*) AS n FROM rejects", Vec::new()).await?;
    let t = query(
        ctx,
        &format!(
            "SELECT file, line, response, \"index\", reason FROM rejects
            ORDER BY file, line NULLS FIRST, response NULLS FIRST, \"index\" NULLS FIRST, reason
            LIMIT {top}"
        ),
        Vec::new(),
    )
    .await?;
    let (files, lines, responses, indexes, reasons) = (
        t.str("file")?,
        t.i64("line")?,
        t.i64("response")?,
        t.i64("index")?,
        t.str("reason")?,
    );
    let listed = (0..t.len())
        .map(|i| {
            let mut place = Vec::new();
            if let Some(l) = lines[i] {
                place.push(format!("line {l}"));
            }
            if let Some(r) = responses[i] {
                place.push(format!("response {r}"));
            }
            if let Some(x) = indexes[i] {
                place.push(format!("index {x}"));
            }
            RejectRow {
                file: files[i].clone().unwrap_or_default(),
                place: place.join(", "),
                reason: reasons[i].clone().unwrap_or_default(),
            }
        })
        .collect();
    Ok(Rejects {
        total: n.count("n")?.first().copied().unwrap_or_default(),
        listed,
    })
}

/// The findings: counts of [`finding_aggregates`] in `t` (the window's
/// figures), the whole data's `no_created`, and the window's unknown statuses.
async fn findings(
    ctx: &SessionContext,
    w: &Window,
    t: &Table,
    no_created: i64,
) -> Result<Vec<Finding>> {
    let r = range(w.since, w.until + 1);
    let get =
        |name: &str| -> Result<i64> { Ok(t.count(name)?.first().copied().unwrap_or_default()) };
    let mut out = Vec::new();
    let mut add = |key: &'static str, count: i64, text: &str| {
        if count > 0 {
            out.push(Finding {
                key,
                count,
                text: text.to_string(),
            });
        }
    };
    add(
        "no_device",
        get("no_device")?,
        "created in the window without a device id (the export did not say which device): \
         listed under an unknown device",
    );
    add(
        "no_created",
        no_created,
        "in the data without a creation time: outside every window",
    );
    add(
        "no_type",
        get("no_type")?,
        "created in the window without an operation type",
    );
    add(
        "no_status",
        get("no_status")?,
        "created in the window without a status",
    );
    add(
        "completed_before_started",
        get("completed_before_started")?,
        "created in the window completed before it started: left out of durations",
    );
    add(
        "started_before_created",
        get("started_before_created")?,
        "created in the window started before it was created: left out of queue times",
    );
    add(
        "finished_without_completion",
        get("finished_without_completion")?,
        "created in the window successful or failed without a completion time: left out of \
         durations",
    );
    let u = query(ctx, &unknown_status_sql(), r).await?;
    let mut unknown: Vec<(String, i64)> = u
        .str("status")?
        .into_iter()
        .zip(u.count("n")?)
        .map(|(s, n)| (s.unwrap_or_default(), n))
        .collect();
    unknown.sort();
    for (status, n) in unknown {
        out.push(Finding {
            key: "unknown_status",
            count: n,
            text: format!(
                "created in the window with the status '{status}', which is not a known Graph \
                 status: counted as neither finished nor in flight"
            ),
        });
    }
    Ok(out)
}

/// Computes the report over the `operations` table of `ctx`. `loaded` (what
/// `session::register_data` returned) adds the ingest counts to the data
/// quality notes.
pub async fn build(
    ctx: &SessionContext,
    loaded: Option<&Loaded>,
    opts: &ReportOptions,
) -> Result<Report> {
    let mut trace = Trace::new();
    let totals = totals(ctx).await?;
    trace.mark("report: totals");
    let bounds = totals.bounds;
    let w = Window::resolve(opts.since, opts.until, bounds)?;
    let (plo, phi) = w.previous();
    let stuck_source = StuckSource::new(ctx, phi - 1, opts.stuck_after, opts.top).await?;
    trace.mark("report: stuck summaries");
    let (stuck_now, stuck_before) =
        stuck_counts(&stuck_source, w.until, phi - 1, opts.stuck_after).await?;
    trace.mark("report: stuck counts");
    let (current, counts) =
        figures(ctx, w.since, w.until + 1, stuck_now, finding_aggregates()?).await?;
    trace.mark("report: figures");
    let (previous, _) = figures(ctx, plo, phi, stuck_before, Vec::new()).await?;
    trace.mark("report: previous figures");
    let findings = findings(ctx, &w, &counts, totals.no_created).await?;
    trace.mark("report: findings");
    let (ingest, notes) = match loaded {
        Some(l) => {
            let (s, n) = ingest_summary(l);
            (Some(s), n)
        }
        None => (None, Vec::new()),
    };
    let stuck = stuck_list(
        &stuck_source,
        w.until,
        opts.stuck_after,
        current.stuck,
        opts.top,
    )
    .await?;
    trace.mark("report: stuck");
    let operation_types = type_rows(ctx, &w).await?;
    trace.mark("report: operation types");
    let daily = daily_rows(ctx, &w).await?;
    trace.mark("report: daily");
    let top_devices = device_rows(ctx, &w, opts.top).await?;
    trace.mark("report: devices");
    let top_errors = error_rows(ctx, &w, opts.top).await?;
    trace.mark("report: errors");
    let durations = duration_rows(ctx, &w).await?;
    trace.mark("report: durations");
    let rejects = rejects(ctx, opts.top).await?;
    trace.mark("report: rejects");
    Ok(Report {
        format: "fleetops-report",
        version: REPORT_VERSION,
        window: WindowInfo {
            since: Ts(w.since),
            until: Ts(w.until),
            length_s: w.length() as f64 / window::SECOND as f64,
            length: window::format_span(w.length()),
            previous_since: Ts(plo),
            previous_until: Ts(phi),
        },
        data: DataInfo {
            operations: totals.operations,
            earliest: bounds.earliest.map(Ts),
            latest: bounds.latest.map(Ts),
            previous_window_covered: bounds.earliest.is_some_and(|e| e <= plo),
        },
        settings: Settings {
            stuck_after_s: opts.stuck_after as f64 / window::SECOND as f64,
            top: opts.top,
        },
        empty: current.operations == 0,
        headline: headline(&current, Some(&previous)),
        operation_types,
        daily,
        top_devices,
        top_errors,
        stuck,
        durations,
        data_quality: Quality {
            ingest,
            rejects,
            findings,
            notes,
        },
        checks: Vec::new(),
    })
}

/// Time spent per part of the report: a `tracing` event at DEBUG per part
/// (target `fleetops::report`, fields `phase` and `secs`), which
/// `FLEETOPS_TRACE=1 fleetops report` prints.
struct Trace(std::time::Instant);

impl Trace {
    fn new() -> Self {
        Trace(std::time::Instant::now())
    }

    fn mark(&mut self, phase: &str) {
        let secs = self.0.elapsed().as_secs_f64();
        tracing::debug!(phase, secs, "report part finished");
        self.0 = std::time::Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_directions() {
        let m = Metric {
            key: "failure_rate",
            label: "Failure rate",
            current: Some(Num::Real(0.2)),
            previous: Some(Num::Real(0.1)),
            higher_is_worse: Some(true),
        };
        assert_eq!(m.change(), Some(Num::Real(0.1)));
        assert_eq!(m.direction(), Some("up"));
        assert_eq!(m.worse(), Some(true));
        let m = Metric {
            current: Some(Num::Count(3)),
            previous: Some(Num::Count(5)),
            higher_is_worse: None,
            ..m
        };
        assert_eq!(m.change(), Some(Num::Count(-2)));
        assert_eq!(m.direction(), Some("down"));
        assert_eq!(m.worse(), None);
        let m = Metric {
            previous: None,
            ..m
        };
        assert_eq!(m.direction(), None);
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket_label(0), "< 10s");
        assert_eq!(bucket_label(1), "10s–30s");
        assert_eq!(bucket_label(4), "2m–5m");
        assert_eq!(bucket_label(DURATION_EDGES.len()), "≥ 2h");
        assert!(durations_sql().contains("WHEN s < 10.0 THEN 0"));
    }

    #[test]
    fn rounding() {
        assert_eq!(round(0.123_456_789, 6), 0.123_457);
        assert_eq!(round(-0.000_000_1, 6), 0.0);
        assert_eq!(rate(1, 3), Some(0.25));
        assert_eq!(rate(0, 0), None);
    }
}
