//! TCP over real loopback sockets: connecting, accepting, errors (E-02,
//! E-06, E-07, E-13, E-14), and full duplex (many waiters per
//! direction: `net_waiters.rs`).

mod util;

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use util::{block_on, tcp_pair};
use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::{spawn, JoinError};

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn connect_to_a_closed_port_is_connection_refused() {
    let addr = free_port();
    let err = block_on(move || TcpStream::connect(addr).unwrap_err());
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let (err, addr) = block_on(|| {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = first.local_addr().unwrap();
        (TcpListener::bind(addr).unwrap_err(), addr)
    });
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[test]
fn reuse_port_lets_two_listeners_share_a_port_only_when_asked() {
    block_on(|| {
        let opts = ListenOptions::new().reuse_port(true);
        let a = opts.bind("127.0.0.1:0").unwrap();
        let addr = a.local_addr().unwrap();
        let b = opts.bind(addr).unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        let c = ListenOptions::new().bind(addr).unwrap_err();
        assert_eq!(c.kind(), io::ErrorKind::AddrInUse);
    });
}

#[test]
fn connect_by_host_name_tries_each_address() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // "localhost" may resolve to ::1 first, where nothing listens.
        let client = TcpStream::connect(("localhost", port)).unwrap();
        let (_conn, peer) = listener.accept().unwrap();
        assert_eq!(client.local_addr().unwrap(), peer);
        assert_eq!(client.peer_addr().unwrap().port(), port);
    });
}

#[test]
fn socket_options_and_addresses_work_like_std() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        assert_eq!(server.peer_addr().unwrap(), peer);
        assert_eq!(client.local_addr().unwrap(), peer);
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        (&client).write_all(b"peek").unwrap();
        let mut buf = [0; 4];
        assert_eq!(server.peek(&mut buf).unwrap(), 4);
        (&server).read_exact(&mut buf).unwrap(); // still there after peek
        assert_eq!(&buf, b"peek");
        assert!(format!("{server:?}").contains(&peer.to_string()));
    });
}

/// E-06: several connections queued behind one readable edge are all accepted.
#[test]
fn an_accept_storm_is_drained() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..20)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let peers: Vec<SocketAddr> = listener
            .incoming()
            .take(20)
            .map(|s| s.unwrap().peer_addr().unwrap())
            .collect();
        let mut want: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        let mut got = peers;
        want.sort();
        got.sort();
        assert_eq!(got, want);
    });
}

/// E-03: a write far larger than the socket buffers parks and resumes
/// until every byte is through, while the reader is another green thread.
#[test]
fn write_all_of_eight_mebibytes_arrives_intact() {
    let total = block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let data: Vec<u8> = (0..8 << 20).map(|i| (i % 253) as u8).collect();
        let expected = data.clone();
        let writer = spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&data).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
        });
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert!(got == expected, "bytes differ");
        got.len()
    });
    assert_eq!(total, 8 << 20);
}

/// One green thread writes while another reads the same stream (full duplex).
#[test]
fn two_tasks_read_and_write_one_stream_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut r = c.try_clone().unwrap();
        io::copy(&mut r, &mut c).unwrap();
    });
    const LEN: usize = 4 << 20; // far more than both socket buffers hold
    block_on(move || {
        let stream = Rc::new(TcpStream::connect(addr).unwrap());
        let w = stream.clone();
        let writer = spawn(move || {
            let data: Vec<u8> = (0..LEN).map(|i| (i % 241) as u8).collect();
            (&*w).write_all(&data).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        });
        let r = stream.clone();
        let reader = spawn(move || {
            let mut got = Vec::with_capacity(LEN);
            (&*r).read_to_end(&mut got).unwrap();
            got
        });
        writer.join().unwrap();
        let got = reader.join().unwrap();
        assert_eq!(got.len(), LEN);
        assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 241) as u8));
    });
    echo.join().unwrap();
}

/// E-02/E-14: a peer that resets while the server is blocked writing to it
/// fails that connection only; another connection is served throughout.
#[test]
fn a_reset_in_the_middle_of_a_write_fails_only_that_connection() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writing = Rc::new(Cell::new(false));
        let server = {
            let writing = writing.clone();
            spawn(move || {
                let (victim, _) = listener.accept().unwrap();
                let flood = spawn(move || {
                    let chunk = vec![7u8; 1 << 20];
                    writing.set(true);
                    loop {
                        if let Err(e) = (&victim).write_all(&chunk) {
                            return e;
                        }
                    }
                });
                let (other, _) = listener.accept().unwrap();
                util::echo_lines(&other).unwrap();
                flood.join().unwrap()
            })
        };
        // The victim never reads, then resets (SO_LINGER 0) mid-write.
        let victim = std::net::TcpStream::connect(addr).unwrap();
        while !writing.get() {
            weft::sleep(Duration::from_millis(1));
        }
        weft::sleep(Duration::from_millis(50)); // the flood is parked on a full buffer
        socket2::SockRef::from(&victim)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(victim);

        let mut other = TcpStream::connect(addr).unwrap();
        other.write_all(b"still here\n").unwrap();
        other.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        other.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "GOT:still here\n");

        let err = server.join().unwrap();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    });
}

/// E-14: writing after the peer closed is an error for that task, and
/// SIGPIPE does not kill the process.
#[test]
fn writing_to_a_closed_peer_is_an_error_not_a_signal() {
    let err = block_on(|| {
        let (client, server) = tcp_pair();
        drop(client);
        let mut buf = [0; 1];
        assert_eq!((&server).read(&mut buf).unwrap(), 0); // end of file first
        loop {
            if let Err(e) = (&server).write(b"into the void") {
                break e;
            }
            weft::sleep(Duration::from_millis(1));
        }
    });
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
}

/// E-13: a server parked in `accept` forever is cancelled; its listener is
/// dropped on the way out, so the port can be bound again.
#[test]
fn cancelling_a_server_parked_in_accept_frees_its_port() {
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(move || loop {
            let _ = listener.accept();
        });
        weft::yield_now();
        server.cancel();
        assert!(matches!(server.join(), Err(JoinError::Cancelled)));
        TcpListener::bind(addr).unwrap();
    });
}

/// 1,000 clients connected at the same time, each answered correctly.
#[test]
fn a_thousand_concurrent_clients_are_all_served() {
    const N: usize = 1000;
    util::raise_fd_limit(2 * N as u64 + 100);
    block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Rc::new(Cell::new(0usize));
        let peak = Rc::new(Cell::new(0usize));
        {
            let (open, peak) = (open.clone(), peak.clone());
            weft::task::Builder::new()
                .daemon(true)
                .spawn(move || {
                    for conn in listener.incoming() {
                        let conn = conn.unwrap();
                        let (open, peak) = (open.clone(), peak.clone());
                        spawn(move || {
                            open.set(open.get() + 1);
                            peak.set(peak.get().max(open.get()));
                            util::echo_lines(&conn).unwrap();
                            open.set(open.get() - 1);
                        });
                    }
                })
                .unwrap();
        }
        let answered = Rc::new(Cell::new(0usize));
        let clients: Vec<_> = (0..N)
            .map(|i| {
                let answered = answered.clone();
                spawn(move || {
                    let mut s = BufReader::new(TcpStream::connect(addr).unwrap());
                    let mut line = String::new();
                    for round in 0..2 {
                        s.get_ref()
                            .write_all(format!("client {i} round {round}\n").as_bytes())
                            .unwrap();
                        line.clear();
                        s.read_line(&mut line).unwrap();
                        assert_eq!(line, format!("GOT:client {i} round {round}\n"));
                        if round == 0 {
                            // Stay connected until every client has its first answer.
                            answered.set(answered.get() + 1);
                            while answered.get() < N {
                                weft::sleep(Duration::from_millis(2));
                            }
                        }
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        assert_eq!(peak.get(), N);
    });
}
