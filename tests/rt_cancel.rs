//! Cancellation: the task unwinds at its current or next suspension point,
//! its destructors run, and `join` gives `Cancelled`.

mod util;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use util::{block_on, Drops, Log};
use weft::park::{park, Reason};
use weft::{sleep, spawn, yield_now};

#[test]
fn cancel_a_parked_task() {
    let drops = Drops::new();
    let log = Log::new();
    let (d, l) = (drops.clone(), log.clone());
    block_on(move || {
        let (d2, l2) = (d.clone(), l.clone());
        let t = spawn(move || {
            let _guard = d2.guard();
            l2.push("parking");
            park(Reason::Primitive("Event"));
            l2.push("resumed normally");
        });
        yield_now();
        assert_eq!(d.count(), 0);
        t.cancel();
        l.push("cancel returned");
        assert!(
            !t.is_finished(),
            "the unwind happens when the task runs next"
        );
        let err = t.join().unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(d.count(), 1);
    });
    assert_eq!(log.take(), ["parking", "cancel returned"]);
}

#[test]
fn cancel_a_sleeping_task_ends_it_early() {
    block_on(|| {
        let drops = Drops::new();
        let d = drops.clone();
        let t = spawn(move || {
            let _guard = d.guard();
            sleep(Duration::from_secs(3600));
        });
        yield_now();
        t.cancel();
        assert!(t.join().unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);
    });
}

#[test]
fn cancel_a_ready_task_unwinds_at_its_next_suspension_point() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let drops = Drops::new();
        let (d, l2) = (drops.clone(), l.clone());
        let t = spawn(move || {
            let _guard = d.guard();
            l2.push("first slice");
            yield_now();
            l2.push("second slice");
        });
        yield_now(); // t runs its first slice and is ready again
        t.cancel();
        assert!(t.join().unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);
    });
    assert_eq!(log.take(), ["first slice"]);
}

#[test]
fn a_cancelled_task_that_never_started_never_runs() {
    let ran = Rc::new(Cell::new(false));
    let drops = Drops::new();
    let (r, d) = (ran.clone(), drops.clone());
    block_on(move || {
        let guard = d.guard();
        let t = spawn(move || {
            let _guard = guard;
            r.set(true);
        });
        t.cancel();
        assert!(t.join().unwrap_err().is_cancelled());
    });
    assert!(!ran.get());
    assert_eq!(
        drops.count(),
        1,
        "the closure and its captures were dropped"
    );
}

#[test]
fn cancelling_a_finished_task_does_nothing() {
    let v = block_on(|| {
        let t = spawn(|| 9);
        yield_now();
        assert!(t.is_finished());
        t.cancel();
        t.join().unwrap()
    });
    assert_eq!(v, 9);
}

#[test]
fn cancellation_is_sticky() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let drops = Drops::new();
        let (d, l2) = (drops.clone(), l.clone());
        let t = spawn(move || {
            let _guard = d.guard();
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                park(Reason::Primitive("Event"));
            }));
            l2.push(format!("caught the cancel: {}", caught.is_err()));
            yield_now();
            l2.push("yield survived");
            park(Reason::Primitive("Event"));
            l2.push("park survived");
        });
        yield_now();
        t.cancel();
        assert!(t.join().unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);
    });
    assert_eq!(log.take(), ["caught the cancel: true"]);
}

#[test]
fn the_canceller_keeps_running() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let l2 = l.clone();
        let t = spawn(move || {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| park(Reason::Primitive("Event"))));
            l2.push("victim unwound");
        });
        yield_now();
        t.cancel();
        l.push("canceller continues");
        yield_now();
        l.push("canceller after yield");
    });
    assert_eq!(
        log.take(),
        [
            "canceller continues",
            "victim unwound",
            "canceller after yield"
        ]
    );
}

/// Parks (sleeps) in its destructor: runs while its task unwinds.
struct SlowDrop;

impl Drop for SlowDrop {
    fn drop(&mut self) {
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_destructor_may_park_while_its_task_unwinds_and_other_cancels_still_land() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let (la, lb) = (l.clone(), l.clone());
        let a = spawn(move || {
            let _slow = SlowDrop;
            park(Reason::Primitive("Event"));
            la.push("a resumed normally");
        });
        let b = spawn(move || {
            park(Reason::Primitive("Event"));
            lb.push("b resumed normally");
        });
        yield_now();
        a.cancel();
        yield_now(); // a starts unwinding and parks in SlowDrop::drop
        assert!(!a.is_finished());
        b.cancel(); // must unwind b although a is mid-unwind
        assert!(b.join().unwrap_err().is_cancelled());
        assert!(a.join().unwrap_err().is_cancelled());
        l.push("both cancelled");
    });
    assert_eq!(log.take(), ["both cancelled"]);
}

#[test]
fn a_detached_task_is_cancelled_by_its_id() {
    block_on(|| {
        let drops = Drops::new();
        let d = drops.clone();
        let id = weft::task::Builder::new()
            .spawn_detached(move || {
                let _guard = d.guard();
                park(Reason::Primitive("Event"));
                unreachable!("a cancelled park never returns");
            })
            .unwrap();
        yield_now();
        assert_eq!(drops.count(), 0, "it is parked");
        assert!(weft::task::cancel(id), "it was alive");
        yield_now();
        assert_eq!(drops.count(), 1, "it unwound and its destructors ran");
        assert!(!weft::task::cancel(id), "it has ended");
    });
}

#[test]
fn a_detached_task_cancelled_before_it_starts_never_runs() {
    block_on(|| {
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let id = weft::task::Builder::new()
            .spawn_detached(move || r.set(true))
            .unwrap();
        assert!(weft::task::cancel(id));
        yield_now();
        assert!(!ran.get());
        assert_eq!(Rc::strong_count(&ran), 1, "its closure was dropped");
    });
}
