//! Green APIs outside a green thread, and nested runtimes, fail loudly.

use std::time::{Duration, Instant};

use weft::park::{park, Reason, Unparker};
use weft::{current, in_green_thread, sleep, sleep_until, spawn, task, yield_now, Runtime};

#[test]
#[should_panic(expected = "`yield_now` was called outside a green thread")]
fn yield_now_from_plain_main_panics() {
    yield_now();
}

#[test]
#[should_panic(expected = "outside a green thread")]
fn sleep_from_plain_main_panics() {
    sleep(Duration::from_millis(1));
}

#[test]
#[should_panic(expected = "outside a green thread")]
fn sleep_until_from_plain_main_panics() {
    sleep_until(Instant::now() + Duration::from_secs(1));
}

#[test]
#[should_panic(expected = "`spawn` was called outside a green thread")]
fn spawn_from_plain_main_panics() {
    spawn(|| ());
}

#[test]
#[should_panic(expected = "outside a green thread")]
fn builder_spawn_from_plain_main_panics() {
    let _ = task::Builder::new().spawn(|| ());
}

#[test]
#[should_panic(expected = "`current` was called outside a green thread")]
fn current_from_plain_main_panics() {
    current();
}

#[test]
#[should_panic(expected = "outside a green thread")]
fn park_from_plain_main_panics() {
    park(Reason::Sleep);
}

#[test]
#[should_panic(expected = "outside a green thread")]
fn unparker_current_from_plain_main_panics() {
    Unparker::current();
}

#[test]
fn green_apis_panic_on_another_os_thread_during_a_run() {
    let rt = Runtime::new().unwrap();
    let msg = rt
        .block_on(|| {
            let other = std::thread::spawn(yield_now).join().unwrap_err();
            other.downcast_ref::<String>().cloned().unwrap_or_default()
        })
        .unwrap();
    assert!(msg.contains("outside a green thread"), "{msg}");
}

#[test]
fn in_green_thread_tells() {
    assert!(!in_green_thread());
    let rt = Runtime::new().unwrap();
    assert!(rt.block_on(in_green_thread).unwrap());
    assert!(!in_green_thread());
}

#[test]
fn a_nested_run_inside_a_task_panics_clearly() {
    let rt = Runtime::new().unwrap();
    let err = rt
        .block_on(|| {
            spawn(|| {
                let inner = Runtime::new().unwrap();
                inner.spawn(|| ());
                inner.run()
            })
            .join()
            .unwrap_err()
        })
        .unwrap();
    let msg = err.panic_message().unwrap();
    assert!(msg.contains("runtimes cannot be nested"), "{msg}");
    // The outer runtime still works.
    assert_eq!(rt.block_on(|| spawn(|| 3).join().unwrap()).unwrap(), 3);
}

#[test]
fn a_nested_block_on_panics_clearly() {
    let rt = Runtime::new().unwrap();
    let err = rt
        .block_on(|| {
            spawn(|| Runtime::new().unwrap().block_on(|| 1))
                .join()
                .unwrap_err()
        })
        .unwrap();
    assert!(err.panic_message().unwrap().contains("cannot be nested"));
}
