// live_counter: the live bytes, live blocks and peak of an allocator or
// wrapper that may be shared between threads, as relaxed atomics.
//
// Invariants: bytes() is the sum of the sizes of blocks counted in and not
// yet out; peak() >= every value bytes() had (a concurrent raise may lag
// until the next read, which takes the max with the current value).
// Constant-initialisable and trivially destructible.
#pragma once

#include <heapkit/allocator.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>

namespace heapkit::detail {

class live_counter {
public:
    constexpr live_counter() noexcept = default;

    // A block of `bytes` was handed out.
    void allocated(std::size_t bytes) noexcept {
        blocks_.fetch_add(1, std::memory_order_relaxed);
        raise(bytes);
    }
    // A block of `bytes` came back.
    void freed(std::size_t bytes) noexcept {
        bytes_.fetch_sub(bytes, std::memory_order_relaxed);
        blocks_.fetch_sub(1, std::memory_order_relaxed);
    }
    // A live block changed size.
    void resized(std::size_t old_bytes, std::size_t new_bytes) noexcept {
        bytes_.fetch_sub(old_bytes, std::memory_order_relaxed);
        raise(new_bytes);
    }
    // Every block came back at once (deallocate_all); the peak stays.
    void reset() noexcept {
        bytes_.store(0, std::memory_order_relaxed);
        blocks_.store(0, std::memory_order_relaxed);
    }

    std::size_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
    std::size_t blocks() const noexcept { return blocks_.load(std::memory_order_relaxed); }
    std::size_t peak() const noexcept { return std::max(peak_.load(std::memory_order_relaxed), bytes()); }

    // Writes live_bytes, live_blocks and peak_bytes into `s`.
    void fill(allocator_stats& s) const noexcept {
        s.live_bytes = bytes();
        s.live_blocks = blocks();
        s.peak_bytes = std::max(peak_.load(std::memory_order_relaxed), s.live_bytes);
    }

private:
    void raise(std::size_t bytes) noexcept {
        const std::size_t live = bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
        std::size_t peak = peak_.load(std::memory_order_relaxed);
        while (live > peak && !peak_.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
        }
    }

    std::atomic<std::size_t> bytes_{0};   // sum of the sizes of live blocks
    std::atomic<std::size_t> blocks_{0};  // live blocks
    std::atomic<std::size_t> peak_{0};    // >= every value bytes_ had (see peak())
};

}  // namespace heapkit::detail
