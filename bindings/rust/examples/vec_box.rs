//! Vec and Box workloads on heapkit malloc, with heapkit's figures after
//! each: a vector grown by push to 64 MiB (realloc moves it to a huge block
//! that then grows in place), a million small boxes in a linked list, vectors
//! of vectors freed in an interleaved order, and page-aligned boxes. At the
//! end `heapkit::purge()` gives the freed memory back to the OS at once.
//!
//!     cargo run --offline --release --example vec_box
use std::time::Instant;

use heapkit::Heapkit;

#[global_allocator]
static GLOBAL: Heapkit = Heapkit;

fn show(phase: &str, started: Instant) {
    let s = heapkit::stats();
    println!(
        "{:<34} {:>7.1} ms  live {:>8} blocks {:>10} bytes  mapped {:>6} KiB (peak {} KiB)",
        phase,
        started.elapsed().as_secs_f64() * 1e3,
        s.live_blocks,
        s.live_block_bytes,
        s.mapped_bytes / 1024,
        s.mapped_peak / 1024
    );
}

struct Node {
    value: u64,
    next: Option<Box<Node>>,
}

#[repr(align(4096))]
struct Page([u64; 512]);

fn main() {
    let t = Instant::now();
    let mut v: Vec<u64> = Vec::new();
    for i in 0..(8u64 << 20) {
        v.push(i);
    }
    let sum: u64 = v.iter().sum();
    assert_eq!(sum, (8u64 << 20) * ((8u64 << 20) - 1) / 2);
    show("Vec<u64>: 8 Mi pushes (64 MiB)", t);
    drop(v);

    let t = Instant::now();
    let mut list: Option<Box<Node>> = None;
    for i in 0..1_000_000u64 {
        list = Some(Box::new(Node { value: i, next: list }));
    }
    show("1M boxed list nodes", t);
    let (mut n, mut total) = (0u64, 0u64);
    while let Some(node) = list {
        total += node.value;
        n += 1;
        list = node.next; // unlinked one by one: no recursive drop
    }
    assert_eq!((n, total), (1_000_000, 999_999 * 1_000_000 / 2));
    show("  freed", t);

    let t = Instant::now();
    let mut rows: Vec<Vec<u32>> = (0..100_000u32).map(|i| (0..(i % 200)).collect()).collect();
    show("100k Vec<u32> of 0..200 elements", t);
    let mut i = 0;
    rows.retain(|_| {
        i += 1;
        i % 3 != 0
    }); // every third freed: holes in every page
    for r in rows.iter_mut() {
        r.extend_from_slice(&[7; 16]); // grow the survivors
    }
    show("  a third freed, the rest grown", t);
    drop(rows);

    let t = Instant::now();
    let pages: Vec<Box<Page>> = (0..10_000u64).map(|i| Box::new(Page([i; 512]))).collect();
    assert!(pages.iter().all(|p| &**p as *const Page as usize % 4096 == 0));
    assert_eq!(pages[9_999].0[511], 9_999);
    show("10k 4096-aligned Box<Page>", t);
    drop(pages);

    let t = Instant::now();
    let released = heapkit::purge();
    show(if released { "heapkit::purge(): memory released" } else { "heapkit::purge(): nothing to release" }, t);
}
