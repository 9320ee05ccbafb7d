// ring: one thread's buffer of encoded records, single producer (the thread,
// and signal handlers that interrupt it) and single consumer (whoever drains:
// the writer thread, or a producer draining under the drain lock).
//
//   data: [ ........ consumed ===== committed ===== reserve ....... ]
//                   |  drained   |  complete,   |  being written  |
//                   |  (free)    |  drainable   |  (not yet)      |
//
// Positions are byte counts since the ring was (re)started; they never wrap
// (offset = position % size). A record never wraps either: when it would not
// fit before the end of the buffer, the bytes up to the end are padding (0,
// a byte that is no record kind) and the record starts at offset 0. The
// consumer skips padding.
//
// Signal safety (reserve, then commit). A producer takes `reserve_max` bytes
// at `reserve` with a compare-and-swap of its own thread's word (no lock
// prefix needed: only the same CPU's signal handlers race with it), encodes,
// then gives back what it did not use (again by compare-and-swap: if a signal
// handler reserved after it meanwhile, the unused bytes stay as padding).
// `nesting` counts the appends in progress on the thread; only the outermost
// one publishes `committed`, so the consumer never sees a record that a
// signal handler interrupted half-written.
//
// Invariants: consumed <= committed <= reserve; reserve - consumed <= size;
// bytes in [consumed, committed) are complete records or padding.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace heapkit::trace::recorder {

inline constexpr std::size_t ring_bytes = 2u << 20;  // per thread; touched lazily by the kernel
inline constexpr std::uint8_t ring_padding = 0;      // a byte of nothing (no record kind is 0)

// A compare-and-swap that is atomic with respect to signal handlers on this CPU (no bus lock).
inline bool cas_local(std::uint64_t* p, std::uint64_t expected, std::uint64_t desired) noexcept {
#if defined(__x86_64__)
    std::uint64_t prev;
    asm volatile("cmpxchgq %2, %1" : "=a"(prev), "+m"(*p) : "r"(desired), "0"(expected) : "memory", "cc");
    return prev == expected;
#else
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#endif
}

struct ring {
    std::uint8_t* data = nullptr;             // ring_bytes, mmap'ed; nullptr until the slot's first use
    std::uint64_t reserve = 0;                // producer: end of the reserved bytes (only its thread writes it)
    std::uint64_t consumed_seen = 0;          // producer: `consumed` as last read (<= consumed)
    std::uint32_t nesting = 0;                // producer: appends in progress on the thread (signals nest)
    std::atomic<std::uint64_t> committed{0};  // producer -> consumer: bytes before it are complete
    // For the consumer's copying fast path (writer.cpp): where the padding before
    // each wrap starts (indexed by the wrap's parity), and the end of the last
    // of the rare appends that leave other bytes to skip (a signal handler's
    // record, padding left inside the ring). Both are written before the commit
    // that covers them.
    std::uint64_t pad_at[2] = {0, 0};
    std::atomic<std::uint64_t> irregular_until{0};

    void mark_irregular(std::uint64_t until) noexcept {
        if (irregular_until.load(std::memory_order_relaxed) < until)
            irregular_until.store(until, std::memory_order_relaxed);
    }
    alignas(64) std::atomic<std::uint64_t> consumed{0};  // consumer -> producer: bytes before it may be overwritten
                                                         // (a line of its own: the consumer writes it)

    // Free bytes the producer may reserve (from the cached `consumed`, refreshed when short).
    std::size_t free_bytes(std::size_t want) noexcept {
        std::size_t f = ring_bytes - static_cast<std::size_t>(reserve - consumed_seen);
        if (f < want) {
            consumed_seen = consumed.load(std::memory_order_acquire);
            f = ring_bytes - static_cast<std::size_t>(reserve - consumed_seen);
        }
        return f;
    }
    std::size_t used_bytes() const noexcept { return static_cast<std::size_t>(reserve - consumed_seen); }
    // used_bytes() after refreshing the cached `consumed` (the consumer may have emptied the ring since).
    std::size_t used_bytes_now() noexcept {
        consumed_seen = consumed.load(std::memory_order_acquire);
        return used_bytes();
    }

    // Reserves `max` contiguous bytes; nullptr when the ring lacks room (nothing reserved then).
    // On success `start` is the reservation's start position (before padding).
    std::uint8_t* begin(std::size_t max, std::uint64_t& start, std::uint64_t& end_reserved) noexcept {
        ++nesting;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        for (;;) {
            const std::uint64_t r = __atomic_load_n(&reserve, __ATOMIC_RELAXED);
            const std::size_t off = static_cast<std::size_t>(r % ring_bytes);
            const std::size_t pad = off + max > ring_bytes ? ring_bytes - off : 0;
            const std::uint64_t want = r + pad + max;
            if (want - consumed_seen > ring_bytes && want - consumed.load(std::memory_order_acquire) > ring_bytes) {
                std::atomic_signal_fence(std::memory_order_seq_cst);
                --nesting;
                return nullptr;
            }
            if (!cas_local(&reserve, r, want)) continue;  // a signal handler reserved first
            if (pad != 0) {
                std::memset(data + off, ring_padding, pad);
                __atomic_store_n(&pad_at[((r + pad) / ring_bytes) & 1], r, __ATOMIC_RELAXED);
            }
            start = r + pad;
            end_reserved = want;
            return data + (start % ring_bytes);
        }
    }

    // Ends an append that wrote [start, written_end).
    void end(std::uint64_t start, std::uint64_t end_reserved, const std::uint8_t* written_end) noexcept {
        const std::uint64_t used_to = start + static_cast<std::uint64_t>(written_end - (data + (start % ring_bytes)));
        if (used_to != end_reserved && !cas_local(&reserve, end_reserved, used_to)) {
            std::memset(data + (used_to % ring_bytes), ring_padding, static_cast<std::size_t>(end_reserved - used_to));
            mark_irregular(end_reserved);
        }
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (nesting != 1) {  // inside another append (a signal handler): the outer one commits
            --nesting;
            return;
        }
        const std::uint64_t c = __atomic_load_n(&reserve, __ATOMIC_RELAXED);
        committed.store(c, std::memory_order_release);  // no handler commits while nesting == 1
        std::atomic_signal_fence(std::memory_order_seq_cst);
        nesting = 0;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        // A handler that appended between the load and nesting = 0 left its bytes uncommitted.
        if (__atomic_load_n(&reserve, __ATOMIC_RELAXED) != c) commit_late();
    }

    // Publishes `reserve` unless a newer value already was (a monotonic max).
    void commit_late() noexcept {
        const std::uint64_t r = __atomic_load_n(&reserve, __ATOMIC_RELAXED);
        std::uint64_t c = committed.load(std::memory_order_relaxed);
        while (c < r && !committed.compare_exchange_weak(c, r, std::memory_order_release)) {
        }
    }

    // Back to empty at position 0 (a fork child; or a slot reused by a new thread).
    void restart() noexcept {
        reserve = 0;
        consumed_seen = 0;
        nesting = 0;
        committed.store(0, std::memory_order_relaxed);
        consumed.store(0, std::memory_order_relaxed);
        pad_at[0] = pad_at[1] = 0;
        irregular_until.store(0, std::memory_order_relaxed);
    }
};

}  // namespace heapkit::trace::recorder
