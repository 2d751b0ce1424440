//! UDP over loopback: datagrams, connected sockets, timeouts.

mod util;

use std::io;
use std::time::Duration;

use util::block_on;
use weft::net::UdpSocket;
use weft::spawn;

#[test]
fn recv_from_parks_until_a_datagram_arrives() {
    block_on(|| {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let echo = spawn(move || {
            let mut buf = [0; 64];
            for _ in 0..3 {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(addr).unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        for msg in [&b"one"[..], b"two", b""] {
            client.send(msg).unwrap();
            let mut buf = [0; 64];
            let n = client.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], msg);
        }
        echo.join().unwrap();
    });
}

#[test]
fn recv_timeout_is_would_block_as_std() {
    let err = block_on(|| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        s.recv_from(&mut [0; 8]).unwrap_err()
    });
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
}

#[test]
fn send_without_a_peer_or_address_is_an_error() {
    block_on(|| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(s.send(b"x").is_err());
        let e = s.send_to(b"x", "not an address").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(s.set_write_timeout(Some(Duration::ZERO)).is_err());
    });
}
