//! Helpers shared by the `net_*` integration tests.
#![allow(dead_code)] // each test file uses its own subset

use std::io::{self, BufRead, BufReader, Write};

use weft::net::TcpStream;

/// Serves the seed's line protocol on `conn` until end of file: each line
/// comes back as `GOT:` + the line.
pub fn echo_lines(conn: &TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut reply = b"GOT:".to_vec();
    loop {
        reply.truncate(4);
        if reader.read_until(b'\n', &mut reply)? == 0 {
            return Ok(());
        }
        (&*conn).write_all(&reply)?;
    }
}

/// Raises this process's soft descriptor limit to at least `want` (within
/// the hard limit); returns the soft limit now in force.
pub fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        lim.rlim_cur = want.min(lim.rlim_max);
        // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
    lim.rlim_cur
}
