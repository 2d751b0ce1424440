//! Seed 004's `bookrank.py`: look up three book rankings one after another,
//! then all at once, one green thread per lookup.
//!
//! ```text
//! cargo run --example bookrank                 # one task per book: results in completion order
//! cargo run --example bookrank -- sequential   # one lookup after another: results in list order
//! ```
//!
//! There is no network here: `get_ranking` sleeps for the book's simulated
//! latency (1-3 units of 10 ms, standing in for the seed's 1-3 s round trips)
//! and returns a fixed rank. Sequentially the lookups take 2 + 1 + 3 = 6
//! units; fanned out they take as long as the slowest, 3 units, as in the
//! seed ("six seconds" against "three").
//!
//! The fan-out prints in completion order, which the seed calls variable.
//! Here simulated time runs on a grid: a reply arrives exactly its latency
//! after its request (`sleep_until`), all three requests go out at the
//! start, and timers fire in deadline order even when the OS wakes us late,
//! so it is always the order of the latencies: Fundamentals (1), Core (2),
//! Django (3). That is the order of
//! the seed's threaded sample. As in the seed, the main task does not join
//! the lookups: `run` waits for every non-daemon task, so the final `all
//! DONE` line (the seed's `atexit` handler) is printed after `run` returns
//! (E-47).

use std::rc::Rc;
use std::time::{Duration, Instant};

use weft::{sleep_until, spawn, Runtime};

mod support;
use support::Out;

/// A book: ISBN, title, simulated latency in units, the rank "the server" returns.
struct Book {
    isbn: &'static str,
    title: &'static str,
    latency: u32,
    rank: &'static str,
}

/// The seed's `ISBNs`, in the order its sample output lists them.
const BOOKS: [Book; 3] = [
    Book {
        isbn: "0132269937",
        title: "Core Python Programming",
        latency: 2,
        rank: "36,481",
    },
    Book {
        isbn: "0137143419",
        title: "Python Fundamentals",
        latency: 1,
        rank: "869,010",
    },
    Book {
        isbn: "0132356139",
        title: "Python Web Development with Django",
        latency: 3,
        rank: "219,228",
    },
];

/// The seed's `getRanking(isbn)`, with a sleep instead of a page fetch: the
/// reply comes the book's latency after the request was `sent`. Returns the
/// rank and when it arrived.
fn get_ranking(isbn: &str, sent: Instant, unit: Duration) -> (&'static str, Instant) {
    let book = BOOKS.iter().find(|b| b.isbn == isbn).expect("known ISBN");
    let reply = sent + unit * book.latency;
    sleep_until(reply); // the round trip to the server
    (book.rank, reply)
}

/// The seed's `_showRanking(isbn)`; returns when the reply arrived.
fn show_ranking(out: &Out, isbn: &'static str, sent: Instant, unit: Duration) -> Instant {
    let title = BOOKS
        .iter()
        .find(|b| b.isbn == isbn)
        .expect("known ISBN")
        .title;
    let (rank, reply) = get_ranking(isbn, sent, unit);
    out(format!("- '{title}' ranked {rank}"));
    reply
}

/// Runs the lookups; returns how long they took in all.
fn bookrank(out: Out, unit: Duration, threaded: bool) -> Duration {
    let rt = Runtime::new().expect("runtime");
    let start = Instant::now();
    let o = out.clone();
    rt.spawn(move || {
        o("At start on Amazon...".to_owned());
        let mut now = start;
        for book in &BOOKS {
            if threaded {
                let o = o.clone();
                spawn(move || show_ranking(&o, book.isbn, start, unit));
            } else {
                now = show_ranking(&o, book.isbn, now, unit);
            }
        }
    });
    rt.run().expect("no deadlock");
    let took = start.elapsed();
    out("all DONE".to_owned());
    took
}

fn main() {
    let print: Out = Rc::new(support::print);
    let unit = Duration::from_millis(10);
    let threaded = match std::env::args().nth(1).as_deref() {
        None | Some("threaded") => true,
        Some("sequential") => false,
        Some(other) => support::unknown_variant(other, "threaded, sequential"),
    };
    let took = bookrank(print, unit, threaded);
    eprintln!("(took {took:?}; one unit is {unit:?})");
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Duration = Duration::from_millis(10);

    fn capture(threaded: bool) -> (Vec<String>, Duration) {
        let mut took = Duration::ZERO;
        let lines = support::capture(|out| took = bookrank(out, UNIT, threaded));
        (lines, took)
    }

    #[test]
    fn fan_out_prints_in_completion_order() {
        let (lines, took) = capture(true);
        assert_eq!(
            lines,
            [
                "At start on Amazon...",
                "- 'Python Fundamentals' ranked 869,010",
                "- 'Core Python Programming' ranked 36,481",
                "- 'Python Web Development with Django' ranked 219,228",
                "all DONE",
            ]
        );
        assert!(took >= UNIT * 3, "the slowest lookup takes 3 units");
    }

    #[test]
    fn sequential_prints_in_list_order() {
        let (lines, took) = capture(false);
        assert_eq!(
            lines,
            [
                "At start on Amazon...",
                "- 'Core Python Programming' ranked 36,481",
                "- 'Python Fundamentals' ranked 869,010",
                "- 'Python Web Development with Django' ranked 219,228",
                "all DONE",
            ]
        );
        assert!(took >= UNIT * 6, "the lookups add up to 6 units");
    }
}
