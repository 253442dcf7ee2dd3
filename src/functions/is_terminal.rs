//! `is_terminal(status)`: whether an operation will not change again.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};
use datafusion_macros::user_doc;

use super::common::{status_signature, status_test};
use crate::status::Status;

make_udf_function!(
    IsTerminalFunc,
    is_terminal,
    is_terminal_udf,
    "`is_terminal(status)`: successful, failed or cancelled.",
    status
);

/// `is_terminal(status)`: successful, failed or cancelled.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "True when the status is successful, failed or cancelled (the operation will \
        not change again). Case-insensitive, with the aliases succeeded (successful) and \
        canceled (cancelled); any other text, such as queued or unknownFutureValue, is false. \
        Takes Utf8, LargeUtf8 and Utf8View.\n\n\
        NULL when `status` is NULL.",
    syntax_example = "is_terminal(status: string) -> Boolean",
    sql_example = "SELECT is_terminal('Succeeded'), is_terminal('inProgress');  -- true, false"
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsTerminalFunc {
    signature: Signature,
}

impl Default for IsTerminalFunc {
    fn default() -> Self {
        Self {
            signature: status_signature(),
        }
    }
}

impl ScalarUDFImpl for IsTerminalFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        status_test(self.name(), &args, |s| s.is_some_and(Status::is_terminal))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
