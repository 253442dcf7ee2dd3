//! Which partition each stored id lives in, so an ingest keeps one row per
//! id across partitions without reading the stored rows of partitions it
//! does not touch.
//!
//! An operation's partition is the day of its creation time, which Graph
//! never changes; but exports are not always Graph's word (a record with no
//! creation time, or a changed one). The index settles those cases: an id
//! stays in the partition it was first stored in, and an id that arrives in
//! several partitions in one run goes to the latest creation day it was
//! given (a day before "unknown"). Its records are moved there before the
//! merge.
//!
//! `DIR/_index/ids-<run>.bin` holds, for the ids each run stored, a 64-bit
//! fingerprint of the id and its partition, sorted by fingerprint (12 bytes
//! an id). A lookup streams every run's file once, merging it with the
//! run's sorted fingerprints: 12 bytes per stored id read, against about 40
//! per row of Parquet. Two ids sharing a fingerprint only move one of them
//! to the other's partition: still one row per id.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};

use super::pipeline::route::PartKey;
use crate::error::{Error, Result};
use crate::schema::idx;

/// The folder of the index runs in a dataset.
pub const INDEX_DIR: &str = "_index";
const MAGIC: &[u8; 8] = b"FLTIDX01";

/// A stable 64-bit fingerprint of an id (the same in every version and
/// process: it is stored).
pub fn fingerprint(id: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x2545_f491_4f6c_dd1d ^ (id.len() as u64).wrapping_mul(K);
    let mut chunks = id.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ v).wrapping_mul(K).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(31);
    }
    // Final avalanche (splitmix64).
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The fingerprints of a batch's ids.
pub fn fingerprints(batch: &RecordBatch) -> impl Iterator<Item = u64> + '_ {
    batch
        .column(idx::ID)
        .as_string::<i32>()
        .iter()
        .map(|id| fingerprint(id.unwrap_or_default()))
}

/// The index runs of a dataset, oldest first.
pub fn runs(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join(INDEX_DIR);
    let mut out = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            for e in rd {
                let p = e.map_err(|err| Error::io(&dir, err))?.path();
                if p.extension().is_some_and(|x| x == "bin") {
                    out.push(p);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dir, e)),
    }
    out.sort();
    Ok(out)
}

/// Writes `entries` (sorted by fingerprint, one per fingerprint) as a run.
pub fn write_run(path: &Path, entries: &[(u64, PartKey)]) -> Result<()> {
    let mut w = RunWriter::create(path)?;
    for &(fp, key) in entries {
        w.push(fp, key)?;
    }
    w.finish()
}

/// Writes a run entry by entry (in fingerprint order).
struct RunWriter {
    path: PathBuf,
    w: BufWriter<File>,
    n: u64,
}

impl RunWriter {
    fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(MAGIC).map_err(|e| Error::io(path, e))?;
        w.write_all(&0u64.to_le_bytes())
            .map_err(|e| Error::io(path, e))?;
        Ok(RunWriter {
            path: path.to_path_buf(),
            w,
            n: 0,
        })
    }

    fn push(&mut self, fp: u64, key: PartKey) -> Result<()> {
        let mut e = [0u8; 12];
        e[..8].copy_from_slice(&fp.to_le_bytes());
        e[8..].copy_from_slice(&key.to_le_bytes());
        self.w.write_all(&e).map_err(|e| Error::io(&self.path, e))?;
        self.n += 1;
        Ok(())
    }

    /// Writes the count into the header and makes the file durable.
    fn finish(self) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let path = self.path;
        let io = |e| Error::io(&path, e);
        let mut f = self
            .w
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        f.seek(SeekFrom::Start(8)).map_err(io)?;
        f.write_all(&self.n.to_le_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }
}

/// Reads a run in fingerprint order, a few thousand entries at a time.
struct RunReader {
    path: PathBuf,
    r: File,
    left: u64,
    buf: Vec<u8>,
    at: usize,
}

/// Entries read at a time.
const CHUNK: usize = 8192;

impl RunReader {
    fn open(path: &Path) -> Result<Self> {
        let mut r = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = [0u8; 16];
        r.read_exact(&mut head).map_err(|_| damaged(path))?;
        if &head[..8] != MAGIC {
            return Err(damaged(path));
        }
        Ok(RunReader {
            path: path.to_path_buf(),
            r,
            left: u64::from_le_bytes(head[8..].try_into().expect("8 bytes")),
            buf: Vec::new(),
            at: 0,
        })
    }

    fn next(&mut self) -> Result<Option<(u64, PartKey)>> {
        if self.at == self.buf.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = (self.left as usize).min(CHUNK);
            self.buf.resize(n * 12, 0);
            self.r
                .read_exact(&mut self.buf)
                .map_err(|_| damaged(&self.path))?;
            self.left -= n as u64;
            self.at = 0;
        }
        let e = &self.buf[self.at..self.at + 12];
        self.at += 12;
        Ok(Some((
            u64::from_le_bytes(e[..8].try_into().expect("8 bytes")),
            PartKey::from_le_bytes(e[8..].try_into().expect("4 bytes")),
        )))
    }
}

fn damaged(path: &Path) -> Error {
    Error::Dataset {
        path: path.to_path_buf(),
        message: "the id index is damaged; delete the _index folder: the next ingest rebuilds it"
            .into(),
    }
}

/// A source of entries in fingerprint order: a run on disk or a sorted
/// chunk in memory.
enum Source {
    Run(RunReader),
    Memory(std::vec::IntoIter<(u64, PartKey)>),
}

impl Source {
    fn next(&mut self) -> Result<Option<(u64, PartKey)>> {
        match self {
            Source::Run(r) => r.next(),
            Source::Memory(m) => Ok(m.next()),
        }
    }
}

/// Merges sources in fingerprint order, telling for each fingerprint the
/// keys each source gave (`stored` sources first).
struct Merger {
    sources: Vec<Source>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(u64, PartKey, usize)>>,
}

impl Merger {
    fn new(mut sources: Vec<Source>) -> Result<Self> {
        let mut heap = std::collections::BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some((fp, key)) = s.next()? {
                heap.push(std::cmp::Reverse((fp, key, i)));
            }
        }
        Ok(Merger { sources, heap })
    }

    /// The next fingerprint and its `(key, source)` pairs.
    fn next(&mut self, out: &mut Vec<(PartKey, usize)>) -> Result<Option<u64>> {
        out.clear();
        let Some(std::cmp::Reverse((fp, _, _))) = self.heap.peek().copied() else {
            return Ok(None);
        };
        while let Some(&std::cmp::Reverse((f, key, i))) = self.heap.peek() {
            if f != fp {
                break;
            }
            self.heap.pop();
            out.push((key, i));
            if let Some((fp2, key2)) = self.sources[i].next()? {
                self.heap.push(std::cmp::Reverse((fp2, key2, i)));
            }
        }
        Ok(Some(fp))
    }
}

/// The `(fingerprint, partition)` of every record of a run, kept within a
/// bound: past `limit` entries they are sorted and written to a run file.
#[derive(Debug)]
pub struct Seen {
    dir: PathBuf,
    limit: usize,
    chunk: Vec<(u64, PartKey)>,
    runs: Vec<PathBuf>,
}

impl Seen {
    /// Spills into `dir` past `bytes` of entries.
    pub fn new(dir: PathBuf, bytes: usize) -> Self {
        Seen {
            dir,
            limit: (bytes / 16).max(1024),
            chunk: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Adds entries.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = (u64, PartKey)>) -> Result<()> {
        self.chunk.extend(entries);
        if self.chunk.len() >= self.limit {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        self.chunk.sort_unstable();
        self.chunk.dedup();
        let path = self.dir.join(format!("seen-{:05}.bin", self.runs.len()));
        write_run(&path, &self.chunk)?;
        self.chunk = Vec::new();
        self.runs.push(path);
        Ok(())
    }
}

/// Where the records of a run go.
#[derive(Debug, Default)]
pub struct Placement {
    /// Fingerprint → partition, for ids with records outside it.
    pub moves: HashMap<u64, PartKey>,
    /// Partitions holding records that move.
    pub affected: std::collections::BTreeSet<PartKey>,
    /// Ids new to the dataset.
    pub new_ids: u64,
}

/// Decides each id's partition from the run's records (`seen`) and the
/// stored index `runs`, streaming both in fingerprint order, and writes the
/// ids new to the dataset, with their partitions, as the run `out` (every
/// id, stored ones too, when `whole`: `out` then replaces `runs`).
pub fn place(mut seen: Seen, runs: &[PathBuf], out: &Path, whole: bool) -> Result<Placement> {
    let mut sources = Vec::with_capacity(runs.len() + seen.runs.len() + 1);
    for r in runs {
        sources.push(Source::Run(RunReader::open(r)?));
    }
    let stored = sources.len();
    for r in &seen.runs {
        sources.push(Source::Run(RunReader::open(r)?));
    }
    let mut chunk = std::mem::take(&mut seen.chunk);
    chunk.sort_unstable();
    chunk.dedup();
    sources.push(Source::Memory(chunk.into_iter()));
    let mut merger = Merger::new(sources)?;
    let mut w = RunWriter::create(out)?;
    let mut p = Placement::default();
    let mut keys = Vec::new();
    while let Some(fp) = merger.next(&mut keys)? {
        let stored_key = keys.iter().find(|k| k.1 < stored).map(|k| k.0);
        let new = keys.iter().filter(|k| k.1 >= stored).map(|k| k.0);
        // The stored partition wins; else the latest day given.
        let Some(latest) = new.clone().max() else {
            if whole && let Some(k) = stored_key {
                w.push(fp, k)?;
            }
            continue;
        };
        let target = stored_key.unwrap_or(latest);
        if new.clone().any(|k| k != target) {
            p.moves.insert(fp, target);
            p.affected.extend(new.filter(|&k| k != target));
        }
        if stored_key.is_none() {
            p.new_ids += 1;
        }
        if stored_key.is_none() || whole {
            w.push(fp, target)?;
        }
    }
    w.finish()?;
    for r in &seen.runs {
        let _ = std::fs::remove_file(r);
    }
    Ok(p)
}

/// The index entries of stored partitions, read from their `id` columns
/// (for a dataset whose index is missing), written as the run `out`.
pub fn rebuild(
    partitions: &std::collections::BTreeMap<PartKey, Vec<PathBuf>>,
    scratch: &Path,
    out: &Path,
) -> Result<()> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut seen = Seen::new(scratch.to_path_buf(), 64 << 20);
    for (key, files) in partitions {
        for f in files {
            let file = File::open(f).map_err(|e| Error::io(f, e))?;
            let b = ParquetRecordBatchReaderBuilder::try_new(file)?;
            let mask = ProjectionMask::roots(b.parquet_schema(), [idx::ID]);
            for batch in b.with_projection(mask).build()? {
                let batch = batch?;
                seen.extend(
                    batch
                        .column(0)
                        .as_string::<i32>()
                        .iter()
                        .map(|id| (fingerprint(id.unwrap_or_default()), *key)),
                )?;
            }
        }
    }
    place(seen, &[], out, false).map(|_| ())
}

/// Merges index runs into one (`out`), one entry per fingerprint.
pub fn merge_runs(runs: &[PathBuf], out: &Path) -> Result<()> {
    let sources = runs
        .iter()
        .map(|r| RunReader::open(r).map(Source::Run))
        .collect::<Result<Vec<_>>>()?;
    let mut merger = Merger::new(sources)?;
    let mut w = RunWriter::create(out)?;
    let mut keys = Vec::new();
    while let Some(fp) = merger.next(&mut keys)? {
        // The oldest run's partition: where the id was first stored.
        let key = keys.iter().min_by_key(|k| k.1).map_or(0, |k| k.0);
        w.push(fp, key)?;
    }
    w.finish()
}
