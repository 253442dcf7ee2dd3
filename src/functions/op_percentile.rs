//! `op_percentile(value, fraction)`: the exact percentile with linear
//! interpolation between ranks.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, ListArray, RecordBatch, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Schema};
use datafusion::common::types::NativeType;
use datafusion::common::types::logical_float64;
use datafusion::common::{
    Result, ScalarValue, exec_err, not_impl_err, plan_err, utils::take_function_args,
};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Coercion, ColumnarValue, Documentation, EmitTo,
    GroupsAccumulator, Signature, TypeSignatureClass, Volatility,
};
use datafusion_macros::user_doc;

use super::common::passes_filter;

make_udaf_function!(
    OpPercentileFunc,
    op_percentile,
    op_percentile_udaf,
    "`op_percentile(value, fraction)`: exact percentile, linear between ranks.",
    value,
    fraction
);

/// `op_percentile(value, fraction)`: exact percentile, rank = fraction * (n - 1),
/// interpolating linearly between the two nearest values.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "The exact percentile of `value` at `fraction` (0 to 1), interpolating \
        linearly between the two nearest ranks: rank = fraction * (n - 1), as numpy's default \
        percentile and DuckDB's quantile_cont. A fraction that is not a literal between 0 and 1 \
        is an error.\n\n\
        NULL values are ignored; NULL when there is no non-NULL value.",
    syntax_example = "op_percentile(value: numeric, fraction: Float64 literal) -> Float64",
    sql_example = "SELECT op_percentile(v, 0.95) FROM generate_series(1, 10) t(v);  -- 9.55"
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpPercentileFunc {
    signature: Signature,
}

impl Default for OpPercentileFunc {
    fn default() -> Self {
        let float64 = || {
            Coercion::new_implicit(
                TypeSignatureClass::Native(logical_float64()),
                vec![TypeSignatureClass::Numeric],
                NativeType::Float64,
            )
        };
        Self {
            signature: Signature::coercible(vec![float64(), float64()], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for OpPercentileFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let fraction = self.fraction(&args)?;
        Ok(Box::new(PercentileAccumulator::new(Fractions::One(
            fraction,
        ))))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(&args))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let fraction = self.fraction(&args)?;
        Ok(Box::new(PercentileGroupsAccumulator::new(Fractions::One(
            fraction,
        ))))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(None))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl OpPercentileFunc {
    /// The fraction argument: a literal between 0 and 1.
    fn fraction(&self, args: &AccumulatorArgs) -> Result<Fraction> {
        if args.is_distinct {
            return not_impl_err!("{}(DISTINCT ...) is not supported", self.name());
        }
        let [_, fraction] = take_function_args(self.name(), args.exprs)?;
        literal_fraction(self.name(), fraction)
    }
}

/// A fraction argument's value: a literal (or constant expression) between
/// 0 and 1.
pub(super) fn literal_fraction(
    name: &str,
    fraction: &Arc<dyn datafusion::physical_plan::PhysicalExpr>,
) -> Result<Fraction> {
    // A literal evaluates without any input column.
    let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let value = match fraction.evaluate(&empty) {
        Ok(ColumnarValue::Scalar(value)) => value,
        _ => {
            return plan_err!(
                "{name}: the fraction must be a literal between 0 and 1, got {fraction}"
            );
        }
    };
    match value.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(Some(f)) if (0.0..=1.0).contains(&f) => Ok(Fraction::new(f)),
        ScalarValue::Float64(Some(f)) => {
            plan_err!("{name}: the fraction must be between 0 and 1, got {f}")
        }
        _ => plan_err!("{name}: the fraction must be a literal between 0 and 1, got NULL"),
    }
}

/// The state of every percentile accumulator: the list of its values.
pub(super) fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    vec![Arc::new(Field::new(
        format_state_name(args.name, "values"),
        DataType::List(value_list_field()),
        true,
    ))]
}

/// The element field of the state list.
fn value_list_field() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Float64, false))
}

/// A percentile fraction in [0, 1].
///
/// Kept as the shortest decimal that reads back as the same `f64` (`0.95`
/// rather than 0.9499999999999999555910790149937...), so the rank
/// `fraction * (n - 1)` is computed exactly in integers: the p95 of 1..10 is
/// 9.55, as a reader of the SQL expects, not 9.549999999999999.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fraction {
    value: f64,
    /// `(digits, scale)` with `value == digits / 10^scale`, when it fits.
    decimal: Option<(u128, u32)>,
}

impl Fraction {
    /// Largest scale for which `digits * (n - 1)` cannot overflow a `u128`.
    const MAX_SCALE: usize = 18;

    pub(crate) fn new(value: f64) -> Self {
        // `Display` of an f64 is the shortest round-trip decimal, never in
        // exponent form.
        let text = value.to_string();
        let (int_text, frac_text) = text.split_once('.').unwrap_or((&text, ""));
        let decimal = (frac_text.len() <= Self::MAX_SCALE)
            .then(|| {
                let int: u128 = int_text.parse().ok()?;
                let frac: u128 = if frac_text.is_empty() {
                    0
                } else {
                    frac_text.parse().ok()?
                };
                let scale = u32::try_from(frac_text.len()).ok()?;
                Some((int * 10u128.pow(scale) + frac, scale))
            })
            .flatten();
        Fraction { value, decimal }
    }

    /// For `n` values: the rank below `fraction * (n - 1)` and the weight of
    /// the value above it.
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "ranks are at most n - 1; weights are in [0, 1)"
    )]
    fn rank(&self, n: usize) -> (usize, f64) {
        let last = n.saturating_sub(1);
        if let Some((digits, scale)) = self.decimal {
            let scaled = digits * last as u128;
            let unit = 10u128.pow(scale);
            let below = (scaled / unit) as usize;
            let weight = (scaled % unit) as f64 / unit as f64;
            return (below.min(last), weight);
        }
        let rank = self.value * last as f64;
        let below = (rank.floor() as usize).min(last);
        (below, rank - below as f64)
    }
}

/// The exact percentile of `values` at each fraction, reordering `values`.
///
/// With `lo` and `hi` the values at ranks `floor(r)` and `floor(r) + 1`, where
/// r = fraction * (n - 1): `lo + (hi - lo) * (r - floor(r))`, the linear
/// interpolation of numpy's default `percentile` and DuckDB's `quantile_cont`.
/// Each selection after the lowest looks only above the rank found before it.
pub(crate) fn percentiles(values: &mut [f64], fractions: &[Fraction]) -> Vec<Option<f64>> {
    let mut out = vec![None; fractions.len()];
    if values.is_empty() {
        return out;
    }
    let mut ranked: Vec<(usize, (usize, f64))> = fractions
        .iter()
        .map(|f| f.rank(values.len()))
        .enumerate()
        .collect();
    ranked.sort_by_key(|&(_, (below, _))| below);
    // Every value before `start` is at most the one at `start`, every value
    // after it at least.
    let mut start = 0;
    for (i, (below, weight)) in ranked {
        let (_, lo, above) = values[start..].select_nth_unstable_by(below - start, f64::total_cmp);
        let lo = *lo;
        start = below;
        out[i] = Some(if weight == 0.0 {
            lo
        } else {
            // The value at the next rank is the smallest one above `below`.
            let hi = above.iter().copied().min_by(f64::total_cmp).unwrap_or(lo);
            if hi == lo {
                lo
            } else {
                lo + (hi - lo) * weight
            }
        });
    }
    out
}

/// The Float64 input column (the signature coerces every numeric type to it).
fn float_values(values: &[ArrayRef]) -> Result<&Float64Array> {
    match values
        .first()
        .and_then(|v| v.as_primitive_opt::<Float64Type>())
    {
        Some(v) => Ok(v),
        None => exec_err!("op_percentile: expected a Float64 value column"),
    }
}

/// Calls `f(row, value)` for every non-NULL value.
fn for_each_value(values: &Float64Array, mut f: impl FnMut(usize, f64)) {
    let raw = values.values();
    match values.nulls() {
        Some(nulls) if nulls.null_count() > 0 => {
            nulls.valid_indices().for_each(|row| f(row, raw[row]));
        }
        _ => raw.iter().enumerate().for_each(|(row, &v)| f(row, v)),
    }
}

/// Calls `f(row, values)` for every non-NULL list of a state column.
fn for_each_state_list(state: &[ArrayRef], mut f: impl FnMut(usize, &[f64])) -> Result<()> {
    let Some(lists) = state.first().and_then(|s| s.as_list_opt::<i32>()) else {
        return exec_err!("op_percentile: expected a List(Float64) state column");
    };
    let Some(child) = lists.values().as_primitive_opt::<Float64Type>() else {
        return exec_err!("op_percentile: expected a List(Float64) state column");
    };
    let offsets = lists.value_offsets();
    let raw = child.values();
    for row in 0..lists.len() {
        if lists.is_null(row) {
            continue;
        }
        #[expect(clippy::cast_sign_loss, reason = "list offsets are non-negative")]
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        if child.null_count() == 0 {
            f(row, &raw[start..end]);
        } else {
            let valid: Vec<f64> = (start..end)
                .filter(|&i| child.is_valid(i))
                .map(|i| raw[i])
                .collect();
            f(row, &valid);
        }
    }
    Ok(())
}

/// A state column: one list of values per entry of `lists`.
fn state_array<'a>(lists: impl ExactSizeIterator<Item = &'a [f64]> + Clone) -> ArrayRef {
    let offsets = OffsetBuffer::<i32>::from_lengths(lists.clone().map(<[f64]>::len));
    let mut flat: Vec<f64> =
        Vec::with_capacity(offsets.last().map_or(0, |&n| n.unsigned_abs() as usize));
    lists.for_each(|l| flat.extend_from_slice(l));
    Arc::new(ListArray::new(
        value_list_field(),
        offsets,
        Arc::new(Float64Array::from(flat)),
        None,
    ))
}

/// The fractions an accumulator answers: one (`op_percentile`, a Float64),
/// or several over the same values (the fused form of several
/// `op_percentile` calls, a struct of Float64 fields "0", "1", …; see
/// `op_percentiles.rs`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fractions {
    One(Fraction),
    Many(Vec<Fraction>),
}

impl Fractions {
    fn all(&self) -> &[Fraction] {
        match self {
            Fractions::One(f) => std::slice::from_ref(f),
            Fractions::Many(fs) => fs,
        }
    }

    /// The result for each list of values (reordered in place): a Float64
    /// column, or a struct of one per fraction.
    fn evaluate<'a>(&self, groups: impl ExactSizeIterator<Item = &'a mut [f64]>) -> ArrayRef {
        let fractions = self.all();
        self.to_array(
            groups
                .map(|values| percentiles(values, fractions))
                .collect(),
        )
    }

    /// The column of each group's percentiles (one per fraction).
    fn to_array(&self, results: Vec<Vec<Option<f64>>>) -> ArrayRef {
        let fractions = self.all();
        let mut columns: Vec<Vec<Option<f64>>> =
            vec![Vec::with_capacity(results.len()); fractions.len()];
        for group in results {
            for (column, p) in columns.iter_mut().zip(group) {
                column.push(p);
            }
        }
        let mut arrays = columns
            .into_iter()
            .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef);
        match self {
            Fractions::One(_) => arrays.next().expect("one fraction, one column"),
            Fractions::Many(_) => Arc::new(StructArray::new(
                struct_fields(fractions.len()),
                arrays.collect(),
                None,
            )),
        }
    }

    /// The result of one list of values, as a scalar.
    fn evaluate_one(&self, values: &mut [f64]) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&self.evaluate(std::iter::once(values)), 0)
    }
}

/// The fields of the fused result: one nullable Float64 per fraction, named
/// by its position.
pub(super) fn struct_fields(n: usize) -> Fields {
    (0..n)
        .map(|i| Field::new(i.to_string(), DataType::Float64, true))
        .collect()
}

/// The accumulator for one group: every non-NULL value.
#[derive(Debug)]
pub(super) struct PercentileAccumulator {
    fractions: Fractions,
    values: Vec<f64>,
}

impl PercentileAccumulator {
    pub(super) fn new(fractions: Fractions) -> Self {
        PercentileAccumulator {
            fractions,
            values: Vec::new(),
        }
    }
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let input = float_values(values)?;
        self.values.reserve(input.len() - input.null_count());
        for_each_value(input, |_, v| self.values.push(v));
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.fractions.evaluate_one(&mut self.values)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = state_array(std::iter::once(self.values.as_slice()));
        Ok(vec![ScalarValue::List(Arc::new(
            list.as_list::<i32>().clone(),
        ))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for_each_state_list(states, |_, values| self.values.extend_from_slice(values))
    }

    /// Removes values that left a window frame (one matching value each).
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let held = &mut self.values;
        for_each_value(float_values(values)?, |_, v| {
            if let Some(i) = held.iter().position(|h| h.to_bits() == v.to_bits()) {
                held.swap_remove(i);
            }
        });
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.values.capacity() * size_of::<f64>()
    }
}

/// The vectorised accumulator for GROUP BY: the values of every group.
///
/// The final aggregation receives each partition's values of every group as
/// lists ([`GroupsAccumulator::merge_batch`]); it keeps those columns as they
/// are and copies each group's values together only when it computes the
/// group's percentiles, the groups shared among the cores: that step ran on
/// one core after the partial aggregations, and copied every value twice.
#[derive(Debug)]
pub(super) struct PercentileGroupsAccumulator {
    fractions: Fractions,
    groups: Vec<Vec<f64>>,
    /// Merged state lists not yet copied into `groups`.
    pending: Vec<Pending>,
    /// Values held over all groups, pending ones included (for `size`).
    value_count: usize,
    /// Lists in `pending` (for `size`).
    pending_lists: usize,
}

/// One merged state column: its values, and each list's group and range.
#[derive(Debug)]
struct Pending {
    values: Float64Array,
    lists: Vec<(usize, usize, usize)>,
}

/// Values past which a group-by's percentiles are computed on every core.
const PARALLEL_PAST: usize = 1 << 20;

impl PercentileGroupsAccumulator {
    pub(super) fn new(fractions: Fractions) -> Self {
        PercentileGroupsAccumulator {
            fractions,
            groups: Vec::new(),
            pending: Vec::new(),
            value_count: 0,
            pending_lists: 0,
        }
    }

    /// Copies the pending lists into their groups.
    fn settle(&mut self) {
        self.pending_lists = 0;
        for p in std::mem::take(&mut self.pending) {
            let raw = p.values.values();
            for (group, start, end) in p.lists {
                self.groups[group].extend_from_slice(&raw[start..end]);
            }
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<f64>> {
        self.settle();
        let taken = emit_to.take_needed(&mut self.groups);
        self.value_count -= taken.iter().map(Vec::len).sum::<usize>();
        taken
    }

    /// Every group's percentiles, each group's values gathered (from its
    /// own list and the pending ones) by whichever core computes it.
    fn evaluate_all(&mut self) -> ArrayRef {
        let mut own = std::mem::take(&mut self.groups);
        let pending = std::mem::take(&mut self.pending);
        self.pending_lists = 0;
        let mut parts: Vec<Vec<&[f64]>> = vec![Vec::new(); own.len()];
        for p in &pending {
            let raw = p.values.values();
            for &(group, start, end) in &p.lists {
                parts[group].push(&raw[start..end]);
            }
        }
        let fractions = self.fractions.all();
        let one = |values: &mut Vec<f64>, parts: &[&[f64]]| {
            values.reserve_exact(parts.iter().map(|p| p.len()).sum());
            for p in parts {
                values.extend_from_slice(p);
            }
            let result = percentiles(values, fractions);
            *values = Vec::new();
            result
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(own.len());
        let results: Vec<Vec<Option<f64>>> = if self.value_count < PARALLEL_PAST || threads < 2 {
            own.iter_mut().zip(&parts).map(|(v, p)| one(v, p)).collect()
        } else {
            // Groups handed out one at a time, largest first, so that one
            // large group is not left for last.
            let mut order: Vec<usize> = (0..own.len()).collect();
            order.sort_by_key(|&g| {
                std::cmp::Reverse(own[g].len() + parts[g].iter().map(|p| p.len()).sum::<usize>())
            });
            // Each group's values, then its percentiles.
            type Slot = std::sync::Mutex<(Vec<f64>, Vec<Option<f64>>)>;
            let slots: Vec<Slot> = own
                .drain(..)
                .map(|v| std::sync::Mutex::new((v, Vec::new())))
                .collect();
            let next = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        while let Some(&g) =
                            order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                        {
                            let mut slot = slots[g].lock().expect("no panics hold this lock");
                            let (values, result) = &mut *slot;
                            *result = one(values, &parts[g]);
                        }
                    });
                }
            });
            slots
                .into_iter()
                .map(|m| m.into_inner().expect("no panics hold this lock").1)
                .collect()
        };
        self.value_count = 0;
        self.fractions.to_array(results)
    }
}

impl GroupsAccumulator for PercentileGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        let groups = &mut self.groups;
        let mut added = 0;
        for_each_value(float_values(values)?, |row, v| {
            if passes_filter(opt_filter, row) {
                groups[group_indices[row]].push(v);
                added += 1;
            }
        });
        self.value_count += added;
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        if matches!(emit_to, EmitTo::All) {
            return Ok(self.evaluate_all());
        }
        let mut taken = self.take(emit_to);
        Ok(self
            .fractions
            .evaluate(taken.iter_mut().map(Vec::as_mut_slice)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let taken = self.take(emit_to);
        Ok(vec![state_array(taken.iter().map(Vec::as_slice))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        // Kept as it is (see the type's documentation) when its values
        // have no NULL, as a partial aggregation writes them.
        if let Some(lists) = values.first().and_then(|s| s.as_list_opt::<i32>())
            && let Some(child) = lists.values().as_primitive_opt::<Float64Type>()
            && child.null_count() == 0
        {
            let offsets = lists.value_offsets();
            let mut kept = Vec::with_capacity(lists.len());
            for (row, &group) in group_indices.iter().enumerate().take(lists.len()) {
                #[expect(clippy::cast_sign_loss, reason = "list offsets are non-negative")]
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                if lists.is_valid(row) && end > start {
                    kept.push((group, start, end));
                    self.value_count += end - start;
                }
            }
            if !kept.is_empty() {
                self.pending_lists += kept.len();
                self.pending.push(Pending {
                    values: child.clone(),
                    lists: kept,
                });
            }
            return Ok(());
        }
        let groups = &mut self.groups;
        let mut added = 0;
        for_each_state_list(values, |row, list| {
            groups[group_indices[row]].extend_from_slice(list);
            added += list.len();
        })?;
        self.value_count += added;
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let input = float_values(values)?;
        let mut lengths = vec![0usize; input.len()];
        let mut flat = Vec::with_capacity(input.len() - input.null_count());
        for_each_value(input, |row, v| {
            if passes_filter(opt_filter, row) {
                lengths[row] = 1;
                flat.push(v);
            }
        });
        Ok(vec![Arc::new(ListArray::new(
            value_list_field(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(Float64Array::from(flat)),
            None,
        ))])
    }

    fn size(&self) -> usize {
        // A pending column's buffer is counted by the values its lists
        // use: the partial aggregation's state is often cut into slices of
        // one buffer, each of which reports all of it.
        self.groups.capacity() * size_of::<Vec<f64>>()
            + self.value_count * size_of::<f64>()
            + self.pending_lists * size_of::<(usize, usize, usize)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percentile(values: &mut [f64], fraction: Fraction) -> Option<f64> {
        percentiles(values, &[fraction])[0]
    }

    /// Several fractions at once, in any order, give what each gives alone.
    #[test]
    fn several_fractions_as_each_alone() {
        let values: Vec<f64> = [7.0, -3.5, 10.0, 0.0, -0.0, 2.25, 7.0, 99.0, 1e-9, 4.0]
            .into_iter()
            .collect();
        let fractions: Vec<Fraction> = [0.95, 0.0, 0.5, 0.5, 1.0, 0.333, 0.1]
            .into_iter()
            .map(Fraction::new)
            .collect();
        let alone: Vec<Option<f64>> = fractions
            .iter()
            .map(|&f| percentile(&mut values.clone(), f))
            .collect();
        assert_eq!(percentiles(&mut values.clone(), &fractions), alone);
        assert_eq!(alone[0], Some(10.0 + (99.0 - 10.0) * 0.55));
        assert_eq!(alone[2], Some(3.125));
        assert_eq!(percentiles(&mut [], &fractions), vec![None; 7]);
    }

    #[test]
    fn linear_between_ranks() {
        let f = Fraction::new;
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&mut v, f(0.95)), Some(9.55));
        assert_eq!(percentile(&mut v, f(0.5)), Some(5.5));
        assert_eq!(percentile(&mut v, f(0.0)), Some(1.0));
        assert_eq!(percentile(&mut v, f(1.0)), Some(10.0));
        let mut one = vec![42.0];
        assert_eq!(percentile(&mut one, f(0.95)), Some(42.0));
        assert_eq!(percentile(&mut [], f(0.5)), None);
        let mut unsorted = vec![3.0, -1.0, 10.0, 7.0];
        // rank 0.9 * 3 = 2.7: 7 + (10 - 7) * 0.7
        assert_eq!(percentile(&mut unsorted, f(0.9)), Some(7.0 + 3.0 * 0.7));
    }

    #[test]
    fn fraction_ranks() {
        assert_eq!(Fraction::new(0.95).decimal, Some((95, 2)));
        assert_eq!(Fraction::new(1.0).decimal, Some((1, 0)));
        assert_eq!(Fraction::new(0.0).rank(1), (0, 0.0));
        assert_eq!(Fraction::new(0.95).rank(10), (8, 0.55));
        assert_eq!(Fraction::new(1.0).rank(10), (9, 0.0));
        // Too many digits for the exact path: the float rank is used.
        let tiny = Fraction::new(1e-30);
        assert_eq!(tiny.decimal, None);
        let (below, weight) = tiny.rank(1_000);
        assert_eq!(below, 0);
        assert!(weight > 0.0 && weight < 1e-26);
    }

    fn input() -> ArrayRef {
        Arc::new(Float64Array::from(vec![
            Some(4.0),
            None,
            Some(1.0),
            Some(3.0),
            Some(2.0),
            Some(10.0),
        ]))
    }

    fn groups_acc() -> PercentileGroupsAccumulator {
        PercentileGroupsAccumulator::new(Fractions::One(Fraction::new(0.5)))
    }

    #[test]
    fn convert_to_state_then_merge_matches_update() {
        let groups = [0, 0, 1, 0, 1, 2];
        let mut direct = groups_acc();
        direct.update_batch(&[input()], &groups, None, 4).unwrap();
        let expected = direct.evaluate(EmitTo::All).unwrap();
        let expected = expected.as_primitive::<Float64Type>();
        assert_eq!(expected.value(0), 3.5);
        assert_eq!(expected.value(1), 1.5);
        assert_eq!(expected.value(2), 10.0);
        assert!(expected.is_null(3));

        let state = groups_acc().convert_to_state(&[input()], None).unwrap();
        let mut merged = groups_acc();
        merged.merge_batch(&state, &groups, 4).unwrap();
        assert_eq!(merged.value_count, 5);
        let result = merged.evaluate(EmitTo::All).unwrap();
        assert_eq!(result.as_primitive::<Float64Type>(), expected);
        assert_eq!(merged.value_count, 0);
    }

    /// `values` (a group's, in any order) sorted, and the percentile read
    /// off the sorted list: what the accumulators must give.
    fn expected(values: &[f64], fraction: f64) -> Option<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        percentile(&mut sorted, Fraction::new(fraction))
    }

    /// State lists merged from several partitions (sliced, as the partial
    /// aggregation's output is) give each group's percentiles whether they
    /// are evaluated at once (on every core past `PARALLEL_PAST` values),
    /// a few groups at a time, or passed on as state; and `size` counts the
    /// values once, not each slice's whole buffer.
    #[test]
    fn merged_lists_evaluated_every_way() {
        // Groups 3, 5 and 6 get no value (squares modulo 7).
        let groups = 7;
        let per_partition = PARALLEL_PAST / 2 + 1000;
        let value = |p: usize, i: usize| ((i * 7919 + p * 104_729) % 100_003) as f64 / 7.0;
        let mut all: Vec<Vec<f64>> = vec![Vec::new(); groups];
        let mut states = Vec::new();
        for p in 0..2 {
            let mut partial = PercentileGroupsAccumulator::new(Fractions::One(Fraction::new(0.5)));
            let input: ArrayRef = Arc::new(Float64Array::from_iter_values(
                (0..per_partition).map(|i| value(p, i)),
            ));
            let group_of: Vec<usize> = (0..per_partition).map(|i| (i * i) % groups).collect();
            for (i, &g) in group_of.iter().enumerate() {
                all[g].push(value(p, i));
            }
            partial
                .update_batch(&[input], &group_of, None, groups)
                .unwrap();
            let state = partial.state(EmitTo::All).unwrap();
            // Cut into slices of 3 rows sharing one buffer.
            for start in (0..groups).step_by(3) {
                let len = 3.min(groups - start);
                let rows: Vec<usize> = (start..start + len).collect();
                states.push((state[0].slice(start, len), rows));
            }
        }
        let fractions = Fractions::Many(vec![Fraction::new(0.95), Fraction::new(0.5)]);
        let merged = || {
            let mut acc = PercentileGroupsAccumulator::new(fractions.clone());
            for (state, rows) in &states {
                acc.merge_batch(std::slice::from_ref(state), rows, groups)
                    .unwrap();
            }
            acc
        };
        let total = 2 * per_partition;
        let check = |result: &ArrayRef, first: usize| {
            let result = result.as_struct();
            for row in 0..result.len() {
                let g = first + row;
                for (field, fraction) in [(0, 0.95), (1, 0.5)] {
                    let column = result.column(field).as_primitive::<Float64Type>();
                    let got = column.is_valid(row).then(|| column.value(row));
                    assert_eq!(got, expected(&all[g], fraction), "group {g}");
                }
            }
        };

        let mut at_once = merged();
        assert_eq!(at_once.value_count, total);
        let size = at_once.size();
        assert!(size >= total * 8 && size < total * 8 + 4096, "{size}");
        check(&at_once.evaluate(EmitTo::All).unwrap(), 0);
        assert_eq!(at_once.value_count, 0);

        let mut in_parts = merged();
        check(&in_parts.evaluate(EmitTo::First(4)).unwrap(), 0);
        check(&in_parts.evaluate(EmitTo::All).unwrap(), 4);

        let mut passed_on = merged();
        let state = passed_on.state(EmitTo::All).unwrap();
        let mut again = PercentileGroupsAccumulator::new(fractions.clone());
        again
            .merge_batch(&state, &(0..groups).collect::<Vec<_>>(), groups)
            .unwrap();
        check(&again.evaluate(EmitTo::All).unwrap(), 0);
    }

    #[test]
    fn filtered_state_round_trip() {
        let filter = BooleanArray::from(vec![true, true, false, true, true, false]);
        let state = groups_acc()
            .convert_to_state(&[input()], Some(&filter))
            .unwrap();
        let mut partial = groups_acc();
        partial.merge_batch(&state, &[0; 6], 1).unwrap();
        // Values 4, 3, 2 in group 0; pass them on as state.
        let state = partial.state(EmitTo::All).unwrap();
        let mut single = PercentileAccumulator::new(Fractions::One(Fraction::new(0.5)));
        single.merge_batch(&state).unwrap();
        assert_eq!(single.evaluate().unwrap(), ScalarValue::Float64(Some(3.0)));
        let own = single.state().unwrap();
        let mut again = PercentileAccumulator::new(Fractions::One(Fraction::new(1.0)));
        again.merge_batch(&[own[0].to_array().unwrap()]).unwrap();
        assert_eq!(again.evaluate().unwrap(), ScalarValue::Float64(Some(4.0)));
    }
}
