//! `operation_type_stats()`: one row of counts, failure rate and latency per
//! `operation_type` of the `operations` table; and [`operation_stats`], the
//! statistics themselves, which the report applies to its windows.
//!
//! Calling the function only returns a [`TableProvider`] with a fixed schema.
//! The aggregation is planned when the query is executed (in
//! [`TableProvider::scan`]), over whatever `operations` is registered then,
//! with the same UDFs the user can call, so the numbers agree with
//! `failure_rate`, `op_percentile` and `op_duration_seconds`.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, plan_datafusion_err, plan_err};
use datafusion::datasource::provider_as_source;
use datafusion::functions_aggregate::expr_fn::{avg, count};
use datafusion::logical_expr::{
    Documentation, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, TableType, cast, col,
    lit,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_macros::user_doc;

use super::canonical_status::canonical_status;
use super::{failure_rate, op_duration_seconds, op_percentile, op_queue_seconds};
use crate::schema::{TABLE_NAME, col as input};
use crate::status;

make_udtf_function!(
    OperationTypeStatsFunc,
    operation_type_stats,
    operation_type_stats_udtf
);

/// The output column names of `operation_type_stats()`, in order; all but
/// the first are also the names of the [`operation_stats`] aggregates.
pub mod column {
    /// The group: `operation_type`.
    pub const OPERATION_TYPE: &str = "operation_type";
    /// Rows in the group.
    pub const OPERATIONS: &str = "operations";
    /// Rows whose status is successful.
    pub const SUCCESSFUL: &str = "successful";
    /// Rows whose status is failed.
    pub const FAILED: &str = "failed";
    /// Rows whose status is cancelled.
    pub const CANCELLED: &str = "cancelled";
    /// Rows queued, scheduled or in progress.
    pub const IN_FLIGHT: &str = "in_flight";
    /// `failure_rate(status)`.
    pub const FAILURE_RATE: &str = "failure_rate";
    /// The median of `op_duration_seconds`.
    pub const P50_DURATION_S: &str = "p50_duration_s";
    /// The 95th percentile of `op_duration_seconds`.
    pub const P95_DURATION_S: &str = "p95_duration_s";
    /// The mean of `op_queue_seconds`.
    pub const MEAN_QUEUE_S: &str = "mean_queue_s";
}

/// The schema of `operation_type_stats()`.
pub fn operation_type_stats_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| {
        let count = |name| Field::new(name, DataType::Int64, false);
        let float = |name| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            Field::new(column::OPERATION_TYPE, DataType::Utf8, true),
            count(column::OPERATIONS),
            count(column::SUCCESSFUL),
            count(column::FAILED),
            count(column::CANCELLED),
            count(column::IN_FLIGHT),
            float(column::FAILURE_RATE),
            float(column::P50_DURATION_S),
            float(column::P95_DURATION_S),
            float(column::MEAN_QUEUE_S),
        ]))
    }))
}

/// The statistics of a group of operations: aggregate expressions over rows
/// of the `operations` schema, named after the columns of
/// `operation_type_stats()` (every [`column`](mod@column) but `operation_type`).
///
/// Written once: grouped by `operation_type` over the whole table they are
/// `operation_type_stats()`; the report applies them to its windows.
pub fn operation_stats() -> Result<Vec<Expr>> {
    let count_rows = || count(lit(1i64));
    let count_where = |predicate: Expr, name: &str| -> Result<Expr> {
        Ok(count_rows().filter(predicate).build()?.alias(name))
    };
    let status_is = |s: &str| canonical_status(col(input::STATUS)).eq(lit(s));
    let in_flight = canonical_status(col(input::STATUS)).in_list(
        vec![
            lit(status::QUEUED),
            lit(status::SCHEDULED),
            lit(status::IN_PROGRESS),
        ],
        false,
    );
    let duration = op_duration_seconds(col(input::STARTED), col(input::COMPLETED));
    let queue = op_queue_seconds(col(input::CREATED), col(input::STARTED));

    Ok(vec![
        count_rows().alias(column::OPERATIONS),
        count_where(status_is(status::SUCCESSFUL), column::SUCCESSFUL)?,
        count_where(status_is(status::FAILED), column::FAILED)?,
        count_where(status_is(status::CANCELLED), column::CANCELLED)?,
        count_where(in_flight, column::IN_FLIGHT)?,
        failure_rate(col(input::STATUS)).alias(column::FAILURE_RATE),
        op_percentile(duration.clone(), lit(0.5)).alias(column::P50_DURATION_S),
        op_percentile(duration, lit(0.95)).alias(column::P95_DURATION_S),
        avg(queue).alias(column::MEAN_QUEUE_S),
    ])
}

/// The `operation_type_stats()` table function.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "One row per operation_type of the `operations` table, ordered by \
        operation_type: the number of operations, the counts by status (in_flight = queued + \
        scheduled + inProgress; case-insensitive, with aliases), failure_rate as the aggregate \
        of that name, the exact p50 and p95 of op_duration_seconds (linear interpolation \
        between ranks) and the mean of op_queue_seconds. Computed when the query runs, over \
        the current `operations` table.\n\n\
        A NULL operation_type is a group of its own (listed last). failure_rate is NULL when a \
        group has no successful or failed operation; the duration columns are NULL when no row \
        of the group has a duration (NULL or negative durations are ignored), mean_queue_s \
        likewise.",
    syntax_example = "operation_type_stats() -> TABLE(operation_type Utf8, operations Int64, \
        successful Int64, failed Int64, cancelled Int64, in_flight Int64, \
        failure_rate Float64, p50_duration_s Float64, p95_duration_s Float64, \
        mean_queue_s Float64)",
    sql_example = "SELECT operation_type, operations, failed, failure_rate, p95_duration_s \
        FROM operation_type_stats();"
)]
#[derive(Debug, Default)]
pub struct OperationTypeStatsFunc;

impl TableFunctionImpl for OperationTypeStatsFunc {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("{NAME}() takes no arguments, got {}", args.exprs().len());
        }
        Ok(Arc::new(OperationTypeStatsTable))
    }
}

/// The documentation of `operation_type_stats()` (a table function has no
/// `documentation()` in DataFusion, so it is read from here).
pub(super) fn documentation() -> Option<&'static Documentation> {
    instance().doc()
}

/// The table returned by `operation_type_stats()`; computed at scan time.
#[derive(Debug)]
pub struct OperationTypeStatsTable;

#[async_trait]
impl TableProvider for OperationTypeStatsTable {
    fn schema(&self) -> SchemaRef {
        operation_type_stats_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        operation_type_stats_scan(state, state, projection, limit).await
    }
}

/// The scan of `operation_type_stats()`: the `operations` table of `state`
/// (the session running the query), aggregated in a plan made by `planner`.
///
/// The two differ when the query runs in another library's session
/// (datafusion-python through the FFI): the statistics are then planned by
/// a fleetops session, and only the scan of `operations` is the caller's.
pub async fn operation_type_stats_scan(
    state: &dyn Session,
    planner: &dyn Session,
    projection: Option<&Vec<usize>>,
    limit: Option<usize>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let operations = operations_table(state).await?;
    let plan = stats_plan(operations, projection, limit, false).map_err(|e| {
        e.context(format!(
            "{NAME}(): cannot aggregate the '{TABLE_NAME}' table"
        ))
    })?;
    planner.create_physical_plan(&plan).await
}

/// `operation_type_stats()` on a cluster: a view of [`stats_plan`] over the
/// `operations` table it was made with. The plan sent to the scheduler must
/// serialize, and [`OperationTypeStatsTable`] (planned at scan time) does
/// not; a view is inlined into the query's plan when the query is planned.
#[cfg(feature = "cluster")]
#[derive(Debug)]
struct OperationTypeStatsView {
    operations: Arc<dyn TableProvider>,
}

#[cfg(feature = "cluster")]
pub(super) fn view_function(operations: Arc<dyn TableProvider>) -> Arc<dyn TableFunctionImpl> {
    Arc::new(OperationTypeStatsView { operations })
}

#[cfg(feature = "cluster")]
impl TableFunctionImpl for OperationTypeStatsView {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("{NAME}() takes no arguments, got {}", args.exprs().len());
        }
        let plan = stats_plan(Arc::clone(&self.operations), None, None, true).map_err(|e| {
            e.context(format!(
                "{NAME}(): cannot aggregate the '{TABLE_NAME}' table"
            ))
        })?;
        Ok(Arc::new(datafusion::catalog::view::ViewTable::new(
            plan,
            Some(format!("SELECT * FROM {NAME}()")),
        )))
    }
}

/// The `operations` table of the session's default catalog and schema.
async fn operations_table(state: &dyn Session) -> Result<Arc<dyn TableProvider>> {
    let options = &state.config_options().catalog;
    let missing = || {
        plan_datafusion_err!(
            "{NAME}(): no table named '{TABLE_NAME}' is registered (looked in {}.{}); \
             register the operations table before querying it",
            options.default_catalog,
            options.default_schema
        )
    };
    let schema = state
        .catalog_list()
        .catalog(&options.default_catalog)
        .and_then(|catalog| catalog.schema(&options.default_schema))
        .ok_or_else(missing)?;
    schema.table(TABLE_NAME).await?.ok_or_else(missing)
}

/// [`operation_stats`] over `operations`, grouped and ordered by operation
/// type (NULL last), projected to `projection` of the output schema.
///
/// `inlined`: the plan becomes part of the query's plan (a view), where
/// DataFusion's SQL planner drops a sort that no limit follows; an empty
/// limit keeps the order (and is itself optimized away).
fn stats_plan(
    operations: Arc<dyn TableProvider>,
    projection: Option<&Vec<usize>>,
    limit: Option<usize>,
    inlined: bool,
) -> Result<LogicalPlan> {
    // Cast to the declared types (`operation_type` may be read as Utf8View).
    let schema = operation_type_stats_schema();
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let columns = projection
        .unwrap_or(&all)
        .iter()
        .map(|&i| {
            let field = schema.field(i);
            cast(col(field.name()), field.data_type().clone()).alias(field.name())
        })
        .collect::<Vec<_>>();

    let mut builder = LogicalPlanBuilder::scan(TABLE_NAME, provider_as_source(operations), None)?
        .aggregate(vec![col(input::OPERATION_TYPE)], operation_stats()?)?
        .sort(vec![col(input::OPERATION_TYPE).sort(true, false)])?;
    if let Some(limit) = limit {
        builder = builder.limit(0, Some(limit))?;
    } else if inlined {
        builder = builder.limit(0, None)?;
    }
    builder.project(columns)?.build()
}
