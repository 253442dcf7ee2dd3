//! One row per operation id (README "Dedup and incremental ingest").
//!
//! The index remembers, for each id, where its winning row is stored (part
//! file or batch, row), so rows are written once while decoding and only the
//! parts that hold losers are rewritten afterwards.

use std::collections::HashMap;
use std::hash::BuildHasher;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMicrosecondType;

use super::id_table::{IdTable, Probe};
use crate::schema::idx;

/// Where a row is stored: part (file or in-memory batch) and row within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLoc {
    pub part: u32,
    pub row: u32,
}

const NO_DEVICE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// `last_action_date_time` of the winner; `i64::MIN` when NULL.
    last: i64,
    /// Hash of the winner's content, device id excluded.
    hash: u64,
    loc: RowLoc,
    /// The winner came from this run (not from the existing dataset).
    new: bool,
    /// The winner's own row has a device id.
    winner_has_device: bool,
    /// The device id the row ends up with (its own, or one kept from an
    /// earlier record: a known device id is never replaced by NULL).
    device: u32,
}

/// The key columns of a batch, cut out so the rest of the batch can be freed.
#[derive(Debug, Clone)]
pub struct Keys {
    /// 128-bit hashes of the ids (see [`IdHasher`]).
    pub ids: Vec<u128>,
    pub last: Vec<i64>,
    pub devices: StringArray,
    /// 128-bit hashes of the device ids (0 where NULL).
    pub device_hashes: Vec<u128>,
    pub hashes: Vec<u64>,
}

/// Hashes ids to 128 bits with seeds drawn per process, so the index holds
/// no strings (and no allocation per row); two different ids collide with
/// odds of about n²/2¹²⁹, and the seeds are unknown to whoever wrote the input.
#[derive(Debug, Clone)]
pub struct IdHasher(foldhash::quality::FixedState, foldhash::quality::FixedState);

impl Default for IdHasher {
    fn default() -> Self {
        let s = std::collections::hash_map::RandomState::new();
        IdHasher(
            foldhash::quality::FixedState::with_seed(s.hash_one(1u8)),
            foldhash::quality::FixedState::with_seed(s.hash_one(2u8)),
        )
    }
}

impl IdHasher {
    pub fn hash(&self, id: &str) -> u128 {
        (u128::from(self.0.hash_one(id)) << 64) | u128::from(self.1.hash_one(id))
    }
}

/// Hashes the columns that describe an operation (not its lineage, not its
/// device id, which dedup compares on its own), with an explicit mark for
/// NULL so that `(NULL, "x")` and `("x", NULL)` differ.
pub fn content_hashes(batch: &RecordBatch) -> Vec<u64> {
    use std::hash::BuildHasher as _;
    let state = foldhash::fast::FixedState::with_seed(0x0f1e_e70b5);
    let mut hashes = vec![0u64; batch.num_rows()];
    // Each value is hashed once; values are folded in with a multiply and a
    // rotation (salted per column), which is all equality testing needs.
    let mix = |h: &mut u64, v: u64, salt: u64| {
        *h = (*h ^ v ^ salt)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    };
    let mut leaf = |array: &dyn Array, salt: u64| {
        let salt = salt.wrapping_mul(0xff51_afd7_ed55_8ccd);
        if let Some(s) = array.as_string_opt::<i32>() {
            for (h, v) in hashes.iter_mut().zip(s.iter()) {
                mix(h, v.map_or(u64::MAX, |v| state.hash_one(v)), salt);
            }
        } else if let Some(t) = array.as_primitive_opt::<TimestampMicrosecondType>() {
            for (h, v) in hashes.iter_mut().zip(t.iter()) {
                mix(h, v.map_or(u64::MAX, |v| state.hash_one(v)), salt);
            }
        }
    };
    fn walk(array: &dyn Array, salt: &mut u64, f: &mut dyn FnMut(&dyn Array, u64)) {
        if let Some(s) = array.as_struct_opt() {
            for c in s.columns() {
                walk(c.as_ref(), salt, f);
            }
        } else {
            *salt += 1;
            f(array, *salt);
        }
    }
    let mut salt = 0;
    for (i, c) in batch.columns()[..idx::CONTENT_COLUMNS].iter().enumerate() {
        if i == idx::DEVICE_ID {
            continue;
        }
        walk(c.as_ref(), &mut salt, &mut leaf);
    }
    hashes
}

impl Keys {
    pub fn of(batch: &RecordBatch, hasher: &IdHasher) -> Keys {
        let last = batch
            .column(idx::LAST_ACTION)
            .as_primitive::<TimestampMicrosecondType>();
        let devices = batch.column(idx::DEVICE_ID).as_string::<i32>().clone();
        Keys {
            ids: batch
                .column(idx::ID)
                .as_string::<i32>()
                .iter()
                .map(|id| hasher.hash(id.unwrap_or_default()))
                .collect(),
            last: last.iter().map(|v| v.unwrap_or(i64::MIN)).collect(),
            device_hashes: devices
                .iter()
                .map(|d| d.map_or(0, |d| hasher.hash(d)))
                .collect(),
            devices,
            hashes: content_hashes(batch),
        }
    }
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The dedup index over every row read so far.
#[derive(Debug, Default)]
pub struct Index {
    hasher: IdHasher,
    entries: IdTable<Entry>,
    devices: Vec<Box<str>>,
    device_ids: Map<u128, u32>,
    /// Rows of the existing dataset that a record of this run replaced, as
    /// they were: [`Index::finish`] keeps them when the final winner is the
    /// same operation, so re-reading files already ingested changes nothing.
    displaced: Map<u128, Entry>,
    /// Winners stored in each part, by part number: a part whose rows are
    /// all winners needs no plan (see [`Index::winners_in`]).
    winners: Vec<u32>,
    /// Winners whose device id must be filled in from another record.
    fills: u64,
    /// Ids to size the table for at the first merge.
    reserve: usize,
}

/// What merging one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// A new id.
    Inserted,
    /// Replaced an earlier winner.
    Replaced,
    /// Lost to the existing winner (older, or the same content).
    Collapsed,
}

impl Entry {
    fn needs_fill(&self) -> bool {
        !self.winner_has_device && self.device != NO_DEVICE
    }
}

fn count_win(winners: &mut Vec<u32>, loc: RowLoc) {
    let p = loc.part as usize;
    if winners.len() <= p {
        winners.resize(p + 1, 0);
    }
    winners[p] += 1;
}

fn count_loss(winners: &mut [u32], loc: RowLoc) {
    winners[loc.part as usize] -= 1;
}

impl Index {
    fn intern(&mut self, hash: u128, device: &str) -> u32 {
        if let Some(&i) = self.device_ids.get(&hash) {
            return i;
        }
        let i = self.devices.len() as u32;
        self.devices.push(device.into());
        self.device_ids.insert(hash, i);
        i
    }

    /// The id hasher every [`Keys`] merged into this index must use.
    pub fn hasher(&self) -> IdHasher {
        self.hasher.clone()
    }

    /// Merges rows `rows` of `keys` (a batch's keys, shared by the files
    /// in it), stored at `part` from row `first_row` on, in row order. `new`
    /// is false for rows of the existing dataset. `on` hears what each
    /// record did, with its row and, when it replaced a winner, that
    /// winner's row.
    pub fn merge(
        &mut self,
        keys: &Keys,
        rows: std::ops::Range<usize>,
        part: u32,
        first_row: u32,
        new: bool,
        mut on: impl FnMut(Merge, RowLoc, Option<RowLoc>),
    ) {
        if self.reserve > 0 && self.entries.len() == 0 {
            self.entries = IdTable::with_capacity(self.reserve);
        }
        self.reserve = 0;
        // Records this far ahead have their slot prefetched, so the cache
        // misses of several probes overlap instead of following each other.
        const AHEAD: usize = 8;
        let ids = &keys.ids[..rows.end];
        for &id in ids[rows.start..].iter().take(AHEAD) {
            self.entries.prefetch(id);
        }
        let mut last_device = (0u128, NO_DEVICE);
        for i in rows.clone() {
            if let Some(&ahead) = ids.get(i + AHEAD) {
                self.entries.prefetch(ahead);
            }
            let id = keys.ids[i];
            let last = keys.last[i];
            let hash = keys.hashes[i];
            let device = if keys.devices.is_null(i) {
                NO_DEVICE
            } else if last_device.1 != NO_DEVICE && last_device.0 == keys.device_hashes[i] {
                // Neighbouring records are mostly of one device (a page is).
                last_device.1
            } else {
                let d = self.intern(keys.device_hashes[i], keys.devices.value(i));
                last_device = (keys.device_hashes[i], d);
                d
            };
            let loc = RowLoc {
                part,
                row: first_row + (i - rows.start) as u32,
            };
            match self.entries.probe(id) {
                Probe::Vacant(slot) => {
                    self.entries.insert_at(
                        slot,
                        id,
                        Entry {
                            last,
                            hash,
                            loc,
                            new,
                            winner_has_device: device != NO_DEVICE,
                            device,
                        },
                    );
                    count_win(&mut self.winners, loc);
                    on(Merge::Inserted, loc, None);
                }
                Probe::Found(pos) => {
                    let e = self.entries.value_mut(pos);
                    let filled_before = e.needs_fill();
                    // Records fold in read order: the latest wins; at the same
                    // time, different content (or a different known device)
                    // wins as the one read last; the same content collapses.
                    let wins = last > e.last
                        || (last == e.last
                            && (hash != e.hash || (device != NO_DEVICE && device != e.device)));
                    if wins {
                        if !e.new {
                            self.displaced.entry(id).or_insert(*e);
                        }
                        let lost = e.loc;
                        e.last = last;
                        e.hash = hash;
                        e.loc = loc;
                        e.new = new;
                        e.winner_has_device = device != NO_DEVICE;
                        if device != NO_DEVICE {
                            e.device = device;
                        }
                        let filled_after = e.needs_fill();
                        self.fills =
                            self.fills + u64::from(filled_after) - u64::from(filled_before);
                        count_loss(&mut self.winners, lost);
                        count_win(&mut self.winners, loc);
                        on(Merge::Replaced, loc, Some(lost));
                    } else {
                        if e.device == NO_DEVICE {
                            e.device = device;
                        }
                        let filled_after = e.needs_fill();
                        self.fills =
                            self.fills + u64::from(filled_after) - u64::from(filled_before);
                        on(Merge::Collapsed, loc, None);
                    }
                }
            }
        }
    }

    /// Ends a run: where the record that finally won equals the stored row
    /// it replaced (same time, content and device id), the stored row stays.
    ///
    /// Folding in read order can pass through other tied records first
    /// (`A, B` stored as `B`; re-reading gives `B, A, B`), so this cannot be
    /// decided record by record.
    ///
    /// Returns the rows of this run that lost that way.
    pub fn finish(&mut self) -> Vec<RowLoc> {
        let mut lost = Vec::new();
        for (id, old) in self.displaced.drain() {
            let Some(e) = self.entries.get_mut(id) else {
                continue;
            };
            if e.new && e.last == old.last && e.hash == old.hash && e.device == old.device {
                let (was, now) = (e.loc, old.loc);
                self.fills = self.fills + u64::from(old.needs_fill()) - u64::from(e.needs_fill());
                lost.push(was);
                *e = old;
                count_loss(&mut self.winners, was);
                count_win(&mut self.winners, now);
            }
        }
        lost
    }

    /// Ids whose winner came from this run.
    pub fn new_winners(&self) -> u64 {
        self.entries.values().filter(|e| e.new).count() as u64
    }

    /// For each part (by number, `parts` of them), the rows to keep and the
    /// device ids to fill in where the winner had none.
    pub fn plan(&self, row_counts: &[u32]) -> Vec<PartPlan> {
        self.plan_mapped(row_counts, |loc| loc)
    }

    /// [`Index::plan`] for rows that moved after they were merged: `map`
    /// gives a winner's final place from the place it was merged at.
    pub fn plan_mapped(&self, row_counts: &[u32], map: impl Fn(RowLoc) -> RowLoc) -> Vec<PartPlan> {
        let mut plans: Vec<PartPlan> = row_counts
            .iter()
            .map(|&n| PartPlan {
                keep: vec![false; n as usize],
                kept: 0,
                fill: Vec::new(),
            })
            .collect();
        for e in self.entries.values() {
            let loc = map(e.loc);
            let p = &mut plans[loc.part as usize];
            p.keep[loc.row as usize] = true;
            p.kept += 1;
            if !e.winner_has_device && e.device != NO_DEVICE {
                p.fill
                    .push((loc.row, self.devices[e.device as usize].clone()));
            }
        }
        plans
    }
}

/// What to do with one stored part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartPlan {
    pub keep: Vec<bool>,
    pub kept: usize,
    /// `(row, device_id)` for winners whose own device id is NULL.
    pub fill: Vec<(u32, Box<str>)>,
}

impl PartPlan {
    /// The part can be used as it is.
    pub fn unchanged(&self) -> bool {
        self.kept == self.keep.len() && self.fill.is_empty()
    }

    /// Applies the plan to the rows of the part that start at `offset`.
    pub fn apply(
        &self,
        batch: &RecordBatch,
        offset: usize,
    ) -> Result<RecordBatch, arrow::error::ArrowError> {
        let n = batch.num_rows();
        let mask: arrow::array::BooleanArray = self.keep[offset..offset + n]
            .iter()
            .map(|&k| Some(k))
            .collect();
        let batch = if self
            .fill
            .iter()
            .any(|(r, _)| (*r as usize) >= offset && (*r as usize) < offset + n)
        {
            let devices = batch.column(idx::DEVICE_ID).as_string::<i32>();
            let mut values: Vec<Option<&str>> = devices.iter().collect();
            for (r, d) in &self.fill {
                let r = *r as usize;
                if r >= offset && r < offset + n {
                    values[r - offset] = Some(d);
                }
            }
            super::decode::batch::with_device_ids(batch, StringArray::from(values))
        } else {
            batch.clone()
        };
        arrow::compute::filter_record_batch(&batch, &mask)
    }
}
