//! `failure_rate(status)`: failed / (successful + failed), the aggregate.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, UInt64Array};
use arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_err, not_impl_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature,
};
use datafusion_macros::user_doc;

use super::common::{count_outcomes, for_each_status, passes_filter, status_signature};
use crate::status::Status;

make_udaf_function!(
    FailureRateFunc,
    failure_rate,
    failure_rate_udaf,
    "`failure_rate(status)`: failed / (successful + failed).",
    status
);

/// `failure_rate(status)`: failed / (successful + failed); other statuses and
/// NULL are not counted; NULL when nothing is counted.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "failed / (successful + failed) over the rows of a group. Statuses match \
        case-insensitively with the aliases succeeded and canceled; cancelled, queued, \
        scheduled, inProgress, unknown text and NULL rows are not counted.\n\n\
        NULL when the group has no successful and no failed row (including an empty group or \
        only NULL statuses).",
    syntax_example = "failure_rate(status: string) -> Float64",
    sql_example = "SELECT operation_type, failure_rate(status) FROM operations GROUP BY operation_type;\n\
        SELECT failure_rate(s) FROM (VALUES ('failed'), ('Succeeded'), ('successful'), \
        ('canceled')) t(s);  -- 0.3333333333333333"
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FailureRateFunc {
    signature: Signature,
}

impl Default for FailureRateFunc {
    fn default() -> Self {
        Self {
            signature: status_signature(),
        }
    }
}

impl AggregateUDFImpl for FailureRateFunc {
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
        if args.is_distinct {
            return not_impl_err!("{}(DISTINCT ...) is not supported", self.name());
        }
        Ok(Box::new(FailureRateAccumulator::default()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "successful"),
                DataType::UInt64,
                false,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "failed"),
                DataType::UInt64,
                false,
            )),
        ])
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(FailureRateGroupsAccumulator::default()))
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

/// failed / (successful + failed), NULL when both are zero.
#[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^53")]
fn rate(successful: u64, failed: u64) -> Option<f64> {
    let counted = successful + failed;
    (counted > 0).then(|| failed as f64 / counted as f64)
}

/// The successful and failed rows of one batch.
fn count_statuses(array: &ArrayRef) -> Result<(u64, u64)> {
    let (mut successful, mut failed) = (0u64, 0u64);
    for_each_status(array, |_, status| match status {
        Status::Successful => successful += 1,
        Status::Failed => failed += 1,
        _ => {}
    })?;
    Ok((successful, failed))
}

/// The two counts of a state batch: `[successful, failed]` UInt64 columns.
fn state_columns(states: &[ArrayRef]) -> Result<(&UInt64Array, &UInt64Array)> {
    let [successful, failed] = states else {
        return exec_err!(
            "failure_rate: expected 2 state columns, got {}",
            states.len()
        );
    };
    match (
        successful.as_primitive_opt::<UInt64Type>(),
        failed.as_primitive_opt::<UInt64Type>(),
    ) {
        (Some(s), Some(f)) => Ok((s, f)),
        _ => exec_err!(
            "failure_rate: expected UInt64 state, got {} and {}",
            successful.data_type(),
            failed.data_type()
        ),
    }
}

/// The accumulator for one group (no GROUP BY, or window frames).
#[derive(Debug, Default)]
struct FailureRateAccumulator {
    successful: u64,
    failed: u64,
}

impl Accumulator for FailureRateAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (successful, failed) = count_statuses(&values[0])?;
        self.successful += successful;
        self.failed += failed;
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (successful, failed) = count_statuses(&values[0])?;
        self.successful = self.successful.saturating_sub(successful);
        self.failed = self.failed.saturating_sub(failed);
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(rate(self.successful, self.failed)))
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::UInt64(Some(self.successful)),
            ScalarValue::UInt64(Some(self.failed)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (successful, failed) = state_columns(states)?;
        self.successful += arrow::compute::sum(successful).unwrap_or(0);
        self.failed += arrow::compute::sum(failed).unwrap_or(0);
        Ok(())
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }
}

/// The vectorised accumulator for GROUP BY: two counts per group.
#[derive(Debug, Default)]
struct FailureRateGroupsAccumulator {
    successful: Vec<u64>,
    failed: Vec<u64>,
}

impl FailureRateGroupsAccumulator {
    fn resize(&mut self, total_num_groups: usize) {
        self.successful.resize(total_num_groups, 0);
        self.failed.resize(total_num_groups, 0);
    }
}

impl GroupsAccumulator for FailureRateGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let (successful, failed) = (&mut self.successful, &mut self.failed);
        // The `status` column as a dataset reads it, without FILTER.
        if let (Some(strings), None) = (values[0].as_string_view_opt(), opt_filter) {
            count_outcomes(strings, group_indices, successful, failed);
            return Ok(());
        }
        for_each_status(&values[0], |row, status| {
            if !passes_filter(opt_filter, row) {
                return;
            }
            let group = group_indices[row];
            match status {
                Status::Successful => successful[group] += 1,
                Status::Failed => failed[group] += 1,
                _ => {}
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let successful = emit_to.take_needed(&mut self.successful);
        let failed = emit_to.take_needed(&mut self.failed);
        let rates: Float64Array = successful
            .into_iter()
            .zip(failed)
            .map(|(s, f)| rate(s, f))
            .collect();
        Ok(Arc::new(rates))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let successful = emit_to.take_needed(&mut self.successful);
        let failed = emit_to.take_needed(&mut self.failed);
        Ok(vec![
            Arc::new(UInt64Array::from(successful)),
            Arc::new(UInt64Array::from(failed)),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let (successful, failed) = state_columns(values)?;
        let (successful, failed) = (successful.values(), failed.values());
        for (row, &group) in group_indices.iter().enumerate() {
            self.successful[group] += successful[row];
            self.failed[group] += failed[row];
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let len = values[0].len();
        let mut successful = vec![0u64; len];
        let mut failed = vec![0u64; len];
        for_each_status(&values[0], |row, status| {
            if !passes_filter(opt_filter, row) {
                return;
            }
            match status {
                Status::Successful => successful[row] = 1,
                Status::Failed => failed[row] = 1,
                _ => {}
            }
        })?;
        Ok(vec![
            Arc::new(UInt64Array::from(successful)),
            Arc::new(UInt64Array::from(failed)),
        ])
    }

    fn size(&self) -> usize {
        (self.successful.capacity() + self.failed.capacity()) * size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{LargeStringArray, StringArray, StringViewArray};

    use super::*;

    fn statuses() -> ArrayRef {
        Arc::new(StringArray::from(vec![
            Some("successful"),
            Some("FAILED"),
            Some("Succeeded"),
            None,
            Some("canceled"),
            Some("failed"),
            Some("inProgress"),
        ]))
    }

    /// Views count as every other string type: canonical spellings, aliases,
    /// text longer than a view holds (not a status), NULL rows (even one whose view spells
    /// a status) and other statuses.
    #[test]
    fn views_count_as_strings() {
        let texts = [
            "successful",
            "FAILED",
            "failed",
            "Succeeded",
            "cancelled",
            "failed but longer than twelve",
            "queued",
            "successful",
            "failed",
            "inProgress",
        ];
        let groups = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
        let plain: ArrayRef = Arc::new(StringArray::from(texts.to_vec()));
        let views = StringViewArray::from(texts.to_vec());
        // Rows 7 and 8 NULL, their views left as they were.
        let nulls = arrow::buffer::NullBuffer::from(
            (0..texts.len())
                .map(|i| i != 7 && i != 8)
                .collect::<Vec<_>>(),
        );
        let (v, b, _) = views.into_parts();
        let with_nulls: ArrayRef = Arc::new(StringViewArray::new(v, b, Some(nulls.clone())));
        let plain_nulls: ArrayRef = Arc::new(StringArray::new(
            plain.as_string::<i32>().offsets().clone(),
            plain.as_string::<i32>().values().clone(),
            Some(nulls),
        ));
        let counts = |a: &ArrayRef| {
            let mut acc = FailureRateGroupsAccumulator::default();
            acc.update_batch(std::slice::from_ref(a), &groups, None, 3)
                .unwrap();
            (acc.successful, acc.failed)
        };
        assert_eq!(counts(&with_nulls), counts(&plain_nulls));
        assert_eq!(counts(&with_nulls), (vec![2, 0, 0], vec![0, 1, 1]));
        let all: ArrayRef = Arc::new(StringViewArray::from(texts.to_vec()));
        assert_eq!(counts(&all), counts(&plain));
        assert_eq!(counts(&all), (vec![2, 1, 0], vec![0, 1, 2]));
    }

    #[test]
    fn groups_update_then_evaluate() {
        let mut acc = FailureRateGroupsAccumulator::default();
        // Groups: 0 gets rows 0..3, 1 gets rows 3..6, 2 gets row 6 (in flight).
        acc.update_batch(&[statuses()], &[0, 0, 0, 1, 1, 1, 2], None, 4)
            .unwrap();
        let result = acc.evaluate(EmitTo::All).unwrap();
        let result = result.as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(result.value(0), 1.0 / 3.0);
        assert_eq!(result.value(1), 1.0);
        assert!(result.is_null(2));
        assert!(result.is_null(3));
    }

    #[test]
    fn convert_to_state_then_merge_matches_update() {
        let groups = [1, 0, 1, 0, 1, 1, 0];
        let mut direct = FailureRateGroupsAccumulator::default();
        direct
            .update_batch(&[statuses()], &groups, None, 2)
            .unwrap();
        let expected = direct.evaluate(EmitTo::All).unwrap();

        let converter = FailureRateGroupsAccumulator::default();
        let state = converter.convert_to_state(&[statuses()], None).unwrap();
        assert_eq!(state[0].len(), 7);
        let mut merged = FailureRateGroupsAccumulator::default();
        merged.merge_batch(&state, &groups, 2).unwrap();
        assert_eq!(&merged.evaluate(EmitTo::All).unwrap(), &expected);
    }

    #[test]
    fn filter_and_partial_state_merge() {
        // Only rows 1 (FAILED) and 2 (Succeeded) pass the filter.
        let filter = BooleanArray::from(vec![
            Some(false),
            Some(true),
            Some(true),
            Some(true),
            None,
            Some(false),
            Some(true),
        ]);
        let converter = FailureRateGroupsAccumulator::default();
        let state = converter
            .convert_to_state(&[statuses()], Some(&filter))
            .unwrap();
        let mut merged = FailureRateGroupsAccumulator::default();
        merged.merge_batch(&state, &[0; 7], 1).unwrap();

        // Emit the state of the first group, merge it into a second accumulator.
        let partial = merged.state(EmitTo::First(1)).unwrap();
        let mut last = FailureRateGroupsAccumulator::default();
        last.merge_batch(&partial, &[0], 1).unwrap();
        let result = last.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            result
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(0),
            0.5
        );
    }

    #[test]
    fn single_accumulator_all_string_types_and_retract() {
        let arrays: Vec<ArrayRef> = vec![
            statuses(),
            Arc::new(LargeStringArray::from(vec![
                Some("failed"),
                Some("successful"),
                None,
            ])),
            Arc::new(StringViewArray::from(vec![
                Some("Failed"),
                Some("SUCCEEDED"),
            ])),
        ];
        let mut acc = FailureRateAccumulator::default();
        for a in &arrays {
            acc.update_batch(std::slice::from_ref(a)).unwrap();
        }
        // 2 + 1 + 1 failed, 2 + 1 + 1 successful.
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Float64(Some(0.5)));

        let mut other = FailureRateAccumulator::default();
        let state: Vec<ArrayRef> = acc
            .state()
            .unwrap()
            .into_iter()
            .map(|v| v.to_array().unwrap())
            .collect();
        other.merge_batch(&state).unwrap();
        other.retract_batch(&arrays[0..1]).unwrap();
        assert_eq!(other.evaluate().unwrap(), ScalarValue::Float64(Some(0.5)));
        other.retract_batch(&arrays[1..2]).unwrap();
        other.retract_batch(&arrays[2..]).unwrap();
        assert_eq!(other.evaluate().unwrap(), ScalarValue::Float64(None));
    }
}
