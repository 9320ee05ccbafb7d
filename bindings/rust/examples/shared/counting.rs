// The post's counting allocator, over any GlobalAlloc: it adds every size
// it hands out to ALLOCATED and every size it takes back to FREED (atomics,
// so it needs no lock and never allocates), and the report the post prints
// from them: bytes allocated before main, and what a few std constructs
// allocate. examples/counting_system.rs and counting_heapkit.rs make it the
// global allocator over System and over Heapkit.
use std::alloc::{GlobalAlloc, Layout};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

pub static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
pub static FREED: AtomicUsize = AtomicUsize::new(0);
pub static CALLS: AtomicUsize = AtomicUsize::new(0);

pub struct Counter<A>(pub A);

unsafe impl<A: GlobalAlloc> GlobalAlloc for Counter<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), SeqCst);
            CALLS.fetch_add(1, SeqCst);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), SeqCst);
            CALLS.fetch_add(1, SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.dealloc(ptr, layout);
        FREED.fetch_add(layout.size(), SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = self.0.realloc(ptr, layout, new_size);
        if !p.is_null() {
            // counted as the post's Counter would see it through the default realloc: a new block, the old one freed
            ALLOCATED.fetch_add(new_size, SeqCst);
            FREED.fetch_add(layout.size(), SeqCst);
            CALLS.fetch_add(1, SeqCst);
        }
        p
    }
}

// Printing through stderr with format_args! allocates nothing (the post's finding).
pub fn print(args: std::fmt::Arguments<'_>) {
    std::io::stderr().write_fmt(args).unwrap();
}

// Bytes allocated by `construct`, as the post measured them (allocated, not net).
fn measure(name: &str, construct: &dyn Fn()) {
    let before = ALLOCATED.load(SeqCst);
    construct();
    let after = ALLOCATED.load(SeqCst);
    print(format_args!("  {:<52} {:>6} bytes\n", name, after - before));
}

// The post's report; `allocator` names the allocator under the counter.
#[allow(clippy::explicit_write)] // the post measures these very constructs, not eprint!
pub fn report(allocator: &str) {
    let allocated = ALLOCATED.load(SeqCst);
    let in_use = allocated - FREED.load(SeqCst);
    let calls = CALLS.load(SeqCst);
    print(format_args!("counting allocator over {}\n", allocator));
    print(format_args!(
        "  allocated before main: {} bytes in {} allocations, {} still in use\n",
        allocated, calls, in_use
    ));
    print(format_args!("bytes each construct allocates (the first use; later ones may allocate less):\n"));
    measure("std::io::stderr().write(b\"hello\\n\")", &|| {
        std::io::stderr().write_all(b"hello\n").unwrap();
    });
    measure("std::io::stderr().write_fmt(format_args!(\"{}\", 1))", &|| {
        std::io::stderr().write_fmt(format_args!("{}\n", 1)).unwrap();
    });
    measure("eprintln!()", &|| eprintln!());
    measure("println!()", &|| println!());
    measure("std::io::stdout().write(b\"\")", &|| {
        std::io::stdout().write_all(b"").unwrap();
    });
    measure("String::from(\"main\")", &|| drop(String::from("main")));
    measure("vec![0u64; 100]", &|| drop(vec![0u64; 100]));
    measure("std::env::args().collect::<Vec<String>>()", &|| drop(std::env::args().collect::<Vec<String>>()));
}
