//! Routing decoded rows to their partition, within a memory budget.
//!
//! Each decoded batch is cut by partition (the UTC day of
//! `created_date_time` in a dataset, README "Dataset layout") into pieces
//! that wait in memory. When the pieces pass the budget, all of them are
//! written to one spill file (Arrow IPC) and memory is free again; the merge
//! step reads a partition's pieces back from wherever they are.
//!
//! Read order is kept without a column per row: every piece knows the units
//! of work its rows came from (`Units`, in order), and units are numbered in
//! read order (file, then place in the file), so sorting a partition's
//! stretches of rows by unit restores the order the records were read in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::TimestampMicrosecondType;
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;

use crate::error::{Error, Result};
use crate::ingest::id_index::Seen;
use crate::schema::{idx, operations_schema};

/// A partition: the day (since 1970-01-01, UTC) of `created_date_time`,
/// [`UNKNOWN`] for rows without one, or [`ALL`] when nothing is partitioned.
pub type PartKey = i32;

/// The partition of rows with no creation time.
pub const UNKNOWN: PartKey = i32::MIN;
/// The one partition of an unpartitioned run (an in-memory table).
pub const ALL: PartKey = 0;

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// A unit of work's place in read order: `(file + 1) << 32 | unit in file`.
/// Key 0 is the stored dataset, read before everything.
pub type UnitKey = u64;

/// The key of unit `seq` of input file `file`.
pub fn unit_key(file: usize, seq: u64) -> UnitKey {
    ((file as u64 + 1) << 32) | seq
}

/// The input file of a unit key (`None`: the stored dataset).
pub fn unit_file(key: UnitKey) -> Option<usize> {
    (key >> 32).checked_sub(1).map(|f| f as usize)
}

/// Consecutive rows and the unit they came from, in order.
pub type Units = Vec<(UnitKey, u32)>;

/// Rows waiting for their partition's merge.
#[derive(Debug)]
pub struct Piece {
    pub batch: RecordBatch,
    pub units: Units,
    /// Its share of the memory of the batch it was cut from (a piece is a
    /// slice: its arrays report their whole buffers).
    pub bytes: usize,
}

/// Where a partition's rows wait.
#[derive(Debug)]
pub enum Stored {
    Memory(Piece),
    /// Batch `batch` of spill file `run`.
    Spilled {
        run: usize,
        batch: usize,
        units: Units,
        /// Its size in memory once read back.
        bytes: usize,
    },
}

impl Stored {
    /// Its size in memory (once read back).
    pub fn bytes(&self) -> usize {
        match self {
            Stored::Memory(p) => p.bytes,
            Stored::Spilled { bytes, .. } => *bytes,
        }
    }
}

/// How rows are assigned to partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// By the day of `created_date_time`.
    ByDay,
    /// Everything in [`ALL`].
    None,
}

#[derive(Default)]
struct Buffers {
    pieces: BTreeMap<PartKey, Vec<Piece>>,
    bytes: usize,
}

/// The rows of a run, by partition, in memory or spilled.
pub struct Router {
    partitioning: Partitioning,
    /// Bytes of waiting pieces past which they are spilled.
    spill_at: usize,
    spill_dir: PathBuf,
    buffers: Mutex<Buffers>,
    spilled: Mutex<Spilled>,
    /// `(id fingerprint, partition)` of every row, when partitioned.
    seen: Mutex<Seen>,
    /// Batches added and their bytes (for `FLEETOPS_TRACE`).
    added: (AtomicU64, AtomicU64),
}

/// Spilled bytes past which spill files are compressed (LZ4, about a third
/// of the bytes). The first few hundred megabytes stay in the page cache and
/// cost less written plain; past them the system writes dirty pages back as
/// they come, and writing plain costs more than compressing.
const COMPRESS_PAST: u64 = 256 << 20;

#[derive(Default)]
struct Spilled {
    runs: Vec<PathBuf>,
    parts: BTreeMap<PartKey, Vec<Stored>>,
    bytes: u64,
}

/// What the run left for the merge: every partition's rows.
pub struct Routed {
    pub parts: BTreeMap<PartKey, Vec<Stored>>,
    pub runs: Vec<PathBuf>,
    /// Bytes written to spill files.
    pub spilled_bytes: u64,
    /// Bytes of rows still in memory: held until the merges are done (a
    /// piece shares its decoded batch with other partitions' pieces).
    pub held: usize,
    /// Decoded batches routed, and their bytes in memory as decoded.
    pub batches: u64,
    pub batch_bytes: u64,
    /// `(id fingerprint, partition)` of every row (partitioned runs only).
    pub seen: Option<Seen>,
}

impl Router {
    /// A router spilling into `spill_dir` (made on first use) past `spill_at` bytes.
    pub fn new(partitioning: Partitioning, spill_at: usize, spill_dir: PathBuf) -> Self {
        Router {
            partitioning,
            spill_at: spill_at.max(1),
            spill_dir: spill_dir.clone(),
            buffers: Mutex::new(Buffers::default()),
            spilled: Mutex::new(Spilled::default()),
            // An eighth of the budget, sorted and spilled past it.
            seen: Mutex::new(Seen::new(spill_dir.join("ids"), spill_at / 4)),
            added: Default::default(),
        }
    }

    /// Cuts `batch` (rows of `units`, in order) by partition and keeps the
    /// pieces, spilling every waiting piece when they pass the budget.
    pub fn add(&self, batch: RecordBatch, units: Units) -> Result<()> {
        self.added.0.fetch_add(1, Ordering::Relaxed);
        self.added
            .1
            .fetch_add(batch.get_array_memory_size() as u64, Ordering::Relaxed);
        let keys = keys_of(&batch, self.partitioning);
        if self.partitioning == Partitioning::ByDay {
            let seen: Vec<(u64, PartKey)> = crate::ingest::id_index::fingerprints(&batch)
                .zip(keys.iter().copied())
                .collect();
            self.seen
                .lock()
                .expect("no panics hold this lock")
                .extend(seen)?;
        }
        let pieces = split(&batch, &units, keys)?;
        let full = {
            let mut b = self.buffers.lock().expect("no panics hold this lock");
            for (key, piece) in pieces {
                b.bytes += piece.bytes;
                b.pieces.entry(key).or_default().push(piece);
            }
            (b.bytes >= self.spill_at).then(|| std::mem::take(&mut *b))
        };
        match full {
            // Written outside the lock: the other workers keep adding.
            Some(buffers) => self.spill(buffers),
            None => Ok(()),
        }
    }

    fn spill(&self, buffers: Buffers) -> Result<()> {
        std::fs::create_dir_all(&self.spill_dir).map_err(|e| Error::io(&self.spill_dir, e))?;
        let (run, compress) = {
            let mut s = self.spilled.lock().expect("no panics hold this lock");
            s.runs.push(PathBuf::new());
            (s.runs.len() - 1, s.bytes >= COMPRESS_PAST)
        };
        let path = self.spill_dir.join(format!("spill-{run:05}.arrow"));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let options = arrow_ipc::writer::IpcWriteOptions::default()
            .try_with_compression(compress.then_some(arrow_ipc::CompressionType::LZ4_FRAME))?;
        let mut w = FileWriter::try_new_with_options(
            BufWriter::with_capacity(1 << 20, file),
            &operations_schema(),
            options,
        )?;
        let mut index = Vec::new();
        for (n, (key, mut pieces)) in buffers.pieces.into_iter().enumerate() {
            // One batch per partition: the pieces in read order, so a
            // partition's stretches stay few.
            pieces.sort_by_key(|p| p.units.first().map_or(0, |u| u.0));
            let batches: Vec<&RecordBatch> = pieces.iter().map(|p| &p.batch).collect();
            let batch = arrow::compute::concat_batches(&operations_schema(), batches)?;
            w.write(&batch)?;
            let units = pieces.into_iter().flat_map(|p| p.units).collect();
            index.push((
                key,
                Stored::Spilled {
                    run,
                    batch: n,
                    units,
                    bytes: batch.get_array_memory_size(),
                },
            ));
        }
        w.finish()?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let mut s = self.spilled.lock().expect("no panics hold this lock");
        s.runs[run] = path;
        s.bytes += bytes;
        for (key, stored) in index {
            s.parts.entry(key).or_default().push(stored);
        }
        Ok(())
    }

    /// Every partition's rows: spilled ones first, then those still in
    /// memory, which stay there (at most the spill threshold: the merges
    /// that follow are given the rest of the budget, see [`Routed::held`]).
    pub fn finish(self) -> Result<Routed> {
        let buffers = std::mem::take(&mut *self.buffers.lock().expect("no panics hold this lock"));
        let spilled = self.spilled.into_inner().expect("no panics hold this lock");
        let mut parts = spilled.parts;
        for (key, pieces) in buffers.pieces {
            parts
                .entry(key)
                .or_default()
                .extend(pieces.into_iter().map(Stored::Memory));
        }
        Ok(Routed {
            parts,
            runs: spilled.runs,
            spilled_bytes: spilled.bytes,
            held: buffers.bytes,
            batches: self.added.0.into_inner(),
            batch_bytes: self.added.1.into_inner(),
            seen: Some(self.seen.into_inner().expect("no panics hold this lock")),
        })
    }
}

/// The partition of each row of `batch`.
fn keys_of(batch: &RecordBatch, partitioning: Partitioning) -> Vec<PartKey> {
    match partitioning {
        Partitioning::None => vec![ALL; batch.num_rows()],
        Partitioning::ByDay => batch
            .column(idx::CREATED)
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|t| t.map_or(UNKNOWN, day_of))
            .collect(),
    }
}

/// The day of a time in microseconds since 1970 (UTC).
pub fn day_of(micros: i64) -> PartKey {
    micros
        .div_euclid(DAY_MICROS)
        .clamp(i32::MIN as i64 + 1, i32::MAX as i64) as PartKey
}

/// Cuts a batch into one piece per partition (`keys`: each row's), each
/// with its rows' units.
fn split(batch: &RecordBatch, units: &Units, keys: Vec<PartKey>) -> Result<Vec<(PartKey, Piece)>> {
    let total = batch.get_array_memory_size();
    let first = keys.first().copied().unwrap_or(ALL);
    if keys.iter().all(|&k| k == first) {
        return Ok(vec![(
            first,
            Piece {
                batch: batch.clone(),
                units: units.clone(),
                bytes: total,
            },
        )]);
    }
    // Row numbers per partition, and per partition its units' row counts.
    let mut rows: BTreeMap<PartKey, (Vec<u32>, Units)> = BTreeMap::new();
    let mut row = 0usize;
    for &(unit, n) in units {
        for (r, &key) in keys.iter().enumerate().skip(row).take(n as usize) {
            let (idx, us) = rows.entry(key).or_default();
            idx.push(r as u32);
            match us.last_mut() {
                Some(last) if last.0 == unit => last.1 += 1,
                _ => us.push((unit, 1)),
            }
        }
        row += n as usize;
    }
    // One copy of the batch with its rows grouped by partition (a few
    // large allocations, not one per partition and column), cut into slices.
    let order: UInt32Array = rows
        .values()
        .flat_map(|(idx, _)| idx.iter().copied())
        .collect();
    let grouped = arrow::compute::take_record_batch(batch, &order)?;
    let n = grouped.num_rows().max(1);
    let bytes = grouped.get_array_memory_size();
    let mut offset = 0;
    Ok(rows
        .into_iter()
        .map(|(key, (idx, units))| {
            let len = idx.len();
            let piece = Piece {
                batch: grouped.slice(offset, len),
                units,
                bytes: bytes * len / n,
            };
            offset += len;
            (key, piece)
        })
        .collect())
}

impl Routed {
    /// Moves the rows whose id `moves` sends elsewhere (README "Dataset
    /// layout"), reading only the `affected` partitions.
    pub fn relocate(
        &mut self,
        moves: &std::collections::HashMap<u64, PartKey>,
        affected: &std::collections::BTreeSet<PartKey>,
    ) -> Result<()> {
        for &key in affected {
            let Some(stored) = self.parts.remove(&key) else {
                continue;
            };
            let mut stay = Vec::new();
            for s in stored {
                let piece = load(s, &self.runs)?;
                let targets: Vec<PartKey> = crate::ingest::id_index::fingerprints(&piece.batch)
                    .map(|fp| moves.get(&fp).copied().unwrap_or(key))
                    .collect();
                for (t, p) in split(&piece.batch, &piece.units, targets)? {
                    if t == key {
                        stay.push(Stored::Memory(p));
                    } else {
                        self.parts.entry(t).or_default().push(Stored::Memory(p));
                    }
                }
            }
            self.parts.entry(key).or_default().extend(stay);
        }
        Ok(())
    }
}

/// Reads back a stored piece.
pub fn load(stored: Stored, runs: &[PathBuf]) -> Result<Piece> {
    match stored {
        Stored::Memory(p) => Ok(p),
        Stored::Spilled {
            run, batch, units, ..
        } => {
            let path = &runs[run];
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let mut r = FileReader::try_new(std::io::BufReader::new(file), None)?;
            r.set_index(batch)?;
            let batch = r.next().transpose()?.ok_or_else(|| {
                Error::Internal(format!("spill file {} lost a batch", path.display()))
            })?;
            let bytes = batch.get_array_memory_size();
            Ok(Piece {
                batch,
                units,
                bytes,
            })
        }
    }
}

/// The rows of `pieces` in read order, without those of failed files and
/// those `keep` refuses, as one batch; and the rows of the stored dataset
/// (unit key 0) among them, which come first.
pub fn in_read_order(
    pieces: Vec<Piece>,
    keep: impl Fn(UnitKey) -> bool,
) -> Result<(Option<RecordBatch>, usize)> {
    // Stretches: (unit, piece, first row, rows).
    let mut stretches = Vec::new();
    for (p, piece) in pieces.iter().enumerate() {
        let mut row = 0u32;
        for &(unit, n) in &piece.units {
            if keep(unit) {
                stretches.push((unit, p, row, n));
            }
            row += n;
        }
    }
    stretches.sort_by_key(|s| s.0);
    let stored = stretches
        .iter()
        .filter(|s| s.0 == 0)
        .map(|s| s.3 as usize)
        .sum();
    let total: usize = stretches.iter().map(|s| s.3 as usize).sum();
    if total == 0 {
        return Ok((None, 0));
    }
    // Stretches in read order, each a slice of its piece (neighbours in
    // one piece joined): one copy of the rows whatever order the pieces
    // came in.
    let mut runs: Vec<(usize, u32, u32)> = Vec::with_capacity(stretches.len());
    for (_, p, first, n) in stretches {
        match runs.last_mut() {
            Some(last) if last.0 == p && last.1 + last.2 == first => last.2 += n,
            _ => runs.push((p, first, n)),
        }
    }
    let slices: Vec<RecordBatch> = runs
        .into_iter()
        .map(|(p, first, n)| pieces[p].batch.slice(first as usize, n as usize))
        .collect();
    let batch = match <[RecordBatch; 1]>::try_from(slices) {
        Ok([one]) => one,
        Err(slices) => arrow::compute::concat_batches(&operations_schema(), &slices)?,
    };
    Ok((Some(batch), stored))
}

/// Removes the spill files (best effort: they live in the staging folder or
/// a temporary one, which goes too).
pub fn remove_spill(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
