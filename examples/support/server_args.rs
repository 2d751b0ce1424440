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
