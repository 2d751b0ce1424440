//! # Guide: synchronous libraries on green threads
//!
//! weft's sockets are shaped like std's and park instead of block, so the
//! Rust ecosystem's synchronous libraries fall into two groups: those that
//! take a stream from you run unmodified, and those that open their own
//! sockets or files must be sent to a worker thread.
//!
//! ## Runs unmodified: anything generic over `Read + Write`
//!
//! A library that takes "some `Read`", "some `Write`" or "some
//! `Read + Write`" calls `read` and `write` on whatever it is given. Given a
//! [`net::TcpStream`](crate::net::TcpStream) (or `&TcpStream`, or a
//! [`UnixStream`](crate::net::UnixStream)), each call that would block parks
//! the calling green thread, and the others run meanwhile. Known to work:
//!
//! | library | how it takes the socket | shown in |
//! |---|---|---|
//! | rustls | `StreamOwned::new(conn, stream)` | `examples/tls_echo.rs` |
//! | tungstenite | `tungstenite::accept(stream)`, `tungstenite::client(url, stream)` | `examples/ws_echo.rs` |
//! | httparse | parses the bytes you read | `examples/http_server.rs` |
//! | serde_json | `from_reader`, `Deserializer::from_reader`, `to_writer` | below |
//! | std | `BufReader`, `BufWriter`, `io::copy`, `read_line`, `read_to_end` | everywhere |
//!
//! For instance a JSON-lines service, with serde_json reading requests
//! straight off a green socket:
//!
//! ```
//! use std::io::{self, BufRead, BufReader, Write};
//! use std::net::Shutdown;
//! use serde_json::{json, Value};
//! use weft::net::{TcpListener, TcpStream};
//!
//! weft::Runtime::new()?.block_on(|| -> io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = weft::spawn(move || -> io::Result<()> {
//!         let (conn, _) = listener.accept()?;
//!         // serde_json reads from any `Read`: this one parks.
//!         let requests = serde_json::Deserializer::from_reader(BufReader::new(&conn));
//!         for request in requests.into_iter::<Value>() {
//!             let sum: i64 = request?["add"].as_array().into_iter().flatten()
//!                 .filter_map(Value::as_i64).sum();
//!             serde_json::to_writer(&conn, &json!({ "sum": sum }))?;
//!             (&conn).write_all(b"\n")?;
//!         }
//!         Ok(())
//!     });
//!
//!     let client = TcpStream::connect(addr)?;
//!     let mut replies = BufReader::new(&client);
//!     for numbers in [[1, 2], [40, 2]] {
//!         serde_json::to_writer(&client, &json!({ "add": numbers }))?;
//!         let mut line = String::new();
//!         replies.read_line(&mut line)?;
//!         let reply: Value = serde_json::from_str(&line)?;
//!         assert_eq!(reply["sum"], numbers[0] + numbers[1]);
//!     }
//!     client.shutdown(Shutdown::Write)?;
//!     server.join().expect("the server task ran")
//! })??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Such a library also sees the errors std would give it: a read or write
//! timeout fails with `WouldBlock`, as a std socket's does on Linux, so
//! rustls's and tungstenite's handling of a timed-out socket is unchanged.
//! A library that wants a `std::net::TcpStream` by type can have one back
//! with [`TcpStream::into_std`](crate::net::TcpStream::into_std); one that
//! hands you a std socket it made is adopted with
//! [`TcpStream::from_std`](crate::net::TcpStream::from_std).
//!
//! ## Through `spawn_blocking`: libraries that do their own I/O
//!
//! A library that opens its own sockets or files uses std's, which block
//! the OS thread, and with it every green thread. Blocking HTTP clients
//! (ureq, reqwest's `blocking`), database drivers (postgres, mysql),
//! `std::fs`, and name resolution all belong here. Call them whole through
//! [`spawn_blocking`](crate::spawn_blocking): the call runs on a worker
//! thread while the calling green thread parks, and the loop goes on.
//!
//! ```
//! use std::io::{self, BufRead, BufReader, Read, Write};
//! use std::time::Duration;
//! use weft::net::TcpListener;
//!
//! /// Stands in for a blocking client library such as ureq: it makes its
//! /// own std socket and waits on it.
//! fn blocking_fetch(addr: std::net::SocketAddr) -> io::Result<String> {
//!     let mut s = std::net::TcpStream::connect(addr)?;
//!     s.write_all(b"hello?\n")?;
//!     let mut answer = String::new();
//!     s.read_to_string(&mut answer)?;
//!     Ok(answer)
//! }
//!
//! weft::Runtime::new()?.block_on(|| -> io::Result<()> {
//!     // A green server on this same loop: it can only answer if the
//!     // blocking call below does not hold the loop's thread.
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     weft::spawn(move || -> io::Result<()> {
//!         let (conn, _) = listener.accept()?;
//!         let mut line = String::new();
//!         BufReader::new(&conn).read_line(&mut line)?;
//!         (&conn).write_all(format!("you said {line}").as_bytes())
//!     });
//!     let ticker = weft::spawn(|| {
//!         weft::sleep(Duration::from_millis(5));
//!         "the loop kept running"
//!     });
//!
//!     let answer = weft::spawn_blocking(move || blocking_fetch(addr)).expect("no panic")?;
//!     assert_eq!(answer, "you said hello?\n");
//!     let config = weft::spawn_blocking(|| {
//!         std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
//!     })
//!     .expect("no panic")?;
//!     assert!(config.contains("[package]"));
//!     assert_eq!(ticker.join().unwrap(), "the loop kept running");
//!     Ok(())
//! })??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Called inline instead, `blocking_fetch` would wait forever: the server
//! that should answer it is a green thread of the loop it blocks.
//!
//! ## Borrowing into the runtime
//!
//! [`Runtime::block_on`](crate::Runtime::block_on)'s closure may borrow
//! from the caller, so state set up by synchronous code (a TLS config, a
//! connection pool, a parsed command line) goes in by reference and results
//! come out the same way. Tasks it spawns own what they use (`'static`).
//!
//! ```
//! let names = vec!["ada".to_string(), "grace".to_string()];
//! let mut seen = 0;
//! let rt = weft::Runtime::new()?;
//! let longest = rt.block_on(|| {
//!     seen = names.len();
//!     names.iter().max_by_key(|n| n.len()).unwrap()
//! })?;
//! assert_eq!((longest.as_str(), seen), ("grace", 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
