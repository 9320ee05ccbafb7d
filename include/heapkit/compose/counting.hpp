// heapkit::counting<A>: counts the calls, bytes and blocks that go through A
// (the post's Counter), cheaply under threads.
//
// Data structure: a fixed array of cache-line-sized slots. Each thread is
// given a slot number once (round robin) and adds to its own slot with
// relaxed atomics, so threads do not fight over one counter. snapshot() sums
// the slots. Live bytes travel to a shared total in batches of `flush_bytes`,
// and the peak is taken at those moments and at every snapshot:
//
//   slot[0] { calls, bytes allocated/freed, pending live delta } ─┐
//   slot[1] { ... }                                               ├─► snapshot() = sums
//   ...                                                          ─┘   peak = max live seen
//
// Invariants: every counter in a snapshot is exact once the threads that
// changed it have returned from their calls; live = allocated - freed;
// peak >= live, and peak is exact to within (slots x flush_bytes) of the true
// peak under concurrency (exact in a single thread up to flush_bytes).
//
// counting is constant-initialised and trivially destructible, so it can serve
// operator new before main and after exit (HEAPKIT_GLOBAL_ALLOCATOR).
#pragma once

#include <heapkit/allocator.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace heapkit {

// What counting<A>::snapshot() returns.
struct counting_snapshot {
    std::size_t allocations = 0;        // successful allocate / allocate_zeroed calls
    std::size_t deallocations = 0;      // deallocate calls
    std::size_t reallocations = 0;      // successful grow / shrink calls
    std::size_t failures = 0;           // calls that returned an empty block
    std::size_t bytes_allocated = 0;    // bytes requested by successful calls (a grow adds its new size)
    std::size_t bytes_freed = 0;        // bytes released (a grow releases its old size)
    std::size_t peak_bytes = 0;         // the largest live_bytes() seen

    std::size_t live_bytes() const noexcept { return bytes_allocated - bytes_freed; }
    std::size_t live_blocks() const noexcept { return allocations - deallocations; }
    std::size_t calls() const noexcept { return allocations + deallocations + reallocations + failures; }

    // The change from `before` to this snapshot (peak is kept as is).
    counting_snapshot since(const counting_snapshot& before) const noexcept {
        counting_snapshot d = *this;
        d.allocations -= before.allocations;
        d.deallocations -= before.deallocations;
        d.reallocations -= before.reallocations;
        d.failures -= before.failures;
        d.bytes_allocated -= before.bytes_allocated;
        d.bytes_freed -= before.bytes_freed;
        return d;
    }
};

namespace detail {
// The slot number of the calling thread, 0 until assigned. A plain integer in
// static TLS: reading it never allocates.
inline thread_local unsigned counting_slot_of_thread = 0;
inline constinit std::atomic<unsigned> counting_next_slot{0};
}  // namespace detail

template <allocator A>
class counting {
public:
    static constexpr unsigned slot_count = 16;
    static constexpr std::int64_t flush_bytes = 64 * 1024;

    constexpr counting() noexcept = default;
    // Builds the inner allocator from `args`.
    template <class... Args>
        requires(sizeof...(Args) > 0 && std::constructible_from<A, Args...>)
    constexpr explicit counting(std::in_place_t, Args&&... args) noexcept : inner_(static_cast<Args&&>(args)...) {}

    A& inner() noexcept { return inner_; }
    const A& inner() const noexcept { return inner_; }

    memory_block allocate(layout l) noexcept { return count_new(inner_.allocate(l), l); }

    memory_block allocate_zeroed(layout l) noexcept { return count_new(heapkit::allocate_zeroed(inner_, l), l); }

    void deallocate(void* p, layout l) noexcept {
        inner_.deallocate(p, l);
        slot& s = my_slot();
        add(s.deallocations, std::size_t{1});
        add(s.bytes_freed, l.size());
        move_live(s, -static_cast<std::int64_t>(l.size()));
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        return count_resize(heapkit::grow(inner_, p, old_layout, new_layout), old_layout, new_layout);
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        return count_resize(heapkit::shrink(inner_, p, old_layout, new_layout), old_layout, new_layout);
    }

    bool owns(const void* p) const noexcept
        requires has_owns<A>
    {
        return inner_.owns(p);
    }
    std::size_t usable_size(const void* p, layout l) const noexcept { return heapkit::usable_size(inner_, p, l); }

    // The figures so far (see the header comment for their exactness).
    //
    // The frees are summed before the allocations, with acquire loads that
    // pair with the release adds: a free that the sum sees happened after
    // its block's allocation, so that allocation is seen too, and live bytes
    // and blocks never come out negative while other threads run.
    counting_snapshot snapshot() const noexcept {
        counting_snapshot c;
        std::int64_t pending = 0;
        for (const slot& s : slots_) {
            c.deallocations += s.deallocations.load(std::memory_order_acquire);
            c.bytes_freed += s.bytes_freed.load(std::memory_order_acquire);
            pending += s.pending_live.load(std::memory_order_relaxed);
        }
        for (const slot& s : slots_) {
            c.allocations += s.allocations.load(std::memory_order_acquire);
            c.reallocations += s.reallocations.load(std::memory_order_acquire);
            c.failures += s.failures.load(std::memory_order_relaxed);
            c.bytes_allocated += s.bytes_allocated.load(std::memory_order_acquire);
        }
        const std::int64_t live = shared_live_.load(std::memory_order_relaxed) + pending;
        raise_peak(live);
        c.peak_bytes = std::max(peak_.load(std::memory_order_relaxed), c.live_bytes());
        return c;
    }

    allocator_stats stats() const noexcept {
        const counting_snapshot c = snapshot();
        allocator_stats s = heapkit::stats(inner_);
        s.live_bytes = c.live_bytes();
        s.live_blocks = c.live_blocks();
        s.peak_bytes = c.peak_bytes;
        return s;
    }

private:
    struct alignas(64) slot {
        std::atomic<std::size_t> allocations{0};
        std::atomic<std::size_t> deallocations{0};
        std::atomic<std::size_t> reallocations{0};
        std::atomic<std::size_t> failures{0};
        std::atomic<std::size_t> bytes_allocated{0};
        std::atomic<std::size_t> bytes_freed{0};
        std::atomic<std::int64_t> pending_live{0};  // live-byte change not yet moved to shared_live_
    };

    slot& my_slot() noexcept {
        unsigned i = detail::counting_slot_of_thread;
        if (i == 0) {
            i = detail::counting_next_slot.fetch_add(1, std::memory_order_relaxed) % slot_count + 1;
            detail::counting_slot_of_thread = i;
        }
        return slots_[i - 1];
    }

    template <class T>
    static void add(std::atomic<T>& c, T v) noexcept {
        // Only contended when threads share a slot. Release (free on x86, where
        // every RMW is a full barrier) orders the counts for snapshot().
        c.fetch_add(v, std::memory_order_release);
    }

    memory_block count_new(memory_block b, layout l) noexcept {
        slot& s = my_slot();
        if (!b) {
            add(s.failures, std::size_t{1});
            return b;
        }
        add(s.allocations, std::size_t{1});
        add(s.bytes_allocated, l.size());
        move_live(s, static_cast<std::int64_t>(l.size()));
        return b;
    }

    memory_block count_resize(memory_block b, layout old_layout, layout new_layout) noexcept {
        slot& s = my_slot();
        if (!b) {
            add(s.failures, std::size_t{1});
            return b;
        }
        add(s.reallocations, std::size_t{1});
        add(s.bytes_allocated, new_layout.size());
        add(s.bytes_freed, old_layout.size());
        move_live(s, static_cast<std::int64_t>(new_layout.size()) - static_cast<std::int64_t>(old_layout.size()));
        return b;
    }

    void move_live(slot& s, std::int64_t delta) noexcept {
        std::int64_t pending = s.pending_live.fetch_add(delta, std::memory_order_relaxed) + delta;
        if (pending >= flush_bytes || pending <= -flush_bytes) {
            pending = s.pending_live.exchange(0, std::memory_order_relaxed);
            const std::int64_t live = shared_live_.fetch_add(pending, std::memory_order_relaxed) + pending;
            raise_peak(live);
        } else if (delta > 0) {
            // A cheap local estimate keeps the single-threaded peak exact.
            raise_peak(shared_live_.load(std::memory_order_relaxed) + pending);
        }
    }

    void raise_peak(std::int64_t live) const noexcept {
        if (live <= 0) return;
        std::size_t v = static_cast<std::size_t>(live);
        std::size_t peak = peak_.load(std::memory_order_relaxed);
        while (v > peak && !peak_.compare_exchange_weak(peak, v, std::memory_order_relaxed)) {
        }
    }

    [[no_unique_address]] A inner_{};
    slot slots_[slot_count]{};
    std::atomic<std::int64_t> shared_live_{0};     // live bytes moved out of the slots
    mutable std::atomic<std::size_t> peak_{0};     // the largest live total observed
};

}  // namespace heapkit
