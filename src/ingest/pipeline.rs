//! The ingest run: a reader thread cuts files into work, one worker per core
//! decodes and stores batches, and this thread merges keys into the dedup
//! index in read order, one whole file at a time (a file that turns out to be
//! unreadable contributes nothing).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;

use super::dataset::PART_ROWS;
use super::dedup::{Index, Keys, Merge, RowLoc};
use super::discover::InputFile;
use super::shape::{self, FileContext, Reject, WorkKind};
use super::source::{self, Limits};
use crate::error::{Error, Result};

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

/// How a run behaves.
#[derive(Clone, Default)]
pub struct Options {
    /// Ingest the other files when one is unreadable.
    pub keep_going: bool,
    /// Decoding threads (0: one per core).
    pub threads: usize,
    pub limits: Limits,
    pub progress: Option<ProgressFn>,
    /// Wait for another ingest into the same dataset instead of failing.
    pub wait_for_lock: bool,
    /// Pseudonymise identities (and reject texts) before anything is written.
    pub redactor: Option<Arc<crate::redact::Redactor>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("keep_going", &self.keep_going)
            .field("threads", &self.threads)
            .field("limits", &self.limits)
            .field("wait_for_lock", &self.wait_for_lock)
            .field("redact", &self.redactor.is_some())
            .finish_non_exhaustive()
    }
}

/// A reject with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReject {
    pub file: String,
    pub reject: Reject,
}

/// Counts of a run (contract §6 `ingest --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub files: u64,
    pub records: u64,
    pub rows: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub repaired: u64,
}

/// A file that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFailure {
    pub file: String,
    pub message: String,
}

/// Where decoded rows are stored until dedup is settled.
pub(crate) enum Store {
    Memory(Mutex<Vec<RecordBatch>>),
    Files {
        dir: PathBuf,
        run_id: String,
        next: AtomicU32,
        parts: Mutex<HashMap<u32, (PathBuf, u32)>>,
    },
}

impl Store {
    pub(crate) fn files(dir: PathBuf, run_id: String, first_part: u32) -> Self {
        Store::Files {
            dir,
            run_id,
            next: AtomicU32::new(first_part),
            parts: Mutex::new(HashMap::new()),
        }
    }
}

/// Rows wait in uncompressed Arrow IPC files until dedup is settled: cheap
/// to write and read back, and Parquet is then encoded once, winners only.
type SpillWriter = arrow::ipc::writer::FileWriter<std::io::BufWriter<std::fs::File>>;

fn spill_writer(path: &std::path::Path) -> Result<SpillWriter> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(arrow::ipc::writer::FileWriter::try_new(
        std::io::BufWriter::with_capacity(1 << 20, f),
        &crate::schema::operations_schema(),
    )?)
}

/// Reads every batch of a spill file.
pub(crate) fn read_spill(
    path: &std::path::Path,
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = arrow::ipc::reader::FileReader::try_new(std::io::BufReader::new(f), None)?;
    for b in reader {
        each(b?)?;
    }
    Ok(())
}

/// A worker's open part file.
struct OpenPart {
    part: u32,
    path: PathBuf,
    writer: SpillWriter,
    rows: u32,
}

fn close(store: &Store, open: &mut Option<OpenPart>) -> Result<()> {
    if let (Store::Files { parts, .. }, Some(mut p)) = (store, open.take()) {
        p.writer.finish()?;
        parts
            .lock()
            .expect("no panics hold this lock")
            .insert(p.part, (p.path, p.rows));
    }
    Ok(())
}

fn store_batch(store: &Store, open: &mut Option<OpenPart>, batch: RecordBatch) -> Result<RowLoc> {
    match store {
        Store::Memory(batches) => {
            let mut b = batches.lock().expect("no panics hold this lock");
            b.push(batch);
            Ok(RowLoc {
                part: (b.len() - 1) as u32,
                row: 0,
            })
        }
        Store::Files {
            dir, run_id, next, ..
        } => {
            if open.as_ref().is_some_and(|p| p.rows as usize >= PART_ROWS) {
                close(store, open)?;
            }
            if open.is_none() {
                let part = next.fetch_add(1, Ordering::Relaxed);
                let path = dir.join(format!("spill-{run_id}-{part:05}.arrow"));
                let writer = spill_writer(&path)?;
                *open = Some(OpenPart {
                    part,
                    path,
                    writer,
                    rows: 0,
                });
            }
            let p = open.as_mut().expect("opened above");
            let loc = RowLoc {
                part: p.part,
                row: p.rows,
            };
            p.writer.write(&batch)?;
            p.rows += batch.num_rows() as u32;
            Ok(loc)
        }
    }
}

/// The decoded result of one unit of work, minus the rows themselves.
struct Done {
    stored: Option<(RowLoc, Keys)>,
    rejects: Vec<Reject>,
    records: u64,
    repaired: u64,
    notes: Vec<String>,
}

enum Msg {
    Bytes(u64),
    /// Decoded units: `(file, seq, result)`.
    Works(Vec<(usize, u64, std::result::Result<Box<Done>, String>)>),
    /// Files the reader has finished: `(file, units sent, error)`.
    FileEnds(Vec<(usize, u64, Option<String>)>),
    Fatal(Error),
}

/// Units of work decoded together into one batch: one NDJSON block, or many
/// small whole files (a folder of Graph pages is thousands of 40 KB files).
type Job = Vec<(usize, u64, WorkKind)>;

/// Small documents are bundled until a bundle holds this many files.
const MAX_BUNDLE_FILES: usize = 1024;

/// The reader's side of the channels: bundles small documents and batches
/// the messages about them, so a folder of small files costs few wake-ups.
struct Feed<'a> {
    work_tx: &'a std::sync::mpsc::SyncSender<Job>,
    res_tx: &'a std::sync::mpsc::Sender<Msg>,
    bundle: Job,
    bundle_bytes: usize,
    bundle_limit: usize,
    ends: Vec<(usize, u64, Option<String>)>,
    bytes: u64,
}

impl Feed<'_> {
    fn send(&mut self, fi: usize, seq: u64, work: WorkKind, bytes: u64) -> Result<(), String> {
        self.bytes += bytes;
        match work {
            WorkKind::Document { data } if data.len() < self.bundle_limit => {
                self.bundle_bytes += data.len();
                self.bundle.push((fi, seq, WorkKind::Document { data }));
                if self.bundle_bytes >= self.bundle_limit || self.bundle.len() >= MAX_BUNDLE_FILES {
                    self.flush()?;
                }
                Ok(())
            }
            work => {
                self.flush()?;
                self.work_tx
                    .send(vec![(fi, seq, work)])
                    .map_err(|_| "cancelled".to_string())
            }
        }
    }

    /// Sends the bundle and the messages held back.
    fn flush(&mut self) -> Result<(), String> {
        if self.bytes > 0 {
            let _ = self
                .res_tx
                .send(Msg::Bytes(std::mem::take(&mut self.bytes)));
        }
        if !self.ends.is_empty() {
            let _ = self
                .res_tx
                .send(Msg::FileEnds(std::mem::take(&mut self.ends)));
        }
        if !self.bundle.is_empty() {
            self.bundle_bytes = 0;
            self.work_tx
                .send(std::mem::take(&mut self.bundle))
                .map_err(|_| "cancelled".to_string())?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct FileAcc {
    done: BTreeMap<u64, Box<Done>>,
    failed_works: u64,
    /// Works the reader sent, once it reported the file's end.
    expected: Option<u64>,
    error: Option<String>,
}

impl FileAcc {
    /// Every message about this file has arrived.
    fn complete(&self) -> bool {
        self.expected
            .is_some_and(|n| self.done.len() as u64 + self.failed_works >= n)
    }
}

/// What a run produced, before the rows are settled into a table.
pub(crate) struct RunResult {
    pub counts: Counts,
    pub failures: Vec<FileFailure>,
    pub notes: Vec<String>,
    pub index: Index,
}

/// Decodes `files` into `store`, merging into `index` (which may already hold
/// the existing dataset). Rejects go to `on_reject` in read order.
pub(crate) fn run(
    files: &[InputFile],
    store: &Store,
    mut index: Index,
    ingested_at: i64,
    opts: &Options,
    on_reject: &mut dyn FnMut(FileReject) -> Result<()>,
) -> Result<RunResult> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let contexts: Vec<FileContext> = files
        .iter()
        .map(|f| FileContext {
            name: f.name.clone(),
            path_device: f.path_device.clone(),
            max_record_bytes: opts.limits.max_record_bytes,
        })
        .collect();
    let cancel = AtomicBool::new(false);
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut fatal: Option<Error> = None;

    std::thread::scope(|s| {
        let (work_tx, work_rx) = sync_channel::<Job>(threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (res_tx, res_rx) = channel::<Msg>();

        // Reader.
        {
            let res_tx = res_tx.clone();
            let cancel = &cancel;
            let limits = opts.limits;
            s.spawn(move || {
                let mut feed = Feed {
                    work_tx: &work_tx,
                    res_tx: &res_tx,
                    bundle: Vec::new(),
                    bundle_bytes: 0,
                    bundle_limit: limits.block_bytes.max(1024),
                    ends: Vec::new(),
                    bytes: 0,
                };
                for (fi, f) in files.iter().enumerate() {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let mut seq = 0u64;
                    let r = source::split(f, &limits, &mut |work, bytes| {
                        if cancel.load(Ordering::Relaxed) {
                            return Err("cancelled".into());
                        }
                        feed.send(fi, seq, work, bytes)?;
                        seq += 1;
                        Ok(())
                    });
                    feed.ends.push((fi, seq, r.err()));
                    if feed.bundle.is_empty() || feed.ends.len() >= MAX_BUNDLE_FILES {
                        // Nothing waits in a bundle: say so now, so the file
                        // is merged without waiting for the next bundle.
                        let _ = feed.flush();
                    }
                }
                let _ = feed.flush();
                drop(work_tx);
            });
        }

        // Workers.
        let hasher = index.hasher();
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let res_tx = res_tx.clone();
            let contexts = &contexts;
            let cancel = &cancel;
            let hasher = hasher.clone();
            s.spawn(move || {
                let mut open: Option<OpenPart> = None;
                loop {
                    let next = work_rx.lock().expect("no panics hold this lock").recv();
                    let Ok(job) = next else { break };
                    if cancel.load(Ordering::Relaxed) {
                        continue;
                    }
                    let out = shape::decode_units(
                        job.iter().map(|(fi, _, work)| (work, &contexts[*fi])),
                        ingested_at,
                    );
                    let stored = match out.batch {
                        None => None,
                        Some(batch) => {
                            let batch = match &opts.redactor {
                                None => batch,
                                Some(r) => match r.redact_operations(&batch) {
                                    Ok(b) => b,
                                    Err(e) => {
                                        let _ = res_tx.send(Msg::Fatal(e.into()));
                                        cancel.store(true, Ordering::Relaxed);
                                        continue;
                                    }
                                },
                            };
                            let keys = Keys::of(&batch, &hasher);
                            match store_batch(store, &mut open, batch) {
                                Ok(loc) => Some((loc, keys)),
                                Err(e) => {
                                    let _ = res_tx.send(Msg::Fatal(e));
                                    cancel.store(true, Ordering::Relaxed);
                                    continue;
                                }
                            }
                        }
                    };
                    let whole = out.units.len() == 1;
                    let mut stored = stored;
                    let results = job
                        .iter()
                        .zip(out.units)
                        .map(|((fi, seq, _), (rows, result))| {
                            let result = result.map(|o| {
                                let mine = match &stored {
                                    Some(_) if rows.is_empty() => None,
                                    Some(_) if whole => stored.take(),
                                    Some((loc, keys)) => Some((
                                        RowLoc {
                                            part: loc.part,
                                            row: loc.row + rows.start as u32,
                                        },
                                        keys.slice(rows),
                                    )),
                                    None => None,
                                };
                                Box::new(Done {
                                    stored: mine,
                                    rejects: o.rejects,
                                    records: o.records,
                                    repaired: o.repaired,
                                    notes: o.notes,
                                })
                            });
                            (*fi, *seq, result)
                        })
                        .collect();
                    let _ = res_tx.send(Msg::Works(results));
                }
                if let Err(e) = close(store, &mut open) {
                    let _ = res_tx.send(Msg::Fatal(e));
                }
            });
        }
        drop(res_tx);

        // Collector: this thread.
        let mut pending: HashMap<usize, FileAcc> = HashMap::new();
        let mut next_file = 0usize;
        let mut valid_new = 0u64;
        for msg in res_rx {
            match msg {
                Msg::Bytes(n) => {
                    if let Some(p) = &opts.progress {
                        p(Progress::Bytes(n));
                    }
                    continue;
                }
                Msg::Fatal(e) => {
                    cancel.store(true, Ordering::Relaxed);
                    fatal.get_or_insert(e);
                    continue;
                }
                Msg::Works(results) => {
                    for (file, seq, result) in results {
                        let acc = pending.entry(file).or_default();
                        match result {
                            Ok(done) => {
                                acc.done.insert(seq, done);
                            }
                            Err(msg) => {
                                acc.error.get_or_insert(msg);
                                acc.failed_works += 1;
                            }
                        }
                    }
                }
                Msg::FileEnds(ends) => {
                    for (file, works, error) in ends {
                        let acc = pending.entry(file).or_default();
                        if let Some(e) = error {
                            acc.error.get_or_insert(e);
                        }
                        acc.expected = Some(works);
                    }
                }
            }
            if fatal.is_some() {
                continue;
            }
            // Settle finished files in read order.
            while let Some(acc) = pending.get(&next_file) {
                if !acc.complete() {
                    break;
                }
                let acc = pending.remove(&next_file).expect("present");
                let name = &files[next_file].name;
                next_file += 1;
                if let Some(p) = &opts.progress {
                    p(Progress::File);
                }
                if let Some(message) = acc.error {
                    if opts.keep_going {
                        failures.push(FileFailure {
                            file: name.clone(),
                            message,
                        });
                        continue;
                    }
                    cancel.store(true, Ordering::Relaxed);
                    fatal = Some(Error::BadFile {
                        file: name.clone(),
                        message: format!("{message} (use --keep-going to ingest the other files)"),
                    });
                    break;
                }
                counts.files += 1;
                for (_, done) in acc.done {
                    counts.records += done.records;
                    counts.repaired += done.repaired;
                    counts.rejected += done.rejects.len() as u64;
                    valid_new += done.records - done.rejects.len() as u64;
                    notes.extend(done.notes.into_iter().map(|n| format!("{name}: {n}")));
                    if let Some((loc, keys)) = &done.stored {
                        index.merge(keys, loc.part, loc.row, true, |_m: Merge| {});
                    }
                    for mut reject in done.rejects {
                        if let Some(r) = &opts.redactor {
                            reject.record = r.redact_record_text(&reject.record);
                        }
                        if let Err(e) = on_reject(FileReject {
                            file: name.clone(),
                            reject,
                        }) {
                            cancel.store(true, Ordering::Relaxed);
                            fatal.get_or_insert(e);
                        }
                    }
                }
            }
        }
        index.finish();
        let new_winners = index.new_winners();
        counts.rows = new_winners;
        counts.duplicates = valid_new - new_winners;
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok(RunResult {
        counts,
        failures,
        notes,
        index,
    })
}
