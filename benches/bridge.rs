//! Bridge: items/s from an OS thread to a green consumer through a
//! `PollableQueue`, and put-to-resume wake latency, each next to its floor
//! in the same run (`std::sync::mpsc` between two OS threads; the seed's
//! 10 ms sleep-polling consumer).
//!
//! ```text
//! cargo bench --bench bridge
//! ```

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weft::bridge::{PollableQueue, TryGetError};
use weft::{sleep, Runtime};

/// Items per throughput run.
const ITEMS: u64 = 100_000;

/// How long the producer waits after the consumer asked for the next item,
/// so the consumer is truly asleep (in `epoll_wait` or a futex) when the
/// item is put. Busy-waited: a sleeping producer would add its own wakeup.
const SETTLE: Duration = Duration::from_micros(30);

fn settle() {
    let until = Instant::now() + SETTLE;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// One OS producer → one green consumer; the time from the start signal to
/// the last item taken.
fn pollable_throughput(items: u64) -> Duration {
    let rt = Runtime::new().unwrap();
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let go = Arc::new(Barrier::new(2));
    let start = go.clone();
    let producer = thread::spawn(move || {
        start.wait();
        for i in 0..items {
            tx.put(i).unwrap();
        }
    });
    let took = rt
        .block_on(move || {
            go.wait();
            let started = Instant::now();
            let mut n = 0;
            while let Ok(v) = q.get() {
                black_box(v);
                n += 1;
            }
            assert_eq!(n, items);
            started.elapsed()
        })
        .unwrap();
    producer.join().unwrap();
    took
}

/// The floor: `std::sync::mpsc` between two OS threads.
fn mpsc_throughput(items: u64) -> Duration {
    let (tx, rx) = mpsc::channel();
    let go = Arc::new(Barrier::new(2));
    let start = go.clone();
    let producer = thread::spawn(move || {
        start.wait();
        for i in 0..items {
            tx.send(i).unwrap();
        }
    });
    go.wait();
    let started = Instant::now();
    let mut n = 0;
    while let Ok(v) = rx.recv() {
        black_box(v);
        n += 1;
    }
    assert_eq!(n, items);
    let took = started.elapsed();
    producer.join().unwrap();
    took
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("bridge_throughput");
    g.throughput(Throughput::Elements(ITEMS))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("pollable_queue_os_to_green", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| pollable_throughput(ITEMS)).sum())
    });
    g.bench_function("std_mpsc_os_to_os", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| mpsc_throughput(ITEMS)).sum())
    });
    g.finish();
}

/// Put-to-resume latency of each of `iters` wakes of a green consumer
/// parked in `get`. The consumer asks for each item over a std channel
/// (not timed); the producer settles, stamps the item and puts it.
fn pollable_wakes(iters: u64) -> Vec<Duration> {
    let rt = Runtime::new().unwrap();
    let q = PollableQueue::<Instant>::new().unwrap();
    let tx = q.sender();
    let (ask, asked) = mpsc::channel::<()>();
    let producer = thread::spawn(move || {
        while asked.recv().is_ok() {
            settle();
            tx.put(Instant::now()).unwrap();
        }
    });
    let wakes = rt
        .block_on(move || {
            let mut wakes = Vec::with_capacity(iters as usize);
            for _ in 0..iters {
                ask.send(()).unwrap();
                wakes.push(q.get().unwrap().elapsed());
            }
            wakes
        })
        .unwrap();
    producer.join().unwrap();
    wakes
}

/// The floor: waking an OS thread blocked in `std::sync::mpsc::Receiver::recv`.
fn mpsc_wakes(iters: u64) -> Vec<Duration> {
    let (tx, rx) = mpsc::channel::<Instant>();
    let (ask, asked) = mpsc::channel::<()>();
    let producer = thread::spawn(move || {
        while asked.recv().is_ok() {
            settle();
            tx.send(Instant::now()).unwrap();
        }
    });
    let mut wakes = Vec::with_capacity(iters as usize);
    for _ in 0..iters {
        ask.send(()).unwrap();
        wakes.push(rx.recv().unwrap().elapsed());
    }
    drop(ask);
    producer.join().unwrap();
    wakes
}

/// The seed's alternative: a green consumer that checks the queue and
/// sleeps 10 ms between checks.
fn sleep_polling_wake(iters: u64) -> Duration {
    let rt = Runtime::new().unwrap();
    let q = PollableQueue::<Instant>::new().unwrap();
    let tx = q.sender();
    let (ask, asked) = mpsc::channel::<()>();
    let producer = thread::spawn(move || {
        while asked.recv().is_ok() {
            settle();
            tx.put(Instant::now()).unwrap();
        }
    });
    let total = rt
        .block_on(move || {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                ask.send(()).unwrap();
                let stamp = loop {
                    match q.try_get() {
                        Ok(stamp) => break stamp,
                        Err(TryGetError::Empty) => sleep(Duration::from_millis(10)),
                        Err(TryGetError::Closed) => unreachable!(),
                    }
                };
                total += stamp.elapsed();
            }
            total
        })
        .unwrap();
    producer.join().unwrap();
    total
}

fn wake_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("bridge_wake_latency");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("pollable_queue_put_to_green_resume", |b| {
        b.iter_custom(|iters| pollable_wakes(iters).iter().sum())
    });
    g.bench_function("std_mpsc_send_to_os_thread_resume", |b| {
        b.iter_custom(|iters| mpsc_wakes(iters).iter().sum())
    });
    g.sample_size(10).measurement_time(Duration::from_secs(1));
    g.bench_function("seed_10ms_sleep_polling", |b| {
        b.iter_custom(sleep_polling_wake)
    });
    g.finish();
}

/// Criterion reports averages over many wakes; the targets are about the
/// median single wake, so print per-wake percentiles of both side by side.
fn wake_percentiles(_: &mut Criterion) {
    const WAKES: u64 = 3_000;
    let percentiles = |mut wakes: Vec<Duration>| {
        wakes.sort_unstable();
        let at = |p: usize| wakes[(wakes.len() - 1) * p / 100];
        (at(50), at(99))
    };
    let (green50, green99) = percentiles(pollable_wakes(WAKES));
    let (os50, os99) = percentiles(mpsc_wakes(WAKES));
    println!(
        "bridge_wake_latency per wake ({WAKES} each): pollable_queue p50 {green50:?} p99 {green99:?}; \
         std_mpsc p50 {os50:?} p99 {os99:?}; p50 ratio {:.2}",
        green50.as_secs_f64() / os50.as_secs_f64()
    );
}

criterion_group!(benches, throughput, wake_latency, wake_percentiles);
criterion_main!(benches);
