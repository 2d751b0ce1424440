//! The stall watchdog: a task that computes without a suspension point for
//! longer than the threshold is named on stderr (no subscriber installed)
//! while it holds the loop, and again with the total when it lets go.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{child_mode, run_child};
use weft::{task, Builder};

/// Busy for `d` without ever suspending.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn stalling_run(threshold: Option<Duration>) {
    let rt = Builder::new().stall_threshold(threshold).build().unwrap();
    rt.block_on(|| {
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = weft::spawn(move || {
            for _ in 0..30 {
                weft::sleep(Duration::from_millis(10));
                t.set(t.get() + 1);
            }
        });
        weft::sleep(Duration::from_millis(20));
        task::Builder::new()
            .name("spinner".into())
            .spawn(|| spin(Duration::from_millis(600)))
            .unwrap()
            .join()
            .unwrap();
        ticker.join().unwrap();
    })
    .unwrap();
    let m = rt.metrics();
    println!("STALLS {}", m.stalls);
    println!("LONGEST_MS {}", m.longest_resume.as_millis());
}

#[test]
fn child_entry() {
    match child_mode().as_deref() {
        Some("on") => stalling_run(Some(Duration::from_millis(50))),
        Some("off") => stalling_run(None),
        Some("tracing") => {
            // A subscriber on this thread (not global): the watchdog thread
            // reports through the one that built the runtime.
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::WARN)
                .with_ansi(false)
                .with_writer(std::io::stdout)
                .finish();
            let _guard = tracing::subscriber::set_default(subscriber);
            stalling_run(Some(Duration::from_millis(50)));
        }
        _ => {}
    }
}

#[test]
fn a_stalling_task_is_named_while_it_holds_the_loop_and_when_it_lets_go() {
    let out = run_child("child_entry", "on");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let held: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("has held the loop"))
        .collect();
    assert_eq!(held.len(), 1, "one report while it spins:\n{stderr}");
    assert!(
        held[0].contains("task 'spinner' (#3, spawned at tests/rt_stall.rs:"),
        "{}",
        held[0]
    );
    assert!(held[0].contains("stall threshold 50ms"), "{}", held[0]);
    let done: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("yielded after"))
        .collect();
    assert_eq!(done.len(), 1, "one report when it lets go:\n{stderr}");
    assert!(done[0].contains("task 'spinner' (#3"), "{}", done[0]);
    // "about 6xx ms" (to a quarter threshold, and slower on a busy machine).
    let ms = longest_ms(&stdout);
    assert!(
        ms >= 450,
        "longest resume {ms} ms for a 600 ms spin\n{stdout}"
    );
    assert!(stdout.contains("STALLS 1"), "{stdout}");
}

#[test]
fn the_watchdog_can_be_turned_off() {
    let out = run_child("child_entry", "off");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("held the loop"), "{stderr}");
    assert!(stdout.contains("STALLS 0"), "{stdout}");
}

fn longest_ms(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("LONGEST_MS "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no LONGEST_MS in {stdout}"))
}

#[test]
fn with_a_subscriber_the_reports_are_tracing_warnings_not_stderr() {
    let out = run_child("child_entry", "tracing");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let held = stdout
        .lines()
        .find(|l| l.contains("has held the loop"))
        .unwrap_or_else(|| panic!("no warning in\n{stdout}"));
    assert!(held.contains("WARN"), "{held}");
    assert!(held.contains("task 'spinner'"), "{held}");
    assert!(stdout.contains("yielded after"), "{stdout}");
    assert!(!stderr.contains("held the loop"), "{stderr}");
}
