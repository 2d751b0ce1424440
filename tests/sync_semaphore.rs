//! Semaphore, BoundedSemaphore and Barrier: the seed's Semaphore(0) worker
//! pool (AS-10), over-release, FIFO handoff, timeouts, cancellation.

mod util;

use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{block_on, blocked, expect_deadlock, Log};
use weft::sync::{Barrier, BoundedSemaphore, ReleaseError, Semaphore};
use weft::{spawn, task, yield_now, Runtime};

/// AS-10: ten workers block on `Semaphore(0)` in spawn order; main releases
/// `releases` times, yielding after each.
fn worker_pool(log: &Log, releases: usize, daemon: bool) -> Result<(), weft::RunError> {
    let log = log.clone();
    Runtime::new().unwrap().block_on(move || {
        let sema = Rc::new(Semaphore::new(0));
        for n in 0..10 {
            let (sema, log) = (sema.clone(), log.clone());
            task::Builder::new()
                .name(format!("worker-{n}"))
                .daemon(daemon)
                .spawn(move || {
                    sema.acquire();
                    log.push(format!("Working {n}"));
                })
                .unwrap();
        }
        yield_now(); // every worker parks, in order
        for _ in 0..releases {
            sema.release();
            yield_now();
        }
    })
}

#[test]
fn as10_each_release_lets_the_oldest_worker_go() {
    let log = Log::new();
    worker_pool(&log, 10, false).unwrap();
    let expected: Vec<String> = (0..10).map(|n| format!("Working {n}")).collect();
    assert_eq!(log.lines(), expected);
}

#[test]
fn as10_too_few_releases_is_a_deadlock_naming_eight_workers() {
    let log = Log::new();
    let report = match worker_pool(&log, 2, false) {
        Err(weft::RunError::Deadlock(report)) => report,
        other => panic!("expected a deadlock, got {other:?}"),
    };
    assert_eq!(log.lines(), ["Working 0", "Working 1"]);
    let expected: Vec<(String, String)> = (2..10)
        .map(|n| (format!("worker-{n}"), "Semaphore".to_owned()))
        .collect();
    assert_eq!(blocked(&report), expected);
    assert!(
        report
            .to_string()
            .starts_with("deadlock: 8 task(s) blocked"),
        "{report}"
    );
}

#[test]
fn as10_daemon_workers_let_the_run_finish() {
    let log = Log::new();
    worker_pool(&log, 2, true).unwrap();
    assert_eq!(log.lines(), ["Working 0", "Working 1"]);
}

#[test]
fn a_release_is_handed_over_not_left_for_a_barging_acquire() {
    block_on(|| {
        let sema = Rc::new(Semaphore::new(0));
        let s = sema.clone();
        let waiter = spawn(move || s.acquire_timeout(Duration::from_secs(10)));
        yield_now();
        sema.release();
        assert_eq!(sema.available_permits(), 0, "the permit went to the waiter");
        assert!(!sema.try_acquire());
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn a_plain_semaphore_may_grow_past_its_start() {
    let sema = Semaphore::new(1);
    sema.release();
    assert_eq!(sema.available_permits(), 2);
    assert!(sema.try_acquire() && sema.try_acquire() && !sema.try_acquire());
}

#[test]
fn over_releasing_a_bounded_semaphore_is_an_error() {
    block_on(|| {
        let candy = BoundedSemaphore::new(3);
        assert!(candy.try_acquire());
        candy.release().unwrap();
        let err = candy.release().unwrap_err();
        assert_eq!(err, ReleaseError::TooManyReleases);
        assert_eq!(err.to_string(), "Semaphore released too many times");
        assert_eq!(candy.available_permits(), 3, "nothing changed");
        {
            let _p = candy.permit();
            assert_eq!(candy.available_permits(), 2);
        }
        assert_eq!(candy.available_permits(), 3);
        assert_eq!(
            BoundedSemaphore::new(0).release(),
            Err(ReleaseError::TooManyReleases)
        );
    });
}

#[test]
fn bounded_semaphore_waiters_are_served_in_order() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let sema = Rc::new(BoundedSemaphore::new(1));
        sema.acquire();
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (s, l) = (sema.clone(), l.clone());
                spawn(move || {
                    s.acquire();
                    l.push(format!("got {i}"));
                    s.release().unwrap();
                })
            })
            .collect();
        yield_now();
        sema.release().unwrap();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(sema.available_permits(), 1);
    });
    assert_eq!(log.lines(), ["got 0", "got 1", "got 2"]);
}

#[test]
fn acquire_timeout_gives_up_and_a_late_release_goes_to_the_count() {
    block_on(|| {
        let sema = Rc::new(Semaphore::new(0));
        let s = sema.clone();
        let start = Instant::now();
        let waiter = spawn(move || s.acquire_timeout(Duration::from_millis(30)));
        assert!(!waiter.join().unwrap());
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        sema.release();
        assert_eq!(sema.available_permits(), 1);
    });
}

#[test]
fn a_cancelled_waiter_passes_a_handed_permit_on() {
    block_on(|| {
        let sema = Rc::new(Semaphore::new(0));
        let s = sema.clone();
        let doomed = spawn(move || s.acquire());
        let s = sema.clone();
        let next = spawn(move || s.acquire_timeout(Duration::from_secs(10)));
        yield_now();
        sema.release(); // handed to `doomed` ...
        doomed.cancel(); // ... which unwinds before it runs
        assert!(doomed.join().unwrap_err().is_cancelled());
        assert!(next.join().unwrap(), "the permit was passed on");
        assert_eq!(sema.available_permits(), 0);
    });
}

#[test]
fn barrier_releases_each_round_together() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let barrier = Rc::new(Barrier::new(3));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (b, l) = (barrier.clone(), l.clone());
                spawn(move || {
                    for round in 0..2 {
                        l.push(format!("{i} arrives {round}"));
                        if b.wait().is_leader() {
                            l.push(format!("{i} leads {round}"));
                        }
                    }
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    assert_eq!(
        log.lines(),
        [
            "0 arrives 0",
            "1 arrives 0",
            "2 arrives 0",
            "2 leads 0",
            "2 arrives 1",
            "0 arrives 1",
            "1 arrives 1",
            "1 leads 1",
        ]
    );
}

#[test]
fn a_cancelled_barrier_waiter_no_longer_counts() {
    block_on(|| {
        let barrier = Rc::new(Barrier::new(2));
        let b = barrier.clone();
        let doomed = spawn(move || b.wait());
        yield_now();
        assert_eq!(barrier.n_waiting(), 1);
        doomed.cancel();
        assert!(doomed.join().unwrap_err().is_cancelled());
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn a_starved_barrier_is_a_reported_deadlock() {
    let report = expect_deadlock(|| {
        Barrier::new(2).wait();
    });
    assert_eq!(
        blocked(&report),
        [("main".to_owned(), "Barrier".to_owned())]
    );
}
