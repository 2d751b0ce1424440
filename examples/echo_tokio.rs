//! Raw (or line) TCP echo on tokio's current-thread runtime: one OS thread,
//! one task per connection. A baseline for `benches/compare.sh`.
//!
//! ```text
//! cargo run --release --example echo_tokio -- [--addr 127.0.0.1:16000] [--proto raw|line]
//! ```
//!
//! Each connection task owns an 8 KiB buffer (raw) or a line buffer (line),
//! reads, and writes everything it read straight back.

#[path = "support/server_args.rs"]
mod server_args;

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use server_args::{Proto, ServerArgs};

/// Bytes each raw connection reads at a time.
const BUF_BYTES: usize = 8 * 1024;

fn main() {
    let args = ServerArgs::from_env();
    let listener = args.listen("echo_tokio", "tokio current-thread");
    if let Err(e) = serve(listener, args.proto, None) {
        eprintln!("echo_tokio: {e}");
        std::process::exit(1);
    }
}

/// Serves echo on `listener` on a fresh current-thread runtime.
///
/// With `limit`, accepts at most that many connections and returns once they
/// have all closed: that is how the test stops it.
fn serve(listener: std::net::TcpListener, proto: Proto, limit: Option<usize>) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let mut handles = Vec::new();
        let mut accepted = 0usize;
        while limit.is_none_or(|l| accepted < l) {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("echo_tokio: accept failed: {e}");
                    tokio::task::yield_now().await;
                    continue;
                }
            };
            accepted += 1;
            let _ = stream.set_nodelay(true);
            let task = async move {
                let _ = match proto {
                    Proto::Raw => echo_raw(stream).await,
                    Proto::Line => echo_lines(stream).await,
                };
            };
            if limit.is_some() {
                handles.push(tokio::spawn(task));
            } else {
                tokio::spawn(task);
            }
        }
        for h in handles {
            let _ = h.await;
        }
        Ok(())
    })
}

async fn echo_raw(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; BUF_BYTES];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn echo_lines(stream: TcpStream) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        write.write_all(line.as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Read, Write};

    #[test]
    fn echoes_raw_then_stops() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || serve(listener, Proto::Raw, Some(1)));
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ping 64 bytes").unwrap();
        let mut echoed = [0u8; 13];
        client.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"ping 64 bytes");
        drop(client);
        server.join().unwrap().unwrap();
    }

    #[test]
    fn echoes_lines_then_stops() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || serve(listener, Proto::Line, Some(1)));
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"one\ntwo\n").unwrap();
        let mut reader = std::io::BufReader::new(client.try_clone().unwrap());
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            lines.push(line);
        }
        assert_eq!(lines, ["one\n", "two\n"]);
        drop((client, reader));
        server.join().unwrap().unwrap();
    }
}
