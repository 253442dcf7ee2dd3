//! Reading and decoding: one worker per core takes named files a bundle at
//! a time, reads each into its own buffer and decodes it at once (while it
//! is in that core's cache); the blocks of a large file go to whichever
//! worker is free; a reader thread cuts standard input. Decoded rows go to
//! the [`Router`]; what each unit of work amounted to (counts, rejects,
//! errors) goes to the collector, which puts it in read order.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, SyncSender, TrySendError};

use super::Options;
use super::route::{Router, Units, unit_key};
use crate::error::Error;
use crate::ingest::decode::{self, FileContext, Reject, UnitsDecoder, WorkKind};
use crate::ingest::discover::InputFile;
use crate::ingest::source;
use crate::ingest::source::{OpenDir, ReadError, Source, Whole};

/// What one unit of work amounted to, its rows aside (they went to the router).
#[derive(Debug)]
pub struct Done {
    pub rejects: Vec<Reject>,
    pub records: u64,
    pub repaired: u64,
    pub notes: Vec<String>,
}

/// What workers and the reader tell the collector.
pub enum Msg {
    Bytes(u64),
    /// Decoded units: `(file, unit in file, result)`.
    Works(Vec<(usize, u64, Result<Box<Done>, ReadError>)>),
    /// Files read to their end: `(file, units made of it, error)`.
    FileEnds(Vec<(usize, u64, Option<ReadError>)>),
    /// Standard input (if any) has been read.
    ReaderDone,
    Fatal(Error),
}

/// A unit of work handed over whole, with its file and place in it: a block
/// of a large file, or a unit of standard input.
pub type Job = (usize, u64, WorkKind);

/// Files are bundled until a bundle holds this many.
const MAX_BUNDLE_FILES: usize = 1024;

/// What the workers share.
pub struct Shared<'a> {
    pub files: &'a [InputFile],
    pub contexts: &'a [FileContext],
    pub router: &'a Router,
    pub opts: &'a Options,
    pub ingested_at: i64,
    pub cancel: &'a AtomicBool,
    /// The next named file no worker has taken.
    pub claim: AtomicUsize,
    /// Files a worker takes at a time.
    pub bundle_files: usize,
}

impl<'a> Shared<'a> {
    pub fn new(
        files: &'a [InputFile],
        contexts: &'a [FileContext],
        router: &'a Router,
        opts: &'a Options,
        ingested_at: i64,
        cancel: &'a AtomicBool,
    ) -> Self {
        // A worker takes about a block of files at a time, by the mean size
        // of a sample of them.
        let mean = crate::ingest::discover::estimate_bytes(files) / files.len().max(1) as u64;
        let block = opts.limits.block_bytes.max(1024) as u64;
        Shared {
            files,
            contexts,
            router,
            opts,
            ingested_at,
            cancel,
            claim: AtomicUsize::new(0),
            bundle_files: (block / mean.max(1)).clamp(1, MAX_BUNDLE_FILES as u64) as usize,
        }
    }
}

/// A decoding thread.
pub struct Worker<'a> {
    pub shared: &'a Shared<'a>,
    res_tx: Sender<Msg>,
    /// For the blocks of a large file; `None` once no files are left.
    work_tx: Option<SyncSender<Job>>,
    /// Files are read into this (a block long), one after another: it
    /// keeps its length, so nothing is allocated or zeroed per file.
    buf: Vec<u8>,
    dir: OpenDir,
}

/// Units decoded into one batch so far, and which they are.
struct Pending<'c> {
    decoder: UnitsDecoder<'c>,
    ids: Vec<(usize, u64)>,
}

impl<'a> Worker<'a> {
    pub fn new(shared: &'a Shared<'a>, res_tx: Sender<Msg>, work_tx: SyncSender<Job>) -> Self {
        Worker {
            shared,
            res_tx,
            work_tx: Some(work_tx),
            buf: Vec::new(),
            dir: OpenDir::default(),
        }
    }

    /// Still takes files to read.
    pub fn reading(&self) -> bool {
        self.work_tx.is_some()
    }

    /// Takes no more files (and lets go of the sender of blocks).
    pub fn stop_reading(&mut self) {
        self.work_tx = None;
    }

    fn fail(&self, e: Error) {
        let _ = self.res_tx.send(Msg::Fatal(e));
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.shared.cancel.load(Ordering::Relaxed) || self.shared.opts.interrupted()
    }

    /// Decodes a unit handed over whole.
    pub fn decode(&self, (fi, seq, work): Job) {
        if self.cancelled() {
            return;
        }
        let out = decode::decode_units(
            [(&work, &self.shared.contexts[fi])],
            self.shared.ingested_at,
        );
        self.deliver(std::iter::once((fi, seq)), out);
    }

    /// Routes the rows of `out` and sends the collector each unit's result;
    /// `ids` are the units' files and places in them.
    fn deliver(&self, ids: impl Iterator<Item = (usize, u64)>, out: decode::UnitsOutput) {
        let ids: Vec<(usize, u64)> = ids.collect();
        if let Some(batch) = out.batch {
            let batch = match &self.shared.opts.redactor {
                None => batch,
                Some(r) => match r.redact_operations(&batch) {
                    Ok(b) => b,
                    Err(e) => return self.fail(e.into()),
                },
            };
            let units: Units = ids
                .iter()
                .zip(&out.units)
                .filter(|(_, (rows, _))| !rows.is_empty())
                .map(|(&(fi, seq), (rows, _))| (unit_key(fi, seq), rows.len() as u32))
                .collect();
            if let Err(e) = self.shared.router.add(batch, units) {
                return self.fail(e);
            }
        }
        let results = ids
            .into_iter()
            .zip(out.units)
            .map(|((fi, seq), (_, result))| {
                let result = result.map_err(ReadError::NotJson).map(|o| {
                    Box::new(Done {
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
        let out = pending.decoder.finish(self.shared.ingested_at);
        self.deliver(pending.ids.into_iter(), out);
    }

    /// The next files to read, taken from the shared cursor: a worker
    /// takes them itself when it has nothing else to do.
    pub fn claim(&self) -> Option<std::ops::Range<usize>> {
        if self.cancelled() {
            return None;
        }
        let s = self.shared;
        let start = s.claim.fetch_add(s.bundle_files, Ordering::Relaxed);
        (start < s.files.len()).then(|| start..(start + s.bundle_files).min(s.files.len()))
    }

    /// Opens, reads and decodes the named files of `list`: small ones into
    /// one batch per couple of blocks of input; the blocks of a large file
    /// each on their own (any free worker decodes them).
    pub fn read(&mut self, list: std::ops::Range<usize>) {
        let shared = self.shared;
        let limits = shared.opts.limits;
        let block = limits.block_bytes.max(1024);
        let contexts = shared.contexts;
        let new = || Pending {
            decoder: UnitsDecoder::new(block),
            ids: Vec::new(),
        };
        let full = 2 * block;
        let mut pending = new();
        let mut ends = Vec::with_capacity(list.len());
        let mut bytes = 0u64;
        for fi in list {
            if self.cancelled() {
                return;
            }
            if shared.files[fi].path.is_none() {
                continue;
            }
            let ctx = &contexts[fi];
            let mut source = match Source::open(&shared.files[fi], &mut self.dir) {
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
            // A large file's units are never bundled with other files', so
            // a file that fails part-way can be left out by its units alone.
            self.finish(std::mem::replace(&mut pending, new()));
            let mut seq = 0u64;
            let r = source.split(head, &limits, &mut |work, n| {
                if self.cancelled() {
                    return Err(ReadError::Cancelled);
                }
                bytes += n;
                seq += 1;
                let job = (fi, seq - 1, work);
                let tx = self
                    .work_tx
                    .as_ref()
                    .expect("a reading worker has a sender");
                match tx.try_send(job) {
                    Ok(()) => {}
                    Err(TrySendError::Full(job)) => self.decode(job),
                    Err(_) => return Err(ReadError::Cancelled),
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

/// Cuts standard input (named files are the workers').
pub fn read_stdin(
    files: &[InputFile],
    opts: &Options,
    cancel: &AtomicBool,
    res_tx: &Sender<Msg>,
    work_tx: &SyncSender<Job>,
) {
    for (fi, f) in files.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) || opts.interrupted() {
            break;
        }
        if f.path.is_some() {
            continue;
        }
        let mut seq = 0u64;
        let r = source::split(f, &opts.limits, &mut |work, bytes| {
            if cancel.load(Ordering::Relaxed) || opts.interrupted() {
                return Err(ReadError::Cancelled);
            }
            let _ = res_tx.send(Msg::Bytes(bytes));
            work_tx
                .send((fi, seq, work))
                .map_err(|_| ReadError::Cancelled)?;
            seq += 1;
            Ok(())
        });
        let _ = res_tx.send(Msg::FileEnds(vec![(fi, seq, r.err())]));
    }
    let _ = res_tx.send(Msg::ReaderDone);
}
