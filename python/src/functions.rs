//! The SQL functions as the FFI capsules datafusion-python 55 loads
//! (`datafusion.udf(obj)`, `datafusion.udaf(obj)`), and their documentation.

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

/// A fleetops scalar function, for `datafusion.udf(...)`.
#[pyclass(module = "fleetops._fleetops", frozen)]
pub struct ScalarFunction {
    udf: Arc<ScalarUDF>,
}

#[pymethods]
impl ScalarFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.udf.name()
    }

    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let ffi = FFI_ScalarUDF::from(Arc::clone(&self.udf));
        PyCapsule::new_with_value(py, ffi, c"datafusion_scalar_udf")
    }

    fn __repr__(&self) -> String {
        format!("<fleetops scalar function {}>", self.udf.name())
    }
}

/// A fleetops aggregate function (with its grouped accumulator), for
/// `datafusion.udaf(...)`.
#[pyclass(module = "fleetops._fleetops", frozen)]
pub struct AggregateFunction {
    udaf: Arc<AggregateUDF>,
}

#[pymethods]
impl AggregateFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.udaf.name()
    }

    fn __datafusion_aggregate_udf__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let ffi = FFI_AggregateUDF::from(Arc::clone(&self.udaf));
        PyCapsule::new_with_value(py, ffi, c"datafusion_aggregate_udf")
    }

    fn __repr__(&self) -> String {
        format!("<fleetops aggregate function {}>", self.udaf.name())
    }
}

/// The scalar functions.
#[pyfunction]
pub fn scalar_functions() -> Vec<ScalarFunction> {
    fleetops::functions::scalar_udfs()
        .into_iter()
        .map(|udf| ScalarFunction { udf })
        .collect()
}

/// The aggregate functions.
#[pyfunction]
pub fn aggregate_functions() -> Vec<AggregateFunction> {
    fleetops::functions::aggregate_udfs()
        .into_iter()
        .map(|udaf| AggregateFunction { udaf })
        .collect()
}

/// Every SQL function with its documentation, as `fleetops functions` lists
/// them.
#[pyfunction]
pub fn functions(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    fleetops::functions::function_docs()
        .into_iter()
        .map(|d| {
            let f = PyDict::new(py);
            f.set_item("name", d.name)?;
            f.set_item("kind", d.kind)?;
            f.set_item("signature", d.signature)?;
            f.set_item("description", d.description)?;
            f.set_item("null_behaviour", d.null_behaviour)?;
            f.set_item("example", d.example)?;
            Ok(f)
        })
        .collect()
}
