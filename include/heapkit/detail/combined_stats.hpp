// combined_stats: the figures of an allocator built from parts (fallback,
// segregator, bucketizer) as the sum of its parts' figures.
//
// Counts and byte totals add up. The peak is the sum of the parts' peaks: an
// upper bound of the combined peak (the parts need not peak at the same time),
// and never below the combined live bytes. The largest free block is the
// largest among the parts, so largest_free <= free_bytes still holds.
// Held bytes: a part that reports none while it has live blocks does not
// track them (heapkit::system); when the other part does, the untracked one
// counts as holding at least its live bytes, so held >= live still holds.
// When neither tracks them the sum stays 0 ("not tracked").
#pragma once

#include <heapkit/allocator.hpp>

#include <algorithm>

namespace heapkit::detail {

constexpr allocator_stats combined_stats(const allocator_stats& a, const allocator_stats& b) noexcept {
    allocator_stats s;
    s.live_bytes = a.live_bytes + b.live_bytes;
    s.live_blocks = a.live_blocks + b.live_blocks;
    s.peak_bytes = a.peak_bytes + b.peak_bytes;
    if (a.held_bytes != 0 || b.held_bytes != 0) {
        s.held_bytes = std::max(a.held_bytes, a.live_bytes) + std::max(b.held_bytes, b.live_bytes);
    }
    s.slack_bytes = a.slack_bytes + b.slack_bytes;
    s.free_bytes = a.free_bytes + b.free_bytes;
    s.largest_free = std::max(a.largest_free, b.largest_free);
    return s;
}

}  // namespace heapkit::detail
