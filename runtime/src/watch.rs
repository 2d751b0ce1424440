//! What other threads can see of a running loop without asking it: the
//! counters, which task is inside a resume right now, and a label (name,
//! spawn site) per live task. The stall watchdog, `Handle::metrics` and
//! `Handle::dump` read it; the loop writes it.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::metrics::Counters;

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

/// The loop's state as other threads see it.
#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) counters: Counters,
    /// `resume number << 32 | task serial` of the resume in progress, 0 while
    /// the loop waits in the OS poller. One relaxed store per resume: the
    /// whole cost of the stall detector on the loop.
    pub(crate) running: AtomicU64,
    /// Labels by task-slab index, kept for the watchdog and for dumps taken
    /// while the loop is stalled (one lock per spawn and per exit).
    pub(crate) labels: Mutex<Vec<Option<Label>>>,
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

    pub(crate) fn set_label(&self, index: usize, label: Option<Label>) {
        let mut labels = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        if labels.len() <= index {
            labels.resize(index + 1, None);
        }
        labels[index] = label;
    }

    /// The label of the task with spawn number `serial`, if it is alive.
    pub(crate) fn label_of(&self, serial: u32) -> Option<Label> {
        let labels = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        labels
            .iter()
            .flatten()
            .find(|l| l.serial == serial)
            .cloned()
    }

    /// Records (or clears) the stall in progress.
    pub(crate) fn set_stalled(&self, stall: Option<(String, Instant)>) {
        *self.stalled.lock().unwrap_or_else(|e| e.into_inner()) = stall;
    }

    /// Every live task's slab index and label.
    pub(crate) fn labels(&self) -> Vec<(usize, Label)> {
        let labels = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Some((i, l.clone()?)))
            .collect()
    }
}
