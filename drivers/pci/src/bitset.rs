// SPDX-License-Identifier: MIT OR Apache-2.0
//! A fixed-size set of small integers: visited buses and capability offsets.
//!
//! It bounds every walk over device-supplied links without allocating.

/// A set of the integers below `64 * WORDS`.
#[derive(Clone, Debug)]
pub(crate) struct BitSet<const WORDS: usize> {
    words: [u64; WORDS],
}

impl<const WORDS: usize> BitSet<WORDS> {
    /// The empty set.
    pub(crate) const fn new() -> Self {
        Self { words: [0; WORDS] }
    }

    /// Adds `value`; returns whether it was absent. A value beyond the set's
    /// range is never stored and counts as already present, so walks stop.
    pub(crate) fn insert(&mut self, value: usize) -> bool {
        let Some(word) = self.words.get_mut(value / 64) else {
            return false;
        };
        let bit = 1_u64 << (value % 64);
        let absent = *word & bit == 0;
        *word |= bit;
        absent
    }

    /// Whether `value` is in the set.
    pub(crate) fn contains(&self, value: usize) -> bool {
        self.words
            .get(value / 64)
            .is_some_and(|word| word & (1_u64 << (value % 64)) != 0)
    }
}

impl<const WORDS: usize> Default for BitSet<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_reports_first_insertion_only() {
        let mut set = BitSet::<4>::new();
        assert!(set.insert(0));
        assert!(set.insert(255));
        assert!(!set.insert(255));
        assert!(set.contains(0) && set.contains(255) && !set.contains(1));
    }

    #[test]
    fn values_out_of_range_count_as_present() {
        let mut set = BitSet::<1>::new();
        assert!(!set.insert(64));
        assert!(!set.contains(64));
    }
}
