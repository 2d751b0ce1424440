//! weft: green threads for Rust.
#![warn(missing_docs, missing_debug_implementations)]

pub use weft_net as net;
pub use weft_runtime::*;
