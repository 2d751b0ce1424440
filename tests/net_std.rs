//! Parity with `std::net`: conversions to and from std sockets and
//! descriptors, `try_clone`, socket options, and the error kinds of timeouts.

mod util;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use util::{block_on, tcp_pair};
use weft::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

/// Whether `O_NONBLOCK` is set on `fd`.
fn is_nonblocking(fd: &impl AsFd) -> bool {
    let fd = fd.as_fd().as_raw_fd();
    // SAFETY: F_GETFL only reads the flags of a descriptor we hold open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert!(flags >= 0, "fcntl failed");
    flags & libc::O_NONBLOCK != 0
}

/// A connected pair of std streams: `(client, server)`.
fn std_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

// ---- timeouts: the kinds std returns ------------------------------------------

#[test]
fn read_and_write_timeouts_fail_with_the_kind_std_returns() {
    let timeout = Some(Duration::from_millis(30));
    let chunk = vec![0u8; 1 << 16];
    let fill = |mut s: &std::net::TcpStream| loop {
        if let Err(e) = s.write(&chunk) {
            break e;
        }
    };

    let (std_client, _std_server) = std_pair();
    std_client.set_read_timeout(timeout).unwrap();
    std_client.set_write_timeout(timeout).unwrap();
    let std_read = (&std_client).read(&mut [0; 8]).unwrap_err();
    let std_write = fill(&std_client);

    let (weft_read, weft_write) = block_on(move || {
        let (client, _server) = tcp_pair();
        client.set_read_timeout(timeout).unwrap();
        client.set_write_timeout(timeout).unwrap();
        let read = (&client).read(&mut [0; 8]).unwrap_err();
        let write = loop {
            if let Err(e) = (&client).write(&chunk) {
                break e;
            }
        };
        (read, write)
    });
    assert_eq!(std_read.kind(), ErrorKind::WouldBlock, "std on Linux");
    assert_eq!(weft_read.kind(), std_read.kind());
    assert_eq!(weft_read.raw_os_error(), std_read.raw_os_error());
    assert_eq!(weft_write.kind(), std_write.kind());
}

#[test]
fn udp_and_unix_timeouts_match_std_too() {
    let timeout = Some(Duration::from_millis(20));
    let std_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    std_udp.set_read_timeout(timeout).unwrap();
    let std_kind = std_udp.recv_from(&mut [0; 8]).unwrap_err().kind();
    let (std_a, _std_b) = std::os::unix::net::UnixStream::pair().unwrap();
    std_a.set_read_timeout(timeout).unwrap();
    let std_unix_kind = (&std_a).read(&mut [0; 8]).unwrap_err().kind();

    let (udp, unix, peek) = block_on(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(timeout).unwrap();
        let udp = s.recv_from(&mut [0; 8]).unwrap_err().kind();
        let peek = s.peek_from(&mut [0; 8]).unwrap_err().kind();
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_read_timeout(timeout).unwrap();
        let unix = (&a).read(&mut [0; 8]).unwrap_err().kind();
        (udp, unix, peek)
    });
    assert_eq!((udp, peek), (std_kind, std_kind));
    assert_eq!(unix, std_unix_kind);
}

// ---- in and out ---------------------------------------------------------------

#[test]
fn std_sockets_are_adopted_and_given_back_blocking() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (client, conn) = block_on(move || {
        let listener = TcpListener::from_std(std_listener).unwrap();
        assert!(is_nonblocking(&listener));
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        std_client
            .set_read_timeout(Some(Duration::from_secs(7)))
            .unwrap();
        let client = TcpStream::from(std_client);
        assert_eq!(client.read_timeout().unwrap(), Some(Duration::from_secs(7)));
        let (conn, _) = listener.accept().unwrap();
        let echo = weft::spawn(move || {
            let mut buf = [0; 5];
            (&conn).read_exact(&mut buf).unwrap();
            (&conn).write_all(&buf).unwrap();
            conn
        });
        (&client).write_all(b"green").unwrap();
        let mut back = [0; 5];
        (&client).read_exact(&mut back).unwrap();
        assert_eq!(&back, b"green");
        let conn = echo.join().unwrap();
        (client.into_std().unwrap(), conn.into_std().unwrap())
    });
    // Plain blocking std sockets now: the runtime is gone.
    assert!(!is_nonblocking(&client) && !is_nonblocking(&conn));
    assert_eq!(client.read_timeout().unwrap(), Some(Duration::from_secs(7)));
    (&conn).write_all(b"std").unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    let mut got = String::new();
    (&client).read_to_string(&mut got).unwrap();
    assert_eq!(got, "std");
}

#[test]
fn every_kind_converts_through_owned_fd_and_raw_fd() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = TcpListener::from(OwnedFd::from(listener));
        let client = TcpStream::from(OwnedFd::from(TcpStream::connect(addr).unwrap()));
        let (conn, _) = listener.accept().unwrap();
        (&client).write_all(b"x").unwrap();
        let mut one = [0; 1];
        (&conn).read_exact(&mut one).unwrap();

        let udp = UdpSocket::from(OwnedFd::from(UdpSocket::bind("127.0.0.1:0").unwrap()));
        udp.send_to(b"u", udp.local_addr().unwrap()).unwrap();
        assert_eq!(udp.recv(&mut one).unwrap(), 1);

        let (a, b) = UnixStream::pair().unwrap();
        let a = UnixStream::from(OwnedFd::from(a));
        (&b).write_all(b"y").unwrap();
        (&a).read_exact(&mut one).unwrap();
        assert_eq!(&one, b"y");

        let raw = b.into_raw_fd();
        // SAFETY: `raw` came from `into_raw_fd` just above and is owned here alone.
        let b = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        assert!(!is_nonblocking(&b), "given back blocking, as std's");
        let b = std::os::unix::net::UnixStream::from(b);
        (&a).write_all(b"z").unwrap();
        (&b).read_exact(&mut one).unwrap(); // a blocking std read: the byte is there
        assert_eq!(&one, b"z");
    });
}

#[test]
fn unix_listeners_are_adopted_and_given_back() {
    let path = std::env::temp_dir().join(format!("weft-std-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let back = block_on({
        let path = path.clone();
        move || {
            let listener = UnixListener::from_std(std_listener).unwrap();
            let client = weft::spawn(move || UnixStream::connect(&path).unwrap());
            let (conn, _) = listener.accept().unwrap();
            let conn = UnixStream::from_std(conn.into_std().unwrap()).unwrap();
            (&client.join().unwrap()).write_all(b"!").unwrap();
            let mut one = [0; 1];
            (&conn).read_exact(&mut one).unwrap();
            assert_eq!(&one, b"!");
            listener.into_std().unwrap()
        }
    });
    assert!(!is_nonblocking(&back));
    let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    back.accept().unwrap(); // still listening, now for std
    std::fs::remove_file(path).unwrap();
}

#[test]
fn from_std_outside_a_runtime_is_an_error_and_closes_the_socket() {
    let (client, mut server) = std_pair();
    let err = TcpStream::from_std(client).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(err.to_string().contains("outside a green thread"), "{err}");
    // The socket was closed, not leaked: the peer reads end of file.
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(server.read(&mut [0; 1]).unwrap(), 0);

    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_eq!(
        UdpSocket::from_std(udp).unwrap_err().kind(),
        ErrorKind::Other
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(TcpListener::from_std(listener).is_err());

    // A socket that outlived its run: cloning it is an error too, and it
    // still goes back to std.
    let escaped = block_on(|| UdpSocket::bind("127.0.0.1:0").unwrap());
    let err = escaped.try_clone().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(
        err.to_string()
            .starts_with("UdpSocket::try_clone was called outside"),
        "{err}"
    );
    let back = escaped.into_std().unwrap();
    assert!(!is_nonblocking(&back));
}

#[test]
fn from_std_of_the_wrong_kind_is_invalid_input() {
    block_on(|| {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let as_stream = std::net::TcpStream::from(OwnedFd::from(udp));
        let err = TcpStream::from_std(as_stream).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "TcpStream::from_std: expected a TCP stream socket, got a UDP socket"
        );

        // Bound but never listening: accept could only fail.
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
        let err =
            TcpListener::from_std(std::net::TcpListener::from(OwnedFd::from(socket))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("got a TCP stream socket"), "{err}");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let as_unix = std::os::unix::net::UnixListener::from(OwnedFd::from(listener));
        let err = UnixListener::from_std(as_unix).unwrap_err();
        assert!(
            err.to_string().contains("got a listening TCP socket"),
            "{err}"
        );

        let file = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let err = UdpSocket::from_std(std::net::UdpSocket::from(file)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not a socket"), "{err}");
    });
}

#[test]
fn from_an_owned_fd_of_the_wrong_kind_panics_with_the_reason() {
    let panic = std::panic::catch_unwind(|| {
        block_on(|| {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            let _ = TcpStream::from(OwnedFd::from(a));
        })
    })
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("got a Unix-domain stream socket"), "{msg}");
}

// ---- try_clone ----------------------------------------------------------------

#[test]
fn a_clone_reads_in_one_green_thread_while_the_original_writes_in_another() {
    block_on(|| {
        let (client, server) = tcp_pair();
        let reader = client.try_clone().unwrap();
        let received = weft::spawn(move || {
            let mut got = Vec::new();
            (&reader).read_to_end(&mut got).unwrap(); // parks on its own registration
            got
        });
        let echo = weft::spawn(move || {
            let mut buf = [0; 64];
            loop {
                let n = (&server).read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                (&server).write_all(&buf[..n]).unwrap();
            }
        });
        for word in ["one ", "two ", "three"] {
            (&client).write_all(word.as_bytes()).unwrap();
            weft::sleep(Duration::from_millis(2));
        }
        client.shutdown(Shutdown::Write).unwrap();
        echo.join().unwrap();
        assert_eq!(received.join().unwrap(), b"one two three");
    });
}

#[test]
fn clones_of_clones_share_the_timeouts_set_before_and_after() {
    block_on(|| {
        let (client, _server) = tcp_pair();
        client
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let clone = client.try_clone().unwrap();
        assert_eq!(clone.read_timeout().unwrap(), Some(Duration::from_secs(3)));
        let again = clone.try_clone().unwrap();
        client
            .set_write_timeout(Some(Duration::from_secs(4)))
            .unwrap();
        again.set_read_timeout(None).unwrap();
        for s in [&client, &clone, &again] {
            assert_eq!(s.read_timeout().unwrap(), None);
            assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(4)));
        }
        // A timeout set through one handle bounds a read through another.
        clone
            .set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        let err = (&client).read(&mut [0; 4]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn a_clone_survives_the_originals_drop() {
    block_on(|| {
        let (client, server) = tcp_pair();
        let clone = client.try_clone().unwrap();
        clone
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(
            client.read_timeout().unwrap(),
            Some(Duration::from_secs(10)),
            "timeouts belong to the socket, as std's"
        );
        drop(client);
        (&server).write_all(b"still here").unwrap();
        let mut buf = [0; 10];
        (&clone).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still here");
        (&clone).write_all(b"!").unwrap();
        drop(clone);
        let mut rest = Vec::new();
        (&server).read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"!", "closed with the last handle");
    });
}

#[test]
fn listener_udp_and_unix_clones_work_on_their_own() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptors: Vec<_> = (0..2)
            .map(|_| {
                let l = listener.try_clone().unwrap();
                weft::spawn(move || l.accept().unwrap().1)
            })
            .collect();
        drop(listener);
        weft::yield_now(); // both park in accept, each on its own clone
        let _clients: Vec<_> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for a in acceptors {
            assert!(a.join().unwrap().ip().is_loopback());
        }

        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let receiver = udp.try_clone().unwrap();
        let got = weft::spawn(move || {
            let mut buf = [0; 8];
            let n = receiver.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        weft::yield_now();
        udp.send_to(b"dgram", udp.local_addr().unwrap()).unwrap();
        drop(udp);
        assert_eq!(got.join().unwrap(), b"dgram");

        let (a, b) = UnixStream::pair().unwrap();
        let a2 = a.try_clone().unwrap();
        drop(a);
        (&b).write_all(b"u").unwrap();
        let mut one = [0; 1];
        (&a2).read_exact(&mut one).unwrap();
        assert_eq!(&one, b"u");
    });
}

// ---- socket options -----------------------------------------------------------

#[test]
fn tcp_options_read_back_what_was_set() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_ttl(33).unwrap();
        assert_eq!(listener.ttl().unwrap(), 33);
        assert!(
            listener.only_v6().is_err(),
            "an IPv4 socket has no IPV6_V6ONLY"
        );
        let (client, _server) = tcp_pair();
        client.set_ttl(7).unwrap();
        assert_eq!(client.ttl().unwrap(), 7);
        assert_eq!(
            client.set_ttl(0).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        client.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(3)));
        client.set_send_buffer_size(64 * 1024).unwrap();
        client.set_recv_buffer_size(64 * 1024).unwrap();
        // Linux doubles what it is given, for its own bookkeeping.
        assert!(client.send_buffer_size().unwrap() >= 64 * 1024);
        assert!(client.recv_buffer_size().unwrap() >= 64 * 1024);
    });
}

#[test]
fn linger_zero_resets_the_connection_on_close() {
    block_on(|| {
        let (client, server) = tcp_pair();
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        weft::sleep(Duration::from_millis(20));
        let err = (&server).read(&mut [0; 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    });
}

#[test]
fn only_v6_on_an_ipv6_listener() {
    block_on(|| {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback here");
            return;
        };
        let socket = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        socket.set_only_v6(true).unwrap();
        socket
            .bind(&"[::1]:0".parse::<std::net::SocketAddr>().unwrap().into())
            .unwrap();
        socket.listen(8).unwrap();
        let v6_only = TcpListener::from_std(socket.into()).unwrap();
        assert!(v6_only.only_v6().unwrap());
        // Linux marks a socket bound to one IPv6 address (not `::`) v6-only.
        assert!(listener.only_v6().unwrap());
        assert!(
            listener.set_only_v6(true).is_err(),
            "Linux refuses once bound"
        );
    });
}

#[test]
fn udp_options_and_multicast() {
    block_on(|| {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        assert!(!s.broadcast().unwrap());
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(9).unwrap();
        assert_eq!(s.ttl().unwrap(), 9);
        s.set_multicast_ttl_v4(4).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 4);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_recv_buffer_size(32 * 1024).unwrap();
        assert!(s.recv_buffer_size().unwrap() >= 32 * 1024);
        let not_multicast = Ipv4Addr::new(10, 0, 0, 1);
        assert!(s
            .join_multicast_v4(&not_multicast, &Ipv4Addr::UNSPECIFIED)
            .is_err());

        // Loopback multicast: joined on 127.0.0.1, sent through it, looped back.
        let group = Ipv4Addr::new(239, 255, 77, 1);
        let member = UdpSocket::bind("0.0.0.0:0").unwrap();
        if member
            .join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .is_err()
        {
            eprintln!("skipped the multicast round trip: no multicast on loopback here");
            return;
        }
        let port = member.local_addr().unwrap().port();
        let sender = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        sender.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
        let sender = UdpSocket::from_std(sender.into()).unwrap();
        sender.set_multicast_loop_v4(true).unwrap();
        member
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        sender.send_to(b"to the group", (group, port)).unwrap();
        let mut buf = [0; 32];
        match member.recv(&mut buf) {
            Ok(n) => assert_eq!(&buf[..n], b"to the group"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                eprintln!("skipped: this host does not loop multicast back on lo")
            }
            Err(e) => panic!("{e}"),
        }
        member
            .leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .unwrap();
        assert!(member
            .leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
            .is_err());
    });
}

#[test]
fn peek_from_parks_until_a_datagram_arrives_and_leaves_it_queued() {
    block_on(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr = b.local_addr().unwrap();
        let peeker = weft::spawn(move || {
            let mut buf = [0; 16];
            let (n, from) = b.peek_from(&mut buf).unwrap();
            let peeked = buf[..n].to_vec();
            let (m, again) = b.recv_from(&mut buf).unwrap();
            assert_eq!((from, &buf[..m]), (again, &peeked[..]));
            b.connect(from).unwrap();
            (peeked, b)
        });
        weft::yield_now(); // the peeker parks first
        a.send_to(b"look", b_addr).unwrap();
        let (peeked, b) = peeker.join().unwrap();
        assert_eq!(peeked, b"look");
        a.send_to(b"twice", b_addr).unwrap();
        let mut buf = [0; 16];
        assert_eq!(b.peek(&mut buf).unwrap(), 5);
        assert_eq!(b.recv(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"twice");
    });
}

#[test]
fn a_socket_given_back_to_std_can_be_adopted_again() -> io::Result<()> {
    block_on(|| {
        let (client, server) = tcp_pair();
        let clone = server.try_clone()?;
        let std_server = server.into_std()?;
        let server = TcpStream::from_std(std_server)?;
        (&client).write_all(b"ok")?;
        let mut buf = [0; 2];
        (&server).read_exact(&mut buf)?;
        assert_eq!(&buf, b"ok");
        // The clone kept its own registration through all of it.
        (&client).write_all(b"ko")?;
        (&clone).read_exact(&mut buf)?;
        assert_eq!(&buf, b"ko");
        Ok(())
    })
}
