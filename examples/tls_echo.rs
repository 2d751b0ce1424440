//! A TLS echo server: rustls's synchronous `StreamOwned` runs unmodified
//! over a green `TcpStream`, because it only needs `Read + Write`. Each
//! connection gets its own green thread; the handshake, every record and
//! the closing `close_notify` park instead of blocking the loop.
//!
//! ```text
//! cargo run --example tls_echo                           # 127.0.0.1:18443
//! cargo run --example tls_echo -- --addr 127.0.0.1:9443 --cert /tmp/weft.pem
//! openssl s_client -connect 127.0.0.1:18443 -CAfile /tmp/weft-tls-echo.pem -quiet
//! ```
//!
//! The server makes a self-signed certificate for `localhost` at start
//! (rcgen) and writes it as PEM where `--cert` says (by default
//! `weft-tls-echo.pem` in the temporary directory), for a client to trust.
//! It echoes what it reads; when the client sends `close_notify`, it
//! answers with its own and closes.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use weft::net::{TcpListener, TcpStream};
use weft::Runtime;

/// A certificate for `localhost` and the server configuration built on it.
struct Identity {
    /// The certificate, for clients to trust (as DER for rustls, as PEM
    /// for `openssl s_client -CAfile`).
    cert: rcgen::Certificate,
    config: Arc<ServerConfig>,
}

/// The crypto provider both sides use: rustls on *ring*.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes a self-signed certificate for `localhost` and a server config.
fn identity() -> Result<Identity, Box<dyn std::error::Error>> {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)?;
    Ok(Identity {
        cert,
        config: Arc::new(config),
    })
}

/// Echoes over TLS until the client says `close_notify`, then says it too.
fn handle(config: Arc<ServerConfig>, sock: TcpStream) -> io::Result<()> {
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, sock);
    let mut buf = [0u8; 4096];
    loop {
        // `Ok(0)` only after the client's close_notify; a bare TCP close
        // is `UnexpectedEof`, a truncation attack or a crash.
        let n = tls.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tls.write_all(&buf[..n])?;
        tls.flush()?;
    }
    tls.conn.send_close_notify();
    tls.flush()
}

/// Accepts connections, each on its own green thread. With `limit`, stops
/// after that many and returns once they are done (for the tests).
fn serve(listener: TcpListener, config: Arc<ServerConfig>, limit: Option<usize>) -> io::Result<()> {
    let mut handlers = Vec::new();
    for sock in listener.incoming().take(limit.unwrap_or(usize::MAX)) {
        let (sock, config) = (sock?, config.clone());
        handlers.push(weft::spawn(move || {
            if let Err(e) = handle(config, sock) {
                eprintln!("tls_echo: connection ended: {e}");
            }
        }));
    }
    for h in handlers {
        let _ = h.join();
    }
    Ok(())
}

/// `--addr` and `--cert`.
#[derive(Debug)]
struct Args {
    addr: SocketAddr,
    cert: PathBuf,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 18443)),
        cert: std::env::temp_dir().join("weft-tls-echo.pem"),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                parsed.addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?}: {e} (expected IP:PORT)"))?;
            }
            "--cert" => parsed.cert = value()?.into(),
            "-h" | "--help" => {
                return Err("usage: tls_echo [--addr 127.0.0.1:18443] [--cert FILE.pem]".into())
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(parsed)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    let id = identity()?;
    std::fs::write(&args.cert, id.cert.pem())?;
    Runtime::new()?.block_on(|| {
        let listener = TcpListener::bind(args.addr)?;
        println!(
            "listening on {} (TLS, self-signed for localhost; certificate in {})",
            listener.local_addr()?,
            args.cert.display()
        );
        serve(listener, id.config.clone(), None)
    })??;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! A rustls client on plain std sockets talks to the server, which runs
    //! on its own OS thread.
    use super::*;
    use rustls::pki_types::{CertificateDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore};
    use std::net::TcpStream as StdStream;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    /// Serves `conns` connections on 127.0.0.1:0; returns the address and
    /// the certificate to trust.
    fn start(conns: usize) -> (SocketAddr, CertificateDer<'static>, thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel();
        let server = thread::spawn(move || {
            let id = identity().unwrap();
            Runtime::new()
                .unwrap()
                .block_on(|| {
                    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                    tx.send((listener.local_addr().unwrap(), id.cert.der().clone()))
                        .unwrap();
                    serve(listener, id.config.clone(), Some(conns)).unwrap();
                })
                .unwrap();
        });
        let (addr, cert) = rx.recv().unwrap();
        (addr, cert, server)
    }

    fn client(
        addr: SocketAddr,
        cert: &CertificateDer<'static>,
    ) -> StreamOwned<ClientConnection, StdStream> {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(Arc::new(config), name).unwrap();
        let sock = StdStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        StreamOwned::new(conn, sock)
    }

    #[test]
    fn echoes_over_tls_and_closes_with_close_notify() {
        let (addr, cert, server) = start(2);
        for round in 0..2 {
            let mut tls = client(addr, &cert);
            let msg = format!("hello over TLS, round {round}");
            tls.write_all(msg.as_bytes()).unwrap();
            let mut back = vec![0; msg.len()];
            tls.read_exact(&mut back).unwrap();
            assert_eq!(back, msg.as_bytes());
            assert!(tls.conn.negotiated_cipher_suite().is_some());

            tls.conn.send_close_notify();
            tls.flush().unwrap();
            // `Ok(0)` means the server answered with close_notify; a bare
            // TCP close would be `UnexpectedEof`.
            assert_eq!(tls.read(&mut [0; 16]).unwrap(), 0);
        }
        server.join().unwrap();
    }

    #[test]
    fn a_client_that_does_not_trust_the_certificate_is_refused() {
        let (addr, _cert, server) = start(1);
        let stranger = identity().unwrap().cert.der().clone(); // another self-signed one
        let mut tls = client(addr, &stranger);
        let err = tls.write_all(b"hi").and_then(|()| tls.flush()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        drop(tls);
        server.join().unwrap();
    }

    #[test]
    fn flags() {
        let parse = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        let a = parse(&["--addr", "127.0.0.1:9", "--cert", "/tmp/x.pem"]).unwrap();
        assert_eq!((a.addr.port(), a.cert), (9, PathBuf::from("/tmp/x.pem")));
        assert!(parse(&["--addr"]).unwrap_err().contains("needs a value"));
    }
}
