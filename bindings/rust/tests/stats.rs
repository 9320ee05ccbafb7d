// heapkit::stats() and heapkit::purge(): exact counts for what this thread
// allocates through Heapkit (called directly; the binary's global allocator
// stays System, so the test harness allocates elsewhere), and purge()
// giving back a freed huge block. One test per figure would race on the
// process-wide sums, so the figures are checked in one test, and the tests
// take turns (SERIAL).
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::Mutex;

use heapkit::Heapkit;

static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn stats_count_blocks_and_purge_returns_memory() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let layout = Layout::from_size_align(100, 8).unwrap();
    let before = heapkit::stats();
    let blocks: Vec<*mut u8> = (0..1000).map(|_| unsafe { Heapkit.alloc(layout) }).collect();
    let during = heapkit::stats();
    assert_eq!(during.allocations - before.allocations, 1000);
    assert_eq!(during.live_blocks - before.live_blocks, 1000);
    assert_eq!(during.live_block_bytes - before.live_block_bytes, 1000 * 112); // the 112-byte class
    assert!(during.mapped_bytes >= 112_000);
    assert!(during.mapped_peak >= during.mapped_bytes);
    for &b in blocks.iter() {
        unsafe { Heapkit.dealloc(b, layout) };
    }
    let after = heapkit::stats();
    assert_eq!(after.frees - during.frees, 1000);
    assert_eq!(after.live_blocks, before.live_blocks);
    assert_eq!(after.live_block_bytes, before.live_block_bytes);

    // A freed 64 MiB block waits in the huge cache; purge() unmaps it now.
    let big = Layout::from_size_align(64 << 20, 16).unwrap();
    unsafe {
        let p = Heapkit.alloc(big);
        assert!(!p.is_null());
        std::ptr::write_bytes(p, 1, big.size());
        assert!(heapkit::stats().mapped_bytes >= 64 << 20);
        Heapkit.dealloc(p, big);
    }
    let cached = heapkit::stats();
    assert!(cached.mapped_bytes >= 64 << 20, "{:?}", cached);
    assert!(heapkit::purge(), "purge() released nothing: {:?}", heapkit::stats());
    let purged = heapkit::stats();
    assert!(purged.mapped_bytes + (64 << 20) <= cached.mapped_bytes, "{:?} then {:?}", cached, purged);
    assert_eq!(purged.huge_cache_blocks, 0);
    assert!(purged.mapped_peak >= 64 << 20);
}

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
}

#[test]
fn the_process_malloc_stays_glibc() {
    // The crate links heapkit malloc's core, which does not define malloc: C code and
    // System keep glibc's allocator, and only Heapkit's calls reach heapkit.
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = heapkit::stats();
    let layout = Layout::from_size_align(100, 8).unwrap();
    unsafe {
        let c: Vec<*mut c_void> = (0..100).map(|_| malloc(100)).collect();
        let s: Vec<*mut u8> = (0..100).map(|_| System.alloc(layout)).collect();
        c.iter().for_each(|&p| free(p));
        s.iter().for_each(|&p| System.dealloc(p, layout));
    }
    let after = heapkit::stats();
    assert_eq!(after.allocations, before.allocations);
    assert_eq!(after.frees, before.frees);
}
