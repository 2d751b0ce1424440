//! Lock-ordering deadlock (seed 000 Listing 19-13) and its fix with
//! `acquire_ordered` (seed 003 "Locking with Deadlock Avoidance").
//!
//! ```text
//! cargo run --example deadlock              # two tasks, two locks, opposite order: the deadlock report
//! cargo run --example deadlock -- no-yield  # the same without a suspension point inside: no deadlock
//! cargo run --example deadlock -- ordered   # acquire_ordered takes both in one global order: no deadlock
//! cargo run --example deadlock -- nested    # nested acquire_ordered out of order: Lock Order Violation
//! ```
//!
//! `thread #1` takes `lock_one` then `lock_two`; `thread #2 (reversed)`
//! takes them the other way round. Green threads only switch at suspension
//! points (G1), so this can only deadlock if a task suspends while holding
//! its first lock: with a `yield_now` there, each task holds one lock and
//! waits for the other. Nothing can wake them, so `run` returns the
//! deadlock report naming both tasks (G10) instead of hanging. Without the
//! yield each task runs its three rounds in one go and nothing deadlocks
//! (AS-27).
//!
//! With `acquire_ordered` both tasks take `lock_one` first whatever order
//! they name the locks in. A released lock is handed to the oldest waiter
//! (G7), so the two tasks alternate: 1, 2, 3, 4, 5, 6.
//!
//! In the nested variant `Thread-2` holds `y_lock` and asks for `x_lock`,
//! which sorts before it: `acquire_ordered` refuses at once with `Lock
//! Order Violation` (the seed's crash is in `Thread-1`; which thread gets it
//! depends on which lock sorts first). `Thread-2` ends, releasing `y_lock`,
//! and `Thread-1` goes on.

use std::cell::Cell;
use std::rc::Rc;

use weft::sync::{acquire_ordered, Lock};
use weft::{current, task, yield_now, RunError, Runtime};

mod support;
use support::Out;

/// A task's body, boxed so the variants can share one spawning helper.
type Body = Box<dyn FnOnce()>;

/// Rounds each task makes (the seed's `while True`, bounded).
const ROUNDS: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Plain locks, a yield while holding the first.
    Cycle,
    /// Plain locks, no suspension point inside.
    NoYield,
    /// `acquire_ordered`, a yield while holding both.
    Ordered,
}

fn name() -> String {
    current().name().unwrap_or("?").to_owned()
}

/// Runs `tasks` (name, body) on a fresh runtime and reports how it ended.
fn run_tasks(out: &Out, tasks: Vec<(&str, Body)>) {
    let rt = Runtime::new().expect("runtime");
    for (name, body) in tasks {
        rt.spawn_with(task::Builder::new().name(name.into()), body)
            .expect("spawn");
    }
    match rt.run() {
        Ok(()) => {}
        Err(RunError::Deadlock(report)) => report.to_string().lines().for_each(|l| out(l.into())),
        Err(e) => out(format!("run() failed: {e}")),
    }
}

/// Seed 000's `cause_deadlock`, and the two ways out of it.
fn two_locks(out: Out, variant: Variant) {
    let counter = Rc::new(Cell::new(0));
    let lock_one = Rc::new(Lock::named("lock_one"));
    let lock_two = Rc::new(Lock::named("lock_two"));
    let acquire_locks = |first: Rc<Lock>, second: Rc<Lock>, names: (&'static str, &'static str)| {
        let (counter, out) = (counter.clone(), out.clone());
        Box::new(move || {
            let bump = || {
                counter.set(counter.get() + 1);
                out(format!("{} {}", name(), counter.get()));
            };
            for _ in 0..ROUNDS {
                if variant == Variant::Ordered {
                    let _both = acquire_ordered(&[&first, &second]).expect("nothing held yet");
                    bump();
                    yield_now(); // suspended while holding both
                    continue;
                }
                let _first = first.lock();
                if variant == Variant::Cycle {
                    out(format!("{} took {}", name(), names.0));
                    yield_now(); // suspended while holding the first lock
                    out(format!("{} waits for {}", name(), names.1));
                }
                let _second = second.lock();
                bump();
            }
        }) as Body
    };
    let t1 = acquire_locks(lock_one.clone(), lock_two.clone(), ("lock_one", "lock_two"));
    let t2 = acquire_locks(lock_two, lock_one, ("lock_two", "lock_one"));
    run_tasks(&out, vec![("thread #1", t1), ("thread #2 (reversed)", t2)]);
    if variant != Variant::Cycle {
        out(format!("counter = {}", counter.get()));
    }
}

/// Seed 003's nested `with acquire(x_lock): with acquire(y_lock):`.
fn nested(out: Out) {
    let x_lock = Rc::new(Lock::named("x_lock"));
    let y_lock = Rc::new(Lock::named("y_lock"));
    let thread = |outer: Rc<Lock>, inner: Rc<Lock>| {
        let out = out.clone();
        Box::new(move || {
            for _ in 0..2 {
                let _outer = acquire_ordered(&[&outer]).expect("nothing held yet");
                yield_now();
                match acquire_ordered(&[&inner]) {
                    Ok(_inner) => out(name()),
                    Err(e) => {
                        out(format!("Exception in thread {}: {e}", name()));
                        return;
                    }
                }
            }
        }) as Body
    };
    let t1 = thread(x_lock.clone(), y_lock.clone());
    let t2 = thread(y_lock, x_lock);
    run_tasks(&out, vec![("Thread-1", t1), ("Thread-2", t2)]);
}

fn main() {
    let print: Out = Rc::new(support::print);
    match std::env::args().nth(1).as_deref() {
        None | Some("cycle") => two_locks(print, Variant::Cycle),
        Some("no-yield") => two_locks(print, Variant::NoYield),
        Some("ordered") => two_locks(print, Variant::Ordered),
        Some("nested") => nested(print),
        Some(other) => support::unknown_variant(other, "cycle, no-yield, ordered, nested"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn opposite_order_with_a_yield_is_reported_as_a_deadlock() {
        assert_eq!(
            capture(|o| two_locks(o, Variant::Cycle)),
            [
                "thread #1 took lock_one",
                "thread #2 (reversed) took lock_two",
                "thread #1 waits for lock_two",
                "thread #2 (reversed) waits for lock_one",
                "deadlock: 2 task(s) blocked with nothing left to wake them",
                "  task 1 'thread #1' waits on Lock 'lock_two' held by task 2 'thread #2 (reversed)'",
                "  task 2 'thread #2 (reversed)' waits on Lock 'lock_one' held by task 1 'thread #1'",
            ]
        );
    }

    #[test]
    fn without_a_suspension_point_each_task_runs_through() {
        assert_eq!(
            capture(|o| two_locks(o, Variant::NoYield)),
            [
                "thread #1 1",
                "thread #1 2",
                "thread #1 3",
                "thread #2 (reversed) 4",
                "thread #2 (reversed) 5",
                "thread #2 (reversed) 6",
                "counter = 6",
            ]
        );
    }

    #[test]
    fn acquire_ordered_avoids_the_deadlock_and_alternates() {
        assert_eq!(
            capture(|o| two_locks(o, Variant::Ordered)),
            [
                "thread #1 1",
                "thread #2 (reversed) 2",
                "thread #1 3",
                "thread #2 (reversed) 4",
                "thread #1 5",
                "thread #2 (reversed) 6",
                "counter = 6",
            ]
        );
    }

    #[test]
    fn nested_out_of_order_acquire_is_a_lock_order_violation() {
        assert_eq!(
            capture(nested),
            [
                "Exception in thread Thread-2: Lock Order Violation",
                "Thread-1",
                "Thread-1",
            ]
        );
    }
}
