//! Green sockets for weft.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
