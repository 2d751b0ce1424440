//! Adopting a listener passed by systemd socket activation: systemd (or
//! any launcher speaking its protocol) binds the socket, starts the server
//! with the socket at descriptor 3 and `LISTEN_FDS=1`, `LISTEN_PID=<pid>`
//! in its environment, and the server hands it to weft with
//! `TcpListener::from_std`. Without them it binds `--addr` itself.
//!
//! ```text
//! cargo build --example socket_activation
//! systemd-socket-activate -l 127.0.0.1:18082 target/debug/examples/socket_activation
//! cargo run --example socket_activation -- --addr 127.0.0.1:18082   # no activation
//! nc 127.0.0.1 18082
//! ```
//!
//! Each connection gets its own green thread, which echoes lines back with
//! a `GOT:` prefix.

use std::env;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use weft::net::{TcpListener, TcpStream};
use weft::Runtime;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

/// The listening socket systemd passed to this process, if any.
///
/// As `sd_listen_fds(1)` does, the variables are removed once read, so the
/// server's own children do not take the sockets for theirs.
fn activated_listener() -> Option<std::net::TcpListener> {
    let for_us =
        env::var("LISTEN_PID").ok().and_then(|p| p.parse().ok()) == Some(std::process::id());
    let count: u32 = env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        env::remove_var(var);
    }
    if !for_us || count == 0 {
        return None;
    }
    if count > 1 {
        eprintln!("socket_activation: {count} sockets passed; serving the first");
    }
    // SAFETY: the activation protocol hands descriptors 3..3+LISTEN_FDS to
    // the process named by LISTEN_PID, checked above to be this one; nothing
    // else in this program opens, uses or closes descriptor 3, so taking
    // ownership of it here is sound. Whether it really is a listening TCP
    // socket is checked by `TcpListener::from_std`.
    let fd = unsafe { OwnedFd::from_raw_fd(LISTEN_FDS_START) };
    Some(std::net::TcpListener::from(fd))
}

/// The activated listener, or one bound on `addr`; with a note saying which.
///
/// # Errors
///
/// `InvalidInput` when the passed descriptor is not a listening TCP socket;
/// any bind error.
fn listen(addr: SocketAddr) -> io::Result<(TcpListener, &'static str)> {
    match activated_listener() {
        Some(l) => Ok((TcpListener::from_std(l)?, "socket activation, fd 3")),
        None => Ok((
            TcpListener::bind(addr)?,
            "bound itself: no socket was passed",
        )),
    }
}

/// Echoes lines with a `GOT:` prefix until the client closes.
fn echo(conn: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(&conn);
    let mut line = String::new();
    while lines.read_line(&mut line)? > 0 {
        (&conn).write_all(format!("GOT:{line}").as_bytes())?;
        line.clear();
    }
    Ok(())
}

/// Serves each connection on its own green thread. With `limit`, stops
/// after that many and returns once they are done (for the tests).
fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<()> {
    let mut handlers = Vec::new();
    for conn in listener.incoming().take(limit.unwrap_or(usize::MAX)) {
        let conn = conn?;
        handlers.push(weft::spawn(move || echo(conn)));
    }
    for h in handlers {
        if let Ok(Err(e)) = h.join() {
            eprintln!("socket_activation: connection ended: {e}");
        }
    }
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 18082));
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--addr" => {
                let v = args.next().ok_or("--addr needs a value")?;
                addr = v
                    .parse()
                    .map_err(|e| format!("--addr {v:?}: {e} (expected IP:PORT)"))?;
            }
            "-h" | "--help" => {
                return Err("usage: socket_activation [--addr 127.0.0.1:18082]".into())
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(addr)
}

/// Listens (activated or not), says where, and serves.
fn run(addr: SocketAddr, limit: Option<usize>) -> io::Result<()> {
    let (listener, how) = listen(addr)?;
    println!("listening on {} ({how})", listener.local_addr()?);
    serve(listener, limit)
}

fn main() {
    let addr = parse_args(env::args().skip(1)).unwrap_or_else(|msg| {
        eprintln!("{msg}");
        std::process::exit(2);
    });
    let result = Runtime::new()
        .expect("runtime")
        .block_on(|| run(addr, None));
    if let Err(e) = result.map_err(io::Error::other).and_then(|r| r) {
        eprintln!("socket_activation: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    //! The parent binds a listener and re-runs this test binary as the
    //! child, with the socket at descriptor 3 and the activation variables
    //! set, as systemd would; then it talks to the child through the socket.
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    /// Runs this test binary's `child_*` test `name` with `socket` at
    /// descriptor 3 and `LISTEN_FDS=1`, `LISTEN_PID` set to the child's pid.
    fn spawn_activated(name: &str, socket: &impl AsRawFd) -> std::process::Child {
        let fd = socket.as_raw_fd();
        let exe = env::current_exe().unwrap();
        let mut cmd = Command::new("sh");
        // `$$` is the shell's pid, which `exec` keeps for the test binary.
        cmd.args(["-c", r#"export LISTEN_PID=$$; exec "$0" "$@""#])
            .arg(exe)
            .args([
                name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("LISTEN_FDS", "1")
            .stdout(Stdio::piped());
        // SAFETY: the closure runs in the forked child before `exec` and
        // calls only `dup2` and `fcntl`, which are async-signal-safe. `fd`
        // is open in the parent, so in the child too, until `spawn` returns.
        unsafe {
            cmd.pre_exec(move || {
                let rc = if fd == LISTEN_FDS_START {
                    libc::fcntl(fd, libc::F_SETFD, 0) // keep it across exec
                } else {
                    libc::dup2(fd, LISTEN_FDS_START) // the copy is not close-on-exec
                };
                if rc < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().unwrap()
    }

    #[test]
    fn a_passed_listener_is_adopted_and_serves() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let child = spawn_activated("tests::child_serves_one_connection", &listener);
        drop(listener); // only the child holds it now
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"activated\n").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "GOT:activated\n");
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
        assert!(
            stdout.contains(&format!("listening on {addr} (socket activation, fd 3)")),
            "{stdout}"
        );
    }

    #[test]
    fn a_passed_socket_of_the_wrong_kind_is_refused() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let child = spawn_activated("tests::child_refuses_a_udp_socket", &udp);
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(
            stdout.contains("test result: ok. 1 passed"),
            "the child ran: {stdout}"
        );
    }

    #[test]
    #[ignore = "the child of a_passed_listener_is_adopted_and_serves"]
    fn child_serves_one_connection() {
        let unused = SocketAddr::from(([127, 0, 0, 1], 1));
        Runtime::new()
            .unwrap()
            .block_on(|| run(unused, Some(1)))
            .unwrap()
            .unwrap();
        assert!(env::var_os("LISTEN_FDS").is_none(), "not passed on");
    }

    #[test]
    #[ignore = "the child of a_passed_socket_of_the_wrong_kind_is_refused"]
    fn child_refuses_a_udp_socket() {
        let unused = SocketAddr::from(([127, 0, 0, 1], 1));
        let err = Runtime::new()
            .unwrap()
            .block_on(|| listen(unused).map(|_| ()))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("got a UDP socket"), "{err}");
    }

    #[test]
    fn without_activation_it_binds_the_address() {
        // This process was not activated: LISTEN_PID, if set, is not ours.
        let (listener, how) = Runtime::new()
            .unwrap()
            .block_on(|| {
                let (l, how) = listen("127.0.0.1:0".parse().unwrap()).unwrap();
                (l.local_addr().unwrap(), how)
            })
            .unwrap();
        assert!(listener.ip().is_loopback());
        assert!(how.starts_with("bound itself"));
    }

    #[test]
    fn flags() {
        let parse = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert_eq!(parse(&[]).unwrap().port(), 18082);
        assert!(parse(&["--addr", "x"]).is_err());
    }
}
