//! The seed's echo server as green threads: one green thread per connection,
//! all on one OS thread.
//!
//! ```text
//! cargo run --release --example echo_server                     # 127.0.0.1:16000, line protocol
//! cargo run --release --example echo_server -- --proto raw      # echo bytes as they come
//! cargo run --release --example echo_server -- --addr 0.0.0.0:7000
//! RUST_LOG=weft=debug cargo run --example echo_server            # runtime traces
//! ```
//!
//! `line` is the seed's protocol (AS-02): every line comes back prefixed
//! with `GOT:`, a partial last line included, bytes that are not UTF-8
//! unchanged; each connection is logged on accept and on close; the
//! listener's backlog is 5, as in the seed. `raw` echoes whatever arrives,
//! for `echo_load`. Try it with `nc 127.0.0.1 16000`.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::str::FromStr;

use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::{task, JoinHandle, Runtime};

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

/// Binds the listener as the seed does: backlog 5 (E-07).
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    ListenOptions::new().backlog(5).bind(addr)
}

/// Accepts connections and serves each on its own green thread, writing
/// the server's log lines through `log`. With `limit`, it stops accepting
/// after that many connections and returns once they are all closed (for
/// tests, E-13); without, it serves forever.
fn serve(
    listener: TcpListener,
    proto: Proto,
    log: impl Fn(String) + 'static,
    limit: Option<usize>,
) -> io::Result<()> {
    let log: Rc<dyn Fn(String)> = Rc::new(log);
    // The raw protocol's one read buffer, shared by every connection.
    let scratch = Rc::new(RefCell::new(vec![0; 64 * 1024]));
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    while limit.is_none_or(|n| handlers.len() < n) {
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // A connection that died before we took it costs only itself.
            Err(e) if is_per_connection(&e) => {
                log(format!("accept failed: {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        log(format!("Got connection from {peer}"));
        // Answers go out at once: without this, Nagle's algorithm holds a
        // short write back until the client's (delayed) ACK of the last one.
        // A peer already gone makes this fail; its handler will see why.
        let _ = conn.set_nodelay(true);
        let task_log = log.clone();
        let scratch = scratch.clone();
        // `Builder::spawn` returns the failure to get a stack (the kernel's
        // map limit, say) as an error: that connection is dropped, the
        // others keep being served and the server keeps accepting.
        let spawned = task::Builder::new().spawn(move || {
            let result = match proto {
                Proto::Line => echo_lines(&conn),
                Proto::Raw => echo_raw(&conn, &scratch),
            };
            if let Err(e) = result {
                task_log(format!("Client error: {e}"));
            }
            drop(conn);
            task_log("Client closed".to_owned());
        });
        match spawned {
            Ok(handler) if limit.is_some() => handlers.push(handler),
            Ok(_) => {}
            Err(e) => log(format!("Dropped connection from {peer}: {e}")),
        }
    }
    for h in handlers {
        let _ = h.join();
    }
    Ok(())
}

/// Errors of `accept` that concern one incoming connection, not the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::PermissionDenied // a firewall rule refused it
    ) || e.raw_os_error() == Some(libc::EPROTO)
}

/// The seed's `client_handler`: `GOT:` + each line, until end of file.
fn echo_lines(conn: &TcpStream) -> io::Result<()> {
    if !wait_for_data(conn)? {
        return Ok(());
    }
    let mut reader = BufReader::new(conn);
    let mut reply = b"GOT:".to_vec();
    loop {
        reply.truncate(4);
        // A partial last line at end of file is still answered (E-01);
        // only zero bytes means end of file (E-04).
        if reader.read_until(b'\n', &mut reply)? == 0 {
            return Ok(());
        }
        (&*conn).write_all(&reply)?;
    }
}

/// Echoes bytes as they arrive, until end of file.
///
/// Every connection reads into one `scratch` buffer shared by the whole
/// server: the read and the write that follows happen between two
/// suspension points (`try_read`, `try_write` never park), so no other green
/// thread can see the buffer borrowed. Only bytes the peer does not take at
/// once are copied into a buffer of the connection's own, which is freed
/// once they are written: an idle connection holds no buffer at all.
fn echo_raw(conn: &TcpStream, scratch: &RefCell<Vec<u8>>) -> io::Result<()> {
    loop {
        conn.readable()?;
        let mut buf = scratch.borrow_mut();
        let n = match conn.try_read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        let sent = match conn.try_write(&buf[..n]) {
            Ok(sent) => sent,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        if sent < n {
            let rest = buf[sent..n].to_vec();
            drop(buf); // never borrowed across the park in write_all
            (&*conn).write_all(&rest)?;
        }
    }
}

/// Parks until the peer sends its first byte (true) or closes (false),
/// without a buffer: a connection that stays idle then costs only its green
/// thread (one touched stack page and its records, about 4.4 KiB), and the
/// read buffers are allocated when there is something to read.
fn wait_for_data(conn: &TcpStream) -> io::Result<bool> {
    Ok(conn.peek(&mut [0; 1])? > 0)
}

/// Command-line settings.
#[derive(Debug)]
struct Args {
    addr: SocketAddr,
    proto: Proto,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 16000)),
        proto: Proto::Line,
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
            "-h" | "--help" => {
                return Err("usage: echo_server [--addr 127.0.0.1:16000] [--proto line|raw]".into())
            }
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
    let result = Runtime::new().expect("runtime").block_on(move || {
        let listener = bind(args.addr)?;
        let proto = match args.proto {
            Proto::Line => "line",
            Proto::Raw => "raw",
        };
        println!("listening on {} ({proto} protocol)", listener.local_addr()?);
        serve(listener, args.proto, |line| println!("{line}"), None)
    });
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("echo_server: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("echo_server: {e}");
            std::process::exit(1);
        }
    }
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

    struct Server {
        addr: SocketAddr,
        log: Arc<Mutex<Vec<String>>>,
        thread: thread::JoinHandle<()>,
    }

    /// Serves `conns` connections with `proto` on 127.0.0.1:0.
    fn start(proto: Proto, conns: usize) -> Server {
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let thread = thread::spawn(move || {
            Runtime::new()
                .unwrap()
                .block_on(move || {
                    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
                    tx.send(listener.local_addr().unwrap()).unwrap();
                    let sink = move |line| sink.lock().unwrap().push(line);
                    serve(listener, proto, sink, Some(conns)).unwrap();
                })
                .unwrap();
        });
        let addr = rx.recv().unwrap();
        Server { addr, log, thread }
    }

    impl Server {
        /// Waits for the server to finish and returns its log.
        fn finish(self) -> Vec<String> {
            self.thread.join().unwrap();
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
    fn as02i_backlog_is_five() {
        // Nothing accepts: Linux queues backlog + 1 handshakes, then drops SYNs.
        Runtime::new()
            .unwrap()
            .block_on(|| {
                let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
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
    fn flags_parse_and_bad_ones_are_explained() {
        let parse = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
        let d = parse(&[]).unwrap();
        assert_eq!(
            (d.addr.to_string(), d.proto),
            ("127.0.0.1:16000".into(), Proto::Line)
        );
        let r = parse(&["--addr", "127.0.0.1:7", "--proto", "raw"]).unwrap();
        assert_eq!((r.addr.port(), r.proto), (7, Proto::Raw));
        assert!(parse(&["--proto", "tcp"])
            .unwrap_err()
            .contains("line or raw"));
        assert!(parse(&["--addr", "nowhere"])
            .unwrap_err()
            .contains("IP:PORT"));
        assert!(parse(&["--addr"]).unwrap_err().contains("needs a value"));
    }
}
