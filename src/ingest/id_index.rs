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
//! an id). An ingest looks its ids up in fingerprint order, so each run is
//! read once, in large chunks, and searched only around those ids; it
//! writes the ids new to the dataset as a run of its own, merged with the
//! newest small runs so the index keeps a handful of runs. Two ids sharing
//! a fingerprint only move one of them to the other's partition: still one
//! row per id.

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

/// Reads a run in fingerprint order, a chunk of entries at a time: entry
/// by entry when merging runs, or by lookups in ascending order when only
/// finding the run's partition of a few ids.
struct RunReader {
    path: PathBuf,
    r: File,
    /// Entries not read yet.
    left: u64,
    /// Entries read at a time.
    chunk: usize,
    buf: Vec<u8>,
    /// Entries in `buf`.
    n: usize,
    /// The next entry of `buf`.
    at: usize,
}

/// Entries read at a time when merging (several runs are read side by side).
const MERGE_CHUNK: usize = 8192;
/// Entries read at a time for lookups (768 KB: a few system calls per
/// hundred thousand ids, and a chunk a binary search keeps in cache).
const LOOKUP_CHUNK: usize = 1 << 16;

impl RunReader {
    fn open(path: &Path, chunk: usize) -> Result<Self> {
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
            chunk,
            buf: Vec::new(),
            n: 0,
            at: 0,
        })
    }

    /// Reads the next chunk; false at the end of the run.
    fn fill(&mut self) -> Result<bool> {
        if self.left == 0 {
            self.n = 0;
            self.at = 0;
            return Ok(false);
        }
        let n = (self.left as usize).min(self.chunk);
        self.buf.resize(n * 12, 0);
        self.r
            .read_exact(&mut self.buf)
            .map_err(|_| damaged(&self.path))?;
        self.left -= n as u64;
        self.n = n;
        self.at = 0;
        Ok(true)
    }

    fn fp(&self, i: usize) -> u64 {
        u64::from_le_bytes(self.buf[i * 12..i * 12 + 8].try_into().expect("8 bytes"))
    }

    fn key(&self, i: usize) -> PartKey {
        PartKey::from_le_bytes(
            self.buf[i * 12 + 8..i * 12 + 12]
                .try_into()
                .expect("4 bytes"),
        )
    }

    fn next(&mut self) -> Result<Option<(u64, PartKey)>> {
        if self.at == self.n && !self.fill()? {
            return Ok(None);
        }
        let e = (self.fp(self.at), self.key(self.at));
        self.at += 1;
        Ok(Some(e))
    }

    /// The partition the run holds for `fp`. Calls come in ascending
    /// fingerprint order: chunks wholly below `fp` are passed over, and
    /// within a chunk a galloping search starts where the last one ended, so
    /// a lookup costs a few comparisons however large the run.
    fn find(&mut self, fp: u64) -> Result<Option<PartKey>> {
        loop {
            if self.at < self.n && self.fp(self.n - 1) >= fp {
                let (mut lo, mut hi, mut step) = (self.at, self.at, 1);
                while self.fp(hi) < fp {
                    lo = hi + 1;
                    hi = (hi + step).min(self.n - 1);
                    step *= 2;
                }
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if self.fp(mid) < fp {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                self.at = lo;
                return Ok((self.fp(lo) == fp).then(|| self.key(lo)));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
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

    /// The next fingerprint with the key of the oldest source holding it.
    fn next_oldest(&mut self, keys: &mut Vec<(PartKey, usize)>) -> Result<Option<(u64, PartKey)>> {
        Ok(self.next(keys)?.map(|fp| {
            let key = keys.iter().min_by_key(|k| k.1).map_or(0, |k| k.0);
            (fp, key)
        }))
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
    /// Entries added (before removing repeats).
    added: u64,
}

impl Seen {
    /// Spills into `dir` past `bytes` of entries.
    pub fn new(dir: PathBuf, bytes: usize) -> Self {
        Seen {
            dir,
            limit: (bytes / 16).max(1024),
            chunk: Vec::new(),
            runs: Vec::new(),
            added: 0,
        }
    }

    /// Adds entries.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = (u64, PartKey)>) -> Result<()> {
        let before = self.chunk.len();
        self.chunk.extend(entries);
        self.added += (self.chunk.len() - before) as u64;
        if self.chunk.len() >= self.limit {
            self.flush()?;
        }
        Ok(())
    }

    /// Entries added, at most the ids they will add to the index.
    pub fn added(&self) -> u64 {
        self.added
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
/// stored index `runs` (oldest first), and writes the run's index entries as
/// the run `out`.
///
/// The older runs, `runs[..keep]`, stay as they are: each of the run's ids
/// is looked up in them in fingerprint order, which reads them once but
/// compares only around the ids looked up. The newer runs, `runs[keep..]`,
/// are merged into `out` with the ids new to the dataset, and `out` replaces
/// them (see [`first_merged`]).
pub fn place(mut seen: Seen, runs: &[PathBuf], keep: usize, out: &Path) -> Result<Placement> {
    let (kept, merged) = runs.split_at(keep);
    let mut lookups = kept
        .iter()
        .map(|r| RunReader::open(r, LOOKUP_CHUNK))
        .collect::<Result<Vec<_>>>()?;
    let mut older = Merger::new(
        merged
            .iter()
            .map(|r| RunReader::open(r, MERGE_CHUNK).map(Source::Run))
            .collect::<Result<Vec<_>>>()?,
    )?;
    let mut sources = Vec::with_capacity(seen.runs.len() + 1);
    for r in &seen.runs {
        sources.push(Source::Run(RunReader::open(r, MERGE_CHUNK)?));
    }
    let mut chunk = std::mem::take(&mut seen.chunk);
    chunk.sort_unstable();
    chunk.dedup();
    sources.push(Source::Memory(chunk.into_iter()));
    let mut new = Merger::new(sources)?;

    let mut w = RunWriter::create(out)?;
    let mut p = Placement::default();
    let mut keys = Vec::new();
    let mut older_keys = Vec::new();
    let mut next_older = older.next_oldest(&mut older_keys)?;
    while let Some(fp) = new.next(&mut keys)? {
        // Entries of the merged runs up to `fp` are copied.
        let mut merged_key = None;
        while let Some((ofp, okey)) = next_older {
            if ofp > fp {
                break;
            }
            if ofp == fp {
                merged_key = Some(okey);
            } else {
                w.push(ofp, okey)?;
            }
            next_older = older.next_oldest(&mut older_keys)?;
        }
        // The oldest run holding the id decides.
        let mut kept_key = None;
        for run in &mut lookups {
            if let Some(k) = run.find(fp)? {
                kept_key = Some(k);
                break;
            }
        }
        let stored_key = kept_key.or(merged_key);
        // The stored partition wins; else the latest day given.
        let latest = keys
            .iter()
            .map(|k| k.0)
            .max()
            .expect("a fingerprint has a key");
        let target = stored_key.unwrap_or(latest);
        if keys.iter().any(|k| k.0 != target) {
            p.moves.insert(fp, target);
            p.affected
                .extend(keys.iter().map(|k| k.0).filter(|&k| k != target));
        }
        if stored_key.is_none() {
            p.new_ids += 1;
        }
        if kept_key.is_none() {
            w.push(fp, target)?;
        }
    }
    while let Some((ofp, okey)) = next_older {
        w.push(ofp, okey)?;
        next_older = older.next_oldest(&mut older_keys)?;
    }
    w.finish()?;
    for r in &seen.runs {
        let _ = std::fs::remove_file(r);
    }
    Ok(p)
}

/// Which index runs an ingest merges with its own ids, given the runs'
/// sizes (oldest first) and the ingest's: the newest run, and each older
/// one while it is no larger than all merged so far. Run sizes then fall by
/// about half from one run to the next, so an id is rewritten about
/// log2(ids / ids per ingest) times over its life, and the oldest, largest
/// run is left alone by ingests much smaller than it.
pub fn first_merged(sizes: &[u64], new: u64) -> usize {
    let mut i = sizes.len();
    let mut merged = new;
    while i > 0 {
        merged += sizes[i - 1];
        i -= 1;
        if i == 0 || sizes[i - 1] > merged {
            break;
        }
    }
    i
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
    place(seen, &[], 0, out).map(|_| ())
}

/// Merges index runs into one (`out`), one entry per fingerprint.
pub fn merge_runs(runs: &[PathBuf], out: &Path) -> Result<()> {
    let sources = runs
        .iter()
        .map(|r| RunReader::open(r, MERGE_CHUNK).map(Source::Run))
        .collect::<Result<Vec<_>>>()?;
    let mut merger = Merger::new(sources)?;
    let mut w = RunWriter::create(out)?;
    let mut keys = Vec::new();
    // The oldest run's partition: where the id was first stored.
    while let Some((fp, key)) = merger.next_oldest(&mut keys)? {
        w.push(fp, key)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    /// Every entry of a run file.
    fn read_run(path: &Path) -> Vec<(u64, PartKey)> {
        let mut r = RunReader::open(path, 7).unwrap();
        let mut out = Vec::new();
        while let Some(e) = r.next().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn merged_runs_are_the_newest_no_larger_than_what_they_join() {
        assert_eq!(first_merged(&[], 10), 0);
        assert_eq!(first_merged(&[100], 10), 0);
        // Eight equal runs and an equal ingest: all of them.
        assert_eq!(first_merged(&[10; 8], 10), 0);
        // A large base run stays; the small ones after it are merged.
        assert_eq!(first_merged(&[1000, 10, 10, 10, 10, 10, 10, 10], 10), 1);
        // Halving sizes: the first run larger than all newer ones stays.
        assert_eq!(first_merged(&[1000, 400, 80, 40, 20, 10, 10, 10], 10), 2);
    }

    #[test]
    fn lookups_find_every_entry_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.bin");
        let entries: Vec<(u64, PartKey)> = (0..1000u64).map(|i| (i * 3, i as PartKey)).collect();
        write_run(&path, &entries).unwrap();
        let mut r = RunReader::open(&path, 16).unwrap();
        for fp in 0..3000u64 {
            let want = (fp % 3 == 0).then_some((fp / 3) as PartKey);
            assert_eq!(r.find(fp).unwrap(), want, "fingerprint {fp}");
        }
        assert_eq!(r.find(5000).unwrap(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever runs are kept or merged, the index after `place` gives
        /// every id the partition the rules give it, and the moves are the
        /// records outside that partition.
        #[test]
        fn placement_follows_the_rules_whatever_runs_are_merged(
            runs in prop::collection::vec(
                prop::collection::vec((0u64..3000, -3i32..3), 0..400), 0..5),
            seen_entries in prop::collection::vec((0u64..3000, -3i32..3), 0..2500),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut paths = Vec::new();
            let mut stored: BTreeMap<u64, PartKey> = BTreeMap::new();
            for (i, run) in runs.iter().enumerate() {
                let mut one: BTreeMap<u64, PartKey> = BTreeMap::new();
                for &(fp, key) in run {
                    one.entry(fp).or_insert(key);
                }
                for (&fp, &key) in &one {
                    stored.entry(fp).or_insert(key);
                }
                let path = dir.path().join(format!("ids-{i}.bin"));
                write_run(&path, &one.into_iter().collect::<Vec<_>>()).unwrap();
                paths.push(path);
            }
            let mut given: BTreeMap<u64, BTreeSet<PartKey>> = BTreeMap::new();
            for &(fp, key) in &seen_entries {
                given.entry(fp).or_default().insert(key);
            }
            for keep in 0..=paths.len() {
                // At least 1,024 entries are held before a spill.
                let mut seen = Seen::new(dir.path().join(format!("seen-{keep}")), 0);
                for part in seen_entries.chunks(300) {
                    seen.extend(part.iter().copied()).unwrap();
                }
                let out = dir.path().join(format!("out-{keep}.bin"));
                let p = place(seen, &paths, keep, &out).unwrap();

                let mut index: BTreeMap<u64, PartKey> = BTreeMap::new();
                for path in paths[..keep].iter().chain([&out]) {
                    let run = read_run(path);
                    prop_assert!(run.windows(2).all(|w| w[0].0 < w[1].0), "a run is sorted");
                    for (fp, key) in run {
                        index.entry(fp).or_insert(key);
                    }
                }
                let mut want_index = stored.clone();
                let (mut moves, mut affected, mut new_ids) = (HashMap::new(), BTreeSet::new(), 0);
                for (&fp, keys) in &given {
                    let target = stored.get(&fp).copied()
                        .unwrap_or(*keys.iter().max().unwrap());
                    if keys.iter().any(|&k| k != target) {
                        moves.insert(fp, target);
                        affected.extend(keys.iter().copied().filter(|&k| k != target));
                    }
                    if !stored.contains_key(&fp) {
                        new_ids += 1;
                        want_index.insert(fp, target);
                    }
                }
                prop_assert_eq!(&index, &want_index, "keep {}", keep);
                prop_assert_eq!(&p.moves, &moves);
                prop_assert_eq!(&p.affected, &affected);
                prop_assert_eq!(p.new_ids, new_ids);
            }
        }
    }
}
