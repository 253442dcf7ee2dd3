//! `op_queue_seconds(created, started)`: how long an operation waited to start.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};
use datafusion_macros::user_doc;

use super::common::{elapsed_seconds, two_timestamps_signature};

make_udf_function!(
    OpQueueSecondsFunc,
    op_queue_seconds,
    op_queue_seconds_udf,
    "`op_queue_seconds(created, started)`: seconds from creation to start.",
    created,
    started
);

/// `op_queue_seconds(created, started)`: seconds an operation waited to start.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "Seconds an operation waited, from `created` to `started`, with the fractional \
        part; the same rules as op_duration_seconds.\n\n\
        NULL when either argument is NULL or `started` is earlier than `created`.",
    syntax_example = "op_queue_seconds(created: timestamp, started: timestamp) -> Float64",
    sql_example = "SELECT op_queue_seconds(created_date_time, started_date_time) FROM operations;\n\
        SELECT op_queue_seconds(TIMESTAMP '2024-03-08T11:00:00+02:00', \
        TIMESTAMP '2024-03-08T09:00:00.25Z');  -- 0.25"
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OpQueueSecondsFunc {
    signature: Signature,
}

impl Default for OpQueueSecondsFunc {
    fn default() -> Self {
        Self {
            signature: two_timestamps_signature(),
        }
    }
}

impl ScalarUDFImpl for OpQueueSecondsFunc {
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
