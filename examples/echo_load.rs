//! A load generator for any raw echo server: C connections, each with one
//! S-byte message in flight, for D seconds; every echoed byte is checked.
//!
//! ```text
//! cargo run --release --example echo_server -- --proto raw &
//! cargo run --release --example echo_load -- --addr 127.0.0.1:16000 --connections 100 --size 64 --duration 5 [--threads 1]
//! ```
//!
//! It drives the connections with plain mio loops on `--threads` OS threads
//! (not with weft), so it measures any server the same way. It prints a
//! summary and then one machine-readable line:
//!
//! ```text
//! RESULT conns=100 size=64 secs=5.00 rtt_per_s=123456 mb_per_s=7.90 p50_us=40 p99_us=120 max_us=900 errors=0
//! ```
//!
//! `mb_per_s` counts echoed payload one way, in 10^6 bytes. `errors` counts
//! connections that failed: reset, closed early, or an echoed byte that
//! differs from what was sent. Round trips still in flight when the time is
//! up are not counted.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// The run's settings, from the command line.
#[derive(Clone, Debug, PartialEq)]
struct Config {
    addr: SocketAddr,
    connections: usize,
    size: usize,
    duration: Duration,
    threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 16000)),
            connections: 100,
            size: 64,
            duration: Duration::from_secs(5),
            threads: 1,
        }
    }
}

const USAGE: &str = "usage: echo_load [--addr 127.0.0.1:16000] [--connections 100] [--size 64] \
                     [--duration 5] [--threads 1]   (duration in seconds, e.g. 5, 0.5, 500ms)";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut c = Config::default();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let count = |v: &str| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag} {v:?}: expected a whole number above 0")),
        };
        match flag.as_str() {
            "--addr" => {
                c.addr = value
                    .parse()
                    .map_err(|e| format!("--addr {value:?}: {e} (expected IP:PORT)"))?
            }
            "--connections" => c.connections = count(&value)?,
            "--size" => c.size = count(&value)?,
            "--threads" => c.threads = count(&value)?,
            "--duration" => c.duration = parse_duration(&value)?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    c.threads = c.threads.min(c.connections);
    Ok(c)
}

fn parse_duration(v: &str) -> Result<Duration, String> {
    let (num, scale) = match v.strip_suffix("ms") {
        Some(ms) => (ms, 1e-3),
        None => (v.strip_suffix('s').unwrap_or(v), 1.0),
    };
    match num.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(Duration::from_secs_f64(x * scale)),
        _ => Err(format!(
            "--duration {v:?}: expected seconds above 0, e.g. 5, 0.5 or 500ms"
        )),
    }
}

/// Round-trip latencies in microseconds: exact below 1024 µs, then 512
/// buckets per power of two (within 0.2%), in fixed memory however long the run.
#[derive(Clone, Debug)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: vec![0; 1024 + 55 * 512],
            total: 0,
            max: 0,
        }
    }

    fn bucket(us: u64) -> usize {
        if us < 1024 {
            return us as usize;
        }
        let shift = 63 - us.leading_zeros() - 9;
        1024 + (shift as usize - 1) * 512 + ((us >> shift) as usize - 512)
    }

    /// The smallest value that falls in bucket `b`.
    fn value(b: usize) -> u64 {
        if b < 1024 {
            return b as u64;
        }
        let shift = (b - 1024) / 512 + 1;
        (((b - 1024) % 512 + 512) as u64) << shift
    }

    fn record(&mut self, us: u64) {
        self.counts[Self::bucket(us)] += 1;
        self.total += 1;
        self.max = self.max.max(us);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1); 0 when empty.
    fn quantile(&self, q: f64) -> u64 {
        let rank = ((self.total as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::value(b).min(self.max);
            }
        }
        0
    }
}

/// What one load thread measured.
#[derive(Debug)]
struct Tally {
    round_trips: u64,
    errors: u64,
    /// The first connection error, shown in the summary.
    first_error: Option<String>,
    latency: Histogram,
}

impl Tally {
    fn new() -> Self {
        Tally {
            round_trips: 0,
            errors: 0,
            first_error: None,
            latency: Histogram::new(),
        }
    }

    fn error(&mut self, e: io::Error) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| e.to_string());
    }
}

/// One client connection's round trip in progress.
struct Conn {
    stream: TcpStream,
    /// The message in flight; refilled with a new pattern every round.
    message: Vec<u8>,
    /// Bytes of `message` written so far.
    written: usize,
    /// Bytes of the echo received (and checked) so far.
    received: usize,
    /// When the message in flight was first written.
    sent_at: Instant,
    round: u64,
    id: u64,
    done: bool,
}

impl Conn {
    fn start_round(&mut self) {
        let seed = self.id.wrapping_mul(7919).wrapping_add(self.round);
        for (i, b) in self.message.iter_mut().enumerate() {
            *b = (seed.wrapping_add(i as u64 * 31) % 251) as u8;
        }
        self.round += 1;
        self.written = 0;
        self.received = 0;
        self.sent_at = Instant::now();
    }

    /// Writes and reads until `WouldBlock`, recording each completed round
    /// trip; starts new rounds until `deadline`.
    fn drive(&mut self, buf: &mut [u8], deadline: Instant, tally: &mut Tally) -> io::Result<()> {
        loop {
            while self.written < self.message.len() {
                match self.stream.write(&self.message[self.written..]) {
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            let want = (self.written - self.received).min(buf.len());
            if want == 0 {
                return Ok(()); // wait for writability
            }
            let n = match self.stream.read(&mut buf[..want]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            };
            if buf[..n] != self.message[self.received..self.received + n] {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "echo differs"));
            }
            self.received += n;
            if self.received == self.message.len() {
                let now = Instant::now();
                tally.round_trips += 1;
                tally
                    .latency
                    .record(now.duration_since(self.sent_at).as_micros() as u64);
                if now >= deadline {
                    self.done = true;
                    return Ok(());
                }
                self.start_round();
            }
        }
    }
}

/// Opens `count` connections (ids from `first_id`).
fn connect_all(c: &Config, first_id: u64, count: usize) -> io::Result<Vec<Conn>> {
    (0..count as u64)
        .map(|i| {
            let s = std::net::TcpStream::connect(c.addr).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot connect to {}: {e}", c.addr))
            })?;
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
            Ok(Conn {
                stream: TcpStream::from_std(s),
                message: vec![0; c.size],
                written: 0,
                received: 0,
                sent_at: Instant::now(),
                round: 0,
                id: first_id + i,
                done: false,
            })
        })
        .collect()
}

/// Runs `conns` until `deadline` on this thread.
fn run_thread(mut conns: Vec<Conn>, start: Instant, deadline: Instant) -> io::Result<Tally> {
    let mut poll = Poll::new()?;
    for (i, c) in conns.iter_mut().enumerate() {
        poll.registry().register(
            &mut c.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
    }
    let mut tally = Tally::new();
    let mut buf = vec![0; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let mut live = conns.len();
    for c in conns.iter_mut() {
        c.start_round();
        if let Err(e) = c.drive(&mut buf, deadline, &mut tally) {
            c.done = true;
            tally.error(e);
            live -= 1;
        }
    }
    while live > 0 {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        poll.poll(&mut events, Some(deadline - now))?;
        for event in events.iter() {
            let c = &mut conns[event.token().0];
            if c.done {
                continue;
            }
            if let Err(e) = c.drive(&mut buf, deadline, &mut tally) {
                tally.error(e);
                c.done = true;
            }
            if c.done {
                live -= 1;
            }
        }
    }
    Ok(tally)
}

/// Runs the load described by `c` and returns the merged tally and the
/// measured duration.
fn run(c: &Config) -> io::Result<(Tally, Duration)> {
    let mut shares = Vec::new();
    let mut next = 0;
    for t in 0..c.threads {
        let count = c.connections / c.threads + usize::from(t < c.connections % c.threads);
        shares.push(connect_all(c, next as u64, count)?);
        next += count;
    }
    let start = Instant::now() + Duration::from_millis(20);
    let deadline = start + c.duration;
    let threads: Vec<_> = shares
        .into_iter()
        .map(|conns| std::thread::spawn(move || run_thread(conns, start, deadline)))
        .collect();
    let mut total = Tally::new();
    for t in threads {
        let tally = t.join().expect("load thread panicked")?;
        total.round_trips += tally.round_trips;
        total.errors += tally.errors;
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
        total.latency.merge(&tally.latency);
    }
    Ok((total, start.elapsed().min(c.duration)))
}

/// The summary, ending with the `RESULT` line.
fn report(c: &Config, t: &Tally, elapsed: Duration) -> Vec<String> {
    let secs = elapsed.as_secs_f64();
    let rtt_per_s = t.round_trips as f64 / secs;
    let mb_per_s = rtt_per_s * c.size as f64 / 1e6;
    let (p50, p99, max) = (
        t.latency.quantile(0.50),
        t.latency.quantile(0.99),
        t.latency.max,
    );
    vec![
        format!(
            "echo_load: {} connections x {} B to {} for {secs:.2} s on {} thread(s)",
            c.connections, c.size, c.addr, c.threads
        ),
        format!(
            "  round trips: {} ({rtt_per_s:.0}/s), {mb_per_s:.2} MB/s echoed",
            t.round_trips
        ),
        format!("  latency: p50 {p50} us, p99 {p99} us, max {max} us"),
        match &t.first_error {
            Some(e) => format!("  errors: {} (first: {e})", t.errors),
            None => format!("  errors: {}", t.errors),
        },
        format!(
            "RESULT conns={} size={} secs={secs:.2} rtt_per_s={rtt_per_s:.0} mb_per_s={mb_per_s:.2} \
             p50_us={p50} p99_us={p99} max_us={max} errors={}",
            c.connections, c.size, t.errors
        ),
    ]
}

fn main() {
    let config = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    match run(&config) {
        Ok((tally, elapsed)) => {
            for line in report(&config, &tally, elapsed) {
                println!("{line}");
            }
        }
        Err(e) => {
            eprintln!("echo_load: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A thread-per-connection echo server on 127.0.0.1:0 that flips the
    /// first byte of every 10th chunk when `corrupt` is set.
    fn echo_server(corrupt: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0; 4096];
                    let mut chunks = 0u64;
                    loop {
                        let n = match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        chunks += 1;
                        if corrupt && chunks % 10 == 0 {
                            buf[0] ^= 0xff;
                        }
                        if conn.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn config(addr: SocketAddr) -> Config {
        Config {
            addr,
            connections: 8,
            size: 1000,
            duration: Duration::from_millis(300),
            threads: 2,
        }
    }

    #[test]
    fn counts_verified_round_trips_and_prints_the_result_line() {
        let c = config(echo_server(false));
        let (tally, elapsed) = run(&c).unwrap();
        assert_eq!(tally.errors, 0, "{:?}", tally.first_error);
        assert!(tally.round_trips > 0);
        assert_eq!(tally.latency.total, tally.round_trips);
        let lines = report(&c, &tally, elapsed);
        let result = lines.last().unwrap();
        let fields: Vec<&str> = result
            .split(' ')
            .map(|f| f.split('=').next().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "RESULT",
                "conns",
                "size",
                "secs",
                "rtt_per_s",
                "mb_per_s",
                "p50_us",
                "p99_us",
                "max_us",
                "errors"
            ]
        );
        assert!(
            result.starts_with("RESULT conns=8 size=1000 secs=0.30 "),
            "{result}"
        );
        assert!(result.ends_with(" errors=0"), "{result}");
    }

    #[test]
    fn a_corrupted_echo_is_an_error() {
        let c = config(echo_server(true));
        let (tally, _) = run(&c).unwrap();
        assert!(tally.errors > 0);
        assert_eq!(tally.first_error.as_deref(), Some("echo differs"));
    }

    #[test]
    fn nothing_listening_is_a_clear_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = run(&config(port)).map(|_| ()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot connect to {port}")),
            "{err}"
        );
    }

    #[test]
    fn histogram_quantiles_are_exact_small_and_close_large() {
        let mut h = Histogram::new();
        for us in 1..=100 {
            h.record(us);
        }
        assert_eq!((h.quantile(0.5), h.quantile(0.99), h.max), (50, 99, 100));
        let mut big = Histogram::new();
        big.record(1_234_567);
        let q = big.quantile(0.5);
        assert!(q <= 1_234_567 && q * 1000 >= 1_234_567 * 998, "{q}");
        for b in [0, 1023, 1024, 2000, 20_000] {
            assert_eq!(Histogram::bucket(Histogram::value(b)), b);
        }
    }

    #[test]
    fn flags_parse_with_defaults_and_clear_errors() {
        let parse = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
        assert_eq!(parse(&[]).unwrap(), Config::default());
        let c = parse(&[
            "--connections",
            "10",
            "--size",
            "4096",
            "--duration",
            "500ms",
            "--threads",
            "20",
        ])
        .unwrap();
        assert_eq!(
            (c.connections, c.size, c.duration, c.threads),
            (10, 4096, Duration::from_millis(500), 10)
        );
        assert!(parse(&["--size", "0"]).unwrap_err().contains("above 0"));
        assert!(parse(&["--duration", "soon"])
            .unwrap_err()
            .contains("seconds"));
        assert!(parse(&["--bogus", "1"])
            .unwrap_err()
            .contains("unknown argument"));
    }
}
