//! Panic isolation: a panicking task ends alone, its joiner gets the
//! payload, every other task goes on.

mod util;

use std::panic::{self, AssertUnwindSafe};

use util::{block_on, Drops, Log};
use weft::{spawn, yield_now, JoinError, Runtime};

#[test]
fn a_panicking_task_ends_alone_and_join_gives_the_message() {
    let log = Log::new();
    let drops = Drops::new();
    let (l, d) = (log.clone(), drops.clone());
    block_on(move || {
        let (l2, d2) = (l.clone(), d.clone());
        let bad = spawn(move || {
            let _guard = d2.guard();
            l2.push("bad starts");
            yield_now();
            panic!("boom {}", 42);
        });
        let l3 = l.clone();
        let good = spawn(move || {
            for i in 0..3 {
                l3.push(format!("good {i}"));
                yield_now();
            }
            "good result"
        });
        let err = bad.join().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom 42"));
        assert_eq!(err.to_string(), "task panicked: boom 42");
        assert_eq!(format!("{err:?}"), "Panicked(\"boom 42\")");
        assert_eq!(good.join().unwrap(), "good result");
        l.push("main done");
    });
    assert_eq!(drops.count(), 1, "the panicking task's locals were dropped");
    assert_eq!(
        log.take(),
        ["bad starts", "good 0", "good 1", "good 2", "main done"]
    );
}

#[test]
fn a_non_string_payload_is_kept() {
    let payload = block_on(|| {
        let err = spawn(|| panic::panic_any(17u64)).join().unwrap_err();
        assert_eq!(err.panic_message(), None);
        assert_eq!(err.to_string(), "task panicked");
        *err.into_panic().downcast::<u64>().unwrap()
    });
    assert_eq!(payload, 17);
}

#[test]
fn an_unjoined_panicking_task_does_not_stop_the_runtime() {
    let log = Log::new();
    let rt = Runtime::new().unwrap();
    rt.spawn(|| panic!("nobody joins me"));
    let l = log.clone();
    rt.spawn(move || {
        yield_now();
        l.push("still here");
    });
    rt.run().unwrap();
    assert_eq!(log.take(), ["still here"]);
}

#[test]
fn block_on_resumes_the_main_panic_after_the_others_finish() {
    let log = Log::new();
    let l = log.clone();
    let rt = Runtime::new().unwrap();
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(move || {
            let l2 = l.clone();
            spawn(move || {
                for i in 0..3 {
                    l2.push(format!("worker {i}"));
                    yield_now();
                }
            });
            yield_now();
            l.push("main panics");
            panic!("main failed");
        })
    }));
    let payload = caught.expect_err("block_on resumed the panic");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"main failed"));
    assert_eq!(
        log.take(),
        ["worker 0", "main panics", "worker 1", "worker 2"],
        "the worker finished before the panic was resumed"
    );
}

#[test]
fn join_error_variants_are_distinguished() {
    assert!(JoinError::Cancelled.is_cancelled());
    assert!(!JoinError::Cancelled.is_panic());
    assert!(JoinError::TimedOut.is_timeout());
    assert_eq!(JoinError::Cancelled.to_string(), "task was cancelled");
    assert_eq!(
        JoinError::TimedOut.to_string(),
        "timed out waiting for the task"
    );
}

#[test]
#[should_panic(expected = "into_panic on Cancelled")]
fn into_panic_on_a_cancellation_panics() {
    JoinError::Cancelled.into_panic();
}
