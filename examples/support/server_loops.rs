//! One `Server` on N loops (`echo_server --threads N`): a runtime per OS
//! thread ([`weft::Loops`]), each with a `Server` on its own `SO_REUSEPORT`
//! listener on the same address, so the kernel spreads the connections over
//! the loops. Share nothing: each connection lives and dies on the loop
//! that accepted it.
//!
//! Stopping is one act for all loops: SIGINT/SIGTERM reach every loop's
//! server (each watches the signals), the combined [`ShutdownHandle`] drains
//! them all, and a loop that fails (its thread panics, its server errs)
//! stops the set, which drains the other servers too. The summaries add up
//! to one.
//!
//! Included into `echo_server` with `#[path]`; it is not an example of its
//! own.

use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Condvar, Mutex};

use weft::net::{ListenOptions, Server, ShutdownHandle, Summary, TcpListener};
use weft::{Loop, Loops};

/// How the loops are laid out and what each one's server is.
pub struct LoopsPlan {
    /// Loops (OS threads), at least 1.
    pub loops: usize,
    /// Pin loop `i` to core `i`.
    pub pin: bool,
    /// The address all loops listen on (port 0: one port the kernel picks).
    pub addr: SocketAddr,
    /// Each listener's backlog.
    pub backlog: u32,
}

/// A running set: where it listens, and the handle that drains it.
pub struct Running {
    pub loops: Loops<io::Result<Summary>>,
    pub addr: SocketAddr,
    /// Drains every loop's server (the binary stops by signal; its tests
    /// use this).
    #[cfg_attr(not(test), allow(dead_code))]
    pub shutdown: ShutdownHandle,
}

impl Running {
    /// Waits for every loop's server to finish its drain; each loop's
    /// summary in loop order, or the first failure, naming its loop.
    pub fn wait(self) -> Result<Vec<Summary>, String> {
        let results = self.loops.join().map_err(|e| e.to_string())?;
        results
            .into_iter()
            .enumerate()
            .map(|(index, result)| result.map_err(|e| format!("loop {index}: {e}")))
            .collect()
    }
}

/// Starts `plan.loops` loops. In each, `configure` finishes the loop's
/// `Server` (limits, signals) and `serve` runs it until its drain is over.
/// Returns once every loop listens; a loop that cannot bind or build its
/// server stops the others and is named in the error.
pub fn start<C, S>(plan: LoopsPlan, configure: C, serve: S) -> Result<Running, String>
where
    C: Fn(Server) -> Server + Send + Sync + 'static,
    S: Fn(Server) -> io::Result<Summary> + Send + Sync + 'static,
{
    let LoopsPlan {
        loops: count,
        pin,
        addr,
        backlog,
    } = plan;
    let shared = SharedAddr::default();
    let (ready_tx, ready) = mpsc::channel();
    let ready_tx = Mutex::new(ready_tx);
    let loops = Loops::builder(count)
        .pin_to_cores(pin)
        .thread_name("echo-loop")
        .spawn(move |lp: Loop| -> io::Result<Summary> {
            let server = shared
                .bind(&lp, addr, backlog)
                .and_then(|listener| Ok(configure(Server::new(listener)?)));
            let announce = server.as_ref().map_err(|e| e.to_string()).and_then(|s| {
                let at = s.local_addr().map_err(|e| e.to_string())?;
                Ok((at, s.shutdown_handle()))
            });
            let _ = ready_tx.lock().unwrap().send((lp.index(), announce));
            let server = server?;
            // A failing loop stops the set: drain this loop's server too.
            let stop = server.shutdown_handle();
            let watcher = lp.clone();
            weft::task::Builder::new().daemon(true).spawn(move || {
                watcher.wait_stop();
                stop.shutdown();
            })?;
            let summary = serve(server);
            if summary.is_err() {
                lp.stop();
            }
            summary
        })
        .map_err(|e| e.to_string())?;
    let mut handles = Vec::with_capacity(count);
    let mut listening = None;
    // The lowest loop's error is the cause (the others wait on loop 0's bind).
    let mut failed: Option<(usize, String)> = None;
    for _ in 0..count {
        match ready.recv() {
            Ok((_, Ok((at, handle)))) => {
                listening.get_or_insert(at);
                handles.push(handle);
            }
            Ok((index, Err(e))) => {
                if failed.as_ref().is_none_or(|(first, _)| index < *first) {
                    failed = Some((index, format!("loop {index} of {count}: {e}")));
                }
            }
            Err(_) => {
                let e = "a loop ended before it listened".to_owned();
                failed.get_or_insert((count, e));
                break;
            }
        }
    }
    if let Some((_, e)) = failed {
        loops.stop();
        let _ = loops.join();
        return Err(e);
    }
    Ok(Running {
        loops,
        addr: listening.expect("at least one loop"),
        shutdown: handles.into_iter().collect(),
    })
}

/// The address every loop binds: loop 0's, once it has bound (so port 0
/// means one port picked by the kernel, shared by all), or loop 0's error.
#[derive(Default)]
struct SharedAddr {
    addr: Mutex<Option<Result<SocketAddr, String>>>,
    bound: Condvar,
}

impl SharedAddr {
    /// Binds this loop's listener. Loops after the first wait (blocking
    /// their own OS thread, before they serve anything) for loop 0's address.
    fn bind(&self, lp: &Loop, wanted: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        let options = ListenOptions::new().reuse_port(true).backlog(backlog);
        if lp.index() == 0 {
            let listener = options.bind(wanted).and_then(|l| Ok((l.local_addr()?, l)));
            let shown = listener
                .as_ref()
                .map(|(a, _)| *a)
                .map_err(|e| e.to_string());
            *self.addr.lock().unwrap() = Some(shown);
            self.bound.notify_all();
            return listener.map(|(_, l)| l);
        }
        let mut addr = self.addr.lock().unwrap();
        while addr.is_none() {
            addr = self.bound.wait(addr).unwrap();
        }
        let at = addr.clone().expect("set by loop 0");
        drop(addr);
        options.bind(at.map_err(|e| io::Error::other(format!("loop 0 could not bind: {e}")))?)
    }
}
