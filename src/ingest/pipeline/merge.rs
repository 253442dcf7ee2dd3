//! The merge: one partition at a time, on every core, the run's rows (in
//! read order) are folded into the partition's stored rows by the dedup
//! index (README "Dedup and incremental ingest"), and the partition's next
//! files are settled: stored files whose rows all stay are carried over
//! unchanged; the run's winners and the surviving rows of changed files go
//! to one new file. A partition that would pass [`MAX_FILES`] files is
//! compacted into one.
//!
//! Only the partitions the run touched are read: an ingest costs what its
//! new data costs, not what the dataset holds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use arrow::array::RecordBatch;

use super::Options;
use super::route::{self, PartKey, Routed, Stored, unit_file};
use crate::error::{Error, Result};
use crate::ingest::dataset::{self, Staging};
use crate::ingest::dedup::{Index, Keys};
use crate::ingest::in_flight::{self, InFlight};
use crate::schema::operations_schema;

/// Files a partition may hold before an ingest folds them into one.
pub const MAX_FILES: usize = 4;

/// Where merged partitions go.
pub trait Sink: Sync {
    /// Keeps the stored file `file` of partition `key` as it is.
    fn carry(&self, key: PartKey, file: &Path) -> Result<()>;
    /// Writes `batches` (in order) as a new file of partition `key`.
    fn write(&self, key: PartKey, batches: &[RecordBatch]) -> Result<()>;
}

/// What the merges found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    /// Rows of this run (stored rows brought in by an upgrade aside).
    pub new_rows: u64,
    /// Ids whose row now comes from this run.
    pub new_winners: u64,
    /// Partitions read and merged.
    pub merged: u64,
    /// Partitions carried over untouched.
    pub carried: u64,
}

/// A partition to merge: its key, the run's rows, its stored files.
type Job<'a> = (PartKey, Vec<Stored>, &'a [PathBuf]);

/// Merges every partition: those with rows of this run (or all with more
/// than one file when `compact`), carrying the others over as they are.
pub fn merge_all(
    routed: Routed,
    stored: &BTreeMap<PartKey, Vec<PathBuf>>,
    failed: &BTreeSet<usize>,
    compact: bool,
    opts: &Options,
    sink: &dyn Sink,
) -> Result<Outcome> {
    let threads = super::threads(opts);
    let Routed {
        mut parts,
        runs,
        held,
        ..
    } = routed;
    // What the rows still in memory take stays taken until the end.
    let budget = opts.budget().saturating_sub(held);
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut outcome = Outcome::default();
    for (key, files) in stored {
        match parts.remove(key) {
            Some(rows) => jobs.push((*key, rows, files)),
            None if compact && needs_rewrite(files)? => jobs.push((*key, Vec::new(), files)),
            None => {
                outcome.carried += 1;
                for f in files {
                    sink.carry(*key, f)?;
                }
            }
        }
    }
    for (key, rows) in parts {
        jobs.push((key, rows, &[]));
    }
    // Largest first, so the last partitions left are short ones. A merge
    // holds its partition about two and a half times over (its pieces, the
    // rows in read order and the survivors, with their keys), and stored
    // files about four times their size on disk: merges run side by side
    // only while their estimates fit the budget together.
    let estimate = |j: &Job<'_>| -> usize {
        let rows: usize = j.1.iter().map(Stored::bytes).sum();
        let files: u64 =
            j.2.iter()
                .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                .sum();
        rows * 5 / 2 + files as usize * 4
    };
    let mut jobs: Vec<(usize, Job<'_>)> = jobs.into_iter().map(|j| (estimate(&j), j)).collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.0));
    // The jobs left, the bytes the running ones are estimated to hold, and
    // how many run: a job waits while others run and it would not fit
    // beside them (one alone always runs).
    let jobs = Mutex::new((jobs.into_iter(), 0usize, 0usize));
    let room = std::sync::Condvar::new();
    let total = Mutex::new(outcome);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let mut guard = jobs.lock().expect("no panics hold this lock");
                        let Some((est, (key, rows, files))) = guard.0.next() else {
                            return Ok(());
                        };
                        opts.check_interrupt()?;
                        while guard.2 > 0 && guard.1 + est > budget {
                            guard = room.wait(guard).expect("no panics hold this lock");
                        }
                        guard.1 += est;
                        guard.2 += 1;
                        drop(guard);
                        let o = merge_one(key, rows, files, &runs, failed, compact, sink);
                        {
                            let mut g = jobs.lock().expect("no panics hold this lock");
                            g.1 -= est;
                            g.2 -= 1;
                        }
                        room.notify_all();
                        let o = o?;
                        let mut t = total.lock().expect("no panics hold this lock");
                        t.new_rows += o.new_rows;
                        t.new_winners += o.new_winners;
                        t.merged += 1;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("merging never panics"))
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(total.into_inner().expect("no panics hold this lock"))
}

/// Merges one partition.
fn merge_one(
    key: PartKey,
    rows: Vec<Stored>,
    files: &[PathBuf],
    runs: &[PathBuf],
    failed: &BTreeSet<usize>,
    compact: bool,
    sink: &dyn Sink,
) -> Result<Outcome> {
    let pieces = rows
        .into_iter()
        .map(|s| route::load(s, runs))
        .collect::<Result<Vec<_>>>()?;
    let (batch, upgraded) = route::in_read_order(pieces, |unit| {
        unit_file(unit).is_none_or(|f| !failed.contains(&f))
    })?;
    let mut index = Index::default();
    let hasher = index.hasher();
    // The stored files come first, in name order (oldest run first).
    let mut stored = Vec::with_capacity(files.len());
    let mut counts = Vec::with_capacity(files.len() + 1);
    for (i, f) in files.iter().enumerate() {
        let mut batches = Vec::new();
        dataset::read_part(f, |b| {
            batches.push(b);
            Ok(())
        })?;
        let b = arrow::compute::concat_batches(&operations_schema(), &batches)?;
        drop(batches);
        let keys = Keys::of(&b, &hasher);
        index.merge(&keys, 0..b.num_rows(), i as u32, 0, false, |_, _, _| {});
        counts.push(b.num_rows() as u32);
        stored.push(b);
    }
    let mut outcome = Outcome::default();
    let new_part = files.len() as u32;
    if let Some(b) = &batch {
        let keys = Keys::of(b, &hasher);
        let n = b.num_rows();
        // Rows of a dataset being upgraded count as stored, read first.
        index.merge(&keys, 0..upgraded, new_part, 0, false, |_, _, _| {});
        index.merge(
            &keys,
            upgraded..n,
            new_part,
            upgraded as u32,
            true,
            |_, _, _| {},
        );
        counts.push(n as u32);
        outcome.new_rows = (n - upgraded) as u64;
    }
    index.finish();
    outcome.new_winners = index.new_winners();
    let plans = index.plan(&counts);
    drop(index);

    let unchanged: Vec<bool> = plans[..files.len()].iter().map(|p| p.unchanged()).collect();
    let kept_files = unchanged.iter().filter(|&&u| u).count();
    // A compaction reaches here only for a day to rewrite (see `merge_all`):
    // everything goes to one file.
    let fold_all = compact || kept_files + 1 > MAX_FILES;
    let mut out: Vec<RecordBatch> = Vec::new();
    for (i, b) in stored.into_iter().enumerate() {
        let plan = &plans[i];
        if unchanged[i] && !fold_all {
            sink.carry(key, &files[i])?;
        } else if plan.kept > 0 {
            out.push(if plan.unchanged() {
                b
            } else {
                plan.apply(&b, 0)?
            });
        }
    }
    if let Some(b) = batch {
        let plan = &plans[files.len()];
        if plan.kept > 0 {
            out.push(if plan.unchanged() {
                b
            } else {
                plan.apply(&b, 0)?
            });
        }
    }
    if out.iter().any(|b| b.num_rows() > 0) {
        sink.write(key, &out)?;
    }
    Ok(outcome)
}

/// Whether compacting rewrites a partition's stored files: more than one,
/// or one without the in-flight summary reports read from its footer.
pub fn needs_rewrite(files: &[PathBuf]) -> Result<bool> {
    Ok(files.len() > 1 || (files.len() == 1 && !in_flight::all_summarised(files)?))
}

/// Writes partitions into a dataset's staging folder.
pub struct DatasetSink<'a> {
    pub staging: &'a Staging,
    pub run_id: &'a str,
    next: AtomicU32,
    /// The partition folders made, to be synced.
    made: Mutex<BTreeSet<PartKey>>,
    /// The files written, to be synced.
    written: Mutex<Vec<PathBuf>>,
}

impl<'a> DatasetSink<'a> {
    pub fn new(staging: &'a Staging, run_id: &'a str) -> Self {
        DatasetSink {
            staging,
            run_id,
            next: AtomicU32::new(0),
            made: Mutex::new(BTreeSet::new()),
            written: Mutex::new(Vec::new()),
        }
    }

    fn dir(&self, key: PartKey) -> Result<PathBuf> {
        let dir = self
            .staging
            .operations_dir()
            .join(dataset::partition_dir(key));
        let mut made = self.made.lock().expect("no panics hold this lock");
        if made.insert(key) {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        Ok(dir)
    }

    /// Makes every file written and every partition folder made durable.
    /// The syncs run side by side, many at once: the file system commits
    /// them together, where one after another each waits for the disk (90
    /// day files cost about as many journal commits, most of a second here).
    pub fn sync(&self) -> Result<()> {
        let files = std::mem::take(&mut *self.written.lock().expect("no panics hold this lock"));
        let made = self.made.lock().expect("no panics hold this lock");
        let dirs: Vec<PathBuf> = made
            .iter()
            .map(|k| {
                self.staging
                    .operations_dir()
                    .join(dataset::partition_dir(*k))
            })
            .collect();
        sync_all(&files, |f| {
            File::open(f)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(f, e))
        })?;
        sync_all(&dirs, dataset::sync_dir)
    }
}

/// Runs `sync` on every path, up to 16 at once (they wait on the disk, not
/// on a core).
fn sync_all(paths: &[PathBuf], sync: impl Fn(&Path) -> Result<()> + Sync) -> Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..paths.len().min(16))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = paths.get(i) else {
                            return Ok(());
                        };
                        sync(p)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("syncing never panics"))
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    })
}

impl Sink for DatasetSink<'_> {
    fn carry(&self, key: PartKey, file: &Path) -> Result<()> {
        let name = file.file_name().expect("part files have names");
        self.staging.carry(file, &self.dir(key)?.join(name))
    }

    fn write(&self, key: PartKey, batches: &[RecordBatch]) -> Result<()> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir(key)?
            .join(format!("part-{}-{n:05}.parquet", self.run_id));
        let mut w = dataset::parquet_writer(&path)?;
        for b in batches {
            if b.num_rows() > 0 {
                w.write(b)?;
            }
        }
        // What a report needs of the file's unfinished operations, so that
        // it can leave the file unread once it is older than its window.
        w.append_key_value_metadata(InFlight::of(batches).key_value());
        w.finish()?;
        // Made durable by `sync`, all files together.
        self.written
            .lock()
            .expect("no panics hold this lock")
            .push(path);
        Ok(())
    }
}

/// Keeps merged partitions in memory (an in-memory table).
#[derive(Default)]
pub struct MemorySink {
    pub parts: Mutex<BTreeMap<PartKey, Vec<RecordBatch>>>,
}

impl Sink for MemorySink {
    fn carry(&self, _key: PartKey, file: &Path) -> Result<()> {
        Err(Error::Internal(format!(
            "an in-memory table has no stored file to keep ({})",
            file.display()
        )))
    }

    fn write(&self, key: PartKey, batches: &[RecordBatch]) -> Result<()> {
        self.parts
            .lock()
            .expect("no panics hold this lock")
            .entry(key)
            .or_default()
            .extend(batches.iter().filter(|b| b.num_rows() > 0).cloned());
        Ok(())
    }
}
