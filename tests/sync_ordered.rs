//! acquire_ordered: one global lock order, task-local held lists, and the
//! dining philosophers with and without it.

mod util;

use std::rc::Rc;

use util::{block_on, blocked, expect_deadlock, spawn_named, Log};
use weft::sync::{acquire_ordered, Lock, LockOrderViolation};
use weft::{spawn, yield_now};

#[test]
fn locks_are_taken_in_id_order_and_released_on_drop() {
    block_on(|| {
        let (a, b, c) = (Lock::new(), Lock::new(), Lock::new());
        {
            let _all = acquire_ordered(&[&c, &a, &b]).unwrap();
            assert!(a.is_locked() && b.is_locked() && c.is_locked());
        }
        assert!(!a.is_locked() && !b.is_locked() && !c.is_locked());
        let _none = acquire_ordered(&[]).unwrap();
    });
}

#[test]
fn nesting_out_of_order_is_a_violation_and_takes_nothing() {
    block_on(|| {
        let (x, y) = (Lock::new(), Lock::new());
        let outer = acquire_ordered(&[&y]).unwrap();
        let err = acquire_ordered(&[&x]).unwrap_err();
        assert_eq!(err, LockOrderViolation);
        assert_eq!(err.to_string(), "Lock Order Violation");
        assert!(!x.is_locked(), "nothing taken");
        assert!(acquire_ordered(&[&y]).is_err(), "taking a held lock again");
        drop(outer);
        // In order, nesting is fine: x then y.
        let _x = acquire_ordered(&[&x]).unwrap();
        let _y = acquire_ordered(&[&y]).unwrap();
    });
}

#[test]
fn naming_a_lock_twice_is_a_violation() {
    block_on(|| {
        let a = Lock::new();
        assert_eq!(acquire_ordered(&[&a, &a]).unwrap_err(), LockOrderViolation);
        assert!(!a.is_locked());
    });
}

#[test]
fn held_lists_are_per_task_not_per_thread() {
    block_on(|| {
        let (x, y) = (Rc::new(Lock::new()), Rc::new(Lock::new()));
        let _y = acquire_ordered(&[&*y]).unwrap();
        // Another green thread on the same OS thread holds nothing, so taking
        // x is in order for it (a thread_local! list would say otherwise).
        let x2 = x.clone();
        let other = spawn(move || acquire_ordered(&[&*x2]).map(drop));
        assert_eq!(other.join().unwrap(), Ok(()));
    });
}

/// Five philosophers, five forks; each one takes both forks, eats while
/// holding them (yielding inside), and puts them down.
fn dinner(ordered: bool, log: &Log) {
    let forks: Rc<Vec<Lock>> = Rc::new((0..5).map(|_| Lock::new()).collect());
    for i in 0..5 {
        let (forks, log) = (forks.clone(), log.clone());
        spawn_named(&format!("philosopher-{i}"), move || {
            let (left, right) = (&forks[i], &forks[(i + 1) % 5]);
            if ordered {
                let _both = acquire_ordered(&[left, right]).unwrap();
                yield_now();
                log.push(format!("{i} eats"));
            } else {
                let _l = left.lock();
                yield_now(); // everyone holds a left fork now
                let _r = right.lock();
                log.push(format!("{i} eats"));
            }
        });
    }
}

#[test]
fn dining_philosophers_deadlock_without_ordering() {
    let log = Log::new();
    let l = log.clone();
    let report = expect_deadlock(move || dinner(false, &l));
    assert!(log.lines().is_empty());
    let expected: Vec<(String, String)> = (0..5)
        .map(|i| (format!("philosopher-{i}"), "Lock".to_owned()))
        .collect();
    assert_eq!(blocked(&report), expected);
}

#[test]
fn dining_philosophers_all_eat_with_ordering() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || dinner(true, &l));
    let mut ate = log.lines();
    ate.sort();
    assert_eq!(ate, ["0 eats", "1 eats", "2 eats", "3 eats", "4 eats"]);
}
