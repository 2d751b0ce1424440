//! spawn_blocking: work on OS worker threads while the loop runs on.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use util::block_on;
use weft::{sleep, spawn, spawn_blocking, JoinError, Runtime};

#[test]
fn the_value_comes_back_to_the_caller() {
    let v = block_on(|| spawn_blocking(|| 2i32.pow(3)));
    assert_eq!(v.unwrap(), 8);
}

#[test]
fn a_panic_on_the_worker_reaches_the_caller_as_err_and_the_pool_goes_on() {
    let (first, second) = Runtime::builder()
        .max_blocking_threads(1)
        .build()
        .unwrap()
        .block_on(|| {
            let first = spawn_blocking(|| -> u8 { panic!("worker boom") });
            // The same (only) worker serves the next job.
            (
                first,
                spawn_blocking(|| thread::current().name().map(str::to_owned)),
            )
        })
        .unwrap();
    match first {
        Err(JoinError::Panicked(p)) => assert_eq!(p.downcast_ref::<&str>(), Some(&"worker boom")),
        Err(_) => panic!("expected the panic payload"),
        Ok(_) => panic!("a panicking job returned a value"),
    }
    assert_eq!(second.unwrap().as_deref(), Some("weft-blocking"));
}

#[test]
fn ticks_continue_during_an_offloaded_job() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let seen = ticks.clone();
    block_on(move || {
        let ticker = weft::task::Builder::new()
            .daemon(true)
            .spawn(move || loop {
                sleep(Duration::from_millis(10));
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        spawn_blocking(|| thread::sleep(Duration::from_millis(200))).unwrap();
        drop(ticker);
    });
    let n = ticks.load(Ordering::SeqCst);
    assert!(n >= 5, "only {n} ticks while the job ran on a worker");
}

#[test]
fn the_pool_never_runs_more_jobs_at_once_than_max_blocking_threads() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let results = Runtime::builder()
        .max_blocking_threads(2)
        .build()
        .unwrap()
        .block_on({
            let (running, peak) = (running.clone(), peak.clone());
            move || {
                let callers: Vec<_> = (0..6)
                    .map(|i| {
                        let (running, peak) = (running.clone(), peak.clone());
                        spawn(move || {
                            spawn_blocking(move || {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                peak.fetch_max(now, Ordering::SeqCst);
                                thread::sleep(Duration::from_millis(60));
                                running.fetch_sub(1, Ordering::SeqCst);
                                i * 10
                            })
                            .unwrap()
                        })
                    })
                    .collect();
                callers
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            }
        })
        .unwrap();
    assert_eq!(results, [0, 10, 20, 30, 40, 50]);
    // Queued jobs waited for a free worker; both workers were used.
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}

#[test]
fn a_caller_parked_on_a_job_is_not_a_deadlock_and_can_be_cancelled() {
    let r = block_on(|| {
        let waiter = spawn(|| spawn_blocking(|| thread::sleep(Duration::from_secs(1))));
        sleep(Duration::from_millis(20));
        waiter.cancel();
        let started = Instant::now();
        let r = waiter.join();
        (r.is_err(), started.elapsed())
    });
    assert!(r.0, "the cancelled caller returned a value");
    assert!(
        r.1 < Duration::from_millis(500),
        "cancel waited for the job"
    );
}

#[test]
fn outside_a_green_thread_the_call_runs_in_place() {
    let here = thread::current().id();
    assert!(spawn_blocking(move || thread::current().id() == here).unwrap());
    assert!(spawn_blocking(|| panic!("inline boom"))
        .unwrap_err()
        .is_panic());
}
