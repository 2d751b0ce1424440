//! Opens `N` connections to an echo server, checks each one echoes, and then
//! holds them all idle: `benches/scale.sh` measures the server's memory per
//! idle connection with it, and what happens at the kernel's map limit.
//!
//! ```text
//! cargo run --release --example idle_clients -- --addr 127.0.0.1:16000 --connections 10000 [--hold-secs 60]
//! ```
//!
//! Each connection is probed as soon as it opens (16 bytes sent must come
//! back within 5 s) before the next one is opened, so the client never
//! outruns a server's accept backlog. Once all are open, every connection
//! that echoed is probed again (stopping at the first timeout, so a hung
//! server costs one timeout, not one per connection): a server that hit a
//! limit part way shows whether it still serves the connections it already
//! had. Then it prints
//!
//! ```text
//! RESULT opened=.. connect_failed=.. echoed=.. echo_failed=.. still_echoing=..
//! ```
//!
//! and `holding`, and keeps the connections open for `--hold-secs`
//! (default: until killed). Raise `ulimit -n` first; each connection takes a
//! descriptor here and one in the server.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What to do.
#[derive(Clone, Copy, Debug)]
struct Plan {
    addr: SocketAddr,
    connections: usize,
    hold: Duration,
}

/// What happened.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    opened: usize,
    connect_failed: usize,
    echoed: usize,
    echo_failed: usize,
    still_echoing: usize,
}

fn main() {
    let plan = parse(std::env::args().skip(1)).unwrap_or_else(|e| {
        eprintln!("idle_clients: {e}\nusage: idle_clients [--addr IP:PORT] [--connections N] [--hold-secs S]");
        std::process::exit(2)
    });
    let (outcome, streams) = open_and_probe(plan);
    println!("{}", result_line(&outcome));
    println!("holding");
    std::thread::sleep(plan.hold);
    drop(streams);
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Plan, String> {
    let mut plan = Plan {
        addr: "127.0.0.1:16000"
            .parse()
            .expect("the default address parses"),
        connections: 10_000,
        hold: Duration::MAX,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} {value}: expected a whole number"))
        };
        match flag.as_str() {
            "--addr" => {
                plan.addr = value
                    .parse()
                    .map_err(|e| format!("--addr {value}: not an IP:PORT address ({e})"))?
            }
            "--connections" => plan.connections = number()? as usize,
            "--hold-secs" => plan.hold = Duration::from_secs(number()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(plan)
}

fn result_line(o: &Outcome) -> String {
    format!(
        "RESULT opened={} connect_failed={} echoed={} echo_failed={} still_echoing={}",
        o.opened, o.connect_failed, o.echoed, o.echo_failed, o.still_echoing
    )
}

/// Opens the connections one by one, probing each (stopping at the first
/// failure to connect), then probes again every one that echoed.
fn open_and_probe(plan: Plan) -> (Outcome, Vec<TcpStream>) {
    let mut outcome = Outcome::default();
    let mut streams = Vec::with_capacity(plan.connections);
    let mut echoing = Vec::with_capacity(plan.connections);
    for i in 0..plan.connections {
        let mut s = match TcpStream::connect_timeout(&plan.addr, Duration::from_secs(5)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("idle_clients: connection {} failed: {e}", i + 1);
                outcome.connect_failed = plan.connections - i;
                break;
            }
        };
        match probe(&mut s) {
            Ok(()) => {
                outcome.echoed += 1;
                echoing.push(streams.len());
            }
            Err(e) => {
                if outcome.echo_failed == 0 {
                    eprintln!("idle_clients: connection {} did not echo: {e}", i + 1);
                }
                outcome.echo_failed += 1;
            }
        }
        streams.push(s);
        if (i + 1) % 5000 == 0 {
            eprintln!("idle_clients: {} connections open", i + 1);
        }
    }
    outcome.opened = streams.len();
    for i in echoing {
        match probe(&mut streams[i]) {
            Ok(()) => outcome.still_echoing += 1,
            // A server that stopped answering would make every probe wait
            // out its timeout: one is enough to know.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                eprintln!(
                    "idle_clients: a connection that echoed before timed out; not probing the rest"
                );
                break;
            }
            Err(_) => {}
        }
    }
    (outcome, streams)
}

fn probe(s: &mut TcpStream) -> io::Result<()> {
    const PROBE: &[u8; 16] = b"are you there? \n";
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(PROBE)?;
    let mut back = [0u8; 16];
    s.read_exact(&mut back)?;
    if &back == PROBE {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidData, "wrong echo"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Echoes on the first `serve` connections it accepts and closes the rest.
    fn picky_server(serve: usize, total: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut echoers = Vec::new();
            for i in 0..total {
                let (mut s, _) = listener.accept().unwrap();
                if i < serve {
                    echoers.push(std::thread::spawn(move || {
                        let mut r = s.try_clone().unwrap();
                        let _ = io::copy(&mut r, &mut s);
                    }));
                }
            }
            for e in echoers {
                e.join().unwrap();
            }
        });
        (addr, server)
    }

    #[test]
    fn runs() {
        let (addr, server) = picky_server(3, 5);
        let plan = Plan {
            addr,
            connections: 5,
            hold: Duration::ZERO,
        };
        let (outcome, streams) = open_and_probe(plan);
        assert_eq!(
            result_line(&outcome),
            "RESULT opened=5 connect_failed=0 echoed=3 echo_failed=2 still_echoing=3"
        );
        drop(streams);
        server.join().unwrap();
    }
}
