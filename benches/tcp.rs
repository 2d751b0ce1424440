//! Loopback TCP round-trip latency (64 B): a weft `TcpStream` pair on one
//! runtime, next to two floors measured in the same run: the same ping-pong
//! with raw mio on one thread, and blocking std sockets on two OS threads.

#![allow(missing_docs)] // criterion_group! generates an undocumented `pub fn`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mio::{Events, Interest, Poll, Token};
use weft::net::{TcpListener, TcpStream};

const MSG: usize = 64;

/// `iters` round trips between two green threads over loopback TCP.
fn weft_round_trips(iters: u64) -> Duration {
    weft::Runtime::new()
        .unwrap()
        .block_on(move || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            client.set_nodelay(true).unwrap();
            server.set_nodelay(true).unwrap();
            let echo = weft::spawn(move || {
                let mut buf = [0; MSG];
                while (&server).read_exact(&mut buf).is_ok() {
                    (&server).write_all(&buf).unwrap();
                }
            });
            let mut buf = [7; MSG];
            let start = Instant::now();
            for _ in 0..iters {
                (&client).write_all(&buf).unwrap();
                (&client).read_exact(&mut buf).unwrap();
            }
            let elapsed = start.elapsed();
            drop(client);
            echo.join().unwrap();
            elapsed
        })
        .unwrap()
}

/// The floor on one thread: the same ping-pong driven by raw mio.
fn mio_round_trips(iters: u64) -> Duration {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let mut client = StdStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_nodelay(true).unwrap();
        s.set_nonblocking(true).unwrap();
    }
    let mut poll = Poll::new().unwrap();
    let (mut c, mut s) = (
        mio::net::TcpStream::from_std(client.try_clone().unwrap()),
        mio::net::TcpStream::from_std(server.try_clone().unwrap()),
    );
    poll.registry()
        .register(&mut c, Token(0), Interest::READABLE)
        .unwrap();
    poll.registry()
        .register(&mut s, Token(1), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(16);
    let mut buf = [7; MSG];
    // Reads all MSG bytes from `from`, polling whenever it would block.
    let mut recv = |from: &mut StdStream, buf: &mut [u8; MSG]| {
        let mut got = 0;
        while got < MSG {
            match from.read(&mut buf[got..]) {
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    poll.poll(&mut events, None).unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    let start = Instant::now();
    for _ in 0..iters {
        client.write_all(&buf).unwrap(); // 64 B always fits the send buffer
        recv(&mut server, &mut buf);
        server.write_all(&buf).unwrap();
        recv(&mut client, &mut buf);
    }
    start.elapsed()
}

/// The floor across threads: blocking std sockets, echo on an OS thread.
fn std_round_trips(addr: SocketAddr, iters: u64) -> Duration {
    let mut client = StdStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();
    let mut buf = [7; MSG];
    let start = Instant::now();
    for _ in 0..iters {
        client.write_all(&buf).unwrap();
        client.read_exact(&mut buf).unwrap();
    }
    start.elapsed()
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_round_trip_64B");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("weft_green_pair", |b| b.iter_custom(weft_round_trips));
    group.bench_function("floor_mio_one_thread", |b| b.iter_custom(mio_round_trips));

    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            conn.set_nodelay(true).unwrap();
            thread::spawn(move || {
                let mut buf = [0; MSG];
                while conn.read_exact(&mut buf).is_ok() {
                    if conn.write_all(&buf).is_err() {
                        return;
                    }
                }
            });
        }
    });
    group.bench_function("floor_std_two_threads", |b| {
        b.iter_custom(|iters| std_round_trips(addr, iters))
    });
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
