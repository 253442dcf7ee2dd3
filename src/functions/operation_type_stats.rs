//! `operation_type_stats()`: one row of counts, failure rate and latency per
//! `operation_type` of the `operations` table.
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
    Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, TableType, cast, col, lit,
};
use datafusion::physical_plan::ExecutionPlan;

use super::docs;
use crate::schema::{TABLE_NAME, col as column};
use crate::status;

/// Output column names, in order.
pub mod out {
    pub const OPERATION_TYPE: &str = "operation_type";
    pub const OPERATIONS: &str = "operations";
    pub const SUCCESSFUL: &str = "successful";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
    pub const IN_FLIGHT: &str = "in_flight";
    pub const FAILURE_RATE: &str = "failure_rate";
    pub const P50_DURATION_S: &str = "p50_duration_s";
    pub const P95_DURATION_S: &str = "p95_duration_s";
    pub const MEAN_QUEUE_S: &str = "mean_queue_s";
}

/// The schema of `operation_type_stats()`.
pub fn operation_type_stats_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| {
        let count = |name| Field::new(name, DataType::Int64, false);
        let float = |name| Field::new(name, DataType::Float64, true);
        Arc::new(Schema::new(vec![
            Field::new(out::OPERATION_TYPE, DataType::Utf8, true),
            count(out::OPERATIONS),
            count(out::SUCCESSFUL),
            count(out::FAILED),
            count(out::CANCELLED),
            count(out::IN_FLIGHT),
            float(out::FAILURE_RATE),
            float(out::P50_DURATION_S),
            float(out::P95_DURATION_S),
            float(out::MEAN_QUEUE_S),
        ]))
    }))
}

/// The `operation_type_stats()` table function.
#[derive(Debug, Default)]
pub struct OperationTypeStatsFunc;

impl TableFunctionImpl for OperationTypeStatsFunc {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!(
                "{}() takes no arguments, got {}",
                docs::OPERATION_TYPE_STATS.name,
                args.exprs().len()
            );
        }
        Ok(Arc::new(OperationTypeStatsTable))
    }
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
        let operations = operations_table(state).await?;
        let plan = stats_plan(operations, projection, limit).map_err(|e| {
            e.context(format!(
                "{}(): cannot aggregate the '{TABLE_NAME}' table",
                docs::OPERATION_TYPE_STATS.name
            ))
        })?;
        state.create_physical_plan(&plan).await
    }
}

/// The `operations` table of the session's default catalog and schema.
async fn operations_table(state: &dyn Session) -> Result<Arc<dyn TableProvider>> {
    let options = &state.config_options().catalog;
    let missing = || {
        plan_datafusion_err!(
            "{}(): no table named '{TABLE_NAME}' is registered (looked in {}.{}); \
             register the operations table before querying it",
            docs::OPERATION_TYPE_STATS.name,
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

/// The aggregation over `operations`, grouped and ordered by operation type
/// (NULL last), projected to `projection` of the output schema.
fn stats_plan(
    operations: Arc<dyn TableProvider>,
    projection: Option<&Vec<usize>>,
    limit: Option<usize>,
) -> Result<LogicalPlan> {
    let canonical = || super::canonical_status_udf().call(vec![col(column::STATUS)]);
    let count_rows = || count(lit(1i64));
    let count_where = |predicate: Expr, name: &str| -> Result<Expr> {
        Ok(count_rows().filter(predicate).build()?.alias(name))
    };
    let duration = super::op_duration_seconds(col(column::STARTED), col(column::COMPLETED));
    let queue = super::op_queue_seconds(col(column::CREATED), col(column::STARTED));

    let aggregates = vec![
        count_rows().alias(out::OPERATIONS),
        count_where(canonical().eq(lit(status::SUCCESSFUL)), out::SUCCESSFUL)?,
        count_where(canonical().eq(lit(status::FAILED)), out::FAILED)?,
        count_where(canonical().eq(lit(status::CANCELLED)), out::CANCELLED)?,
        count_where(
            canonical().in_list(
                vec![
                    lit(status::QUEUED),
                    lit(status::SCHEDULED),
                    lit(status::IN_PROGRESS),
                ],
                false,
            ),
            out::IN_FLIGHT,
        )?,
        super::failure_rate(col(column::STATUS)).alias(out::FAILURE_RATE),
        super::op_percentile(duration.clone(), lit(0.5)).alias(out::P50_DURATION_S),
        super::op_percentile(duration, lit(0.95)).alias(out::P95_DURATION_S),
        avg(queue).alias(out::MEAN_QUEUE_S),
    ];

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
        .aggregate(vec![col(column::OPERATION_TYPE)], aggregates)?
        .sort(vec![col(column::OPERATION_TYPE).sort(true, false)])?;
    if let Some(limit) = limit {
        builder = builder.limit(0, Some(limit))?;
    }
    builder.project(columns)?.build()
}
