//! Lock, RLock and Mutex: FIFO handoff, errors, timeouts, cancellation,
//! deadlock reports.

mod util;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{block_on, blocked, expect_deadlock, spawn_named, Log};
use weft::sync::{Lock, Mutex, RLock, ReleaseError};
use weft::{spawn, yield_now};

/// Spawns `n` tasks that each take `lock`, log, and release; returns their handles.
fn contenders(lock: &Rc<Lock>, log: &Log, n: usize) -> Vec<weft::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let (lock, log) = (lock.clone(), log.clone());
            spawn(move || {
                let _g = lock.lock();
                log.push(format!("got {i}"));
            })
        })
        .collect()
}

#[test]
fn waiters_get_the_lock_in_arrival_order() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let lock = Rc::new(Lock::new());
        let guard = lock.lock();
        let tasks = contenders(&lock, &l, 4);
        yield_now(); // all four park, in spawn order
        drop(guard);
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    assert_eq!(log.lines(), ["got 0", "got 1", "got 2", "got 3"]);
}

#[test]
fn release_hands_over_so_a_releaser_cannot_barge_back_in() {
    block_on(|| {
        let lock = Rc::new(Lock::new());
        lock.acquire();
        let l = lock.clone();
        let waiter = spawn(move || l.acquire_timeout(Duration::from_secs(10)));
        yield_now(); // the waiter parks
        lock.release().unwrap();
        // Without yielding, the releaser tries to take the lock back: it was
        // handed to the waiter already, so it is still locked.
        assert!(lock.is_locked());
        assert!(!lock.try_acquire());
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn releasing_an_unlocked_lock_is_an_error_and_changes_nothing() {
    let lock = Lock::new();
    let err = lock.release().unwrap_err();
    assert_eq!(err, ReleaseError::Unlocked);
    assert_eq!(err.to_string(), "release unlocked lock");
    assert!(!lock.is_locked());
    assert!(lock.try_acquire());
    assert!(!lock.try_acquire());
    assert_eq!(lock.release(), Ok(()));
}

#[test]
fn try_lock_and_lock_timeout() {
    block_on(|| {
        let lock = Lock::new();
        let g = lock.try_lock().expect("free");
        assert!(lock.try_lock().is_none());
        let start = Instant::now();
        assert!(lock.lock_timeout(Duration::from_millis(30)).is_none());
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(30),
            "gave up after {waited:?}"
        );
        assert!(waited < Duration::from_secs(5), "gave up after {waited:?}");
        drop(g);
        assert!(lock.lock_timeout(Duration::from_millis(30)).is_some());
    });
}

/// A waiter whose timeout fires in the same turn as the release: exactly
/// one of them wins, and the lock is never lost.
#[test]
fn timeout_racing_a_release_is_resolved_once() {
    // Timer first: the timed-out waiter reports failure and the release goes
    // to the next waiter.
    block_on(|| {
        let lock = Rc::new(Lock::new());
        let guard = lock.lock();
        let l = lock.clone();
        let first = spawn(move || l.acquire_timeout(Duration::from_millis(10)));
        let l = lock.clone();
        let second = spawn(move || l.acquire_timeout(Duration::from_secs(10)));
        yield_now();
        std::thread::sleep(Duration::from_millis(30)); // hog the loop past the deadline
        yield_now(); // the loop turns: the first waiter's timer fires
        drop(guard); // its unpark fails; the lock goes to the second
        assert!(!first.join().unwrap());
        assert!(second.join().unwrap());
        assert!(lock.is_locked(), "the second waiter never released it");
    });
    // Release first: the waiter got the lock, and its timer firing later
    // changes nothing.
    block_on(|| {
        let lock = Rc::new(Lock::new());
        let guard = lock.lock();
        let l = lock.clone();
        let first = spawn(move || {
            let got = l.acquire_timeout(Duration::from_millis(10));
            let held = l.is_locked();
            (got, held)
        });
        yield_now();
        std::thread::sleep(Duration::from_millis(30));
        drop(guard); // before the loop sees the expired timer
        assert_eq!(first.join().unwrap(), (true, true));
    });
}

#[test]
fn a_cancelled_waiter_passes_a_handed_lock_on() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let lock = Rc::new(Lock::new());
        let guard = lock.lock();
        let mut tasks = contenders(&lock, &l, 3);
        yield_now();
        drop(guard); // handed to task 0 ...
        tasks[0].cancel(); // ... which unwinds before it runs
        let first = tasks.remove(0);
        assert!(first.join().unwrap_err().is_cancelled());
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert!(!lock.is_locked());
    });
    assert_eq!(log.lines(), ["got 1", "got 2"]);
}

#[test]
fn a_cancelled_waiter_is_skipped() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let lock = Rc::new(Lock::new());
        let guard = lock.lock();
        let tasks = contenders(&lock, &l, 3);
        yield_now();
        tasks[1].cancel(); // cancelled while parked, before the release
        drop(guard);
        let results: Vec<_> = tasks.into_iter().map(|t| t.join().is_ok()).collect();
        assert_eq!(results, [true, false, true]);
    });
    assert_eq!(log.lines(), ["got 0", "got 2"]);
}

#[test]
fn cancellation_is_sticky_in_lock_waits() {
    block_on(|| {
        let lock = Rc::new(Lock::new());
        let _guard = lock.lock();
        let l = lock.clone();
        let stubborn = spawn(move || {
            let first = catch_unwind(AssertUnwindSafe(|| l.acquire()));
            assert!(first.is_err(), "the cancelled wait unwinds");
            l.acquire(); // unwinds again: cancellation is sticky
            unreachable!("a cancelled task acquired a held lock");
        });
        yield_now();
        stubborn.cancel();
        assert!(stubborn.join().unwrap_err().is_cancelled());
    });
}

#[test]
fn rlock_is_reentrant_and_only_its_owner_may_release_it() {
    block_on(|| {
        let lock = Rc::new(RLock::new());
        lock.acquire();
        lock.acquire();
        assert_eq!(lock.count(), 2);
        assert!(lock.is_owned());
        let l = lock.clone();
        let stranger = spawn(move || {
            let err = l.release().unwrap_err();
            (err, err.to_string(), l.try_acquire(), l.is_owned())
        });
        let (err, msg, took, owned) = stranger.join().unwrap();
        assert_eq!(err, ReleaseError::NotOwner);
        assert_eq!(msg, "cannot release un-acquired lock");
        assert!(!took && !owned);
        assert_eq!(lock.count(), 2, "a refused release changes nothing");
        lock.release().unwrap();
        lock.release().unwrap();
        assert!(!lock.is_locked());
        assert_eq!(lock.release(), Err(ReleaseError::NotOwner));
    });
}

#[test]
fn rlock_hands_over_in_arrival_order_once_fully_released() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let lock = Rc::new(RLock::new());
        let outer = lock.lock();
        let inner = lock.lock();
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (lock, log) = (lock.clone(), l.clone());
                spawn(move || {
                    let _g = lock.lock();
                    log.push(format!("got {i} count {}", lock.count()));
                })
            })
            .collect();
        yield_now();
        drop(inner);
        assert!(lock.is_owned(), "still held once");
        drop(outer);
        assert!(!lock.is_owned(), "handed to the oldest waiter");
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    assert_eq!(
        log.lines(),
        ["got 0 count 1", "got 1 count 1", "got 2 count 1"]
    );
}

#[test]
fn rlock_acquire_timeout_gives_up() {
    block_on(|| {
        let lock = Rc::new(RLock::new());
        let _g = lock.lock();
        let l = lock.clone();
        let other = spawn(move || l.acquire_timeout(Duration::from_millis(20)));
        assert!(!other.join().unwrap());
    });
}

#[test]
fn mutex_serialises_access_without_poisoning() {
    block_on(|| {
        let m = Rc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let m = m.clone();
                spawn(move || {
                    let mut v = m.lock();
                    v.push(i);
                    yield_now(); // still held: the others queue
                    v.push(i);
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*m.lock(), [0, 0, 1, 1, 2, 2]);
        let m2 = m.clone();
        let panicker = spawn(move || {
            let _g = m2.lock();
            panic!("boom");
        });
        assert!(panicker.join().unwrap_err().is_panic());
        assert!(!m.is_locked(), "unwinding released the mutex");
        m.lock().push(9); // no poisoning
        assert!(m.try_lock().is_some());
    });
}

#[test]
fn a_lock_cycle_is_reported_as_a_deadlock() {
    let report = expect_deadlock(|| {
        let a = Rc::new(Lock::new());
        let b = Rc::new(Lock::new());
        let (a1, b1) = (a.clone(), b.clone());
        spawn_named("left", move || {
            let _a = a1.lock();
            yield_now();
            let _b = b1.lock();
        });
        spawn_named("right", move || {
            let _b = b.lock();
            yield_now();
            let _a = a.lock();
        });
    });
    let mut tasks = blocked(&report);
    tasks.sort();
    assert_eq!(
        tasks,
        [
            ("left".to_owned(), "Lock".to_owned()),
            ("right".to_owned(), "Lock".to_owned())
        ]
    );
    assert!(
        report.to_string().contains("'left' waits on Lock"),
        "{report}"
    );
}

#[test]
fn acquiring_a_lock_twice_in_one_task_is_a_reported_deadlock() {
    let report = expect_deadlock(|| {
        let lock = Lock::new();
        lock.acquire();
        lock.acquire();
    });
    assert_eq!(blocked(&report), [("main".to_owned(), "Lock".to_owned())]);
}

#[test]
fn waiting_outside_a_green_thread_fails_loudly() {
    let lock = Lock::new();
    lock.acquire(); // free: no wait, fine anywhere
    let err = catch_unwind(AssertUnwindSafe(|| lock.acquire())).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("`Lock` was called outside a green thread"),
        "{msg}"
    );
    let err = catch_unwind(|| RLock::new().acquire()).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("`RLock` was called outside a green thread"),
        "{msg}"
    );
}
