//! From exported JSON to Arrow batches and a Parquet dataset.
//!
//! [`ingest_dataset`] writes a deduplicated Parquet dataset (and merges into
//! one that exists); [`ingest_memory`] gives the same rows as Arrow batches.
//! Both read every export shape, account for every record ([`Counts`]) and
//! keep every rejected one with its location and reason ([`FileReject`]).
//!
//! Inside, the data flows: `discover` the input files → `source` opens them
//! (gzip, BOM, UTF-16) and cuts them into work → `decode` turns each unit
//! of work into Arrow rows and rejects (its own map: envelopes, the fields
//! tables, the scanner and its serde fallback, normalisation, device-id
//! rules, the Arrow builder) → `dedup` keeps one row per id → `dataset`
//! writes Parquet and commits atomically. `pipeline` runs the steps on
//! every core, writing Parquet while it decodes (`docs/architecture.md`).

// The steps are the crate's own; their items an embedder needs are
// re-exported below.
pub(crate) mod dataset;
pub(crate) mod decode;
pub(crate) mod dedup;
pub(crate) mod discover;
mod id_table;
pub(crate) mod pipeline;
pub(crate) mod source;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow::array::RecordBatch;

use dataset::Dataset;
pub use dataset::{Manifest, RunLog};
pub use decode::{Location, Reject};
pub use pipeline::{Counts, FileFailure, FileReject, Options, Progress, ProgressFn};
pub use source::Limits;

use crate::error::{Error, Result};
use crate::schema::rejects::RejectLine;
use dedup::{Index, Keys, RowLoc};
use pipeline::Store;

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// What was read and what became of it (`ingest --json`).
    pub counts: Counts,
    /// Files that could not be read (only with `keep_going`).
    pub failures: Vec<FileFailure>,
    /// Remarks that are not records (skipped `$batch` responses).
    pub notes: Vec<String>,
    /// Where this run's rejects were written, if any.
    pub rejects_file: Option<PathBuf>,
}

/// The rows of an in-memory ingest.
#[derive(Debug, Clone, Default)]
pub struct MemoryIngest {
    /// The `operations` rows, one per id, in the schema of
    /// [`crate::schema::operations_schema`].
    pub batches: Vec<RecordBatch>,
    /// Every rejected record, with its file, location and reason.
    pub rejects: Vec<FileReject>,
    /// The counts and notes of the run.
    pub report: IngestReport,
}

impl FileReject {
    /// The reject as its line of `_rejects/` and its row of the `rejects`
    /// table (borrowed: nothing is copied).
    pub fn as_line(&self) -> RejectLine<'_> {
        RejectLine {
            file: self.file.as_str().into(),
            line: self.reject.location.line,
            response: self.reject.location.response,
            index: self.reject.location.index,
            reason: self.reject.reason.as_str().into(),
            record: self.reject.record.as_str().into(),
        }
    }
}

impl From<RejectLine<'_>> for FileReject {
    /// A reject read back from `_rejects/`.
    fn from(l: RejectLine<'_>) -> FileReject {
        FileReject {
            file: l.file.into_owned(),
            reject: decode::Reject {
                location: decode::Location {
                    line: l.line,
                    index: l.index,
                    response: l.response,
                },
                reason: l.reason.into_owned(),
                record: l.record.into_owned(),
            },
        }
    }
}

/// Serialises a reject as one NDJSON line (without the newline).
pub fn reject_json(r: &FileReject) -> String {
    r.as_line().to_json()
}

/// Phase timings of a dataset ingest, for profiling: a `tracing` event at
/// DEBUG per phase (target `fleetops::ingest`, fields `phase` and `secs`),
/// which `FLEETOPS_TRACE=1 fleetops ingest` prints.
struct Trace(std::cell::Cell<std::time::Instant>);

impl Trace {
    fn new() -> Self {
        Trace(std::cell::Cell::new(std::time::Instant::now()))
    }

    fn mark(&self, phase: &str) {
        let secs = self.0.get().elapsed().as_secs_f64();
        tracing::debug!(phase, secs, "ingest phase finished");
        self.0.set(std::time::Instant::now());
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn run_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        std::process::id()
    )
}

/// Ingests export files into memory (for `--data` given raw exports).
pub fn ingest_memory(inputs: &[PathBuf], opts: &Options) -> Result<MemoryIngest> {
    let all_files = discover::discover(inputs)?;
    // Copied only when a run must be repeated without a file (20,000 pages
    // take 5 ms to copy).
    let mut files = std::borrow::Cow::Borrowed(all_files.as_slice());
    let mut earlier_failures = Vec::new();
    let (store, rejects, result) = loop {
        let store = Store::Memory(Mutex::new(Vec::new()));
        let mut rejects = Vec::new();
        let result = pipeline::run(
            &files,
            &store,
            Index::default(),
            now_micros(),
            opts,
            &mut |r| {
                rejects.push(r);
                Ok(())
            },
        )?;
        if result.rerun {
            without_failed(files.to_mut(), &result.failures);
            earlier_failures.extend(result.failures);
            continue;
        }
        break (store, rejects, result);
    };
    let Store::Memory(batches) = store else {
        unreachable!("memory store")
    };
    let batches = batches.into_inner().expect("workers have finished");
    let counts: Vec<u32> = batches.iter().map(|b| b.num_rows() as u32).collect();
    let plans = result.index.plan(&counts);
    // Each batch is dropped as soon as its winners are copied out, so the
    // table is never held twice.
    let mut out = Vec::with_capacity(batches.len());
    for (b, plan) in batches.into_iter().zip(&plans) {
        if plan.kept == 0 {
            continue;
        }
        out.push(if plan.unchanged() {
            b
        } else {
            plan.apply(&b, 0)?
        });
    }
    Ok(MemoryIngest {
        batches: out,
        rejects,
        report: IngestReport {
            counts: result.counts,
            failures: all_failures(&all_files, earlier_failures, result.failures),
            notes: result.notes,
            rejects_file: None,
        },
    })
}

/// The failures of every attempt of a run, in read order.
fn all_failures(
    files: &[discover::InputFile],
    mut earlier: Vec<FileFailure>,
    last: Vec<FileFailure>,
) -> Vec<FileFailure> {
    earlier.extend(last);
    if earlier.len() < 2 {
        return earlier;
    }
    let order: std::collections::HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    earlier.sort_by_key(|f| order.get(f.file.as_str()).copied());
    earlier
}

/// Drops the files that failed from a run to be repeated.
fn without_failed(files: &mut Vec<discover::InputFile>, failures: &[FileFailure]) {
    let failed: std::collections::HashSet<&str> =
        failures.iter().map(|f| f.file.as_str()).collect();
    files.retain(|f| !failed.contains(f.name.as_str()));
}

/// A dataset is redacted with one key or not at all: mixing would leave the
/// same person under two names (or one in clear text) with no way to tell.
fn check_redaction(manifest: &dataset::Manifest, redaction: &str, out: &Path) -> Result<()> {
    let Some(before) = manifest
        .runs
        .iter()
        .rev()
        .find_map(|r| r.redaction.as_deref())
    else {
        return Ok(());
    };
    if before == redaction {
        return Ok(());
    }
    let key_id = |r: &str| r.strip_prefix("hmac-sha256:").map(str::to_string);
    Err(Error::RedactionMismatch {
        path: out.to_path_buf(),
        dataset: key_id(before),
        run: key_id(redaction),
    })
}

/// Ingests export files into the dataset at `out`, merging with what is
/// there (README "Dedup and incremental ingest") and committing atomically.
pub fn ingest_dataset(inputs: &[PathBuf], out: &Path, opts: &Options) -> Result<IngestReport> {
    let trace = Trace::new();
    let all_files = discover::discover(inputs)?;
    // Copied only when a run must be repeated without a file (20,000 pages
    // take 5 ms to copy).
    let mut files = std::borrow::Cow::Borrowed(all_files.as_slice());
    trace.mark("discover");
    let ds = Dataset::new(out);
    ds.check_writable()?;
    let _lock = ds.lock(opts.wait_for_lock)?;
    ds.clean_stale()?;
    let mut manifest = ds.manifest()?;
    let redaction = RunLog::redaction_of(opts.redactor.as_deref());
    check_redaction(&manifest, &redaction, out)?;
    // The existing table goes into the index first: new records win ties
    // only with different content.
    let existing = ds.parts()?;
    // Room for the ids already there and about one per 700 input bytes.
    let input_bytes = discover::estimate_bytes(&files);
    let capacity = (input_bytes / 700).min(50_000_000) as usize;
    let threads = pipeline::threads(opts);
    let mut earlier_failures = Vec::new();
    let (run_id, staging, store, row_counts, rejects_name, rejects_path, result) = loop {
        let run_id = run_id();
        let staging = ds.stage(&run_id)?;
        let mut index = Index::with_capacity(capacity);
        let mut row_counts = Vec::with_capacity(existing.len());
        for (i, p) in existing.iter().enumerate() {
            let mut rows = 0u32;
            dataset::read_part(p, |b| {
                let keys = Keys::of(&b, &index.hasher());
                index.merge(&keys, 0..b.num_rows(), i as u32, rows, false, |_, _, _| {});
                rows += b.num_rows() as u32;
                Ok(())
            })?;
            row_counts.push(rows);
        }
        let store = Store::Parquet(pipeline::ParquetStore::new(
            staging.operations_dir(),
            run_id.clone(),
            existing.len() as u32,
            threads,
        ));
        let rejects_name = format!("{run_id}.ndjson");
        let rejects_path = staging.rejects_dir().join(&rejects_name);
        let mut rejects: Option<BufWriter<File>> = None;
        let result = pipeline::run(&files, &store, index, now_micros(), opts, &mut |r| {
            let w = match &mut rejects {
                Some(w) => w,
                None => rejects.insert(BufWriter::new(
                    File::create(&rejects_path).map_err(|e| Error::io(&rejects_path, e))?,
                )),
            };
            writeln!(w, "{}", reject_json(&r)).map_err(|e| Error::io(&rejects_path, e))
        })?;
        if let Some(w) = rejects.take() {
            let f = w
                .into_inner()
                .map_err(|e| Error::io(&rejects_path, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io(&rejects_path, e))?;
        }
        if result.rerun {
            // A file failed part-way: start again without it (the staging
            // folder, with what this attempt wrote, goes with `staging`).
            without_failed(files.to_mut(), &result.failures);
            earlier_failures.extend(result.failures);
            continue;
        }
        break (
            run_id,
            staging,
            store,
            row_counts,
            rejects_name,
            rejects_path,
            result,
        );
    };

    trace.mark("decode");
    // Settle: keep, drop or rewrite each part so only winners remain.
    let Store::Parquet(store) = store else {
        unreachable!("Parquet store")
    };
    let written = store.into_written();
    let first_new = existing.len() as u32;
    let mut row_counts = row_counts;
    let mut sources: Vec<(PathBuf, bool)> = existing.iter().map(|p| (p.clone(), false)).collect();
    for w in &written {
        debug_assert_eq!(w.number as usize, sources.len() - existing.len());
        sources.push((w.path.clone(), true));
        row_counts.push(w.rows);
    }
    let placed = &result.placed;
    // Usually no row lost after it was written and no winner needs a device
    // id from another record: then every part stays as it is, which the
    // index's counts show without a pass over every id.
    let index = &result.index;
    let last_part = index.parts().max(first_new + placed.len() as u32);
    let all_kept = !index.needs_fills()
        && (0..first_new).all(|p| index.winners_in(p) == row_counts[p as usize])
        && (first_new..last_part).all(|p| {
            let kept = placed
                .get((p - first_new) as usize)
                .and_then(Option::as_ref);
            let written = kept.map_or(0, |(_, rows)| {
                rows.iter().filter(|&&r| r != u32::MAX).count() as u32
            });
            index.winners_in(p) == written
        });
    let plan = || {
        index.plan_mapped(&row_counts, |loc| {
            if loc.part < first_new {
                return loc;
            }
            let (file, rows) = placed[(loc.part - first_new) as usize]
                .as_ref()
                .expect("every batch holding a winner was written");
            RowLoc {
                part: first_new + file,
                row: rows[loc.row as usize],
            }
        })
    };
    if cfg!(debug_assertions) && all_kept {
        // The tests check the counts against the full plan.
        assert!(plan().iter().all(dedup::PartPlan::unchanged));
    }
    let plans = (!all_kept).then(plan);
    // Freeing a table of a million ids takes a while: not on the way.
    let index = result.index;
    std::thread::spawn(move || drop(index));
    trace.mark("plan");
    let ops_dir = staging.operations_dir();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let settle = |i: usize| -> Result<()> {
        let (src, is_new) = &sources[i];
        let plan = plans.as_ref().map(|p| &p[i]);
        if plan.is_none_or(|p| p.unchanged()) {
            if !*is_new {
                let name = src.file_name().expect("part files have names");
                staging.carry(src, &ops_dir.join(name))?;
            }
        } else if let Some(plan) = plan.filter(|p| p.kept > 0) {
            // Some rows lost (or need a device id) after they were written.
            let dest = ops_dir.join(format!("part-{run_id}-{i:05}-m.parquet"));
            let mut w = dataset::parquet_writer(&dest)?;
            let mut offset = 0usize;
            dataset::read_part(src, |b| {
                let kept = plan.apply(&b, offset)?;
                offset += b.num_rows();
                if kept.num_rows() > 0 {
                    w.write(&kept)?;
                }
                Ok(())
            })?;
            w.close()?;
        }
        if *is_new && plan.is_some_and(|p| !p.unchanged()) {
            std::fs::remove_file(src).map_err(|e| Error::io(src, e))?;
        }
        Ok(())
    };
    // Parts are independent: settle them on every core.
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(sources.len()).max(1))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= sources.len() {
                            return Ok(());
                        }
                        settle(i)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("settling never panics"))
            .collect::<Result<Vec<()>>>()
    })?;
    trace.mark("rewrite");
    for p in std::fs::read_dir(&ops_dir).map_err(|e| Error::io(&ops_dir, e))? {
        let p = p.map_err(|e| Error::io(&ops_dir, e))?.path();
        File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&p, e))?;
    }

    trace.mark("settle");
    let failures = all_failures(&all_files, earlier_failures, result.failures);
    // Earlier runs' rejects stay.
    let old_rejects = ds.root.join(dataset::REJECTS_DIR);
    if let Ok(rd) = std::fs::read_dir(&old_rejects) {
        for e in rd.flatten() {
            staging.carry(&e.path(), &staging.rejects_dir().join(e.file_name()))?;
        }
    }
    let wrote_rejects = rejects_path.exists();
    manifest.runs.push(RunLog {
        run_id,
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        files: result.counts.files,
        records: result.counts.records,
        rows: result.counts.rows,
        duplicates: result.counts.duplicates,
        rejected: result.counts.rejected,
        repaired: result.counts.repaired,
        failed_files: failures.iter().map(|f| f.file.clone()).collect(),
        rejects_file: wrote_rejects.then(|| format!("{}/{rejects_name}", dataset::REJECTS_DIR)),
        redaction: Some(redaction),
    });
    staging.commit(&manifest)?;
    trace.mark("commit");
    Ok(IngestReport {
        counts: result.counts,
        failures,
        notes: result.notes,
        rejects_file: wrote_rejects.then(|| ds.root.join(dataset::REJECTS_DIR).join(rejects_name)),
    })
}
