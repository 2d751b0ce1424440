//! A fixed-count echo client: `C` connections each make `R` round trips of
//! `S` bytes, then it prints one `RESULT` line. `benches/compare.sh` uses it
//! to count a server's instructions per round trip under callgrind, where a
//! timed load would measure the simulator instead of the server.
//!
//! ```text
//! cargo run --release --example echo_rounds -- --addr 127.0.0.1:16000 --connections 100 --size 64 --rounds 50
//! ```
//!
//! Plain blocking std sockets on one thread. Each round writes one message on
//! every connection first, then reads every echo back, so the server sees
//! up to `C` ready connections at once, as under `echo_load`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What to do.
#[derive(Clone, Copy, Debug)]
struct Plan {
    addr: SocketAddr,
    connections: usize,
    size: usize,
    rounds: usize,
}

fn main() {
    let plan = parse(std::env::args().skip(1)).unwrap_or_else(|e| {
        eprintln!("echo_rounds: {e}\nusage: echo_rounds [--addr IP:PORT] [--connections C] [--size S] [--rounds R]");
        std::process::exit(2)
    });
    match run(plan) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("echo_rounds: {e}");
            std::process::exit(1);
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Plan, String> {
    let mut plan = Plan {
        addr: "127.0.0.1:16000"
            .parse()
            .expect("the default address parses"),
        connections: 100,
        size: 64,
        rounds: 50,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag} {value}: expected a positive whole number"))
        };
        match flag.as_str() {
            "--addr" => {
                plan.addr = value
                    .parse()
                    .map_err(|e| format!("--addr {value}: not an IP:PORT address ({e})"))?
            }
            "--connections" => plan.connections = number()?,
            "--size" => plan.size = number()?,
            "--rounds" => plan.rounds = number()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(plan)
}

/// Runs the plan; returns the `RESULT` line.
fn run(plan: Plan) -> io::Result<String> {
    let mut streams = (0..plan.connections)
        .map(|_| {
            let s = TcpStream::connect(plan.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            Ok(s)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let message: Vec<u8> = (0..plan.size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut echoed = vec![0u8; plan.size];
    let start = Instant::now();
    for _ in 0..plan.rounds {
        for s in &mut streams {
            s.write_all(&message)?;
        }
        for s in &mut streams {
            s.read_exact(&mut echoed)?;
            if echoed != message {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server echoed different bytes",
                ));
            }
        }
    }
    let elapsed = start.elapsed();
    eprintln!(
        "{} round trips in {:.3} s",
        plan.connections * plan.rounds,
        elapsed.as_secs_f64()
    );
    Ok(format!(
        "RESULT conns={} size={} rounds={} round_trips={}",
        plan.connections,
        plan.size,
        plan.rounds,
        plan.connections * plan.rounds
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn runs() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut echoers = Vec::new();
            for _ in 0..3 {
                let (mut s, _) = listener.accept().unwrap();
                echoers.push(std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    io::copy(&mut r, &mut s)
                }));
            }
            for e in echoers {
                e.join().unwrap().unwrap();
            }
        });
        let plan = Plan {
            addr,
            connections: 3,
            size: 100,
            rounds: 4,
        };
        assert_eq!(
            run(plan).unwrap(),
            "RESULT conns=3 size=100 rounds=4 round_trips=12"
        );
        server.join().unwrap();
    }

    #[test]
    fn rejects_bad_flags() {
        let args = |a: &[&str]| parse(a.iter().map(|s| s.to_string()));
        assert!(args(&["--rounds", "0"]).unwrap_err().contains("positive"));
        assert!(args(&["--addr", "nowhere"])
            .unwrap_err()
            .contains("--addr nowhere"));
        assert!(args(&["--size"]).unwrap_err().contains("needs a value"));
    }
}
