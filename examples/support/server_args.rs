//! Command-line flags shared by the echo servers: `--addr ADDR` and
//! `--proto raw|line`, the same as `echo_server`.
//!
//! Included into each baseline server with `#[path]`; it is not an example
//! of its own.

use std::net::SocketAddr;

/// The port every echo server listens on unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:16000";

/// What the server echoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// Every byte straight back, as soon as it arrives.
    Raw,
    /// Whole lines back, one at a time.
    Line,
}

/// The parsed command line.
#[derive(Clone, Copy, Debug)]
pub struct ServerArgs {
    /// Where to listen.
    pub addr: SocketAddr,
    /// What to echo.
    pub proto: Proto,
}

impl ServerArgs {
    /// Parses the flags after the program name.
    ///
    /// # Errors
    ///
    /// A message naming the flag or value that is wrong, and the usage.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<ServerArgs, String> {
        let mut parsed = ServerArgs {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            proto: Proto::Raw,
        };
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--addr" => {
                    let v = value()?;
                    parsed.addr = v
                        .parse()
                        .map_err(|e| format!("--addr {v}: not an IP:PORT address ({e})"))?;
                }
                "--proto" => {
                    parsed.proto = match value()?.as_str() {
                        "raw" => Proto::Raw,
                        "line" => Proto::Line,
                        other => return Err(format!("--proto {other}: expected raw or line")),
                    }
                }
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown flag {other}\n{USAGE}")),
            }
        }
        Ok(parsed)
    }

    /// Binds a std listener on `addr` and prints the line every echo server
    /// starts with, `listening on ADDR (PROTO protocol, SHAPE)`; prints the
    /// error and exits with 1 when the address cannot be bound.
    pub fn listen(&self, program: &str, shape: &str) -> std::net::TcpListener {
        let listener = std::net::TcpListener::bind(self.addr).unwrap_or_else(|e| {
            eprintln!("{program}: cannot listen on {}: {e}", self.addr);
            std::process::exit(1)
        });
        let local = listener
            .local_addr()
            .expect("a bound listener has an address");
        let proto = match self.proto {
            Proto::Raw => "raw",
            Proto::Line => "line",
        };
        println!("listening on {local} ({proto} protocol, {shape})");
        listener
    }

    /// Parses the process's own flags, or prints the error and exits with 2.
    pub fn from_env() -> ServerArgs {
        ServerArgs::parse(std::env::args().skip(1)).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        })
    }
}

const USAGE: &str =
    "usage: [--addr IP:PORT (default 127.0.0.1:16000)] [--proto raw|line (default raw)]";
