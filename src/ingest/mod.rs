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
pub(crate) mod id_index;
mod id_table;
pub(crate) mod in_flight;
pub(crate) mod pipeline;
pub(crate) mod source;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use dataset::Dataset;
pub use dataset::{Manifest, RunLog};
pub use decode::{Location, Reject};
pub use pipeline::{
    Counts, DEFAULT_MEMORY_BUDGET, FileFailure, FileReject, Options, Progress, ProgressFn,
};
pub use source::Limits;

use crate::error::{Error, Result};
use crate::schema::rejects::RejectLine;
use pipeline::merge;
use pipeline::order::RejectSink;
use pipeline::route::{Partitioning, Router};

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
    let files = discover::discover(inputs)?;
    let spill = SpillDir(std::env::temp_dir().join(format!("fleetops-spill-{}", run_id())));
    let router = Router::new(Partitioning::None, opts.spill_at(), spill.0.clone());
    let mut rejects = Vec::new();
    let result = pipeline::run(&files, &router, now_micros(), opts, &mut rejects)?;
    let sink = merge::MemorySink::default();
    let outcome = merge::merge_all(
        router.finish()?,
        &Default::default(),
        &result.failed,
        false,
        opts,
        &sink,
    )?;
    drop(spill);
    let batches = sink
        .parts
        .into_inner()
        .expect("no panics hold this lock")
        .into_values()
        .flatten()
        .collect();
    Ok(MemoryIngest {
        batches,
        rejects,
        report: IngestReport {
            counts: counts_of(&result, &outcome),
            failures: result.failures,
            notes: result.notes,
            rejects_file: None,
        },
    })
}

/// A folder of spill files, removed when the run ends however it ends.
struct SpillDir(PathBuf);

impl Drop for SpillDir {
    fn drop(&mut self) {
        pipeline::route::remove_spill(&self.0);
    }
}

fn counts_of(result: &pipeline::RunResult, outcome: &merge::Outcome) -> Counts {
    debug_assert_eq!(
        result.rows, outcome.new_rows,
        "every decoded row was merged"
    );
    Counts {
        rows: outcome.new_winners,
        duplicates: outcome.new_rows - outcome.new_winners,
        ..result.counts.clone()
    }
}

/// The rejects file of a dataset run, written as rejects come (in read
/// order) and cut back when a file fails part-way.
struct RejectsFile {
    path: PathBuf,
    w: Option<BufWriter<File>>,
    written: u64,
}

impl RejectSink for RejectsFile {
    fn push(&mut self, r: FileReject) -> Result<()> {
        let w = match &mut self.w {
            Some(w) => w,
            None => self.w.insert(BufWriter::new(
                File::create(&self.path).map_err(|e| Error::io(&self.path, e))?,
            )),
        };
        let line = reject_json(&r);
        writeln!(w, "{line}").map_err(|e| Error::io(&self.path, e))?;
        self.written += line.len() as u64 + 1;
        Ok(())
    }

    fn mark(&mut self) -> Result<u64> {
        Ok(self.written)
    }

    fn rollback(&mut self, mark: u64) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        if let Some(w) = &mut self.w {
            w.flush().map_err(|e| Error::io(&self.path, e))?;
            let f = w.get_mut();
            f.set_len(mark).map_err(|e| Error::io(&self.path, e))?;
            f.seek(SeekFrom::Start(mark))
                .map_err(|e| Error::io(&self.path, e))?;
        }
        self.written = mark;
        Ok(())
    }
}

impl RejectsFile {
    /// Makes the file durable; `false` when it holds nothing (and is gone).
    fn finish(self) -> Result<bool> {
        let Some(w) = self.w else {
            return Ok(false);
        };
        let f = w
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        if self.written == 0 {
            drop(f);
            std::fs::remove_file(&self.path).map_err(|e| Error::io(&self.path, e))?;
            return Ok(false);
        }
        f.sync_all().map_err(|e| Error::io(&self.path, e))?;
        Ok(true)
    }
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
/// Only the partitions the new records fall in are read and rewritten.
pub fn ingest_dataset(inputs: &[PathBuf], out: &Path, opts: &Options) -> Result<IngestReport> {
    let trace = Trace::new();
    let files = discover::discover(inputs)?;
    trace.mark("discover");
    let ds = Dataset::new(out);
    ds.check_writable()?;
    let _lock = ds.lock(opts.wait_for_lock)?;
    ds.clean_stale()?;
    let mut manifest = ds.manifest()?;
    let redaction = RunLog::redaction_of(opts.redactor.as_deref());
    check_redaction(&manifest, &redaction, out)?;
    let stored = ds.stored()?;
    let run_id = run_id();
    let staging = ds.stage(&run_id)?;
    let spill = SpillDir(staging.dir.join("_spill"));
    let router = Router::new(Partitioning::ByDay, opts.spill_at(), spill.0.clone());
    // A version 1 dataset is upgraded on the way: its rows go to their
    // partitions as stored rows, read before every new record.
    upgrade_flat(&stored.flat, &router)?;
    let rejects_name = format!("{run_id}.ndjson");
    let mut rejects = RejectsFile {
        path: staging.rejects_dir().join(&rejects_name),
        w: None,
        written: 0,
    };
    let result = pipeline::run(&files, &router, now_micros(), opts, &mut rejects)?;
    let wrote_rejects = rejects.finish()?;
    trace.mark("decode");
    let mut routed = router.finish()?;
    pipeline::release_free_memory();
    tracing::info!(
        spilled_bytes = routed.spilled_bytes,
        held_bytes = routed.held as u64,
        batches = routed.batches,
        batch_bytes = routed.batch_bytes,
        partitions = routed.parts.len() as u64,
        "routed"
    );
    place_ids(&ds, &stored, &staging, &run_id, &mut routed)?;
    trace.mark("place");
    let sink = merge::DatasetSink::new(&staging, &run_id);
    let outcome = merge::merge_all(
        routed,
        &stored.partitions,
        &result.failed,
        false,
        opts,
        &sink,
    )?;
    drop(spill);
    trace.mark("merge");
    sink.sync()?;
    dataset::sync_dir(&staging.operations_dir())?;
    trace.mark("sync");
    let counts = counts_of(&result, &outcome);
    carry_rejects(&ds, &staging)?;
    manifest.version = dataset::FORMAT_VERSION;
    manifest.runs.push(RunLog {
        run_id,
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        files: counts.files,
        records: counts.records,
        rows: counts.rows,
        duplicates: counts.duplicates,
        rejected: counts.rejected,
        repaired: counts.repaired,
        failed_files: result.failures.iter().map(|f| f.file.clone()).collect(),
        rejects_file: wrote_rejects.then(|| format!("{}/{rejects_name}", dataset::REJECTS_DIR)),
        redaction: Some(redaction),
    });
    // The last moment an interrupt can stop the run: after it, the run is in.
    opts.check_interrupt()?;
    staging.commit(&manifest)?;
    trace.mark("commit");
    Ok(IngestReport {
        counts,
        failures: result.failures,
        notes: result.notes,
        rejects_file: wrote_rejects.then(|| ds.root.join(dataset::REJECTS_DIR).join(rejects_name)),
    })
}

/// Puts each id of the run in one partition (see `id_index`), moving the
/// records that arrived elsewhere, and writes the run's index entries
/// beside the stored ones.
fn place_ids(
    ds: &Dataset,
    stored: &dataset::StoredFiles,
    staging: &dataset::Staging,
    run_id: &str,
    routed: &mut pipeline::route::Routed,
) -> Result<()> {
    let index_dir = staging.dir.join(id_index::INDEX_DIR);
    std::fs::create_dir_all(&index_dir).map_err(|e| Error::io(&index_dir, e))?;
    let mut runs = id_index::runs(&ds.root)?;
    let seen = routed.seen.take();
    // Past this many runs, the newest small ones are merged with the run's
    // own ids (see `id_index::first_merged`); the rest are carried.
    let mut keep = if let Some(seen) = &seen
        && runs.len() >= MAX_INDEX_RUNS
    {
        let sizes = runs
            .iter()
            .map(|r| {
                std::fs::metadata(r)
                    .map(|m| m.len())
                    .map_err(|e| Error::io(r, e))
            })
            .collect::<Result<Vec<_>>>()?;
        id_index::first_merged(&sizes, seen.added() * 12)
    } else {
        runs.len()
    };
    for r in &runs[..keep] {
        staging.carry(r, &index_dir.join(r.file_name().expect("runs have names")))?;
    }
    if runs.is_empty() && !stored.partitions.is_empty() {
        // No index (deleted by hand): rebuilt once from the stored ids.
        let path = index_dir.join(format!("ids-{run_id}-0.bin"));
        id_index::rebuild(
            &stored.partitions,
            &staging.dir.join("_spill/rebuild"),
            &path,
        )?;
        runs.push(path);
        keep = 1;
    }
    let Some(seen) = seen else {
        return dataset::sync_dir(&index_dir);
    };
    let out = index_dir.join(format!("ids-{run_id}-1.bin"));
    let placement = id_index::place(seen, &runs, keep, &out)?;
    if placement.new_ids == 0 && keep == runs.len() {
        std::fs::remove_file(&out).map_err(|e| Error::io(&out, e))?;
    }
    routed.relocate(&placement.moves, &placement.affected)?;
    dataset::sync_dir(&index_dir)
}

/// Index runs a dataset keeps before an ingest merges the newest small ones
/// with its own ids (`id_index::first_merged`).
const MAX_INDEX_RUNS: usize = 8;

/// Feeds the files of a version 1 dataset to `router` as stored rows.
fn upgrade_flat(flat: &[PathBuf], router: &Router) -> Result<()> {
    for f in flat {
        dataset::read_part(f, |b| {
            let n = b.num_rows() as u32;
            router.add(b, vec![(0, n)])
        })?;
    }
    Ok(())
}

/// Earlier runs' rejects stay.
fn carry_rejects(ds: &Dataset, staging: &dataset::Staging) -> Result<()> {
    let old = ds.root.join(dataset::REJECTS_DIR);
    if let Ok(rd) = std::fs::read_dir(&old) {
        for e in rd.flatten() {
            staging.carry(&e.path(), &staging.rejects_dir().join(e.file_name()))?;
        }
    }
    Ok(())
}

/// What [`compact`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactReport {
    /// Partitions whose files were folded into one (or whose one file was
    /// rewritten with the in-flight summary of its footer).
    pub partitions: u64,
    /// Parquet files of the table before.
    pub files_before: u64,
    /// Parquet files of the table after.
    pub files_after: u64,
}

/// Folds each partition of the dataset at `dir` into one file (and
/// upgrades a version 1 dataset, and rewrites a file written before footers
/// carried in-flight summaries), atomically and under the dataset's lock;
/// the rows do not change, and compacting again does nothing.
pub fn compact(dir: &Path, opts: &Options) -> Result<CompactReport> {
    let ds = Dataset::new(dir);
    if !Dataset::is_dataset(dir) {
        return Err(Error::Dataset {
            path: dir.to_path_buf(),
            message: "is not a fleetops dataset (no _fleetops.json)".into(),
        });
    }
    let _lock = ds.lock(opts.wait_for_lock)?;
    ds.clean_stale()?;
    let mut manifest = ds.manifest()?;
    let stored = ds.stored()?;
    let files_before =
        (stored.flat.len() + stored.partitions.values().map(Vec::len).sum::<usize>()) as u64;
    // Days of several files, and days whose one file predates the in-flight
    // summaries in footers.
    let mut partitions = 0u64;
    for files in stored.partitions.values() {
        if merge::needs_rewrite(files)? {
            partitions += 1;
        }
    }
    if partitions == 0 && stored.flat.is_empty() && id_index::runs(dir)?.len() <= 1 {
        return Ok(CompactReport {
            partitions: 0,
            files_before,
            files_after: files_before,
        });
    }
    let run_id = run_id();
    let staging = ds.stage(&run_id)?;
    let spill = SpillDir(staging.dir.join("_spill"));
    let router = Router::new(Partitioning::ByDay, opts.spill_at(), spill.0.clone());
    upgrade_flat(&stored.flat, &router)?;
    let mut routed = router.finish()?;
    place_ids(&ds, &stored, &staging, &run_id, &mut routed)?;
    // The index runs become one.
    let index_dir = staging.dir.join(id_index::INDEX_DIR);
    let runs = id_index::runs(&staging.dir)?;
    if runs.len() > 1 {
        id_index::merge_runs(&runs, &index_dir.join(format!("ids-{run_id}-2.bin")))?;
        for r in &runs {
            std::fs::remove_file(r).map_err(|e| Error::io(r, e))?;
        }
        dataset::sync_dir(&index_dir)?;
    }
    let sink = merge::DatasetSink::new(&staging, &run_id);
    merge::merge_all(
        routed,
        &stored.partitions,
        &Default::default(),
        true,
        opts,
        &sink,
    )?;
    drop(spill);
    sink.sync()?;
    dataset::sync_dir(&staging.operations_dir())?;
    carry_rejects(&ds, &staging)?;
    manifest.version = dataset::FORMAT_VERSION;
    staging.commit(&manifest)?;
    let after = ds.stored()?;
    Ok(CompactReport {
        partitions: partitions + u64::from(!stored.flat.is_empty()),
        files_before,
        files_after: (after.flat.len() + after.partitions.values().map(Vec::len).sum::<usize>())
            as u64,
    })
}
