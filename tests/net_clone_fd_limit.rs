//! `try_clone` when the process is out of descriptors. Alone in its file: it
//! lowers this process's descriptor limit, which must not disturb other tests.

mod util;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use util::{block_on, tcp_pair};
use weft::net::{TcpListener, UdpSocket};

fn open_fds() -> u64 {
    // The directory handle itself is one of the entries while it is read.
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1
}

fn set_soft_fd_limit(soft: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let old = lim.rlim_cur;
    lim.rlim_cur = soft;
    // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    old
}

#[test]
fn try_clone_out_of_descriptors_is_emfile_and_leaves_nothing_behind() {
    block_on(|| {
        let (client, server) = tcp_pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Use up every descriptor below a limit just above what is open.
        let baseline = open_fds();
        let old = set_soft_fd_limit(baseline + 8);
        let mut hoard: Vec<OwnedFd> = Vec::new();
        while let Ok(fd) = client.as_fd().try_clone_to_owned() {
            hoard.push(fd);
        }
        assert!(!hoard.is_empty());
        for err in [
            client.try_clone().unwrap_err(),
            listener.try_clone().unwrap_err(),
            udp.try_clone().unwrap_err(),
        ] {
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        }
        drop(hoard);
        set_soft_fd_limit(old);
        assert_eq!(open_fds(), baseline, "the failed clones left nothing open");
        // The loop and the sockets are unharmed: a clone now works on its own.
        let clone = client.try_clone().unwrap();
        drop(client);
        (&server).write_all(b"after").unwrap();
        let mut buf = [0; 5];
        (&clone).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"after");
    });
}
