// pool: allocate+free pairs of one small size, against
// std::pmr::unsynchronized_pool_resource and malloc. A window of 64 live
// blocks turns over, so the free list is exercised, not just one block.
#include "ratio_reporter.hpp"

#include <heapkit/alloc/pool.hpp>

#include <cstdlib>
#include <memory_resource>

namespace {

constexpr std::size_t block = 32;
constexpr std::size_t window = 64;
constexpr std::size_t pairs = 4096;

void heapkit_pool(benchmark::State& state) {
    heapkit::pool<> p(block, 16);
    const heapkit::layout l = heapkit::layout::from_unchecked(block, 16);
    void* live[window] = {};
    for (auto& x : live) x = p.allocate(l).ptr;
    for (auto _ : state) {
        for (std::size_t i = 0; i < pairs; ++i) {
            std::size_t k = (i * 7) & (window - 1);
            p.deallocate(live[k], l);
            live[k] = p.allocate(l).ptr;
            benchmark::DoNotOptimize(live[k]);
        }
    }
    for (auto& x : live) p.deallocate(x, l);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pairs));
}

void pmr_pool(benchmark::State& state) {
    std::pmr::unsynchronized_pool_resource res;
    void* live[window] = {};
    for (auto& x : live) x = res.allocate(block, 16);
    for (auto _ : state) {
        for (std::size_t i = 0; i < pairs; ++i) {
            std::size_t k = (i * 7) & (window - 1);
            res.deallocate(live[k], block, 16);
            live[k] = res.allocate(block, 16);
            benchmark::DoNotOptimize(live[k]);
        }
    }
    for (auto& x : live) res.deallocate(x, block, 16);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pairs));
}

void malloc_pairs(benchmark::State& state) {
    void* live[window] = {};
    for (auto& x : live) x = std::malloc(block);
    for (auto _ : state) {
        for (std::size_t i = 0; i < pairs; ++i) {
            std::size_t k = (i * 7) & (window - 1);
            std::free(live[k]);
            live[k] = std::malloc(block);
            benchmark::DoNotOptimize(live[k]);
        }
    }
    for (auto& x : live) std::free(x);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pairs));
}

}  // namespace

BENCHMARK(heapkit_pool)->Name("pool_pairs/heapkit::pool");
BENCHMARK(pmr_pool)->Name("pool_pairs/pmr::unsync_pool");
BENCHMARK(malloc_pairs)->Name("pool_pairs/malloc+free");

HEAPKIT_BENCH_MAIN()
