//! Seed 004's candy machine: a `BoundedSemaphore` counts the five candy
//! slots; a vendor refills and a buyer buys at pseudo-random moments.
//!
//! ```text
//! cargo run --example candy
//! ```
//!
//! Refilling a full machine is the over-release that a `BoundedSemaphore`
//! refuses (`Semaphore released too many times`, Python's `ValueError`);
//! buying from an empty one is a `try_acquire` that fails (Python's
//! `acquire(False)`).
//!
//! The seed draws its loop counts and its 0-2 s pauses from `random`; here
//! they come from a tiny xorshift generator with a fixed seed, and a second
//! is one `unit` (10 ms when run, 20 ms in the test). So that the order of
//! events does not depend on how late the OS wakes us, each task sleeps
//! until a point on a shared grid (`start + k * unit`) rather than for a
//! duration: timers fire in deadline order, and two tasks due at the same
//! point wake in the order they went to sleep (G8). A pause of 0 is a plain
//! yield, like Python's `sleep(0)`. The buyer is started first, as in the
//! seed, so it buys before the vendor's first refill.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use weft::sync::{BoundedSemaphore, Lock};
use weft::{sleep_until, Runtime};

mod support;
use support::Out;

/// Candy slots in the machine.
const MAX: usize = 5;

/// The generator's fixed seed (picked so the run shows both "full" and "empty").
const SEED: u64 = 10;

/// A xorshift64 generator: enough to replace the seed's `randrange`.
struct XorShift(Cell<u64>);

impl XorShift {
    /// A number in `lo..hi`, like Python's `randrange(lo, hi)`.
    fn randrange(&self, lo: u64, hi: u64) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        lo + x % (hi - lo)
    }
}

/// The machine: a lock around the prints, and the tray of candy.
struct CandyMachine {
    lock: Lock,
    candytray: BoundedSemaphore,
    out: Out,
}

impl CandyMachine {
    fn refill(&self) {
        let _held = self.lock.lock();
        match self.candytray.release() {
            Ok(()) => (self.out)("Refilling candy... OK".to_owned()),
            Err(e) => (self.out)(format!("Refilling candy... full, skipping ({e})")),
        }
    }

    fn buy(&self) {
        let _held = self.lock.lock();
        if self.candytray.try_acquire() {
            (self.out)("Buying candy... OK".to_owned());
        } else {
            (self.out)("Buying candy... empty, skipping".to_owned());
        }
    }
}

fn candy(out: Out, unit: Duration) {
    let rng = Rc::new(XorShift(Cell::new(SEED)));
    let machine = Rc::new(CandyMachine {
        lock: Lock::new(),
        candytray: BoundedSemaphore::new(MAX),
        out: out.clone(),
    });
    let rt = Runtime::new().expect("runtime");
    let start = Instant::now();
    let nloops = rng.randrange(2, 6);
    out(format!("THE CANDY MACHINE (full with {MAX} bars)!"));
    // Each task does `action` `loops` times, pausing 0-2 units after each.
    let task = |loops: u64, action: fn(&CandyMachine)| {
        let (machine, rng) = (machine.clone(), rng.clone());
        move || {
            let mut units = 0;
            for _ in 0..loops {
                action(&machine);
                units += rng.randrange(0, 3) as u32;
                sleep_until(start + unit * units);
            }
        }
    };
    rt.spawn(task(
        rng.randrange(nloops, nloops + MAX as u64 + 2),
        CandyMachine::buy,
    )); // buyer
    rt.spawn(task(nloops, CandyMachine::refill)); // vendor
    rt.run().expect("no deadlock");
    out("all DONE".to_owned()); // the seed's atexit handler
}

fn main() {
    candy(Rc::new(support::print), Duration::from_millis(10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn runs() {
        let got = capture(|out| candy(out, Duration::from_millis(20)));
        let full = "Refilling candy... full, skipping (Semaphore released too many times)";
        let expected = [
            "THE CANDY MACHINE (full with 5 bars)!",
            "Buying candy... OK",
            "Refilling candy... OK",
            full,
            "Buying candy... OK",
            "Refilling candy... OK",
            "Buying candy... OK",
            "Buying candy... OK",
            "Refilling candy... OK",
            "Buying candy... OK",
            "Buying candy... OK",
            "Buying candy... OK",
            "Buying candy... OK",
            "Buying candy... empty, skipping",
            "Buying candy... empty, skipping",
            "all DONE",
        ];
        assert_eq!(got, expected);
    }
}
