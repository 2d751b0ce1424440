//! A panic in a green thread is reported with the task's name and id, not
//! as `thread 'main' panicked`; panics outside green threads keep std's
//! wording.

mod util;

use util::{child_mode, run_child};
use weft::{task, Runtime};

#[test]
fn child_entry() {
    match child_mode().as_deref() {
        Some("panics") => panics(),
        Some("custom") => {
            // A hook of the program's own, set before any runtime: it keeps
            // every panic, green ones included.
            std::panic::set_hook(Box::new(|info| eprintln!("CUSTOM HOOK: {info}")));
            Runtime::new()
                .unwrap()
                .block_on(|| weft::spawn(|| panic!("green boom")).join().is_err())
                .unwrap();
        }
        _ => {}
    }
}

fn panics() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| {
        let named = task::Builder::new()
            .name("worker-7".into())
            .spawn(|| panic!("named boom {}", 7))
            .unwrap();
        let anonymous = weft::spawn(|| panic!("anonymous boom"));
        assert!(named.join().unwrap_err().is_panic());
        assert!(anonymous.join().unwrap_err().is_panic());
    })
    .unwrap();
    // Outside the runtime: std's own hook, unchanged.
    let _ = std::thread::Builder::new()
        .name("plain-os-thread".into())
        .spawn(|| panic!("os boom"))
        .unwrap()
        .join();
}

#[test]
fn panics_name_the_green_thread() {
    let out = run_child("child_entry", "panics");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let named = stderr
        .lines()
        .find(|l| l.starts_with("task 'worker-7' (#2) panicked at "))
        .unwrap_or_else(|| panic!("no named panic line in:\n{stderr}"));
    assert!(named.contains("rt_panic_name.rs:"), "{named}");
    assert!(stderr.contains("named boom 7"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("task #3 panicked at ") && l.contains("rt_panic_name.rs")),
        "{stderr}"
    );
    assert!(stderr.contains("anonymous boom"), "{stderr}");
    assert!(
        stderr.contains("thread 'plain-os-thread'") && stderr.contains("os boom"),
        "std's hook still reports OS threads:\n{stderr}"
    );
    // The green threads ran on the child's test thread: std would have
    // called them that.
    assert!(
        !stderr.contains("thread 'child_entry' panicked"),
        "{stderr}"
    );
}

#[test]
fn a_hook_the_program_set_first_is_respected() {
    let out = run_child("child_entry", "custom");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("CUSTOM HOOK: ") && stderr.contains("green boom"),
        "{stderr}"
    );
    assert!(!stderr.contains("task #2 panicked"), "{stderr}");
}
