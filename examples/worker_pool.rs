//! AS-04: offload a CPU-bound job with `spawn_blocking` and the loop keeps
//! running; run the same job inline in a green thread and every green
//! thread stalls until it is done ("it will suspend the entire task
//! scheduler", seed 003). Then the seed's `Worker.submit(pow, 2, 3)`.
//!
//! ```text
//! cargo run --example worker_pool
//! ```
//!
//! A ticker green thread counts a tick every 10 ms while a 200 ms job runs:
//! about 20 ticks when the job is on a worker thread, none when it is inline.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use weft::{sleep, spawn, spawn_blocking, Runtime};

const TICK: Duration = Duration::from_millis(10);
const JOB: Duration = Duration::from_millis(200);

/// Keeps a CPU busy for `how_long` and returns what it computed.
fn cpu_job(how_long: Duration) -> u64 {
    let started = Instant::now();
    let mut x = 0u64;
    while started.elapsed() < how_long {
        for i in 0..10_000u64 {
            x = black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
    x
}

/// Runs the job (on a worker, or inline) next to a ticker and returns how
/// many ticks happened while it ran.
fn ticks_during_job(offload: bool) -> usize {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let ticks = Rc::new(Cell::new(0usize));
            let running = Rc::new(Cell::new(true));
            let ticker = {
                let (ticks, running) = (ticks.clone(), running.clone());
                spawn(move || {
                    while running.get() {
                        sleep(TICK);
                        ticks.set(ticks.get() + 1);
                    }
                })
            };
            sleep(TICK / 2); // let the ticker start
            let before = ticks.get();
            if offload {
                spawn_blocking(|| cpu_job(JOB)).expect("the job ran");
            } else {
                cpu_job(JOB);
            }
            let during = ticks.get() - before;
            running.set(false);
            ticker.join().expect("ticker");
            during
        })
        .expect("no deadlock")
}

/// Prints the two tick counts and the seed's `pow(2, 3)`; returns the counts.
fn demo(out: impl Fn(String)) -> (usize, usize) {
    let offloaded = ticks_during_job(true);
    out(format!(
        "offloaded: {offloaded} ticks while the 200 ms job ran"
    ));
    let inline = ticks_during_job(false);
    out(format!("inline: {inline} ticks while the 200 ms job ran"));
    let eight = Runtime::new()
        .expect("runtime")
        .block_on(|| spawn_blocking(|| 2i64.pow(3)).expect("pow ran"))
        .expect("no deadlock");
    out(eight.to_string());
    (offloaded, inline)
}

fn main() {
    demo(|line| println!("{line}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn as04_offloading_keeps_ticking_inline_stalls_and_pow_is_8() {
        let lines = RefCell::new(Vec::new());
        let (offloaded, inline) = demo(|l| lines.borrow_mut().push(l));
        let lines = lines.into_inner();
        // About 20 ticks offloaded; generous slack for two noisy cores.
        assert!(
            offloaded >= 5,
            "only {offloaded} ticks with the job on a worker"
        );
        assert!(inline <= 1, "{inline} ticks while the job blocked the loop");
        assert_eq!(
            lines,
            [
                format!("offloaded: {offloaded} ticks while the 200 ms job ran"),
                format!("inline: {inline} ticks while the 200 ms job ran"),
                "8".to_owned(),
            ]
        );
    }
}
