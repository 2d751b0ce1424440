//! Seed 003's `ActorScheduler`: actors that run only when a message is
//! delivered to them, and a counter that counts down by sending messages to
//! itself, without recursion.
//!
//! ```text
//! cargo run --example actor_scheduler         # AS-09: counter/printer from 10000: Got: 10000 ... Got: 1
//! cargo run --example actor_scheduler -- 5    # the small case: Got: 5 ... Got: 1
//! ```
//!
//! Each actor is a green thread with its own stack, parked in
//! [`Inbox::recv`] between messages. The scheduler is the seed's loop over
//! one FIFO of pending `(actor, message)` pairs: it hands a message to the
//! actor's mailbox and parks until the actor asks for its next message (or
//! ends), then delivers the next pair. So exactly one actor runs at a time
//! and messages are handled in the order they were sent, as in the seed:
//! `counter` gets `n`, sends `n` to `printer` and `n - 1` to itself, and
//! returns to `recv`; the chain of 10,000 self-sends is a loop through the
//! message queue, so the stack stays flat (the actors run on 64 KiB stacks;
//! 10,000 nested calls would not fit).
//!
//! The run makes 20,003 deliveries (two priming deliveries that start the
//! actors, 10,001 to `counter`, 10,000 to `printer`) and never holds more
//! than 3 pending messages. A message to an unknown name is dropped, and
//! one to an actor that has finished is swallowed, as in the seed. When no
//! message is left, `run` closes every mailbox so the actors still waiting
//! (`printer`) return from `recv` with `None` and end.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use weft::sync::{Queue, Semaphore};
use weft::{task, Runtime};

mod support;

/// Stack for each actor: ample for a loop, far too small for 10,000 frames.
const ACTOR_STACK: usize = 64 * 1024;

/// What the scheduler hands an actor.
enum Delivery<M> {
    /// Start the actor and let it run to its first `recv` (the seed's `send(None)`).
    Prime,
    /// A message for `recv`.
    Msg(M),
}

/// An actor's end of its mailbox.
struct Inbox<M> {
    /// Deliveries waiting for the actor (at most one at a time).
    mailbox: Queue<Delivery<M>>,
    /// Released when the actor is back in `recv` or has ended: the scheduler's turn.
    idle: Semaphore,
    /// Set when the actor's body has returned (the seed's `StopIteration`).
    finished: Cell<bool>,
}

impl<M> Inbox<M> {
    /// Gives the turn back to the scheduler and waits for the next message;
    /// `None` once the scheduler has shut down.
    fn recv(&self) -> Option<M> {
        self.idle.release();
        match self.mailbox.get() {
            Ok(Delivery::Msg(msg)) => Some(msg),
            Ok(Delivery::Prime) | Err(_) => None,
        }
    }
}

/// Marks its actor finished and hands the turn back, however the body ends.
struct Finished<M>(Rc<Inbox<M>>);

impl<M> Drop for Finished<M> {
    fn drop(&mut self) {
        self.0.finished.set(true);
        self.0.idle.release();
    }
}

/// Delivery counts, for checking the seed's claims.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Stats {
    /// Messages handed to actors, priming included.
    deliveries: usize,
    /// The most messages ever pending at once.
    max_pending: usize,
}

/// A pending delivery: which actor, and what.
type Pending<M> = (Rc<Inbox<M>>, Delivery<M>);

/// The seed's `ActorScheduler`: named actors and one FIFO of pending messages.
struct ActorScheduler<M> {
    /// Actors by name.
    actors: RefCell<HashMap<&'static str, Rc<Inbox<M>>>>,
    /// Pending deliveries, oldest first.
    msg_queue: RefCell<VecDeque<Pending<M>>>,
    /// What `run` did.
    stats: Cell<Stats>,
}

impl<M: 'static> ActorScheduler<M> {
    fn new() -> Rc<Self> {
        Rc::new(ActorScheduler {
            actors: RefCell::new(HashMap::new()),
            msg_queue: RefCell::new(VecDeque::new()),
            stats: Cell::new(Stats::default()),
        })
    }

    /// Admits an actor: a green thread that runs `body` once primed.
    fn new_actor(&self, name: &'static str, body: impl FnOnce(&Inbox<M>) + 'static) {
        let inbox = Rc::new(Inbox {
            mailbox: Queue::new(0),
            idle: Semaphore::new(0),
            finished: Cell::new(false),
        });
        let mine = inbox.clone();
        task::Builder::new()
            .name(name.into())
            .stack_size(ACTOR_STACK)
            .spawn(move || {
                let _finished = Finished(mine.clone());
                if let Ok(Delivery::Prime) = mine.mailbox.get() {
                    body(&mine);
                }
            })
            .expect("spawn an actor");
        self.push(inbox.clone(), Delivery::Prime);
        self.actors.borrow_mut().insert(name, inbox);
    }

    /// Queues `msg` for the actor called `name`; unknown names are dropped.
    fn send(&self, name: &str, msg: M) {
        let actor = self.actors.borrow().get(name).cloned();
        if let Some(actor) = actor {
            self.push(actor, Delivery::Msg(msg));
        }
    }

    fn push(&self, actor: Rc<Inbox<M>>, delivery: Delivery<M>) {
        let mut queue = self.msg_queue.borrow_mut();
        queue.push_back((actor, delivery));
        let mut stats = self.stats.get();
        stats.max_pending = stats.max_pending.max(queue.len());
        self.stats.set(stats);
    }

    /// Delivers messages, one actor turn at a time, until none is pending;
    /// then closes every mailbox so the actors end.
    fn run(&self) -> Stats {
        loop {
            let next = self.msg_queue.borrow_mut().pop_front();
            let Some((actor, delivery)) = next else { break };
            if actor.finished.get() {
                continue; // the seed catches StopIteration and moves on
            }
            let mut stats = self.stats.get();
            stats.deliveries += 1;
            self.stats.set(stats);
            if actor.mailbox.put(delivery).is_ok() {
                actor.idle.acquire(); // the actor's turn
            }
        }
        for actor in self.actors.borrow().values() {
            actor.mailbox.close();
        }
        self.stats.get()
    }
}

/// AS-09: `printer` prints what it gets; `counter` counts down from `start`.
fn counter_printer(out: Rc<dyn Fn(String)>, start: u32) -> Stats {
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let sched = ActorScheduler::<u32>::new();
            sched.new_actor("printer", move |inbox| {
                while let Some(msg) = inbox.recv() {
                    out(format!("Got: {msg}"));
                }
            });
            let s = sched.clone();
            sched.new_actor("counter", move |inbox| {
                while let Some(n) = inbox.recv() {
                    if n == 0 {
                        break;
                    }
                    s.send("printer", n);
                    s.send("counter", n - 1);
                }
            });
            sched.send("nobody", 1); // unknown name: dropped
            sched.send("counter", start);
            sched.run()
        })
        .expect("no deadlock")
}

fn main() {
    let start = match std::env::args().nth(1) {
        None => 10_000,
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: actor_scheduler [COUNT]; {arg:?} is not a count");
            std::process::exit(2);
        }),
    };
    let stats = counter_printer(Rc::new(support::print), start);
    eprintln!(
        "{} deliveries, at most {} pending",
        stats.deliveries, stats.max_pending
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: u32) -> (Vec<String>, Stats) {
        let mut stats = None;
        let lines = support::capture(|out| stats = Some(counter_printer(out, start)));
        (lines, stats.expect("counter_printer returned"))
    }

    #[test]
    fn as09_counts_down_from_10000_in_order_with_3_pending_at_most() {
        let (lines, stats) = run(10_000);
        let expected: Vec<String> = (1..=10_000).rev().map(|n| format!("Got: {n}")).collect();
        assert_eq!(lines.len(), 10_000);
        assert_eq!(lines, expected);
        assert_eq!(
            stats,
            Stats {
                deliveries: 20_003,
                max_pending: 3
            }
        );
    }

    #[test]
    fn small_case_prints_5_lines_in_13_deliveries() {
        let (lines, stats) = run(5);
        assert_eq!(lines, ["Got: 5", "Got: 4", "Got: 3", "Got: 2", "Got: 1"]);
        assert_eq!(stats.deliveries, 13);
    }

    #[test]
    fn zero_prints_nothing() {
        let (lines, stats) = run(0);
        assert!(lines.is_empty());
        assert_eq!(stats.deliveries, 3); // two primes and the 0 that stops counter
    }
}
