//! The collector: puts what each unit of work amounted to back in read
//! order, so rejects are written in the order they were read and a file's
//! counts count only once the whole file was read. A file that fails
//! part-way (with `keep_going`) takes back its rejects and contributes
//! nothing; its rows are left out at the merge by their units.

use std::collections::{BTreeSet, VecDeque};

use super::read::{Done, Msg};
use super::{Counts, FileFailure, FileReject, Options, Progress};
use crate::error::{Error, Result};
use crate::ingest::discover::InputFile;
use crate::ingest::source::ReadError;

/// Where rejects go, in read order; a failed file's are taken back.
pub trait RejectSink {
    /// Adds one reject.
    fn push(&mut self, r: FileReject) -> Result<()>;
    /// A point to go back to.
    fn mark(&mut self) -> Result<u64>;
    /// Drops every reject pushed since `mark`.
    fn rollback(&mut self, mark: u64) -> Result<()>;
}

impl RejectSink for Vec<FileReject> {
    fn push(&mut self, r: FileReject) -> Result<()> {
        Vec::push(self, r);
        Ok(())
    }

    fn mark(&mut self) -> Result<u64> {
        Ok(self.len() as u64)
    }

    fn rollback(&mut self, mark: u64) -> Result<()> {
        self.truncate(mark as usize);
        Ok(())
    }
}

#[derive(Default)]
struct FileAcc {
    /// Units decoded and not taken yet, by place after the taken ones.
    done: VecDeque<Option<Box<Done>>>,
    held: u64,
    taken: u64,
    failed_units: u64,
    /// Units made of the file, once its end was reported.
    expected: Option<u64>,
    error: Option<ReadError>,
    /// Where the rejects sink was when the file's first reject came.
    mark: Option<u64>,
    counts: Counts,
    notes: Vec<String>,
}

impl FileAcc {
    fn complete(&self) -> bool {
        self.expected
            .is_some_and(|n| self.taken + self.held + self.failed_units >= n)
    }

    fn put(&mut self, seq: u64, done: Box<Done>) {
        let i = (seq - self.taken) as usize;
        if self.done.len() <= i {
            self.done.resize_with(i + 1, || None);
        }
        self.done[i] = Some(done);
        self.held += 1;
    }

    fn next(&mut self) -> Option<Box<Done>> {
        let done = self.done.front_mut()?.take()?;
        self.done.pop_front();
        self.held -= 1;
        self.taken += 1;
        Some(done)
    }
}

/// The collector's state.
pub struct Collector<'a> {
    files: &'a [InputFile],
    opts: &'a Options,
    /// The first file not complete yet, and the accumulators from it on.
    first: usize,
    accs: VecDeque<FileAcc>,
    pub counts: Counts,
    /// Rows decoded from the files that were read completely.
    pub rows: u64,
    pub failures: Vec<FileFailure>,
    /// Input files that failed: their rows are left out.
    pub failed: BTreeSet<usize>,
    pub notes: Vec<String>,
    pub fatal: Option<Error>,
    pub reader_done: bool,
}

impl<'a> Collector<'a> {
    pub fn new(files: &'a [InputFile], opts: &'a Options) -> Self {
        Collector {
            files,
            opts,
            first: 0,
            accs: VecDeque::new(),
            counts: Counts::default(),
            rows: 0,
            failures: Vec::new(),
            failed: BTreeSet::new(),
            notes: Vec::new(),
            fatal: None,
            // Without standard input among the files no reader reports.
            reader_done: files.iter().all(|f| f.path.is_some()),
        }
    }

    fn acc(&mut self, file: usize) -> &mut FileAcc {
        let i = file - self.first;
        if self.accs.len() <= i {
            self.accs.resize_with(i + 1, FileAcc::default);
        }
        &mut self.accs[i]
    }

    /// Every file has been completed (or the run stopped).
    pub fn finished(&self) -> bool {
        self.fatal.is_some() || (self.reader_done && self.first >= self.files.len())
    }

    /// Takes one message; rejects go to `sink` in read order.
    pub fn take(&mut self, msg: Msg, sink: &mut dyn RejectSink) {
        match msg {
            Msg::Bytes(n) => {
                if let Some(p) = &self.opts.progress {
                    p(Progress::Bytes(n));
                }
                return;
            }
            Msg::Fatal(e) => {
                self.fatal.get_or_insert(e);
            }
            Msg::ReaderDone => self.reader_done = true,
            Msg::Works(results) => {
                for (file, seq, result) in results {
                    let acc = self.acc(file);
                    match result {
                        Ok(done) => acc.put(seq, done),
                        Err(e) => {
                            acc.error.get_or_insert(e);
                            acc.failed_units += 1;
                        }
                    }
                }
            }
            Msg::FileEnds(ends) => {
                for (file, units, error) in ends {
                    let acc = self.acc(file);
                    if let Some(e) = error {
                        acc.error.get_or_insert(e);
                    }
                    acc.expected = Some(units);
                }
            }
        }
        if let Err(e) = self.advance(sink) {
            self.fatal.get_or_insert(e);
        }
    }

    /// Takes the units that are next in read order, and completes files.
    fn advance(&mut self, sink: &mut dyn RejectSink) -> Result<()> {
        while self.fatal.is_none() {
            let file = self.first;
            let Some(acc) = self.accs.front_mut() else {
                break;
            };
            let name = &self.files[file].name;
            if acc.error.is_none() {
                while let Some(done) = acc.next() {
                    acc.counts.records += done.records;
                    acc.counts.repaired += done.repaired;
                    acc.counts.rejected += done.rejects.len() as u64;
                    acc.notes
                        .extend(done.notes.into_iter().map(|n| format!("{name}: {n}")));
                    for mut reject in done.rejects {
                        if acc.mark.is_none() {
                            acc.mark = Some(sink.mark()?);
                        }
                        if let Some(r) = &self.opts.redactor {
                            reject.record = r.redact_record_text(&reject.record);
                        }
                        sink.push(FileReject {
                            file: name.clone(),
                            reject,
                        })?;
                    }
                }
            }
            if !acc.complete() {
                break;
            }
            let acc = self.accs.pop_front().expect("present");
            self.first += 1;
            if let Some(p) = &self.opts.progress {
                p(Progress::File);
            }
            if let Some(error) = acc.error {
                if let Some(mark) = acc.mark {
                    sink.rollback(mark)?;
                }
                self.failed.insert(file);
                if self.opts.keep_going {
                    self.failures.push(FileFailure {
                        file: name.clone(),
                        message: error.to_string(),
                    });
                    continue;
                }
                self.fatal = Some(Error::BadFile {
                    file: name.clone(),
                    message: format!("{error} (use --keep-going to ingest the other files)"),
                });
                break;
            }
            let c = &acc.counts;
            self.counts.files += 1;
            self.counts.records += c.records;
            self.counts.repaired += c.repaired;
            self.counts.rejected += c.rejected;
            self.rows += c.records - c.rejected;
            self.notes.extend(acc.notes);
        }
        Ok(())
    }
}
