//! Read, write and connect timeouts on green sockets.

mod util;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use util::{block_on, tcp_pair};
use weft::net::{TcpListener, TcpStream};

#[test]
fn read_timeout_fails_with_would_block_as_std_on_linux() {
    block_on(|| {
        let (client, _server) = tcp_pair();
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let start = Instant::now();
        let err = (&client).read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        assert!(start.elapsed() >= Duration::from_millis(50));
    });
}

#[test]
fn read_timeout_leaves_other_tasks_running() {
    let ticks = block_on(|| {
        let (client, _server) = tcp_pair();
        let ticker = weft::spawn(|| {
            let mut n = 0;
            for _ in 0..5 {
                weft::sleep(Duration::from_millis(5));
                n += 1;
            }
            n
        });
        client
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        assert!((&client).read(&mut [0; 8]).is_err());
        ticker.join().unwrap()
    });
    assert_eq!(ticks, 5);
}

/// Data and the deadline arrive in the same turn of the loop: the read gets
/// the data, the timer is retired once, and later timers still fire.
#[test]
fn readiness_racing_the_read_deadline_resolves_once() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let reader = weft::spawn(move || {
            let mut buf = [0; 8];
            let n = (&server).read(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        weft::yield_now(); // the reader parks with its deadline
        (&client).write_all(b"late").unwrap();
        // Stall the loop past the deadline, so readiness and expiry meet.
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(reader.join().unwrap(), b"late");
        // Timers still work afterwards (a stale removal would break them).
        let sleepers: Vec<_> = (1..=3u64)
            .map(|i| weft::spawn(move || weft::sleep(Duration::from_millis(i * 5))))
            .collect();
        for s in sleepers {
            s.join().unwrap();
        }
    });
}

#[test]
fn write_timeout_fires_when_the_peer_never_reads() {
    block_on(|| {
        let (client, _server) = tcp_pair();
        client
            .set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let chunk = vec![0u8; 1 << 16];
        let err = loop {
            if let Err(e) = (&client).write(&chunk) {
                break e;
            }
        };
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    });
}

#[test]
fn zero_timeouts_are_rejected_as_std_does() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).unwrap();
        let zero = Some(Duration::ZERO);
        for err in [
            client.set_read_timeout(zero).unwrap_err(),
            client.set_write_timeout(zero).unwrap_err(),
            TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err(),
        ] {
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        }
        assert_eq!(client.read_timeout().unwrap(), None);
    });
}

#[test]
fn connect_timeout_connects_to_a_live_listener() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        assert_eq!(s.peer_addr().unwrap(), addr);
    });
}
