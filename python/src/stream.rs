//! Query results for Python: Arrow's C stream interface
//! (`__arrow_c_stream__`), which `pyarrow.table(...)`, Polars and pandas
//! read without a copy of the buffers.

use std::sync::Mutex;

use arrow::array::{RecordBatch, RecordBatchIterator};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// Batches that can be read once through the Arrow C stream interface.
#[pyclass(module = "fleetops._fleetops", frozen)]
pub struct ArrowStream {
    schema: SchemaRef,
    batches: Mutex<Option<Vec<RecordBatch>>>,
}

impl ArrowStream {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        ArrowStream {
            schema,
            batches: Mutex::new(Some(batches)),
        }
    }
}

#[pymethods]
impl ArrowStream {
    /// The batches as an `arrow_array_stream` capsule. The requested schema
    /// is not applied (the result's own is the one to read).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches = self
            .batches
            .lock()
            .ok()
            .and_then(|mut b| b.take())
            .ok_or_else(|| crate::Error::new_err("this result has already been read"))?;
        let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), self.schema.clone());
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}
