//! Scheduling order: spawn (G2), yield (G3), wake (G4) and timer ties (G8).

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{block_on, Log};
use weft::park::{park, Reason, Unparker};
use weft::{sleep, sleep_until, spawn, yield_now, Runtime};

#[test]
fn spawn_appends_and_the_spawner_keeps_running() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        for name in ["a", "b", "c"] {
            let l2 = l.clone();
            spawn(move || l2.push(name));
            l.push(format!("spawned {name}"));
        }
        l.push("main yields");
        yield_now();
        l.push("main again");
    });
    assert_eq!(
        log.take(),
        [
            "spawned a",
            "spawned b",
            "spawned c",
            "main yields",
            "a",
            "b",
            "c",
            "main again"
        ]
    );
}

#[test]
fn tasks_spawned_before_run_start_in_spawn_order() {
    let log = Log::new();
    let rt = Runtime::new().unwrap();
    for name in ["first", "second", "third"] {
        let l = log.clone();
        rt.spawn(move || {
            l.push(name);
            // A task spawned from a task goes behind the ones already ready.
            let l2 = l.clone();
            spawn(move || l2.push(format!("child of {name}")));
        });
    }
    rt.run().unwrap();
    assert_eq!(
        log.take(),
        [
            "first",
            "second",
            "third",
            "child of first",
            "child of second",
            "child of third"
        ]
    );
}

#[test]
fn yield_now_goes_round_robin() {
    let log = Log::new();
    let rt = Runtime::new().unwrap();
    for name in ["a", "b", "c"] {
        let l = log.clone();
        rt.spawn(move || {
            for i in 1..=3 {
                l.push(format!("{name}{i}"));
                yield_now();
            }
        });
    }
    rt.run().unwrap();
    assert_eq!(
        log.take(),
        ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"]
    );
}

#[test]
fn yield_now_alone_returns_at_once() {
    let n = block_on(|| {
        for _ in 0..100 {
            yield_now();
        }
        100
    });
    assert_eq!(n, 100);
}

#[test]
fn woken_tasks_go_to_the_tail_in_wake_order_and_the_waker_keeps_running() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let slots: Rc<[Cell<Option<Unparker>>; 3]> = Rc::new(Default::default());
        let mut sleepers = Vec::new();
        for (i, name) in ["p0", "p1", "p2"].into_iter().enumerate() {
            let (l, slots) = (l.clone(), slots.clone());
            sleepers.push(spawn(move || {
                slots[i].set(Some(Unparker::current()));
                park(Reason::Primitive("Test"));
                l.push(format!("{name} woke"));
            }));
        }
        yield_now(); // p0, p1, p2 run and park
        assert!(slots
            .iter()
            .all(|s| s.get().is_some_and(Unparker::is_parked)));

        let l2 = l.clone();
        spawn(move || l2.push("bystander")); // already ready: runs before the woken
        for i in [2, 0, 1] {
            let u = slots[i].get().unwrap();
            assert!(u.unpark());
            assert!(
                !u.unpark(),
                "a second unpark of the same park wakes nothing"
            );
        }
        l.push("waker continues");
        yield_now();
        l.push("waker again");
        for s in sleepers {
            s.join().unwrap();
        }
    });
    assert_eq!(
        log.take(),
        [
            "waker continues",
            "bystander",
            "p2 woke",
            "p0 woke",
            "p1 woke",
            "waker again"
        ]
    );
}

#[test]
fn an_unparker_from_an_earlier_park_is_stale() {
    block_on(|| {
        let slot = Rc::new(Cell::new(None));
        let s = slot.clone();
        let parks = Rc::new(Cell::new(0));
        let p = parks.clone();
        let t = spawn(move || {
            for _ in 0..2 {
                s.set(Some(Unparker::current()));
                park(Reason::Primitive("Test"));
                p.set(p.get() + 1);
            }
        });
        yield_now();
        let first: Unparker = slot.get().unwrap();
        assert!(first.unpark());
        yield_now(); // the task wakes and parks again, with a new unparker
        assert_eq!(parks.get(), 1);
        assert!(!first.unpark(), "the first park is over");
        assert!(!first.is_parked());
        assert_eq!(parks.get(), 1);
        let second: Unparker = slot.get().unwrap();
        assert_ne!(first, second);
        assert!(second.unpark());
        t.join().unwrap();
        assert_eq!(parks.get(), 2);
    });
}

#[test]
fn equal_deadlines_fire_in_registration_order() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let deadline = Instant::now() + Duration::from_millis(100);
        let mut tasks = Vec::new();
        for name in ["a", "b", "c"] {
            let l = l.clone();
            tasks.push(spawn(move || {
                if name == "a" {
                    yield_now(); // registers after b and c
                }
                l.push(format!("{name} sleeps"));
                sleep_until(deadline);
                l.push(format!("{name} woke"));
            }));
        }
        for t in tasks {
            t.join().unwrap();
        }
    });
    assert_eq!(
        log.take(),
        ["b sleeps", "c sleeps", "a sleeps", "b woke", "c woke", "a woke"]
    );
}

#[test]
fn timers_fire_in_deadline_order_not_registration_order() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let tasks: Vec<_> = [60u64, 20, 40]
            .into_iter()
            .map(|ms| {
                let l = l.clone();
                spawn(move || {
                    sleep(Duration::from_millis(ms));
                    l.push(format!("{ms} ms"));
                })
            })
            .collect();
        for t in tasks {
            t.join().unwrap();
        }
    });
    assert_eq!(log.take(), ["20 ms", "40 ms", "60 ms"]);
}

#[test]
fn a_past_deadline_yields_once() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let l2 = l.clone();
        spawn(move || l2.push("other"));
        sleep_until(Instant::now() - Duration::from_millis(1));
        l.push("main");
        sleep(Duration::ZERO);
    });
    assert_eq!(log.take(), ["other", "main"]);
}
