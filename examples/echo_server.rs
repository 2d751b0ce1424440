//! The seed's echo server on [`weft::net::Server`]: one green thread per
//! connection, all on one OS thread, with the limits real traffic needs.
//!
//! ```text
//! cargo run --release --example echo_server                     # 127.0.0.1:16000, line protocol
//! cargo run --release --example echo_server -- --proto raw      # echo bytes as they come
//! cargo run --release --example echo_server -- --addr 0.0.0.0:7000 --max-connections 5000
//! cargo run --release --example echo_server -- --backlog 5      # the seed's listen backlog
//! cargo run --release --example echo_server -- --threads auto   # a loop per core
//! RUST_LOG=weft_net=info cargo run --example echo_server        # accept errors, limits, drain
//! ```
//!
//! `line` is the seed's protocol (AS-02): every line comes back prefixed
//! with `GOT:`, a partial last line included, bytes that are not UTF-8
//! unchanged; each connection is logged on accept and on close. `raw`
//! echoes whatever arrives, for `echo_load`. Try it with
//! `nc 127.0.0.1 16000`.
//!
//! Flags: `--backlog N` (default 1024; the seed used 5), `--max-connections
//! N` (default 10000: past it, clients wait in the backlog),
//! `--idle-timeout D` (default 300s; `0` never), `--drain-timeout D`
//! (default 10s), durations as `500ms`, `30s` or plain seconds. SIGINT or
//! SIGTERM drains (idle connections close, busy ones get the drain timeout,
//! a second signal cancels them at once), prints one `shutdown:` summary
//! line and exits with status 0.
//!
//! `--threads N` (or `auto`: one per available core; default 1, the
//! single-threaded scheduler) runs N share-nothing loops, each a `Server`
//! on its own `SO_REUSEPORT` listener on the same address; the kernel
//! spreads the connections, `--max-connections` is split between the loops,
//! a signal drains them all and the summary adds them up (see
//! `support/server_loops.rs`); each loop's summary line comes before the
//! total. `--pin` pins loop `i` to core `i`.
//!
//! SIGUSR1 (or SIGQUIT, as Go does) prints a dump of every green thread of
//! every loop to stderr — what each waits on, for how long, where it was
//! spawned, and which task holds a stalled loop — with the loop's counters.
//!
//! # Memory per connection is bounded, whatever the client sends
//!
//! The line protocol streams each line through instead of buffering it:
//! `GOT:` goes out when a line starts and its bytes pass as they arrive.
//! The bytes on the wire are exactly those of "buffer the line, answer
//! it", but a line of any length (a 512 MiB one without `\n`) costs the
//! same 64 KiB read and one reply buffer as a short one, there is no
//! line-length cap to pick and no new error for clients to handle, and no
//! buffer is left grown after a large line. The read and reply buffers are
//! shared by every connection: a read, its framing and the write that
//! follows happen between two suspension points (`try_read`, `try_write`
//! never park); only bytes the peer does not take at once are copied into a
//! buffer of the connection's own, freed once written. An idle connection
//! holds no buffer at all.
//!
//! Replies are coalesced: every line one read brought in goes back in one
//! write, so line mode costs about what raw mode does per byte (see
//! BENCHMARKS.md), where a `write` per line cost 124 times as much CPU.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use weft::net::{find_newline, Connection, ListenOptions, Server, Summary, TcpListener, TcpStream};
use weft::Runtime;

#[path = "support/server_loops.rs"]
mod server_loops;

/// What the server does with the bytes it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    /// Each line comes back as `GOT:` + the line (the seed's protocol).
    Line,
    /// Bytes come back as they arrive.
    Raw,
}

impl FromStr for Proto {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "line" => Ok(Proto::Line),
            "raw" => Ok(Proto::Raw),
            other => Err(format!("unknown protocol {other:?}: use line or raw")),
        }
    }
}

/// Bytes one read takes from a connection.
const READ_SIZE: usize = 64 * 1024;

/// Binds the listener with a backlog of `backlog` (the seed: 5, E-07).
fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    ListenOptions::new().backlog(backlog).bind(addr)
}

/// The buffers every connection shares (see the module docs).
struct Scratch {
    /// What one read brought in.
    input: RefCell<Vec<u8>>,
    /// The reply to it: at most 5 times the input (`GOT:` per `\n`).
    output: RefCell<Vec<u8>>,
}

/// Serves `proto` until `server` drains, writing the server's log lines
/// through `log`.
fn serve(server: Server, proto: Proto, log: impl Fn(String) + 'static) -> io::Result<Summary> {
    let log: Rc<dyn Fn(String)> = Rc::new(log);
    let scratch = Rc::new(Scratch {
        input: RefCell::new(vec![0; READ_SIZE]),
        output: RefCell::new(Vec::with_capacity(READ_SIZE + 1024)),
    });
    server.serve(move |conn| {
        log(format!("Got connection from {}", conn.peer()));
        // Logs the close however the handler ends: returned, failed, or
        // cancelled by the drain deadline.
        let _closed = OnClose(log.clone());
        let result = match proto {
            Proto::Line => echo_lines(&conn, &scratch),
            Proto::Raw => echo_raw(&conn, &scratch),
        };
        match &result {
            Ok(()) => {}
            // The idle timeout: a read or write moved no byte for that long.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                log(format!("Client error: idle timeout ({e})"))
            }
            Err(e) => log(format!("Client error: {e}")),
        }
        result
    })
}

/// Logs "Client closed" when dropped.
struct OnClose(Rc<dyn Fn(String)>);

impl Drop for OnClose {
    fn drop(&mut self) {
        (self.0)("Client closed".to_owned());
    }
}

/// The seed's `client_handler`: `GOT:` + each line, until end of file,
/// streamed (see the module docs). The connection is busy for the drain
/// while a line has started and not ended.
fn echo_lines(conn: &Connection<TcpStream>, scratch: &Scratch) -> io::Result<()> {
    let mut at_line_start = true;
    loop {
        let Some(n) = read_shared(conn, &scratch.input)? else {
            return Ok(()); // a partial last line already went out (E-01)
        };
        let mut out = scratch.output.borrow_mut();
        out.clear();
        at_line_start = frame_lines(&scratch.input.borrow()[..n], at_line_start, &mut out);
        let len = out.len();
        send_shared(conn, out, len)?;
        conn.set_busy(!at_line_start);
    }
}

/// Echoes bytes as they arrive, until end of file.
fn echo_raw(conn: &Connection<TcpStream>, scratch: &Scratch) -> io::Result<()> {
    loop {
        let Some(n) = read_shared(conn, &scratch.input)? else {
            return Ok(());
        };
        send_shared(conn, scratch.input.borrow_mut(), n)?;
    }
}

/// Parks until `conn` is readable, then reads into the shared buffer
/// without parking: `None` at end of file. The buffer is borrowed only
/// while the read runs.
///
/// Inlined into the echo loops, as `send_shared` is: a park clobbers every
/// callee-saved register, which a frame of its own saves and restores on
/// every call (about 20 instructions a round trip each).
#[inline(always)]
fn read_shared(
    conn: &Connection<TcpStream>,
    input: &RefCell<Vec<u8>>,
) -> io::Result<Option<usize>> {
    loop {
        conn.readable()?;
        match conn.try_read(&mut input.borrow_mut()) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes `out[..len]`, a shared buffer: what the socket takes now goes straight
/// from it; the rest is copied to a buffer of this connection's own and
/// written with `out` released (never borrowed across the park), the
/// connection busy meanwhile.
#[inline(always)]
fn send_shared(
    conn: &Connection<TcpStream>,
    out: std::cell::RefMut<'_, Vec<u8>>,
    len: usize,
) -> io::Result<()> {
    let sent = match conn.try_write(&out[..len]) {
        Ok(sent) => sent,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if sent < len {
        send_rest(conn, out, sent..len)?;
    }
    Ok(())
}

/// The rest of `send_shared`, when the socket took less than all: copies
/// `out[rest]` and writes it with `out` released.
#[cold]
#[inline(never)]
fn send_rest(
    conn: &Connection<TcpStream>,
    out: std::cell::RefMut<'_, Vec<u8>>,
    rest: std::ops::Range<usize>,
) -> io::Result<()> {
    let rest = out[rest].to_vec();
    drop(out);
    let was_busy = conn.is_busy();
    conn.set_busy(true);
    (&**conn).write_all(&rest)?;
    conn.set_busy(was_busy);
    Ok(())
}

/// Appends the reply to `input` to `out`: `GOT:` before every line that
/// starts in it, the bytes unchanged. Returns whether the input ended at a
/// line boundary (the next byte starts a line).
fn frame_lines(mut input: &[u8], mut at_line_start: bool, out: &mut Vec<u8>) -> bool {
    while !input.is_empty() {
        if at_line_start {
            out.extend_from_slice(b"GOT:");
        }
        match find_newline(input) {
            Some(i) => {
                out.extend_from_slice(&input[..=i]);
                input = &input[i + 1..];
                at_line_start = true;
            }
            None => {
                out.extend_from_slice(input);
                return false;
            }
        }
    }
    at_line_start
}

/// Command-line settings.
#[derive(Clone, Copy, Debug)]
struct Args {
    addr: SocketAddr,
    proto: Proto,
    backlog: u32,
    max_connections: usize,
    idle_timeout: Option<Duration>,
    drain_timeout: Duration,
    /// Loops (OS threads, one runtime each).
    threads: usize,
    /// Pin loop `i` to core `i`.
    pin: bool,
}

const USAGE: &str =
    "usage: echo_server [--addr 127.0.0.1:16000] [--proto line|raw] [--backlog 1024] \
                     [--max-connections 10000] [--idle-timeout 300s] [--drain-timeout 10s] \
                     [--threads 1|N|auto] [--pin]";

/// `--threads`: a count of at least 1, or `auto` for the available cores.
fn parse_threads(v: &str) -> Result<usize, String> {
    if v == "auto" {
        return std::thread::available_parallelism()
            .map(|n| n.get())
            .map_err(|e| format!("--threads auto: cannot tell the cores: {e}"));
    }
    match v.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "--threads {v:?}: expected a count of at least 1, or auto"
        )),
    }
}

/// `500ms`, `30s` or plain seconds.
fn parse_duration(v: &str) -> Result<Duration, String> {
    let bad = || format!("{v:?} is not a duration (try 500ms or 30s)");
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.parse().map(Duration::from_millis).map_err(|_| bad());
    }
    let secs = v.strip_suffix('s').unwrap_or(v);
    secs.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(bad)
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 16000)),
        proto: Proto::Line,
        backlog: 1024,
        max_connections: 10_000,
        idle_timeout: Some(Duration::from_secs(300)),
        drain_timeout: Duration::from_secs(10),
        threads: 1,
        pin: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                parsed.addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?}: {e} (expected IP:PORT)"))?;
            }
            "--proto" => parsed.proto = value()?.parse()?,
            "--backlog" => {
                let v = value()?;
                parsed.backlog = v.parse().map_err(|e| format!("--backlog {v:?}: {e}"))?;
            }
            "--max-connections" => {
                let v = value()?;
                parsed.max_connections = match v.parse() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(format!(
                            "--max-connections {v:?}: expected a count of at least 1"
                        ))
                    }
                };
            }
            "--idle-timeout" => {
                let d = parse_duration(&value()?).map_err(|e| format!("--idle-timeout: {e}"))?;
                parsed.idle_timeout = (!d.is_zero()).then_some(d);
            }
            "--drain-timeout" => {
                parsed.drain_timeout =
                    parse_duration(&value()?).map_err(|e| format!("--drain-timeout: {e}"))?;
            }
            "--threads" => parsed.threads = parse_threads(&value()?)?,
            "--pin" => parsed.pin = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(parsed)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(io::stderr)
        .init();
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    let result = if args.threads == 1 {
        serve_on_one_loop(args)
    } else {
        serve_on_loops(args)
    };
    match result {
        Ok(summary) => println!("shutdown: {summary}"),
        Err(e) => {
            eprintln!("echo_server: {e}");
            std::process::exit(1);
        }
    }
}

/// The protocol's name, as the start-up line shows it.
fn proto_name(proto: Proto) -> &'static str {
    match proto {
        Proto::Line => "line",
        Proto::Raw => "raw",
    }
}

/// Writes one log line to stdout, flushed: under a pipe stdout is
/// block-buffered, and a reader (a test, a supervisor) wants it as it
/// happens.
fn print_line(line: String) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Applies the limits of `args` to a loop's server; `max_connections` is
/// this loop's share of the whole process's cap.
fn configure(server: Server, args: &Args, max_connections: usize) -> Server {
    server
        .max_connections(max_connections)
        .idle_timeout(args.idle_timeout)
        .drain_timeout(args.drain_timeout)
        .handle_signals(true)
}

/// Prints a task dump and the counters of each loop on SIGUSR1 or SIGQUIT,
/// from an OS thread of its own, so it still answers while a loop is
/// stalled by a task that does not yield.
fn dump_on_signal(handles: Vec<weft::Handle>) {
    use signal_hook::consts::{SIGQUIT, SIGUSR1};
    let mut signals = match signal_hook::iterator::Signals::new([SIGUSR1, SIGQUIT]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("echo_server: no task dump on SIGUSR1: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            for (index, handle) in handles.iter().enumerate() {
                eprintln!("== loop {index}\n{}\n{}", handle.dump(), handle.metrics());
            }
        }
    });
}

/// The default: one runtime on this thread.
fn serve_on_one_loop(args: Args) -> Result<Summary, String> {
    let served = Runtime::new()
        .map_err(|e| format!("cannot start the runtime: {e}"))?
        .block_on(move || {
            let listener = bind(args.addr, args.backlog)?;
            let server = configure(Server::new(listener)?, &args, args.max_connections);
            dump_on_signal(vec![weft::Handle::current()]);
            println!(
                "listening on {} ({} protocol)",
                server.local_addr()?,
                proto_name(args.proto)
            );
            serve(server, args.proto, print_line)
        });
    match served {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// `--threads N`: N loops, one `Server` each on a shared port.
fn serve_on_loops(args: Args) -> Result<Summary, String> {
    let share = args.max_connections.div_ceil(args.threads);
    let plan = server_loops::LoopsPlan {
        loops: args.threads,
        pin: args.pin,
        addr: args.addr,
        backlog: args.backlog,
    };
    let running = server_loops::start(
        plan,
        move |server| configure(server, &args, share),
        move |server| serve(server, args.proto, print_line),
    )?;
    dump_on_signal(running.loops.handles().to_vec());
    println!(
        "listening on {} ({} protocol, {} loops)",
        running.addr,
        proto_name(args.proto),
        args.threads
    );
    let per_loop = running.wait()?;
    // Each loop's share first (the kernel's split), then the total.
    for (index, summary) in per_loop.iter().enumerate() {
        print_line(format!("loop {index}: {summary}"));
    }
    Ok(per_loop.iter().sum())
}

#[cfg(test)]
mod tests {
    //! AS-02 over real loopback sockets: the server runs on its own OS
    //! thread with an accept limit; the clients are plain blocking sockets.
    use super::*;
    use std::io::Read;
    use std::net::{Shutdown, TcpStream as StdStream};
    use std::sync::{mpsc, Arc, Mutex};
    use std::thread;
    use std::time::Duration;

    struct Running {
        addr: SocketAddr,
        log: Arc<Mutex<Vec<String>>>,
        stop: weft::net::ShutdownHandle,
        conns: usize,
        thread: thread::JoinHandle<Summary>,
    }

    /// Serves `proto` on 127.0.0.1:0 for a test that makes `conns` connections.
    fn start(proto: Proto, conns: usize) -> Running {
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let thread = thread::spawn(move || {
            Runtime::new()
                .unwrap()
                .block_on(move || {
                    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 1024).unwrap();
                    let server = Server::new(listener).unwrap();
                    tx.send((server.local_addr().unwrap(), server.shutdown_handle()))
                        .unwrap();
                    let sink = move |line| sink.lock().unwrap().push(line);
                    serve(server, proto, sink).unwrap()
                })
                .unwrap()
        });
        let (addr, stop) = rx.recv().unwrap();
        Running {
            addr,
            log,
            stop,
            conns,
            thread,
        }
    }

    impl Running {
        /// Waits for the test's connections to close, drains the server
        /// and returns its log.
        fn finish(self) -> Vec<String> {
            let closed = || {
                let log = self.log.lock().unwrap();
                log.iter().filter(|l| *l == "Client closed").count()
            };
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while closed() < self.conns && std::time::Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            assert!(self.stop.shutdown());
            let summary = self.thread.join().unwrap();
            assert_eq!(summary.accepted, self.conns as u64, "{summary}");
            let log = self.log.lock().unwrap().clone();
            log
        }
    }

    fn connect(addr: SocketAddr) -> StdStream {
        let s = StdStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// Sends `chunks` (pausing between them), half-closes, reads to EOF.
    fn exchange(addr: SocketAddr, chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = connect(addr);
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 {
                thread::sleep(Duration::from_millis(30));
            }
            s.write_all(chunk).unwrap();
        }
        s.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    }

    #[test]
    fn as02a_partial_last_line_is_answered_then_eof() {
        let server = start(Proto::Line, 1);
        let got = exchange(server.addr, &[b"hello\n", b"world\n", b"no newline at end"]);
        assert_eq!(got, b"GOT:hello\nGOT:world\nGOT:no newline at end");
        server.finish();
    }

    #[test]
    fn as02b_empty_line_is_not_eof() {
        let server = start(Proto::Line, 1);
        assert_eq!(
            exchange(server.addr, &[b"a\nb\n\n"]),
            b"GOT:a\nGOT:b\nGOT:\n"
        );
        server.finish();
    }

    #[test]
    fn as02c_line_split_across_segments_comes_back_once() {
        let server = start(Proto::Line, 1);
        assert_eq!(exchange(server.addr, &[b"hel", b"lo\n"]), b"GOT:hello\n");
        server.finish();
    }

    #[test]
    fn as02d_e_connect_and_close_is_logged_twice() {
        let server = start(Proto::Line, 1);
        let s = connect(server.addr);
        let port = s.local_addr().unwrap().port();
        drop(s);
        assert_eq!(
            server.finish(),
            [
                format!("Got connection from 127.0.0.1:{port}"),
                "Client closed".to_owned()
            ]
        );
    }

    #[test]
    fn as02f_an_idle_client_does_not_block_another() {
        let server = start(Proto::Line, 2);
        let mut a = connect(server.addr);
        let mut b = connect(server.addr);
        let line = |s: &mut StdStream, send: &[u8], want: &[u8]| {
            s.write_all(send).unwrap();
            let mut got = vec![0; want.len()];
            s.read_exact(&mut got).unwrap();
            assert_eq!(got, want);
        };
        line(&mut a, b"1\n", b"GOT:1\n");
        line(&mut b, b"2\n", b"GOT:2\n");
        line(&mut a, b"3\n", b"GOT:3\n"); // B sits idle and connected meanwhile
        for s in [&a, &b] {
            s.shutdown(Shutdown::Write).unwrap();
        }
        for mut s in [a, b] {
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        }
        let log = server.finish();
        assert_eq!(log.iter().filter(|l| *l == "Client closed").count(), 2);
    }

    #[test]
    fn as02g_a_one_mebibyte_line_comes_back_whole() {
        let server = start(Proto::Line, 1);
        let mut payload: Vec<u8> = (0..1 << 20).map(|i| b'a' + (i % 26) as u8).collect();
        payload.push(b'\n');
        let s = connect(server.addr);
        let mut writer = s.try_clone().unwrap();
        let sent = payload.clone();
        let w = thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut got = Vec::new();
        (&s).read_to_end(&mut got).unwrap();
        w.join().unwrap();
        assert_eq!(&got[..4], b"GOT:");
        assert!(got[4..] == payload[..], "echoed line differs");
        server.finish();
    }

    #[test]
    fn as02h_bytes_that_are_not_utf8_pass_unchanged() {
        let server = start(Proto::Line, 1);
        let line: &[u8] = b"\xff\xfe\x00bin\x80ary\n";
        let mut want = b"GOT:".to_vec();
        want.extend_from_slice(line);
        assert_eq!(exchange(server.addr, &[line]), want);
        server.finish();
    }

    #[test]
    fn as02i_backlog_5_is_the_seeds() {
        // Nothing accepts: Linux queues backlog + 1 handshakes, then drops SYNs.
        Runtime::new()
            .unwrap()
            .block_on(|| {
                let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 5).unwrap();
                let addr = listener.local_addr().unwrap();
                let wait = Duration::from_millis(300);
                let queued: Vec<_> = (0..6)
                    .map(|_| StdStream::connect_timeout(&addr, wait).unwrap())
                    .collect();
                let err = StdStream::connect_timeout(&addr, wait).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::TimedOut);
                drop(queued);
            })
            .unwrap();
    }

    #[test]
    fn raw_protocol_echoes_bytes_as_they_come() {
        let server = start(Proto::Raw, 1);
        assert_eq!(
            exchange(server.addr, &[b"no", b" lines\xff", b"\nat all"]),
            b"no lines\xff\nat all"
        );
        server.finish();
    }

    #[test]
    fn raw_protocol_keeps_concurrent_large_streams_apart() {
        // Three clients stream 2 MiB each at once: the server's shared read
        // buffer and the partial writes (the clients read while they write)
        // must never mix one connection's bytes into another's.
        let server = start(Proto::Raw, 3);
        let clients: Vec<_> = (0..3u8)
            .map(|k| {
                let addr = server.addr;
                thread::spawn(move || {
                    let data: Vec<u8> = (0..2 << 20).map(|i: u32| (i % 251) as u8 ^ k).collect();
                    let s = connect(addr);
                    let mut reader = s.try_clone().unwrap();
                    let expected = data.len();
                    let echo = thread::spawn(move || {
                        let mut got = Vec::with_capacity(expected);
                        reader.read_to_end(&mut got).unwrap();
                        got
                    });
                    (&s).write_all(&data).unwrap();
                    s.shutdown(Shutdown::Write).unwrap();
                    assert!(
                        echo.join().unwrap() == data,
                        "client {k} got other bytes back"
                    );
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        server.finish();
    }

    #[test]
    fn frame_lines_prefixes_every_line_start_across_reads() {
        let mut out = Vec::new();
        let mut start = frame_lines(b"a\nbc", true, &mut out);
        assert!(!start);
        start = frame_lines(b"d\n\n", start, &mut out);
        assert!(start);
        assert_eq!(out, b"GOT:a\nGOT:bcd\nGOT:\n");
        let long: Vec<u8> = (0..100u8)
            .map(|i| if i == 77 { b'\n' } else { b'x' })
            .collect();
        out.clear();
        // Two line starts (byte 0 and after the `\n` at 77), no line end.
        assert!(!frame_lines(&long, true, &mut out));
        assert_eq!(out.len(), long.len() + 8);
        assert!(out[82..].starts_with(b"GOT:x"));
    }

    #[test]
    fn loops_share_one_address_and_drain_on_one_handle() {
        let plan = server_loops::LoopsPlan {
            loops: 2,
            pin: false,
            addr: "127.0.0.1:0".parse().unwrap(),
            backlog: 128,
        };
        let running = server_loops::start(
            plan,
            |server| server.drain_timeout(Duration::from_secs(5)),
            |server| serve(server, Proto::Raw, |_| {}),
        )
        .unwrap();
        for i in 0..8u8 {
            let mut c = connect(running.addr);
            c.write_all(&[i]).unwrap();
            let mut back = [0; 1];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, [i]);
        }
        assert!(running.shutdown.shutdown());
        let total: Summary = running.wait().unwrap().iter().sum();
        assert_eq!((total.accepted, total.cancelled), (8, 0), "{total}");
    }

    #[test]
    fn threads_parse_as_a_count_or_auto() {
        let parse = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
        assert_eq!(parse(&[]).unwrap().threads, 1);
        assert_eq!(parse(&["--threads", "3"]).unwrap().threads, 3);
        assert!(parse(&["--threads", "auto"]).unwrap().threads >= 1);
        assert!(parse(&["--threads", "x"])
            .unwrap_err()
            .contains("at least 1, or auto"));
        assert!(parse(&["--pin"]).unwrap().pin);
    }

    #[test]
    fn flags_parse_and_bad_ones_are_explained() {
        let parse = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
        let d = parse(&[]).unwrap();
        assert_eq!(
            (d.addr.to_string(), d.proto, d.backlog, d.max_connections),
            ("127.0.0.1:16000".into(), Proto::Line, 1024, 10_000)
        );
        assert_eq!(d.idle_timeout, Some(Duration::from_secs(300)));
        let r = parse(&[
            "--addr",
            "127.0.0.1:7",
            "--proto",
            "raw",
            "--backlog",
            "5",
            "--max-connections",
            "3",
            "--idle-timeout",
            "0",
            "--drain-timeout",
            "250ms",
        ])
        .unwrap();
        assert_eq!(
            (r.addr.port(), r.proto, r.backlog, r.max_connections),
            (7, Proto::Raw, 5, 3)
        );
        assert_eq!(
            (r.idle_timeout, r.drain_timeout),
            (None, Duration::from_millis(250))
        );
        assert!(parse(&["--proto", "tcp"])
            .unwrap_err()
            .contains("line or raw"));
        assert!(parse(&["--addr", "nowhere"])
            .unwrap_err()
            .contains("IP:PORT"));
        assert!(parse(&["--addr"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--max-connections", "0"])
            .unwrap_err()
            .contains("at least 1"));
        assert!(parse(&["--idle-timeout", "soon"])
            .unwrap_err()
            .contains("not a duration"));
    }
}
