//! `is_terminal(status)` and `is_failed(status)`, plus the internal
//! `canonical_status(status)` used by `operation_type_stats()`.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, utils::take_function_args};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{for_each_status, scalar_status, status_predicate, string_arg};
use super::docs;
use crate::status::Status;

/// `is_terminal(status)`: successful, failed or cancelled.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsTerminalFunc {
    signature: Signature,
}

impl Default for IsTerminalFunc {
    fn default() -> Self {
        Self {
            signature: Signature::coercible(vec![string_arg()], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for IsTerminalFunc {
    fn name(&self) -> &str {
        docs::IS_TERMINAL.name
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
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| docs::IS_TERMINAL.to_documentation()))
    }
}

/// `is_failed(status)`: failed.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsFailedFunc {
    signature: Signature,
}

impl Default for IsFailedFunc {
    fn default() -> Self {
        Self {
            signature: Signature::coercible(vec![string_arg()], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for IsFailedFunc {
    fn name(&self) -> &str {
        docs::IS_FAILED.name
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
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| docs::IS_FAILED.to_documentation()))
    }
}

/// Applies `pred` to the parsed status of the one argument; NULL stays NULL.
fn status_test(
    name: &str,
    args: &ScalarFunctionArgs,
    pred: impl Fn(Option<Status>) -> bool,
) -> Result<ColumnarValue> {
    let [status] = take_function_args(name, &args.args)?;
    match status {
        ColumnarValue::Scalar(value) => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(
            scalar_status(value)?.map(pred),
        ))),
        ColumnarValue::Array(array) => Ok(ColumnarValue::Array(Arc::new(status_predicate(
            array, pred,
        )?))),
    }
}

/// `canonical_status(status)`: the canonical spelling of a known status
/// (`successful`, `inProgress`, ...), NULL for NULL or unknown text.
///
/// Not registered: `operation_type_stats()` builds its plan with it, so the
/// status counts there use exactly the matching rules of the public functions.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CanonicalStatusFunc {
    signature: Signature,
}

impl Default for CanonicalStatusFunc {
    fn default() -> Self {
        Self {
            signature: Signature::coercible(vec![string_arg()], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for CanonicalStatusFunc {
    fn name(&self) -> &str {
        "canonical_status"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [status] = take_function_args(self.name(), &args.args)?;
        match status {
            ColumnarValue::Scalar(value) => Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                scalar_status(value)?
                    .flatten()
                    .map(|s| s.as_str().to_owned()),
            ))),
            ColumnarValue::Array(array) => Ok(ColumnarValue::Array(canonical_array(array)?)),
        }
    }
}

fn canonical_array(array: &ArrayRef) -> Result<ArrayRef> {
    let len = array.len();
    // Only known statuses are written, so 10 bytes per row is an upper bound.
    let mut builder = StringBuilder::with_capacity(len, len * 10);
    let mut next = 0;
    for_each_status(array, |row, status| {
        builder.append_nulls(row - next);
        builder.append_value(status.as_str());
        next = row + 1;
    })?;
    builder.append_nulls(len - next);
    Ok(Arc::new(builder.finish()))
}
