//! The per-call `_timeout` forms added next to the untimed waits.

mod util;

use std::rc::Rc;
use std::time::{Duration, Instant};

use util::block_on;
use weft::bridge::spawn_blocking_timeout;
use weft::sync::{Barrier, Queue};
use weft::{spawn, yield_now, Runtime};

#[test]
fn barrier_wait_timeout_withdraws_a_lone_arrival_and_passes_a_full_round() {
    block_on(|| {
        let barrier = Rc::new(Barrier::new(2));
        let start = Instant::now();
        assert!(barrier.wait_timeout(Duration::from_millis(20)).is_none());
        assert!(start.elapsed() >= Duration::from_millis(15));
        assert_eq!(
            barrier.n_waiting(),
            0,
            "the timed-out arrival was withdrawn"
        );
        let b = barrier.clone();
        let other = spawn(move || b.wait_timeout(Duration::from_secs(30)).is_some());
        yield_now();
        let mine = barrier.wait_timeout(Duration::from_secs(30));
        assert!(mine.unwrap().is_leader());
        assert!(other.join().unwrap());
    });
}

#[test]
fn queue_join_timeout_says_whether_the_work_got_done() {
    block_on(|| {
        let q = Rc::new(Queue::new(0));
        q.put(1).unwrap();
        assert!(
            !q.join_timeout(Duration::from_millis(10)),
            "nobody did the work"
        );
        let worker = {
            let q = q.clone();
            spawn(move || {
                let _ = q.get().unwrap();
                weft::sleep(Duration::from_millis(10));
                q.task_done().unwrap();
            })
        };
        assert!(q.join_timeout(Duration::from_secs(30)));
        worker.join().unwrap();
        assert!(
            Queue::<u8>::new(0).join_timeout(Duration::ZERO),
            "nothing unfinished"
        );
    });
}

#[test]
fn spawn_blocking_timeout_gives_up_but_the_loop_stays_healthy() {
    block_on(|| {
        let slow = spawn_blocking_timeout(Duration::from_millis(10), || {
            std::thread::sleep(Duration::from_millis(300));
            1
        });
        assert!(slow.unwrap_err().is_timeout());
        let fast = spawn_blocking_timeout(Duration::from_secs(30), || 2);
        assert_eq!(fast.unwrap(), 2);
    });
}

#[test]
fn remote_join_timeout_leaves_the_handle_usable() {
    let rt = Runtime::new().unwrap();
    let mut h = rt.handle().spawn(|| 3).unwrap();
    assert!(h
        .join_timeout(Duration::from_millis(10))
        .unwrap_err()
        .is_timeout());
    rt.run().unwrap();
    assert_eq!(h.join_timeout(Duration::from_secs(30)).unwrap(), 3);
}
