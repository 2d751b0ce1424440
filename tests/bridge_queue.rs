//! PollableQueue: OS threads feeding green consumers (and back), wake
//! coalescing, disconnection, backpressure, and an idle loop that sleeps.

mod util;

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use util::{block_on, poll_readable, thread_cpu_time, unread_bytes, XorShift};
use weft::bridge::{
    GetError, GetTimeoutError, PollableQueue, PutError, PutTimeoutError, TryGetError, TryPutError,
};
use weft::{sleep, spawn, Runtime};

const PRODUCERS: u64 = 8;
const PER_PRODUCER: u64 = 125_000;
/// Far longer than any wait in these tests: reaching it means a lost wakeup.
const PATIENCE: Duration = Duration::from_secs(5);

/// The next item, or `None` once the queue disconnects. Panics on a lost
/// wakeup (a get that waited all of `PATIENCE`, even if the final look after
/// the timeout then found the item) instead of hanging.
fn patient_get<T>(q: &PollableQueue<T>) -> Option<T> {
    let started = Instant::now();
    match q.get_timeout(PATIENCE) {
        Ok(v) if started.elapsed() < PATIENCE => Some(v),
        Err(GetTimeoutError::Closed) => None,
        _ => panic!("lost wakeup: a get waited {PATIENCE:?}"),
    }
}

/// Takes items until the queue disconnects.
fn collect<T>(q: &PollableQueue<T>) -> Vec<T> {
    std::iter::from_fn(|| patient_get(q)).collect()
}

#[test]
fn eight_producers_reach_one_green_consumer_exactly_once_in_order() {
    let q = PollableQueue::new().unwrap();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = q.sender();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    tx.put((p << 32) | i).unwrap();
                }
            })
        })
        .collect();
    let next = block_on(move || {
        let mut next = vec![0u64; PRODUCERS as usize];
        for v in collect(&q) {
            let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
            assert_eq!(i, next[p], "producer {p}: out of order or duplicated");
            next[p] += 1;
        }
        next
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(next, vec![PER_PRODUCER; PRODUCERS as usize]);
}

#[test]
fn bursts_with_random_pauses_lose_no_wakeup() {
    const BURSTS: usize = 400;
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let (sizes_tx, sizes_rx) = mpsc::channel();
    let producer = thread::spawn(move || {
        let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut n = 0u32;
        for _ in 0..BURSTS {
            let burst = 1 + rng.below(20);
            for _ in 0..burst {
                tx.put(n).unwrap();
                n += 1;
            }
            sizes_tx.send(burst).unwrap();
            // Sometimes none, sometimes long enough for the consumer to park.
            match rng.below(4) {
                0 => {}
                1 => thread::yield_now(),
                _ => thread::sleep(Duration::from_micros(rng.below(400))),
            }
        }
        n
    });
    let received = block_on(move || {
        let mut rng = XorShift::new(42);
        let mut expect = 0u32;
        while let Some(v) = patient_get(&q) {
            assert_eq!(v, expect);
            expect += 1;
            // The consumer pauses too, so both sides get to be the slow one.
            if rng.below(64) == 0 {
                sleep(Duration::from_micros(rng.below(300)));
            }
        }
        expect
    });
    let sent = producer.join().unwrap();
    assert_eq!(received, sent);
    assert_eq!(sizes_rx.iter().count(), BURSTS);
}

#[test]
fn a_flood_of_puts_with_no_consumer_never_blocks_the_producer() {
    const N: usize = 1_000_000;
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        for i in 0..N {
            tx.put(i).unwrap();
        }
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the producer blocked with nobody consuming");
    // Coalesced: the whole flood rang the doorbell once.
    assert_eq!(unread_bytes(q.as_raw_fd()), 1);
    let count = block_on(move || collect(&q).len());
    assert_eq!(count, N);
}

#[test]
fn an_idle_loop_waiting_on_queues_uses_no_cpu() {
    let q1 = PollableQueue::new().unwrap();
    let q2 = PollableQueue::new().unwrap();
    let (tx1, tx2) = (q1.sender(), q2.sender());
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        tx1.put("one").unwrap();
        tx2.put("two").unwrap();
    });
    let rt = Runtime::new().unwrap();
    let cpu_before = thread_cpu_time();
    let started = Instant::now();
    let got = rt
        .block_on(move || {
            let second = spawn(move || patient_get(&q2).unwrap());
            let first = patient_get(&q1).unwrap();
            (first, second.join().unwrap())
        })
        .unwrap();
    let cpu = thread_cpu_time() - cpu_before;
    producer.join().unwrap();
    assert_eq!(got, ("one", "two"));
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A busy-waiting loop would burn ~300 ms here; blocked in epoll, ~nothing.
    assert!(
        cpu < Duration::from_millis(100),
        "the idle loop used {cpu:?} of CPU"
    );
}

#[test]
fn the_read_end_is_readable_by_poll_from_another_thread_after_a_put() {
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let fd = q.as_raw_fd();
    assert!(!poll_readable(fd, Duration::ZERO));
    let watcher = thread::spawn(move || poll_readable(fd, Duration::from_secs(10)));
    thread::sleep(Duration::from_millis(20));
    tx.put(7).unwrap();
    assert!(watcher.join().unwrap(), "poll(2) never saw the put");
    // Readable while an item waits; not any more once a get found it empty.
    assert!(poll_readable(fd, Duration::ZERO));
    assert_eq!(q.try_get(), Ok(7));
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    assert!(!poll_readable(fd, Duration::ZERO));
}

#[test]
fn a_seed_style_poller_taking_one_item_per_readiness_gets_them_all() {
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let producer = thread::spawn(move || {
        for i in 0..500 {
            tx.put(i).unwrap();
            if i % 50 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let mut got = Vec::new();
    while got.len() < 500 {
        assert!(
            poll_readable(q.as_raw_fd(), Duration::from_secs(10)),
            "stalled at {}",
            got.len()
        );
        if let Ok(v) = q.try_get() {
            got.push(v);
        }
    }
    producer.join().unwrap();
    assert_eq!(got, (0..500).collect::<Vec<_>>());
}

#[test]
fn disconnect_comes_after_the_queue_drains() {
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let tx2 = tx.clone();
    tx.put(1).unwrap();
    tx2.put(2).unwrap();
    drop((tx, tx2));
    assert_eq!(q.get(), Ok(1));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
    assert_eq!(q.get(), Err(GetError));
}

#[test]
fn dropping_the_last_sender_wakes_a_parked_green_consumer() {
    let q = PollableQueue::<u8>::new().unwrap();
    let tx = q.sender();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        drop(tx);
    });
    let r = block_on(move || q.get_timeout(PATIENCE));
    dropper.join().unwrap();
    assert_eq!(r, Err(GetTimeoutError::Closed));
}

#[test]
fn a_consumer_parked_on_a_queue_with_live_producers_is_not_a_deadlock() {
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        tx.put("late").unwrap();
        tx
    });
    // Nothing else can wake the loop for 100 ms; it must wait, not report.
    let got = block_on(move || patient_get(&q));
    assert_eq!(got, Some("late"));
    drop(producer.join().unwrap());
}

#[test]
fn green_producers_feed_an_os_thread_consumer() {
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let consumer = thread::spawn(move || collect(&q));
    block_on(move || {
        let handles: Vec<_> = (0..3)
            .map(|t| {
                let tx = tx.clone();
                spawn(move || {
                    for i in 0..20 {
                        tx.put(t * 100 + i).unwrap();
                        sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        drop(tx);
        handles.into_iter().for_each(|h| h.join().unwrap());
    });
    let got = consumer.join().unwrap();
    assert_eq!(got.len(), 60);
    for t in 0..3 {
        let mine: Vec<_> = got.iter().copied().filter(|v| v / 100 == t).collect();
        assert_eq!(mine, (0..20).map(|i| t * 100 + i).collect::<Vec<_>>());
    }
}

#[test]
fn get_timeout_times_out_on_os_threads_and_green_threads() {
    let q = PollableQueue::<u8>::new().unwrap();
    let tx = q.sender();
    let t = Instant::now();
    assert_eq!(
        q.get_timeout(Duration::from_millis(30)),
        Err(GetTimeoutError::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(30));
    let q = block_on(move || {
        let t = Instant::now();
        assert_eq!(
            q.get_timeout(Duration::from_millis(30)),
            Err(GetTimeoutError::Timeout)
        );
        assert!(t.elapsed() >= Duration::from_millis(30));
        q
    });
    tx.put(5).unwrap();
    assert_eq!(q.get_timeout(Duration::from_millis(30)), Ok(5));
}

#[test]
fn a_bounded_queue_blocks_an_os_producer_while_full() {
    let q = PollableQueue::bounded(2).unwrap();
    let tx = q.sender();
    let progress = Arc::new(AtomicUsize::new(0));
    let seen = progress.clone();
    let producer = thread::spawn(move || {
        for i in 0..10 {
            tx.put(i).unwrap();
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        progress.load(Ordering::SeqCst),
        2,
        "the producer did not stop at capacity"
    );
    assert_eq!(q.len(), 2);
    let got = collect(&q);
    producer.join().unwrap();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_bounded_queue_parks_a_green_producer_and_the_loop_runs_on() {
    let q = PollableQueue::bounded(1).unwrap();
    let tx = q.sender();
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        while let Some(v) = patient_get(&q) {
            got.push(v);
            thread::sleep(Duration::from_millis(2));
        }
        got
    });
    let ticks = block_on(move || {
        let producer = spawn(move || {
            for i in 0..20 {
                tx.put(i).unwrap();
            }
        });
        let mut ticks = 0;
        while !producer.is_finished() {
            ticks += 1;
            sleep(Duration::from_millis(1));
        }
        producer.join().unwrap();
        ticks
    });
    assert_eq!(consumer.join().unwrap(), (0..20).collect::<Vec<_>>());
    assert!(
        ticks > 1,
        "the loop stalled while the producer waited for room"
    );
}

#[test]
fn try_put_and_put_give_the_item_back() {
    let q = PollableQueue::bounded(1).unwrap();
    let tx = q.sender();
    tx.try_put(String::from("a")).unwrap();
    assert_eq!(
        tx.try_put(String::from("b")),
        Err(TryPutError::Full(String::from("b")))
    );
    let err = tx
        .put_timeout(String::from("c"), Duration::from_millis(10))
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.into_inner(), "c");
    q.close();
    assert!(tx.is_closed());
    assert_eq!(tx.put(String::from("d")), Err(PutError(String::from("d"))));
    // Closing keeps what was queued.
    assert_eq!(q.try_get().as_deref(), Ok("a"));
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
}

#[test]
fn closing_wakes_a_producer_waiting_for_room() {
    let q = PollableQueue::bounded(1).unwrap();
    let tx = q.sender();
    tx.put(1).unwrap();
    let waiter = thread::spawn(move || tx.put_timeout(2, PATIENCE));
    thread::sleep(Duration::from_millis(20));
    drop(q);
    assert_eq!(waiter.join().unwrap(), Err(PutTimeoutError::Closed(2)));
}

#[test]
fn a_queue_can_be_waited_on_in_one_runtime_then_another() {
    let q = PollableQueue::new().unwrap();
    let tx = q.sender();
    let feeder = thread::spawn(move || {
        for i in 0..2 {
            thread::sleep(Duration::from_millis(20));
            tx.put(i).unwrap();
        }
    });
    let q = block_on(move || {
        assert_eq!(patient_get(&q), Some(0));
        q
    });
    let last = block_on(move || patient_get(&q));
    feeder.join().unwrap();
    assert_eq!(last, Some(1));
}

#[test]
fn a_second_green_waiter_on_one_queue_is_refused_loudly() {
    let q = std::rc::Rc::new(PollableQueue::<u8>::new().unwrap());
    let tx = q.sender();
    let r = block_on(move || {
        let q2 = q.clone();
        let first = spawn(move || q2.get_timeout(Duration::from_millis(200)));
        weft::yield_now();
        let second = spawn(move || q.get());
        let second = second.join();
        let first = first.join().unwrap();
        drop(tx);
        (first, second.is_err())
    });
    assert_eq!(r, (Err(GetTimeoutError::Timeout), true));
}

#[test]
fn a_green_producer_that_gave_up_leaves_no_wake_source_behind() {
    let q = PollableQueue::bounded(1).unwrap();
    let tx = q.sender();
    tx.put(1).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let run = Runtime::new().unwrap().block_on(move || {
            let err = tx.put_timeout(2, Duration::from_millis(10)).unwrap_err();
            assert!(err.is_timeout());
            // A real deadlock now: it must be reported, not slept on.
            weft::sync::Event::new().wait();
            drop(q);
        });
        done_tx
            .send(matches!(run, Err(weft::RunError::Deadlock(_))))
            .unwrap();
    });
    let deadlock = done_rx
        .recv_timeout(PATIENCE)
        .expect("the loop waited for a wake that cannot come");
    assert!(deadlock);
}

#[test]
fn the_endpoints_cross_threads() {
    fn send<T: Send>(_: &T) {}
    fn send_sync_clone<T: Send + Sync + Clone>(_: &T) {}
    let q = PollableQueue::<String>::new().unwrap();
    let tx = q.sender();
    send(&q);
    send_sync_clone(&tx);
    // A queue made on one thread is consumed on another.
    let consumer = thread::spawn(move || patient_get(&q));
    tx.put("across".to_owned()).unwrap();
    assert_eq!(consumer.join().unwrap().as_deref(), Some("across"));
}
