//! A soak and stress client for `echo_server` (either protocol): mixed
//! well-behaved and rude clients, a bulk stream, or a burst of connects,
//! with every echoed byte checked. Driven by `benches/soak.sh`.
//!
//! ```text
//! cargo run --release --example echo_server -- --proto line &
//! cargo run --release --example soak_client -- --proto line --mode soak --connections 400
//! cargo run --release --example soak_client -- --proto line --mode bulk --bytes 67108864 --line 100
//! cargo run --release --example soak_client -- --mode burst --connections 2000
//! cargo run --release --example soak_client -- --mode endless --bytes 536870912
//! ```
//!
//! `soak` runs `--connections` clients, `--concurrency` at a time, in four
//! kinds taking turns: *clean* (chunks out, each echo read back, then a
//! half-close and end of file), *half-close* (everything out, half-close,
//! then the whole echo), *reset* (half a line out, then an RST) and *slow
//! reader* (1 MiB out while reading 4 KiB a millisecond). The expected
//! echo is computed locally (`GOT:` before every line start in line mode).
//! It ends with one line:
//!
//! ```text
//! RESULT mode=soak proto=line conns=400 lost=0 corrupt_bytes=0 resets=100 secs=1.23
//! ```
//!
//! `bulk` streams `--bytes` of `--line`-byte lines on one connection and
//! checks the echo; `burst` connects `--connections` clients at once and
//! times until each has an answer; `endless` sends one line of `--bytes`
//! without a newline and checks that all of it comes back.
//!
//! `lost` counts connections, other than the deliberate resets, that
//! failed (refused, reset, closed early, timed out); `corrupt_bytes` counts
//! echoed bytes that differ from or are missing against the expected echo.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// The run's settings, from the command line.
#[derive(Clone, Debug)]
struct Config {
    addr: SocketAddr,
    line: bool,
    mode: String,
    connections: usize,
    concurrency: usize,
    bytes: usize,
    line_len: usize,
    seed: u64,
}

const USAGE: &str = "usage: soak_client [--addr 127.0.0.1:16000] [--proto line|raw] [--mode soak|bulk|burst|endless] \
                     [--connections 400] [--concurrency 50] [--bytes 67108864] [--line 100] [--seed 1]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut c = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 16000)),
        line: true,
        mode: "soak".into(),
        connections: 400,
        concurrency: 50,
        bytes: 64 << 20,
        line_len: 100,
        seed: 1,
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let v = args.next().ok_or(format!("{flag} needs a value"))?;
        let count = |v: &str| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag} {v:?}: expected a whole number above 0")),
        };
        match flag.as_str() {
            "--addr" => c.addr = v.parse().map_err(|e| format!("--addr {v:?}: {e}"))?,
            "--proto" => {
                c.line = match v.as_str() {
                    "line" => true,
                    "raw" => false,
                    _ => return Err(format!("--proto {v:?}: use line or raw")),
                }
            }
            "--mode" if ["soak", "bulk", "burst", "endless"].contains(&v.as_str()) => c.mode = v,
            "--mode" => return Err(format!("--mode {v:?}: use soak, bulk, burst or endless")),
            "--connections" => c.connections = count(&v)?,
            "--concurrency" => c.concurrency = count(&v)?,
            "--bytes" => c.bytes = count(&v)?,
            "--line" => c.line_len = count(&v)?.max(2),
            "--seed" => c.seed = count(&v)? as u64,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(c)
}

/// Reproducible bytes: xorshift, with about one `\n` in 50.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Between 1 and `max` bytes.
    fn fill_upto(&mut self, max: u64) -> Vec<u8> {
        let len = 1 + (self.next() % max) as usize;
        self.fill(len)
    }

    fn fill(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match (self.next() % 256) as u8 {
                0..=4 => b'\n',
                b => b,
            })
            .collect()
    }
}

/// What the server sends back for `chunk`, carrying the line state.
fn expected(line: bool, chunk: &[u8], at_line_start: &mut bool) -> Vec<u8> {
    if !line {
        return chunk.to_vec();
    }
    let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 16);
    for &b in chunk {
        if *at_line_start {
            out.extend_from_slice(b"GOT:");
        }
        out.push(b);
        *at_line_start = b == b'\n';
    }
    out
}

/// Bytes of `got` that differ from or are missing against `want`.
fn corrupt(want: &[u8], got: &[u8]) -> u64 {
    let differ = want.iter().zip(got).filter(|(a, b)| a != b).count();
    (differ + want.len().abs_diff(got.len())) as u64
}

/// How one client ended.
#[derive(Default)]
struct Outcome {
    lost: bool,
    corrupt: u64,
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(s)
}

/// Chunks out one by one, each echo read back; then half-close and EOF.
fn clean(c: &Config, rng: &mut Bytes) -> io::Result<u64> {
    let mut s = connect(c.addr)?;
    let mut start = true;
    let mut bad = 0;
    for _ in 0..1 + rng.next() % 8 {
        let chunk = rng.fill_upto(16384);
        let want = expected(c.line, &chunk, &mut start);
        s.write_all(&chunk)?;
        let mut got = vec![0; want.len()];
        s.read_exact(&mut got)?;
        bad += corrupt(&want, &got);
    }
    s.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)?;
    Ok(bad + rest.len() as u64)
}

/// Everything out, half-close, then the whole echo until EOF.
fn half_close(c: &Config, rng: &mut Bytes) -> io::Result<u64> {
    let mut s = connect(c.addr)?;
    let data = rng.fill_upto(65536);
    let want = expected(c.line, &data, &mut true);
    s.write_all(&data)?;
    s.shutdown(Shutdown::Write)?;
    let mut got = Vec::new();
    s.read_to_end(&mut got)?;
    Ok(corrupt(&want, &got))
}

/// Half a line out, then an RST (SO_LINGER 0): the server must shrug.
fn reset(c: &Config, rng: &mut Bytes) -> io::Result<u64> {
    let mut s = connect(c.addr)?;
    let mut half = rng.fill_upto(4096);
    half.retain(|&b| b != b'\n');
    s.write_all(&half)?;
    thread::sleep(Duration::from_millis(rng.next() % 5));
    socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO))?;
    Ok(0)
}

/// 1 MiB out from a writer thread while this one reads 4 KiB a millisecond.
fn slow_reader(c: &Config, rng: &mut Bytes) -> io::Result<u64> {
    let s = connect(c.addr)?;
    let data = rng.fill(1 << 20);
    let want = expected(c.line, &data, &mut true);
    let mut w = s.try_clone()?;
    let writer = thread::spawn(move || -> io::Result<()> {
        w.write_all(&data)?;
        w.shutdown(Shutdown::Write)
    });
    let mut got = Vec::with_capacity(want.len());
    let mut buf = [0; 4096];
    loop {
        match (&s).read(&mut buf)? {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
        thread::sleep(Duration::from_millis(1));
    }
    writer.join().expect("writer thread")?;
    Ok(corrupt(&want, &got))
}

fn soak(c: &Config) {
    let next = Arc::new(AtomicUsize::new(0));
    let (lost, bad, resets) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let started = Instant::now();
    let workers: Vec<_> = (0..c.concurrency.min(c.connections))
        .map(|_| {
            let (c, next, lost, bad, resets) = (
                c.clone(),
                next.clone(),
                lost.clone(),
                bad.clone(),
                resets.clone(),
            );
            thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= c.connections {
                    return;
                }
                let mut rng = Bytes(c.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 + 1));
                let result = match i % 4 {
                    0 => clean(&c, &mut rng),
                    1 => half_close(&c, &mut rng),
                    2 => {
                        resets.fetch_add(1, Ordering::Relaxed);
                        reset(&c, &mut rng)
                    }
                    _ => slow_reader(&c, &mut rng),
                };
                let outcome = match result {
                    Ok(corrupt) => Outcome {
                        lost: false,
                        corrupt,
                    },
                    Err(e) => {
                        eprintln!("client {i} (kind {}): {e}", i % 4);
                        Outcome {
                            lost: true,
                            ..Outcome::default()
                        }
                    }
                };
                lost.fetch_add(outcome.lost as u64, Ordering::Relaxed);
                bad.fetch_add(outcome.corrupt, Ordering::Relaxed);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a client thread panicked");
    }
    println!(
        "RESULT mode=soak proto={} conns={} lost={} corrupt_bytes={} resets={} secs={:.2}",
        if c.line { "line" } else { "raw" },
        c.connections,
        lost.load(Ordering::Relaxed),
        bad.load(Ordering::Relaxed),
        resets.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

/// One connection streams `--bytes` of `--line`-byte lines while reading
/// the echo; checks its length and every line.
fn bulk(c: &Config) -> io::Result<()> {
    let s = connect(c.addr)?;
    let mut line = vec![b'x'; c.line_len - 1];
    line.push(b'\n');
    let lines = c.bytes / c.line_len;
    let mut w = s.try_clone()?;
    let started = Instant::now();
    let writer = thread::spawn(move || -> io::Result<()> {
        let batch = line.repeat(640);
        let mut left = lines;
        while left > 0 {
            let n = left.min(640);
            w.write_all(&batch[..n * batch.len() / 640])?;
            left -= n;
        }
        w.shutdown(Shutdown::Write)
    });
    let mut want = if c.line { b"GOT:".to_vec() } else { Vec::new() };
    want.extend(std::iter::repeat_n(b'x', c.line_len - 1));
    want.push(b'\n');
    let (mut got, mut pos, mut bad) = (0usize, 0usize, 0u64);
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = (&s).read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            bad += (b != want[pos]) as u64;
            pos = (pos + 1) % want.len();
        }
        got += n;
    }
    writer.join().expect("writer thread")?;
    let secs = started.elapsed().as_secs_f64();
    let missing = (lines * want.len()).abs_diff(got) as u64;
    println!(
        "RESULT mode=bulk proto={} bytes={} lines={lines} echoed={got} corrupt_bytes={} secs={secs:.3}",
        if c.line { "line" } else { "raw" },
        lines * c.line_len,
        bad + missing
    );
    Ok(())
}

/// One line of `--bytes` without a newline, the echo read meanwhile.
fn endless(c: &Config) -> io::Result<()> {
    let s = connect(c.addr)?;
    let mut w = s.try_clone()?;
    let total = c.bytes;
    let started = Instant::now();
    let writer = thread::spawn(move || -> io::Result<()> {
        let chunk = vec![b'x'; 1 << 16];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            w.write_all(&chunk[..n])?;
            sent += n;
        }
        w.shutdown(Shutdown::Write)
    });
    let prefix = if c.line { &b"GOT:"[..] } else { &b""[..] };
    let (mut got, mut bad) = (0usize, 0u64);
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = (&s).read(&mut buf)?;
        if n == 0 {
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            let want = prefix.get(got + i).copied().unwrap_or(b'x');
            bad += (b != want) as u64;
        }
        got += n;
    }
    writer.join().expect("writer thread")?;
    let missing = (total + prefix.len()).abs_diff(got) as u64;
    println!(
        "RESULT mode=endless bytes={total} echoed={got} corrupt_bytes={} secs={:.3}",
        bad + missing,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `--connections` connects at once from eight threads; each asks one
/// line. Prints how many were answered and when the last one was.
fn burst(c: &Config) {
    let threads = 8.min(c.connections);
    let barrier = Arc::new(Barrier::new(threads));
    let started = Arc::new(std::sync::OnceLock::<Instant>::new());
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (c, barrier, started) = (c.clone(), barrier.clone(), started.clone());
            thread::spawn(move || {
                let mine = (t..c.connections).step_by(threads).count();
                barrier.wait();
                started.get_or_init(Instant::now);
                let conns: Vec<_> = (0..mine).map(|_| connect(c.addr)).collect();
                let mut answered = 0;
                for (i, s) in conns.iter().enumerate() {
                    let Ok(mut s) = s.as_ref().map_err(|e| eprintln!("connect: {e}")) else {
                        continue;
                    };
                    let ask = format!("{t}-{i}\n");
                    let mut got = vec![0; ask.len() + 4];
                    if s.write_all(ask.as_bytes()).is_ok() && s.read_exact(&mut got).is_ok() {
                        answered += (got[4..] == *ask.as_bytes()) as usize;
                    }
                }
                (answered, Instant::now())
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let answered: usize = results.iter().map(|r| r.0).sum();
    let last = results.iter().map(|r| r.1).max().unwrap();
    let secs = last.duration_since(*started.get().unwrap()).as_secs_f64();
    println!(
        "RESULT mode=burst conns={} answered={answered} secs={secs:.3}",
        c.connections
    );
}

fn main() {
    let c = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    match c.mode.as_str() {
        "soak" => soak(&c),
        "burst" => burst(&c),
        mode => {
            let run = if mode == "bulk" { bulk } else { endless };
            run(&c).unwrap_or_else(|e| {
                eprintln!("soak_client: {e}");
                std::process::exit(1);
            })
        }
    }
}
