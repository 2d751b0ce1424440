//! Plumbing the seed-recipe examples share: the sink a demo writes its lines
//! through (stdout in `main`, a vector in the tests, so they check exactly
//! what a user sees) and the exit for an unknown variant.
//!
//! It is a directory module so that cargo does not build it as an example
//! of its own; each example says `mod support;`.

use std::rc::Rc;

/// Where a demo writes its output, one line per call.
#[allow(dead_code)] // some examples take `impl Fn(String)` instead
pub type Out = Rc<dyn Fn(String)>;

/// The sink of `main`: prints the line on stdout.
pub fn print(line: String) {
    println!("{line}");
}

/// Exits with status 2, saying that `other` is none of `variants`.
#[allow(dead_code)] // not every example has variants
pub fn unknown_variant(other: &str, variants: &str) -> ! {
    eprintln!("unknown variant {other:?}; use one of: {variants}");
    std::process::exit(2);
}

/// Runs `f` with a sink that records each line; returns the lines in order.
#[cfg(test)]
pub fn capture(f: impl FnOnce(Out)) -> Vec<String> {
    let lines = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = lines.clone();
    f(Rc::new(move |line| sink.borrow_mut().push(line)));
    let lines = lines.borrow().clone();
    lines
}
