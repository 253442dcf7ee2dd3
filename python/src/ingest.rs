//! `fleetops.ingest`: the library's dataset ingest on a thread of its own,
//! with the GIL released; Ctrl-C or an exception from the progress callback
//! interrupts it before it commits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fleetops::ingest::{Options, Progress};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{to_py, wait_interruptible};

/// Ingests `inputs` into the dataset `out`; returns the counts of
/// `fleetops ingest --json`. Skipped files and notes become warnings.
#[pyfunction]
#[pyo3(signature = (inputs, out, keep_going, redact_key, threads, memory_budget, wait, progress))]
#[allow(clippy::too_many_arguments)]
pub fn ingest<'py>(
    py: Python<'py>,
    inputs: Vec<PathBuf>,
    out: PathBuf,
    keep_going: bool,
    redact_key: Option<Vec<u8>>,
    threads: usize,
    memory_budget: Option<usize>,
    wait: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let redactor = redact_key
        .map(|k| fleetops::redact::Redactor::from_key_text(&k))
        .transpose()
        .map_err(to_py)?
        .map(Arc::new);
    let interrupt = Arc::new(AtomicBool::new(false));
    // The callback's exception, to raise once the run has stopped.
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::new(Mutex::new(None));
    let mut opts = Options {
        keep_going,
        threads,
        wait_for_lock: wait,
        redactor,
        memory_budget: memory_budget.unwrap_or(0),
        interrupt: Some(Arc::clone(&interrupt)),
        ..Options::default()
    };
    if let Some(callback) = progress {
        let (bytes, files) = (AtomicU64::new(0), AtomicU64::new(0));
        let (interrupt, raised) = (Arc::clone(&interrupt), Arc::clone(&raised));
        opts.progress = Some(Arc::new(move |p| {
            match p {
                Progress::Bytes(n) => bytes.fetch_add(n, Ordering::Relaxed),
                Progress::File => files.fetch_add(1, Ordering::Relaxed),
            };
            if interrupt.load(Ordering::Relaxed) {
                return;
            }
            let args = (bytes.load(Ordering::Relaxed), files.load(Ordering::Relaxed));
            Python::attach(|py| {
                if let Err(e) = callback.call1(py, args) {
                    if let Ok(mut slot) = raised.lock() {
                        slot.get_or_insert(e);
                    }
                    interrupt.store(true, Ordering::Relaxed);
                }
            });
        }));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("fleetops-ingest".into())
        .spawn(move || {
            let _ = tx.send(fleetops::ingest::ingest_dataset(&inputs, &out, &opts));
        })
        .map_err(|e| crate::Error::new_err(format!("cannot start the ingest: {e}")))?;
    // On Ctrl-C the run is told to stop and waited for: it then has removed
    // its staging folder and let go of the dataset's lock.
    let stop = |py: Python<'_>, rx: std::sync::mpsc::Receiver<_>| {
        interrupt.store(true, Ordering::Relaxed);
        py.detach(move || {
            let _ = rx.recv();
        });
    };
    let result = wait_interruptible(py, rx, stop)?;
    if let Some(e) = raised.lock().ok().and_then(|mut slot| slot.take()) {
        return Err(e);
    }
    let report = result.map_err(to_py)?;
    // Pointing at the caller of `fleetops.ingest`, not at the package.
    let warn = |text: String| -> PyResult<()> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("stacklevel", 2)?;
        py.import("warnings")?
            .call_method("warn", (text,), Some(&kwargs))?;
        Ok(())
    };
    for f in &report.failures {
        warn(format!("fleetops: skipped {}: {}", f.file, f.message))?;
    }
    for n in &report.notes {
        warn(format!("fleetops: note: {n}"))?;
    }
    let c = &report.counts;
    let d = PyDict::new(py);
    d.set_item("files", c.files)?;
    d.set_item("records", c.records)?;
    d.set_item("rows", c.rows)?;
    d.set_item("duplicates", c.duplicates)?;
    d.set_item("rejected", c.rejected)?;
    d.set_item("repaired", c.repaired)?;
    d.set_item("failed_files", report.failures.len())?;
    Ok(d)
}
