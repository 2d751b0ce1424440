//! The wake socketpair behind a `PollableQueue`: producers ring one end,
//! the consumer drains the other and waits on it (parked on its readiness in
//! a green thread, in `poll(2)` on an OS thread).
//!
//! Both ends are non-blocking. A ring that meets a full socket buffer
//! (`WouldBlock`) means unread bytes are already waiting, which is as good as
//! ringing: no producer ever blocks here.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use socket2::{Domain, Socket, Type};

/// Makes a connected, non-blocking, close-on-exec socketpair.
pub(crate) fn pair() -> io::Result<(WakeWriter, WakeReader)> {
    let (tx, rx) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    Ok((WakeWriter { sock: tx }, WakeReader { sock: rx }))
}

/// The producers' end.
#[derive(Debug)]
pub(crate) struct WakeWriter {
    sock: Socket,
}

impl WakeWriter {
    /// Writes one wake byte. `WouldBlock` (bytes already unread) and a gone
    /// reader both mean there is nothing more to do; `MSG_NOSIGNAL` keeps a
    /// gone reader from raising `SIGPIPE`.
    pub(crate) fn ring(&self) {
        loop {
            match self.sock.send_with_flags(&[1], libc::MSG_NOSIGNAL) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => return,
            }
        }
    }
}

/// The consumer's end.
#[derive(Debug)]
pub(crate) struct WakeReader {
    sock: Socket,
}

impl WakeReader {
    /// Reads wake bytes until `WouldBlock` (edge-triggered readiness only
    /// reports new bytes after a drain) and returns how many it read.
    pub(crate) fn drain(&self) -> usize {
        let mut buf = [0u8; 64];
        let mut total = 0;
        loop {
            match (&self.sock).read(&mut buf) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return total,
            }
        }
    }

    /// Blocks this OS thread until the read end is readable or `deadline`
    /// passes. Returns `false` on timeout; may return `true` spuriously.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut fds = [libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        poll_fds(&mut fds, deadline) != 0 || deadline.is_none_or(|d| Instant::now() < d)
    }
}

impl AsRawFd for WakeReader {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// Calls `poll(2)` once on `fds` with the time left until `deadline` and
/// returns how many have events (0 on timeout, interruption or error).
pub(crate) fn poll_fds(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> usize {
    let timeout_ms: libc::c_int = match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            // Round up, so a wait never ends just short of its deadline.
            let ms = left.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    };
    // SAFETY: `fds` is a valid, exclusively borrowed array of `pollfd`s and
    // its length is passed with it; `poll` writes only their `revents`.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    n.max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_makes_the_reader_readable_and_drain_empties_it() {
        let (tx, rx) = pair().unwrap();
        assert_eq!(rx.drain(), 0);
        tx.ring();
        tx.ring();
        assert!(rx.wait(Some(Instant::now())));
        assert_eq!(rx.drain(), 2);
        let soon = Instant::now() + std::time::Duration::from_millis(5);
        assert!(!rx.wait(Some(soon)));
    }

    #[test]
    fn ringing_a_full_socket_does_not_block() {
        let (tx, rx) = pair().unwrap();
        for _ in 0..10_000 {
            tx.ring();
        }
        assert!(rx.drain() > 0);
    }
}
