//! Bridge: items/s from an OS thread to a green consumer through a
//! `PollableQueue`, and put-to-resume wake latency, each next to its floor
//! in the same run (`std::sync::mpsc` between two OS threads; the seed's
//! 10 ms sleep-polling consumer); then the flood: 8 producer threads into
//! one consumer, bounded(1024) and unbounded, next to `sync_channel(1024)`
//! and `channel` (criterion, then a one-shot summary of 8 × 1,000,000 items
//! each, in M items/s, with the load average).
//!
//! ```text
//! cargo bench --bench bridge
//! cargo bench --bench bridge -- flood --warm-up-time 1 --measurement-time 3
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

/// Producer threads in the flood.
const FLOOD_PRODUCERS: u64 = 8;

/// Capacity of the bounded queues in the flood.
const FLOOD_CAP: usize = 1024;

/// The four queues the flood compares.
#[derive(Clone, Copy, Debug)]
enum Flood {
    WeftBounded,
    WeftUnbounded,
    StdSyncChannel,
    StdChannel,
}

impl Flood {
    const ALL: [Flood; 4] = [
        Flood::WeftBounded,
        Flood::StdSyncChannel,
        Flood::WeftUnbounded,
        Flood::StdChannel,
    ];

    fn name(self) -> &'static str {
        match self {
            Flood::WeftBounded => "pollable_queue_bounded_1024_to_green",
            Flood::WeftUnbounded => "pollable_queue_unbounded_to_green",
            Flood::StdSyncChannel => "std_sync_channel_1024_to_os",
            Flood::StdChannel => "std_channel_to_os",
        }
    }

    /// `FLOOD_PRODUCERS` threads put `each` items apiece; the time from the
    /// start signal to the last item taken (the sum is checked, so nothing
    /// was lost or duplicated).
    fn run(self, each: u64) -> Duration {
        let go = Arc::new(Barrier::new(FLOOD_PRODUCERS as usize + 1));
        let want = FLOOD_PRODUCERS * each * (each - 1) / 2;
        let produce = |put: Box<dyn Fn(u64) + Send>| {
            let go = go.clone();
            thread::spawn(move || {
                go.wait();
                (0..each).for_each(&put);
            })
        };
        let (took, producers) = match self {
            Flood::WeftBounded | Flood::WeftUnbounded => {
                let q = match self {
                    Flood::WeftBounded => PollableQueue::bounded(FLOOD_CAP).unwrap(),
                    _ => PollableQueue::new().unwrap(),
                };
                let producers: Vec<_> = (0..FLOOD_PRODUCERS)
                    .map(|_| {
                        let tx = q.sender();
                        produce(Box::new(move |i| tx.put(i).unwrap()))
                    })
                    .collect();
                let go = go.clone();
                let took = Runtime::new()
                    .unwrap()
                    .block_on(move || {
                        go.wait();
                        let started = Instant::now();
                        let sum: u64 = std::iter::from_fn(|| q.get().ok()).sum();
                        assert_eq!(sum, want);
                        started.elapsed()
                    })
                    .unwrap();
                (took, producers)
            }
            Flood::StdSyncChannel | Flood::StdChannel => {
                let (producers, rx) = if let Flood::StdSyncChannel = self {
                    let (tx, rx) = mpsc::sync_channel(FLOOD_CAP);
                    let p: Vec<_> = (0..FLOOD_PRODUCERS)
                        .map(|_| {
                            let tx = tx.clone();
                            produce(Box::new(move |i| tx.send(i).unwrap()))
                        })
                        .collect();
                    (p, rx)
                } else {
                    let (tx, rx) = mpsc::channel();
                    let p: Vec<_> = (0..FLOOD_PRODUCERS)
                        .map(|_| {
                            let tx = tx.clone();
                            produce(Box::new(move |i| tx.send(i).unwrap()))
                        })
                        .collect();
                    (p, rx)
                };
                go.wait();
                let started = Instant::now();
                let sum: u64 = rx.iter().sum();
                assert_eq!(sum, want);
                (started.elapsed(), producers)
            }
        };
        producers.into_iter().for_each(|p| p.join().unwrap());
        took
    }
}

fn flood(c: &mut Criterion) {
    const EACH: u64 = 25_000;
    let mut g = c.benchmark_group("bridge_flood_8_producers");
    g.throughput(Throughput::Elements(FLOOD_PRODUCERS * EACH))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for kind in Flood::ALL {
        g.bench_function(kind.name(), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| kind.run(EACH)).sum())
        });
    }
    g.finish();
}

/// The issue's figure: 8 × 1,000,000 items (`WEFT_FLOOD_EACH` to change
/// it), each queue three times in turn (so load changes hit all four
/// alike), median in M items/s.
fn flood_summary(_: &mut Criterion) {
    // `cargo test --benches` runs this once without `--bench`, unoptimised:
    // a smoke test of a thousand items, not the figure.
    let benching = std::env::args().any(|a| a == "--bench");
    let each: u64 = std::env::var("WEFT_FLOOD_EACH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 1_000 });
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); Flood::ALL.len()];
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    for _ in 0..3 {
        for (k, kind) in Flood::ALL.into_iter().enumerate() {
            let took = kind.run(each);
            rates[k].push((FLOOD_PRODUCERS * each) as f64 / took.as_secs_f64() / 1e6);
        }
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "bridge_flood {FLOOD_PRODUCERS} producers x {each} items; loadavg before: {} after: {}",
        load_before.trim(),
        load_after.trim()
    );
    for (kind, mut r) in Flood::ALL.into_iter().zip(rates) {
        r.sort_by(f64::total_cmp);
        println!(
            "  {:<40} median {:6.2} M items/s (runs {:.2} {:.2} {:.2})",
            kind.name(),
            r[1],
            r[0],
            r[1],
            r[2]
        );
    }
}

criterion_group!(
    benches,
    throughput,
    wake_latency,
    wake_percentiles,
    flood,
    flood_summary
);
criterion_main!(benches);
