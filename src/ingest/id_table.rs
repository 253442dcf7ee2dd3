//! The dedup index's map from 128-bit id hashes to entries.
//!
//! One probe per record into a table of a million ids is a likely cache and
//! TLB miss, and merging is serial. The keys are already uniformly random
//! hashes, so the table is a plain open-addressing one: 24-byte slots that
//! hold the key and an entry number (entries live in insertion order in a
//! dense vector), and merging asks for a batch's slots to be prefetched a
//! few records ahead, which a general-purpose map cannot offer.

/// A slot: the key's two halves and the entry's position ([`EMPTY`]: none).
type Slot = [u64; 3];

/// Not zero on purpose: a zeroed table would be mapped to the shared zero
/// page and read by probes first, and the first write to each page is then
/// a copy-on-write fault that flushes the TLB of every CPU (measured: 8% of
/// an ingest's time). Filling the table writes each page once, up front.
const EMPTY: u64 = u64::MAX;
const EMPTY_SLOT: Slot = [0, 0, EMPTY];

/// Open-addressing map from `u128` keys to `V`, keeping insertion order.
#[derive(Debug, Clone)]
pub(crate) struct IdTable<V> {
    slots: Vec<Slot>,
    mask: usize,
    values: Vec<V>,
}

impl<V> Default for IdTable<V> {
    fn default() -> Self {
        IdTable::with_capacity(0)
    }
}

/// Where a key is, or would be inserted.
pub(crate) enum Probe {
    Found(usize),
    Vacant(usize),
}

fn halves(key: u128) -> (u64, u64) {
    (key as u64, (key >> 64) as u64)
}

impl<V> IdTable<V> {
    /// A table that holds `n` keys without growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        // Filling the slots is serial work before the first probe (21 ms
        // for 2M slots), so no more than the load limit needs.
        let slots = n.saturating_mul(10).div_ceil(7).next_power_of_two().max(16);
        IdTable {
            slots: vec![EMPTY_SLOT; slots],
            mask: slots - 1,
            values: Vec::with_capacity(n),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    fn home(&self, key: u128) -> usize {
        halves(key).0 as usize & self.mask
    }

    /// Asks the CPU to bring `key`'s first slot into cache: merging calls
    /// this a few records ahead so that the misses overlap.
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn prefetch(&self, key: u128) {
        let slot: &Slot = &self.slots[self.home(key)];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint: it never faults, and the
        // pointer is to a live slot of this table anyway.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>((slot as *const Slot).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// Finds `key`'s entry, or the slot where it would go.
    #[inline]
    pub(crate) fn probe(&self, key: u128) -> Probe {
        let (lo, hi) = halves(key);
        let mut s = self.home(key);
        loop {
            let [a, b, pos] = self.slots[s];
            if pos == EMPTY {
                return Probe::Vacant(s);
            }
            if a == lo && b == hi {
                return Probe::Found(pos as usize);
            }
            s = (s + 1) & self.mask;
        }
    }

    /// Inserts `key` (absent) at the slot [`IdTable::probe`] returned.
    pub(crate) fn insert_at(&mut self, slot: usize, key: u128, value: V) {
        let (lo, hi) = halves(key);
        self.slots[slot] = [lo, hi, self.values.len() as u64];
        self.values.push(value);
        // Linear probing stays short up to about 70% full.
        if self.values.len() * 10 > self.slots.len() * 7 {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; n]);
        self.mask = n - 1;
        for slot in old.into_iter().filter(|s| s[2] != EMPTY) {
            let mut s = slot[0] as usize & self.mask;
            while self.slots[s][2] != EMPTY {
                s = (s + 1) & self.mask;
            }
            self.slots[s] = slot;
        }
    }

    pub(crate) fn value_mut(&mut self, pos: usize) -> &mut V {
        &mut self.values[pos]
    }

    pub(crate) fn get_mut(&mut self, key: u128) -> Option<&mut V> {
        match self.probe(key) {
            Probe::Found(pos) => Some(&mut self.values[pos]),
            Probe::Vacant(_) => None,
        }
    }

    /// Every value, in insertion order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn upsert(t: &mut IdTable<u32>, key: u128, v: u32) {
        match t.probe(key) {
            Probe::Found(pos) => *t.value_mut(pos) = v,
            Probe::Vacant(slot) => t.insert_at(slot, key, v),
        }
    }

    #[test]
    fn colliding_homes_and_growth_keep_every_key() {
        // Keys that share their low 64 bits all start at the same slot.
        let mut t = IdTable::with_capacity(0);
        for i in 0..1000u32 {
            upsert(&mut t, (u128::from(i) << 64) | 7, i);
        }
        assert_eq!(t.len(), 1000);
        assert!(t.slots.len() * 7 >= 10_000);
        for i in 0..1000u32 {
            assert_eq!(t.get_mut((u128::from(i) << 64) | 7).copied(), Some(i));
        }
        assert_eq!(t.get_mut(7), Some(&mut 0));
        assert_eq!(t.get_mut(8), None);
        assert_eq!(
            t.values().copied().collect::<Vec<_>>(),
            (0..1000).collect::<Vec<_>>()
        );
    }

    proptest! {
        /// The table answers like a `HashMap` for any mix of keys,
        /// including zero and keys differing in one half only.
        #[test]
        fn agrees_with_a_hash_map(ops in prop::collection::vec((0u8..40, any::<bool>(), any::<u32>()), 0..400)) {
            let mut t = IdTable::with_capacity(4);
            let mut m = HashMap::new();
            for (k, swap, v) in ops {
                let k = u128::from(k);
                let key = if swap { k << 64 } else { k };
                upsert(&mut t, key, v);
                m.insert(key, v);
            }
            prop_assert_eq!(t.len(), m.len());
            for (k, v) in &m {
                prop_assert_eq!(t.get_mut(*k).copied(), Some(*v));
            }
            let mut vals: Vec<u32> = t.values().copied().collect();
            let mut want: Vec<u32> = m.values().copied().collect();
            vals.sort_unstable();
            want.sort_unstable();
            prop_assert_eq!(vals, want);
        }
    }
}
