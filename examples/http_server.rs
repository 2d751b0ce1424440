//! A small HTTP/1.1 server with keep-alive: httparse, a synchronous parser
//! that knows nothing of weft, reads from green sockets unmodified. One
//! green thread per connection; a connection serves requests until the
//! client closes it, asks to (`Connection: close`), or idles for 30 s.
//!
//! ```text
//! cargo run --example http_server                          # 127.0.0.1:18080
//! cargo run --example http_server -- --addr 127.0.0.1:9000
//! curl -s http://127.0.0.1:18080/ http://127.0.0.1:18080/count   # two requests, one connection
//! curl -s -d 'some body' http://127.0.0.1:18080/echo
//! ```
//!
//! Routes: `GET /` says hello, `GET /count` answers how many requests this
//! connection has carried (so keep-alive shows), `POST /echo` sends the
//! body back; anything else is a 404.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::Runtime;

/// The largest request head (request line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The most headers a request may carry.
const MAX_HEADERS: usize = 32;
/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// One parsed request, owning what the handler needs.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    /// HTTP/1.x minor version: 0 or 1.
    version: u8,
    /// `Connection: close` (or an HTTP/1.0 request without keep-alive).
    close: bool,
    body: Vec<u8>,
}

/// Reads the next request from `conn`, keeping bytes past it in `buf` (a
/// client may send its next request before this answer). `Ok(None)` when
/// the client closed the connection between requests.
fn read_request(conn: &TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let mut chunk = [0u8; 4096];
    let (head_len, (mut req, want)) = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(n)) => break (n, own(&parsed)?),
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
                return Err(invalid("request head too large"))
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(invalid(&format!("bad request: {e}"))),
        }
        let n = (&*conn).read(&mut chunk)?;
        if n == 0 {
            return match buf.is_empty() {
                true => Ok(None),
                false => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    buf.drain(..head_len);
    while buf.len() < want {
        let n = (&*conn).read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    req.body.extend(buf.drain(..want));
    Ok(Some(req))
}

/// Copies what the handler needs out of httparse's borrowed request, with
/// the length of the body still to read.
fn own(parsed: &httparse::Request<'_, '_>) -> io::Result<(Request, usize)> {
    let version = parsed.version.unwrap_or(1);
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let close = match header("connection").as_deref() {
        Some("close") => true,
        Some("keep-alive") => false,
        _ => version == 0,
    };
    if header("transfer-encoding").is_some() {
        return Err(invalid("chunked request bodies are not supported"));
    }
    let length = match header("content-length") {
        Some(v) => v.parse().map_err(|_| invalid("bad Content-Length"))?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(invalid("request body too large"));
    }
    let req = Request {
        method: parsed.method.unwrap_or("").to_owned(),
        path: parsed.path.unwrap_or("").to_owned(),
        version,
        close,
        body: Vec::with_capacity(length),
    };
    Ok((req, length))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Answers one request: status line, body.
fn route(req: &Request, served: usize) -> (&'static str, Vec<u8>) {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/") => ("200 OK", b"hello from weft\n".to_vec()),
        ("GET", "/count") => ("200 OK", format!("{served}\n").into_bytes()),
        ("POST", "/echo") => ("200 OK", req.body.clone()),
        _ => ("404 Not Found", b"not found\n".to_vec()),
    }
}

/// Serves requests on one connection until it closes.
fn handle(conn: TcpStream) -> io::Result<()> {
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = Vec::new();
    let mut served = 0;
    loop {
        let req = match read_request(&conn, &mut buf) {
            Ok(Some(req)) => req,
            Ok(None) => return Ok(()),
            // An idle keep-alive connection times out as std's does.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let msg = format!("{e}\n");
                let head = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    msg.len()
                );
                (&conn).write_all(head.as_bytes())?;
                return (&conn).write_all(msg.as_bytes());
            }
            Err(e) => return Err(e),
        };
        served += 1;
        let (status, body) = route(&req, served);
        let connection = if req.close { "close" } else { "keep-alive" };
        let head = format!(
            "HTTP/1.{} {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: {connection}\r\n\r\n",
            req.version,
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        (&conn).write_all(&out)?;
        if req.close {
            return Ok(());
        }
    }
}

/// Accepts connections, each served on its own green thread. With `limit`,
/// stops after that many and returns once they are done (for the tests).
fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<()> {
    let mut handlers = Vec::new();
    for conn in listener.incoming().take(limit.unwrap_or(usize::MAX)) {
        let conn = conn?;
        handlers.push(weft::spawn(move || {
            if let Err(e) = handle(conn) {
                eprintln!("http_server: connection ended: {e}");
            }
        }));
    }
    for h in handlers {
        let _ = h.join();
    }
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 18080));
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--addr" => {
                let v = args.next().ok_or("--addr needs a value")?;
                addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?}: {e} (expected IP:PORT)"))?;
            }
            "-h" | "--help" => return Err("usage: http_server [--addr 127.0.0.1:18080]".into()),
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(addr)
}

fn main() {
    let addr = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    let result = Runtime::new().expect("runtime").block_on(|| {
        let listener = TcpListener::bind(addr)?;
        println!("listening on http://{}", listener.local_addr()?);
        serve(listener, None)
    });
    if let Err(e) = result.map_err(io::Error::other).and_then(|r| r) {
        eprintln!("http_server: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    //! A std-socket client makes several requests over one keep-alive
    //! connection; curl, when installed, does the same as a real client.
    use super::*;
    use std::net::TcpStream as StdStream;
    use std::sync::mpsc;
    use std::thread;

    /// Serves `conns` connections on 127.0.0.1:0 on an OS thread of its own.
    fn start(conns: usize) -> (SocketAddr, thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel();
        let server = thread::spawn(move || {
            Runtime::new()
                .unwrap()
                .block_on(|| {
                    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                    tx.send(listener.local_addr().unwrap()).unwrap();
                    serve(listener, Some(conns)).unwrap();
                })
                .unwrap();
        });
        (rx.recv().unwrap(), server)
    }

    /// Reads one response off `s`: status code, `Connection` header, body.
    fn response(s: &mut StdStream, buf: &mut Vec<u8>) -> (u16, String, Vec<u8>) {
        let mut chunk = [0; 4096];
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut r = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(n) = r.parse(buf).unwrap() {
                let find = |name: &str| {
                    r.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8(h.value.to_vec()).unwrap())
                        .unwrap_or_default()
                };
                let len: usize = find("content-length").parse().unwrap();
                let (code, connection) = (r.code.unwrap(), find("connection"));
                while buf.len() < n + len {
                    let k = s.read(&mut chunk).unwrap();
                    assert!(k > 0, "the server closed mid-response");
                    buf.extend_from_slice(&chunk[..k]);
                }
                let body = buf[n..n + len].to_vec();
                buf.drain(..n + len);
                return (code, connection, body);
            }
            let k = s.read(&mut chunk).unwrap();
            assert!(k > 0, "the server closed before answering");
            buf.extend_from_slice(&chunk[..k]);
        }
    }

    #[test]
    fn several_requests_share_one_keep_alive_connection() {
        let (addr, server) = start(1);
        let mut s = StdStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        for n in 1..=3 {
            s.write_all(b"GET /count HTTP/1.1\r\nHost: test\r\n\r\n")
                .unwrap();
            let (code, connection, body) = response(&mut s, &mut buf);
            assert_eq!((code, connection.as_str()), (200, "keep-alive"));
            assert_eq!(body, format!("{n}\n").as_bytes(), "the same connection");
        }
        // Pipelined: a POST with a body and a 404 in one write.
        s.write_all(
            b"POST /echo HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello weft!GET /nope HTTP/1.1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response(&mut s, &mut buf).2, b"hello weft!");
        assert_eq!(response(&mut s, &mut buf).0, 404);
        s.write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (code, connection, body) = response(&mut s, &mut buf);
        assert_eq!((code, connection.as_str()), (200, "close"));
        assert_eq!(body, b"hello from weft\n");
        assert_eq!(s.read(&mut [0; 1]).unwrap(), 0, "closed as asked");
        server.join().unwrap();
    }

    #[test]
    fn a_malformed_request_gets_a_400_and_the_connection_closes() {
        let (addr, server) = start(1);
        let mut s = StdStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        let (code, connection, _) = response(&mut s, &mut buf);
        assert_eq!((code, connection.as_str()), (400, "close"));
        server.join().unwrap();
    }

    #[test]
    fn curl_reuses_the_connection_when_installed() {
        let Ok(version) = std::process::Command::new("curl").arg("--version").output() else {
            eprintln!("skipped: curl is not installed");
            return;
        };
        assert!(version.status.success());
        let (addr, server) = start(1);
        let url = format!("http://{addr}/count");
        let out = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "20", "-w", " %{num_connects}\\n"])
            .args([&url, &url, &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The count grows and only the first request opened a connection.
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "1\n 1\n2\n 0\n3\n 0\n"
        );
        server.join().unwrap();
    }

    #[test]
    fn flags() {
        let parse = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert_eq!(parse(&[]).unwrap().port(), 18080);
        assert_eq!(parse(&["--addr", "127.0.0.1:9"]).unwrap().port(), 9);
        assert!(parse(&["--addr", "nowhere"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
