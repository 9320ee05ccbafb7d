// bump: small allocations from an arena, against two limits, std::pmr::
// monotonic_buffer_resource through polymorphic_allocator, and malloc. The
// limits bump a pointer over one buffer: "raw_increment" keeps it in a
// register (no bounds check), "raw_increment(mem)" keeps it in an object whose
// address escapes and checks the bound with an out-of-line refill, as any
// arena whose slow path is a call must (the compiler cannot keep the cursor in
// a register across a call that may read it). Each iteration makes 4096 allocations of
// 8..64 bytes (alignment 8) and then releases them all at once (reset,
// release, or 4096 frees for malloc). The pointers are folded into a
// checksum read once per batch rather than passed to DoNotOptimize one by one:
// DoNotOptimize clobbers memory, which would force every contender's state
// out of registers on each allocation and measure that instead.
#include "ratio_reporter.hpp"

#include <heapkit/alloc/bump.hpp>

#include <cstdlib>
#include <memory_resource>
#include <vector>

namespace {

constexpr std::size_t batch = 4096;
constexpr std::size_t sizes[8] = {8, 24, 16, 40, 64, 32, 48, 56};

void raw_increment(benchmark::State& state) {
    std::vector<std::byte> buffer(batch * 64 + 64);
    for (auto _ : state) {
        std::uintptr_t cur = reinterpret_cast<std::uintptr_t>(buffer.data());
        std::uintptr_t sum = 0;
        for (std::size_t i = 0; i < batch; ++i) {
            cur = (cur + 7) & ~std::uintptr_t{7};
            sum ^= cur;
            cur += sizes[i & 7];
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

// The cursor of raw_increment(mem): what an arena needs at the least.
struct raw_cursor {
    std::uintptr_t ptr;
    std::uintptr_t end;
};

// Never called (the buffer holds a batch): the out-of-line slow path that
// keeps the cursor in memory. Starts over at `start` as a real refill would
// hand out fresh memory.
[[gnu::noinline]] std::uintptr_t raw_refill(raw_cursor& c, std::uintptr_t start, std::size_t size) {
    c.ptr = start + size;
    return start;
}

void raw_increment_mem(benchmark::State& state) {
    std::vector<std::byte> buffer(batch * 64 + 64);
    const auto lo = reinterpret_cast<std::uintptr_t>(buffer.data());
    raw_cursor c{lo, lo + buffer.size()};
    benchmark::DoNotOptimize(&c);  // its address escapes, like an arena's
    for (auto _ : state) {
        c.ptr = lo;
        std::uintptr_t sum = 0;
        for (std::size_t i = 0; i < batch; ++i) {
            const std::uintptr_t start = (c.ptr + 7) & ~std::uintptr_t{7};
            const std::uintptr_t stop = start + sizes[i & 7];
            if (stop <= c.end) [[likely]] {
                c.ptr = stop;
                sum ^= start;
            } else {
                sum ^= raw_refill(c, lo, sizes[i & 7]);
            }
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void heapkit_bump(benchmark::State& state) {
    heapkit::bump<> arena;
    for (auto _ : state) {
        std::uintptr_t sum = 0;
        for (std::size_t i = 0; i < batch; ++i) {
            heapkit::memory_block b = arena.allocate(heapkit::layout::from_unchecked(sizes[i & 7], 8));
            sum ^= reinterpret_cast<std::uintptr_t>(b.ptr);
        }
        benchmark::DoNotOptimize(sum);
        arena.reset(heapkit::keep_largest);  // the next batch reuses the largest chunk
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void pmr_monotonic(benchmark::State& state) {
    std::pmr::monotonic_buffer_resource res;
    std::pmr::polymorphic_allocator<std::byte> alloc(&res);
    for (auto _ : state) {
        std::uintptr_t sum = 0;
        for (std::size_t i = 0; i < batch; ++i) {
            sum ^= reinterpret_cast<std::uintptr_t>(alloc.allocate_bytes(sizes[i & 7], 8));
        }
        benchmark::DoNotOptimize(sum);
        res.release();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void malloc_free(benchmark::State& state) {
    std::vector<void*> live(batch);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) live[i] = std::malloc(sizes[i & 7]);
        benchmark::DoNotOptimize(live.data());
        for (void* p : live) std::free(p);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

}  // namespace

BENCHMARK(raw_increment)->Name("bump_small/raw_increment");
BENCHMARK(raw_increment_mem)->Name("bump_small/raw_increment(mem)");
BENCHMARK(heapkit_bump)->Name("bump_small/heapkit::bump");
BENCHMARK(pmr_monotonic)->Name("bump_small/pmr::monotonic");
BENCHMARK(malloc_free)->Name("bump_small/malloc+free");

HEAPKIT_BENCH_MAIN()
