// heapkit::bucketizer<A, Bounds...>: one allocator A per size range, so each
// one only ever sees blocks of a single size.
//
// The bounds are the size classes, strictly increasing. Bucket k serves the
// requests with sizes in (Bounds[k-1], Bounds[k]] (bucket 0: [0, Bounds[0]]),
// and every request it serves is passed on rounded up to its class:
//
//   bucketizer<pool, 16, 32, 64, 128>
//     size   0..16  ──► bucket[0].allocate({16,  align})
//     size  17..32  ──► bucket[1].allocate({32,  align})
//     size  33..64  ──► bucket[2].allocate({64,  align})
//     size 65..128  ──► bucket[3].allocate({128, align})
//     size > 128    ──► empty block: out of memory for this allocator
//
// linear_bucketizer<A, Min, Max, Step> is the evenly spaced form: classes
// Min, Min+Step, ..., Max (so (Max - Min) must be a multiple of Step). Finding
// the bucket is one division when the bounds are evenly spaced, and a binary
// search over the constant bounds otherwise.
//
// Requests above the last bound fail (an empty block, as any allocator that
// is out of memory); put a segregator in front to send them elsewhere:
//   segregator<4096, linear_bucketizer<pool, 64, 4096, 64>, pages>
//
// The layout carries the size, so deallocate/grow/shrink/usable_size find the
// bucket from it. Returned blocks (and usable_size) are exactly the class
// size, which keeps every size a caller may pass back inside the same bucket.
// grow and shrink within a bucket cost nothing (the block already has the
// class size); across buckets the block moves (allocate, copy, free).
// A deallocate with a size above the last bound is misuse and aborts.
//
// Invariants: a live block of size s lives in bucket bucket_of(s) and was
// allocated there with layout {bound(bucket_of(s)), align}; live_ counts
// what callers asked for, so stats() reports the requested
// bytes as live and the rounding as slack. The counters are relaxed atomics:
// bucketizer is as thread-safe as A. It is constant-initialisable when A is.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/live_counter.hpp>
#include <heapkit/detail/combined_stats.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <utility>

namespace heapkit {

template <allocator A, std::size_t... Bounds>
class bucketizer {
    static_assert(sizeof...(Bounds) > 0, "heapkit::bucketizer<A, Bounds...>: give at least one size bound");
    static constexpr std::array<std::size_t, sizeof...(Bounds)> bounds_{Bounds...};
    static constexpr bool strictly_increasing() noexcept {
        for (std::size_t k = 1; k < bounds_.size(); ++k)
            if (bounds_[k] <= bounds_[k - 1]) return false;
        return true;
    }
    static_assert(strictly_increasing(), "heapkit::bucketizer<A, Bounds...>: the bounds must be strictly increasing");
    static constexpr bool evenly_spaced() noexcept {
        for (std::size_t k = 2; k < bounds_.size(); ++k)
            if (bounds_[k] - bounds_[k - 1] != bounds_[1] - bounds_[0]) return false;
        return bounds_.size() >= 2;
    }

public:
    static constexpr std::size_t bucket_count = sizeof...(Bounds);
    static constexpr std::size_t max_size = bounds_.back();  // larger requests fail
    static constexpr std::size_t npos = bucket_count;        // "no bucket": the size is above max_size

    constexpr bucketizer() noexcept = default;
    // Builds every bucket from the same arguments (e.g. a reference to a shared parent).
    template <class... Args>
    requires(sizeof...(Args) > 0 &&
             std::constructible_from<A, const Args&...>) constexpr explicit bucketizer(std::in_place_t,
                                                                                       const Args&... args) noexcept
        : bucketizer(std::make_index_sequence<bucket_count>{}, args...) {}

    // The class size of bucket k (its upper bound).
    static constexpr std::size_t bound(std::size_t k) noexcept { return bounds_[k]; }

    // The bucket that serves `size`, or npos when size > max_size.
    static constexpr std::size_t bucket_of(std::size_t size) noexcept {
        if (size > max_size) return npos;
        if (size <= bounds_[0]) return 0;
        if constexpr (evenly_spaced()) {
            return (size - bounds_[0] - 1) / (bounds_[1] - bounds_[0]) + 1;
        } else {
            return static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), size) - bounds_.begin());
        }
    }

    A& bucket(std::size_t k) noexcept { return buckets_[k]; }
    const A& bucket(std::size_t k) const noexcept { return buckets_[k]; }

    memory_block allocate(layout l) noexcept {
        const std::size_t k = bucket_of(l.size());
        if (k == npos) return {};
        const auto cl = layout::from(bounds_[k], l.align());
        if (!cl) return {};
        return count_new(buckets_[k].allocate(*cl), k, l);
    }

    memory_block allocate_zeroed(layout l) noexcept {
        const std::size_t k = bucket_of(l.size());
        if (k == npos) return {};
        const auto cl = layout::from(bounds_[k], l.align());
        if (!cl) return {};
        return count_new(heapkit::allocate_zeroed(buckets_[k], *cl), k, l);
    }

    void deallocate(void* p, layout l) noexcept {
        const std::size_t k = checked_bucket("deallocate", p, l);
        buckets_[k].deallocate(p, layout::from_unchecked(bounds_[k], l.align()));
        live_.freed(l.size());
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout, "grow");
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout, "shrink");
    }

    bool owns(const void* p) const noexcept requires has_owns<A> {
        for (const A& b : buckets_)
            if (b.owns(p)) return true;
        return false;
    }

    // Exactly the class size: more would let a caller pass back a size of another bucket.
    std::size_t usable_size(const void*, layout l) const noexcept {
        const std::size_t k = bucket_of(l.size());
        return k == npos ? l.size() : bounds_[k];
    }

    void deallocate_all() noexcept requires has_deallocate_all<A> {
        for (A& b : buckets_) b.deallocate_all();
        live_.reset();
    }

    // Live bytes and blocks as requested; held, free and slack summed over the
    // buckets (when A keeps figures), the rounding to class sizes added to slack.
    allocator_stats stats() const noexcept {
        allocator_stats s;
        if constexpr (has_stats<A>) {
            for (const A& b : buckets_) s = detail::combined_stats(s, b.stats());
        }
        const std::size_t rounded_live = s.live_bytes;
        live_.fill(s);
        if (rounded_live > s.live_bytes) s.slack_bytes += rounded_live - s.live_bytes;
        return s;
    }

private:
    template <std::size_t... I, class... Args>
    constexpr bucketizer(std::index_sequence<I...>, const Args&... args) noexcept
        : buckets_{((void)I, A(args...))...} {}

    // The bucket of a live block; a size no bucket serves cannot come from this allocator.
    std::size_t checked_bucket(const char* op, const void* p, layout l) const noexcept {
        const std::size_t k = bucket_of(l.size());
        if (k == npos) [[unlikely]] {
            detail::line_buffer<256> msg;
            msg.text("bucketizer::").text(op).text("(): block ").ptr(p).text(" of ").dec(l.size());
            msg.text(" bytes is larger than the largest bucket (").dec(max_size);
            msg.text(" bytes), so it was not allocated here; pass the size the block was allocated with");
            fatal(msg.view());
        }
        return k;
    }

    memory_block resize(void* p, layout old_layout, layout new_layout, const char* op) noexcept {
        const std::size_t from = checked_bucket(op, p, old_layout);
        const std::size_t to = bucket_of(new_layout.size());
        if (to == npos) return {};
        if (from == to && old_layout.align() == new_layout.align()) {
            count_resize(old_layout, new_layout);  // the block already has the class size
            return {p, bounds_[to]};
        }
        return move_slow(p, old_layout, new_layout, from, to);
    }

    // Moves a block to bucket `to`: allocate there, copy, free in `from`. On failure the block is untouched.
    memory_block move_slow(void* p, layout old_layout, layout new_layout, std::size_t from, std::size_t to) noexcept {
        const auto cl = layout::from(bounds_[to], new_layout.align());
        if (!cl) return {};
        memory_block b = buckets_[to].allocate(*cl);
        if (!b) return b;
        std::memcpy(b.ptr, p, std::min(old_layout.size(), new_layout.size()));
        buckets_[from].deallocate(p, layout::from_unchecked(bounds_[from], old_layout.align()));
        count_resize(old_layout, new_layout);
        return {b.ptr, bounds_[to]};
    }

    memory_block count_new(memory_block b, std::size_t k, layout l) noexcept {
        if (!b) return b;
        live_.allocated(l.size());
        return {b.ptr, bounds_[k]};
    }
    void count_resize(layout old_layout, layout new_layout) noexcept {
        live_.resized(old_layout.size(), new_layout.size());
    }

    A buckets_[bucket_count]{};  // bucket k holds blocks of class size bounds_[k]
    detail::live_counter live_;  // the callers' requested sizes
};

namespace detail {
template <class A, std::size_t Min, std::size_t Step, class Seq>
struct linear_bucketizer_of;
template <class A, std::size_t Min, std::size_t Step, std::size_t... K>
struct linear_bucketizer_of<A, Min, Step, std::index_sequence<K...>> {
    using type = bucketizer<A, (Min + K * Step)...>;
};
}  // namespace detail

// Buckets of sizes Min, Min + Step, ..., Max.
template <allocator A, std::size_t Min, std::size_t Max, std::size_t Step>
requires(Step > 0 && Min <= Max && (Max - Min) % Step == 0) using linear_bucketizer =
    typename detail::linear_bucketizer_of<A, Min, Step, std::make_index_sequence<(Max - Min) / Step + 1>>::type;

}  // namespace heapkit
