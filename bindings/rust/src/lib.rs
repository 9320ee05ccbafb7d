//! heapkit malloc for Rust programs.
//!
//! [`Heapkit`] implements [`GlobalAlloc`](core::alloc::GlobalAlloc) over
//! heapkit malloc, the project's thread-caching general-purpose allocator
//! (docs/malloc.md), linked statically: one line makes it the program's
//! allocator,
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: heapkit::Heapkit = heapkit::Heapkit;
//! # fn main() {}
//! ```
//!
//! and [`stats`], [`purge`] and [`print_stats`] report on it and give its
//! unused memory back to the OS. The crate has no dependency beyond the
//! standard library; build.rs finds heapkit (see bindings/rust/README.md).
//!
//! Layout of the crate: `ffi` (the C declarations), `global` (`Heapkit`),
//! `stats` (the safe functions).

mod ffi;
mod global;
mod stats;

pub use global::Heapkit;
pub use stats::{print_stats, purge, stats, Stats};
