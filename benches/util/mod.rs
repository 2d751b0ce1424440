//! Shared by the runtime benches: run criterion itself inside a green thread.
//!
//! Timing a green operation from inside the runtime keeps the set-up (spawned
//! partners, pending timers) alive across every sample, outside the timed
//! loop, and times exactly one operation per iteration.

#![allow(dead_code)] // each bench uses a part

use std::time::Duration;

use criterion::Criterion;
use weft::Runtime;

/// The stack of the task criterion runs on: its statistics need more than a
/// task's default.
const BENCH_STACK: usize = 16 << 20;

/// Runs `f` with the bench's `Criterion` as the main task of a fresh runtime
/// (default task stacks: `task_stack`), then hands the `Criterion` back.
pub fn in_green(c: &mut Criterion, task_stack: usize, f: impl FnOnce(&mut Criterion) + 'static) {
    in_green_with(c, Runtime::builder().stack_size(task_stack), f);
}

/// [`in_green`] on a runtime built by `builder` (to compare settings).
pub fn in_green_with(
    c: &mut Criterion,
    builder: weft::Builder,
    f: impl FnOnce(&mut Criterion) + 'static,
) {
    let mut owned = std::mem::take(c);
    let rt = builder.build().unwrap();
    let main = weft::task::Builder::new().stack_size(BENCH_STACK);
    let handle = rt
        .spawn_with(main, move || {
            f(&mut owned);
            owned
        })
        .unwrap();
    rt.run().expect("the bench ran to completion");
    *c = handle.join().expect("the bench task finished");
}

/// A quick criterion: every bench file runs in well under a minute.
pub fn quick() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}
