//! `canonical_status(status)`, a hidden helper of `operation_type_stats()`:
//! the canonical spelling of a known status (`successful`, `inProgress`, ...),
//! NULL for NULL or unknown text.
//!
//! Not registered: the per-type statistics count statuses with it, so those
//! counts use exactly the matching rules of the public functions. A cluster's
//! scheduler and executors do know it (they find functions by name).

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, utils::take_function_args};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use super::common::{for_each_status, scalar_status, status_signature};

/// The shared instance.
pub(crate) fn instance() -> Arc<ScalarUDF> {
    static UDF: OnceLock<Arc<ScalarUDF>> = OnceLock::new();
    Arc::clone(
        UDF.get_or_init(|| Arc::new(ScalarUDF::new_from_impl(CanonicalStatusFunc::default()))),
    )
}

/// `canonical_status(status)` as an `Expr`.
pub(crate) fn canonical_status(status: Expr) -> Expr {
    instance().call(vec![status])
}

/// The canonical spelling of a known status, NULL for NULL or unknown text.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CanonicalStatusFunc {
    signature: Signature,
}

impl Default for CanonicalStatusFunc {
    fn default() -> Self {
        Self {
            signature: status_signature(),
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

/// The canonical spelling of every row: one pass, no per-row allocation.
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
