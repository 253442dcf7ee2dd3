//! The ingest run: one worker per core takes named files a bundle at a time,
//! opens, reads and decodes them into batches (sharing the blocks of a large
//! file) and writes Parquet when asked; a reader thread cuts standard input;
//! and this thread merges keys into the dedup index in read order as they
//! arrive, and decides which held batches to write. A file that turns out to
//! be unreadable after some of it was merged makes the run start again
//! without it (`RunResult::rerun`), so it contributes nothing.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, SyncSender, TryRecvError, TrySendError, channel, sync_channel};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;

use super::dataset::{PART_ROWS, ROW_GROUP_ROWS};
use super::decode::{self, FileContext, Reject, UnitsDecoder, WorkKind};
use super::dedup::{IdHasher, Index, Keys, Merge, RowLoc};
use super::discover::InputFile;
use super::source::{self, Limits, OpenDir, ReadError, Source, Whole};
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
    /// Sizes past which a file or a record is refused.
    pub limits: Limits,
    /// Called as bytes are read and files finish (a progress bar).
    pub progress: Option<ProgressFn>,
    /// Wait for another ingest into the same dataset instead of failing.
    pub wait_for_lock: bool,
    /// Pseudonymise identities (and reject texts) before anything is written.
    pub redactor: Option<Arc<crate::redact::Redactor>>,
    /// Decoded rows a dataset ingest holds in memory before it writes the
    /// oldest (0: two row groups, 262,144). Fewer use less memory; a
    /// duplicate read after its earlier copy was written makes that file be
    /// rewritten at the end.
    pub hold_rows: usize,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("keep_going", &self.keep_going)
            .field("threads", &self.threads)
            .field("limits", &self.limits)
            .field("wait_for_lock", &self.wait_for_lock)
            .field("redact", &self.redactor.is_some())
            .field("hold_rows", &self.hold_rows)
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

/// Where decoded rows go until dedup is settled.
pub(crate) enum Store {
    /// Kept in memory (an in-memory ingest): batch `n` is part `n`.
    Memory(Mutex<Vec<RecordBatch>>),
    /// Written to Parquet while the run goes on (a dataset ingest).
    Parquet(ParquetStore),
}

/// Decoded batches wait in memory until every record before them has been
/// merged and the held rows pass a budget; the oldest are then encoded,
/// known losers left out. A row that loses after it was written (to a
/// duplicate read much later) makes its file be rewritten when the run
/// ends, so nothing is spilled and Parquet encoding overlaps decoding.
pub(crate) struct ParquetStore {
    dir: PathBuf,
    run_id: String,
    /// Part number of the first batch: the existing dataset's parts come first.
    first: u32,
    next_batch: AtomicU32,
    held: Mutex<HashMap<u32, RecordBatch>>,
    /// One output file open per slot; a slot's writes run in queue order.
    slots: Vec<Mutex<Slot>>,
    written: Mutex<Vec<WrittenFile>>,
}

/// A Parquet file this run wrote: its number among this run's files.
#[derive(Debug, Clone)]
pub(crate) struct WrittenFile {
    pub number: u32,
    pub path: PathBuf,
    pub rows: u32,
}

#[derive(Default)]
struct Slot {
    open: Option<OpenFile>,
    queue: std::collections::VecDeque<SlotTask>,
}

struct OpenFile {
    number: u32,
    path: PathBuf,
    writer: parquet::arrow::ArrowWriter<std::fs::File>,
    rows: u32,
    /// Bytes written when the last early flush to disk was started.
    synced: usize,
}

/// Bytes written to a Parquet file between early flushes to disk.
const SYNC_EVERY: usize = 4 << 20;

enum SlotTask {
    /// Append the rows of `batch` that `keep` marks (all when `None`) to file `file`.
    Write {
        file: u32,
        batch: RecordBatch,
        keep: Option<arrow::array::BooleanArray>,
    },
    /// Finish the slot's open file.
    Close,
}

impl ParquetStore {
    pub(crate) fn new(dir: PathBuf, run_id: String, first: u32, threads: usize) -> Self {
        ParquetStore {
            dir,
            run_id,
            first,
            next_batch: AtomicU32::new(first),
            held: Mutex::new(HashMap::new()),
            slots: (0..threads.max(1)).map(|_| Mutex::default()).collect(),
            written: Mutex::new(Vec::new()),
        }
    }

    /// The files written, by number.
    pub(crate) fn into_written(self) -> Vec<WrittenFile> {
        let mut w = self.written.into_inner().expect("no panics hold this lock");
        w.sort_by_key(|f| f.number);
        w
    }

    /// Where file `number` of this run goes.
    pub(crate) fn file_path(&self, number: u32) -> PathBuf {
        self.dir.join(format!(
            "part-{}-{:05}.parquet",
            self.run_id,
            self.first + number
        ))
    }

    /// Runs the oldest task of slot `s` (one task per token sent).
    fn run_slot(&self, s: usize) -> Result<()> {
        let mut slot = self.slots[s].lock().expect("no panics hold this lock");
        let Some(task) = slot.queue.pop_front() else {
            return Ok(());
        };
        match task {
            SlotTask::Write { file, batch, keep } => {
                let batch = match keep {
                    None => batch,
                    Some(k) => arrow::compute::filter_record_batch(&batch, &k)?,
                };
                if slot.open.as_ref().is_none_or(|o| o.number != file) {
                    let path = self.file_path(file);
                    let writer = super::dataset::parquet_writer(&path)?;
                    slot.open = Some(OpenFile {
                        number: file,
                        path,
                        writer,
                        rows: 0,
                        synced: 0,
                    });
                }
                let open = slot.open.as_mut().expect("opened above");
                open.writer.write(&batch)?;
                open.rows += batch.num_rows() as u32;
                // The run ends by flushing every file to disk; starting on the
                // row groups already written overlaps most of that wait with
                // decoding. A thread that only waits on the disk.
                let written = open.writer.bytes_written();
                if written >= open.synced + SYNC_EVERY {
                    open.synced = written;
                    if let Ok(f) = open.writer.inner().try_clone() {
                        std::thread::spawn(move || f.sync_data());
                    }
                }
            }
            SlotTask::Close => {
                if let Some(open) = slot.open.take() {
                    open.writer.close()?;
                    self.written
                        .lock()
                        .expect("no panics hold this lock")
                        .push(WrittenFile {
                            number: open.number,
                            path: open.path,
                            rows: open.rows,
                        });
                }
            }
        }
        Ok(())
    }
}

/// Keeps `batch` until dedup is settled; its part number.
fn store_batch(store: &Store, batch: RecordBatch) -> u32 {
    match store {
        Store::Memory(batches) => {
            let mut b = batches.lock().expect("no panics hold this lock");
            b.push(batch);
            (b.len() - 1) as u32
        }
        Store::Parquet(p) => {
            let part = p.next_batch.fetch_add(1, Ordering::Relaxed);
            p.held
                .lock()
                .expect("no panics hold this lock")
                .insert(part, batch);
            part
        }
    }
}

/// Held rows above which the oldest merged batches are written (default).
const HOLD_ROWS: usize = 2 * ROW_GROUP_ROWS;

/// The collector's account of the batches of a [`ParquetStore`].
#[derive(Default)]
struct Holding {
    /// Part number of the first batch.
    first: u32,
    /// Batches not yet written, by part − `first`: rows, and which are not
    /// winners now.
    batches: Vec<Option<Held>>,
    /// Fully merged batches, oldest first.
    ready: std::collections::VecDeque<u32>,
    held_rows: usize,
    /// Where each written batch's rows went (by part − `first`): its file,
    /// and the row in that file of each of its rows (`u32::MAX`: left out).
    placed: Vec<Option<(u32, Vec<u32>)>>,
    /// Per slot: the open file's number and rows so far.
    slot_files: Vec<Option<(u32, u32)>>,
    next_slot: usize,
    next_file: u32,
}

struct Held {
    rows: u32,
    merged: u32,
    /// Not the winner of its id now (every row starts so until merged).
    losers: Vec<bool>,
}

impl Holding {
    fn new(first: u32, slots: usize) -> Self {
        Holding {
            first,
            slot_files: vec![None; slots],
            ..Holding::default()
        }
    }

    fn note(&mut self, part: u32, rows: u32) -> &mut Held {
        let i = (part - self.first) as usize;
        if self.batches.len() <= i {
            self.batches.resize_with(i + 1, || None);
        }
        self.batches[i].get_or_insert_with(|| {
            self.held_rows += rows as usize;
            Held {
                rows,
                merged: 0,
                losers: vec![true; rows as usize],
            }
        })
    }

    fn set(&mut self, loc: RowLoc, loser: bool) {
        if let Some(Some(h)) = loc
            .part
            .checked_sub(self.first)
            .and_then(|i| self.batches.get_mut(i as usize))
        {
            h.losers[loc.row as usize] = loser;
        }
    }

    /// Writes batch `part`: its current winners go to the next slot's file.
    fn dispatch(
        &mut self,
        part: u32,
        store: &ParquetStore,
        tx: &std::sync::mpsc::SyncSender<Task>,
    ) -> std::result::Result<(), ()> {
        let Some(held) = self
            .batches
            .get_mut((part - self.first) as usize)
            .and_then(Option::take)
        else {
            return Ok(());
        };
        self.held_rows -= held.rows as usize;
        let batch = store
            .held
            .lock()
            .expect("no panics hold this lock")
            .remove(&part)
            .expect("a merged batch is held");
        let kept = held.losers.iter().filter(|l| !**l).count() as u32;
        if kept == 0 {
            return Ok(());
        }
        let s = self.next_slot;
        self.next_slot = (s + 1) % self.slot_files.len();
        let (file, base) = *self.slot_files[s].get_or_insert_with(|| {
            self.next_file += 1;
            (self.next_file - 1, 0)
        });
        let mut next = base;
        let rows: Vec<u32> = held
            .losers
            .iter()
            .map(|&l| {
                if l {
                    u32::MAX
                } else {
                    next += 1;
                    next - 1
                }
            })
            .collect();
        let i = (part - self.first) as usize;
        if self.placed.len() <= i {
            self.placed.resize_with(i + 1, || None);
        }
        self.placed[i] = Some((file, rows));
        let keep = (kept < held.rows).then(|| {
            held.losers
                .iter()
                .map(|l| Some(!l))
                .collect::<arrow::array::BooleanArray>()
        });
        let mut tasks = vec![SlotTask::Write { file, batch, keep }];
        if next as usize >= PART_ROWS {
            tasks.push(SlotTask::Close);
            self.slot_files[s] = None;
        } else {
            self.slot_files[s] = Some((file, next));
        }
        for t in tasks {
            store.slots[s]
                .lock()
                .expect("no panics hold this lock")
                .queue
                .push_back(t);
            tx.send(Task::Encode(s)).map_err(|_| ())?;
        }
        Ok(())
    }

    /// Writes every batch still held and closes every file.
    fn dispatch_all(
        &mut self,
        store: &ParquetStore,
        tx: &std::sync::mpsc::SyncSender<Task>,
    ) -> std::result::Result<(), ()> {
        // Merged batches in order, then any a failed file left unmerged.
        while let Some(p) = self.ready.pop_front() {
            self.dispatch(p, store, tx)?;
        }
        for i in 0..self.batches.len() {
            if self.batches[i].is_some() {
                self.dispatch(self.first + i as u32, store, tx)?;
            }
        }
        for s in 0..self.slot_files.len() {
            if self.slot_files[s].take().is_some() {
                store.slots[s]
                    .lock()
                    .expect("no panics hold this lock")
                    .queue
                    .push_back(SlotTask::Close);
                tx.send(Task::Encode(s)).map_err(|_| ())?;
            }
        }
        Ok(())
    }
}

/// Where a unit's rows went: rows `rows` of batch `part` (of `batch_rows`),
/// whose keys are shared by every unit of the batch.
struct Stored {
    part: u32,
    keys: Arc<Keys>,
    rows: std::ops::Range<usize>,
    batch_rows: u32,
}

/// The decoded result of one unit of work, minus the rows themselves.
struct Done {
    /// Where its rows are, their keys, and the rows of the whole batch
    /// they are part of.
    stored: Option<Stored>,
    rejects: Vec<Reject>,
    records: u64,
    repaired: u64,
    notes: Vec<String>,
}

enum Msg {
    Bytes(u64),
    /// Decoded units: `(file, seq, result)`.
    Works(Vec<(usize, u64, std::result::Result<Box<Done>, ReadError>)>),
    /// Files read to their end (by the reader or a worker): `(file, units
    /// made of it, error)`.
    FileEnds(Vec<(usize, u64, Option<ReadError>)>),
    /// The reader has handed out every file.
    ReaderDone,
    Fatal(Error),
}

/// A unit of work handed over whole, with its file and place in it: a block
/// of a large file, or a unit of standard input.
type Job = (usize, u64, WorkKind);

/// What a worker is asked to do.
enum Task {
    Decode(Job),
    /// Run the next task of a [`ParquetStore`] slot.
    Encode(usize),
    /// The run is over: every task before this one has been taken.
    Stop,
}

/// Files are bundled until a bundle holds this many.
const MAX_BUNDLE_FILES: usize = 1024;

#[derive(Default)]
struct FileAcc {
    /// Units decoded and not merged yet, by place after the merged ones.
    done: VecDeque<Option<Box<Done>>>,
    held: u64,
    /// Units merged so far (they are merged in order as they arrive).
    merged: u64,
    failed_works: u64,
    /// Units made of the file, once its end was reported.
    expected: Option<u64>,
    error: Option<ReadError>,
}

impl FileAcc {
    /// Every message about this file has arrived.
    fn complete(&self) -> bool {
        self.expected
            .is_some_and(|n| self.merged + self.held + self.failed_works >= n)
    }

    fn put(&mut self, seq: u64, done: Box<Done>) {
        let i = (seq - self.merged) as usize;
        if self.done.len() <= i {
            self.done.resize_with(i + 1, || None);
        }
        self.done[i] = Some(done);
        self.held += 1;
    }

    /// The next unit to merge, when it has arrived.
    fn next(&mut self) -> Option<Box<Done>> {
        let done = self.done.front_mut()?.take()?;
        self.done.pop_front();
        self.held -= 1;
        self.merged += 1;
        Some(done)
    }
}

/// Files being read, from the next to merge on: few, as they are
/// merged in read order.
struct Files {
    first: usize,
    accs: VecDeque<FileAcc>,
}

impl Files {
    fn get(&mut self, file: usize) -> &mut FileAcc {
        let i = file - self.first;
        if self.accs.len() <= i {
            self.accs.resize_with(i + 1, FileAcc::default);
        }
        &mut self.accs[i]
    }
}

/// A decoding thread's view of the run.
struct Worker<'a> {
    files: &'a [InputFile],
    contexts: &'a [FileContext],
    store: &'a Store,
    hasher: IdHasher,
    opts: &'a Options,
    ingested_at: i64,
    res_tx: Sender<Msg>,
    work_tx: SyncSender<Task>,
    cancel: &'a AtomicBool,
    /// Files are read into this (a block long), one after another: it
    /// keeps its length, so nothing is allocated or zeroed per file.
    buf: Vec<u8>,
    dir: OpenDir,
    /// The next named file no worker has taken, and how many one takes.
    claim: &'a AtomicUsize,
    bundle_files: usize,
}

/// Units decoded into one batch so far, and which they are.
struct Pending<'c> {
    decoder: UnitsDecoder<'c>,
    ids: Vec<(usize, u64)>,
}

impl<'a> Worker<'a> {
    fn fail(&self, e: Error) {
        let _ = self.res_tx.send(Msg::Fatal(e));
        self.cancel.store(true, Ordering::Relaxed);
    }

    fn encode(&self, slot: usize) {
        let Store::Parquet(p) = self.store else {
            unreachable!("write tasks come with a Parquet store");
        };
        if let Err(e) = p.run_slot(slot) {
            self.fail(e);
        }
    }

    /// Decodes a unit handed over whole.
    fn decode(&self, (fi, seq, work): Job) {
        let out = decode::decode_units([(&work, &self.contexts[fi])], self.ingested_at);
        self.deliver(std::iter::once((fi, seq)), out);
    }

    /// Stores the batch of `out` and sends the collector each unit's result;
    /// `ids` are the units' files and places in them.
    fn deliver(&self, ids: impl Iterator<Item = (usize, u64)>, out: decode::UnitsOutput) {
        let stored = match out.batch {
            None => None,
            Some(batch) => {
                let batch = match &self.opts.redactor {
                    None => batch,
                    Some(r) => match r.redact_operations(&batch) {
                        Ok(b) => b,
                        Err(e) => return self.fail(e.into()),
                    },
                };
                let keys = Arc::new(Keys::of(&batch, &self.hasher));
                let rows = batch.num_rows() as u32;
                Some((store_batch(self.store, batch), keys, rows))
            }
        };
        let results = ids
            .zip(out.units)
            .map(|((fi, seq), (rows, result))| {
                let result = result.map_err(ReadError::NotJson).map(|o| {
                    let mine = match &stored {
                        Some((part, keys, n)) if !rows.is_empty() => Some(Stored {
                            part: *part,
                            keys: Arc::clone(keys),
                            rows,
                            batch_rows: *n,
                        }),
                        _ => None,
                    };
                    Box::new(Done {
                        stored: mine,
                        rejects: o.rejects,
                        records: o.records,
                        repaired: o.repaired,
                        notes: o.notes,
                    })
                });
                (fi, seq, result)
            })
            .collect();
        let _ = self.res_tx.send(Msg::Works(results));
    }

    fn finish(&self, pending: Pending<'a>) {
        if pending.ids.is_empty() {
            return;
        }
        let out = pending.decoder.finish(self.ingested_at);
        self.deliver(pending.ids.into_iter(), out);
    }

    /// The next files to read, taken from the shared cursor: a worker
    /// takes them itself when it has nothing else to do, with no thread
    /// to wake up in between.
    fn claim(&self) -> Option<std::ops::Range<usize>> {
        if self.cancel.load(Ordering::Relaxed) {
            return None;
        }
        let start = self.claim.fetch_add(self.bundle_files, Ordering::Relaxed);
        (start < self.files.len()).then(|| start..(start + self.bundle_files).min(self.files.len()))
    }

    /// Opens, reads and decodes the named files of `list` (the reader does
    /// standard input), small ones into one batch per block of input, each
    /// read into the worker's own buffer and decoded at once, while it is
    /// in this core's cache. The blocks of a large file go to whichever
    /// worker is free (decoded here when none is).
    fn read(&mut self, list: std::ops::Range<usize>) {
        let block = self.opts.limits.block_bytes.max(1024);
        let limits = self.opts.limits;
        let contexts = self.contexts;
        let new = || Pending {
            decoder: UnitsDecoder::new(block),
            ids: Vec::new(),
        };
        // A bundle is about a block by the mean file size: a batch is cut
        // short of its end only when the files turn out much larger, not to
        // leave the last file or two as a batch of their own.
        let full = 2 * block;
        let mut pending = new();
        let mut ends = Vec::with_capacity(list.len());
        let mut bytes = 0u64;
        for fi in list {
            if self.cancel.load(Ordering::Relaxed) {
                return;
            }
            if self.files[fi].path.is_none() {
                continue;
            }
            let ctx = &contexts[fi];
            let mut source = match Source::open(&self.files[fi], &mut self.dir) {
                Ok(s) => s,
                Err(e) => {
                    ends.push((fi, 0, Some(e)));
                    continue;
                }
            };
            let head = match source.read_whole(&mut self.buf, &limits) {
                Err(e) => {
                    ends.push((fi, 0, Some(e)));
                    continue;
                }
                Ok(Whole::Unit(None)) => {
                    ends.push((fi, 0, None));
                    continue;
                }
                Ok(Whole::Unit(Some(unit))) => {
                    bytes += unit.len() as u64;
                    pending.decoder.push(unit, ctx);
                    pending.ids.push((fi, 0));
                    ends.push((fi, 1, None));
                    if pending.decoder.bytes() >= full {
                        self.finish(std::mem::replace(&mut pending, new()));
                    }
                    continue;
                }
                Ok(Whole::Rest { head, more }) => Some((head, more)),
            };
            // The files before this one go to the collector first: it merges
            // in read order, and would otherwise hold every decoded block of
            // this file (maybe gigabytes) until the bundle's end.
            self.finish(std::mem::replace(&mut pending, new()));
            if !ends.is_empty() {
                let _ = self.res_tx.send(Msg::FileEnds(std::mem::take(&mut ends)));
            }
            let mut seq = 0u64;
            let r = source.split(head, &limits, &mut |work, n| {
                if self.cancel.load(Ordering::Relaxed) {
                    return Err(ReadError::Cancelled);
                }
                bytes += n;
                seq += 1;
                let id = (fi, seq - 1);
                if work.unit().len() >= block / 2 {
                    // A block of a large file: let any worker decode it.
                    match self.work_tx.try_send(Task::Decode((id.0, id.1, work))) {
                        Ok(()) => {}
                        Err(TrySendError::Full(Task::Decode(job))) => self.decode(job),
                        Err(_) => return Err(ReadError::Cancelled),
                    }
                } else {
                    pending.decoder.push(work.unit(), ctx);
                    pending.ids.push(id);
                    if pending.decoder.bytes() >= full {
                        self.finish(std::mem::replace(&mut pending, new()));
                    }
                }
                Ok(())
            });
            ends.push((fi, seq, r.err()));
        }
        self.finish(pending);
        let _ = self.res_tx.send(Msg::Bytes(bytes));
        if !ends.is_empty() {
            let _ = self.res_tx.send(Msg::FileEnds(ends));
        }
    }
}

/// What a run produced, before the rows are settled into a table.
pub(crate) struct RunResult {
    pub counts: Counts,
    pub failures: Vec<FileFailure>,
    pub notes: Vec<String>,
    pub index: Index,
    /// A file failed (with `keep_going`) after some of its records were
    /// merged: the run must be repeated without the failed files.
    pub rerun: bool,
    /// Where the batches of a [`Store::Parquet`] went, by part − its first
    /// part: (file, row in file per batch row).
    pub placed: Vec<Option<(u32, Vec<u32>)>>,
}

/// Decodes `files` into `store`, merging into `index` (which may already hold
/// the existing dataset). Rejects go to `on_reject` in read order.
///
/// Records are merged as soon as everything before them is: a file that
/// fails part-way (with `keep_going`) has then contributed records, and the
/// result says to run again without it, so such a file never contributes.
pub(crate) fn run(
    files: &[InputFile],
    store: &Store,
    mut index: Index,
    ingested_at: i64,
    opts: &Options,
    on_reject: &mut dyn FnMut(FileReject) -> Result<()>,
) -> Result<RunResult> {
    let threads = threads(opts);
    let hold_rows = if opts.hold_rows == 0 {
        HOLD_ROWS
    } else {
        opts.hold_rows
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
    let mut rerun = false;
    let parquet = match store {
        Store::Parquet(p) => Some(p),
        Store::Memory(_) => None,
    };
    let mut holding = Holding::new(
        parquet.map_or(0, |p| p.first),
        parquet.map_or(1, |p| p.slots.len()),
    );

    // A worker takes about a block of files at a time, by the mean size of
    // a sample of them.
    let mean_size = super::discover::estimate_bytes(files) / files.len().max(1) as u64;
    let block = opts.limits.block_bytes.max(1024) as u64;
    let bundle_files = (block / mean_size.max(1)).clamp(1, MAX_BUNDLE_FILES as u64) as usize;
    let claim = AtomicUsize::new(0);

    std::thread::scope(|s| {
        let (work_tx, work_rx) = sync_channel::<Task>(threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (res_tx, res_rx) = channel::<Msg>();
        // The collector sends write tasks until the end of the run.
        let mut collector_tx = Some(work_tx.clone());

        // Reader: cuts standard input (the workers take named files).
        {
            let res_tx = res_tx.clone();
            let work_tx = work_tx.clone();
            let cancel = &cancel;
            let limits = opts.limits;
            s.spawn(move || {
                for (fi, f) in files.iter().enumerate() {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    if f.path.is_some() {
                        continue;
                    }
                    let mut seq = 0u64;
                    let r = source::split(f, &limits, &mut |work, bytes| {
                        if cancel.load(Ordering::Relaxed) {
                            return Err(ReadError::Cancelled);
                        }
                        let _ = res_tx.send(Msg::Bytes(bytes));
                        work_tx
                            .send(Task::Decode((fi, seq, work)))
                            .map_err(|_| ReadError::Cancelled)?;
                        seq += 1;
                        Ok(())
                    });
                    let _ = res_tx.send(Msg::FileEnds(vec![(fi, seq, r.err())]));
                }
                let _ = res_tx.send(Msg::ReaderDone);
            });
        }

        // Workers.
        let hasher = index.hasher();
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let mut worker = Worker {
                files,
                contexts: &contexts,
                store,
                hasher: hasher.clone(),
                opts,
                ingested_at,
                res_tx: res_tx.clone(),
                work_tx: work_tx.clone(),
                cancel: &cancel,
                buf: Vec::new(),
                dir: OpenDir::default(),
                claim: &claim,
                bundle_files,
            };
            s.spawn(move || {
                loop {
                    // Tasks first (writes, blocks of a large file), then
                    // files to read; wait only when none are left.
                    let next = work_rx.lock().expect("no panics hold this lock").try_recv();
                    let task = match next {
                        Ok(task) => task,
                        Err(TryRecvError::Disconnected) => break,
                        Err(TryRecvError::Empty) => {
                            if let Some(list) = worker.claim() {
                                worker.read(list);
                                continue;
                            }
                            let next = work_rx.lock().expect("no panics hold this lock").recv();
                            let Ok(task) = next else { break };
                            task
                        }
                    };
                    if matches!(task, Task::Stop) {
                        break;
                    }
                    if worker.cancel.load(Ordering::Relaxed) {
                        continue;
                    }
                    match task {
                        Task::Decode(job) => worker.decode(job),
                        Task::Encode(slot) => worker.encode(slot),
                        Task::Stop => unreachable!("handled above"),
                    }
                }
            });
        }
        drop(work_tx);
        drop(res_tx);

        // Collector: this thread.
        let mut pending = Files {
            first: 0,
            accs: VecDeque::new(),
        };
        let mut valid_new = 0u64;
        let mut reader_done = false;
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
                }
                Msg::ReaderDone => reader_done = true,
                Msg::Works(results) => {
                    for (file, seq, result) in results {
                        let acc = pending.get(file);
                        match result {
                            Ok(done) => acc.put(seq, done),
                            Err(msg) => {
                                acc.error.get_or_insert(msg);
                                acc.failed_works += 1;
                            }
                        }
                    }
                }
                Msg::FileEnds(ends) => {
                    for (file, works, error) in ends {
                        let acc = pending.get(file);
                        if let Some(e) = error {
                            acc.error.get_or_insert(e);
                        }
                        acc.expected = Some(works);
                    }
                }
            }
            // Merge in read order: the current file's units as they arrive,
            // then the next file once this one is complete.
            while fatal.is_none() {
                let next_file = pending.first;
                let Some(acc) = pending.accs.front_mut() else {
                    break;
                };
                let name = &files[next_file].name;
                if acc.error.is_none() {
                    while let Some(done) = acc.next() {
                        counts.records += done.records;
                        counts.repaired += done.repaired;
                        counts.rejected += done.rejects.len() as u64;
                        valid_new += done.records - done.rejects.len() as u64;
                        notes.extend(done.notes.into_iter().map(|n| format!("{name}: {n}")));
                        if let Some(st) = &done.stored {
                            if parquet.is_some() {
                                let held = holding.note(st.part, st.batch_rows);
                                held.merged += st.rows.len() as u32;
                                if held.merged == held.rows {
                                    holding.ready.push_back(st.part);
                                }
                            }
                            let (keys, rows) = (&st.keys, st.rows.clone());
                            let first = rows.start as u32;
                            index.merge(keys, rows, st.part, first, true, |m, own, lost| {
                                if m != Merge::Collapsed {
                                    holding.set(own, false);
                                }
                                if let Some(lost) = lost {
                                    holding.set(lost, true);
                                }
                            });
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
                if !acc.complete() {
                    break;
                }
                let acc = pending.accs.pop_front().expect("present");
                pending.first += 1;
                if let Some(p) = &opts.progress {
                    p(Progress::File);
                }
                if let Some(error) = acc.error {
                    if opts.keep_going {
                        rerun |= acc.merged > 0;
                        failures.push(FileFailure {
                            file: name.clone(),
                            message: error.to_string(),
                        });
                        continue;
                    }
                    cancel.store(true, Ordering::Relaxed);
                    fatal = Some(Error::BadFile {
                        file: name.clone(),
                        message: format!("{error} (use --keep-going to ingest the other files)"),
                    });
                    break;
                }
                counts.files += 1;
            }
            // Write the oldest batches once too many rows wait.
            if let (Some(p), Some(tx)) = (parquet, &collector_tx)
                && fatal.is_none()
                && !rerun
            {
                while holding.held_rows > hold_rows {
                    let Some(part) = holding.ready.pop_front() else {
                        break;
                    };
                    if holding.dispatch(part, p, tx).is_err() {
                        break;
                    }
                }
            }
            let finished = reader_done && pending.accs.is_empty() && pending.first >= files.len();
            if (finished || fatal.is_some() || cancel.load(Ordering::Relaxed))
                && let Some(tx) = collector_tx.take()
            {
                if fatal.is_none() && !rerun {
                    for loc in index.finish() {
                        holding.set(loc, true);
                    }
                    if let Some(p) = parquet {
                        let _ = holding.dispatch_all(p, &tx);
                    }
                }
                // Workers hold senders too (to share the blocks of a large
                // file): tell each to stop once the tasks before are taken.
                for _ in 0..threads {
                    let _ = tx.send(Task::Stop);
                }
            }
        }
        if fatal.is_none() && !rerun {
            let new_winners = index.new_winners();
            counts.rows = new_winners;
            counts.duplicates = valid_new - new_winners;
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok(RunResult {
        counts,
        failures,
        notes,
        index,
        rerun,
        placed: holding.placed,
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
