//! Several `op_percentile` calls over the same values, computed once.
//!
//! `p50` and `p95` of the same durations side by side is how percentiles are
//! asked for (the named queries, `operation_type_stats()`, the report). Each
//! call of an exact percentile holds every value of its group, so two calls
//! held, copied between the partial and final aggregation and selected
//! among every value twice. [`SharedPercentiles`], an optimizer rule that
//! [`super::register_all`] adds, replaces the calls of one aggregation that
//! differ only in their fraction by one call of the hidden aggregate
//! `op_percentiles(value, fraction, ...)`, a struct with a Float64 field per
//! fraction, and takes each former result out of it by a projection: the
//! same columns, names, types and values.

use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue, not_impl_err};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, Aggregate, AggregateUDF, AggregateUDFImpl, Expr, GroupsAccumulator, LogicalPlan,
    Projection, Signature, Volatility,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use super::op_percentile::{
    self, Fraction, Fractions, PercentileAccumulator, PercentileGroupsAccumulator,
};

/// The hidden aggregate's name (never registered: plans carry it).
const NAME: &str = "op_percentiles";

/// `op_percentiles(value, fraction, ...)`: the exact percentiles of `value`
/// at each literal fraction, as `op_percentile` gives them one by one; a
/// struct of nullable Float64 fields "0", "1", ... in the fractions' order.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpPercentilesFunc {
    signature: Signature,
}

impl Default for OpPercentilesFunc {
    fn default() -> Self {
        // Only the rule calls it, with arguments `op_percentile` has
        // already coerced to Float64.
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

/// The one instance.
pub(super) fn instance() -> &'static Arc<AggregateUDF> {
    static UDAF: std::sync::OnceLock<Arc<AggregateUDF>> = std::sync::OnceLock::new();
    UDAF.get_or_init(|| Arc::new(AggregateUDF::new_from_impl(OpPercentilesFunc::default())))
}

impl OpPercentilesFunc {
    fn fractions(&self, args: &AccumulatorArgs) -> Result<Fractions> {
        if args.is_distinct {
            return not_impl_err!("{NAME}(DISTINCT ...) is not supported");
        }
        let fractions = args
            .exprs
            .iter()
            .skip(1)
            .map(|f| op_percentile::literal_fraction(NAME, f))
            .collect::<Result<Vec<Fraction>>>()?;
        Ok(Fractions::Many(fractions))
    }
}

impl AggregateUDFImpl for OpPercentilesFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(op_percentile::struct_fields(
            arg_types.len().saturating_sub(1),
        )))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(PercentileAccumulator::new(self.fractions(&args)?)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(op_percentile::state_fields(&args))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(PercentileGroupsAccumulator::new(
            self.fractions(&args)?,
        )))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }
}

/// The optimizer rule: see the module's documentation.
#[derive(Debug, Default)]
pub struct SharedPercentiles;

/// One `op_percentile` call of an aggregation: where it is, and its fraction.
struct Call {
    /// Its place in `aggr_expr`.
    at: usize,
    fraction: ScalarValue,
}

/// Calls that may share their values: the same value, DISTINCT, FILTER,
/// ORDER BY and NULL treatment.
struct Family<'a> {
    call: &'a AggregateFunction,
    members: Vec<Call>,
}

impl OptimizerRule for SharedPercentiles {
    fn name(&self) -> &str {
        "fleetops_shared_percentiles"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(agg) = plan else {
            return Ok(Transformed::no(plan));
        };
        let families = families(&agg);
        if families.is_empty() {
            return Ok(Transformed::no(LogicalPlan::Aggregate(agg)));
        }
        // The other aggregates as they were, then one shared call a family.
        let fused: std::collections::HashMap<usize, (usize, usize)> = families
            .iter()
            .enumerate()
            .flat_map(|(k, fam)| {
                fam.members
                    .iter()
                    .enumerate()
                    .map(move |(i, c)| (c.at, (k, i)))
            })
            .collect();
        let mut aggr_expr: Vec<Expr> = agg
            .aggr_expr
            .iter()
            .enumerate()
            .filter(|(i, _)| !fused.contains_key(i))
            .map(|(_, e)| e.clone())
            .collect();
        let shared_name = |k: usize| format!("__op_percentiles_{k}");
        for (k, fam) in families.iter().enumerate() {
            let p = &fam.call.params;
            let mut args = vec![p.args[0].clone()];
            args.extend(
                fam.members
                    .iter()
                    .map(|c| Expr::Literal(c.fraction.clone(), None)),
            );
            let call = AggregateFunction::new_udf(
                Arc::clone(instance()),
                args,
                p.distinct,
                p.filter.clone(),
                p.order_by.clone(),
                p.null_treatment,
            );
            aggr_expr.push(Expr::AggregateFunction(call).alias(shared_name(k)));
        }
        let new_agg =
            Aggregate::try_new(Arc::clone(&agg.input), agg.group_expr.clone(), aggr_expr)?;
        // The former columns, in their order: grouping columns and other
        // aggregates by name, a fused call's result from its struct.
        let first_aggr = agg.schema.fields().len() - agg.aggr_expr.len();
        let exprs = (0..agg.schema.fields().len())
            .map(|i| {
                let (qualifier, field) = agg.schema.qualified_field(i);
                let former = Column::new(qualifier.cloned(), field.name());
                match i.checked_sub(first_aggr).and_then(|a| fused.get(&a)) {
                    None => Expr::Column(former),
                    Some(&(k, member)) => datafusion::functions::core::expr_fn::get_field(
                        Expr::Column(Column::from_name(shared_name(k))),
                        member.to_string(),
                    )
                    .alias_qualified(qualifier.cloned(), field.name()),
                }
            })
            .collect();
        let projection = Projection::try_new(exprs, Arc::new(LogicalPlan::Aggregate(new_agg)))?;
        Ok(Transformed::yes(LogicalPlan::Projection(projection)))
    }
}

/// The families of two or more `op_percentile` calls of `agg` with literal
/// fractions.
fn families(agg: &Aggregate) -> Vec<Family<'_>> {
    let percentile = super::op_percentile_udaf();
    let mut families: Vec<Family<'_>> = Vec::new();
    for (at, e) in agg.aggr_expr.iter().enumerate() {
        // An alias keeps a call's former name (the simplifier adds them);
        // the projection names every column as before anyway.
        let call = match e {
            Expr::Alias(a) => a.expr.as_ref(),
            e => e,
        };
        let Expr::AggregateFunction(call) = call else {
            continue;
        };
        // DISTINCT is refused by `op_percentile`: left for it to say so.
        if call.func.as_ref() != percentile.as_ref()
            || call.params.args.len() != 2
            || call.params.distinct
        {
            continue;
        }
        // Only valid fractions: a wrong one is left for `op_percentile` to
        // name in its error.
        let Expr::Literal(fraction, _) = &call.params.args[1] else {
            continue;
        };
        if !matches!(
            fraction.cast_to(&DataType::Float64),
            Ok(ScalarValue::Float64(Some(f))) if (0.0..=1.0).contains(&f)
        ) {
            continue;
        }
        let same = |f: &Family<'_>| {
            let (a, b) = (&f.call.params, &call.params);
            a.args[0] == b.args[0]
                && a.distinct == b.distinct
                && a.filter == b.filter
                && a.order_by == b.order_by
                && a.null_treatment == b.null_treatment
        };
        let member = Call {
            at,
            fraction: fraction.clone(),
        };
        match families.iter_mut().find(|f| same(f)) {
            Some(f) => f.members.push(member),
            None => families.push(Family {
                call,
                members: vec![member],
            }),
        }
    }
    families.retain(|f| f.members.len() > 1);
    families
}

#[cfg(test)]
mod tests {
    use arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    /// A session with the functions, with or without the rule.
    async fn session(rule: bool) -> SessionContext {
        let ctx = SessionContext::new();
        if rule {
            super::super::register_all(&ctx).unwrap();
        } else {
            for udf in super::super::scalar_udfs() {
                ctx.register_udf(udf.as_ref().clone());
            }
            for udaf in super::super::aggregate_udfs() {
                ctx.register_udaf(udaf.as_ref().clone());
            }
        }
        // 400 groups of 0 to 60 values, with NULLs, duplicates and -0.0.
        ctx.sql(
            "CREATE TABLE t AS SELECT value % 400 AS g, \
             CASE WHEN value % 7 = 0 THEN NULL \
                  WHEN value % 11 = 0 THEN -0.0 \
                  ELSE CAST((value * 7919) % 1000 AS DOUBLE) / 8 END AS x, \
             CAST(value % 13 AS DOUBLE) AS y \
             FROM generate_series(1, 24000) WHERE value % 400 <> 17 OR value < 400",
        )
        .await
        .unwrap();
        ctx
    }

    /// The result as text, with its column names, and the optimised plan.
    async fn run(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df
            .clone()
            .into_optimized_plan()
            .unwrap()
            .display_indent()
            .to_string();
        let batches = df.collect().await.unwrap();
        (pretty_format_batches(&batches).unwrap().to_string(), plan)
    }

    /// The same columns and values as the calls one by one; one shared call
    /// per family of two or more.
    #[tokio::test]
    async fn shared_calls_give_the_separate_results() {
        let (with, without) = (session(true).await, session(false).await);
        let cases = [
            // Two families (x, and x under a FILTER), a lone call of y, and
            // other aggregates between them.
            (
                "SELECT g, op_percentile(x, 0.95), count(x) AS n, op_percentile(x, 0.5) AS p50, \
                 op_percentile(y, 0.5), op_percentile(x, 0.0), op_percentile(x, 1), \
                 op_percentile(x, 0.25) FILTER (WHERE y > 3) AS f25, \
                 op_percentile(x, 0.75) FILTER (WHERE y > 3) AS f75 \
                 FROM t GROUP BY g ORDER BY g",
                2,
            ),
            // No GROUP BY: the one-group accumulator.
            (
                "SELECT op_percentile(x, 0.9), op_percentile(x, 0.1), op_percentile(x, 0.9) + 1 FROM t",
                1,
            ),
            // Grouping sets keep their grouping columns.
            (
                "SELECT g % 3 AS a, g % 5 AS b, op_percentile(y, 0.5), op_percentile(y, 0.99) \
                 FROM t GROUP BY ROLLUP (g % 3, g % 5) ORDER BY a NULLS FIRST, b NULLS FIRST",
                1,
            ),
            // Nothing to share: left as it was.
            (
                "SELECT op_percentile(x, 0.5), op_percentile(y, 0.5) FROM t",
                0,
            ),
        ];
        for (sql, shared) in cases {
            let (fused, plan) = run(&with, sql).await;
            let (separate, plain) = run(&without, sql).await;
            assert_eq!(fused, separate, "{sql}");
            assert_eq!(plan.matches("op_percentiles(").count(), shared, "{plan}");
            assert!(!plain.contains("op_percentiles("), "{plain}");
        }
    }

    /// DISTINCT and wrong fractions stay refused, by `op_percentile` itself.
    #[tokio::test]
    async fn refusals_are_left_to_op_percentile() {
        let ctx = session(true).await;
        for (sql, message) in [
            (
                "SELECT op_percentile(DISTINCT x, 0.5), op_percentile(DISTINCT x, 0.9) FROM t",
                "op_percentile(DISTINCT ...)",
            ),
            (
                "SELECT op_percentile(x, 0.5), op_percentile(x, 1.5) FROM t",
                "op_percentile: the fraction must be between 0 and 1, got 1.5",
            ),
            (
                "SELECT op_percentile(x, NULL), op_percentile(x, 0.5) FROM t",
                "op_percentile: the fraction must be a literal between 0 and 1, got NULL",
            ),
        ] {
            let err = match ctx.sql(sql).await {
                Ok(df) => df.collect().await.unwrap_err(),
                Err(e) => e,
            };
            assert!(err.to_string().contains(message), "{sql}: {err}");
        }
    }
}
