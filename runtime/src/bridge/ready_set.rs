//! `ReadySet`: which of the sources given to `select` are ready.

use std::fmt;

/// The most sources one [`select`](super::select) call can wait on.
pub const MAX_SOURCES: usize = 64;

/// The positions, in the slice given to [`select`](super::select), of the
/// sources that are ready. Iterates in ascending order (list order).
///
/// # Examples
///
/// ```
/// use weft::bridge::{try_select, PollableQueue};
///
/// let (a, b) = (PollableQueue::<&str>::new().unwrap(), PollableQueue::new().unwrap());
/// let (ta, tb) = (a.sender(), b.sender());
/// tb.put("b").unwrap();
/// let ready = try_select(&[&a, &b]);
/// assert!(!ready.contains(0) && ready.contains(1));
/// assert_eq!(ready.iter().collect::<Vec<_>>(), [1]);
/// # drop((ta, tb));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ReadySet {
    bits: u64,
}

impl ReadySet {
    pub(crate) fn insert(&mut self, index: usize) {
        debug_assert!(index < MAX_SOURCES);
        self.bits |= 1 << index;
    }

    /// True when source `index` is ready.
    pub fn contains(&self, index: usize) -> bool {
        index < MAX_SOURCES && self.bits & (1 << index) != 0
    }

    /// True when no source is ready (only after a timeout).
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// How many sources are ready.
    pub fn len(&self) -> usize {
        self.bits.count_ones() as usize
    }

    /// The ready positions, in list order.
    pub fn iter(&self) -> ReadyIter {
        ReadyIter { bits: self.bits }
    }
}

impl IntoIterator for ReadySet {
    type Item = usize;
    type IntoIter = ReadyIter;

    fn into_iter(self) -> ReadyIter {
        self.iter()
    }
}

impl fmt::Debug for ReadySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Iterates over a [`ReadySet`] in ascending order.
#[derive(Clone, Debug)]
pub struct ReadyIter {
    bits: u64,
}

impl Iterator for ReadyIter {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.bits == 0 {
            return None;
        }
        let index = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(index)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bits.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReadyIter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_in_list_order() {
        let mut set = ReadySet::default();
        for i in [63, 2, 0, 17] {
            set.insert(i);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 2, 17, 63]);
        assert_eq!(set.len(), 4);
        assert!(set.contains(17) && !set.contains(3) && !set.contains(64));
    }
}
