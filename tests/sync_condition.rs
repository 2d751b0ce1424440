//! Condition and Event: FIFO notification, timeouts racing notifications,
//! RLock count restore, cancellation.

mod util;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{block_on, blocked, expect_deadlock, Log};
use weft::sync::{Condition, Event, Lock, Mutex, RLock};
use weft::{spawn, yield_now, JoinHandle};

/// Spawns `n` tasks that wait on `cond` once and log when they wake.
fn waiters(cond: &Rc<Condition>, log: &Log, n: usize) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let (cond, log) = (cond.clone(), log.clone());
            spawn(move || {
                let mut g = cond.lock();
                cond.wait(&mut g);
                log.push(format!("woke {i}"));
            })
        })
        .collect()
}

/// Spawns a task that waits on `cond` for at most `timeout`; it returns
/// whether it was notified.
fn timed_waiter(cond: &Rc<Condition>, timeout: Duration) -> JoinHandle<bool> {
    let cond = cond.clone();
    spawn(move || {
        let mut g = cond.lock();
        cond.wait_timeout(&mut g, timeout)
    })
}

#[test]
fn notify_n_wakes_the_n_oldest_waiters() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let cond = Rc::new(Condition::new());
        let tasks = waiters(&cond, &l, 5);
        yield_now(); // all five wait, in spawn order
        {
            let g = cond.lock();
            cond.notify(&g, 2);
        }
        yield_now();
        yield_now();
        l.push("--");
        {
            let g = cond.lock();
            cond.notify(&g, 1);
        }
        yield_now();
        yield_now();
        l.push("--");
        let g = cond.lock();
        cond.notify_all(&g);
        drop(g);
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    assert_eq!(
        log.lines(),
        ["woke 0", "woke 1", "--", "woke 2", "--", "woke 3", "woke 4"]
    );
}

#[test]
fn notifying_does_not_switch_tasks() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let cond = Rc::new(Condition::new());
        let tasks = waiters(&cond, &l, 2);
        yield_now();
        let g = cond.lock();
        cond.notify_all(&g);
        l.push("notifier still running");
        drop(g);
        l.push("notifier released the lock");
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    assert_eq!(
        log.lines(),
        [
            "notifier still running",
            "notifier released the lock",
            "woke 0",
            "woke 1"
        ]
    );
}

#[test]
fn wait_timeout_returns_false_with_the_lock_held_again() {
    block_on(|| {
        let cond = Condition::new();
        let mut g = cond.lock();
        let start = Instant::now();
        assert!(!cond.wait_timeout(&mut g, Duration::from_millis(30)));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        assert!(cond.as_lock().is_locked());
        drop(g);
        assert!(!cond.as_lock().is_locked());
    });
}

#[test]
fn timeout_racing_a_notify_is_resolved_once() {
    // The timer fires first: the notification goes to the next waiter.
    block_on(|| {
        let cond = Rc::new(Condition::new());
        let early = timed_waiter(&cond, Duration::from_millis(10));
        let patient = timed_waiter(&cond, Duration::from_secs(10));
        yield_now();
        std::thread::sleep(Duration::from_millis(30)); // past the early deadline
        yield_now(); // the loop turns and fires the early timer
        let g = cond.lock();
        cond.notify(&g, 1);
        drop(g);
        assert!(!early.join().unwrap(), "the early waiter timed out");
        assert!(patient.join().unwrap(), "the notification was not lost");
    });
    // The notify comes first: the waiter reports it, the late timer is moot.
    block_on(|| {
        let cond = Rc::new(Condition::new());
        let early = timed_waiter(&cond, Duration::from_millis(10));
        let patient = timed_waiter(&cond, Duration::from_millis(50));
        yield_now();
        std::thread::sleep(Duration::from_millis(30));
        let g = cond.lock();
        cond.notify(&g, 1);
        drop(g);
        assert!(early.join().unwrap(), "notified before its timer was seen");
        assert!(!patient.join().unwrap(), "exactly one waiter was notified");
    });
}

#[test]
fn wait_for_rechecks_the_predicate() {
    block_on(|| {
        let cond = Rc::new(Condition::new());
        let level = Rc::new(Cell::new(0));
        let (c, l) = (cond.clone(), level.clone());
        let waiter = spawn(move || {
            let mut g = c.lock();
            c.wait_for(&mut g, |_| l.get() >= 3);
            l.get()
        });
        for _ in 0..3 {
            yield_now();
            let g = cond.lock();
            level.set(level.get() + 1);
            cond.notify_all(&g);
        }
        assert_eq!(waiter.join().unwrap(), 3);
        let mut g = cond.lock();
        assert!(!cond.wait_for_timeout(&mut g, Duration::from_millis(10), |_| false));
        assert!(cond.wait_for_timeout(&mut g, Duration::from_millis(10), |_| true));
    });
}

#[test]
fn waiting_with_an_rlock_restores_the_whole_count() {
    block_on(|| {
        let lock = Rc::new(RLock::new());
        let cond = Rc::new(Condition::with_lock(lock.clone()));
        let (c, l) = (cond.clone(), lock.clone());
        let waiter = spawn(move || {
            let _outer = l.lock();
            let _middle = l.lock();
            let mut g = c.lock();
            assert_eq!(l.count(), 3);
            c.wait(&mut g);
            (l.count(), l.is_owned())
        });
        yield_now();
        // The waiter let go of all three levels, so main can take the lock.
        assert!(!lock.is_locked());
        let g = cond.lock();
        cond.notify(&g, 1);
        drop(g);
        assert_eq!(waiter.join().unwrap(), (3, true));
        assert!(!lock.is_locked(), "every guard released its level");
    });
}

#[test]
fn conditions_can_share_a_lock_and_a_mutex() {
    block_on(|| {
        let items = Rc::new(Mutex::new(Vec::new()));
        let not_empty = Rc::new(Condition::with_lock(items.clone()));
        let (ne, it) = (not_empty.clone(), items.clone());
        let consumer = spawn(move || {
            let mut g = ne.lock();
            ne.wait_for(&mut g, |v| !v.is_empty());
            let got = g.pop();
            drop(g);
            (got, it.is_locked())
        });
        yield_now();
        let mut g = items.lock();
        g.push("hello");
        not_empty.notify(&g, 1);
        drop(g);
        assert_eq!(consumer.join().unwrap(), (Some("hello"), false));

        let lock = Rc::new(Lock::new());
        let a = Condition::with_lock(lock.clone());
        let b = Condition::with_lock(lock.clone());
        let g = lock.lock(); // a guard of the shared lock works with both
        a.notify_all(&g);
        b.notify(&g, 1);
    });
}

#[test]
#[should_panic(expected = "the guard holds a different lock")]
fn a_guard_of_another_lock_is_refused() {
    block_on(|| {
        let cond = Condition::new();
        let other = Lock::new();
        let mut g = other.lock();
        cond.wait(&mut g);
    });
}

#[test]
fn a_cancelled_waiter_passes_its_notification_on() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let cond = Rc::new(Condition::new());
        let mut tasks = waiters(&cond, &l, 3);
        yield_now();
        let g = cond.lock();
        cond.notify(&g, 1); // to waiter 0 ...
        drop(g);
        tasks[0].cancel(); // ... which unwinds before it runs
        let first = tasks.remove(0);
        assert!(first.join().unwrap_err().is_cancelled());
        yield_now();
        l.push("--");
        let g = cond.lock();
        cond.notify_all(&g);
        drop(g);
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert!(!cond.as_lock().is_locked());
    });
    assert_eq!(log.lines(), ["woke 1", "--", "woke 2"]);
}

#[test]
fn cancellation_is_sticky_in_condition_waits() {
    block_on(|| {
        let cond = Rc::new(Condition::new());
        let c = cond.clone();
        let stubborn = spawn(move || {
            let mut g = c.lock();
            let first = catch_unwind(AssertUnwindSafe(|| c.wait(&mut g)));
            assert!(first.is_err());
            drop(g); // it no longer holds the lock: releases nothing
            let _g = c.lock(); // the lock is free, so no park ...
            weft::yield_now(); // ... but the next suspension unwinds again
            unreachable!("cancellation is sticky");
        });
        yield_now();
        stubborn.cancel();
        assert!(stubborn.join().unwrap_err().is_cancelled());
        assert!(!cond.as_lock().is_locked());
    });
}

#[test]
fn a_waiter_nobody_notifies_is_a_reported_deadlock() {
    let report = expect_deadlock(|| {
        let cond = Condition::new();
        let mut g = cond.lock();
        cond.wait(&mut g);
    });
    assert_eq!(
        blocked(&report),
        [("main".to_owned(), "Condition".to_owned())]
    );
}

#[test]
fn event_set_wakes_every_waiter_in_arrival_order() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let event = Rc::new(Event::new());
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (e, l) = (event.clone(), l.clone());
                spawn(move || {
                    e.wait();
                    l.push(format!("woke {i}"));
                })
            })
            .collect();
        yield_now();
        event.set();
        l.push("setter runs on");
        tasks.into_iter().for_each(|t| t.join().unwrap());
        event.wait(); // sticky: returns at once
        assert!(event.wait_timeout(Duration::ZERO));
    });
    assert_eq!(
        log.lines(),
        ["setter runs on", "woke 0", "woke 1", "woke 2"]
    );
}

#[test]
fn event_set_then_clear_releases_present_waiters_only() {
    block_on(|| {
        let event = Rc::new(Event::new());
        let e = event.clone();
        let early = spawn(move || e.wait_timeout(Duration::from_secs(10)));
        yield_now();
        event.set();
        event.clear();
        let e = event.clone();
        let late = spawn(move || e.wait_timeout(Duration::from_millis(20)));
        assert!(early.join().unwrap(), "present at set: released");
        assert!(!late.join().unwrap(), "came after clear: timed out");
        assert!(!event.is_set());
    });
}

#[test]
fn event_wait_timeout_gives_up() {
    block_on(|| {
        let event = Event::new();
        let start = Instant::now();
        assert!(!event.wait_timeout(Duration::from_millis(30)));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    });
}

#[test]
fn cancellation_is_sticky_in_event_waits() {
    block_on(|| {
        let event = Rc::new(Event::new());
        let e = event.clone();
        let stubborn = spawn(move || {
            assert!(catch_unwind(AssertUnwindSafe(|| e.wait())).is_err());
            e.wait();
            unreachable!("cancellation is sticky");
        });
        yield_now();
        stubborn.cancel();
        assert!(stubborn.join().unwrap_err().is_cancelled());
    });
}
