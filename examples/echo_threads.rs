//! Raw (or line) TCP echo with one std OS thread per connection: the shape
//! of the seeds' servers, and a baseline for `benches/compare.sh`.
//!
//! ```text
//! cargo run --release --example echo_threads -- [--addr 127.0.0.1:16000] [--proto raw|line]
//! ```
//!
//! Blocking `read`/`write_all` on an 8 KiB buffer (raw) or `read_line` (line);
//! each thread gets a 64 KiB stack.

#[path = "support/server_args.rs"]
mod server_args;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use server_args::{Proto, ServerArgs};

/// Bytes each raw connection reads at a time.
const BUF_BYTES: usize = 8 * 1024;

/// Stack reserved per connection thread (only touched pages cost memory).
const STACK_BYTES: usize = 64 * 1024;

fn main() {
    let args = ServerArgs::from_env();
    let listener = args.listen("echo_threads", "thread per connection");
    serve(listener, args.proto, None);
}

/// Serves echo on `listener`, one thread per connection.
///
/// With `limit`, accepts at most that many connections and returns once they
/// have all closed: that is how the test stops it.
fn serve(listener: TcpListener, proto: Proto, limit: Option<usize>) {
    let mut handles = Vec::new();
    let mut accepted = 0usize;
    while limit.is_none_or(|l| accepted < l) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("echo_threads: accept failed: {e}");
                thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        accepted += 1;
        let _ = stream.set_nodelay(true);
        let spawned = thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn(move || {
                let _ = match proto {
                    Proto::Raw => echo_raw(stream),
                    Proto::Line => echo_lines(stream),
                };
            });
        match spawned {
            Ok(h) if limit.is_some() => handles.push(h),
            Ok(_) => {}
            Err(e) => eprintln!("echo_threads: cannot start a thread: {e}"),
        }
    }
    for h in handles {
        let _ = h.join();
    }
}

fn echo_raw(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; BUF_BYTES];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

fn echo_lines(stream: TcpStream) -> io::Result<()> {
    let mut write = stream.try_clone()?;
    let mut read = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line)? == 0 {
            return Ok(());
        }
        write.write_all(line.as_bytes())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_raw_then_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || serve(listener, Proto::Raw, Some(1)));
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"ping 64 bytes").unwrap();
        let mut echoed = [0u8; 13];
        client.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"ping 64 bytes");
        drop(client);
        server.join().unwrap();
    }

    #[test]
    fn echoes_lines_then_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || serve(listener, Proto::Line, Some(1)));
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"one\ntwo\n").unwrap();
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            lines.push(line);
        }
        assert_eq!(lines, ["one\n", "two\n"]);
        drop((client, reader));
        server.join().unwrap();
    }
}
