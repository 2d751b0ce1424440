//! I/O readiness: the reactor that polls the OS and keeps the table of who
//! waits on which source (`reactor`), and the public `Registration` through
//! which a source is read and written try-then-park (`registration`).

mod reactor;
mod registration;

pub(crate) use reactor::{Reactor, WAKER_TOKEN};
pub use registration::Registration;
