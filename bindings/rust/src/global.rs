//! global: `Heapkit`, heapkit malloc behind Rust's `GlobalAlloc` trait.
//!
//! A unit struct with no state: every `Heapkit` value, and every thread,
//! shares heapkit malloc's per-thread heaps. Each method is one call into
//! the C entry points (src/ffi.rs), chosen by the layout's alignment:
//!
//!   align <= 16   hk_malloc / hk_calloc            (every heapkit block is 16-aligned)
//!   align  > 16   hk_aligned_alloc / hk_aligned_zalloc
//!   realloc       hk_realloc_aligned(ptr, new_size, align)   (keeps align and contents)
//!   dealloc       hk_free                         (heapkit finds the block from the pointer)
//!
//! Invariants: a pointer returned by any method is either null (out of
//! memory: `GlobalAlloc` callers then call `handle_alloc_error`) or aligned
//! to `layout.align()` with `layout.size()` usable bytes; realloc never
//! frees on failure, so the caller's block stays valid.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

use crate::ffi;

/// heapkit malloc as a Rust allocator. Make it the program's allocator with
///
/// ```
/// #[global_allocator]
/// static GLOBAL: heapkit::Heapkit = heapkit::Heapkit;
///
/// fn main() {
///     let v: Vec<u64> = (0..1000).collect();
///     assert_eq!(v.iter().sum::<u64>(), 499_500);
///     assert!(heapkit::stats().allocations > 0);
/// }
/// ```
///
/// or call it directly where the global allocator stays `System`:
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout};
/// let layout = Layout::from_size_align(100, 64).unwrap();
/// unsafe {
///     let p = heapkit::Heapkit.alloc_zeroed(layout);
///     assert!(!p.is_null() && p as usize % 64 == 0 && *p.add(99) == 0);
///     heapkit::Heapkit.dealloc(p, layout);
/// }
/// ```
///
/// Only Rust's allocations go to heapkit: the process's `malloc` (C
/// libraries, `System`) stays glibc's, because the crate links heapkit
/// malloc's core, which does not define `malloc`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heapkit;

/// Every heapkit block is aligned to 16 bytes (its size classes are
/// multiples of 16 in 16-aligned pages), so these alignments need no
/// aligned entry point.
const MIN_ALIGN: usize = 16;

unsafe impl GlobalAlloc for Heapkit {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            ffi::hk_malloc(layout.size()).cast()
        } else {
            ffi::hk_aligned_alloc(layout.align(), layout.size()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            ffi::hk_calloc(1, layout.size()).cast()
        } else {
            ffi::hk_aligned_zalloc(layout.align(), layout.size()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        ffi::hk_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ffi::hk_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
    }
}
