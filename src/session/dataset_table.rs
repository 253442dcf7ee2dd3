//! The `operations` table of a dataset folder: its Parquet files as a
//! listing table, narrowed for each query to the day folders that can hold
//! the rows its filters on `created_date_time` ask for.
//!
//! A dataset keeps its rows in `operations/created_date=YYYY-MM-DD/` folders
//! (the UTC day of creation), rows without a creation time in
//! `created_date=unknown/`, and, written by older versions, flat files in
//! `operations/` itself. The day is not a column of the table: a query over
//! a week names `created_date_time`, and this table turns that into the
//! folders to list, so a week of a year-long dataset lists, opens and reads
//! a week's files. Within the files, Parquet statistics prune the rest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use chrono::NaiveDate;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::common::stats::Precision;
use datafusion::datasource::TableType;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::cache::cache_manager::FileStatisticsCache;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use crate::schema::col;

/// The partition folders' key: `created_date=YYYY-MM-DD`.
pub const PARTITION_KEY: &str = "created_date";
/// The partition of rows without a creation time.
pub const UNKNOWN_DAY: &str = "unknown";

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The `operations` table over a dataset's `operations/` folder.
#[derive(Debug)]
pub struct DatasetTable {
    /// The `operations/` folder (absolute).
    dir: PathBuf,
    /// Over the whole folder: for queries without a usable time filter.
    whole: Arc<ListingTable>,
    options: ListingOptions,
    schema: SchemaRef,
    statistics_cache: Option<Arc<FileStatisticsCache>>,
}

impl DatasetTable {
    /// The table of the Parquet files under `dir` (absolute), read with
    /// `options` as `schema`; `statistics_cache` keeps each file's statistics
    /// for the session.
    pub fn try_new(
        dir: &Path,
        options: ListingOptions,
        schema: SchemaRef,
        statistics_cache: Option<Arc<FileStatisticsCache>>,
    ) -> datafusion::common::Result<Self> {
        let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
        let whole = Self::listing(vec![url], &options, &schema, &statistics_cache)?;
        Ok(DatasetTable {
            dir: dir.to_path_buf(),
            whole: Arc::new(whole),
            options,
            schema,
            statistics_cache,
        })
    }

    fn listing(
        urls: Vec<ListingTableUrl>,
        options: &ListingOptions,
        schema: &SchemaRef,
        cache: &Option<Arc<FileStatisticsCache>>,
    ) -> datafusion::common::Result<ListingTable> {
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options.clone())
            .with_schema(schema.clone());
        Ok(ListingTable::try_new(config)?.with_cache(cache.clone()))
    }

    /// What a query with `days` needs: the flat files, the day folders in
    /// `days`, and any other `key=value` folder (read whole, never pruned).
    fn urls_for(&self, days: DayRange) -> datafusion::common::Result<Vec<ListingTableUrl>> {
        let mut urls = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(urls),
            Err(e) => return Err(e.into()),
        };
        let mut names: Vec<(String, bool)> = Vec::new();
        for e in entries {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            names.push((name, e.file_type()?.is_dir()));
        }
        names.sort();
        for (name, is_dir) in names {
            let path = self.dir.join(&name);
            if !is_dir {
                if name.ends_with(&self.options.file_extension) {
                    urls.push(ListingTableUrl::parse(path.display().to_string())?);
                }
                continue;
            }
            let Some((key, value)) = name.split_once('=') else {
                // The whole-folder listing skips them too.
                continue;
            };
            let keep = if key == PARTITION_KEY {
                match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                    Ok(day) => days.contains(day),
                    // Filters on the creation time hold no row without one.
                    Err(_) if value == UNKNOWN_DAY => false,
                    Err(_) => true,
                }
            } else {
                true
            };
            if keep {
                urls.push(ListingTableUrl::parse(format!("{}/", path.display()))?);
            }
        }
        Ok(urls)
    }
}

#[async_trait]
impl TableProvider for DatasetTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        self.whole.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let args = ScanArgs::default()
            .with_projection(projection.map(Vec::as_slice))
            .with_filters(Some(filters))
            .with_limit(limit);
        Ok(self.scan_with_args(state, args).await?.into_inner())
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> datafusion::common::Result<ScanResult> {
        let Some(days) = DayRange::of_filters(args.filters().unwrap_or(&[])) else {
            let scan = self.whole.scan_with_args(state, args).await?;
            return Ok(ScanResult::new(with_null_aware_min_max(scan.into_inner())?));
        };
        let urls = self.urls_for(days)?;
        if urls.is_empty() {
            let schema = match args.projection() {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(ScanResult::new(Arc::new(EmptyExec::new(schema))));
        }
        Self::listing(urls, &self.options, &self.schema, &self.statistics_cache)?
            .scan_with_args(state, args)
            .await
    }
}

/// The scan with table statistics in which a file whose column is NULL in
/// every row leaves the column's minimum and maximum known.
///
/// DataFusion takes such a file's minimum and maximum as unknown, which
/// makes the table's unknown too: one `created_date=unknown/` file then
/// turned `min(created_date_time)`, answered from statistics, into a scan of
/// every file. A table whose column is NULL everywhere has NULL as its exact
/// minimum and maximum, as `min` and `max` give.
fn with_null_aware_min_max(
    plan: Arc<dyn ExecutionPlan>,
) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
    let Some(conf) = plan
        .downcast_ref::<DataSourceExec>()
        .and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
    else {
        return Ok(plan);
    };
    let mut stats = conf.statistics();
    let schema = conf.file_source.table_schema().table_schema().clone();
    let files: Vec<_> = conf.file_groups.iter().flat_map(|g| g.iter()).collect();
    let mut changed = false;
    for (i, column) in stats.column_statistics.iter_mut().enumerate() {
        if column.min_value.is_exact() == Some(true) && column.max_value.is_exact() == Some(true) {
            continue;
        }
        let mut min: Option<Precision<ScalarValue>> = None;
        let mut max: Option<Precision<ScalarValue>> = None;
        let mut known = true;
        for f in &files {
            let Some(c) = f.statistics.as_ref().and_then(|s| {
                let c = s.column_statistics.get(i)?;
                Some((s.num_rows, c))
            }) else {
                known = false;
                break;
            };
            let (rows, c) = c;
            if matches!((rows, c.null_count), (Precision::Exact(n), Precision::Exact(m)) if n == m)
            {
                continue;
            }
            min = Some(min.map_or_else(|| c.min_value.clone(), |m| m.min(&c.min_value)));
            max = Some(max.map_or_else(|| c.max_value.clone(), |m| m.max(&c.max_value)));
        }
        if !known {
            continue;
        }
        let (min, max) = match (min, max) {
            (Some(min), Some(max)) => (min, max),
            _ => {
                let null = ScalarValue::try_from(schema.field(i).data_type())?;
                (Precision::Exact(null.clone()), Precision::Exact(null))
            }
        };
        if min != column.min_value || max != column.max_value {
            column.min_value = min;
            column.max_value = max;
            changed = true;
        }
    }
    if !changed {
        return Ok(plan);
    }
    let conf = FileScanConfigBuilder::from(conf.clone())
        .with_statistics(stats)
        .build();
    Ok(DataSourceExec::from_data_source(conf))
}

/// The UTC days a query's rows can have been created on (both ends
/// inclusive; `None` for no bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayRange {
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
}

impl DayRange {
    /// The days the conjunction of `filters` allows, from its comparisons of
    /// `created_date_time` with a timestamp; `None` when no filter bounds it.
    pub fn of_filters(filters: &[Expr]) -> Option<DayRange> {
        let mut range: Option<DayRange> = None;
        for f in filters {
            for conjunct in split_conjunction(f) {
                for (op, micros) in created_bounds(conjunct) {
                    let r = range.get_or_insert_with(DayRange::default);
                    // The first and last instant allowed (microseconds).
                    let (from, to) = match op {
                        Operator::Gt => (Some(micros.saturating_add(1)), None),
                        Operator::GtEq => (Some(micros), None),
                        Operator::Lt => (None, Some(micros.saturating_sub(1))),
                        Operator::LtEq => (None, Some(micros)),
                        _ => (Some(micros), Some(micros)),
                    };
                    if let Some(t) = from {
                        let day = day_of(t)?;
                        r.first = Some(r.first.map_or(day, |d| d.max(day)));
                    }
                    if let Some(t) = to {
                        let day = day_of(t)?;
                        r.last = Some(r.last.map_or(day, |d| d.min(day)));
                    }
                }
            }
        }
        range
    }

    fn contains(self, day: NaiveDate) -> bool {
        self.first.is_none_or(|f| f <= day) && self.last.is_none_or(|l| day <= l)
    }
}

/// `(op, t)` for each bound `created_date_time op t` that `e` sets: a
/// comparison with a timestamp literal (either way round) or a `BETWEEN`.
fn created_bounds(e: &Expr) -> Vec<(Operator, i64)> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let op = *op;
            if !matches!(
                op,
                Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
            ) {
                return Vec::new();
            }
            if is_created(left)
                && let Some(t) = timestamp_micros(right)
            {
                return vec![(op, t)];
            }
            if is_created(right)
                && let Some(t) = timestamp_micros(left)
                && let Some(op) = op.swap()
            {
                return vec![(op, t)];
            }
            Vec::new()
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_created(expr) => match (timestamp_micros(low), timestamp_micros(high)) {
            (Some(lo), Some(hi)) => vec![(Operator::GtEq, lo), (Operator::LtEq, hi)],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn is_created(e: &Expr) -> bool {
    matches!(e, Expr::Column(c) if c.name == col::CREATED)
}

/// A timestamp literal as microseconds since the epoch (UTC, whatever its
/// zone), rounded down.
fn timestamp_micros(e: &Expr) -> Option<i64> {
    let Expr::Literal(v, _) = e else {
        return None;
    };
    match v {
        ScalarValue::TimestampSecond(Some(t), _) => t.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(t), _) => t.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Some(*t),
        ScalarValue::TimestampNanosecond(Some(t), _) => Some(t.div_euclid(1_000)),
        _ => None,
    }
}

fn day_of(micros: i64) -> Option<NaiveDate> {
    let days = i32::try_from(micros.div_euclid(MICROS_PER_DAY)).ok()?;
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(719_163)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col as column, lit};

    fn ts(s: &str) -> Expr {
        let t = chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros();
        lit(ScalarValue::TimestampMicrosecond(
            Some(t),
            Some("UTC".into()),
        ))
    }

    fn day(s: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn days_of_a_window() {
        let created = || column(col::CREATED);
        let f = created()
            .gt_eq(ts("2026-06-08T00:00:00Z"))
            .and(created().lt(ts("2026-06-15T00:00:00Z")));
        let r = DayRange::of_filters(&[f]).unwrap();
        assert_eq!(r.first, day("2026-06-08"));
        // The end is exclusive: nothing of the 15th.
        assert_eq!(r.last, day("2026-06-14"));
        assert!(!r.contains(day("2026-06-07").unwrap()));
        assert!(r.contains(day("2026-06-08").unwrap()));
    }

    #[test]
    fn literal_first_between_and_other_columns() {
        let f = ts("2026-06-10T12:00:00Z").lt_eq(column(col::CREATED));
        let r = DayRange::of_filters(&[f]).unwrap();
        assert_eq!((r.first, r.last), (day("2026-06-10"), None));

        // After the day's last instant: the next day.
        let f = column(col::CREATED).gt(ts("2026-06-10T23:59:59.999999Z"));
        let r = DayRange::of_filters(&[f]).unwrap();
        assert_eq!(r.first, day("2026-06-11"));

        let f =
            column(col::CREATED).between(ts("2026-01-01T00:00:00Z"), ts("2026-01-31T23:00:00Z"));
        let r = DayRange::of_filters(&[f]).unwrap();
        assert_eq!((r.first, r.last), (day("2026-01-01"), day("2026-01-31")));

        // Other columns, OR and IS NULL set no bound.
        let other = column(col::COMPLETED).gt(ts("2026-06-10T12:00:00Z"));
        let or = column(col::CREATED)
            .gt(ts("2026-06-10T12:00:00Z"))
            .or(column(col::STATUS).eq(lit("failed")));
        let null = column(col::CREATED).is_null();
        assert_eq!(DayRange::of_filters(&[other, or, null]), None);
    }

    #[test]
    fn days_before_the_epoch() {
        assert_eq!(day_of(-1), day("1969-12-31"));
        assert_eq!(day_of(0), day("1970-01-01"));
    }
}
