// tlsf and buddy: allocate+free pairs while 1e3, 1e4, 1e5 or 1e6 other
// blocks are live, against a first-fit free list and malloc.
//
// Setup: 2N blocks of 16..256 bytes are allocated and every other one freed,
// leaving N live blocks with N holes between them in the allocator's free
// structures. Timed: a window of 1024 blocks turns over, each pair freeing a
// random block of the window and allocating one of a random size in its
// place (indices and sizes drawn before timing). The window keeps the cache
// footprint the same for every N, so what grows with N is the allocator's
// own work: TLSF's time should stay flat ("spread across arguments" lines),
// a first-fit list's should not.
#include "ratio_reporter.hpp"

#include <heapkit/alloc/buddy.hpp>
#include <heapkit/alloc/free_list.hpp>
#include <heapkit/alloc/tlsf.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

namespace {

constexpr std::size_t pairs = 1024;
constexpr std::size_t window = 1024;

struct script {
    std::vector<std::uint32_t> initial_sizes;  // one per background pair and window block
    std::vector<std::uint32_t> slots;          // which block each pair replaces
    std::vector<std::uint32_t> sizes;          // the new block's size
};

script make_script(std::size_t live) {
    script s;
    std::mt19937_64 rng(live);
    for (std::size_t i = 0; i < std::max(live, window); ++i) s.initial_sizes.push_back(16 + rng() % 241);
    for (std::size_t i = 0; i < 64 * pairs; ++i) {
        s.slots.push_back(static_cast<std::uint32_t>(rng() % window));
        s.sizes.push_back(16 + rng() % 241);
    }
    return s;
}

template <class A>
void churn(benchmark::State& state, A& a) {
    const std::size_t live = static_cast<std::size_t>(state.range(0));
    const script s = make_script(live);
    // the background population: 2N allocated, every other one freed
    std::vector<void*> background(2 * live);
    for (std::size_t i = 0; i < 2 * live; ++i)
        background[i] = a.allocate(heapkit::layout::from_unchecked(s.initial_sizes[i / 2], 8)).ptr;
    for (std::size_t i = 0; i < 2 * live; i += 2)
        a.deallocate(background[i], heapkit::layout::from_unchecked(s.initial_sizes[i / 2], 8));
    // the window that turns over
    std::vector<void*> ptr(window);
    std::vector<std::uint32_t> size(s.initial_sizes.begin(), s.initial_sizes.begin() + window);
    for (std::size_t i = 0; i < window; ++i) ptr[i] = a.allocate(heapkit::layout::from_unchecked(size[i], 8)).ptr;
    std::size_t cursor = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < pairs; ++i, cursor = (cursor + 1) % s.slots.size()) {
            const std::uint32_t k = s.slots[cursor];
            a.deallocate(ptr[k], heapkit::layout::from_unchecked(size[k], 8));
            size[k] = s.sizes[cursor];
            ptr[k] = a.allocate(heapkit::layout::from_unchecked(size[k], 8)).ptr;
        }
        benchmark::DoNotOptimize(ptr.data());
    }
    for (std::size_t i = 0; i < window; ++i) a.deallocate(ptr[i], heapkit::layout::from_unchecked(size[i], 8));
    for (std::size_t i = 1; i < 2 * live; i += 2)
        a.deallocate(background[i], heapkit::layout::from_unchecked(s.initial_sizes[i / 2], 8));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pairs));
}

// malloc as a heapkit allocator, without the alignment branch of heapkit::system.
struct plain_malloc {
    heapkit::memory_block allocate(heapkit::layout l) noexcept { return {std::malloc(l.size()), l.size()}; }
    void deallocate(void* p, heapkit::layout) noexcept { std::free(p); }
};

void tlsf_churn(benchmark::State& state) {
    auto a = std::make_unique<heapkit::tlsf<>>();
    churn(state, *a);
}
void buddy_churn(benchmark::State& state) {
    auto a = std::make_unique<heapkit::buddy<>>(std::size_t{1} << 30);  // room for 1e6 blocks of up to 256 B
    churn(state, *a);
}
void free_list_churn(benchmark::State& state) {
    auto a = std::make_unique<heapkit::free_list<heapkit::first_fit>>();
    churn(state, *a);
}
void malloc_churn(benchmark::State& state) {
    plain_malloc a;
    churn(state, a);
}

}  // namespace

BENCHMARK(tlsf_churn)->Name("live_churn/heapkit::tlsf")->RangeMultiplier(10)->Range(1000, 1000000);
BENCHMARK(buddy_churn)->Name("live_churn/heapkit::buddy")->RangeMultiplier(10)->Range(1000, 1000000);
BENCHMARK(free_list_churn)->Name("live_churn/free_list<first_fit>")->RangeMultiplier(10)->Range(1000, 100000);
BENCHMARK(malloc_churn)->Name("live_churn/malloc+free")->RangeMultiplier(10)->Range(1000, 1000000);

HEAPKIT_BENCH_MAIN()
