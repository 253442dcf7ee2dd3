//! `fleetops._fleetops`: the native part of the `fleetops` Python package.
//!
//! The package (`fleetops/__init__.py`) is the documented face; this module
//! only carries what must be native: the ingest and the reports (the
//! library's own calls, with the GIL released and interruptible), the SQL
//! functions and the tables as DataFusion FFI capsules that datafusion-python
//! 55 loads (README "Python").

use std::future::Future;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;

mod functions;
mod ingest;
mod query;
mod sealed;
mod stream;
mod tables;

pyo3::create_exception!(
    fleetops,
    Error,
    pyo3::exceptions::PyException,
    "A fleetops failure, with the command line's one-line message."
);

/// A library error as the Python exception users catch.
pub(crate) fn to_py(e: fleetops::Error) -> PyErr {
    Error::new_err(e.to_string())
}

/// The runtime queries run on and that the FFI tables hand their scans to:
/// the extension's own, as datafusion-python's tokio is not ours to use.
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("fleetops")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::new_err(format!("cannot start the query runtime: {e}")))
}

/// How often a wait looks for Ctrl-C (Python only sees signals when it runs).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Waits for `rx` with the GIL released, looking for signals in between.
/// On an exception from a signal handler (Ctrl-C), hands the receiver to
/// `stop` (to end the work, and wait for it if need be) and returns the
/// exception.
pub(crate) fn wait_interruptible<T: Send>(
    py: Python<'_>,
    rx: Receiver<T>,
    stop: impl FnOnce(Python<'_>, Receiver<T>),
) -> PyResult<T> {
    // A receiver is not shared between threads, only moved: the lock lets
    // the waiting closure (run without the GIL) borrow it.
    let rx = Mutex::new(rx);
    loop {
        let next = py.detach(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(SIGNAL_POLL),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match next {
            Ok(v) => return Ok(v),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    if let Ok(rx) = rx.into_inner() {
                        stop(py, rx);
                    }
                    return Err(e);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::new_err(
                    "internal error: the work ended without an answer; please report it",
                ));
            }
        }
    }
}

/// Runs a library future on the runtime with the GIL released; Ctrl-C
/// cancels it (a query only reads, so dropping it leaves nothing behind).
pub(crate) fn block_on<T, F>(py: Python<'_>, fut: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = fleetops::Result<T>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let task = runtime()?.spawn(async move {
        let _ = tx.send(fut.await);
    });
    wait_interruptible(py, rx, |_, _| task.abort())?.map_err(to_py)
}

#[pymodule]
fn _fleetops(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(ingest::ingest, m)?)?;
    m.add_function(wrap_pyfunction!(functions::scalar_functions, m)?)?;
    m.add_function(wrap_pyfunction!(functions::aggregate_functions, m)?)?;
    m.add_function(wrap_pyfunction!(tables::table_functions, m)?)?;
    m.add_function(wrap_pyfunction!(functions::functions, m)?)?;
    m.add_function(wrap_pyfunction!(tables::context_tables, m)?)?;
    m.add_function(wrap_pyfunction!(query::report_text, m)?)?;
    m.add_function(wrap_pyfunction!(query::run_query, m)?)?;
    m.add_function(wrap_pyfunction!(query::list_queries, m)?)?;
    m.add_class::<functions::ScalarFunction>()?;
    m.add_class::<functions::AggregateFunction>()?;
    m.add_class::<tables::Table>()?;
    m.add_class::<tables::TableFunction>()?;
    m.add_class::<stream::ArrowStream>()?;
    Ok(())
}
