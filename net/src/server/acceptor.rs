//! One acceptor green thread: a slot, a connection, its handler started.
//! A server may run several on one listener.

use std::io;
use std::rc::Rc;

use super::connection::Connection;
use super::listener::{self, ServerListener};
use super::shutdown::Stop;
use super::table::Table;

/// One acceptor: takes a slot (when capped), accepts, starts the handler.
pub(crate) fn run<L, F>(listener: &L, table: &Rc<Table<L::Stream>>, handler: &Rc<F>)
where
    L: ServerListener,
    F: Fn(Connection<L::Stream>) -> io::Result<()> + 'static,
{
    loop {
        if let Some(limit) = &table.limit {
            if limit.available_permits() == 0 {
                tracing::info!(
                    max_connections = ?table.max_connections,
                    "server: max_connections reached; new clients wait in the listen backlog"
                );
                limit.acquire();
                tracing::info!("server: below max_connections again; accepting");
            } else {
                limit.acquire();
            }
        }
        match listener.accept_stream() {
            Ok((stream, peer)) => table.start(stream, peer, handler),
            Err(e) => {
                if let Some(limit) = &table.limit {
                    limit.release();
                }
                if listener::is_per_connection(&e) {
                    tracing::warn!(error = %e, "server: accept failed for one connection; accepting goes on");
                    continue;
                }
                tracing::error!(error = %e, "server: accept failed; draining");
                let _ = table.stop.put(Stop::Failed(e));
                return;
            }
        }
    }
}
