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
use std::io::{BufReader, BufWriter, Read, Write};
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
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let io = |e| Error::io(path, e);
    w.write_all(MAGIC).map_err(io)?;
    w.write_all(&(entries.len() as u64).to_le_bytes())
        .map_err(io)?;
    for (fp, key) in entries {
        w.write_all(&fp.to_le_bytes()).map_err(io)?;
        w.write_all(&key.to_le_bytes()).map_err(io)?;
    }
    let f = w
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    f.sync_all().map_err(io)
}

/// Streams a run's entries, in fingerprint order.
fn read_run(path: &Path, mut each: impl FnMut(u64, PartKey)) -> Result<()> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let bad = || Error::Dataset {
        path: path.to_path_buf(),
        message: "the id index is damaged; delete the _index folder and run `fleetops compact` \
                  to rebuild it"
            .into(),
    };
    let mut head = [0u8; 16];
    r.read_exact(&mut head).map_err(|_| bad())?;
    if &head[..8] != MAGIC {
        return Err(bad());
    }
    let n = u64::from_le_bytes(head[8..].try_into().expect("8 bytes"));
    let mut e = [0u8; 12];
    for _ in 0..n {
        r.read_exact(&mut e).map_err(|_| bad())?;
        each(
            u64::from_le_bytes(e[..8].try_into().expect("8 bytes")),
            PartKey::from_le_bytes(e[8..].try_into().expect("4 bytes")),
        );
    }
    Ok(())
}

/// Where the records of a run go.
#[derive(Debug, Default)]
pub struct Placement {
    /// Fingerprint → partition, for ids with records outside it.
    pub moves: HashMap<u64, PartKey>,
    /// The run's index entries (every id it stores, with its partition),
    /// sorted by fingerprint.
    pub entries: Vec<(u64, PartKey)>,
    /// Partitions holding records that move.
    pub affected: std::collections::BTreeSet<PartKey>,
}

/// Decides each new id's partition from the run's `(fingerprint,
/// partition)` pairs (one per record) and the stored index `runs`.
pub fn place(mut seen: Vec<(u64, PartKey)>, runs: &[PathBuf]) -> Result<Placement> {
    seen.sort_unstable();
    seen.dedup();
    // One entry per id: the latest day it was given (sorted, so the last).
    let mut entries: Vec<(u64, PartKey)> = Vec::with_capacity(seen.len());
    let mut split: Vec<u64> = Vec::new();
    for &(fp, key) in &seen {
        match entries.last_mut() {
            Some(last) if last.0 == fp => {
                if last.1 != key {
                    if split.last() != Some(&fp) {
                        split.push(fp);
                    }
                    last.1 = key;
                }
            }
            _ => entries.push((fp, key)),
        }
    }
    // The stored partition wins.
    let mut moves = HashMap::new();
    for run in runs {
        let mut i = 0usize;
        read_run(run, |fp, stored| {
            while i < entries.len() && entries[i].0 < fp {
                i += 1;
            }
            if let Some(e) = entries.get_mut(i).filter(|e| e.0 == fp)
                && e.1 != stored
            {
                e.1 = stored;
                moves.insert(fp, stored);
            }
        })?;
    }
    for fp in split {
        if let Ok(i) = entries.binary_search_by_key(&fp, |e| e.0) {
            moves.entry(fp).or_insert(entries[i].1);
        }
    }
    let affected = if moves.is_empty() {
        Default::default()
    } else {
        seen.iter()
            .filter(|(fp, key)| moves.get(fp).is_some_and(|t| t != key))
            .map(|e| e.1)
            .collect()
    };
    Ok(Placement {
        moves,
        entries,
        affected,
    })
}

/// The index entries of stored partitions, read from their `id` columns
/// (for a dataset whose index is missing).
pub fn rebuild(
    partitions: &std::collections::BTreeMap<PartKey, Vec<PathBuf>>,
) -> Result<Vec<(u64, PartKey)>> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out = Vec::new();
    for (key, files) in partitions {
        for f in files {
            let file = File::open(f).map_err(|e| Error::io(f, e))?;
            let b = ParquetRecordBatchReaderBuilder::try_new(file)?;
            let mask = ProjectionMask::roots(b.parquet_schema(), [idx::ID]);
            for batch in b.with_projection(mask).build()? {
                let batch = batch?;
                out.extend(
                    batch
                        .column(0)
                        .as_string::<i32>()
                        .iter()
                        .map(|id| (fingerprint(id.unwrap_or_default()), *key)),
                );
            }
        }
    }
    out.sort_unstable();
    out.dedup_by_key(|e| e.0);
    Ok(out)
}

/// Every entry of `runs`, one per fingerprint (the newest run's), sorted.
pub fn read_all(runs: &[PathBuf]) -> Result<Vec<(u64, PartKey)>> {
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        read_run(run, |fp, key| out.push((fp, std::cmp::Reverse(i), key)))?;
    }
    out.sort_unstable();
    out.dedup_by_key(|e| e.0);
    Ok(out.into_iter().map(|(fp, _, key)| (fp, key)).collect())
}
