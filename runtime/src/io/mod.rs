//! I/O readiness and socket calls.
//!
//! [`Registration`] (also at the crate root) registers any
//! `mio::event::Source` with the running runtime's reactor and reads and
//! writes it try-then-park. [`recv`] and [`send`] are the socket calls
//! weft's own streams make inside those operations: std's, minus the C
//! library's cancellation bookkeeping (see their docs).
//!
//! Inside: the reactor that polls the OS and keeps the table of who waits
//! on which source (`reactor`), the `Registration` (`registration`), and
//! the direct socket calls (`direct`, this layer's only `unsafe`).

mod direct;
mod reactor;
mod registration;
mod waiters;

pub use direct::{recv, send};
pub(crate) use reactor::{Reactor, WAKER_TOKEN};
pub use registration::Registration;
