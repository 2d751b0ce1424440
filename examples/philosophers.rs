//! Seed 003's dining philosophers, made deadlock-free with `acquire_ordered`.
//!
//! ```text
//! cargo run --example philosophers
//! ```
//!
//! Five philosophers sit around five chopsticks (locks); philosopher `n`
//! needs chopsticks `n` and `(n + 1) % 5`. Each takes both through
//! `acquire_ordered`, which always takes the lower-numbered chopstick first,
//! so no cycle of waits can form (philosopher 4 asks for 0 before 4). Each
//! eats a bounded number of meals (the seed loops forever) and yields while
//! eating, so the others run meanwhile. The demo checks that neighbours
//! never eat at the same time.
//!
//! The order is fixed by the green rules: the philosophers start in order
//! (G2); a chopstick goes to the oldest task waiting for it (G5, G7); a
//! released chopstick's new holder only runs after the releaser's next
//! suspension point (G4). So 0 and 2 eat first while 1, 3 and 4 queue
//! for a chopstick held by 0 or 2. When 0 is done, its chopsticks go to 1
//! and 4 (the oldest waiters), and 0 queues again behind 4; 4 finds its
//! second chopstick free and eats, while 1 now waits for 2's. Followed step
//! by step, the meals come out as 0 2 4 3 2 3 1 3 2 0 1 4 1 0 4: not a fair
//! rotation, but the same every run, and everyone eats.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use weft::sync::{acquire_ordered, Lock};
use weft::{current, task, yield_now, Runtime};

mod support;
use support::Out;

const NSTICKS: usize = 5;

fn dine(out: Out, meals: usize) {
    let rt = Runtime::new().expect("runtime");
    let chopsticks: Rc<Vec<Lock>> = Rc::new((0..NSTICKS).map(|_| Lock::new()).collect());
    let eating = Rc::new(RefCell::new([false; NSTICKS]));
    let served = Rc::new(Cell::new(0));
    for n in 0..NSTICKS {
        let (sticks, eating, served, out) = (
            chopsticks.clone(),
            eating.clone(),
            served.clone(),
            out.clone(),
        );
        rt.spawn_with(
            task::Builder::new().name(format!("philosopher {n}")),
            move || {
                let (left, right) = (&sticks[n], &sticks[(n + 1) % NSTICKS]);
                for _ in 0..meals {
                    let _both = acquire_ordered(&[left, right]).expect("one acquire at a time");
                    {
                        let mut e = eating.borrow_mut();
                        let (l, r) = ((n + NSTICKS - 1) % NSTICKS, (n + 1) % NSTICKS);
                        assert!(!e[l] && !e[r], "neighbours of {n} are eating");
                        e[n] = true;
                    }
                    out(format!("{} eating", current().name().unwrap_or("?")));
                    served.set(served.get() + 1);
                    yield_now(); // eating takes a while
                    eating.borrow_mut()[n] = false;
                }
            },
        )
        .expect("spawn a philosopher");
    }
    rt.run().expect("acquire_ordered cannot deadlock");
    out(format!("{} meals served", served.get()));
}

fn main() {
    dine(Rc::new(support::print), 3);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn runs() {
        let got = capture(|out| dine(out, 3));
        let expected = [0, 2, 4, 3, 2, 3, 1, 3, 2, 0, 1, 4, 1, 0, 4]
            .iter()
            .map(|n| format!("philosopher {n} eating"))
            .chain(["15 meals served".to_owned()])
            .collect::<Vec<_>>();
        assert_eq!(got, expected);
    }
}
