//! A WebSocket echo server and client on tungstenite's synchronous API,
//! unmodified: `tungstenite::accept` and `tungstenite::client` take any
//! `Read + Write` stream, so a green `TcpStream` just works. Each
//! connection gets its own green thread on the server; a client runs as a
//! green thread too.
//!
//! ```text
//! cargo run --example ws_echo                                  # server on 127.0.0.1:18081
//! cargo run --example ws_echo -- --addr 127.0.0.1:9001
//! cargo run --example ws_echo -- --connect 127.0.0.1:18081 hello green world
//! ```
//!
//! The server sends every text or binary message back and answers the
//! client's close handshake; the client sends each word as a text message,
//! prints what comes back, and closes.

// The functions below return `tungstenite::Result`, as tungstenite's own do;
// its error type is large by tungstenite's choice.
#![allow(clippy::result_large_err)]

use std::io;
use std::net::SocketAddr;

use tungstenite::handshake::HandshakeRole;
use tungstenite::{HandshakeError, Message};
use weft::net::{TcpListener, TcpStream};
use weft::Runtime;

/// A handshake on a parking socket never stops half-way: only a socket that
/// returns `WouldBlock` interrupts it, which happens here only when a read
/// timeout passes.
fn handshake<R, Role: HandshakeRole>(
    result: Result<R, HandshakeError<Role>>,
) -> tungstenite::Result<R> {
    result.map_err(|e| match e {
        HandshakeError::Failure(e) => e,
        HandshakeError::Interrupted(_) => {
            io::Error::new(io::ErrorKind::TimedOut, "WebSocket handshake timed out").into()
        }
    })
}

/// Echoes messages on one connection until the client closes it.
fn handle(sock: TcpStream) -> tungstenite::Result<()> {
    let mut ws = handshake(tungstenite::accept(sock))?;
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.send(msg)?,
            // Pings are answered and the close handshake completed by
            // tungstenite itself, on the next read.
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Accepts connections, each on its own green thread. With `limit`, stops
/// after that many and returns once they are done (for the tests).
fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<()> {
    let mut handlers = Vec::new();
    for sock in listener.incoming().take(limit.unwrap_or(usize::MAX)) {
        let sock = sock?;
        handlers.push(weft::spawn(move || {
            if let Err(e) = handle(sock) {
                eprintln!("ws_echo: connection ended: {e}");
            }
        }));
    }
    for h in handlers {
        let _ = h.join();
    }
    Ok(())
}

/// Connects to the server at `addr`, sends each message, collects the
/// echoes and closes the connection cleanly.
fn exchange(addr: SocketAddr, messages: &[String]) -> tungstenite::Result<Vec<String>> {
    let sock = TcpStream::connect(addr)?;
    let (mut ws, response) = handshake(tungstenite::client(format!("ws://{addr}/"), sock))?;
    assert_eq!(response.status(), 101, "switching protocols");
    let mut echoes = Vec::new();
    for m in messages {
        ws.send(Message::Text(m.clone()))?;
        match ws.read()? {
            Message::Text(t) => echoes.push(t),
            other => echoes.push(format!("unexpected: {other:?}")),
        }
    }
    ws.close(None)?;
    // Read until the server's close frame completes the handshake.
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => return Ok(echoes),
            Err(e) => return Err(e),
        }
    }
}

/// Where to listen, or where to connect and what to send.
#[derive(Debug, PartialEq)]
enum Mode {
    Serve(SocketAddr),
    Connect(SocketAddr, Vec<String>),
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Mode, String> {
    let addr = |v: Option<String>, flag: &str| {
        let v = v.ok_or(format!("{flag} needs a value"))?;
        v.parse()
            .map_err(|e| format!("{flag} {v:?}: {e} (expected IP:PORT)"))
    };
    let mut mode = Mode::Serve(SocketAddr::from(([127, 0, 0, 1], 18081)));
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--addr" => mode = Mode::Serve(addr(args.next(), "--addr")?),
            "--connect" => {
                let to = addr(args.next(), "--connect")?;
                return Ok(Mode::Connect(to, args.collect()));
            }
            "-h" | "--help" => {
                return Err(
                    "usage: ws_echo [--addr 127.0.0.1:18081] | ws_echo --connect ADDR WORD..."
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(mode)
}

fn main() {
    let mode = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    let result = Runtime::new().expect("runtime").block_on(|| match mode {
        Mode::Serve(addr) => {
            let listener = TcpListener::bind(addr)?;
            println!("listening on ws://{}", listener.local_addr()?);
            serve(listener, None).map_err(tungstenite::Error::from)
        }
        Mode::Connect(addr, words) => {
            for echo in exchange(addr, &words)? {
                println!("{echo}");
            }
            Ok(())
        }
    });
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("ws_echo: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("ws_echo: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The server on its own OS thread; clients as green threads of another
    //! runtime, several at once.
    use super::*;
    use std::sync::mpsc;
    use std::thread;

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

    #[test]
    fn clients_get_their_messages_back_and_close_cleanly() {
        let (addr, server) = start(3);
        let echoes = Runtime::new()
            .unwrap()
            .block_on(|| {
                let clients: Vec<_> = (0..3)
                    .map(|c| {
                        weft::spawn(move || {
                            let words: Vec<String> = (0..4).map(|i| format!("c{c}m{i}")).collect();
                            let echoes = exchange(addr, &words).unwrap();
                            (words, echoes)
                        })
                    })
                    .collect();
                clients
                    .into_iter()
                    .map(|c| c.join().unwrap())
                    .collect::<Vec<_>>()
            })
            .unwrap();
        for (sent, got) in echoes {
            assert_eq!(sent, got);
        }
        server.join().unwrap(); // every handler saw the close handshake end
    }

    #[test]
    fn a_plain_http_request_is_not_upgraded_and_the_connection_closes() {
        let (addr, server) = start(1);
        let reply = Runtime::new()
            .unwrap()
            .block_on(|| {
                use std::io::{Read, Write};
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut reply = String::new();
                s.read_to_string(&mut reply).unwrap();
                reply
            })
            .unwrap();
        // tungstenite refuses the handshake; the handler ends and the
        // socket closes, so `read_to_string` returned.
        assert!(!reply.contains("101"), "{reply}");
        server.join().unwrap();
    }

    #[test]
    fn flags() {
        let parse = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        let local = SocketAddr::from(([127, 0, 0, 1], 9));
        assert_eq!(
            parse(&["--addr", "127.0.0.1:9"]).unwrap(),
            Mode::Serve(local)
        );
        assert_eq!(
            parse(&["--connect", "127.0.0.1:9", "a", "b"]).unwrap(),
            Mode::Connect(local, vec!["a".into(), "b".into()])
        );
        assert!(parse(&["--connect"]).is_err());
    }
}
