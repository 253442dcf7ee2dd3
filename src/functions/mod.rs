//! SQL functions over Teams device operations, registered on a
//! `SessionContext` by [`register_all`].
//!
//! | SQL | kind | file |
//! |-----|------|------|
//! | `op_duration_seconds(started, completed)` | scalar | `op_duration_seconds.rs` |
//! | `op_queue_seconds(created, started)` | scalar | `op_queue_seconds.rs` |
//! | `is_terminal(status)` | scalar | `is_terminal.rs` |
//! | `is_failed(status)` | scalar | `is_failed.rs` |
//! | `failure_rate(status)` | aggregate | `failure_rate.rs` |
//! | `op_percentile(value, fraction)` | aggregate | `op_percentile.rs` |
//! | `operation_type_stats()` | table | `operation_type_stats.rs` |
//!
//! `op_percentiles.rs` is not a function users call: the optimizer rule that
//! [`register_all`] adds, computing several `op_percentile` calls over the
//! same values once.
//!
//! Each file holds one function: its implementation, its documentation
//! (DataFusion's `#[user_doc]`, which `fleetops functions` prints), its `Expr`
//! builder of the same name as the SQL function (for the DataFrame API) and
//! its shared instance (`xxx_udf()`, `xxx_udaf()`, `xxx_udtf()`). Helpers
//! shared between functions are in `common.rs`; `canonical_status.rs` is a
//! hidden helper of the per-type statistics, never registered.
//!
//! To add a function: a file like its closest sibling, then one line in
//! [`scalar_udfs`], [`aggregate_udfs`] or [`table_udtfs`] and in
//! [`function_docs`] (a test checks the two lists agree).

#[macro_use]
mod macros;

mod canonical_status;
mod common;
mod doc;
mod failure_rate;
mod is_failed;
mod is_terminal;
mod op_duration_seconds;
mod op_percentile;
mod op_percentiles;
mod op_queue_seconds;
mod operation_type_stats;

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use doc::FunctionDoc;
pub use failure_rate::{failure_rate, failure_rate_udaf};
pub use is_failed::{is_failed, is_failed_udf};
pub use is_terminal::{is_terminal, is_terminal_udf};
pub use op_duration_seconds::{op_duration_seconds, op_duration_seconds_udf};
pub use op_percentile::{op_percentile, op_percentile_udaf};
pub use op_queue_seconds::{op_queue_seconds, op_queue_seconds_udf};
pub use operation_type_stats::{
    column as stats_column, operation_stats, operation_type_stats_scan,
    operation_type_stats_schema, operation_type_stats_udtf,
};

/// The scalar functions, in listing order.
fn scalar_instances() -> [&'static Arc<ScalarUDF>; 4] {
    [
        op_duration_seconds::instance(),
        op_queue_seconds::instance(),
        is_terminal::instance(),
        is_failed::instance(),
    ]
}

/// The aggregate functions, in listing order.
fn aggregate_instances() -> [&'static Arc<AggregateUDF>; 2] {
    [failure_rate::instance(), op_percentile::instance()]
}

/// Every registered scalar function.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    scalar_instances().into_iter().map(Arc::clone).collect()
}

/// Every registered aggregate function.
pub fn aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    aggregate_instances().into_iter().map(Arc::clone).collect()
}

/// Every registered table function, by SQL name.
pub fn table_udtfs() -> Vec<(&'static str, Arc<dyn TableFunctionImpl>)> {
    vec![(operation_type_stats::NAME, operation_type_stats_udtf())]
}

/// The documentation of every fleetops SQL function, in the order
/// `fleetops functions` lists them: scalar, aggregate, then table functions.
pub fn function_docs() -> Vec<FunctionDoc> {
    let scalar = scalar_instances()
        .into_iter()
        .filter_map(|f| Some(FunctionDoc::new(f.name(), "scalar", f.documentation()?)));
    let aggregate = aggregate_instances()
        .into_iter()
        .filter_map(|f| Some(FunctionDoc::new(f.name(), "aggregate", f.documentation()?)));
    let table = operation_type_stats::documentation()
        .map(|d| FunctionDoc::new(operation_type_stats::NAME, "table", d));
    scalar.chain(aggregate).chain(table).collect()
}

/// The scalar functions fleetops' own plans call without registering them
/// (the status canonicaliser of `operation_type_stats()` and the report's
/// per-type statistics). A cluster's scheduler and executors find functions
/// by name, so they must know these too.
#[cfg(feature = "cluster")]
pub(crate) fn hidden_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![canonical_status::instance()]
}

/// The aggregate functions fleetops' optimizer rule puts in plans (several
/// `op_percentile` calls over one value, computed together): a cluster's
/// scheduler and executors must know them by name too.
#[cfg(feature = "cluster")]
pub(crate) fn hidden_udafs() -> Vec<Arc<AggregateUDF>> {
    vec![Arc::clone(op_percentiles::instance())]
}

/// `operation_type_stats()` as a view over `operations`: the same plan as
/// the table function's, made when the function is called rather than when
/// the query runs, so that the plan sent to a cluster holds only a listing
/// table and functions known by name.
#[cfg(feature = "cluster")]
pub(crate) fn operation_type_stats_view(
    operations: Arc<dyn datafusion::catalog::TableProvider>,
) -> (&'static str, Arc<dyn TableFunctionImpl>) {
    (
        operation_type_stats::NAME,
        operation_type_stats::view_function(operations),
    )
}

/// Registers every fleetops SQL function on `ctx`.
pub fn register_all(ctx: &SessionContext) -> datafusion::error::Result<()> {
    for udf in scalar_udfs() {
        ctx.register_udf(udf.as_ref().clone());
    }
    for udaf in aggregate_udfs() {
        ctx.register_udaf(udaf.as_ref().clone());
    }
    for (name, udtf) in table_udtfs() {
        ctx.register_udtf(name, udtf);
    }
    // Percentiles of the same values at several fractions share them.
    ctx.add_optimizer_rule(Arc::new(op_percentiles::SharedPercentiles));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use datafusion::logical_expr::{Expr, col, lit};

    use super::*;

    #[test]
    fn every_registered_function_is_documented() {
        let ctx = SessionContext::new();
        register_all(&ctx).unwrap();
        let state = ctx.state();

        let docs = function_docs();
        let documented: BTreeSet<_> = docs.iter().map(|d| d.name).collect();
        assert_eq!(documented.len(), docs.len(), "duplicate doc entries");

        let mut registered = BTreeSet::new();
        for udf in scalar_udfs() {
            assert!(state.scalar_functions().contains_key(udf.name()));
            let doc = docs.iter().find(|d| d.name == udf.name()).unwrap();
            assert_eq!(doc.kind, "scalar");
            registered.insert(doc.name);
        }
        for udaf in aggregate_udfs() {
            assert!(state.aggregate_functions().contains_key(udaf.name()));
            let doc = docs.iter().find(|d| d.name == udaf.name()).unwrap();
            assert_eq!(doc.kind, "aggregate");
            registered.insert(doc.name);
        }
        for (name, _) in table_udtfs() {
            assert!(state.table_functions().contains_key(name));
            let doc = docs.iter().find(|d| d.name == name).unwrap();
            assert_eq!(doc.kind, "table");
            registered.insert(doc.name);
        }
        assert_eq!(registered, documented);

        for doc in &docs {
            for text in [
                doc.signature,
                doc.description,
                doc.null_behaviour,
                doc.example,
            ] {
                assert!(!text.trim().is_empty(), "{}: empty doc field", doc.name);
            }
            assert!(doc.signature.starts_with(doc.name), "{}", doc.name);
            assert!(doc.example.contains(doc.name), "{}", doc.name);
            assert!(doc.null_behaviour.contains("NULL"), "{}", doc.name);
            assert!(!doc.description.contains("\n\n"), "{}", doc.name);
        }
    }

    /// Each builder calls the function of its own name.
    #[test]
    fn builders_are_named_as_their_functions() {
        let called = |e: Expr| match e {
            Expr::ScalarFunction(f) => f.func.name().to_string(),
            Expr::AggregateFunction(f) => f.func.name().to_string(),
            other => panic!("not a function call: {other}"),
        };
        let (a, b) = (col("a"), col("b"));
        let calls = [
            (
                "op_duration_seconds",
                op_duration_seconds(a.clone(), b.clone()),
            ),
            ("op_queue_seconds", op_queue_seconds(a.clone(), b.clone())),
            ("is_terminal", is_terminal(a.clone())),
            ("is_failed", is_failed(a.clone())),
            ("failure_rate", failure_rate(a.clone())),
            ("op_percentile", op_percentile(a, lit(0.5))),
        ];
        for (name, expr) in calls {
            assert_eq!(called(expr), name);
        }
    }
}
