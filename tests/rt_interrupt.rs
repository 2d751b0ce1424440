//! `JoinHandle::interrupt` (Java's `Thread.interrupt`) and `weft::timeout`
//! (gevent's `Timeout`), as a user sees them.

mod util;

use std::cell::Cell;
use std::io::{ErrorKind, Read};
use std::rc::Rc;
use std::time::{Duration, Instant};

use util::{block_on, Drops};
use weft::net::{TcpListener, TcpStream};
use weft::sync::{Condition, Event, Lock, Queue, Semaphore};
use weft::{spawn, timeout, yield_now, Elapsed, JoinError};

const LONG: Duration = Duration::from_secs(60);

#[test]
fn an_interrupted_sleep_returns_early() {
    block_on(|| {
        let t = spawn(|| {
            let start = Instant::now();
            weft::sleep(LONG);
            start.elapsed()
        });
        yield_now();
        t.interrupt();
        assert!(t.join().unwrap() < Duration::from_secs(10));
    });
}

#[test]
fn an_interrupt_while_running_is_pending_for_the_next_wait() {
    block_on(|| {
        let me_first = Rc::new(Cell::new(None));
        let m = me_first.clone();
        let t = spawn(move || {
            yield_now(); // interrupted here, while ready
            let lock = Lock::new();
            let _held = lock.lock();
            // The lock is held: this timed wait parks, or would.
            m.set(Some(lock.acquire_timeout(LONG)));
        });
        t.interrupt(); // not started yet: pending
        t.join().unwrap();
        assert_eq!(me_first.get(), Some(false), "ended at once, not acquired");
    });
}

#[test]
fn socket_reads_and_accepts_end_with_interrupted() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepter = spawn(move || listener.accept().map(|_| ()).unwrap_err().kind());
        yield_now();
        accepter.interrupt();
        assert_eq!(accepter.join().unwrap(), ErrorKind::Interrupted);

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr2 = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr2).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        let reader = spawn(move || {
            let mut buf = [0u8; 8];
            conn.read(&mut buf).unwrap_err().kind()
        });
        yield_now();
        reader.interrupt();
        assert_eq!(reader.join().unwrap(), ErrorKind::Interrupted);
        let _ = addr;
    });
}

#[test]
fn timed_sync_waits_end_as_their_timeout_would() {
    block_on(|| {
        let event = Rc::new(Event::new());
        let sem = Rc::new(Semaphore::new(0));
        let queue = Rc::new(Queue::<u32>::new(0));
        let cond = Rc::new(Condition::new());
        let (e, s, q, c) = (event.clone(), sem.clone(), queue.clone(), cond.clone());
        let t = spawn(move || {
            let mut ends = Vec::new();
            let start = Instant::now();
            ends.push(!e.wait_timeout(LONG));
            yield_now(); // interrupted again here
            ends.push(!s.acquire_timeout(LONG));
            yield_now();
            ends.push(q.get_timeout(LONG).is_err());
            yield_now();
            let mut guard = c.lock();
            ends.push(!c.wait_timeout(&mut guard, LONG));
            (ends, start.elapsed())
        });
        for _ in 0..4 {
            yield_now();
            t.interrupt();
        }
        let (ends, took) = t.join().unwrap();
        assert_eq!(ends, [true, true, true, true]);
        assert!(took < Duration::from_secs(10));
        assert_eq!(queue.qsize(), 0);
        let _ = (event, sem, cond);
    });
}

#[test]
fn an_untimed_lock_wait_is_uninterruptible_and_keeps_the_interrupt() {
    block_on(|| {
        let lock = Rc::new(Lock::new());
        let held = lock.lock();
        let l = lock.clone();
        let t = spawn(move || {
            drop(l.lock()); // waits on through the interrupt
            let start = Instant::now();
            weft::sleep(LONG); // ... which ends this sleep at once
            start.elapsed()
        });
        yield_now();
        t.interrupt();
        yield_now();
        assert!(!t.is_finished(), "still waiting for the lock");
        drop(held);
        assert!(t.join().unwrap() < Duration::from_secs(10));
    });
}

#[test]
fn an_interrupted_join_says_so_and_a_finished_task_ignores_it() {
    block_on(|| {
        let sleeper = spawn(|| weft::sleep(Duration::from_millis(50)));
        let joiner = spawn(move || {
            let mut sleeper = sleeper;
            let first = sleeper.join_timeout(LONG);
            (
                matches!(first, Err(JoinError::Interrupted)),
                sleeper.join().is_ok(),
            )
        });
        yield_now();
        joiner.interrupt();
        assert_eq!(joiner.join().unwrap(), (true, true));
        let done = spawn(|| 5);
        yield_now();
        done.interrupt(); // finished: nothing happens
        assert_eq!(done.join().unwrap(), 5);
    });
}

#[test]
fn timeout_ends_any_wait_and_runs_destructors() {
    let drops = Drops::new();
    let d = drops.clone();
    block_on(move || {
        let queue = Queue::<u32>::new(0);
        let start = Instant::now();
        let r = timeout(Duration::from_millis(30), || {
            let _g = d.guard();
            queue.get()
        });
        assert_eq!(r, Err(Elapsed::new()));
        assert!(start.elapsed() >= Duration::from_millis(25));
        assert_eq!(d.count(), 1);
        // An untimed, uninterruptible lock wait too; the lock is intact after.
        let lock = Rc::new(Lock::new());
        let held = lock.lock();
        assert_eq!(
            timeout(Duration::from_millis(10), || drop(lock.lock())),
            Err(Elapsed::new())
        );
        drop(held);
        assert!(
            lock.try_acquire(),
            "the timed-out waiter did not keep the lock"
        );
        lock.release().unwrap();
        // Nothing to wait for: the value comes back.
        assert_eq!(timeout(Duration::from_millis(10), || 3), Ok(3));
    });
}

#[test]
fn nested_timeouts_end_at_the_earliest_deadline_and_each_catches_its_own() {
    block_on(|| {
        // The outer deadline comes first: the inner timeout does not catch it.
        let inner_returned = Rc::new(Cell::new(false));
        let ir = inner_returned.clone();
        let outer = timeout(Duration::from_millis(20), move || {
            let inner = timeout(LONG, || weft::sleep(LONG));
            ir.set(true);
            inner
        });
        assert_eq!(outer, Err(Elapsed::new()));
        assert!(!inner_returned.get());
        // The inner deadline comes first: only the inner one elapses.
        let outer = timeout(LONG, || {
            let inner = timeout(Duration::from_millis(10), || weft::sleep(LONG));
            weft::sleep(Duration::from_millis(5)); // the outer scope is fine
            inner
        });
        assert_eq!(outer, Ok(Err(Elapsed::new())));
    });
}

#[test]
fn timeout_bounds_a_socket_read() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        let r = timeout(Duration::from_millis(20), || conn.read_exact(&mut buf));
        assert_eq!(r.map(|_| ()), Err(Elapsed::new()));
    });
}
