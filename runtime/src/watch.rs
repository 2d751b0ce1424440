//! What other threads can see of a running loop without asking it: the
//! counters, which task is inside a resume right now, and a label (name,
//! spawn site) per live task. The stall watchdog, `Handle::metrics` and
//! `Handle::dump` read it; the loop writes it, with plain stores only (no
//! lock, no read-modify-write) on every path but a named task's spawn and
//! exit.

mod labels;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::metrics::Counters;

pub(crate) use labels::{LabelSlot, Labels};

/// The loop's state as other threads see it.
#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) counters: Counters,
    /// `resume number << 32 | task serial` of the resume in progress, 0 while
    /// the loop waits in the OS poller. One relaxed store per resume: the
    /// whole cost of the stall detector on the loop.
    pub(crate) running: AtomicU64,
    /// Labels by task-slab index, kept for the watchdog and for dumps taken
    /// while the loop is stalled (see `labels.rs` for what they cost).
    pub(crate) labels: Labels,
    /// Set when the runtime is dropped: the watchdog exits.
    pub(crate) closed: AtomicBool,
    /// The stall in progress, as the watchdog reported it: who holds the
    /// loop and since when (for dumps the loop cannot answer).
    pub(crate) stalled: Mutex<Option<(String, Instant)>>,
}

impl Watch {
    pub(crate) fn new() -> Arc<Watch> {
        Arc::new(Watch::default())
    }

    /// Publishes that `serial`'s resume number `seq` starts now.
    #[inline]
    pub(crate) fn resuming(&self, seq: u32, serial: u32) {
        self.running
            .store(u64::from(seq) << 32 | u64::from(serial), Ordering::Relaxed);
    }

    /// Publishes that the loop is about to wait in the OS poller.
    #[inline]
    pub(crate) fn idle(&self) {
        self.running.store(0, Ordering::Relaxed);
    }

    /// Records (or clears) the stall in progress.
    pub(crate) fn set_stalled(&self, stall: Option<(String, Instant)>) {
        *self.stalled.lock().unwrap_or_else(|e| e.into_inner()) = stall;
    }
}
