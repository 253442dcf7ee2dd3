//! `op_duration_seconds(started, completed)` and `op_queue_seconds(created, started)`.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, utils::take_function_args};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{Timestamps, seconds_between, seconds_between_arrays, timestamp_arg};
use super::docs;

/// `op_duration_seconds(started, completed)`: seconds an operation ran.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpDurationSecondsFunc {
    signature: Signature,
}

impl Default for OpDurationSecondsFunc {
    fn default() -> Self {
        Self {
            signature: Signature::coercible(
                vec![timestamp_arg(), timestamp_arg()],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for OpDurationSecondsFunc {
    fn name(&self) -> &str {
        docs::OP_DURATION_SECONDS.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        elapsed_seconds(self.name(), &args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| docs::OP_DURATION_SECONDS.to_documentation()))
    }
}

/// `op_queue_seconds(created, started)`: seconds an operation waited to start.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpQueueSecondsFunc {
    signature: Signature,
}

impl Default for OpQueueSecondsFunc {
    fn default() -> Self {
        Self {
            signature: Signature::coercible(
                vec![timestamp_arg(), timestamp_arg()],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for OpQueueSecondsFunc {
    fn name(&self) -> &str {
        docs::OP_QUEUE_SECONDS.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        elapsed_seconds(self.name(), &args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| docs::OP_QUEUE_SECONDS.to_documentation()))
    }
}

/// Seconds from the first argument to the second; NULL when either is NULL or
/// the second is earlier.
fn elapsed_seconds(name: &str, args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let [from, to] = take_function_args(name, &args.args)?;
    if let (ColumnarValue::Scalar(from), ColumnarValue::Scalar(to)) = (from, to) {
        let (Timestamps::Scalar(from), Timestamps::Scalar(to)) =
            (Timestamps::from_scalar(from)?, Timestamps::from_scalar(to)?)
        else {
            unreachable!("from_scalar always gives a scalar");
        };
        let seconds = from.zip(to).and_then(|(f, t)| seconds_between(f, t));
        return Ok(ColumnarValue::Scalar(ScalarValue::Float64(seconds)));
    }
    let from = read_timestamps(from)?;
    let to = read_timestamps(to)?;
    let result = seconds_between_arrays(&from, &to, args.number_rows);
    Ok(ColumnarValue::Array(Arc::new(result)))
}

fn read_timestamps(value: &ColumnarValue) -> Result<Timestamps<'_>> {
    match value {
        ColumnarValue::Array(array) => Timestamps::from_array(array),
        ColumnarValue::Scalar(scalar) => Timestamps::from_scalar(scalar),
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::TimeUnit;

    use super::*;

    #[test]
    fn mixed_units_are_exact() {
        // 1 s in seconds to 1.5 s in milliseconds.
        assert_eq!(
            seconds_between((1, TimeUnit::Second), (1_500, TimeUnit::Millisecond)),
            Some(0.5)
        );
        // One nanosecond.
        assert_eq!(
            seconds_between((0, TimeUnit::Microsecond), (1, TimeUnit::Nanosecond)),
            Some(1e-9)
        );
        assert_eq!(
            seconds_between((2, TimeUnit::Second), (1, TimeUnit::Second)),
            None
        );
        assert_eq!(
            seconds_between((i64::MAX, TimeUnit::Second), (i64::MAX, TimeUnit::Second)),
            Some(0.0)
        );
    }
}
