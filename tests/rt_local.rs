//! Task-local values: one per task, dropped when that task ends.

mod util;

use std::cell::{Cell, RefCell};

use util::{block_on, DropGuard, Drops};
use weft::{spawn, yield_now};

weft::task_local! {
    static COUNTER: Cell<u32> = Cell::new(0);
    static GUARD: RefCell<Option<DropGuard>> = RefCell::new(None);
}

#[test]
fn each_task_has_its_own_value() {
    let sums = block_on(|| {
        let tasks: Vec<_> = (1..=3)
            .map(|n| {
                spawn(move || {
                    for _ in 0..n {
                        COUNTER.with(|c| c.set(c.get() + n));
                        yield_now(); // interleave with the other tasks
                    }
                    COUNTER.with(Cell::get)
                })
            })
            .collect();
        COUNTER.with(|c| c.set(100));
        let sums: Vec<u32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(COUNTER.with(Cell::get), 100, "main's value is its own");
        sums
    });
    assert_eq!(sums, [1, 4, 9]);
}

#[test]
fn values_are_dropped_when_their_task_ends() {
    let drops = Drops::new();
    let d = drops.clone();
    block_on(move || {
        let d2 = d.clone();
        let t = spawn(move || {
            GUARD.with(|g| *g.borrow_mut() = Some(d2.guard()));
            yield_now();
        });
        yield_now();
        assert_eq!(d.count(), 0, "the task is still alive");
        t.join().unwrap();
        assert_eq!(d.count(), 1, "dropped by the time join returns");
    });
}

#[test]
fn values_are_dropped_when_their_task_panics_or_is_cancelled() {
    let drops = Drops::new();
    let d = drops.clone();
    block_on(move || {
        let d2 = d.clone();
        let panics = spawn(move || {
            GUARD.with(|g| *g.borrow_mut() = Some(d2.guard()));
            panic!("task-local test panic");
        });
        assert!(panics.join().is_err());
        assert_eq!(d.count(), 1);
        let d3 = d.clone();
        let cancelled = spawn(move || {
            GUARD.with(|g| *g.borrow_mut() = Some(d3.guard()));
            weft::park::park(weft::park::Reason::Primitive("Event"));
        });
        yield_now();
        cancelled.cancel();
        assert!(cancelled.join().unwrap_err().is_cancelled());
        assert_eq!(d.count(), 2);
    });
}

#[test]
#[should_panic(expected = "outside a green thread")]
fn task_locals_outside_a_task_panic() {
    COUNTER.with(Cell::get);
}
