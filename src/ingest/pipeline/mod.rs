//! The ingest run, in the order the data flows (`docs/architecture.md`):
//!
//! 1. [`read`]: workers read files (a bundle of small ones, or the blocks
//!    of a large one) and decode them on every core;
//! 2. [`route`]: decoded rows are cut by partition and wait in memory,
//!    spilled to disk past the memory budget;
//! 3. [`order`]: the collector puts each unit's counts and rejects in read
//!    order and decides which files failed;
//! 4. [`merge`]: one partition at a time, rows are folded into the stored
//!    ones (README "Dedup and incremental ingest") and written, or carried
//!    over unchanged, by a [`merge::Sink`].
//!
//! Memory is bounded by [`Options::memory_budget`], not by the input: the
//! waiting rows are spilled past a share of it, the blocks in flight are a
//! few per core, and a merge holds one partition.

pub(crate) mod merge;
pub(crate) mod order;
pub(crate) mod read;
pub(crate) mod route;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError, channel, sync_channel};
use std::time::Duration;

use super::decode::{FileContext, Reject};
use super::discover::InputFile;
use super::source::Limits;
use crate::error::{Error, Result};
use order::{Collector, RejectSink};
use read::{Job, Shared, Worker};
use route::Router;

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Input bytes read (after decompression) since the last event.
    Bytes(u64),
    /// A file was finished.
    File,
}

/// Callback for [`Progress`] events.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// The memory budget when none is given: well inside 512 MiB with the
/// program itself.
pub const DEFAULT_MEMORY_BUDGET: usize = 320 << 20;

/// How a run behaves.
#[derive(Clone, Default)]
pub struct Options {
    /// Ingest the other files when one is unreadable.
    pub keep_going: bool,
    /// Decoding threads (0: one per core).
    pub threads: usize,
    /// Sizes past which a file or a record is refused.
    pub limits: Limits,
    /// Called as bytes are read and files finish (a progress bar).
    pub progress: Option<ProgressFn>,
    /// Wait for another ingest into the same dataset instead of failing.
    pub wait_for_lock: bool,
    /// Pseudonymise identities (and reject texts) before anything is written.
    pub redactor: Option<Arc<crate::redact::Redactor>>,
    /// Bytes of memory the run may use for rows (0: [`DEFAULT_MEMORY_BUDGET`]).
    /// Decoded rows past a third of it are spilled to disk (a third more
    /// fills while a spill is written); a smaller budget spills more,
    /// never changing the table.
    pub memory_budget: usize,
    /// Set it (from any thread: a signal handler, a notebook's interrupt)
    /// to stop the run. It then ends with [`Error::Interrupted`] before
    /// anything is committed, so the dataset stays as it was.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Options {
    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        if self.memory_budget == 0 {
            DEFAULT_MEMORY_BUDGET
        } else {
            self.memory_budget
        }
    }

    /// Whether [`Options::interrupt`] has been set.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
    }

    /// Ends the run with [`Error::Interrupted`] once it has been interrupted.
    pub(crate) fn check_interrupt(&self) -> Result<()> {
        if self.interrupted() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Bytes of decoded rows that wait in memory before they are spilled.
    pub(crate) fn spill_at(&self) -> usize {
        self.budget() / 3
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("keep_going", &self.keep_going)
            .field("threads", &self.threads)
            .field("limits", &self.limits)
            .field("wait_for_lock", &self.wait_for_lock)
            .field("redact", &self.redactor.is_some())
            .field("memory_budget", &self.memory_budget)
            .field("interrupted", &self.interrupted())
            .finish_non_exhaustive()
    }
}

/// A reject with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReject {
    /// The input file's name as given (`-` for standard input).
    pub file: String,
    /// Where in the file, why, and the record's text.
    pub reject: Reject,
}

/// Counts of a run (`ingest --json`, README "Using it").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Input files read.
    pub files: u64,
    /// Records read: always `rows + duplicates + rejected`.
    pub records: u64,
    /// Rows this run added to or replaced in the dataset.
    pub rows: u64,
    /// Records collapsed into another record of the same id (older, or an
    /// unchanged copy of a stored row).
    pub duplicates: u64,
    /// Records rejected (written to `_rejects/` with their reason).
    pub rejected: u64,
    /// Records kept whose timestamps had to be repaired to be read.
    pub repaired: u64,
}

/// A file that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFailure {
    /// The input file's name as given.
    pub file: String,
    /// Why it could not be read, and what to do.
    pub message: String,
}

/// What reading and decoding produced, before the merge.
pub(crate) struct RunResult {
    /// Files, records, rejected and repaired (rows and duplicates come
    /// from the merge).
    pub counts: Counts,
    /// Rows decoded from the files read completely.
    pub rows: u64,
    pub failures: Vec<FileFailure>,
    /// Input files whose rows are left out.
    pub failed: BTreeSet<usize>,
    pub notes: Vec<String>,
}

/// Reads and decodes `files` into `router`; rejects go to `rejects` in read
/// order.
pub(crate) fn run(
    files: &[InputFile],
    router: &Router,
    ingested_at: i64,
    opts: &Options,
    rejects: &mut dyn RejectSink,
) -> Result<RunResult> {
    let threads = threads(opts);
    let contexts: Vec<FileContext> = files
        .iter()
        .map(|f| FileContext {
            name: f.name.clone(),
            path_device: f.path_device.clone(),
            max_record_bytes: opts.limits.max_record_bytes,
        })
        .collect();
    let cancel = AtomicBool::new(false);
    let shared = Shared::new(files, &contexts, router, opts, ingested_at, &cancel);
    let mut collector = Collector::new(files, opts);
    std::thread::scope(|s| {
        // Blocks in flight: two per worker, so memory does not follow the
        // size of a file.
        let (work_tx, work_rx) = sync_channel::<Job>(threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (res_tx, res_rx) = channel();
        if files.iter().any(|f| f.path.is_none()) {
            let (res_tx, work_tx, cancel) = (res_tx.clone(), work_tx.clone(), &cancel);
            s.spawn(move || read::read_stdin(files, opts, cancel, &res_tx, &work_tx));
        }
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let mut worker = Worker::new(&shared, res_tx.clone(), work_tx.clone());
            s.spawn(move || {
                loop {
                    // Blocks first, then files to read. A worker with no
                    // files left lets go of its sender and waits for blocks
                    // (briefly, never holding the lock long) until every
                    // sender is gone.
                    let next = {
                        let rx = work_rx.lock().expect("no panics hold this lock");
                        if worker.reading() {
                            rx.try_recv()
                                .map_err(|e| matches!(e, TryRecvError::Disconnected))
                        } else {
                            rx.recv_timeout(Duration::from_millis(5))
                                .map_err(|e| matches!(e, RecvTimeoutError::Disconnected))
                        }
                    };
                    match next {
                        Ok(job) => worker.decode(job),
                        Err(true) => break,
                        Err(false) if worker.reading() => match worker.claim() {
                            Some(list) => worker.read(list),
                            None => worker.stop_reading(),
                        },
                        Err(false) => {}
                    }
                }
            });
        }
        drop(work_tx);
        drop(res_tx);
        for msg in res_rx {
            collector.take(msg, rejects);
            if collector.fatal.is_some() {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    });
    // An interrupt first: the files it cut short are not failures.
    opts.check_interrupt()?;
    if let Some(e) = collector.fatal {
        return Err(e);
    }
    debug_assert!(collector.finished());
    Ok(RunResult {
        counts: collector.counts,
        rows: collector.rows,
        failures: collector.failures,
        failed: collector.failed,
        notes: collector.notes,
    })
}

/// Decoding threads for `opts` (one per core by default).
pub(crate) fn threads(opts: &Options) -> usize {
    if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    }
}

/// Gives the memory the allocator holds free back to the system. glibc keeps
/// the heap that decoding grew (freed blocks and batches of every worker),
/// and the merges would otherwise come on top of it.
#[allow(unsafe_code)]
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of glibc's own heaps to
    // the system, under the allocator's locks; no memory in use is touched.
    unsafe {
        libc::malloc_trim(0);
    }
}
