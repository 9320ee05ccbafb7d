// The fragmentation workload: one mixed-size churn with a long-lived set,
// generated once from a fixed seed and replayed identically against every
// allocator, sampling its figures as it goes.
//
// Phases (all sizes drawn from the same mix: 70% 8..256 B, 25% 256 B..4 KiB,
// 5% 4..64 KiB):
//   1. build:  8,000 allocations; every 4th is long-lived and stays to the end
//   2. churn: 200,000 steps; each frees a random short-lived block and
//      allocates a new one (sizes drift upward in the middle third, which
//      leaves holes the smaller sizes of the last third must reuse)
//   3. drain: the short-lived blocks are freed, the long-lived set remains
// Each allocator sees exactly the same sequence of (op, size, align).
#pragma once

#include <heapkit/allocator.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace heapkit::bench {

struct frag_op {
    enum kind : std::uint8_t { alloc, free } op;
    std::uint32_t slot;   // which logical block
    std::uint32_t size;   // for alloc
};

// A sample of an allocator's figures at one point of the workload.
struct frag_sample {
    std::size_t step;
    std::size_t live;     // bytes requested by live blocks
    std::size_t held;     // bytes held from the OS / parent
    double internal;      // internal fragmentation (0..1), < 0 when unknown
    double external;      // external fragmentation (0..1), < 0 when unknown
};

struct frag_workload {
    std::vector<frag_op> ops;
    std::uint32_t slots = 0;
};

inline frag_workload make_frag_workload(std::uint64_t seed = 42) {
    frag_workload w;
    std::mt19937_64 rng(seed);
    auto draw = [&](double scale) -> std::uint32_t {
        const std::uint64_t r = rng() % 100;
        std::uint64_t lo, hi;
        if (r < 70) {
            lo = 8, hi = 256;
        } else if (r < 95) {
            lo = 256, hi = 4096;
        } else {
            lo = 4096, hi = 65536;
        }
        const double v = static_cast<double>(lo + rng() % (hi - lo)) * scale;
        return static_cast<std::uint32_t>(v < 1 ? 1 : v);
    };
    std::vector<std::uint32_t> short_lived;
    for (std::uint32_t i = 0; i < 8000; ++i) {
        w.ops.push_back({frag_op::alloc, w.slots, draw(1.0)});
        if (i % 4 != 0) short_lived.push_back(w.slots);
        ++w.slots;
    }
    const std::size_t churn = 200000;
    for (std::size_t i = 0; i < churn; ++i) {
        const double scale = (i > churn / 3 && i < 2 * churn / 3) ? 1.6 : (i >= 2 * churn / 3 ? 0.6 : 1.0);
        const std::size_t k = rng() % short_lived.size();
        w.ops.push_back({frag_op::free, short_lived[k], 0});
        w.ops.push_back({frag_op::alloc, w.slots, draw(scale)});
        short_lived[k] = w.slots++;
    }
    for (std::uint32_t s : short_lived) w.ops.push_back({frag_op::free, s, 0});
    return w;
}

}  // namespace heapkit::bench
