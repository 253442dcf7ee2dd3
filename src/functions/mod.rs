//! SQL functions over Teams device operations, registered on a
//! `SessionContext` by [`register_all`].
//!
//! | SQL | kind | file |
//! |-----|------|------|
//! | `op_duration_seconds(started, completed)` | scalar | [`duration`] |
//! | `op_queue_seconds(created, started)` | scalar | [`duration`] |
//! | `is_terminal(status)`, `is_failed(status)` | scalar | [`status`] |
//! | `failure_rate(status)` | aggregate | [`failure_rate`](mod@failure_rate) |
//! | `op_percentile(value, fraction)` | aggregate | [`percentile`] |
//! | `operation_type_stats()` | table | [`operation_type_stats`](mod@operation_type_stats) |
//!
//! Each function has an `Expr` builder of the same name (for the DataFrame
//! API) and a shared instance (`xxx_udf()`, `xxx_udaf()`, `xxx_udtf()`); its
//! documentation is in [`docs`].

use std::sync::{Arc, OnceLock};

use datafusion::catalog::TableFunctionImpl;
use datafusion::logical_expr::{AggregateUDF, Expr, ScalarUDF};
use datafusion::prelude::SessionContext;

mod common;
pub mod docs;
pub mod duration;
pub mod failure_rate;
pub mod operation_type_stats;
pub mod percentile;
pub mod status;

pub use docs::{FunctionDoc, function_docs};

/// Makes, for a scalar function, an `Expr` builder and a shared `ScalarUDF`.
macro_rules! make_udf_function {
    ($udf:ty, $expr_fn:ident, $udf_fn:ident, $doc:literal, $($arg:ident),+) => {
        #[doc = $doc]
        pub fn $expr_fn($($arg: Expr),+) -> Expr {
            $udf_fn().call(vec![$($arg),+])
        }

        #[doc = concat!("The shared `", stringify!($expr_fn), "` scalar function.")]
        pub fn $udf_fn() -> Arc<ScalarUDF> {
            static UDF: OnceLock<Arc<ScalarUDF>> = OnceLock::new();
            Arc::clone(UDF.get_or_init(|| Arc::new(ScalarUDF::new_from_impl(<$udf>::default()))))
        }
    };
}

/// Makes, for an aggregate function, an `Expr` builder and a shared `AggregateUDF`.
macro_rules! make_udaf_function {
    ($udaf:ty, $expr_fn:ident, $udaf_fn:ident, $doc:literal, $($arg:ident),+) => {
        #[doc = $doc]
        pub fn $expr_fn($($arg: Expr),+) -> Expr {
            $udaf_fn().call(vec![$($arg),+])
        }

        #[doc = concat!("The shared `", stringify!($expr_fn), "` aggregate function.")]
        pub fn $udaf_fn() -> Arc<AggregateUDF> {
            static UDAF: OnceLock<Arc<AggregateUDF>> = OnceLock::new();
            Arc::clone(
                UDAF.get_or_init(|| Arc::new(AggregateUDF::new_from_impl(<$udaf>::default()))),
            )
        }
    };
}

make_udf_function!(
    duration::OpDurationSecondsFunc,
    op_duration_seconds,
    op_duration_seconds_udf,
    "`op_duration_seconds(started, completed)`: seconds from start to completion.",
    started,
    completed
);
make_udf_function!(
    duration::OpQueueSecondsFunc,
    op_queue_seconds,
    op_queue_seconds_udf,
    "`op_queue_seconds(created, started)`: seconds from creation to start.",
    created,
    started
);
make_udf_function!(
    status::IsTerminalFunc,
    is_terminal,
    is_terminal_udf,
    "`is_terminal(status)`: successful, failed or cancelled.",
    status
);
make_udf_function!(
    status::IsFailedFunc,
    is_failed,
    is_failed_udf,
    "`is_failed(status)`: failed.",
    status
);
make_udaf_function!(
    failure_rate::FailureRateFunc,
    failure_rate,
    failure_rate_udaf,
    "`failure_rate(status)`: failed / (successful + failed).",
    status
);
make_udaf_function!(
    percentile::OpPercentileFunc,
    op_percentile,
    op_percentile_udaf,
    "`op_percentile(value, fraction)`: exact percentile, linear between ranks.",
    value,
    fraction
);

/// `canonical_status(status)`, used inside `operation_type_stats()` only (not registered).
pub(crate) fn canonical_status_udf() -> Arc<ScalarUDF> {
    static UDF: OnceLock<Arc<ScalarUDF>> = OnceLock::new();
    Arc::clone(UDF.get_or_init(|| {
        Arc::new(ScalarUDF::new_from_impl(
            status::CanonicalStatusFunc::default(),
        ))
    }))
}

/// The shared `operation_type_stats()` table function.
pub fn operation_type_stats_udtf() -> Arc<dyn TableFunctionImpl> {
    static UDTF: OnceLock<Arc<dyn TableFunctionImpl>> = OnceLock::new();
    Arc::clone(UDTF.get_or_init(|| Arc::new(operation_type_stats::OperationTypeStatsFunc)))
}

/// Every registered scalar function.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        op_duration_seconds_udf(),
        op_queue_seconds_udf(),
        is_terminal_udf(),
        is_failed_udf(),
    ]
}

/// Every registered aggregate function.
pub fn aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    vec![failure_rate_udaf(), op_percentile_udaf()]
}

/// Every registered table function, by SQL name.
pub fn table_udtfs() -> Vec<(&'static str, Arc<dyn TableFunctionImpl>)> {
    vec![(docs::OPERATION_TYPE_STATS.name, operation_type_stats_udtf())]
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

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
            assert_eq!(udf.documentation(), Some(&doc.to_documentation()));
            registered.insert(doc.name);
        }
        for udaf in aggregate_udfs() {
            assert!(state.aggregate_functions().contains_key(udaf.name()));
            let doc = docs.iter().find(|d| d.name == udaf.name()).unwrap();
            assert_eq!(doc.kind, "aggregate");
            assert_eq!(udaf.documentation(), Some(&doc.to_documentation()));
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
        }
    }
}
