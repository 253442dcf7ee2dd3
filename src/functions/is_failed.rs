//! `is_failed(status)`: whether an operation failed.

use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};
use datafusion_macros::user_doc;

use super::common::{status_signature, status_test};
use crate::status::Status;

make_udf_function!(
    IsFailedFunc,
    is_failed,
    is_failed_udf,
    "`is_failed(status)`: failed.",
    status
);

/// `is_failed(status)`: failed.
#[user_doc(
    doc_section(label = "fleetops"),
    description = "True when the status is failed (case-insensitive); any other text is false. \
        Failure is read from the status alone, never from the error column. Takes Utf8, \
        LargeUtf8 and Utf8View.\n\n\
        NULL when `status` is NULL.",
    syntax_example = "is_failed(status: string) -> Boolean",
    sql_example = "SELECT is_failed('FAILED'), is_failed('successful');  -- true, false"
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsFailedFunc {
    signature: Signature,
}

impl Default for IsFailedFunc {
    fn default() -> Self {
        Self {
            signature: status_signature(),
        }
    }
}

impl ScalarUDFImpl for IsFailedFunc {
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
        status_test(self.name(), &args, |s| s == Some(Status::Failed))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
