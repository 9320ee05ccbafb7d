//! The post's tracing allocator, over `Heapkit`: one line per call on
//! standard error, formatted into a buffer on the stack and written with
//! write(2), so tracing never allocates (println! inside an allocator would
//! recurse into it). The tracer checks that: a call that arrives while a line
//! is being formatted aborts the program with a message.
//!
//!     cargo run --offline --example tracing
//!
//! Tracing is on only inside `traced(..)`, to show what `Vec`, `Box` and
//! `String` ask of the allocator without the runtime's own calls.
use std::alloc::{GlobalAlloc, Layout};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use heapkit::Heapkit;

extern "C" {
    // libc's write(2); std links libc already, and this never allocates.
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn abort() -> !;
}

static TRACING: AtomicBool = AtomicBool::new(false);
static FORMATTING: AtomicUsize = AtomicUsize::new(0); // > 0 while a line is formatted

// A line on the stack. Invariant: len <= buf.len(); text past the end is dropped.
struct Line {
    buf: [u8; 160],
    len: usize,
}

impl std::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn emit(args: std::fmt::Arguments<'_>) {
    FORMATTING.fetch_add(1, SeqCst);
    let mut line = Line { buf: [0; 160], len: 0 };
    let _ = line.write_fmt(args);
    FORMATTING.fetch_sub(1, SeqCst);
    unsafe { write(2, line.buf.as_ptr(), line.len) };
}

fn check_not_reentered() {
    if FORMATTING.load(SeqCst) > 0 {
        let msg = b"tracing: the tracer allocated while formatting a line\n";
        unsafe {
            write(2, msg.as_ptr(), msg.len());
            abort();
        }
    }
}

struct Tracing<A>(A);

unsafe impl<A: GlobalAlloc> GlobalAlloc for Tracing<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check_not_reentered();
        let p = self.0.alloc(layout);
        if TRACING.load(SeqCst) {
            emit(format_args!("alloc({}, align {}) = {:p}\n", layout.size(), layout.align(), p));
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check_not_reentered();
        let p = self.0.alloc_zeroed(layout);
        if TRACING.load(SeqCst) {
            emit(format_args!("alloc_zeroed({}, align {}) = {:p}\n", layout.size(), layout.align(), p));
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        check_not_reentered();
        self.0.dealloc(ptr, layout);
        if TRACING.load(SeqCst) {
            emit(format_args!("dealloc({:p}, {}, align {})\n", ptr, layout.size(), layout.align()));
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check_not_reentered();
        let p = self.0.realloc(ptr, layout, new_size);
        if TRACING.load(SeqCst) {
            emit(format_args!(
                "realloc({:p}, {} -> {}, align {}) = {:p}\n",
                ptr,
                layout.size(),
                new_size,
                layout.align(),
                p
            ));
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Tracing<Heapkit> = Tracing(Heapkit);

fn traced(what: &str, f: impl FnOnce()) {
    emit(format_args!("-- {}\n", what));
    TRACING.store(true, SeqCst);
    f();
    TRACING.store(false, SeqCst);
}

fn main() {
    traced("let mut v = Vec::new(); push 0..20 (u32)", || {
        let mut v: Vec<u32> = Vec::new();
        for i in 0..20 {
            v.push(i);
        }
        assert_eq!(v.len(), 20);
    });
    traced("Box::new([0u8; 100]) and a Box<dyn Fn>", || {
        let b = Box::new([0u8; 100]);
        let f: Box<dyn Fn(u32) -> u32> = Box::new(move |x| x + b[0] as u32);
        assert_eq!(f(1), 1);
    });
    traced("format!(\"{}-{}\", \"heap\", \"kit\").to_uppercase()", || {
        let s = format!("{}-{}", "heap", "kit").to_uppercase();
        assert_eq!(s, "HEAP-KIT");
    });
    traced("vec![0u8; 1 << 20] (alloc_zeroed: heapkit hands out fresh pages)", || {
        let z = vec![0u8; 1 << 20];
        assert_eq!(z[12345], 0);
    });
    traced("a 4096-aligned struct in a Box", || {
        #[repr(align(4096))]
        struct Page([u8; 4096]);
        let p = Box::new(Page([1; 4096]));
        assert_eq!(&*p as *const Page as usize % 4096, 0);
        assert_eq!(p.0[4095], 1);
    });
    let s = heapkit::stats();
    emit(format_args!("heapkit: {} live blocks, {} bytes in them\n", s.live_blocks, s.live_block_bytes));
}
