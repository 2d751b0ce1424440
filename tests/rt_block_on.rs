//! `Runtime::block_on` with a closure that borrows from the caller's stack.

mod util;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use util::Drops;
use weft::{RunError, Runtime};

/// Compiles only because `block_on` takes non-`'static` closures and results.
fn longest<'a>(rt: &Runtime, words: &'a [String]) -> &'a str {
    rt.block_on(|| words.iter().max_by_key(|w| w.len()).unwrap().as_str())
        .unwrap()
}

#[test]
fn the_main_closure_borrows_a_local_and_returns_a_borrow() {
    let words: Vec<String> = ["green", "threads", "park"].map(String::from).into();
    let rt = Runtime::new().unwrap();
    let got = longest(&rt, &words);
    assert_eq!(got, "threads");
    assert!(std::ptr::eq(got, words[1].as_str()), "a borrow, not a copy");
}

#[test]
fn the_main_closure_mutates_the_callers_state_while_tasks_run() {
    let mut total = 0u64;
    let hits = Cell::new(0);
    Runtime::new()
        .unwrap()
        .block_on(|| {
            let workers: Vec<_> = (1..=4u64)
                .map(|i| {
                    weft::spawn(move || {
                        weft::yield_now();
                        i * 10
                    })
                })
                .collect();
            for w in workers {
                total += w.join().unwrap();
                hits.set(hits.get() + 1);
            }
        })
        .unwrap();
    assert_eq!((total, hits.get()), (100, 4));
}

#[test]
fn a_panic_in_the_borrowing_closure_resumes_with_the_local_intact() {
    let mut log = vec![String::from("before")];
    let rt = Runtime::new().unwrap();
    let err = panic::catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(|| {
            log.push("inside".into());
            panic!("boom");
        })
    }))
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(log, ["before", "inside"]);
    // The runtime is still usable, and nothing of the old closure is left.
    assert_eq!(rt.task_count(), 0);
    assert_eq!(rt.block_on(|| log.len()).unwrap(), 2);
}

#[test]
fn a_deadlocked_borrowing_closure_is_unwound_before_block_on_returns() {
    let drops = Drops::new();
    let reached = Cell::new(false);
    let rt = Runtime::new().unwrap();
    let result = rt.block_on(|| {
        let _guard = drops.guard();
        reached.set(true);
        weft::sync::Event::new().wait(); // nothing will ever set it
        reached.set(false);
    });
    assert!(matches!(result, Err(RunError::Deadlock(_))), "{result:?}");
    assert!(reached.get());
    assert_eq!(drops.count(), 1, "the parked closure's locals were dropped");
    assert_eq!(rt.task_count(), 0);
}

#[test]
fn a_nested_block_on_panics_without_running_its_closure() {
    let ran = Cell::new(false);
    let inner = Runtime::new().unwrap();
    let outer = Runtime::new().unwrap();
    let joined = outer
        .block_on(|| {
            let attempt = panic::catch_unwind(AssertUnwindSafe(|| {
                inner.block_on(|| ran.set(true)).unwrap();
            }));
            attempt.is_err()
        })
        .unwrap();
    assert!(joined, "the nested call panicked");
    assert!(!ran.get());
    assert_eq!(inner.task_count(), 0, "nothing was left spawned");
    assert_eq!(inner.block_on(|| 7).unwrap(), 7);
}

#[test]
fn the_closure_may_borrow_its_own_runtime_but_not_run_it_again() {
    let rt = Runtime::new().unwrap();
    let ran = Cell::new(false);
    let refused = rt
        .block_on(|| {
            let again = panic::catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(|| ran.set(true)).unwrap();
            }));
            let run = panic::catch_unwind(AssertUnwindSafe(|| rt.run()));
            (again.is_err(), run.is_err(), rt.task_count())
        })
        .unwrap();
    assert_eq!(refused, (true, true, 1), "only the main task exists");
    assert!(!ran.get());
    assert_eq!(rt.task_count(), 0);
}

#[test]
fn a_run_error_goes_into_a_send_sync_box_with_question_mark() {
    fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        weft::Runtime::new()?.block_on(|| weft::sync::Event::new().wait())?;
        Ok(())
    }
    let err = run().unwrap_err();
    assert!(err.to_string().contains("deadlock"), "{err}");
}
