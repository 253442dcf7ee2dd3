//! Running fleetops' SQL on an Apache DataFusion Ballista cluster (the
//! `cluster` feature): the client's context, and what the scheduler and the
//! executors need to know to run fleetops' plans.
//!
//! A query is planned on the client, sent to the scheduler as a serialized
//! logical plan, cut there into stages and run by the executors, which read
//! the dataset's files themselves. Three consequences shape this module:
//!
//! - Functions travel by name. The client, the scheduler ([`scheduler_config`])
//!   and every executor ([`executor_config`]) know the same fleetops
//!   functions, including the hidden status helper of the per-type
//!   statistics and fleetops' `date_trunc`.
//! - Only tables the default codec can write travel. [`register_data`] puts
//!   `operations` on the context as a plain Parquet listing table over the
//!   dataset's files and `rejects` as an NDJSON listing table over its
//!   `_rejects/` files; `operation_type_stats()` becomes a view of the same
//!   plan it runs locally. Exports that only exist in the client's memory
//!   are refused: ingest them to a dataset first.
//! - Paths are read where the work runs. The scheduler lists the dataset's
//!   files and the executors read them, so the dataset's folder must have the
//!   same absolute path on the client, the scheduler and every executor
//!   (shared storage); `docs/scaling.md` in the repository says how to run it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ballista::extension::SessionContextExt;
use ballista_core::extension::{
    ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions,
};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::ExecutorProcessConfig;
use ballista_scheduler::config::SchedulerConfig;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::ingest::dataset::{Dataset, REJECTS_DIR};
use crate::schema::rejects::{self, TABLE_NAME as REJECTS_TABLE};
use crate::schema::{TABLE_NAME, operations_read_schema};
use crate::session::{self, DateTruncUtc, Loaded};

/// The scheduler's port when `--cluster` names none (Ballista's default).
pub const DEFAULT_PORT: u16 = 50050;

/// Every scalar function a fleetops plan may call by name: fleetops' public
/// functions, the hidden helpers its own plans use, and its `date_trunc`
/// (listed after DataFusion's, so it replaces it, as on a local context).
fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut all = crate::functions::scalar_udfs();
    all.extend(crate::functions::hidden_udfs());
    all.push(Arc::new(ScalarUDF::from(DateTruncUtc::default())));
    all
}

/// Every aggregate function a fleetops plan may call by name: the public
/// ones and the hidden one several percentiles of one value become.
fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    let mut all = crate::functions::aggregate_udfs();
    all.extend(crate::functions::hidden_udafs());
    all
}

/// The session a scheduler plans each job with: Ballista's defaults with
/// the client's settings (`config`), and every fleetops function.
fn scheduler_session(
    config: SessionConfig,
) -> datafusion::error::Result<datafusion::execution::SessionState> {
    Ok(SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(Arc::new(RuntimeEnvBuilder::new().build()?))
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_scalar_functions(scalar_with_defaults())
        .with_aggregate_functions(aggregate_with_defaults())
        .with_window_functions(ballista_window_functions())
        .build())
}

/// The functions an executor looks up the plans' calls in: DataFusion's
/// defaults and every fleetops function (a later name replaces an earlier).
fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in scalar_functions() {
        for alias in f.aliases() {
            registry
                .scalar_functions
                .insert(alias.clone(), Arc::clone(&f));
        }
        registry.scalar_functions.insert(f.name().to_string(), f);
    }
    for f in aggregate_functions() {
        registry.aggregate_functions.insert(f.name().to_string(), f);
    }
    registry
}

/// `config` with fleetops' session builder: the scheduler then decodes and
/// plans fleetops' functions.
pub fn scheduler_config(config: SchedulerConfig) -> SchedulerConfig {
    config.with_override_session_builder(Arc::new(scheduler_session))
}

/// `config` with fleetops' function registry: the executor then runs
/// fleetops' functions.
pub fn executor_config(mut config: ExecutorProcessConfig) -> ExecutorProcessConfig {
    config.override_function_registry = Some(Arc::new(function_registry()));
    config
}

/// The scheduler's address in a `--cluster` URL, `df://HOST[:PORT]`.
pub fn parse_url(url: &str) -> Result<(String, u16)> {
    let bad = || {
        Error::BadArgument(format!(
            "--cluster takes df://HOST:PORT (the scheduler's address), got '{url}'"
        ))
    };
    let rest = url.strip_prefix("df://").ok_or_else(bad)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        // `[::1]:50050`, `host:50050`
        Some((host, port)) if !port.contains(']') => {
            (host, port.parse::<u16>().map_err(|_| bad())?)
        }
        _ => (rest, DEFAULT_PORT),
    };
    if host.is_empty() || host.contains('/') || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// How long [`connect`] waits for the scheduler to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A context whose queries run on the Ballista cluster whose scheduler
/// listens at `url` (`df://HOST:PORT`), with every fleetops function.
///
/// The scheduler is reached once here, so an unreachable one is reported
/// before any data is read.
pub async fn connect(url: &str) -> Result<SessionContext> {
    let (host, port) = parse_url(url)?;
    let unreachable = |why: String| {
        Error::BadArgument(format!(
            "--cluster {url}: cannot reach a scheduler there ({why}); start fleetops-scheduler \
             on that address or correct the address"
        ))
    };
    // `[::1]` in a URL, `::1` to the resolver.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .collect();
    let mut last = String::from("the host name has no address");
    let mut reached = false;
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                reached = true;
                break;
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
        }
    }
    if !reached {
        return Err(unreachable(last));
    }
    let state = session::new_context()?.state();
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state).await?;
    register_functions(&ctx);
    Ok(ctx)
}

/// A context on a cluster of its own: a scheduler and one executor running
/// `parallelism` tasks at a time in this process, on loopback ports, with
/// plans serialized between them as on a real cluster. For tests and for
/// trying a query before starting a cluster.
pub async fn standalone(parallelism: usize) -> Result<SessionContext> {
    use ballista_core::extension::SessionConfigExt;
    // Ballista's settings first (a config that has them is left as it is).
    let config = session::session_config()
        .upgrade_for_ballista()
        .with_ballista_standalone_parallelism(parallelism.max(1));
    // Ballista starts the standalone scheduler and executor from this
    // state: with fleetops' functions on it, they know them too.
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_scalar_functions(scalar_with_defaults())
        .with_aggregate_functions(aggregate_with_defaults())
        .build();
    let ctx = SessionContext::standalone_with_state(state).await?;
    register_functions(&ctx);
    Ok(ctx)
}

fn scalar_with_defaults() -> Vec<Arc<ScalarUDF>> {
    let mut all = ballista_scalar_functions();
    all.extend(scalar_functions());
    all
}

fn aggregate_with_defaults() -> Vec<Arc<AggregateUDF>> {
    let mut all = ballista_aggregate_functions();
    all.extend(aggregate_functions());
    all
}

/// Ballista's context starts from its own function lists: fleetops' go back
/// on (the table function survives, and is replaced by
/// [`register_data`] with its view form). As on a local context, the hidden
/// helpers are not among them: plans carry them, users cannot call them.
fn register_functions(ctx: &SessionContext) {
    for f in crate::functions::scalar_udfs() {
        ctx.register_udf(f.as_ref().clone());
    }
    ctx.register_udf(ScalarUDF::from(DateTruncUtc::default()));
    for f in crate::functions::aggregate_udfs() {
        ctx.register_udaf(f.as_ref().clone());
    }
}

/// The dataset folder of `--data` on a cluster, or why there is none:
/// export files are refused, as they would only exist in this process.
/// Checked before the scheduler is reached.
pub fn dataset_root(paths: &[PathBuf]) -> Result<&PathBuf> {
    // As in one process, a path that is not there is named first.
    if let Some(p) = paths.iter().find(|p| p.as_os_str() != "-" && !p.exists()) {
        return Err(Error::io(
            p,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    match paths {
        [root] if Dataset::is_dataset(root) => Ok(root),
        [] => Err(Error::BadArgument(
            "--data needs a dataset folder or export files".into(),
        )),
        _ => Err(Error::BadArgument(
            "--cluster reads a dataset folder, and --data names export files that would only \
             exist in this process: ingest them to a dataset first (fleetops ingest EXPORTS \
             --out DIR) and give --data DIR"
                .into(),
        )),
    }
}

/// Registers `operations` and `rejects` of the dataset at `paths` (one
/// dataset folder, see [`dataset_root`]) on a cluster context, and
/// `operation_type_stats()` over them.
pub fn register_data(ctx: &SessionContext, paths: &[PathBuf]) -> Result<Loaded> {
    let root = dataset_root(paths)?;
    let manifest = Dataset::new(root).manifest()?;
    let root_abs = std::path::absolute(root).map_err(|e| Error::io(root, e))?;
    let operations = operations_table(ctx, &root_abs)?;
    ctx.register_table(TABLE_NAME, Arc::clone(&operations))?;
    ctx.register_table(REJECTS_TABLE, rejects_table(&root_abs)?)?;
    let (name, stats) = crate::functions::operation_type_stats_view(operations);
    ctx.register_udtf(name, stats);
    Ok(Loaded::Dataset {
        root: root.clone(),
        manifest,
    })
}

/// The dataset's Parquet files (every day folder, and the flat files of a
/// version 1 dataset) as one listing table, read with the session's Parquet
/// settings, as the local `DatasetTable` reads them without its per-query
/// narrowing to files by their statistics.
fn operations_table(
    ctx: &SessionContext,
    root: &Path,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let dir = Dataset::new(root).operations_dir();
    let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
    let options = session::dataset_listing_options(&ctx.state());
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(operations_read_schema());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// The dataset's `_rejects/*.ndjson` files as the `rejects` table: each line
/// is one row, the fields the table's columns (an absent one is NULL).
fn rejects_table(root: &Path) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let dir = root.join(REJECTS_DIR);
    let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
    let options =
        ListingOptions::new(Arc::new(JsonFormat::default())).with_file_extension(".ndjson");
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(rejects::schema());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// Runs a scheduler with fleetops' functions on `listener` until the process
/// ends (`config` as [`scheduler_config`] makes it; its bind address is
/// ignored for the listener's).
pub async fn serve_scheduler(
    listener: tokio::net::TcpListener,
    config: SchedulerConfig,
) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::scheduler_process::{
        create_scheduler, start_grpc_service_with_listener,
    };
    use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

    let config = scheduler_config(config);
    config.validate().map_err(ballista_error)?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(ballista_error)?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config))
            .await
            .map_err(ballista_error)?;
    start_grpc_service_with_listener(listener, scheduler)
        .await
        .map_err(ballista_error)
}

/// Runs an executor with fleetops' functions until the process ends
/// (`config` as [`executor_config`] makes it).
pub async fn run_executor(config: ExecutorProcessConfig) -> Result<()> {
    ballista_executor::executor_process::start_executor_process(Arc::new(executor_config(config)))
        .await
        .map_err(ballista_error)
}

fn ballista_error(e: ballista_core::error::BallistaError) -> Error {
    Error::Query(datafusion::error::DataFusionError::External(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scheduler and the executors know every function a fleetops plan
    /// can call, by the name the plan carries, as fleetops' own.
    #[test]
    fn the_cluster_knows_every_fleetops_function() {
        let registry = function_registry();
        let state = scheduler_session(SessionConfig::new()).unwrap();
        let mut scalar: Vec<Arc<ScalarUDF>> = crate::functions::scalar_udfs();
        scalar.extend(crate::functions::hidden_udfs());
        assert!(scalar.iter().any(|f| f.name() == "canonical_status"));
        for f in &scalar {
            for known in [
                &registry.scalar_functions[f.name()],
                &state.scalar_functions()[f.name()],
            ] {
                assert_eq!(known.as_ref(), f.as_ref(), "{}", f.name());
            }
        }
        let ours = ScalarUDF::from(DateTruncUtc::default());
        for name in ["date_trunc", "datetrunc"] {
            assert_eq!(registry.scalar_functions[name].as_ref(), &ours, "{name}");
            assert_eq!(state.scalar_functions()[name].as_ref(), &ours, "{name}");
        }
        let mut aggregate = crate::functions::aggregate_udfs();
        aggregate.extend(crate::functions::hidden_udafs());
        assert!(aggregate.iter().any(|f| f.name() == "op_percentiles"));
        for f in &aggregate {
            assert_eq!(registry.aggregate_functions[f.name()].as_ref(), f.as_ref());
            assert_eq!(state.aggregate_functions()[f.name()].as_ref(), f.as_ref());
        }
        // DataFusion's own are still there.
        assert!(
            registry
                .aggregate_functions
                .contains_key("approx_percentile_cont")
        );
        assert!(state.scalar_functions().contains_key("lower"));
    }

    #[test]
    fn cluster_urls() {
        let ok = |u: &str| parse_url(u).unwrap();
        assert_eq!(ok("df://10.0.0.1:7000"), ("10.0.0.1".into(), 7000));
        assert_eq!(
            ok("df://sched.example/"),
            ("sched.example".into(), DEFAULT_PORT)
        );
        assert_eq!(ok("df://[::1]:7000"), ("[::1]".into(), 7000));
        assert_eq!(ok("df://[::1]"), ("[::1]".into(), DEFAULT_PORT));
        for bad in [
            "10.0.0.1:7000",
            "http://h:1",
            "df://",
            "df://h:0",
            "df://h:70000",
            "df://h:x",
            "df://h/path",
        ] {
            let e = parse_url(bad).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "invalid argument: --cluster takes df://HOST:PORT (the scheduler's \
                     address), got '{bad}'"
                ),
                "{bad}"
            );
        }
    }
}
