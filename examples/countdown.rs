//! The seed's countdown demos as green threads.
//!
//! ```text
//! cargo run --example countdown            # AS-01: countdown(10), countdown(5), countup(15) with yield_now
//! cargo run --example countdown -- sleep   # AS-05: countdown with sleep, is_finished before and after
//! cargo run --example countdown -- terminate         # AS-06: CountdownTask.terminate() with a flag
//! cargo run --example countdown -- terminate-cancel  # AS-06: the same with JoinHandle::cancel()
//! cargo run --example countdown -- started  # AS-07: main waits on an Event until the countdown has started
//! cargo run --example countdown -- timer    # AS-08: countdown and countup driven by a PeriodicTimer
//! ```
//!
//! Each variant writes its lines through a closure, so the test below checks
//! exactly what a user sees.
//!
//! The seed only promises that `countdown is running` follows `countdown
//! starting` (AS-07). Green rules pin the rest: `Event::set` wakes the main
//! task without switching to it (G4), so the countdown prints `T-minus 10`
//! before its first sleep, and only then does main print. In AS-08 the timer
//! wakes its waiters oldest first (G5): the countdown waited first, so each
//! tick prints its line before the countup's; `run` returns after tick 10
//! because only the daemon timer is left (G10).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use weft::sync::{Condition, Event, Mutex};
use weft::{sleep, spawn, task, yield_now, Runtime};

mod support;

/// AS-01: the seed's `TaskScheduler` with three generator tasks.
fn round_robin(out: impl Fn(String) + Clone + 'static) {
    let rt = Runtime::new().expect("runtime");
    let countdown = |n: u32, out: Box<dyn Fn(String)>| {
        move || {
            let mut n = n;
            while n > 0 {
                out(format!("T-minus {n}"));
                yield_now();
                n -= 1;
            }
            out("Blastoff!".to_owned());
        }
    };
    let countup = |n: u32, out: Box<dyn Fn(String)>| {
        move || {
            for x in 0..n {
                out(format!("Counting up {x}"));
                yield_now();
            }
        }
    };
    rt.spawn(countdown(10, Box::new(out.clone())));
    rt.spawn(countdown(5, Box::new(out.clone())));
    rt.spawn(countup(15, Box::new(out)));
    rt.run().expect("no deadlock");
}

/// AS-05: a countdown that sleeps between lines, observed from main.
fn with_sleep(out: impl Fn(String) + Clone + 'static, interval: Duration) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let o = out.clone();
            let t = spawn(move || {
                for n in (1..=10).rev() {
                    o(format!("T-minus {n}"));
                    sleep(interval);
                }
            });
            out(if t.is_finished() {
                "Completed"
            } else {
                "Still running"
            }
            .to_owned());
            t.join().expect("countdown ran");
            out("Completed".to_owned());
        })
        .expect("no deadlock");
}

/// AS-06: `CountdownTask.terminate()`: main stops the countdown after 120 ms,
/// either with the seed's cooperative flag or with `JoinHandle::cancel`.
fn terminate(out: impl Fn(String) + Clone + 'static, interval: Duration, cancel: bool) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let running = Rc::new(Cell::new(true));
            let flag = running.clone();
            let o = out.clone();
            let t = spawn(move || {
                let mut n = 10;
                while flag.get() && n > 0 {
                    o(format!("T-minus {n}"));
                    n -= 1;
                    sleep(interval);
                }
            });
            sleep(interval * 12 / 5);
            if cancel {
                t.cancel();
                let r = t.join();
                out(format!(
                    "terminated: {}",
                    if r.is_err() { "cancelled" } else { "finished" }
                ));
            } else {
                running.set(false); // Signal termination
                t.join().expect("countdown ends"); // Wait for actual termination
                out("terminated: flag".to_owned());
            }
        })
        .expect("no deadlock");
}

/// AS-07: seed 003's "determining if a thread has started" with an `Event`.
fn started(out: impl Fn(String) + Clone + 'static, interval: Duration) {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let started_evt = Rc::new(Event::new());
            out("Launching countdown".to_owned());
            let (o, evt) = (out.clone(), started_evt.clone());
            spawn(move || {
                o("countdown starting".to_owned());
                evt.set();
                for n in (1..=10).rev() {
                    o(format!("T-minus {n}"));
                    sleep(interval);
                }
            });
            started_evt.wait();
            out("countdown is running".to_owned());
        })
        .expect("no deadlock");
}

/// Seed 003's `PeriodicTimer`: a daemon task that flips a flag under a
/// condition every interval and wakes everyone waiting for a tick.
struct PeriodicTimer {
    /// How long between ticks.
    interval: Duration,
    /// The flag (flipped on every tick) and the condition over its lock.
    cv: Rc<Condition<Mutex<bool>>>,
}

impl PeriodicTimer {
    fn new(interval: Duration) -> Self {
        PeriodicTimer {
            interval,
            cv: Rc::new(Condition::with_lock(Rc::new(Mutex::new(false)))),
        }
    }

    /// Starts the ticking task, as a daemon so it never keeps `run` alive.
    fn start(&self) {
        let (cv, interval) = (self.cv.clone(), self.interval);
        task::Builder::new()
            .name("PeriodicTimer".into())
            .daemon(true)
            .spawn(move || loop {
                sleep(interval);
                let mut flag = cv.lock();
                *flag = !*flag;
                cv.notify_all(&flag);
            })
            .expect("spawn the timer");
    }

    /// Parks until the next tick.
    fn wait_for_tick(&self) {
        let mut flag = self.cv.lock();
        let last_flag = *flag;
        self.cv.wait_for(&mut flag, |flag| **flag != last_flag);
    }
}

/// AS-08: `countdown(10)` and `countup(5)` synchronised on one timer.
fn timer(out: impl Fn(String) + Clone + 'static, interval: Duration) {
    let rt = Runtime::new().expect("runtime");
    let ptimer = Rc::new(PeriodicTimer::new(interval));
    let (timer, o) = (ptimer.clone(), out.clone());
    rt.spawn(move || {
        timer.start();
        let (t, o2) = (timer.clone(), o.clone());
        spawn(move || {
            for nticks in (1..=10).rev() {
                t.wait_for_tick();
                o2(format!("T-minus {nticks}"));
            }
        });
        spawn(move || {
            for n in 0..5 {
                timer.wait_for_tick();
                o(format!("Counting {n}"));
            }
        });
    });
    rt.run()
        .expect("only the daemon timer is left after tick 10");
}

fn main() {
    let print = support::print;
    match std::env::args().nth(1).as_deref() {
        None | Some("yield") => round_robin(print),
        Some("sleep") => with_sleep(print, Duration::from_millis(20)),
        Some("terminate") => terminate(print, Duration::from_millis(50), false),
        Some("terminate-cancel") => terminate(print, Duration::from_millis(50), true),
        Some("started") => started(print, Duration::from_millis(20)),
        Some("timer") => timer(print, Duration::from_millis(20)),
        Some(other) => support::unknown_variant(
            other,
            "yield, sleep, terminate, terminate-cancel, started, timer",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn as01_round_robin_prints_the_32_lines() {
        let lines = capture(|o| round_robin(move |l| o(l)));
        let expected = "T-minus 10|T-minus 5|Counting up 0|T-minus 9|T-minus 4|Counting up 1|T-minus 8|T-minus 3|Counting up 2|T-minus 7|T-minus 2|Counting up 3|T-minus 6|T-minus 1|Counting up 4|T-minus 5|Blastoff!|Counting up 5|T-minus 4|Counting up 6|T-minus 3|Counting up 7|T-minus 2|Counting up 8|T-minus 1|Counting up 9|Blastoff!|Counting up 10|Counting up 11|Counting up 12|Counting up 13|Counting up 14";
        assert_eq!(lines.join("|"), expected);
        assert_eq!(lines.len(), 32);
    }

    #[test]
    fn as05_sleep_countdown_reports_running_then_completed() {
        let lines = capture(|o| with_sleep(move |l| o(l), Duration::from_millis(5)));
        let mut expected = vec!["Still running".to_owned()];
        expected.extend((1..=10).rev().map(|n| format!("T-minus {n}")));
        expected.push("Completed".to_owned());
        // "Still running" is printed before the countdown task first runs (G2).
        assert_eq!(lines, expected);
    }

    #[test]
    fn as06_terminate_with_flag_stops_after_three_lines() {
        let lines = capture(|o| terminate(move |l| o(l), Duration::from_millis(50), false));
        assert_eq!(
            lines,
            ["T-minus 10", "T-minus 9", "T-minus 8", "terminated: flag"]
        );
    }

    #[test]
    fn as06_terminate_with_cancel_stops_at_once() {
        let lines = capture(|o| terminate(move |l| o(l), Duration::from_millis(50), true));
        assert_eq!(
            lines,
            [
                "T-minus 10",
                "T-minus 9",
                "T-minus 8",
                "terminated: cancelled"
            ]
        );
    }

    #[test]
    fn as07_started_event_prints_the_13_lines() {
        let lines = capture(|o| started(move |l| o(l), Duration::from_millis(2)));
        let mut expected = vec![
            "Launching countdown".to_owned(),
            "countdown starting".to_owned(),
            "T-minus 10".to_owned(),
            "countdown is running".to_owned(),
        ];
        expected.extend((1..=9).rev().map(|n| format!("T-minus {n}")));
        assert_eq!(lines, expected);
        assert_eq!(lines.len(), 13);
    }

    #[test]
    fn as08_periodic_timer_prints_the_15_lines() {
        let lines = capture(|o| timer(move |l| o(l), Duration::from_millis(5)));
        let expected = "T-minus 10|Counting 0|T-minus 9|Counting 1|T-minus 8|Counting 2|T-minus 7|Counting 3|T-minus 6|Counting 4|T-minus 5|T-minus 4|T-minus 3|T-minus 2|T-minus 1";
        assert_eq!(lines.join("|"), expected);
        assert_eq!(lines.len(), 15);
    }
}
