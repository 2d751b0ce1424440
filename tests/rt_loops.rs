//! Loops: N runtimes on N threads — values in index order, start-up errors
//! that name the loop and leave nothing running, a failing loop reported
//! with its index while the others are told to stop, handles reachable from
//! outside and from other loops, pinning, and listeners per loop with
//! `SO_REUSEPORT` splitting connections.

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use weft::net::ListenOptions;
use weft::{Builder, Loop, LoopError, Loops};

/// Far longer than any of these tests takes: reaching it means a loop that
/// was never told to stop, or never ended.
const PATIENCE: Duration = Duration::from_secs(20);

/// `loops.join()`, failing the test instead of hanging.
fn join_within<T: Send + 'static>(loops: Loops<T>) -> Result<Vec<T>, LoopError> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(loops.join()).unwrap());
    rx.recv_timeout(PATIENCE)
        .expect("the loops did not end: a stop was lost")
}

#[test]
fn each_loop_runs_the_closure_on_its_own_named_thread_and_values_come_back_in_order() {
    let loops = Loops::spawn(4, |lp: Loop| {
        (
            lp.index(),
            lp.count(),
            thread::current().name().map(str::to_owned),
        )
    })
    .unwrap();
    let got = join_within(loops).unwrap();
    let want: Vec<_> = (0..4)
        .map(|i| (i, 4, Some(format!("weft-loop-{i}"))))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn zero_loops_is_a_clear_error() {
    let err = Loops::spawn(0, |_: Loop| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least one loop"), "{err}");
}

#[test]
fn a_runtime_that_cannot_be_built_names_the_loop_and_runs_no_closure() {
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    let err = Loops::builder(3)
        .runtime(Builder::new().stack_size(usize::MAX / 2))
        .spawn(move |_: Loop| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(
        msg.starts_with("weft loop 0 of 3: cannot build its runtime"),
        "{msg}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a closure ran anyway");
}

#[test]
fn a_panicking_loop_is_reported_by_index_and_the_others_are_told_to_stop() {
    let ended = Arc::new(AtomicUsize::new(0));
    let count = ended.clone();
    let loops = Loops::spawn(3, move |lp: Loop| {
        if lp.index() == 1 {
            // A task of its own still waits for the stop: the loop must
            // still end, so the panic has to stop the set before the
            // runtime waits for its other tasks.
            let waiter = lp.clone();
            weft::spawn(move || waiter.wait_stop());
            weft::sleep(Duration::from_millis(20));
            panic!("loop 1 broke");
        }
        lp.wait_stop();
        assert!(lp.is_stopping());
        count.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let err = join_within(loops).unwrap_err();
    assert_eq!(err.index(), 1);
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("loop 1 broke"));
    assert_eq!(err.to_string(), "weft loop 1 of 3 panicked: loop 1 broke");
    assert_eq!(
        ended.load(Ordering::SeqCst),
        2,
        "a loop did not see the stop"
    );
}

#[test]
fn a_stop_from_outside_wakes_every_waiter_in_every_loop() {
    let loops = Loops::spawn(2, |lp: Loop| {
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let lp = lp.clone();
                weft::spawn(move || lp.wait_stop())
            })
            .collect();
        lp.wait_stop();
        waiters.into_iter().filter_map(|w| w.join().ok()).count()
    })
    .unwrap();
    thread::sleep(Duration::from_millis(20));
    assert!(!loops.is_stopping());
    loops.stop();
    assert!(loops.is_stopping());
    assert_eq!(join_within(loops).unwrap(), [3, 3]);
}

#[test]
fn os_threads_and_other_loops_spawn_into_a_chosen_loop() {
    let loops = Loops::spawn(2, |lp: Loop| {
        let mut from_other = None;
        if lp.index() == 0 {
            let job = lp
                .handle(1)
                .spawn(|| thread::current().name().map(str::to_owned))
                .unwrap();
            while !job.is_finished() {
                weft::sleep(Duration::from_millis(1));
            }
            from_other = job.join().unwrap();
        }
        lp.wait_stop();
        from_other
    })
    .unwrap();
    let names: Vec<_> = (0..4)
        .map(|i| {
            let h = loops.handles()[i % 2].clone();
            thread::spawn(move || {
                h.spawn(|| thread::current().name().unwrap().to_owned())
                    .unwrap()
                    .join()
                    .unwrap()
            })
        })
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(
        names,
        ["weft-loop-0", "weft-loop-1", "weft-loop-0", "weft-loop-1"]
    );
    loops.stop();
    assert_eq!(
        join_within(loops).unwrap(),
        [Some("weft-loop-1".to_owned()), None]
    );
}

#[test]
fn dropping_the_set_stops_and_waits_for_every_loop() {
    let ended = Arc::new(AtomicUsize::new(0));
    let count = ended.clone();
    let loops = Loops::spawn(2, move |lp: Loop| {
        lp.wait_stop();
        count.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        drop(loops);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(PATIENCE)
        .expect("drop did not stop the loops");
    assert_eq!(ended.load(Ordering::SeqCst), 2);
}

/// The CPUs the calling thread may run on, from `/proc/thread-self/status`.
fn cpus_allowed() -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn pinned_loops_each_run_on_one_cpu_of_their_own() {
    let mine = cpus_allowed();
    let loops = Loops::builder(2)
        .pin_to_cores(true)
        .spawn(|_: Loop| cpus_allowed())
        .unwrap();
    let got = join_within(loops).unwrap();
    if mine.contains(['-', ',']) {
        // At least two CPUs to spread over.
        assert!(got.iter().all(|c| c.parse::<usize>().is_ok()), "{got:?}");
        assert_ne!(got[0], got[1]);
    } else {
        assert_eq!(got, [mine.clone(), mine]);
    }
}

/// A port on 127.0.0.1 held by a bound, not listening, `SO_REUSEPORT`
/// socket: the loops can all bind it, no other test can take it meanwhile,
/// and it never accepts a connection itself.
fn reserve_reuse_port() -> (Socket, SocketAddr) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_port(true).unwrap();
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = s.local_addr().unwrap().as_socket().unwrap();
    (s, addr)
}

#[test]
fn two_loops_with_reuse_port_listeners_split_a_thousand_connections() {
    const CONNECTIONS: usize = 1_000;
    let (reservation, addr) = reserve_reuse_port();
    let (bound_tx, bound) = mpsc::channel();
    let loops = Loops::spawn(2, move |lp: Loop| {
        let listener = ListenOptions::new()
            .reuse_port(true)
            .bind(addr)
            .expect("a second SO_REUSEPORT listener binds the same port");
        bound_tx.send(()).unwrap();
        let accepted = Rc::new(Cell::new(0));
        let count = accepted.clone();
        let acceptor = weft::spawn(move || loop {
            let (conn, _) = listener.accept().unwrap();
            count.set(count.get() + 1);
            weft::spawn(move || {
                let mut buf = [0; 64];
                while let Ok(n @ 1..) = (&conn).read(&mut buf) {
                    (&conn).write_all(&buf[..n]).unwrap();
                }
            });
        });
        lp.wait_stop();
        acceptor.cancel();
        accepted.get()
    })
    .unwrap();
    for _ in 0..2 {
        bound.recv_timeout(PATIENCE).expect("a loop did not bind");
    }
    for i in 0..CONNECTIONS {
        let mut s = StdStream::connect(addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let byte = [i as u8];
        s.write_all(&byte).unwrap();
        let mut back = [0];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, byte);
    }
    loops.stop();
    let split = join_within(loops).unwrap();
    drop(reservation);
    eprintln!("connection split over 2 SO_REUSEPORT loops: {split:?}");
    assert_eq!(split.iter().sum::<usize>(), CONNECTIONS, "{split:?}");
    assert!(
        split.iter().all(|&n| n > 0),
        "one loop got nothing: {split:?}"
    );
}
