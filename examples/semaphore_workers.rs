//! Seed 003's `Semaphore(0)` worker pool (AS-10): ten workers wait on a
//! semaphore with no permits, and each `release` lets exactly one of them
//! go, oldest first.
//!
//! ```text
//! cargo run --example semaphore_workers              # ten releases: Working 0 ... Working 9
//! cargo run --example semaphore_workers -- two       # two releases: Working 0, Working 1, then the deadlock report
//! cargo run --example semaphore_workers -- two-daemon  # the same with daemon workers: run() returns Ok
//! ```
//!
//! Semaphore waiters are served in arrival order and a release hands the
//! permit straight to the oldest waiter (G5, G7), so the workers run in the
//! order they were spawned. With only two releases, eight workers stay
//! blocked with nothing left to wake them: the runtime reports the deadlock
//! (G10), naming each blocked task and what it waits on, instead of hanging.
//! Daemon workers do not keep `run` alive, so the same program ends `Ok`
//! (E-21).

use std::rc::Rc;

use weft::sync::Semaphore;
use weft::{task, yield_now, RunError, Runtime};

mod support;
use support::Out;

const NWORKERS: usize = 10;

/// Spawns the workers, lets them block, releases `releases` times (letting
/// each woken worker run before the next release when `one_by_one`), and
/// reports how `run` ended.
fn pool(out: Out, releases: usize, daemon: bool, one_by_one: bool) {
    let o = out.clone();
    let result = Runtime::new().expect("runtime").block_on(move || {
        let sema = Rc::new(Semaphore::new(0));
        for n in 0..NWORKERS {
            let (s, o) = (sema.clone(), o.clone());
            task::Builder::new()
                .name(format!("worker {n}"))
                .daemon(daemon)
                .spawn(move || {
                    s.acquire(); // Wait to be signaled
                    o(format!("Working {n}"));
                })
                .expect("spawn a worker");
        }
        yield_now(); // nothing happens: they all block on the semaphore
        for _ in 0..releases {
            if one_by_one {
                o(">>> sema.release()".to_owned());
            }
            sema.release();
            if one_by_one {
                yield_now(); // the woken worker runs
            }
        }
    });
    match result {
        Ok(()) if releases < NWORKERS => out(format!(
            "run() returned Ok; {} daemon workers were still blocked",
            NWORKERS - releases
        )),
        Ok(()) => {}
        Err(RunError::Deadlock(report)) => report.to_string().lines().for_each(|l| out(l.into())),
        Err(e) => out(format!("run() failed: {e}")),
    }
}

fn main() {
    let print: Out = Rc::new(support::print);
    match std::env::args().nth(1).as_deref() {
        None | Some("ten") => pool(print, NWORKERS, false, false),
        Some("two") => pool(print, 2, false, true),
        Some("two-daemon") => pool(print, 2, true, true),
        Some(other) => support::unknown_variant(other, "ten, two, two-daemon"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn ten_releases_let_the_workers_go_in_spawn_order() {
        let lines = capture(|o| pool(o, NWORKERS, false, false));
        let expected: Vec<String> = (0..10).map(|n| format!("Working {n}")).collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn two_releases_with_non_daemon_workers_report_a_deadlock() {
        let lines = capture(|o| pool(o, 2, false, true));
        let mut expected = vec![
            ">>> sema.release()".to_owned(),
            "Working 0".to_owned(),
            ">>> sema.release()".to_owned(),
            "Working 1".to_owned(),
            "deadlock: 8 task(s) blocked with nothing left to wake them".to_owned(),
        ];
        // Task 1 is main; workers 0..9 are tasks 2..11.
        expected
            .extend((2..10).map(|n| format!("  task {} 'worker {n}' waits on Semaphore", n + 2)));
        assert_eq!(lines, expected);
    }

    #[test]
    fn two_releases_with_daemon_workers_end_ok() {
        let lines = capture(|o| pool(o, 2, true, true));
        assert_eq!(
            lines,
            [
                ">>> sema.release()",
                "Working 0",
                ">>> sema.release()",
                "Working 1",
                "run() returned Ok; 8 daemon workers were still blocked",
            ]
        );
    }
}
