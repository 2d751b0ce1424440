//! Descriptor exhaustion on accept (EMFILE). Alone in its file: it lowers
//! this process's descriptor limit, which must not disturb other tests.
//!
//! The server keeps serving the connections it has, does not spin while it
//! cannot accept (CPU time is measured over a window), logs the condition
//! once (rate-limited), and accepts the waiting clients once descriptors
//! are freed.

mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use util::block_on;
use weft::net::TcpListener;

/// Collects what the server logs through `tracing`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn open_fds() -> u64 {
    // The directory handle itself is one of the entries while it is read.
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1
}

fn set_fd_limit(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = soft;
    // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

/// User plus system CPU time this process has used.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Starts a line echo server on its own OS thread; returns its address and
/// the flag that stops it.
fn start_server(log: Captured) -> (SocketAddr, Arc<AtomicBool>, thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || log.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        block_on(move || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            weft::task::Builder::new()
                .daemon(true)
                .spawn(move || loop {
                    let (conn, _) = listener.accept().unwrap();
                    weft::spawn(move || {
                        let _ = util::echo_lines(&conn);
                    });
                })
                .unwrap();
            while !stopped.load(Ordering::Relaxed) {
                weft::sleep(Duration::from_millis(20));
            }
        });
    });
    (rx.recv().unwrap(), stop, thread)
}

struct Client {
    reader: BufReader<std::net::TcpStream>,
}

impl Client {
    /// Connects a socket created before the limit was lowered.
    fn connect(socket: Socket, addr: SocketAddr) -> Client {
        socket.connect(&addr.into()).unwrap();
        let s: std::net::TcpStream = socket.into();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            reader: BufReader::new(s),
        }
    }

    fn send(&mut self, line: &str) {
        self.reader.get_mut().write_all(line.as_bytes()).unwrap();
    }

    fn answer(&mut self) -> io::Result<String> {
        let mut got = String::new();
        self.reader.read_line(&mut got)?;
        Ok(got)
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.answer().unwrap()
    }
}

#[test]
fn exhausted_descriptors_neither_spin_nor_stall_and_accept_resumes() {
    let log = Captured::default();
    let (addr, stop, server) = start_server(log.clone());
    // Client sockets exist before the limit drops: connecting needs no new fd.
    let mut spare: Vec<Socket> = (0..6)
        .map(|_| Socket::new(Domain::IPV4, Type::STREAM, None).unwrap())
        .collect();
    let original_limit = util::raise_fd_limit(0);
    const SERVER_SLOTS: u64 = 3;
    set_fd_limit(open_fds() + SERVER_SLOTS);

    // Three connections fit; they are served.
    let mut served: Vec<Client> = (0..3)
        .map(|_| Client::connect(spare.pop().unwrap(), addr))
        .collect();
    for (i, c) in served.iter_mut().enumerate() {
        assert_eq!(c.ask(&format!("hi {i}\n")), format!("GOT:hi {i}\n"));
    }
    // Three more complete the handshake in the kernel but cannot be accepted.
    let mut waiting: Vec<Client> = (0..3)
        .map(|_| Client::connect(spare.pop().unwrap(), addr))
        .collect();
    for (i, c) in waiting.iter_mut().enumerate() {
        c.send(&format!("waiting {i}\n"));
    }
    thread::sleep(Duration::from_millis(100)); // the server is backing off by now

    // While exhausted: open connections are still served, and the loop idles.
    let window = Duration::from_millis(800);
    let cpu_before = cpu_time();
    thread::sleep(window / 2);
    assert_eq!(served[0].ask("still served\n"), "GOT:still served\n");
    thread::sleep(window / 2);
    let cpu = cpu_time() - cpu_before;
    assert!(
        cpu < window / 4,
        "the process used {cpu:?} of CPU in {window:?} while exhausted: busy-looping?"
    );

    // Free descriptors: the waiting clients are accepted and answered.
    for c in served.drain(..) {
        c.reader.get_ref().shutdown(Shutdown::Both).unwrap();
        let mut rest = Vec::new();
        let mut s = c.reader.into_inner();
        s.read_to_end(&mut rest).unwrap(); // the server closed its side
    }
    for (i, c) in waiting.iter_mut().enumerate() {
        assert_eq!(c.answer().unwrap(), format!("GOT:waiting {i}\n"));
    }

    set_fd_limit(original_limit);
    stop.store(true, Ordering::Relaxed);
    drop(waiting);
    server.join().unwrap();
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        log.matches("out of file descriptors").count(),
        1,
        "one rate-limited warning expected:\n{log}"
    );
    assert_eq!(log.matches("file descriptors available again").count(), 1);
}
