//! Seed 001's producer/consumer, three ways (a `Condition`, an `Event`, a
//! `Queue`), and seed 003's sentinel shutdown of several consumers.
//!
//! ```text
//! cargo run --example producer_consumer -- condition   # seed 001's 17 lines
//! cargo run --example producer_consumer -- condition-forever  # the consumer is not a daemon: deadlock report
//! cargo run --example producer_consumer -- event       # seed 001's code order: the first event is missed
//! cargo run --example producer_consumer -- event-consumer-first  # seed 001's 8 lines
//! cargo run --example producer_consumer -- queue       # seed 001's 4 lines
//! cargo run --example producer_consumer -- sentinel    # three consumers stopped by one re-put sentinel
//! ```
//!
//! The seed's producer loops forever on random integers, sleeping 1 s; here
//! it makes two rounds with the integers of the seed's sample output and
//! sleeps 20 ms. The producer is `Thread-1`, spawned first; the consumer is
//! `Thread-2`, a daemon so `run` can end once the producer is done.
//!
//! Why the outputs are what they are, under the green rules:
//!
//! - **condition**: the producer runs first (G2) and appends before the
//!   consumer ever waits; the consumer pops 159, comes back and waits. On
//!   the next round `notify` only queues the consumer (G4): it takes the
//!   lock back after the producer has printed `released`. That is exactly
//!   the seed's 17 lines.
//! - **event**: `set` immediately followed by `clear` only releases tasks
//!   already waiting (E-28). In the seed's order the producer sets the
//!   event before the consumer first waits, so 124 is never popped. With
//!   the consumer spawned first, it is waiting at every `set`, which gives
//!   the seed's 8 lines.
//! - **queue**: `put` hands the item straight to a waiting consumer (G7):
//!   the seed's 4 lines. Main then `join`s the queue (every item done).
//! - **sentinel**: the consumers wait first; the producer hands 1, 2, 3 to
//!   them in arrival order and queues 4, 5 and `Stop`. Each consumer yields
//!   after an item, so they take turns; the first to see `Stop` puts it back
//!   for the next (E-20).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use weft::sync::{Condition, Event, Mutex, Queue};
use weft::{current, sleep, task, yield_now, JoinHandle, RunError, Runtime};

mod support;
use support::Out;

/// The seed's "random" integers, from its sample outputs.
const CONDITION_INTS: [u32; 2] = [159, 116];
const EVENT_INTS: [u32; 2] = [124, 223];
const QUEUE_INTS: [u32; 2] = [61, 6];

fn name() -> String {
    current().name().unwrap_or("?").to_owned()
}

fn spawn_named(name: &str, daemon: bool, f: impl FnOnce() + 'static) -> JoinHandle<()> {
    task::Builder::new()
        .name(name.into())
        .daemon(daemon)
        .spawn(f)
        .expect("spawn")
}

/// Runs `main` and writes the deadlock report, if any, through `out`.
fn run(out: &Out, main: impl FnOnce() + 'static) {
    match Runtime::new().expect("runtime").block_on(main) {
        Ok(()) => {}
        Err(RunError::Deadlock(report)) => report.to_string().lines().for_each(|l| out(l.into())),
        Err(e) => out(format!("run() failed: {e}")),
    }
}

/// Seed 001's `Condition` producer and consumer over a shared list.
fn condition(out: Out, interval: Duration, daemon_consumer: bool) {
    let o = out.clone();
    run(&out, move || {
        let cv = Rc::new(Condition::with_lock(Rc::new(Mutex::new(Vec::new()))));
        let (c, out) = (cv.clone(), o.clone());
        let producer = spawn_named("Thread-1", false, move || {
            for integer in CONDITION_INTS {
                let mut integers = c.lock();
                out(format!("condition acquired by {}", name()));
                integers.push(integer);
                out(format!("{integer} appended to list by {}", name()));
                out(format!("condition notified by {}", name()));
                c.notify(&integers, 1);
                out(format!("condition released by {}", name()));
                drop(integers);
                sleep(interval);
            }
        });
        spawn_named("Thread-2", daemon_consumer, move || loop {
            let mut integers = cv.lock();
            o(format!("condition acquired by {}", name()));
            loop {
                if let Some(integer) = integers.pop() {
                    o(format!("{integer} popped from list by {}", name()));
                    break;
                }
                o(format!("condition wait by {}", name()));
                cv.wait(&mut integers);
            }
            o(format!("condition released by {}", name()));
        });
        producer.join().expect("producer ends");
    });
}

/// Seed 001's `Event` producer and consumer: `set` then `clear` at once.
fn event(out: Out, interval: Duration, consumer_first: bool) {
    let o = out.clone();
    run(&out, move || {
        let integers = Rc::new(RefCell::new(Vec::new()));
        let event = Rc::new(Event::new());
        let (list, evt, out) = (integers.clone(), event.clone(), o.clone());
        let producer = move || {
            for integer in EVENT_INTS {
                list.borrow_mut().push(integer);
                out(format!("{integer} appended to list by {}", name()));
                out(format!("event set by {}", name()));
                evt.set();
                evt.clear();
                out(format!("event cleared by {}", name()));
                sleep(interval);
            }
        };
        let consumer = move || loop {
            event.wait();
            let popped = integers.borrow_mut().pop();
            match popped {
                Some(integer) => o(format!("{integer} popped from list by {}", name())),
                None => sleep(interval), // the seed's `except IndexError`
            }
        };
        let producer = if consumer_first {
            spawn_named("Thread-2", true, consumer);
            spawn_named("Thread-1", false, producer)
        } else {
            let p = spawn_named("Thread-1", false, producer);
            spawn_named("Thread-2", true, consumer);
            p
        };
        producer.join().expect("producer ends");
    });
}

/// Seed 001's `Queue` producer and consumer, with `task_done` and `join`.
fn queue(out: Out, interval: Duration) {
    let o = out.clone();
    run(&out, move || {
        let q = Rc::new(Queue::new(0));
        let (producer_q, out) = (q.clone(), o.clone());
        let producer = spawn_named("Thread-1", false, move || {
            for integer in QUEUE_INTS {
                producer_q.put(integer).expect("open queue");
                out(format!("{integer} put to queue by {}", name()));
                sleep(interval);
            }
        });
        let consumer_q = q.clone();
        spawn_named("Thread-2", true, move || {
            while let Ok(integer) = consumer_q.get() {
                o(format!("{integer} popped from list by {}", name()));
                consumer_q.task_done().expect("one task_done per get");
            }
        });
        producer.join().expect("producer ends");
        q.join();
    });
}

/// What travels on the sentinel demo's queue: data, or the order to stop.
enum Msg {
    Data(u32),
    Stop,
}

/// Seed 003's sentinel: one `Stop` shuts down every consumer, each putting
/// it back for the next.
fn sentinel(out: Out) {
    let o = out.clone();
    run(&out, move || {
        let q = Rc::new(Queue::new(0));
        let consumers: Vec<_> = (1..=3)
            .map(|n| {
                let (q, o) = (q.clone(), o.clone());
                spawn_named(&format!("consumer {n}"), false, move || loop {
                    match q.get().expect("open queue") {
                        Msg::Data(x) => {
                            o(format!("{} got {x}", name()));
                            yield_now(); // process the item
                        }
                        Msg::Stop => {
                            q.put(Msg::Stop).expect("open queue"); // for the others
                            o(format!("{} stopping", name()));
                            break;
                        }
                    }
                })
            })
            .collect();
        let producer_q = q.clone();
        spawn_named("producer", false, move || {
            for x in 1..=5 {
                producer_q.put(Msg::Data(x)).expect("open queue");
            }
            producer_q.put(Msg::Stop).expect("open queue");
        });
        for c in consumers {
            c.join().expect("consumer ends");
        }
        o("all consumers stopped".to_owned());
    });
}

fn main() {
    let print: Out = Rc::new(support::print);
    let interval = Duration::from_millis(20);
    match std::env::args().nth(1).as_deref() {
        None | Some("condition") => condition(print, interval, true),
        Some("condition-forever") => condition(print, interval, false),
        Some("event") => event(print, interval, false),
        Some("event-consumer-first") => event(print, interval, true),
        Some("queue") => queue(print, interval),
        Some("sentinel") => sentinel(print),
        Some(other) => support::unknown_variant(
            other,
            "condition, condition-forever, event, \
                 event-consumer-first, queue, sentinel",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    const T: Duration = Duration::from_millis(5);

    const CONDITION_17: [&str; 17] = [
        "condition acquired by Thread-1",
        "159 appended to list by Thread-1",
        "condition notified by Thread-1",
        "condition released by Thread-1",
        "condition acquired by Thread-2",
        "159 popped from list by Thread-2",
        "condition released by Thread-2",
        "condition acquired by Thread-2",
        "condition wait by Thread-2",
        "condition acquired by Thread-1",
        "116 appended to list by Thread-1",
        "condition notified by Thread-1",
        "condition released by Thread-1",
        "116 popped from list by Thread-2",
        "condition released by Thread-2",
        "condition acquired by Thread-2",
        "condition wait by Thread-2",
    ];

    #[test]
    fn condition_reproduces_the_seed_17_lines() {
        assert_eq!(capture(|o| condition(o, T, true)), CONDITION_17);
    }

    #[test]
    fn condition_with_a_non_daemon_consumer_is_reported_as_deadlocked() {
        let lines = capture(|o| condition(o, T, false));
        assert_eq!(lines[..17], CONDITION_17);
        assert_eq!(
            lines[17..],
            [
                "deadlock: 1 task(s) blocked with nothing left to wake them",
                "  task 3 'Thread-2' waits on Condition",
            ]
        );
    }

    #[test]
    fn event_in_seed_order_misses_the_first_set() {
        assert_eq!(
            capture(|o| event(o, T, false)),
            [
                "124 appended to list by Thread-1",
                "event set by Thread-1",
                "event cleared by Thread-1",
                "223 appended to list by Thread-1",
                "event set by Thread-1",
                "event cleared by Thread-1",
                "223 popped from list by Thread-2",
            ]
        );
    }

    #[test]
    fn event_with_the_consumer_first_reproduces_the_seed_8_lines() {
        assert_eq!(
            capture(|o| event(o, T, true)),
            [
                "124 appended to list by Thread-1",
                "event set by Thread-1",
                "event cleared by Thread-1",
                "124 popped from list by Thread-2",
                "223 appended to list by Thread-1",
                "event set by Thread-1",
                "event cleared by Thread-1",
                "223 popped from list by Thread-2",
            ]
        );
    }

    #[test]
    fn queue_reproduces_the_seed_4_lines() {
        assert_eq!(
            capture(|o| queue(o, T)),
            [
                "61 put to queue by Thread-1",
                "61 popped from list by Thread-2",
                "6 put to queue by Thread-1",
                "6 popped from list by Thread-2",
            ]
        );
    }

    #[test]
    fn sentinel_stops_every_consumer() {
        assert_eq!(
            capture(sentinel),
            [
                "consumer 1 got 1",
                "consumer 2 got 2",
                "consumer 3 got 3",
                "consumer 1 got 4",
                "consumer 2 got 5",
                "consumer 3 stopping",
                "consumer 1 stopping",
                "consumer 2 stopping",
                "all consumers stopped",
            ]
        );
    }
}
