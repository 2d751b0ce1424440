//! `weft::net::Server`: the connection cap, the idle timeout and the
//! graceful drain, each as a client sees it. The server runs on its own OS
//! thread; the clients are plain blocking sockets.

mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use weft::net::{Connection, Server, ShutdownHandle, Summary, TcpListener};

/// A server running on its own OS thread.
struct Running {
    addr: SocketAddr,
    stop: ShutdownHandle,
    thread: thread::JoinHandle<io::Result<Summary>>,
}

impl Running {
    /// Starts `configure(Server::bind(127.0.0.1:0))` serving `handler`.
    fn start<C>(
        configure: C,
        handler: fn(Connection<weft::net::TcpStream>) -> io::Result<()>,
    ) -> Running
    where
        C: FnOnce(Server) -> Server + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            weft::Runtime::new()
                .unwrap()
                .block_on(move || {
                    let server = configure(Server::bind("127.0.0.1:0").unwrap());
                    tx.send((server.local_addr().unwrap(), server.shutdown_handle()))
                        .unwrap();
                    server.serve(handler)
                })
                .unwrap()
        });
        let (addr, stop) = rx.recv().unwrap();
        Running { addr, stop, thread }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// Drains and returns the summary.
    fn finish(self) -> Summary {
        assert!(self.stop.shutdown());
        self.thread.join().unwrap().unwrap()
    }
}

/// The seed's line protocol, busy from a line's first byte to its answer.
fn echo(conn: Connection<weft::net::TcpStream>) -> io::Result<()> {
    let mut reader = BufReader::new(&conn);
    let mut line = b"GOT:".to_vec();
    loop {
        if reader.fill_buf()?.is_empty() {
            return Ok(()); // parked here idle: the drain closes us
        }
        conn.set_busy(true);
        line.truncate(4);
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        (&conn).write_all(&line)?;
        conn.set_busy(false);
    }
}

fn ask(s: &mut TcpStream, line: &str) {
    s.write_all(line.as_bytes()).unwrap();
    let mut got = String::new();
    BufReader::new(&*s).read_line(&mut got).unwrap();
    assert_eq!(got, format!("GOT:{line}"));
}

/// True if `s` gets no byte within `wait`.
fn silent_for(s: &TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let quiet = matches!((&*s).read(&mut [0; 1]), Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut));
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    quiet
}

#[test]
fn max_connections_holds_and_resumes() {
    let server = Running::start(|s| s.max_connections(2), echo);
    let mut a = server.connect();
    let mut b = server.connect();
    ask(&mut a, "a\n");
    ask(&mut b, "b\n");
    // The third connect completes in the backlog, but nobody accepts it.
    let mut c = server.connect();
    c.write_all(b"c\n").unwrap();
    assert!(
        silent_for(&c, Duration::from_millis(300)),
        "a third connection was served at a cap of 2"
    );
    ask(&mut a, "a again\n"); // the first two are still served
    drop(a);
    // A slot is free: the waiting client is accepted and answered.
    let mut got = String::new();
    BufReader::new(&c).read_line(&mut got).unwrap();
    assert_eq!(got, "GOT:c\n");
    ask(&mut b, "b again\n");
    drop((b, c));
    let summary = server.finish();
    assert_eq!(summary.accepted, 3, "{summary}");
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let server = Running::start(|s| s.idle_timeout(Some(Duration::from_millis(300))), echo);
    let started = Instant::now();
    let mut idle = server.connect();
    // A chatty client with pauses shorter than the timeout stays open.
    let mut chatty = server.connect();
    for i in 0..6 {
        ask(&mut chatty, &format!("{i}\n"));
        thread::sleep(Duration::from_millis(100));
    }
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap(); // end of file: the server closed it
    assert!(rest.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(300));
    ask(&mut chatty, "still open\n");
    drop(chatty);
    let summary = server.finish();
    assert_eq!((summary.accepted, summary.timed_out), (2, 1), "{summary}");
}

#[test]
fn shutdown_closes_idle_connections_drains_busy_ones_and_refuses_new_ones() {
    let server = Running::start(|s| s.drain_timeout(Duration::from_secs(20)), echo);
    let mut idle = server.connect();
    ask(&mut idle, "served once\n");
    let mut busy = server.connect();
    ask(&mut busy, "first\n");
    busy.write_all(b"half of a ").unwrap();
    thread::sleep(Duration::from_millis(100)); // the server reads the half line
    let (addr, stop) = (server.addr, server.stop.clone());
    stop.shutdown();
    // Idle: end of file.
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // Accepting stopped before that.
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    // Busy: its request finishes, then it is closed too.
    busy.write_all(b"line\n").unwrap();
    let mut got = String::new();
    let mut reader = BufReader::new(&busy);
    reader.read_line(&mut got).unwrap();
    assert_eq!(got, "GOT:half of a line\n");
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let summary = server.thread.join().unwrap().unwrap();
    assert_eq!(
        (
            summary.accepted,
            summary.served,
            summary.closed_idle,
            summary.cancelled
        ),
        (2, 2, 2, 0),
        "{summary}"
    );
}

static DROPPED: AtomicUsize = AtomicUsize::new(0);

struct CountDrop;

impl Drop for CountDrop {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Busy forever: never answers.
fn stuck(conn: Connection<weft::net::TcpStream>) -> io::Result<()> {
    let _guard = CountDrop;
    conn.set_busy(true);
    weft::sleep(Duration::from_secs(3600));
    Ok(())
}

#[test]
fn the_drain_deadline_cancels_what_is_still_busy() {
    let server = Running::start(|s| s.drain_timeout(Duration::from_millis(200)), stuck);
    let mut c = server.connect();
    c.write_all(b"x").unwrap();
    thread::sleep(Duration::from_millis(100)); // accepted, handler started
    let started = Instant::now();
    let summary = server.finish();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        (
            summary.accepted,
            summary.active_at_deadline,
            summary.cancelled
        ),
        (1, 1, 1),
        "{summary}"
    );
    assert_eq!(
        DROPPED.load(Ordering::SeqCst),
        1,
        "the cancelled handler's destructors ran"
    );
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest); // the socket is closed (FIN or RST)
    assert!(rest.is_empty());
}

#[test]
fn a_failing_handler_costs_only_its_connection() {
    fn picky(conn: Connection<weft::net::TcpStream>) -> io::Result<()> {
        let mut first = [0; 1];
        (&conn).read_exact(&mut first)?;
        if first[0] == b'!' {
            return Err(io::Error::other("refused"));
        }
        (&conn).write_all(&first)?;
        echo(conn)
    }
    let server = Running::start(|s| s, picky);
    let mut bad = server.connect();
    bad.write_all(b"!").unwrap();
    let mut rest = Vec::new();
    bad.read_to_end(&mut rest).unwrap();
    let mut good = server.connect();
    good.write_all(b"o").unwrap();
    let mut o = [0; 1];
    good.read_exact(&mut o).unwrap();
    assert_eq!(&o, b"o");
    ask(&mut good, "k\n");
    drop(good);
    let summary = server.finish();
    assert_eq!((summary.accepted, summary.failed), (2, 1), "{summary}");
}

#[test]
fn serves_a_unix_listener() {
    let path = std::env::temp_dir().join(format!("weft-server-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (tx, rx) = mpsc::channel();
    let server_path = path.clone();
    let server = thread::spawn(move || {
        util::block_on(move || {
            let server = Server::new(weft::net::UnixListener::bind(&server_path).unwrap()).unwrap();
            tx.send(server.shutdown_handle()).unwrap();
            server
                .serve(|conn| {
                    let mut buf = [0; 5];
                    (&conn).read_exact(&mut buf)?;
                    (&conn).write_all(&buf)
                })
                .unwrap()
        })
    });
    let stop = rx.recv().unwrap();
    let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    c.write_all(b"hello").unwrap();
    let mut got = [0; 5];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello");
    drop(c);
    stop.shutdown();
    assert_eq!(server.join().unwrap().accepted, 1);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_shutdown_handle_outliving_the_server_says_so() {
    let server = Running::start(|s| s, echo);
    let stop = server.stop.clone();
    server.finish();
    assert!(!stop.shutdown());
}

#[test]
fn serves_a_listener_bound_with_listen_options() {
    // `Server::new` takes any listener, here with the seed's backlog of 5.
    let summary = util::block_on(|| {
        let listener: TcpListener = weft::net::ListenOptions::new()
            .backlog(5)
            .bind("127.0.0.1:0")
            .unwrap();
        let server = Server::new(listener).unwrap();
        let addr = server.local_addr().unwrap();
        let stop = server.shutdown_handle();
        weft::spawn(move || {
            let mut c = weft::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"x\n").unwrap();
            let mut got = String::new();
            BufReader::new(&c).read_line(&mut got).unwrap();
            assert_eq!(got, "GOT:x\n");
            stop.shutdown();
        });
        server.serve(echo).unwrap()
    });
    assert_eq!(summary.accepted, 1);
}

#[test]
fn four_acceptors_serve_a_burst_together() {
    // Four green threads wait in `accept` on the one listener; each
    // readiness wakes one of them. 400 clients connect at once from four
    // OS threads and every one is answered.
    let server = Running::start(|s| s.acceptors(4), echo);
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                let conns: Vec<TcpStream> = (0..100)
                    .map(|_| TcpStream::connect(addr).unwrap())
                    .collect();
                for (i, mut c) in conns.into_iter().enumerate() {
                    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    ask(&mut c, &format!("{t}-{i}\n"));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let summary = server.finish();
    assert_eq!((summary.accepted, summary.served), (400, 400), "{summary}");
}

#[test]
fn a_panicking_handler_costs_only_its_connection() {
    fn touchy(conn: Connection<weft::net::TcpStream>) -> io::Result<()> {
        let mut first = [0; 1];
        (&conn).read_exact(&mut first)?;
        assert_ne!(first[0], b'!', "a handler bug");
        (&conn).write_all(&first)?;
        echo(conn)
    }
    let server = Running::start(|s| s.max_connections(1), touchy);
    let mut bad = server.connect();
    bad.write_all(b"!").unwrap();
    let mut rest = Vec::new();
    bad.read_to_end(&mut rest).unwrap(); // closed
                                         // Its slot came back: at a cap of 1, the next client is served.
    let mut good = server.connect();
    good.write_all(b"o").unwrap();
    let mut o = [0; 1];
    good.read_exact(&mut o).unwrap();
    ask(&mut good, "k\n");
    drop(good);
    let summary = server.finish();
    assert_eq!(
        (summary.accepted, summary.failed, summary.served),
        (2, 1, 1),
        "{summary}"
    );
}
