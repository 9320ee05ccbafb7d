// heapkit::failing<A>: an allocator that fails on purpose, to prove that code
// handles every allocation failure (Zig's FailingAllocator is the model).
//
// A failure_policy says which allocations fail; they are numbered from 0 in
// the order they are made (allocate, allocate_zeroed, grow and shrink all
// count, a failed one too):
//   - fail_at = N: allocation N fails, and every later one too unless
//     only_once is set;
//   - byte_budget = B: an allocation fails when it would take the live bytes
//     above B;
//   - probability = p with seed = s: each allocation fails with probability p,
//     drawn from a generator seeded with s, so a run can be replayed.
// Allocations that pass go to A. failing keeps its own figures (live bytes and
// blocks, allocations made, failures injected) so a test can see a leak.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/live_counter.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace heapkit {

struct failure_policy {
    static constexpr std::size_t never = std::numeric_limits<std::size_t>::max();

    std::size_t fail_at = never;      // index of the first allocation that fails
    bool only_once = false;           // with fail_at: fail that one allocation only
    std::size_t byte_budget = never;  // live bytes never exceed this
    double probability = 0.0;         // chance that any allocation fails, 0..1
    std::uint64_t seed = 0;           // seed of the generator for `probability`
};

template <allocator A>
class failing {
public:
    constexpr failing() noexcept = default;
    constexpr explicit failing(failure_policy policy) noexcept : policy_(policy), rng_(policy.seed) {}

    A& inner() noexcept { return inner_; }
    const failure_policy& policy() const noexcept { return policy_; }

    // Allocations attempted so far (the next one gets this index).
    std::size_t allocations() const noexcept { return index_.load(std::memory_order_relaxed); }
    // Allocations this allocator made fail.
    std::size_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
    std::size_t live_bytes() const noexcept { return live_.bytes(); }
    std::size_t live_blocks() const noexcept { return live_.blocks(); }

    memory_block allocate(layout l) noexcept {
        if (should_fail(l.size())) return {};
        return count_new(inner_.allocate(l), l);
    }
    memory_block allocate_zeroed(layout l) noexcept {
        if (should_fail(l.size())) return {};
        return count_new(heapkit::allocate_zeroed(inner_, l), l);
    }
    void deallocate(void* p, layout l) noexcept {
        inner_.deallocate(p, l);
        live_.freed(l.size());
    }
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (should_fail(new_layout.size() - old_layout.size())) return {};
        return count_resize(heapkit::grow(inner_, p, old_layout, new_layout), old_layout, new_layout);
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (should_fail(0)) return {};
        return count_resize(heapkit::shrink(inner_, p, old_layout, new_layout), old_layout, new_layout);
    }
    std::size_t usable_size(const void* p, layout l) const noexcept { return heapkit::usable_size(inner_, p, l); }
    bool owns(const void* p) const noexcept
        requires has_owns<A>
    {
        return inner_.owns(p);
    }

    allocator_stats stats() const noexcept {
        allocator_stats s = heapkit::stats(inner_);
        live_.fill(s);
        return s;
    }

private:
    bool should_fail(std::size_t extra_bytes) noexcept {
        const std::size_t i = index_.fetch_add(1, std::memory_order_relaxed);
        bool fail = false;
        if (policy_.fail_at != failure_policy::never) {
            fail = policy_.only_once ? i == policy_.fail_at : i >= policy_.fail_at;
        }
        if (policy_.byte_budget != failure_policy::never && live_bytes() + extra_bytes > policy_.byte_budget) {
            fail = true;
        }
        if (policy_.probability > 0.0 && next_unit() < policy_.probability) fail = true;
        if (fail) failures_.fetch_add(1, std::memory_order_relaxed);
        return fail;
    }

    // A uniform draw in [0, 1) from a splitmix64 sequence.
    double next_unit() noexcept {
        std::uint64_t z = rng_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed) + 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        return static_cast<double>(z >> 11) * 0x1.0p-53;
    }

    memory_block count_new(memory_block b, layout l) noexcept {
        if (b) live_.allocated(l.size());
        return b;
    }
    memory_block count_resize(memory_block b, layout o, layout n) noexcept {
        if (b) live_.resized(o.size(), n.size());
        return b;
    }

    [[no_unique_address]] A inner_{};
    failure_policy policy_{};
    std::atomic<std::uint64_t> rng_{0};         // splitmix64 state
    std::atomic<std::size_t> index_{0};         // allocations attempted
    std::atomic<std::size_t> failures_{0};      // allocations failed on purpose
    detail::live_counter live_;                // requested bytes and blocks of live blocks
};

}  // namespace heapkit
