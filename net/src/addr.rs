//! Address resolution: the one place where a host name may become a lookup.
//!
//! [`ToSocketAddrs`] mirrors `std::net::ToSocketAddrs`, but instead of
//! resolving on the spot it only says what was given: literal addresses, or
//! a host name to look up. [`resolve`] then turns that into addresses, so a
//! literal never reaches the resolver and the lookup lives in one function.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What an address argument stands for, before any lookup.
mod sealed {
    use std::net::SocketAddr;

    /// Literal addresses, or a host name and port still to be resolved.
    #[derive(Debug)]
    pub enum Target {
        /// Addresses given directly: never sent to a resolver.
        Literal(Vec<SocketAddr>),
        /// A host name and a port (e.g. from `("localhost", 80)` or `"localhost:80"`).
        Host(String, u16),
    }

    /// Keeps [`ToSocketAddrs`](super::ToSocketAddrs) implemented only here.
    pub trait Sealed {
        /// Says what the argument is, without resolving it.
        fn target(&self) -> std::io::Result<Target>;
    }
}

use sealed::{Sealed, Target};

/// Values that name one or more socket addresses, as in
/// `std::net::ToSocketAddrs`: `SocketAddr`, `(IpAddr, u16)`, `"127.0.0.1:80"`,
/// `("localhost", 80)`, `"localhost:80"`, `&[SocketAddr]` and so on.
///
/// Literal addresses are used as they are; only a host name is looked up.
/// Sealed: implemented for the same types as std's trait.
///
/// # Examples
///
/// ```
/// use weft_net::TcpListener;
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let a = TcpListener::bind("127.0.0.1:0").unwrap();
///     let b = TcpListener::bind(("127.0.0.1", 0)).unwrap();
///     let c = TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
///     assert!(a.local_addr().unwrap().ip().is_loopback());
///     # drop((b, c));
/// }).unwrap();
/// ```
pub trait ToSocketAddrs: Sealed {}

impl<T: Sealed + ?Sized> ToSocketAddrs for T {}

/// Resolves `addr` to the addresses to try, in order.
///
/// Literal addresses never touch the resolver. A host name is looked up by
/// the system resolver on a `spawn_blocking` worker thread: the resolver
/// blocks, but only the calling green thread waits for it.
///
/// # Errors
///
/// `InvalidInput` for a string that is neither an address nor `host:port`;
/// any resolver error; `InvalidInput` when a name resolves to nothing.
pub(crate) fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.target()? {
        Target::Literal(addrs) => addrs,
        Target::Host(host, port) => {
            // DNS: the resolver blocks while it waits, so the lookup
            // runs on a worker thread and only this green thread parks.
            let lookup = move || -> io::Result<Vec<SocketAddr>> {
                Ok(std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))?.collect())
            };
            match weft_runtime::spawn_blocking(lookup) {
                Ok(result) => result?,
                Err(e) => return Err(io::Error::other(format!("host name lookup failed: {e}"))),
            }
        }
    };
    Ok(addrs)
}

/// Runs `f` on each address `addr` names until one succeeds, as std does for
/// `bind` and `connect`; returns the last error if none does.
///
/// # Errors
///
/// The last error from `f`, or `InvalidInput` if `addr` names no address.
pub(crate) fn each_addr<A, T>(
    addr: &A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
{
    let mut last = None;
    for a in resolve(addr)? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

fn literal(addr: SocketAddr) -> io::Result<Target> {
    Ok(Target::Literal(vec![addr]))
}

impl Sealed for SocketAddr {
    fn target(&self) -> io::Result<Target> {
        literal(*self)
    }
}

impl Sealed for SocketAddrV4 {
    fn target(&self) -> io::Result<Target> {
        literal((*self).into())
    }
}

impl Sealed for SocketAddrV6 {
    fn target(&self) -> io::Result<Target> {
        literal((*self).into())
    }
}

impl Sealed for (IpAddr, u16) {
    fn target(&self) -> io::Result<Target> {
        literal((*self).into())
    }
}

impl Sealed for (Ipv4Addr, u16) {
    fn target(&self) -> io::Result<Target> {
        literal((*self).into())
    }
}

impl Sealed for (Ipv6Addr, u16) {
    fn target(&self) -> io::Result<Target> {
        literal((*self).into())
    }
}

impl Sealed for (&str, u16) {
    fn target(&self) -> io::Result<Target> {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => literal((ip, port).into()),
            Err(_) => Ok(Target::Host(host.to_owned(), port)),
        }
    }
}

impl Sealed for (String, u16) {
    fn target(&self) -> io::Result<Target> {
        (self.0.as_str(), self.1).target()
    }
}

impl Sealed for str {
    fn target(&self) -> io::Result<Target> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return literal(addr);
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address {self:?}: expected host:port"),
            ));
        };
        let port = port.parse::<u16>().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid port in socket address {self:?}"),
            )
        })?;
        (host, port).target()
    }
}

impl Sealed for String {
    fn target(&self) -> io::Result<Target> {
        self.as_str().target()
    }
}

impl Sealed for [SocketAddr] {
    fn target(&self) -> io::Result<Target> {
        Ok(Target::Literal(self.to_vec()))
    }
}

impl<T: Sealed + ?Sized> Sealed for &T {
    fn target(&self) -> io::Result<Target> {
        (**self).target()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_stay_literal() {
        for s in ["127.0.0.1:80", "[::1]:80"] {
            assert!(matches!(s.target().unwrap(), Target::Literal(_)), "{s}");
        }
        assert!(matches!(
            ("10.0.0.1", 5).target().unwrap(),
            Target::Literal(_)
        ));
    }

    #[test]
    fn names_are_hosts() {
        match "localhost:8080".target().unwrap() {
            Target::Host(h, p) => assert_eq!((h.as_str(), p), ("localhost", 8080)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_strings_are_invalid_input() {
        for s in ["nope", "host:port", "host:99999"] {
            let e = s.target().unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{s}");
        }
    }

    #[test]
    fn resolves_localhost() {
        let addrs = resolve("localhost:7").unwrap();
        assert!(addrs.iter().all(|a| a.port() == 7 && a.ip().is_loopback()));
    }
}
