//! The `echo_server` example as a user runs it: a child process on
//! 127.0.0.1:0, driven by plain blocking clients. Bursts of connects, a
//! line far larger than any buffer, memory after a large line, and the
//! SIGTERM drain.
//!
//! The binary is `target/<profile>/examples/echo_server`, built by the
//! first test that needs it.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// A running `echo_server` child and the lines it printed.
struct EchoServer {
    child: Child,
    addr: SocketAddr,
    out: Arc<Mutex<Vec<String>>>,
}

/// The `echo_server` example of this checkout, built once per test run
/// with this test's profile (`cargo test` builds examples with `test = true`
/// only as test binaries, so the program itself is built here; cargo does
/// not hold its lock while tests run).
fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap(); // target/<profile>/deps/..
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args(["build", "--quiet", "--example", "echo_server"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") => {}
                Some("release") => {
                    cargo.arg("--release");
                }
                Some(other) => {
                    cargo.args(["--profile", other]);
                }
                None => panic!("no profile directory above {}", exe.display()),
            }
            let status = cargo.status().expect("running cargo");
            assert!(
                status.success(),
                "cargo build --example echo_server: {status}"
            );
            let bin = profile_dir.join("examples").join("echo_server");
            assert!(bin.exists(), "{} was not built", bin.display());
            bin
        })
        .clone()
}

impl EchoServer {
    fn start(args: &[&str]) -> EchoServer {
        let mut child = Command::new(binary())
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        EchoServer { child, addr, out }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// The child's resident set size, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    fn signal(&self, sig: libc::c_int) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0);
    }

    /// Waits (bounded) for the child to exit.
    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "echo_server did not exit in {within:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn output(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks one line and checks the answer.
fn ask(s: &mut TcpStream, line: &[u8]) {
    s.write_all(line).unwrap();
    let mut want = b"GOT:".to_vec();
    want.extend_from_slice(line);
    let mut got = vec![0; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
}

#[test]
fn a_burst_of_1000_connects_is_answered() {
    util::raise_fd_limit(4096);
    let server = EchoServer::start(&[]);
    let addr = server.addr;
    // Four threads connect 250 each at once, then every client asks once.
    let clients: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                let conns: Vec<TcpStream> = (0..250)
                    .map(|_| TcpStream::connect(addr).expect("connect"))
                    .collect();
                for (i, mut c) in conns.iter().enumerate() {
                    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    c.write_all(format!("{t}-{i}\n").as_bytes()).unwrap();
                }
                let mut answered = 0;
                for (i, c) in conns.iter().enumerate() {
                    let mut line = String::new();
                    BufReader::new(c).read_line(&mut line).unwrap();
                    assert_eq!(line, format!("GOT:{t}-{i}\n"));
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(answered, 1000);
}

/// Streams `total` bytes of one line without a newline, reading the echo
/// concurrently; returns the bytes echoed (`GOT:` included).
fn stream_endless_line(mut s: TcpStream, total: usize) -> usize {
    let mut reader = s.try_clone().unwrap();
    let counter = thread::spawn(move || {
        let mut buf = vec![0; 1 << 16];
        let mut n = 0;
        loop {
            match reader.read(&mut buf).unwrap() {
                0 => return n,
                k => n += k,
            }
        }
    });
    let chunk = vec![b'x'; 1 << 16];
    let mut sent = 0;
    while sent < total {
        s.write_all(&chunk).unwrap();
        sent += chunk.len();
    }
    s.shutdown(Shutdown::Write).unwrap();
    counter.join().unwrap()
}

#[test]
fn an_endless_line_neither_grows_the_server_nor_stops_a_bystander() {
    let server = EchoServer::start(&[]);
    let mut bystander = server.connect();
    ask(&mut bystander, b"before\n");
    let base = server.rss_kib();
    let total = 256 << 20;
    let streamer = {
        let s = server.connect();
        thread::spawn(move || stream_endless_line(s, total))
    };
    // While the line streams, the bystander is answered and the server
    // stays small.
    let mut peak = base;
    while !streamer.is_finished() {
        ask(&mut bystander, b"still here\n");
        peak = peak.max(server.rss_kib());
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        streamer.join().unwrap(),
        total + 4,
        "the whole line came back"
    );
    ask(&mut bystander, b"after\n");
    peak = peak.max(server.rss_kib());
    eprintln!("RSS under a 256 MiB line without a newline: {base} KiB before, {peak} KiB at most");
    assert!(
        peak < base + 16 * 1024,
        "RSS grew from {base} KiB to {peak} KiB under a 256 MiB line"
    );
}

#[test]
fn memory_after_a_large_line_is_near_its_base() {
    let server = EchoServer::start(&[]);
    let base = server.rss_kib();
    let mut line: Vec<u8> = (0..64 << 20).map(|i: u32| b'a' + (i % 26) as u8).collect();
    line.push(b'\n');
    let s = server.connect();
    let mut writer = s.try_clone().unwrap();
    let sent = line.clone();
    let w = thread::spawn(move || writer.write_all(&sent).unwrap());
    let mut got = vec![0; line.len() + 4];
    (&s).read_exact(&mut got).unwrap();
    w.join().unwrap();
    assert_eq!(&got[..4], b"GOT:");
    assert!(got[4..] == line[..], "the 64 MiB line came back changed");
    let mut s = s;
    ask(&mut s, b"small again\n");
    let after = server.rss_kib();
    eprintln!("RSS around a 64 MiB line: {base} KiB before, {after} KiB after");
    assert!(
        after < base + 8 * 1024,
        "RSS {base} KiB before a 64 MiB line, {after} KiB after it"
    );
}

#[test]
fn sigterm_drains_a_request_in_progress_and_exits_0() {
    let mut server = EchoServer::start(&["--drain-timeout", "20s"]);
    let mut idle = server.connect();
    ask(&mut idle, b"idle soon\n");
    // A request in progress: half a line is in, its start already echoed.
    let mut busy = server.connect();
    busy.write_all(b"half a ").unwrap();
    let mut start = [0; 11];
    busy.read_exact(&mut start).unwrap();
    assert_eq!(&start, b"GOT:half a ");

    server.signal(libc::SIGTERM);
    // The idle client is closed: end of file, nothing more.
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    // Accepting stopped before idle connections were closed.
    let refused = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // The busy one finishes its line and is answered whole.
    busy.write_all(b"line\n").unwrap();
    let mut end = [0; 5];
    busy.read_exact(&mut end).unwrap();
    assert_eq!(&end, b"line\n");
    let mut rest = Vec::new();
    busy.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");

    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    thread::sleep(Duration::from_millis(100)); // the reader thread takes the last line
    let out = server.output();
    let summary = out.last().expect("a summary line");
    assert!(
        summary.starts_with("shutdown: accepted 2, served 2,"),
        "{out:?}"
    );
    assert!(summary.contains("cancelled 0"), "{summary}");
}

#[test]
fn a_second_sigterm_cancels_a_stuck_request() {
    let mut server = EchoServer::start(&["--drain-timeout", "60s"]);
    let mut busy = server.connect();
    busy.write_all(b"never ends").unwrap();
    let mut start = [0; 14];
    busy.read_exact(&mut start).unwrap();
    server.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(200));
    server.signal(libc::SIGTERM);
    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    let mut rest = Vec::new();
    let _ = busy.read_to_end(&mut rest); // closed, by FIN or RST
    thread::sleep(Duration::from_millis(100));
    let out = server.output();
    assert!(out.contains(&"Client closed".to_owned()), "{out:?}");
    let summary = out.last().unwrap();
    assert!(summary.contains("cancelled 1"), "{out:?}");
}

#[test]
fn a_client_that_never_reads_is_closed_by_the_idle_timeout() {
    let server = EchoServer::start(&["--idle-timeout", "300ms"]);
    let mut bystander = server.connect();
    // Sends until the server's replies fill every buffer and its write
    // parks; never reads a byte.
    let hog = server.connect();
    let writer = {
        let mut hog = hog.try_clone().unwrap();
        thread::spawn(move || {
            let chunk = vec![b'y'; 1 << 16];
            for _ in 0..(64 << 20) / chunk.len() {
                if hog.write_all(&chunk).is_err() {
                    return true; // the server closed it
                }
            }
            false
        })
    };
    // Meanwhile the bystander talks more often than the timeout.
    while !writer.is_finished() {
        ask(&mut bystander, b"fine\n");
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        writer.join().unwrap(),
        "64 MiB went into a connection nobody reads"
    );
    ask(&mut bystander, b"still fine\n");
    drop(hog);
    let out = server.output();
    assert!(
        out.iter()
            .any(|l| l.starts_with("Client error: idle timeout")),
        "no log line for the closed connection: {out:?}"
    );
}

#[test]
fn a_reset_mid_line_costs_only_its_connection() {
    let server = EchoServer::start(&[]);
    let mut bystander = server.connect();
    ask(&mut bystander, b"one\n");
    let mut rude = server.connect();
    rude.write_all(b"half a li").unwrap();
    let mut start = [0; 13];
    rude.read_exact(&mut start).unwrap();
    socket2::SockRef::from(&rude)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(rude); // RST
    ask(&mut bystander, b"two\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .output()
        .iter()
        .filter(|l| *l == "Client closed")
        .count()
        < 1
    {
        assert!(Instant::now() < deadline, "{:?}", server.output());
        thread::sleep(Duration::from_millis(10));
    }
    ask(&mut bystander, b"three\n");
    let out = server.output();
    assert!(
        out.iter()
            .any(|l| l.starts_with("Client error: ") && l.contains("reset")),
        "{out:?}"
    );
}

#[test]
fn two_loops_share_the_port_and_one_sigterm_drains_both() {
    let mut server = EchoServer::start(&["--threads", "2", "--drain-timeout", "20s"]);
    // Enough connections that the kernel's hash puts some on each loop; all
    // are answered, whichever loop took them.
    let mut clients: Vec<TcpStream> = (0..40).map(|_| server.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        ask(c, format!("client {i}\n").as_bytes());
    }
    // One mid-request on whichever loop it landed.
    let mut busy = server.connect();
    busy.write_all(b"half ").unwrap();
    let mut start = [0; 9];
    busy.read_exact(&mut start).unwrap();
    assert_eq!(&start, b"GOT:half ");

    server.signal(libc::SIGTERM);
    for mut idle in clients {
        let mut rest = Vec::new();
        idle.read_to_end(&mut rest).unwrap(); // closed by its loop's drain
        assert!(rest.is_empty(), "{rest:?}");
    }
    busy.write_all(b"done\n").unwrap();
    let mut end = [0; 5];
    busy.read_exact(&mut end).unwrap();
    assert_eq!(&end, b"done\n");
    drop(busy);

    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    thread::sleep(Duration::from_millis(100));
    let out = server.output();
    let summary = out.last().expect("a summary line");
    // One line for the whole process: the loops' counts added up.
    assert!(
        summary.starts_with("shutdown: accepted 41, served 41,"),
        "{out:?}"
    );
}

#[test]
fn a_bad_threads_value_or_a_taken_port_is_a_clear_error() {
    let out = Command::new(binary())
        .args(["--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--threads \"0\""), "{err}");

    // Every loop binds with SO_REUSEPORT, so a port taken by a plain
    // listener refuses loop 0, and the others stop instead of serving.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(binary())
        .args(["--threads", "3", "--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loop 0 of 3"), "{err}");
}

#[test]
fn sigusr1_prints_a_task_dump_and_the_server_goes_on() {
    let mut child = Command::new(binary())
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr: std::net::SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    ask(&mut idle, b"before\n");
    // stderr is read as it comes: the dump is printed by the server's
    // signal thread, in its own time, and must be out before SIGTERM.
    let (err_tx, err_rx) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    // The dump, then the counters line that ends it.
    let mut err = String::new();
    while !err.contains("== loop 0") || !err.lines().last().unwrap_or("").starts_with("tasks:") {
        let line = err_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no task dump within 30 s ({e}): {err}"));
        err.push_str(&line);
        err.push('\n');
    }
    ask(&mut idle, b"after\n"); // still serving
                                // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    drop(idle);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {err}");
    // The dump names the connection's task and what it waits on.
    assert!(err.contains("parked"), "{err}");
}
