//! `operations` and `rejects` for a datafusion-python session, as FFI table
//! providers.
//!
//! Each table is planned by the fleetops session that loaded the data, not by
//! the foreign session that scans it: the dataset's file pruning, the
//! in-memory tables of raw exports and the redacting views all stay ours, and
//! only a physical plan crosses the FFI (a plan over fleetops' own providers
//! could not be serialized into the other session).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::TreeNode;
use datafusion::execution::{TaskContext, TaskContextProvider};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_ffi::proto::logical_extension_codec::FFI_LogicalExtensionCodec;
use datafusion_ffi::table_provider::FFI_TableProvider;
use datafusion_ffi::udtf::FFI_TableFunction;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::sealed::Sealed;
use crate::{block_on, runtime, to_py};

/// A table of a fleetops session, planned there whoever scans it.
struct SessionTable {
    ctx: SessionContext,
    name: &'static str,
    schema: SchemaRef,
}

impl std::fmt::Debug for SessionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTable")
            .field("name", &self.name)
            .field("session", &self.ctx.session_id())
            .finish()
    }
}

impl SessionTable {
    async fn new(ctx: SessionContext, name: &'static str) -> fleetops::Result<SessionTable> {
        let schema = ctx.table_provider(name).await?.schema();
        Ok(SessionTable { ctx, name, schema })
    }
}

/// Filters the fleetops session can apply itself: no function calls, which
/// may be the other session's (its Python functions included).
fn portable(filter: &Expr) -> bool {
    !filter
        .exists(|e| {
            Ok(matches!(
                e,
                Expr::ScalarFunction(_)
                    | Expr::AggregateFunction(_)
                    | Expr::WindowFunction(_)
                    | Expr::ScalarSubquery(_)
                    | Expr::Exists(_)
                    | Expr::InSubquery(_)
            ))
        })
        .unwrap_or(true)
}

#[async_trait]
impl TableProvider for SessionTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: the scanning session filters again; pushed filters only
        // let the dataset skip files and row groups.
        Ok(filters
            .iter()
            .map(|f| {
                if portable(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let mut df = self.ctx.table(self.name).await?;
        if let Some(predicate) = filters.iter().cloned().reduce(Expr::and) {
            df = df.filter(predicate)?;
        }
        if let Some(projection) = projection {
            let names: Vec<&str> = projection
                .iter()
                .map(|&i| self.schema.field(i).name().as_str())
                .collect();
            df = df.select_columns(&names)?;
        }
        if limit.is_some() {
            df = df.limit(0, limit)?;
        }
        Ok(Sealed::seal(df.create_physical_plan().await?))
    }
}

/// A table for `SessionContext.register_table(name, table)`.
#[pyclass(module = "fleetops._fleetops", frozen)]
pub struct Table {
    provider: Arc<dyn TableProvider>,
    name: &'static str,
}

#[pymethods]
impl Table {
    /// The capsule datafusion-python registers (`session`, the registering
    /// context, is not needed: see `logical_codec`).
    #[pyo3(signature = (session=None))]
    fn __datafusion_table_provider__<'py>(
        &self,
        py: Python<'py>,
        session: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = session;
        let codec = logical_codec()?;
        let handle = runtime()?.handle().clone();
        let ffi = FFI_TableProvider::new_with_ffi_codec(
            Arc::clone(&self.provider),
            true,
            Some(handle),
            codec,
        );
        PyCapsule::new_with_value(py, ffi, c"datafusion_table_provider")
    }

    fn __repr__(&self) -> String {
        format!("<fleetops table {}>", self.name)
    }
}

/// The task contexts the FFI codecs of fleetops' tables and functions decode
/// expressions with: a fleetops session's, alive as long as the module.
///
/// Not the registering session's: the codec only holds a weak reference to
/// its provider, and a table must outlive the context it was first
/// registered on (`fleetops.context(...).sql(...)` drops the context before
/// the query runs).
struct LocalTasks(SessionContext);

impl TaskContextProvider for LocalTasks {
    fn task_ctx(&self) -> Arc<TaskContext> {
        self.0.task_ctx()
    }
}

fn logical_codec() -> PyResult<FFI_LogicalExtensionCodec> {
    static TASKS: OnceLock<Result<Arc<LocalTasks>, String>> = OnceLock::new();
    let tasks = TASKS
        .get_or_init(|| {
            fleetops::session::new_context()
                .map(|ctx| Arc::new(LocalTasks(ctx)))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| crate::Error::new_err(e.clone()))?;
    let tasks: Arc<dyn TaskContextProvider> = Arc::clone(tasks) as _;
    Ok(FFI_LogicalExtensionCodec::new_default(&tasks))
}

/// Loads `--data` (a dataset folder, or export files and folders ingested in
/// memory) and returns its `operations` and `rejects` tables.
#[pyfunction]
#[pyo3(signature = (data, redact_key))]
pub fn context_tables(
    py: Python<'_>,
    data: Vec<PathBuf>,
    redact_key: Option<Vec<u8>>,
) -> PyResult<(Table, Table)> {
    let redactor = redact_key
        .map(|k| fleetops::redact::Redactor::from_key_text(&k))
        .transpose()
        .map_err(to_py)?;
    let (operations, rejects) = block_on(py, async move {
        let ctx = fleetops::session::new_context()?;
        fleetops::session::register_data(&ctx, &data, &Default::default())?;
        if let Some(r) = &redactor {
            fleetops::redact::redact_context(&ctx, r)?;
        }
        let operations = SessionTable::new(ctx.clone(), fleetops::schema::TABLE_NAME).await?;
        let rejects = SessionTable::new(ctx, fleetops::schema::rejects::TABLE_NAME).await?;
        Ok((operations, rejects))
    })?;
    Ok((
        Table {
            name: operations.name,
            provider: Arc::new(operations),
        },
        Table {
            name: rejects.name,
            provider: Arc::new(rejects),
        },
    ))
}

/// `operation_type_stats()` for a datafusion-python session: the library's
/// table function, except that its statistics are planned by a fleetops
/// session (the foreign session could only plan them from a serialized plan,
/// which its codec cannot make of another library's providers).
#[derive(Debug)]
struct StatsFunction;

impl TableFunctionImpl for StatsFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        // The library's function checks the arguments.
        fleetops::functions::operation_type_stats_udtf().call_with_args(args)?;
        Ok(Arc::new(StatsTable))
    }
}

/// The table `StatsFunction` returns.
#[derive(Debug)]
struct StatsTable;

#[async_trait]
impl TableProvider for StatsTable {
    fn schema(&self) -> SchemaRef {
        fleetops::functions::operation_type_stats_schema()
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
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let planner = fleetops::session::new_context()
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?
            .state();
        let plan =
            fleetops::functions::operation_type_stats_scan(state, &planner, projection, limit)
                .await?;
        Ok(Sealed::seal(plan))
    }
}

/// `operation_type_stats()`, for `datafusion.udtf(obj, name)`.
#[pyclass(module = "fleetops._fleetops", frozen)]
pub struct TableFunction;

#[pymethods]
impl TableFunction {
    /// The capsule datafusion-python registers (`session`: see
    /// `logical_codec`).
    #[pyo3(signature = (session=None))]
    fn __datafusion_table_function__<'py>(
        &self,
        py: Python<'py>,
        session: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = session;
        let codec = logical_codec()?;
        let handle = runtime()?.handle().clone();
        let ffi =
            FFI_TableFunction::new_with_ffi_codec(Arc::new(StatsFunction), Some(handle), codec);
        PyCapsule::new_with_value(py, ffi, c"datafusion_table_function")
    }

    fn __repr__(&self) -> &'static str {
        "<fleetops table function operation_type_stats>"
    }
}

/// The table functions, by SQL name.
#[pyfunction]
pub fn table_functions() -> Vec<(&'static str, TableFunction)> {
    vec![("operation_type_stats", TableFunction)]
}
