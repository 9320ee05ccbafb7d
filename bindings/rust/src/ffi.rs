//! ffi: the C entry points of heapkit malloc this crate calls
//! (include/heapkit/malloc.hpp and include/heapkit/malloc_stats.h), linked
//! statically by build.rs from libheapkit_malloc.a. None of them defines or
//! calls the process's malloc: a program keeps glibc's malloc for C code and
//! reaches heapkit only through `Heapkit`.
//!
//! Invariant: every signature here matches the C declaration exactly (sizes
//! are `size_t` = `usize`, `int` = `i32`, `bool` = `bool`).

use core::ffi::c_void;

/// The C `struct hk_stats`, field for field; it only grows at its end.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HkStats {
    pub allocations: u64,
    pub frees: u64,
    pub live_blocks: u64,
    pub live_block_bytes: u64,
    pub mapped_bytes: u64,
    pub mapped_peak: u64,
    pub huge_cache_blocks: u64,
    pub huge_cache_bytes: u64,
}

extern "C" {
    // Every block is at least 16-aligned; NULL (errno = ENOMEM) on failure.
    pub fn hk_malloc(size: usize) -> *mut c_void;
    pub fn hk_calloc(count: usize, size: usize) -> *mut c_void;
    // `align` a power of two (else NULL, errno = EINVAL); any size.
    pub fn hk_aligned_alloc(align: usize, size: usize) -> *mut c_void;
    pub fn hk_aligned_zalloc(align: usize, size: usize) -> *mut c_void;
    // Keeps `align` and the contents; NULL on failure with `p` intact; never frees for size 0.
    pub fn hk_realloc_aligned(p: *mut c_void, size: usize, align: usize) -> *mut c_void;
    pub fn hk_free(p: *mut c_void);
    // Returns unused memory of this thread and of exited threads to the OS; 1 if any was released.
    pub fn hk_trim() -> i32;
    // The statistics table on a file descriptor, written without allocating.
    pub fn hk_print_stats(fd: i32);
    // Fills min(size, sizeof(struct hk_stats)) bytes of *out; returns sizeof(struct hk_stats).
    pub fn hk_get_stats(out: *mut HkStats, size: usize) -> usize;
}
