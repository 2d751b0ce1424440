//! `Runtime::metrics` and `Handle::metrics`: the counters a user reads to
//! see what the loop did.

mod util;

use std::io::{Read, Write};
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::sync::Lock;
use weft::{spawn, task, yield_now, Runtime};

#[test]
fn counts_tasks_by_how_they_ended() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| {
        let ok = spawn(|| 1);
        let bad = spawn(|| -> i32 { panic!("counted") });
        let cancelled = spawn(|| weft::sleep(Duration::from_secs(60)));
        yield_now();
        cancelled.cancel();
        assert_eq!(ok.join().unwrap(), 1);
        assert!(bad.join().unwrap_err().is_panic());
        assert!(cancelled.join().unwrap_err().is_cancelled());
    })
    .unwrap();
    let m = rt.metrics();
    assert_eq!(m.tasks_spawned, 4);
    assert_eq!(m.tasks_finished, 2, "main and ok");
    assert_eq!(m.tasks_panicked, 1);
    assert_eq!(m.tasks_cancelled, 1);
    assert_eq!(m.tasks_overflowed, 0);
    assert_eq!(m.tasks_alive, 0);
    assert_eq!(m.parks.sleep, 1);
    assert!(m.parks.join >= 1, "{m:?}");
}

#[test]
fn counts_parks_wakes_polls_and_the_ready_queue() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| {
        let lock = std::rc::Rc::new(Lock::new());
        let guard = lock.lock();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let lock = lock.clone();
                spawn(move || drop(lock.lock()))
            })
            .collect();
        yield_now(); // all five park on the lock
        drop(guard);
        for w in waiters {
            w.join().unwrap();
        }
        // A socket round trip: read readiness and I/O events.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"x").unwrap();
        });
        let (mut conn, _) = listener.accept().unwrap();
        let mut b = [0u8; 1];
        conn.read_exact(&mut b).unwrap();
        client.join().unwrap();
    })
    .unwrap();
    let m = rt.metrics();
    assert_eq!(m.parks.primitive, 5, "{m:?}");
    assert!(m.parks.readable >= 1, "{m:?}");
    assert!(m.wakes >= 5, "{m:?}");
    assert!(m.polls >= 1 && m.io_events >= 1, "{m:?}");
    assert!(m.ready_queue_max >= 5, "{m:?}");
    assert!(m.resumes >= m.tasks_spawned, "{m:?}");
    assert!(
        m.stacks_mapped >= 1 && m.stacks_pooled == m.stacks_mapped,
        "{m:?}"
    );
}

#[test]
fn busy_and_idle_time_add_up() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| weft::sleep(Duration::from_millis(50)))
        .unwrap();
    let m = rt.metrics();
    assert!(m.idle_time >= Duration::from_millis(40), "{m:?}");
    assert!(
        m.busy_time < m.idle_time,
        "a sleeping runtime is mostly idle: {m:?}"
    );
}

#[test]
fn another_thread_reads_the_counters_while_the_loop_runs() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        rx.recv().unwrap(); // the runtime is in its sleep
        handle.metrics()
    });
    rt.block_on(move || {
        task::Builder::new()
            .name("sleeper".into())
            .spawn(|| weft::sleep(Duration::from_millis(300)))
            .unwrap();
        weft::yield_now();
        tx.send(()).unwrap();
    })
    .unwrap();
    let seen = reader.join().unwrap();
    assert_eq!(seen.tasks_spawned, 2, "{seen:?}");
    assert!(seen.tasks_alive >= 1, "{seen:?}");
    assert!(rt.metrics().tasks_alive == 0);
}
