//! Spawn + join: with a pooled stack, with a freshly mapped stack, side by side with its floors (a raw corosensei coroutine, `std::thread::spawn` + `join`) and tokio's current-thread runtime.
//!
//! * `spawn/pooled_join`: a green thread spawns a task and joins it, again
//!   and again; every spawn takes the stack the previous task gave back.
//! * `spawn/burst_pooled` and `spawn/burst_fresh_stack`: a main task spawns
//!   1,000 tasks, then joins them all. "Pooled" reuses one warm runtime, so
//!   all 1,000 stacks come from its pool; "fresh" builds a new runtime per
//!   burst (outside the timing), so every stack is mapped by the burst and
//!   unmapped when that runtime is dropped, which is timed too. The pool is
//!   bypassed without touching it: a new runtime simply has none.
//! * `spawn/std_thread_join`: the OS-thread floor.
//! * `spawn/corosensei_floor`: what any stackful spawn + join costs at
//!   least: a raw corosensei coroutine built on a reused stack, run to its
//!   end and its stack taken back, with no scheduler around it.
//! * `spawn/tokio_current_thread_join`: the same job on tokio's
//!   current-thread runtime (`tokio::spawn`, then `.await` its handle, from
//!   the `block_on` future), for the ratio in one run.
//!
//! Run with `cargo bench --bench spawn`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod util;

use std::hint::black_box;
use std::time::{Duration, Instant};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult};
use criterion::{criterion_group, criterion_main, Criterion};
use weft::{spawn, Runtime, DEFAULT_STACK_SIZE};

const BURST: u64 = 1_000;

/// Spawns `BURST` tasks from the main task, then joins them all.
fn burst() {
    let handles: Vec<_> = (0..BURST).map(|i| spawn(move || black_box(i))).collect();
    for h in handles {
        black_box(h.join().unwrap());
    }
}

/// Time per task over enough bursts to cover `iters` tasks.
fn per_task(iters: u64, mut one_burst: impl FnMut() -> Duration) -> Duration {
    let bursts = iters.div_ceil(BURST);
    let total: Duration = (0..bursts).map(|_| one_burst()).sum();
    total.mul_f64(iters as f64 / (bursts * BURST) as f64)
}

fn pooled_join(c: &mut Criterion) {
    util::in_green(c, DEFAULT_STACK_SIZE, |c| {
        spawn(|| ()).join().unwrap(); // map the one stack the loop reuses
        c.bench_function("spawn/pooled_join", |b| {
            b.iter(|| spawn(|| black_box(1u64)).join().unwrap())
        });
    });
}

fn bursts(c: &mut Criterion) {
    let warm = Runtime::new().unwrap();
    warm.block_on(burst).unwrap();
    c.bench_function("spawn/burst_pooled", |b| {
        b.iter_custom(|iters| {
            per_task(iters, || {
                let start = Instant::now();
                warm.block_on(burst).unwrap();
                start.elapsed()
            })
        })
    });
    c.bench_function("spawn/burst_fresh_stack", |b| {
        b.iter_custom(|iters| {
            per_task(iters, || {
                let rt = Runtime::new().unwrap();
                let start = Instant::now();
                rt.block_on(burst).unwrap();
                drop(rt);
                start.elapsed()
            })
        })
    });
}

fn os_thread(c: &mut Criterion) {
    c.bench_function("spawn/std_thread_join", |b| {
        b.iter(|| std::thread::spawn(|| black_box(1u64)).join().unwrap())
    });
}

fn corosensei_floor(c: &mut Criterion) {
    let mut stack = Some(DefaultStack::new(DEFAULT_STACK_SIZE).unwrap());
    c.bench_function("spawn/corosensei_floor", |b| {
        b.iter(|| {
            let reused = stack.take().expect("the stack came back");
            let mut co = Coroutine::with_stack(reused, |_: &corosensei::Yielder<(), ()>, ()| {
                black_box(1u64)
            });
            match co.resume(()) {
                CoroutineResult::Return(v) => black_box(v),
                CoroutineResult::Yield(()) => unreachable!("the body does not yield"),
            };
            stack = Some(co.into_stack());
        })
    });
}

fn tokio_join(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("spawn/tokio_current_thread_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(tokio::spawn(async { black_box(1u64) }).await.unwrap());
                }
                start.elapsed()
            })
        })
    });
}

fn spawn_join(c: &mut Criterion) {
    pooled_join(c);
    corosensei_floor(c);
    tokio_join(c);
    bursts(c);
    os_thread(c);
}

criterion_group! {
    name = benches;
    config = util::quick();
    targets = spawn_join
}
criterion_main!(benches);
