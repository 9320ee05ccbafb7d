//! stats: heapkit malloc's figures and its purge, as safe functions.
//!
//! The figures are sums over every thread's heap, read through
//! `hk_get_stats` (include/heapkit/malloc_stats.h): exact once the threads
//! involved are quiet, approximate while they allocate. They count blocks
//! (a 100-byte request is a 112-byte block), and only what heapkit malloc
//! served: with `Heapkit` as the global allocator, Rust's allocations, not
//! the C libraries' (which keep glibc's malloc). None of these functions
//! allocates, so an allocator wrapping `Heapkit` may call them.

use core::mem::size_of;

use crate::ffi;

/// A snapshot of heapkit malloc's statistics (see [`stats`]).
///
/// `live_blocks` and `live_block_bytes` are exact when the threads are
/// quiet. `allocations` and `frees` are counted per page, not per call:
/// heapkit adds the change of a page's block count when its slow path or a
/// statistics read visits the page, so a block allocated and freed again
/// between two visits is in neither. They tell how many blocks came and went,
/// not how many calls were made; count calls with a wrapper (examples/counting_heapkit.rs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Blocks handed out so far (counted per page, see above).
    pub allocations: u64,
    /// Blocks taken back so far (counted per page).
    pub frees: u64,
    /// `allocations - frees`.
    pub live_blocks: u64,
    /// Bytes of the live blocks (block sizes, at least the sizes asked for).
    pub live_block_bytes: u64,
    /// Bytes mapped from the OS now (segments and huge blocks).
    pub mapped_bytes: u64,
    /// The largest `mapped_bytes` so far.
    pub mapped_peak: u64,
    /// Freed huge mappings kept for reuse (returned by [`purge`] or after the purge delay).
    pub huge_cache_blocks: u64,
    /// Bytes of them that may be resident.
    pub huge_cache_bytes: u64,
}

/// heapkit malloc's statistics now.
///
/// ```
/// let before = heapkit::stats();
/// let b = unsafe { std::alloc::GlobalAlloc::alloc(&heapkit::Heapkit, std::alloc::Layout::new::<[u8; 100]>()) };
/// let after = heapkit::stats();
/// assert_eq!(after.allocations - before.allocations, 1);
/// assert_eq!(after.live_block_bytes - before.live_block_bytes, 112); // the 112-byte class
/// unsafe { std::alloc::GlobalAlloc::dealloc(&heapkit::Heapkit, b, std::alloc::Layout::new::<[u8; 100]>()) };
/// ```
pub fn stats() -> Stats {
    let mut raw = ffi::HkStats::default();
    // SAFETY: `raw` is a valid, writable HkStats; the library writes at most the size passed.
    unsafe { ffi::hk_get_stats(&mut raw, size_of::<ffi::HkStats>()) };
    Stats {
        allocations: raw.allocations,
        frees: raw.frees,
        live_blocks: raw.live_blocks,
        live_block_bytes: raw.live_block_bytes,
        mapped_bytes: raw.mapped_bytes,
        mapped_peak: raw.mapped_peak,
        huge_cache_blocks: raw.huge_cache_blocks,
        huge_cache_bytes: raw.huge_cache_bytes,
    }
}

/// Returns the memory heapkit malloc holds unused (empty pages of this
/// thread's heap and of exited threads' heaps, cached huge mappings) to the
/// OS now, rather than after the purge delay (`HEAPKIT_PURGE_DELAY`, 100 ms).
/// True when the mapped bytes went down.
pub fn purge() -> bool {
    // SAFETY: hk_trim has no preconditions.
    unsafe { ffi::hk_trim() != 0 }
}

/// Writes heapkit malloc's statistics table to standard error, without
/// allocating (the table `HEAPKIT_STATS=1` prints at exit).
pub fn print_stats() {
    // SAFETY: hk_print_stats writes to the descriptor with write(2); an invalid one only fails the write.
    unsafe { ffi::hk_print_stats(2) }
}
