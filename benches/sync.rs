//! Green sync handoff (`Lock`, `Queue`) between two green threads, against its floor: a `std::sync::Mutex` + `Condvar` handoff between two OS threads.
//!
//! Every figure is one round trip: control goes from one side to the other
//! and back (two handoffs). Run with `cargo bench --bench sync`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::rc::Rc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use weft::sync::{Lock, Queue};
use weft::{spawn, yield_now, Runtime};

/// `iters` round trips of a green `Lock` handed back and forth: each side
/// releases (handing the lock to the other, parked in `acquire`) and then
/// parks in `acquire` itself until it is handed back.
fn green_lock_round_trips(iters: u64) -> Duration {
    let rt = Runtime::new().unwrap();
    rt.block_on(move || {
        let lock = Rc::new(Lock::new());
        lock.acquire();
        let l = lock.clone();
        let partner = spawn(move || {
            for _ in 0..iters {
                l.acquire();
                l.release().unwrap();
            }
        });
        yield_now(); // the partner parks in acquire
        let start = Instant::now();
        for _ in 0..iters {
            lock.release().unwrap();
            lock.acquire();
        }
        let elapsed = start.elapsed();
        lock.release().unwrap();
        partner.join().unwrap();
        elapsed
    })
    .unwrap()
}

/// `iters` round trips of an item through two green queues: ping, pong.
fn green_queue_round_trips(iters: u64) -> Duration {
    let rt = Runtime::new().unwrap();
    rt.block_on(move || {
        let ping = Rc::new(Queue::new(0));
        let pong = Rc::new(Queue::new(0));
        let (pi, po) = (ping.clone(), pong.clone());
        let partner = spawn(move || {
            for _ in 0..iters {
                let x: u64 = pi.get().unwrap();
                po.put(x).unwrap();
            }
        });
        yield_now(); // the partner parks in get
        let start = Instant::now();
        for i in 0..iters {
            ping.put(i).unwrap();
            let back = pong.get().unwrap();
            debug_assert_eq!(back, i);
        }
        let elapsed = start.elapsed();
        partner.join().unwrap();
        elapsed
    })
    .unwrap()
}

/// The floor: `iters` round trips of a turn flag handed between two OS
/// threads with a `std::sync::Mutex` and a `Condvar`.
fn os_condvar_round_trips(iters: u64) -> Duration {
    let shared = Arc::new((Mutex::new(false), Condvar::new()));
    let ready = Arc::new(Barrier::new(2));
    let (s, r) = (shared.clone(), ready.clone());
    // `true` means it is the partner's turn.
    let partner = thread::spawn(move || {
        let (turn, cv) = &*s;
        r.wait();
        for _ in 0..iters {
            let mut t = cv.wait_while(turn.lock().unwrap(), |t| !*t).unwrap();
            *t = false;
            cv.notify_one();
        }
    });
    let (turn, cv) = &*shared;
    ready.wait();
    let start = Instant::now();
    for _ in 0..iters {
        let mut t = turn.lock().unwrap();
        *t = true;
        cv.notify_one();
        drop(cv.wait_while(t, |t| *t).unwrap());
    }
    let elapsed = start.elapsed();
    partner.join().unwrap();
    elapsed
}

fn handoff(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff_round_trip");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("green_lock", |b| b.iter_custom(green_lock_round_trips));
    group.bench_function("green_queue", |b| b.iter_custom(green_queue_round_trips));
    group.bench_function("os_threads_mutex_condvar", |b| {
        b.iter_custom(os_condvar_round_trips)
    });
    group.finish();
}

criterion_group!(benches, handoff);
criterion_main!(benches);
