//! Who each live task is (spawn number, name, spawn site), by task-slab
//! index, written by the loop and read by other threads without a lock on
//! the loop's side.
//!
//! The stall watchdog must name the task that holds the loop, and
//! `Handle::dump` must list the live tasks when the loop does not answer;
//! both read this table while the loop is stuck inside a resume, so it has
//! to be published as tasks come and go, not on demand. It is published on
//! every spawn and every exit, so it costs the loop plain stores only:
//!
//! - A slot per slab index, in chunks that never move: chunk `k` holds
//!   `64 << k` slots and is allocated the first time the slab reaches it.
//! - A slot's `word` is `LIVE | serial` (plus `NAMED`) while its task lives
//!   and 0 once it ended. It doubles as the slot's version, seqlock-style:
//!   a reader loads it, reads the rest, and loads it again; the same live
//!   word twice means what it read belongs to that task (serials are unique
//!   until they wrap, 2^32 spawns later).
//! - A name is an `Arc<str>`, which no thread can read while another may
//!   drop it, so the names sit in one map behind a mutex, by slab index: a
//!   named spawn takes that lock once at spawn and once at exit (naming a
//!   task already costs an allocation). Unnamed tasks, the common case (one
//!   per connection), never touch a lock, and their slot is two words.
//! - A chunk is allocated zeroed (a zeroed slot is a free one), so the
//!   allocator hands large chunks over as fresh pages that stay untouched,
//!   costing no memory, until the slab reaches them: a runtime pays for the
//!   slots its tasks use, not for the whole chunk its last task fell in.

use std::alloc::Layout;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Slots in chunk 0; chunk `k` holds `FIRST << k`.
const FIRST: usize = 64;

/// Enough chunks for every `u32` slab index.
const CHUNKS: usize = 27;

/// Set in a live slot's word.
const LIVE: u64 = 1 << 32;

/// Set in a live slot's word when the task has a name.
const NAMED: u64 = 1 << 33;

/// Who a task is, for readers on other threads.
#[derive(Clone, Debug)]
pub(crate) struct Label {
    /// The task's spawn number.
    pub(crate) serial: u32,
    pub(crate) name: Option<Arc<str>>,
    /// Where it was spawned (`#[track_caller]` on the spawn functions).
    pub(crate) site: &'static Location<'static>,
}

impl Label {
    /// `'name' (#3, spawned at src/main.rs:10:5)` or `#3 (spawned at ...)`.
    pub(crate) fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("'{name}' (#{}, spawned at {})", self.serial, self.site),
            None => format!("#{} (spawned at {})", self.serial, self.site),
        }
    }
}

/// One slab index's label; all zeroes when no task holds the index.
struct Slot {
    /// `LIVE | NAMED? | serial` while a task holds the index, 0 after it.
    word: AtomicU64,
    /// The task's spawn site; only ever a `&'static Location<'static>`.
    site: AtomicPtr<Location<'static>>,
}

impl Slot {
    /// The slot's label, if a task holds it and did not change under the
    /// read; its name, when `word` says `NAMED`, is at `index` in `names`.
    fn read(&self, index: usize, names: &Mutex<HashMap<usize, Arc<str>>>) -> Option<Label> {
        let word = self.word.load(Ordering::Acquire);
        if word & LIVE == 0 {
            return None;
        }
        let site = self.site.load(Ordering::Relaxed);
        let name = if word & NAMED != 0 {
            lock(names).get(&index).cloned()
        } else {
            None
        };
        // Pairs with the release fence in `publish`: if the reads above saw
        // a later task's values, the load below sees that task's word (or 0).
        fence(Ordering::Acquire);
        if self.word.load(Ordering::Relaxed) != word {
            return None;
        }
        // SAFETY: `publish` stores `site` before the `Release` store of the
        // live `word` the `Acquire` load above saw, and only ever stores a
        // `&'static Location<'static>`, which stays valid and unchanged
        // forever.
        let site = unsafe { &*site };
        Some(Label {
            serial: word as u32,
            name,
            site,
        })
    }
}

/// Where a live task's label lies, handed out by `publish` for `retire_at`:
/// the task's exit clears its slot without finding it again.
#[derive(Clone, Copy)]
pub(crate) struct LabelSlot(std::ptr::NonNull<Slot>);

/// The label table; only the loop thread calls `publish` and `retire`.
pub(crate) struct Labels {
    chunks: [OnceLock<Box<[Slot]>>; CHUNKS],
    /// The names of the named live tasks, by slab index.
    names: Mutex<HashMap<usize, Arc<str>>>,
    /// The slab index last retired (`usize::MAX` before any) and its slot
    /// in `recent_slot`: the slab hands the index it freed last to the next
    /// spawn, whose `publish` then finds its slot without computing where
    /// it lies. Only the loop thread touches either (relaxed: plain loads
    /// and stores); an index's slot never changes, so a stale pair is still
    /// a true one.
    recent_index: AtomicUsize,
    /// The slot of `recent_index`.
    recent_slot: AtomicPtr<Slot>,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            chunks: std::array::from_fn(|_| OnceLock::new()),
            names: Mutex::default(),
            recent_index: AtomicUsize::new(usize::MAX),
            recent_slot: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

/// `(chunk, offset)` of slab index `index`.
#[inline]
fn position(index: usize) -> (usize, usize) {
    let i = index + FIRST;
    let top = i.ilog2() as usize;
    (top - FIRST.ilog2() as usize, i - (1 << top))
}

impl Labels {
    #[inline]
    fn slot(&self, index: usize) -> &Slot {
        let (chunk, offset) = position(index);
        let chunk = self.chunks[chunk].get_or_init(|| new_chunk(chunk));
        &chunk[offset]
    }

    /// Publishes the task now holding slab index `index`. Loop thread only.
    /// Always inlined: a frame of its own costs as much as its few stores.
    #[inline(always)]
    pub(crate) fn publish(
        &self,
        index: usize,
        serial: u32,
        name: Option<&Arc<str>>,
        site: &'static Location<'static>,
    ) -> LabelSlot {
        let slot = if index == self.recent_index.load(Ordering::Relaxed) {
            // SAFETY: `retire_at` stored this pointer with this index: it
            // is the index's slot, in a chunk that is never moved or freed
            // while the table lives.
            unsafe { &*self.recent_slot.load(Ordering::Relaxed) }
        } else {
            self.slot(index)
        };
        let mut word = LIVE | u64::from(serial);
        if let Some(name) = name {
            self.set_name(index, Some(name.clone()));
            word |= NAMED;
        }
        // Orders the previous task's `retire` before the stores below, for a
        // reader that still holds that task's word (see `Slot::read`).
        fence(Ordering::Release);
        slot.site
            .store(std::ptr::from_ref(site).cast_mut(), Ordering::Relaxed);
        slot.word.store(word, Ordering::Release);
        LabelSlot(std::ptr::NonNull::from(slot))
    }

    /// Clears slab index `index` when its task ended. Loop thread only.
    #[inline]
    pub(crate) fn retire(&self, index: usize) {
        self.retire_slot(index, self.slot(index));
    }

    /// Clears slab index `index`, whose label lies `at` (from the `publish`
    /// of the task ending there), when its task ended. Loop thread only.
    #[inline(always)]
    pub(crate) fn retire_at(&self, index: usize, at: LabelSlot) {
        debug_assert!(std::ptr::eq(at.0.as_ptr(), self.slot(index)));
        // SAFETY: `at` came from `publish` on this table (the caller's
        // contract, checked in debug builds), and a slot lies in a chunk
        // that is never moved or freed while the table lives, which it does:
        // `&self` borrows it.
        self.retire_slot(index, unsafe { at.0.as_ref() });
        self.recent_index.store(index, Ordering::Relaxed);
        self.recent_slot.store(at.0.as_ptr(), Ordering::Relaxed);
    }

    /// `retire` of `slot`, the slot of `index`.
    #[inline(always)]
    fn retire_slot(&self, index: usize, slot: &Slot) {
        let word = slot.word.load(Ordering::Relaxed);
        slot.word.store(0, Ordering::Relaxed);
        if word & NAMED != 0 {
            self.set_name(index, None);
        }
    }

    /// Sets or clears the name at `index` (out of line: only named tasks
    /// come here).
    #[cold]
    fn set_name(&self, index: usize, name: Option<Arc<str>>) {
        let mut names = lock(&self.names);
        let old = match name {
            Some(name) => names.insert(index, name),
            None => names.remove(&index),
        };
        drop(names);
        // Dropped outside the lock: it may be the name's last reference.
        drop(old);
    }

    /// The label of the live task with spawn number `serial`.
    pub(crate) fn of(&self, serial: u32) -> Option<Label> {
        self.all()
            .into_iter()
            .find_map(|(_, l)| (l.serial == serial).then_some(l))
    }

    /// Every live task's slab index and label.
    pub(crate) fn all(&self) -> Vec<(usize, Label)> {
        let mut labels = Vec::new();
        for (k, chunk) in self.chunks.iter().enumerate() {
            let Some(chunk) = chunk.get() else { continue };
            let first = (FIRST << k) - FIRST;
            for (offset, slot) in chunk.iter().enumerate() {
                if let Some(label) = slot.read(first + offset, &self.names) {
                    labels.push((first + offset, label));
                }
            }
        }
        labels
    }
}

#[cold]
fn new_chunk(chunk: usize) -> Box<[Slot]> {
    let len = FIRST << chunk;
    let layout = Layout::array::<Slot>(len).expect("a label chunk's size fits in memory");
    // SAFETY: `layout` is not zero-sized (`len` is at least `FIRST`).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Slot>();
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `ptr` is a fresh allocation of `len` slots with the global
    // allocator and `Slot`'s layout array, as `Box<[Slot]>` frees it; all
    // zeroes is a valid `Slot` (two atomics: a 0 word, a null site) and the
    // free one `Slot::read` skips.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_tile_the_chunks() {
        assert_eq!(position(0), (0, 0));
        assert_eq!(position(63), (0, 63));
        assert_eq!(position(64), (1, 0));
        assert_eq!(position(191), (1, 127));
        assert_eq!(position(192), (2, 0));
        assert_eq!(position(u32::MAX as usize).0, CHUNKS - 1);
    }

    #[test]
    fn published_labels_are_read_until_retired() {
        let labels = Labels::default();
        let here = Location::caller();
        let name: Arc<str> = Arc::from("worker");
        labels.publish(0, 1, None, here);
        labels.publish(200, 2, Some(&name), here);
        let all: Vec<_> = labels
            .all()
            .into_iter()
            .map(|(i, l)| (i, l.serial, l.name))
            .collect();
        assert_eq!(all, [(0, 1, None), (200, 2, Some(name.clone()))]);
        drop(all);
        assert_eq!(
            labels.of(2).unwrap().describe(),
            format!("'worker' (#2, spawned at {here})")
        );
        labels.retire(200);
        assert!(labels.of(2).is_none());
        assert_eq!(Arc::strong_count(&name), 1, "the name is released");
        labels.publish(200, 3, None, here);
        assert_eq!(labels.of(3).unwrap().name, None);
    }

    #[test]
    fn an_index_retired_and_reused_is_published_in_its_own_slot() {
        let labels = Labels::default();
        let here = Location::caller();
        let at = labels.publish(70, 1, None, here);
        labels.retire_at(70, at);
        assert!(labels.of(1).is_none());
        labels.publish(70, 2, None, here);
        labels.publish(3, 3, None, here);
        let all: Vec<_> = labels
            .all()
            .into_iter()
            .map(|(i, l)| (i, l.serial))
            .collect();
        assert_eq!(all, [(3, 3), (70, 2)]);
    }

    #[test]
    fn a_reader_never_sees_one_task_with_anothers_name_or_site() {
        let labels = Labels::default();
        let named_site = Location::caller();
        let unnamed_site = Location::caller();
        let name: Arc<str> = Arc::from("named");
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                // Odd serials are named, even ones are not; every index is
                // reused over and over.
                for serial in 1..1_000_000u32 {
                    let index = serial as usize % 100;
                    labels.retire(index);
                    if serial % 2 == 1 {
                        labels.publish(index, serial, Some(&name), named_site);
                    } else {
                        labels.publish(index, serial, None, unnamed_site);
                    }
                }
                done.store(true, Ordering::Relaxed);
            });
            while !done.load(Ordering::Relaxed) {
                for (index, l) in labels.all() {
                    assert_eq!(index, l.serial as usize % 100);
                    let named = l.serial % 2 == 1;
                    assert_eq!(l.name.is_some(), named, "{l:?}");
                    let site = if named { named_site } else { unnamed_site };
                    assert!(std::ptr::eq(l.site, site), "{l:?}");
                }
            }
        });
    }
}
