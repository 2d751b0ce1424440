//! The stall watchdog: an OS thread that notices when one task has held the
//! loop (been inside one resume) longer than the threshold, and says so,
//! naming the task, then says again how long it held it once it lets go.
//!
//! The loop's only cost is the store in [`Watch::resuming`] per resume (and
//! one in [`Watch::idle`] before each blocking poll); the names it reports
//! come from the task labels, which the loop keeps for dumps anyway (plain
//! stores on spawn and exit, see `watch/labels.rs`). The watchdog samples
//! that word every quarter threshold: the same non-zero value twice in a row
//! means the same resume is still going on. Durations are therefore measured
//! to one sampling period, and a stall is reported between one threshold and
//! one threshold plus a period after it began. Idle, the watchdog still
//! wakes once per period (4 wakeups per threshold), like gevent's monitor
//! thread.
//!
//! Reports go to `tracing` at `warn` (through the subscriber that was the
//! default on the thread that built the runtime), or to stderr when that
//! subscriber does not take `warn` events from weft: a stall is a bug in the
//! program and should not be silent by default.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::report;
use crate::watch::Watch;

/// The watchdog thread of one runtime; stops it when dropped.
pub(crate) struct Watchdog {
    thread: Option<thread::JoinHandle<()>>,
    watch: Arc<Watch>,
}

impl Watchdog {
    /// Starts watching `watch` with `threshold`.
    pub(crate) fn start(watch: Arc<Watch>, threshold: Duration) -> std::io::Result<Watchdog> {
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let w = watch.clone();
        let thread = thread::Builder::new()
            .name("weft-stall-watchdog".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || watch_loop(&w, threshold))
            })?;
        Ok(Watchdog {
            thread: Some(thread),
            watch,
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.watch.closed.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn watch_loop(watch: &Watch, threshold: Duration) {
    let period = (threshold / 4).max(Duration::from_millis(1));
    let mut last = 0u64;
    let mut since = Instant::now();
    let mut reported = false;
    // The stalled task's description, taken when the stall is reported (it
    // may have ended by the time it lets go).
    let mut who = String::new();
    while !watch.closed.load(Ordering::Acquire) {
        thread::park_timeout(period);
        let now = Instant::now();
        let v = watch.running.load(Ordering::Relaxed);
        if v != last {
            if reported {
                watch.set_stalled(None);
                let held = now - since;
                watch.counters.longest_resume_ns.raise_shared(nanos(held));
                report::warn(&format!(
                    "weft: task {who} yielded after holding the loop for about {held:.2?} \
                     (stall threshold {threshold:?})"
                ));
            }
            last = v;
            since = now;
            reported = false;
            continue;
        }
        if v == 0 {
            continue;
        }
        let held = now - since;
        watch.counters.longest_resume_ns.raise_shared(nanos(held));
        if !reported && held >= threshold {
            reported = true;
            watch.counters.stalls.bump_shared();
            who = describe(watch, v as u32);
            watch.set_stalled(Some((who.clone(), since)));
            report::warn(&format!(
                "weft: task {who} has held the loop for {held:.2?} without yielding \
                 (stall threshold {threshold:?}); every other task is stalled. \
                 Move CPU-bound or blocking work to weft::spawn_blocking, or call \
                 weft::yield_now() in long loops"
            ));
        }
    }
}

fn describe(watch: &Watch, serial: u32) -> String {
    match watch.labels.of(serial) {
        Some(label) => label.describe(),
        None => format!("#{serial}"),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
