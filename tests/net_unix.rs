//! Unix-domain streams: listener, connect, pair, line echo.

mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::path::PathBuf;
use std::time::Duration;

use util::block_on;
use weft::net::{UnixListener, UnixStream};
use weft::spawn;

fn socket_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("weft-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn line_echo_over_a_unix_listener() {
    let path = socket_path("echo");
    let p = path.clone();
    block_on(move || {
        let listener = UnixListener::bind(&p).unwrap();
        let server = spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(&conn);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap() > 0 {
                (&conn).write_all(b"GOT:").unwrap();
                (&conn).write_all(&line).unwrap();
                line.clear();
            }
        });
        let mut c = UnixStream::connect(&p).unwrap();
        c.write_all(b"a\nb").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert_eq!(got, "GOT:a\nGOT:b");
        server.join().unwrap();
    });
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bind_and_connect_errors_are_clear() {
    let path = socket_path("errors");
    let p = path.clone();
    block_on(move || {
        let missing = UnixStream::connect(&p).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let _l = UnixListener::bind(&p).unwrap();
        let taken = UnixListener::bind(&p).unwrap_err();
        assert_eq!(taken.kind(), io::ErrorKind::AddrInUse);
    });
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_pair_works_in_both_directions_with_a_timeout() {
    block_on(|| {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let err = (&b).read(&mut [0; 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        (&a).write_all(b"x").unwrap();
        let mut one = [0; 1];
        (&b).read_exact(&mut one).unwrap();
        (&b).write_all(b"y").unwrap();
        (&a).read_exact(&mut one).unwrap();
        assert_eq!(&one, b"y");
    });
}
