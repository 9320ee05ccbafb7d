// Rust never passes a zero-sized layout to a global allocator, and heapkit
// needs none: a recording wrapper over Heapkit (this binary's global
// allocator) counts every call with size 0 in the process, and the calls of
// the test's own thread (the harness's thread may allocate meanwhile), while
// zero-sized types, empty collections and the usual std types are made,
// grown and dropped.
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use heapkit::Heapkit;

static ZERO_SIZED_CALLS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    // const-initialised, no destructor: reading it never allocates
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn count_call() {
    CALLS.with(|c| c.set(c.get() + 1));
}

fn calls() -> usize {
    CALLS.with(|c| c.get())
}

struct Recording;

unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_call();
        if layout.size() == 0 {
            ZERO_SIZED_CALLS.fetch_add(1, Relaxed);
        }
        Heapkit.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_call();
        if layout.size() == 0 {
            ZERO_SIZED_CALLS.fetch_add(1, Relaxed);
        }
        Heapkit.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() == 0 {
            ZERO_SIZED_CALLS.fetch_add(1, Relaxed);
        }
        Heapkit.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_call();
        if layout.size() == 0 || new_size == 0 {
            ZERO_SIZED_CALLS.fetch_add(1, Relaxed);
        }
        Heapkit.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

#[test]
fn no_zero_sized_layout_reaches_the_allocator() {
    let calls_before = calls();
    {
        // Zero-sized values and empty collections allocate nothing at all.
        let units: Vec<()> = vec![(); 1_000_000];
        let boxed_unit = Box::new(());
        let empty_string = String::new();
        let empty_vec: Vec<u64> = Vec::new();
        let empty_map: BTreeMap<u32, u32> = BTreeMap::new();
        let empty_slice: Box<[u32]> = Vec::new().into_boxed_slice();
        assert_eq!(units.len(), 1_000_000);
        drop((boxed_unit, empty_string, empty_vec, empty_map, empty_slice));
    }
    assert_eq!(calls(), calls_before, "zero-sized values called the allocator");

    // Collections that grow from empty and shrink back to empty.
    let mut v: Vec<u32> = Vec::new();
    for i in 0..1000 {
        v.push(i);
    }
    v.clear();
    v.shrink_to_fit();
    let mut s = String::new();
    for _ in 0..100 {
        s.push_str("abc");
    }
    s.clear();
    s.shrink_to_fit();
    let mut h: HashMap<u32, String> = HashMap::new();
    for i in 0..100 {
        h.insert(i, i.to_string());
    }
    h.clear();
    h.shrink_to_fit();
    assert!(calls() > calls_before);
    assert_eq!(ZERO_SIZED_CALLS.load(Relaxed), 0);
}
