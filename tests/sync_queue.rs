//! Queue, LifoQueue and PriorityQueue: order, blocking and handoff, errors
//! that give the item back, task_done/join, close, cancellation.

mod util;

use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{block_on, blocked, expect_deadlock, Log};
use weft::sync::{
    GetTimeoutError, LifoQueue, PriorityQueue, PutTimeoutError, Queue, TryGetError, TryPutError,
};
use weft::{spawn, yield_now};

#[test]
fn fifo_order_and_sizes() {
    let q = Queue::new(3);
    assert!(q.empty() && !q.full());
    for i in 1..=3 {
        q.try_put(i).unwrap();
    }
    assert_eq!((q.qsize(), q.full(), q.maxsize()), (3, true, 3));
    let err = q.try_put(4).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.to_string(), "putting on a full queue");
    assert_eq!(err.into_inner(), 4, "the item comes back");
    let got: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    let unbounded = Queue::new(0);
    for i in 0..1000 {
        unbounded.try_put(i).unwrap();
    }
    assert!(!unbounded.full());
}

#[test]
fn lifo_and_priority_orders() {
    let lifo = LifoQueue::new(0);
    for i in 1..=3 {
        lifo.try_put(i).unwrap();
    }
    assert_eq!(
        std::iter::from_fn(|| lifo.try_get().ok()).collect::<Vec<_>>(),
        [3, 2, 1]
    );

    /// Ordered by priority only, so ties show the arrival order.
    #[derive(Debug, PartialEq, Eq)]
    struct Job(u8, &'static str);
    impl Ord for Job {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.cmp(&other.0)
        }
    }
    impl PartialOrd for Job {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    let pq = PriorityQueue::new(0);
    for job in [
        Job(1, "a"),
        Job(5, "b"),
        Job(1, "c"),
        Job(5, "d"),
        Job(3, "e"),
    ] {
        pq.try_put(job).unwrap();
    }
    let names: Vec<_> = std::iter::from_fn(|| pq.try_get().ok())
        .map(|j| j.1)
        .collect();
    assert_eq!(names, ["b", "d", "e", "a", "c"]);
}

#[test]
fn put_parks_while_full_and_get_while_empty() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let q = Rc::new(Queue::new(1));
        let (qc, lc) = (q.clone(), l.clone());
        let consumer = spawn(move || {
            while let Ok(item) = qc.get() {
                lc.push(format!("got {item}"));
            }
        });
        for i in 0..3 {
            q.put(i).unwrap();
            l.push(format!("put {i}"));
        }
        yield_now();
        q.close();
        consumer.join().unwrap();
    });
    // The consumer has not run yet (G2): put 0 fills the queue without
    // parking (G6), put 1 parks. The consumer's first get moves the parked
    // item in; it drains both and parks; put 2 goes straight to it.
    assert_eq!(
        log.lines(),
        ["put 0", "got 0", "got 1", "put 1", "put 2", "got 2"]
    );
}

#[test]
fn parked_getters_are_served_in_arrival_order() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let q = Rc::new(Queue::new(0));
        let getters: Vec<_> = (0..3)
            .map(|i| {
                let (q, l) = (q.clone(), l.clone());
                spawn(move || {
                    let item: &str = q.get().unwrap();
                    l.push(format!("getter {i} got {item}"));
                })
            })
            .collect();
        yield_now();
        for item in ["a", "b", "c"] {
            q.put(item).unwrap();
        }
        // Handed over: a late try_get cannot steal an item promised to a getter.
        assert_eq!(q.try_get(), Err(TryGetError::Empty));
        assert_eq!(q.qsize(), 0);
        getters.into_iter().for_each(|g| g.join().unwrap());
    });
    assert_eq!(
        log.lines(),
        ["getter 0 got a", "getter 1 got b", "getter 2 got c"]
    );
}

#[test]
fn parked_putters_are_served_in_arrival_order() {
    block_on(|| {
        let q = Rc::new(Queue::new(1));
        q.put("first").unwrap();
        let putters: Vec<_> = ["x", "y", "z"]
            .into_iter()
            .map(|item| {
                let q = q.clone();
                spawn(move || q.put(item).unwrap())
            })
            .collect();
        yield_now(); // all three park on the full queue
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(q.get().unwrap());
            assert_eq!(
                q.qsize(),
                usize::from(got.len() < 4),
                "the slot was refilled at once"
            );
        }
        assert_eq!(got, ["first", "x", "y", "z"]);
        putters.into_iter().for_each(|p| p.join().unwrap());
    });
}

#[test]
fn timeouts_give_up_and_give_the_item_back() {
    block_on(|| {
        let q = Queue::new(1);
        let start = Instant::now();
        assert_eq!(
            q.get_timeout(Duration::from_millis(30)),
            Err(GetTimeoutError::Timeout)
        );
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        q.put(String::from("kept")).unwrap();
        let err = q
            .put_timeout(String::from("late"), Duration::from_millis(20))
            .unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(err.into_inner(), "late");
        assert_eq!(q.get_timeout(Duration::from_millis(20)).unwrap(), "kept");
    });
}

#[test]
fn task_done_and_join() {
    let log = Log::new();
    let l = log.clone();
    block_on(move || {
        let q = Rc::new(Queue::new(0));
        q.join(); // nothing unfinished: returns at once
        let err = q.task_done().unwrap_err();
        assert_eq!(err.to_string(), "task_done() called too many times");
        for i in 0..3 {
            q.put(i).unwrap();
        }
        let (qw, lw) = (q.clone(), l.clone());
        let worker = spawn(move || {
            for _ in 0..3 {
                let item = qw.get().unwrap();
                yield_now();
                lw.push(format!("done {item}"));
                qw.task_done().unwrap();
            }
        });
        q.join();
        l.push("joined");
        assert_eq!(q.unfinished(), 0);
        assert!(q.task_done().is_err(), "still too many");
        worker.join().unwrap();
    });
    assert_eq!(log.lines(), ["done 0", "done 1", "done 2", "joined"]);
}

#[test]
fn close_fails_puts_and_ends_gets_after_draining() {
    block_on(|| {
        let q = Rc::new(Queue::new(1));
        q.put(1).unwrap();
        let qp = q.clone();
        let parked_putter = spawn(move || qp.put(2));
        yield_now();
        q.close();
        // The parked putter gets its item back; later puts fail at once.
        assert_eq!(parked_putter.join().unwrap().unwrap_err().into_inner(), 2);
        assert_eq!(q.put(3).unwrap_err().0, 3);
        assert!(q.try_put(4).unwrap_err().is_closed());
        let err = q.put_timeout(5, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, PutTimeoutError::Closed(5)));
        // What was queued still comes out, then the end.
        assert_eq!(q.get(), Ok(1));
        assert!(q.get().is_err());
        assert_eq!(q.try_get(), Err(TryGetError::Closed));
        assert_eq!(
            q.get_timeout(Duration::from_secs(1)),
            Err(GetTimeoutError::Closed)
        );
        assert!(q.is_closed());

        // Parked getters wake with the end of the stream.
        let q = Rc::new(Queue::<u8>::new(0));
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                spawn(move || q.get().is_err())
            })
            .collect();
        yield_now();
        q.close();
        assert!(getters.into_iter().all(|g| g.join().unwrap()));
    });
}

#[test]
fn an_item_handed_to_a_cancelled_getter_is_not_lost() {
    block_on(|| {
        let q = Rc::new(Queue::new(0));
        let qd = q.clone();
        let doomed = spawn(move || qd.get().unwrap());
        let qn = q.clone();
        let next = spawn(move || qn.get().unwrap());
        yield_now();
        q.put("precious").unwrap(); // handed to `doomed` ...
        doomed.cancel(); // ... which unwinds before it runs
        assert!(doomed.join().unwrap_err().is_cancelled());
        assert_eq!(next.join().unwrap(), "precious");

        // With no other getter, it goes back to the front of the queue.
        let qd = q.clone();
        let doomed = spawn(move || qd.get().unwrap());
        yield_now();
        q.put("first").unwrap();
        q.put("second").unwrap();
        doomed.cancel();
        assert!(doomed.join().unwrap_err().is_cancelled());
        assert_eq!(q.try_get(), Ok("first"));
        assert_eq!(q.try_get(), Ok("second"));
    });
}

#[test]
fn timeout_racing_a_put_is_resolved_once() {
    block_on(|| {
        let q = Rc::new(Queue::new(0));
        let qe = q.clone();
        let early = spawn(move || qe.get_timeout(Duration::from_millis(10)));
        let qp = q.clone();
        let patient = spawn(move || qp.get_timeout(Duration::from_secs(10)));
        yield_now();
        std::thread::sleep(Duration::from_millis(30)); // past the early deadline
        yield_now(); // its timer fires
        q.put(7).unwrap();
        assert_eq!(early.join().unwrap(), Err(GetTimeoutError::Timeout));
        assert_eq!(patient.join().unwrap(), Ok(7));
    });
}

#[test]
fn a_starved_consumer_is_a_reported_deadlock() {
    let report = expect_deadlock(|| {
        let q = Queue::<u8>::new(0);
        let _ = q.get();
    });
    assert_eq!(
        blocked(&report),
        [("main".to_owned(), "Queue::get".to_owned())]
    );
    let report = expect_deadlock(|| {
        let q = PriorityQueue::new(1);
        q.put(1).unwrap();
        let _ = q.put(2);
    });
    assert_eq!(
        blocked(&report),
        [("main".to_owned(), "PriorityQueue::put".to_owned())]
    );
    let report = expect_deadlock(|| {
        let q = LifoQueue::new(0);
        q.put(1).unwrap();
        q.join();
    });
    assert_eq!(
        blocked(&report),
        [("main".to_owned(), "LifoQueue::join".to_owned())]
    );
}

#[test]
fn try_put_error_variants_match_crossbeam_style() {
    let q = Queue::new(1);
    q.try_put(1).unwrap();
    match q.try_put(2) {
        Err(TryPutError::Full(2)) => {}
        other => panic!("{other:?}"),
    }
    q.close();
    match q.try_put(3) {
        Err(TryPutError::Closed(3)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn debug_output_names_each_queue_type() {
    block_on(|| {
        assert!(format!("{:?}", Queue::<u8>::new(0)).starts_with("Queue {"));
        assert!(format!("{:?}", weft::sync::LifoQueue::<u8>::new(0)).starts_with("LifoQueue {"));
        assert!(
            format!("{:?}", weft::sync::PriorityQueue::<u8>::new(0)).starts_with("PriorityQueue {")
        );
    });
}
