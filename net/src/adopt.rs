//! Moving sockets in and out of the runtime: adopting a std socket or a
//! descriptor, giving it back blocking, and registering a second handle on
//! the same socket (`try_clone`).

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use mio::event::Source;
use socket2::{Domain, SockRef, Type};
use weft_runtime::Registration;

/// The kinds of socket the weft types wrap, checked before a descriptor is
/// adopted, so a UDP socket never ends up inside a `TcpStream`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    TcpStream,
    TcpListener,
    UdpSocket,
    UnixStream,
    UnixListener,
}

impl Kind {
    /// The kind of socket `fd` is; `None` for a socket of another family or
    /// type (a raw or seqpacket socket, say).
    ///
    /// # Errors
    ///
    /// `ENOTSOCK` (and the like) when `fd` is not a socket.
    fn of(fd: BorrowedFd<'_>) -> io::Result<Option<Kind>> {
        let socket = SockRef::from(&fd);
        let ty = socket.r#type()?;
        let domain = socket.domain()?;
        let inet = domain == Domain::IPV4 || domain == Domain::IPV6;
        Ok(if inet && ty == Type::STREAM {
            Some(match socket.is_listener()? {
                true => Kind::TcpListener,
                false => Kind::TcpStream,
            })
        } else if inet && ty == Type::DGRAM {
            Some(Kind::UdpSocket)
        } else if domain == Domain::UNIX && ty == Type::STREAM {
            Some(match socket.is_listener()? {
                true => Kind::UnixListener,
                false => Kind::UnixStream,
            })
        } else {
            None
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::TcpStream => "a TCP stream socket",
            Kind::TcpListener => "a listening TCP socket",
            Kind::UdpSocket => "a UDP socket",
            Kind::UnixStream => "a Unix-domain stream socket",
            Kind::UnixListener => "a listening Unix-domain socket",
        })
    }
}

/// Registers `fd`, which must be a socket of kind `want`, with the runtime of
/// the calling green thread, after making it non-blocking.
///
/// # Errors
///
/// `Other` outside a green thread (there is no loop to register with);
/// `InvalidInput` when `fd` is not a socket of kind `want`; any error making
/// it non-blocking or registering it. On every error `fd` is closed: nothing
/// is left registered or open.
pub(crate) fn adopt<S>(api: &str, want: Kind, fd: OwnedFd) -> io::Result<Registration<S>>
where
    S: Source + From<OwnedFd>,
{
    in_green_thread(api)?;
    match Kind::of(fd.as_fd()) {
        Ok(Some(kind)) if kind == want => {}
        Ok(got) => {
            let got = got.map_or_else(|| "another kind of socket".to_owned(), |k| k.to_string());
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{api}: expected {want}, got {got}"),
            ));
        }
        Err(e) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{api}: expected {want}, but the descriptor is not a socket ({e})"),
            ))
        }
    }
    SockRef::from(&fd).set_nonblocking(true)?;
    Registration::new(S::from(fd))
}

/// Deregisters the socket and hands its descriptor back in blocking mode,
/// as std's sockets are.
///
/// # Errors
///
/// Any error deregistering it or clearing `O_NONBLOCK`; the socket is then
/// closed.
pub(crate) fn release<S>(io: Registration<S>) -> io::Result<OwnedFd>
where
    S: Source + Into<OwnedFd>,
{
    let fd: OwnedFd = io.into_inner()?.into();
    SockRef::from(&fd).set_nonblocking(false)?;
    Ok(fd)
}

/// `Ok` inside a green thread; outside, the error `adopt` and `try_clone`
/// return rather than the panic of `Registration::new`.
fn in_green_thread(api: &str) -> io::Result<()> {
    if weft_runtime::in_green_thread() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{api} was called outside a green thread: there is no weft runtime to register \
         the socket with (call it inside Runtime::block_on or a spawned task)"
    )))
}

/// A second registration on a duplicate (`F_DUPFD_CLOEXEC`) of `io`'s
/// socket. The duplicate is registered with the poller on its own, so both
/// handles get every readiness event and each can have its own green thread
/// parked on it.
///
/// # Errors
///
/// `Other` outside a green thread; `EMFILE`/`ENFILE` when no descriptor is
/// left, or any error registering the duplicate, which is then closed
/// again: nothing is half-registered.
pub(crate) fn try_clone<S>(api: &str, io: &Registration<S>) -> io::Result<Registration<S>>
where
    S: Source + AsFd + From<OwnedFd>,
{
    in_green_thread(api)?;
    let fd = io.get_ref().as_fd().try_clone_to_owned()?;
    Registration::new(S::from(fd))
}
