//! The post's counting allocator over `System` (glibc's malloc): how many
//! bytes the Rust runtime allocates before `main`, and what a few std
//! constructs allocate. Compare with `counting_heapkit`: the same counts,
//! because Rust asks for the same layouts whichever allocator serves them.
//!
//!     cargo run --offline --example counting_system
#[path = "shared/counting.rs"]
mod counting;

use std::alloc::System;

#[global_allocator]
static GLOBAL: counting::Counter<System> = counting::Counter(System);

fn main() {
    counting::report("System (glibc malloc)");
}
