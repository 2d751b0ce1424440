//! The seed's "Polling Multiple Thread Queues" (AS-03): three
//! `PollableQueue`s fed by an OS thread, one green consumer that `select`s
//! over them and takes one item from each ready queue per round.
//!
//! ```text
//! cargo run --example pollable_queue           # the seed: puts 1, 10, "hello", 15 → Got: 1 / Got: 10 / Got: hello / Got: 15
//! cargo run --example pollable_queue -- live   # 10,000 items spread over the queues while the consumer runs
//! ```
//!
//! The consumer ends when every queue is disconnected (the producer thread
//! dropped its senders); in the seed it is a daemon that loops forever.

use std::thread;

use weft::bridge::{select, PollableQueue, Selectable, TryGetError};
use weft::Runtime;

mod support;

/// Selects over the queues still open until all are disconnected; each
/// round takes one item from every ready queue, in list order, via `take`.
fn consume(
    queues: &[&dyn Selectable],
    mut take: impl FnMut(usize) -> Result<String, TryGetError>,
    out: &dyn Fn(String),
) {
    let mut open = vec![true; queues.len()];
    while open.contains(&true) {
        let live: Vec<usize> = (0..queues.len()).filter(|&i| open[i]).collect();
        let sources: Vec<&dyn Selectable> = live.iter().map(|&i| queues[i]).collect();
        for ready in select(&sources) {
            let i = live[ready];
            match take(i) {
                Ok(item) => out(item),
                Err(TryGetError::Closed) => open[i] = false,
                Err(TryGetError::Empty) => {}
            }
        }
    }
}

/// AS-03 as in the seed: all puts happen before the consumer runs.
fn seed(out: impl Fn(String) + 'static) {
    let q1 = PollableQueue::new().expect("socketpair");
    let q2 = PollableQueue::new().expect("socketpair");
    let q3 = PollableQueue::new().expect("socketpair");
    let (t1, t2, t3) = (q1.sender(), q2.sender(), q3.sender());
    thread::spawn(move || {
        t1.put(1).unwrap();
        t2.put(10).unwrap();
        t3.put("hello").unwrap();
        t2.put(15).unwrap();
    })
    .join()
    .expect("producer");
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let take = |i: usize| match i {
                0 => q1.try_get().map(|v| v.to_string()),
                1 => q2.try_get().map(|v| v.to_string()),
                _ => q3.try_get().map(str::to_owned),
            };
            consume(&[&q1, &q2, &q3], take, &|item| out(format!("Got: {item}")));
        })
        .expect("no deadlock");
}

/// The cross-thread variant: an OS thread puts `n` items round-robin over
/// three queues while the green consumer runs.
fn live(n: u32, out: impl Fn(String) + 'static) {
    let queues: Vec<PollableQueue<u32>> = (0..3)
        .map(|_| PollableQueue::new().expect("socketpair"))
        .collect();
    let senders: Vec<_> = queues.iter().map(PollableQueue::sender).collect();
    let producer = thread::spawn(move || {
        for i in 0..n {
            senders[i as usize % 3].put(i).unwrap();
        }
    });
    Runtime::new()
        .expect("runtime")
        .block_on(move || {
            let mut received: Vec<Vec<u32>> = vec![Vec::new(); 3];
            let sources: Vec<&dyn Selectable> = queues.iter().map(|q| q as _).collect();
            let take = |i: usize| {
                let v = queues[i].try_get()?;
                received[i].push(v);
                Ok(String::new())
            };
            consume(&sources, take, &|_| {});
            out(format!(
                "received {} items",
                received.iter().map(Vec::len).sum::<usize>()
            ));
            for (i, items) in received.iter().enumerate() {
                let in_order = items.iter().zip(items.iter().skip(1)).all(|(a, b)| a < b);
                let fifo = if in_order {
                    "in FIFO order"
                } else {
                    "OUT OF ORDER"
                };
                out(format!("queue {i}: {} items, {fifo}", items.len()));
            }
        })
        .expect("no deadlock");
    producer.join().expect("producer");
}

fn main() {
    let print = support::print;
    match std::env::args().nth(1).as_deref() {
        None | Some("seed") => seed(print),
        Some("live") => live(10_000, print),
        Some(other) => support::unknown_variant(other, "seed, live"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::capture;

    #[test]
    fn as03_seed_prints_the_four_items_in_select_order() {
        let lines = capture(|o| seed(move |l| o(l)));
        assert_eq!(lines, ["Got: 1", "Got: 10", "Got: hello", "Got: 15"]);
    }

    #[test]
    fn as03_live_variant_receives_everything_once_in_fifo_order() {
        let lines = capture(|o| live(10_000, move |l| o(l)));
        assert_eq!(
            lines,
            [
                "received 10000 items",
                "queue 0: 3334 items, in FIFO order",
                "queue 1: 3333 items, in FIFO order",
                "queue 2: 3333 items, in FIFO order",
            ]
        );
    }
}
