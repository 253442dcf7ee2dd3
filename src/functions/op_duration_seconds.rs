//! `op_duration_seconds(started, completed)`: how long an operation ran.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};
use datafusion_macros::user_doc;

use super::common::{elapsed_seconds, two_timestamps_signature};

make_udf_function!(
    OpDurationSecondsFunc,
    op_duration_seconds,
    op_duration_seconds_udf,
    "`op_duration_seconds(started, completed)`: seconds from start to completion.",
    started,
    completed
);

/// `op_duration_seconds(started, completed)`: seconds an operation ran.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "Seconds an operation ran, from `started` to `completed`, with the fractional \
        part (exact to the finer unit of the two arguments, then rounded once to a Float64). \
        Takes timestamps of any unit and time zone; a timestamp without a zone is read as UTC; \
        strings and dates are cast to Timestamp(Microsecond, \"UTC\").\n\n\
        NULL when either argument is NULL or `completed` is earlier than `started`.",
    syntax_example = "op_duration_seconds(started: timestamp, completed: timestamp) -> Float64",
    sql_example = "SELECT op_duration_seconds(TIMESTAMP '2024-03-08T11:00:00Z', \
        TIMESTAMP '2024-03-08T11:01:30.5Z');  -- 90.5"
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpDurationSecondsFunc {
    signature: Signature,
}

impl Default for OpDurationSecondsFunc {
    fn default() -> Self {
        Self {
            signature: two_timestamps_signature(),
        }
    }
}

impl ScalarUDFImpl for OpDurationSecondsFunc {
    fn name(&self) -> &str {
        NAME
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
        self.doc()
    }
}
