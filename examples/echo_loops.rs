//! A raw echo server on N loops (one runtime per core, `weft::Loops`), each
//! loop with its own `SO_REUSEPORT` listener on the same address, so the
//! kernel splits the connections between them. The 1-loop vs 2-loop
//! figures in BENCHMARKS.md come from it.
//!
//! ```text
//! cargo run --release --example echo_loops -- --loops 2 --pin          # 127.0.0.1:16000
//! cargo run --release --example echo_loops -- --loops 1 --addr 127.0.0.1:0
//! cargo run --release --example echo_load -- --addr 127.0.0.1:16000 --connections 100 --threads 2
//! ```
//!
//! It prints `listening on ADDR (raw protocol, N loops)` once every loop
//! has bound; with port 0, loop 0 picks the port and the others bind it.
//! Each loop then prints `loop I: N connections` each second its count of
//! accepted connections has changed, which shows the kernel's split. It
//! runs until killed.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{mpsc, Condvar, Mutex};

use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::{task, Loop, Loops};

/// Command-line settings.
#[derive(Clone, Copy, Debug)]
struct Args {
    addr: SocketAddr,
    loops: usize,
    pin: bool,
}

const USAGE: &str =
    "usage: echo_loops [--addr 127.0.0.1:16000] [--loops 2] [--pin] (raw protocol only)";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 16000)),
        loops: 2,
        pin: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                parsed.addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?}: {e} (expected IP:PORT)"))?;
            }
            "--loops" => {
                let v = value()?;
                parsed.loops = v
                    .parse()
                    .map_err(|e| format!("--loops {v:?}: {e} (expected a count)"))?;
            }
            "--pin" => parsed.pin = true,
            // The other echo servers' flag; raw is all this one speaks.
            "--proto" => match value()?.as_str() {
                "raw" => {}
                other => return Err(format!("--proto {other}: echo_loops speaks raw only")),
            },
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// The address every loop binds: loop 0's, once it has bound (so port 0
/// means one port picked by the kernel, shared by all), or loop 0's error.
#[derive(Default)]
struct SharedAddr {
    addr: Mutex<Option<Result<SocketAddr, String>>>,
    bound: Condvar,
}

impl SharedAddr {
    /// Binds this loop's listener. Loops after the first wait (blocking
    /// their own OS thread, before they serve anything) for loop 0's address.
    fn bind(&self, lp: &Loop, wanted: SocketAddr) -> io::Result<TcpListener> {
        let options = ListenOptions::new().reuse_port(true);
        if lp.index() == 0 {
            let listener = options.bind(wanted).and_then(|l| Ok((l.local_addr()?, l)));
            let shown = listener
                .as_ref()
                .map(|(a, _)| *a)
                .map_err(|e| e.to_string());
            *self.addr.lock().unwrap() = Some(shown);
            self.bound.notify_all();
            return listener.map(|(_, l)| l);
        }
        let mut addr = self.addr.lock().unwrap();
        while addr.is_none() {
            addr = self.bound.wait(addr).unwrap();
        }
        let at = addr.clone().expect("set by loop 0");
        drop(addr);
        options.bind(at.map_err(|e| io::Error::other(format!("loop 0 could not bind: {e}")))?)
    }
}

/// Starts the loops; returns them and the address they all listen on.
/// Each loop's value is the number of connections it accepted.
fn start(args: Args) -> io::Result<(Loops<io::Result<usize>>, SocketAddr)> {
    let shared = SharedAddr::default();
    let (bound_tx, bound) = mpsc::channel();
    let loops = Loops::builder(args.loops)
        .pin_to_cores(args.pin)
        .thread_name("echo-loop")
        .spawn(move |lp: Loop| {
            let listener = shared.bind(&lp, args.addr);
            let at = listener.as_ref().map_err(|e| e.to_string());
            let _ = bound_tx.send(at.and_then(|l| l.local_addr().map_err(|e| e.to_string())));
            serve(&lp, listener?)
        })?;
    let mut addr = None;
    for _ in 0..args.loops {
        let at = bound
            .recv()
            .map_err(|_| io::Error::other("a loop ended before it bound"))?
            .map_err(io::Error::other)?;
        addr.get_or_insert(at);
    }
    Ok((loops, addr.expect("at least one loop")))
}

/// Accepts until the set is stopped, echoing each connection in its own
/// green thread; returns how many it accepted.
fn serve(lp: &Loop, listener: TcpListener) -> io::Result<usize> {
    let accepted = Rc::new(std::cell::Cell::new(0));
    let count = accepted.clone();
    // One read buffer per loop, shared by its connections (see echo_raw).
    let scratch = Rc::new(RefCell::new(vec![0; 64 * 1024]));
    let stopper = lp.clone();
    let acceptor = weft::spawn(move || -> io::Result<()> {
        let e = loop {
            let (conn, _) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => break e,
            };
            count.set(count.get() + 1);
            let _ = conn.set_nodelay(true);
            let scratch = scratch.clone();
            // No stack (the kernel's map limit): drop this connection only.
            let _ = task::Builder::new().spawn(move || echo_raw(&conn, &scratch));
        };
        // The listener failed: a server that cannot accept stops, all loops.
        stopper.stop();
        Err(e)
    });
    let (index, counted) = (lp.index(), accepted.clone());
    let reporter = task::Builder::new().daemon(true).spawn(move || {
        let mut shown = 0;
        loop {
            weft::sleep(std::time::Duration::from_secs(1));
            if counted.get() != shown {
                shown = counted.get();
                println!("loop {index}: {shown} connections");
            }
        }
    });
    drop(reporter);
    lp.wait_stop();
    if acceptor.is_finished() {
        if let Ok(Err(e)) = acceptor.join() {
            return Err(e);
        }
    } else {
        acceptor.cancel();
    }
    Ok(accepted.get())
}

/// Errors of `accept` that concern one incoming connection, not the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::PermissionDenied
    )
}

/// Echoes bytes as they arrive, until end of file. The read and the write
/// that follows happen between two suspension points (`try_read` and
/// `try_write` never park), so the loop's one `scratch` buffer is never
/// seen borrowed by another green thread; only bytes the peer does not
/// take at once are copied out before `write_all` parks.
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
            drop(buf);
            (&*conn).write_all(&rest)?;
        }
    }
}

fn main() {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    let (loops, addr) = start(args).unwrap_or_else(|e| {
        eprintln!("echo_loops: {e}");
        std::process::exit(1);
    });
    println!(
        "listening on {addr} (raw protocol, {} loops{})",
        args.loops,
        if args.pin { ", pinned" } else { "" }
    );
    match loops.join() {
        Ok(counts) => {
            for (i, c) in counts.into_iter().enumerate() {
                match c {
                    Ok(n) => println!("loop {i}: {n} connections"),
                    Err(e) => eprintln!("echo_loops: loop {i}: {e}"),
                }
            }
        }
        Err(e) => {
            eprintln!("echo_loops: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpStream as StdStream;
    use std::time::Duration;

    #[test]
    fn two_loops_on_one_port_echo_every_connection_and_share_them() {
        let args = Args {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            loops: 2,
            pin: false,
        };
        let (loops, addr) = start(args).unwrap();
        assert_ne!(addr.port(), 0);
        for i in 0..200_u32 {
            let mut s = StdStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let msg = format!("hello {i}");
            s.write_all(msg.as_bytes()).unwrap();
            let mut back = vec![0; msg.len()];
            s.read_exact(&mut back).unwrap();
            assert_eq!(back, msg.as_bytes());
        }
        loops.stop();
        let counts: Vec<usize> = loops
            .join()
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(counts.iter().sum::<usize>(), 200);
        assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
    }

    #[test]
    fn flags_parse_and_bad_ones_are_named() {
        let parse = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        let a = parse(&["--loops", "4", "--pin", "--addr", "127.0.0.1:9"]).unwrap();
        assert_eq!((a.loops, a.pin, a.addr.port()), (4, true, 9));
        assert!(parse(&["--loops", "x"]).unwrap_err().contains("--loops"));
        assert!(parse(&["--proto", "line"])
            .unwrap_err()
            .contains("raw only"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
    }

    #[test]
    fn an_address_that_cannot_be_bound_fails_every_loop_and_start_returns() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let args = Args {
            addr: taken.local_addr().unwrap(), // bound without SO_REUSEPORT
            loops: 2,
            pin: false,
        };
        let err = start(args).expect_err("the port is taken");
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert!(err.to_string().contains("cannot bind"), "{err}");
    }

    #[test]
    fn zero_loops_is_refused() {
        let args = Args {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            loops: 0,
            pin: false,
        };
        let err = start(args).expect_err("0 loops must fail");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
