//! Context switch: one `yield_now` with 2 and with 1,000 ready tasks, against its floor, one raw corosensei resume + suspend.
//!
//! Each `yield_now` suspends the calling task to the scheduler, which
//! resumes the next ready task: one resume/suspend pair, the same work as the
//! raw corosensei round trip, plus the ready-queue bookkeeping. Figures are
//! per `yield_now` call (with 2 tasks, a task's yield-and-come-back is two of
//! them). The last pair is the 2-task round trip with the stall watchdog on
//! and off. Run with `cargo bench --bench switch`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod util;

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use corosensei::Coroutine;
use criterion::{criterion_group, criterion_main, Criterion};
use weft::{spawn, yield_now, Builder, MIN_STACK_SIZE};

fn raw_round_trip(c: &mut Criterion) {
    let mut identity = Coroutine::new(|yielder, mut input: usize| loop {
        input = yielder.suspend(input);
    });
    c.bench_function("switch/corosensei_resume_suspend", |b| {
        b.iter(|| identity.resume(black_box(1)))
    });
}

/// Per `yield_now` call, with `tasks` tasks taking turns (the timing task
/// and `tasks - 1` partners that yield until told to stop).
fn yield_round_robin(c: &mut Criterion, tasks: usize) {
    yield_round_robin_on(c, tasks, Builder::new(), "");
}

/// The same two-task round trip with the stall watchdog on (the default)
/// and off, side by side: its cost on the loop is one store per resume.
fn yield_stall_watchdog(c: &mut Criterion) {
    let on = Builder::new().stall_threshold(Some(weft::DEFAULT_STALL_THRESHOLD));
    yield_round_robin_on(c, 2, on, "_stall_watchdog_on");
    yield_round_robin_on(
        c,
        2,
        Builder::new().stall_threshold(None),
        "_stall_watchdog_off",
    );
}

fn yield_round_robin_on(c: &mut Criterion, tasks: usize, rt: Builder, suffix: &'static str) {
    util::in_green_with(c, rt.stack_size(MIN_STACK_SIZE), move |c| {
        let stop = Rc::new(Cell::new(false));
        let partners: Vec<_> = (1..tasks)
            .map(|_| {
                let stop = stop.clone();
                spawn(move || {
                    while !stop.get() {
                        yield_now();
                    }
                })
            })
            .collect();
        yield_now(); // every partner has started
        c.bench_function(&format!("switch/yield_now_{tasks}_tasks{suffix}"), |b| {
            b.iter_custom(|iters| {
                // One of our yields lets every partner yield once.
                let rounds = iters.div_ceil(tasks as u64);
                let start = Instant::now();
                for _ in 0..rounds {
                    yield_now();
                }
                let elapsed = start.elapsed();
                elapsed.mul_f64(iters as f64 / (rounds * tasks as u64) as f64)
            })
        });
        stop.set(true);
        for p in partners {
            p.join().unwrap();
        }
    });
}

fn switch(c: &mut Criterion) {
    raw_round_trip(c);
    yield_round_robin(c, 2);
    yield_round_robin(c, 1_000);
    yield_stall_watchdog(c);
}

criterion_group! {
    name = benches;
    config = util::quick();
    targets = switch
}
criterion_main!(benches);
