//! An always-ready connection cannot starve other green threads: the
//! reactor's fairness budget makes a task whose reads always succeed yield.

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use weft::net::TcpStream;
use weft::{spawn, Runtime};

/// Reads from a connection an OS thread floods, without ever parking or
/// yielding by itself, until `done` is set or ten seconds pass. Returns
/// whether `done` was seen.
fn flood_reader(countdown: impl FnOnce() + 'static) -> bool {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let flood = thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let chunk = vec![1u8; 1 << 16];
        while c.write_all(&chunk).is_ok() {}
    });
    let seen = Runtime::new()
        .unwrap()
        .block_on(move || {
            let stream = TcpStream::connect(addr).unwrap();
            weft::sleep(Duration::from_millis(50)); // let the receive buffer fill
            let done = Rc::new(Cell::new(false));
            let flag = done.clone();
            let counter = spawn(move || {
                countdown();
                flag.set(true);
            });
            let give_up = Instant::now() + Duration::from_secs(10);
            let mut buf = [0; 16]; // small reads: the socket never runs dry
            while !done.get() && Instant::now() < give_up {
                assert!((&stream).read(&mut buf).unwrap() > 0);
            }
            let seen = done.get();
            drop(stream);
            counter.join().unwrap();
            seen
        })
        .unwrap();
    flood.join().unwrap();
    seen
}

#[test]
fn an_always_ready_reader_does_not_starve_a_yielding_countdown() {
    assert!(flood_reader(|| {
        for _ in 0..10 {
            weft::yield_now();
        }
    }));
}

#[test]
fn an_always_ready_reader_does_not_starve_a_sleeping_countdown() {
    assert!(flood_reader(|| {
        for _ in 0..10 {
            weft::sleep(Duration::from_millis(1));
        }
    }));
}
