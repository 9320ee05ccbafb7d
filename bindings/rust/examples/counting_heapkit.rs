//! The post's counting allocator over `Heapkit`: the bytes the Rust runtime
//! allocates before `main` (the same layouts as over `System`), and heapkit
//! malloc's own view of them: blocks (sizes rounded up to heapkit's classes)
//! and the memory mapped to hold them.
//!
//!     cargo run --offline --example counting_heapkit
#[path = "shared/counting.rs"]
mod counting;

use heapkit::Heapkit;

#[global_allocator]
static GLOBAL: counting::Counter<Heapkit> = counting::Counter(Heapkit);

fn main() {
    let s = heapkit::stats(); // read first: nothing below has allocated yet
    counting::print(format_args!(
        "heapkit before main: {} live blocks, {} bytes in blocks, {} KiB mapped\n",
        s.live_blocks,
        s.live_block_bytes,
        s.mapped_bytes / 1024
    ));
    counting::report("Heapkit (heapkit malloc)");
}
