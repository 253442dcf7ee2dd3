//! The `operations` table of a dataset folder: its Parquet files as a
//! listing table, narrowed for each query bounded in `created_date_time` to
//! the files whose statistics can hold the rows it asks for.
//!
//! A dataset keeps its rows in `operations/created_date=YYYY-MM-DD/` folders
//! (the UTC day of creation), rows without a creation time in
//! `created_date=unknown/`, and, written by version 1, flat files in
//! `operations/` itself. The folder names are not trusted: an id stays in the
//! folder it was first stored in (README, "Where a row lives"), so a day's
//! folder can hold a row whose export later gave it another creation day,
//! and `unknown` one that was given a day after it was stored. Each file's
//! minimum, maximum and NULL count of `created_date_time` decide instead.
//! They come from the file's footer, read once per session and kept in the
//! session's statistics cache (the report's totals read every footer
//! anyway); the day folders are what makes them narrow. A week of a
//! year-long dataset then opens and reads a week's files (and a file that
//! holds a row of that week, wherever it is), and statistics prune inside
//! them. Filters on other columns, even other times, leave every file in.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl, PartitionedFile,
};
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::cache::cache_manager::FileStatisticsCache;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use crate::ingest::in_flight::{InFlight, OLDEST_KEPT};
use crate::schema::col;

/// The `operations` table over a dataset's `operations/` folder.
#[derive(Debug)]
pub struct DatasetTable {
    /// Over the whole folder: every file, with its statistics.
    whole: Arc<ListingTable>,
    options: ListingOptions,
    schema: SchemaRef,
    /// The index of `created_date_time` in `schema`.
    created: usize,
    store: ObjectStoreUrl,
    /// Files left out of every scan (by their location in the store): those
    /// whose rows a caller took from their summaries instead
    /// ([`DatasetTable::split_in_flight`]).
    skip: Arc<HashSet<String>>,
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
        let store = url.object_store();
        let config = ListingTableConfig::new(url)
            .with_listing_options(options.clone())
            .with_schema(schema.clone());
        let whole = ListingTable::try_new(config)?.with_cache(statistics_cache);
        let created = schema.index_of(col::CREATED)?;
        Ok(DatasetTable {
            whole: Arc::new(whole),
            options,
            schema,
            created,
            store,
            skip: Arc::default(),
        })
    }

    /// The in-flight summaries (see `ingest::in_flight`) of the files whose
    /// every row was created at or before `created_at_most` and completed,
    /// if at all, at or before `completed_at_most`, added up with the `keep`
    /// oldest rows; and this table without those files. A file without a
    /// summary, or whose summary lists fewer than `keep` of its rows, stays in
    /// the table.
    ///
    /// For the stuck operations at any time `t >= completed_at_most`
    /// counting those created up to `created_at_most`, such a file's part is
    /// exactly its in-flight rows: the report reads its footer (which it has
    /// read for the totals already) instead of its rows.
    pub async fn split_in_flight(
        &self,
        state: &dyn Session,
        created_at_most: i64,
        completed_at_most: i64,
        keep: usize,
    ) -> datafusion::common::Result<(InFlight, DatasetTable)> {
        let completed = self.schema.index_of(col::COMPLETED)?;
        let listed = self.whole.list_files_for_scan(state, &[], None).await?;
        let store = state.runtime_env().object_store(&self.store)?;
        let cache = state.runtime_env().cache_manager.get_file_metadata_cache();
        let hint = state.config_options().execution.parquet.metadata_size_hint;
        let mut total = InFlight::default();
        let mut skip: HashSet<String> = (*self.skip).clone();
        for f in listed.file_groups.iter().flat_map(|g| g.iter()) {
            let location = f.object_meta.location.as_ref();
            if skip.contains(location) {
                continue;
            }
            let Some(stats) = f.statistics.as_deref() else {
                continue;
            };
            let column_max = |i: usize| {
                let c = stats.column_statistics.get(i)?;
                let all_null = matches!(
                    (stats.num_rows, c.null_count),
                    (Precision::Exact(n), Precision::Exact(m)) if n == m
                );
                Some(if all_null {
                    None
                } else {
                    Some(exact_micros(&c.max_value)?)
                })
            };
            // Every creation time known to be old enough (a file of rows
            // without one is left to the scan, which prunes it).
            let created_ok =
                matches!(column_max(self.created), Some(Some(t)) if t <= created_at_most);
            let completed_ok = match column_max(completed) {
                Some(None) => true,
                Some(Some(t)) => t <= completed_at_most,
                None => false,
            };
            if !created_ok || !completed_ok {
                continue;
            }
            let metadata = DFParquetMetadata::new(store.as_ref(), &f.object_meta)
                .with_metadata_size_hint(hint)
                .with_file_metadata_cache(Some(Arc::clone(&cache)))
                .fetch_metadata()
                .await?;
            let Some(summary) =
                InFlight::from_key_values(metadata.file_metadata().key_value_metadata())
            else {
                continue;
            };
            let listed_all = summary.oldest.len() as u64 == summary.rows;
            if keep > OLDEST_KEPT && !listed_all {
                continue;
            }
            total.add(summary, keep);
            skip.insert(location.to_string());
        }
        let rest = DatasetTable {
            whole: Arc::clone(&self.whole),
            options: self.options.clone(),
            schema: self.schema.clone(),
            created: self.created,
            store: self.store.clone(),
            skip: Arc::new(skip),
        };
        Ok((total, rest))
    }

    /// The scan of the files that can hold a row created in `range` (every
    /// file with `None`), less those in `skip`.
    async fn scan_created(
        &self,
        state: &dyn Session,
        args: ScanArgs<'_>,
        range: Option<CreatedRange>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        // Every file with its statistics (from the session's cache once read).
        let listed = self.whole.list_files_for_scan(state, &[], None).await?;
        let files: Vec<PartitionedFile> = listed
            .file_groups
            .into_iter()
            .flat_map(FileGroup::into_inner)
            .filter(|f| !self.skip.contains(f.object_meta.location.as_ref()))
            .filter(|f| range.is_none_or(|r| r.may_hold(f.statistics.as_deref(), self.created)))
            .collect();
        if files.is_empty() {
            let schema = match args.projection() {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let statistics = if files.iter().all(|f| f.statistics.is_some()) {
            Statistics::try_merge_iter(
                files.iter().filter_map(|f| f.statistics.as_deref()),
                &self.schema,
            )?
        } else {
            Statistics::new_unknown(&self.schema)
        };
        // As a listing table plans its files, spread over the partitions.
        let groups = FileGroup::new(files).split_files(state.config().target_partitions());
        let format = &self.options.format;
        let source = format.file_source(TableSchema::from(self.schema.clone()));
        let config = FileScanConfigBuilder::new(self.store.clone(), source)
            .with_file_groups(groups)
            .with_statistics(statistics)
            .with_projection_indices(args.projection().map(<[usize]>::to_vec))?
            .with_limit(args.limit())
            .build();
        format.create_physical_plan(state, config).await
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
        // Inexact: the filters are applied to the rows all the same.
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
        match CreatedRange::of_filters(args.filters().unwrap_or(&[])) {
            Some(range) => Ok(ScanResult::new(
                self.scan_created(state, args, Some(range)).await?,
            )),
            None if !self.skip.is_empty() => {
                Ok(ScanResult::new(self.scan_created(state, args, None).await?))
            }
            None => {
                let scan = self.whole.scan_with_args(state, args).await?;
                Ok(ScanResult::new(with_null_aware_min_max(scan.into_inner())?))
            }
        }
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

/// The creation times a query's rows can have (microseconds since the
/// epoch, both ends inclusive; `None` for no bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreatedRange {
    first: Option<i64>,
    last: Option<i64>,
}

impl CreatedRange {
    /// The range the conjunction of `filters` allows, from its comparisons
    /// of `created_date_time` with a timestamp; `None` when no filter bounds
    /// it. A row without a creation time passes no such comparison.
    pub fn of_filters(filters: &[Expr]) -> Option<CreatedRange> {
        let mut range: Option<CreatedRange> = None;
        for f in filters {
            for conjunct in split_conjunction(f) {
                for (op, micros) in created_bounds(conjunct) {
                    let r = range.get_or_insert_with(CreatedRange::default);
                    let (first, last) = match op {
                        Operator::Gt => (Some(micros.saturating_add(1)), None),
                        Operator::GtEq => (Some(micros), None),
                        Operator::Lt => (None, Some(micros.saturating_sub(1))),
                        Operator::LtEq => (None, Some(micros)),
                        _ => (Some(micros), Some(micros)),
                    };
                    if let Some(t) = first {
                        r.first = Some(r.first.map_or(t, |f| f.max(t)));
                    }
                    if let Some(t) = last {
                        r.last = Some(r.last.map_or(t, |l| l.min(t)));
                    }
                }
            }
        }
        range
    }

    /// False when `stats` (a file's) show that it holds no row created in
    /// the range: every `created_date_time` NULL, or all of them before or
    /// after it. Statistics that are missing or not exact keep the file.
    fn may_hold(self, stats: Option<&Statistics>, created: usize) -> bool {
        if let (Some(first), Some(last)) = (self.first, self.last)
            && first > last
        {
            return false;
        }
        let Some(stats) = stats else {
            return true;
        };
        let Some(c) = stats.column_statistics.get(created) else {
            return true;
        };
        if let (Precision::Exact(rows), Precision::Exact(nulls)) = (stats.num_rows, c.null_count)
            && rows == nulls
        {
            return false;
        }
        if let (Some(first), Some(max)) = (self.first, exact_micros(&c.max_value))
            && max < first
        {
            return false;
        }
        if let (Some(last), Some(min)) = (self.last, exact_micros(&c.min_value))
            && min > last
        {
            return false;
        }
        true
    }
}

fn exact_micros(v: &Precision<ScalarValue>) -> Option<i64> {
    match v {
        Precision::Exact(v) => scalar_micros(v),
        _ => None,
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
/// zone).
fn timestamp_micros(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(v, _) => scalar_micros(v),
        _ => None,
    }
}

/// A timestamp as whole microseconds; `None` for one between two (a bound
/// rounded either way could drop a row) or of another type.
fn scalar_micros(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::TimestampSecond(Some(t), _) => t.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(t), _) => t.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Some(*t),
        ScalarValue::TimestampNanosecond(Some(t), _) if t % 1_000 == 0 => Some(t / 1_000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::ColumnStatistics;
    use datafusion::logical_expr::{col as column, lit};

    fn micros(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    }

    fn ts(s: &str) -> Expr {
        lit(ScalarValue::TimestampMicrosecond(
            Some(micros(s)),
            Some("UTC".into()),
        ))
    }

    fn range(filters: Vec<Expr>) -> Option<(Option<i64>, Option<i64>)> {
        CreatedRange::of_filters(&filters).map(|r| (r.first, r.last))
    }

    #[test]
    fn the_range_of_a_window() {
        let created = || column(col::CREATED);
        let f = created()
            .gt_eq(ts("2026-06-08T00:00:00Z"))
            .and(created().lt(ts("2026-06-15T00:00:00Z")));
        // The end is exclusive.
        assert_eq!(
            range(vec![f]),
            Some((
                Some(micros("2026-06-08T00:00:00Z")),
                Some(micros("2026-06-15T00:00:00Z") - 1)
            ))
        );
        // Two filters narrow each other.
        let a = created().gt(ts("2026-06-08T00:00:00Z"));
        let b = created().gt_eq(ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            range(vec![a, b]),
            Some((Some(micros("2026-06-08T00:00:00Z") + 1), None))
        );
    }

    #[test]
    fn literal_first_between_and_other_columns() {
        let t = micros("2026-06-10T12:00:00Z");
        let f = ts("2026-06-10T12:00:00Z").lt_eq(column(col::CREATED));
        assert_eq!(range(vec![f]), Some((Some(t), None)));

        let f =
            column(col::CREATED).between(ts("2026-01-01T00:00:00Z"), ts("2026-01-31T23:00:00Z"));
        assert_eq!(
            range(vec![f]),
            Some((
                Some(micros("2026-01-01T00:00:00Z")),
                Some(micros("2026-01-31T23:00:00Z"))
            ))
        );

        // Other columns (other times too), OR, IS NULL and a nanosecond
        // between two microseconds set no bound.
        let other = column(col::COMPLETED).gt(ts("2026-06-10T12:00:00Z"));
        let or = column(col::CREATED)
            .gt(ts("2026-06-10T12:00:00Z"))
            .or(column(col::STATUS).eq(lit("failed")));
        let null = column(col::CREATED).is_null();
        let nanos = column(col::CREATED).lt(lit(ScalarValue::TimestampNanosecond(
            Some(t * 1_000 + 500),
            Some("UTC".into()),
        )));
        assert_eq!(range(vec![other, or, null, nanos]), None);
    }

    fn file(rows: usize, nulls: usize, min: Option<&str>, max: Option<&str>) -> Statistics {
        let value = |v: Option<&str>| match v {
            Some(v) => Precision::Exact(ScalarValue::TimestampMicrosecond(
                Some(micros(v)),
                Some("UTC".into()),
            )),
            None => Precision::Absent,
        };
        Statistics {
            num_rows: Precision::Exact(rows),
            total_byte_size: Precision::Absent,
            column_statistics: vec![ColumnStatistics {
                null_count: Precision::Exact(nulls),
                min_value: value(min),
                max_value: value(max),
                ..ColumnStatistics::new_unknown()
            }],
        }
    }

    #[test]
    fn files_left_out_by_their_statistics() {
        let week = CreatedRange {
            first: Some(micros("2026-06-08T00:00:00Z")),
            last: Some(micros("2026-06-14T23:59:59.999999Z")),
        };
        let day = |d: &str| {
            file(
                10,
                0,
                Some(&format!("{d}T01:00:00Z")),
                Some(&format!("{d}T23:00:00Z")),
            )
        };
        assert!(week.may_hold(Some(&day("2026-06-08")), 0));
        assert!(week.may_hold(Some(&day("2026-06-14")), 0));
        assert!(!week.may_hold(Some(&day("2026-06-07")), 0));
        assert!(!week.may_hold(Some(&day("2026-06-15")), 0));
        // An older day's file holding a row the export later dated in the
        // week, and an `unknown` file holding one it later dated.
        let moved = file(
            10,
            0,
            Some("2026-06-01T01:00:00Z"),
            Some("2026-06-09T00:00:00Z"),
        );
        assert!(week.may_hold(Some(&moved), 0));
        let dated = file(
            10,
            9,
            Some("2026-06-09T00:00:00Z"),
            Some("2026-06-09T00:00:00Z"),
        );
        assert!(week.may_hold(Some(&dated), 0));
        // No creation time at all; unknown statistics.
        let unknown = file(10, 10, None, None);
        assert!(!week.may_hold(Some(&unknown), 0));
        assert!(week.may_hold(None, 0));
        assert!(week.may_hold(Some(&Statistics::new_unknown(&operations())), 5));
        // A range nothing is in.
        let empty = CreatedRange {
            first: week.last,
            last: week.first,
        };
        assert!(!empty.may_hold(None, 0));
    }

    fn operations() -> arrow::datatypes::Schema {
        crate::schema::operations_schema().as_ref().clone()
    }
}
