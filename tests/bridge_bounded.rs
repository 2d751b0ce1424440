//! A bounded PollableQueue under a flood: many producers blocked on a small
//! capacity all finish, every item arrives exactly once and in each
//! producer's order, the capacity is never exceeded, and a cancelled
//! producer does not strand the others.

mod util;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use util::block_on;
use weft::bridge::{GetTimeoutError, PollableQueue};
use weft::{sleep, spawn};

const PRODUCERS: u64 = 8;
const PER_PRODUCER: u64 = 50_000;
const CAPACITY: usize = 16;
/// Far longer than any wait here: reaching it means a lost wakeup.
const PATIENCE: Duration = Duration::from_secs(10);

/// Checks that `got` holds each producer's items once, in its order.
fn assert_exactly_once_in_order(got: &[u64], producers: u64, each: u64) {
    let mut next = vec![0; producers as usize];
    for &v in got {
        let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
        assert_eq!(
            i, next[p],
            "producer {p}: item {i} out of order or repeated"
        );
        next[p] += 1;
    }
    assert!(
        next.iter().all(|&n| n == each),
        "items lost: per producer {next:?}, want {each} each"
    );
}

#[test]
fn eight_os_producers_into_bounded_16_all_finish_and_nothing_is_lost_or_doubled() {
    let q = PollableQueue::bounded(CAPACITY).unwrap();
    let (done_tx, done) = mpsc::channel();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = q.sender();
            let done_tx = done_tx.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    tx.put((p << 32) | i).unwrap();
                }
                done_tx.send(p).unwrap();
            })
        })
        .collect();
    drop(done_tx);
    let got = block_on(move || {
        let mut got = Vec::with_capacity((PRODUCERS * PER_PRODUCER) as usize);
        loop {
            // Never more than the capacity waiting, whatever the producers do.
            assert!(q.len() <= CAPACITY, "{} items queued", q.len());
            let started = Instant::now();
            match q.get_timeout(PATIENCE) {
                Ok(v) if started.elapsed() < PATIENCE => got.push(v),
                Err(GetTimeoutError::Closed) => return got,
                _ => panic!("lost wakeup: a get waited {PATIENCE:?}"),
            }
        }
    });
    let finished: Vec<_> = done.iter().collect();
    assert_eq!(
        finished.len(),
        PRODUCERS as usize,
        "a producer never finished"
    );
    producers.into_iter().for_each(|p| p.join().unwrap());
    assert_exactly_once_in_order(&got, PRODUCERS, PER_PRODUCER);
}

#[test]
fn green_and_os_producers_share_a_bounded_queue_with_an_os_consumer() {
    const GREEN: u64 = 4;
    const EACH: u64 = 5_000;
    let q = PollableQueue::bounded(4).unwrap();
    let txs: Vec<_> = (0..GREEN * 2).map(|_| q.sender()).collect();
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            let started = Instant::now();
            match q.get_timeout(PATIENCE) {
                Ok(v) if started.elapsed() < PATIENCE => got.push(v),
                Err(GetTimeoutError::Closed) => return got,
                _ => panic!("lost wakeup: a get waited {PATIENCE:?}"),
            }
        }
    });
    let mut txs = txs.into_iter().enumerate();
    let os: Vec<_> = txs
        .by_ref()
        .take(GREEN as usize)
        .map(|(p, tx)| {
            thread::spawn(move || (0..EACH).for_each(|i| tx.put(((p as u64) << 32) | i).unwrap()))
        })
        .collect();
    let green: Vec<_> = txs.collect();
    block_on(move || {
        let tasks: Vec<_> = green
            .into_iter()
            .map(|(p, tx)| {
                spawn(move || (0..EACH).for_each(|i| tx.put(((p as u64) << 32) | i).unwrap()))
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    os.into_iter().for_each(|t| t.join().unwrap());
    assert_exactly_once_in_order(&consumer.join().unwrap(), GREEN * 2, EACH);
}

#[test]
fn a_cancelled_waiting_producer_does_not_strand_the_others() {
    let q = PollableQueue::bounded(1).unwrap();
    let filler = q.sender();
    let waiters: Vec<_> = (0..3).map(|_| q.sender()).collect();
    filler.put(0).unwrap();
    let consumer = thread::spawn(move || {
        // Let every green producer queue up for room first.
        thread::sleep(Duration::from_millis(50));
        let mut got = Vec::new();
        loop {
            match q.get_timeout(PATIENCE) {
                Ok(v) => got.push(v),
                Err(GetTimeoutError::Closed) => return got,
                Err(GetTimeoutError::Timeout) => panic!("a producer was stranded"),
            }
        }
    });
    block_on(move || {
        let mut tasks: Vec<_> = waiters
            .into_iter()
            .enumerate()
            .map(|(i, tx)| spawn(move || tx.put(i as u64 + 1).unwrap()))
            .collect();
        drop(filler);
        sleep(Duration::from_millis(10));
        // The oldest waiter goes away while (or before) it is woken.
        tasks.remove(0).cancel();
        tasks.into_iter().for_each(|t| t.join().unwrap());
    });
    let mut got = consumer.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, [0, 2, 3]);
}

#[test]
fn cancelling_green_producers_mid_flood_strands_none_of_the_rest() {
    const GREEN: usize = 8;
    const EACH: u64 = 2_000;
    let q = PollableQueue::bounded(2).unwrap();
    let txs: Vec<_> = (0..GREEN).map(|_| q.sender()).collect();
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            let started = Instant::now();
            match q.get_timeout(PATIENCE) {
                Ok(v) if started.elapsed() < PATIENCE => got.push(v),
                Err(GetTimeoutError::Closed) => return got,
                _ => panic!("a producer was stranded: a get waited {PATIENCE:?}"),
            }
        }
    });
    block_on(move || {
        let tasks: Vec<_> = txs
            .into_iter()
            .enumerate()
            .map(|(p, tx)| {
                spawn(move || (0..EACH).for_each(|i| tx.put(((p as u64) << 32) | i).unwrap()))
            })
            .collect();
        // Half of them go away while parked for room, some of them just
        // after a wake picked them; their senders drop as they unwind.
        sleep(Duration::from_millis(5));
        for t in tasks.iter().step_by(2) {
            t.cancel();
        }
        for (p, t) in tasks.into_iter().enumerate() {
            let ended = t.join();
            if p % 2 == 1 {
                ended.expect("a producer that was not cancelled failed");
            }
        }
    });
    let got = consumer.join().unwrap();
    let mut next = [0; GREEN];
    for v in got {
        let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
        assert_eq!(i, next[p], "producer {p}: out of order or repeated");
        next[p] += 1;
    }
    for (p, n) in next.iter().enumerate().filter(|(p, _)| p % 2 == 1) {
        assert_eq!(*n, EACH, "producer {p} lost items");
    }
}
