//! A green thread that overflows its stack fails alone: its join says
//! `StackOverflow` with its name, stderr says how to give it more stack,
//! and every other task (and the process) goes on.
//!
//! Each scenario runs in a child process (this binary, re-run with
//! `WEFT_CHILD` set), so a regression that kills the process fails the test
//! instead of the whole test run.

mod util;

use std::cell::Cell;
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::rc::Rc;
use std::time::Duration;

use util::{child_mode, run_child};
use weft::{task, JoinError, RunError, Runtime};

/// Recursion the optimiser cannot turn into a loop: every frame keeps a
/// buffer alive across the call.
fn recurse(depth: u64) -> u64 {
    let buf = black_box([depth as u8; 512]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + u64::from(buf[0]) + u64::from(buf[511])
}

/// Ten tickers (each sleeping 2 ms twenty times) and one task recursing
/// without bound.
fn tickers_and_a_deep_task() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| {
        let ticks = Rc::new(Cell::new(0u32));
        let tickers: Vec<_> = (0..10)
            .map(|i| {
                let ticks = ticks.clone();
                task::Builder::new()
                    .name(format!("ticker-{i}"))
                    .spawn(move || {
                        for _ in 0..20 {
                            weft::sleep(Duration::from_millis(2));
                            ticks.set(ticks.get() + 1);
                        }
                    })
                    .unwrap()
            })
            .collect();
        let deep = task::Builder::new()
            .name("deep".into())
            .stack_size(64 * 1024)
            .spawn(|| {
                weft::sleep(Duration::from_millis(5)); // overflow mid-run
                recurse(0)
            })
            .unwrap();
        match deep.join() {
            Err(JoinError::StackOverflow { name, stack_size }) => {
                println!("JOIN StackOverflow name={name:?} stack_size={stack_size}");
            }
            other => println!("JOIN unexpected {other:?}"),
        }
        for t in tickers {
            t.join().unwrap();
        }
        println!("TICKS {}", ticks.get());
    })
    .unwrap();
    let m = rt.metrics();
    println!("OVERFLOWED {} ALIVE {}", m.tasks_overflowed, m.tasks_alive);
    // The runtime is still usable afterwards, stacks included.
    let again = rt.block_on(|| weft::spawn(|| recurse_to(1000)).join().unwrap());
    println!("AGAIN {}", again.unwrap());
}

fn recurse_to(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        black_box(recurse_to(n - 1)) + 1
    }
}

fn main_task_overflows() {
    let rt = Runtime::new().unwrap();
    let ticked = Rc::new(Cell::new(false));
    let t = ticked.clone();
    rt.spawn(move || {
        weft::sleep(Duration::from_millis(20));
        t.set(true);
    });
    match rt.block_on(|| recurse(0)) {
        Err(err @ RunError::MainOverflowed { .. }) => {
            println!("BLOCK_ON {err}");
        }
        other => println!("BLOCK_ON unexpected {other:?}"),
    }
    println!("TICKED {}", ticked.get());
}

fn null_write_in_a_task() {
    Runtime::new()
        .unwrap()
        .block_on(|| {
            let p: *mut u64 = black_box(std::ptr::null_mut());
            // SAFETY: not safe at all: this test checks that a fault that is
            // not a stack overflow still ends the process.
            unsafe { p.write_volatile(1) };
        })
        .unwrap();
}

/// A `Server` whose handler overflows its stack, drained after that: the
/// drain must still end (the handler's connection can never unwind).
fn server_handler_overflows() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let summary = weft::Builder::new()
            .stack_size(64 * 1024)
            .build()
            .unwrap()
            .block_on(|| {
                let server = weft::net::Server::bind("127.0.0.1:0")
                    .unwrap()
                    .drain_timeout(Duration::from_millis(100));
                let addr = server.local_addr().unwrap();
                let stop = server.shutdown_handle();
                weft::spawn(move || {
                    let _client = weft::net::TcpStream::connect(addr).unwrap();
                    weft::sleep(Duration::from_millis(200));
                    stop.shutdown();
                });
                server.serve(|_conn| {
                    recurse(0);
                    Ok(())
                })
            })
            .unwrap()
            .unwrap();
        let _ = tx.send(summary);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(s) => println!("DRAINED accepted={} cancelled={}", s.accepted, s.cancelled),
        Err(_) => println!("HUNG"),
    }
}

#[test]
fn child_entry() {
    match child_mode().as_deref() {
        Some("tickers") => tickers_and_a_deep_task(),
        Some("main") => main_task_overflows(),
        Some("null") => null_write_in_a_task(),
        Some("server") => server_handler_overflows(),
        _ => {}
    }
}

#[test]
fn a_server_drains_after_a_handler_overflowed() {
    let out = run_child("child_entry", "server");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("DRAINED accepted=1 cancelled=1"),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stderr.contains("overflowed its 64 KiB stack"), "{stderr}");
}

#[test]
fn an_overflowing_task_fails_alone_among_tickers() {
    let out = run_child("child_entry", "tickers");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("JOIN StackOverflow name=Some(\"deep\") stack_size=65536"),
        "{stdout}"
    );
    assert!(stdout.contains("TICKS 200"), "{stdout}");
    assert!(stdout.contains("OVERFLOWED 1 ALIVE 0"), "{stdout}");
    assert!(stdout.contains("AGAIN 1000"), "{stdout}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("overflowed"))
        .collect();
    assert_eq!(lines.len(), 1, "one message:\n{stderr}");
    let line = lines[0];
    assert!(line.contains("task 'deep'"), "{line}");
    assert!(line.contains("64 KiB stack"), "{line}");
    assert!(line.contains("task::Builder::stack_size"), "{line}");
    assert!(
        line.contains("rt_overflow.rs"),
        "names the spawn site: {line}"
    );
}

#[test]
fn an_overflowing_block_on_task_is_an_error_after_the_others_finish() {
    let out = run_child("child_entry", "main");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(
            "BLOCK_ON the block_on task failed: task 'main' overflowed its 256 KiB stack"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("TICKED true"), "{stdout}");
    assert!(stderr.contains("task 'main'"), "{stderr}");
}

#[test]
fn other_faults_still_end_the_process() {
    let out = run_child("child_entry", "null");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "a null write is not an overflow: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
