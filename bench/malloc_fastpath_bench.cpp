// malloc fast paths: malloc+free of one size, batches of mixed sizes, free of
// blocks another thread allocated, realloc that stays in place, calloc.
//
// Every benchmark calls the process's malloc, so the allocator is whatever
// is linked or preloaded: bench/run_malloc_bench.sh runs this program under
// each allocator (LD_PRELOAD) and puts the medians side by side. Names are
// "<case>/malloc[/<size>]".
#include "ratio_reporter.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

void malloc_free(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        void* p = std::malloc(n);
        benchmark::DoNotOptimize(p);
        std::free(p);
    }
    state.SetItemsProcessed(state.iterations());
}

// 256 blocks of sizes cycling through a mix (16 B .. 2 KiB), then all freed.
void batch_mixed(benchmark::State& state) {
    constexpr std::size_t sizes[] = {16, 24, 32, 48, 64, 96, 128, 200, 256, 384, 512, 800, 1024, 1500, 2048, 40};
    constexpr std::size_t count = 256;
    void* blocks[count];
    for (auto _ : state) {
        for (std::size_t i = 0; i < count; ++i) blocks[i] = std::malloc(sizes[i % 16]);
        benchmark::DoNotOptimize(blocks);
        for (std::size_t i = 0; i < count; ++i) std::free(blocks[i]);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}

// The timed part frees 1024 blocks of 64 bytes that a helper thread allocated
// (while the timer was paused).
void remote_free(benchmark::State& state) {
    constexpr std::size_t count = 1024;
    static void* blocks[count];
    std::atomic<int> request{0};  // 1: helper, fill the array; 0: done; -1: exit
    std::thread helper([&] {
        while (true) {
            int r;
            while ((r = request.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
            if (r < 0) return;
            for (auto& b : blocks) b = std::malloc(64);
            request.store(0, std::memory_order_release);
        }
    });
    for (auto _ : state) {
        state.PauseTiming();
        request.store(1, std::memory_order_release);
        while (request.load(std::memory_order_acquire) != 0) std::this_thread::yield();
        state.ResumeTiming();
        for (auto* b : blocks) std::free(b);
    }
    request.store(-1, std::memory_order_release);
    helper.join();
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}

// realloc between 1000 and 1008 bytes: every allocator can do it in place.
void realloc_in_place(benchmark::State& state) {
    void* p = std::malloc(1000);
    std::size_t i = 0;
    for (auto _ : state) {
        p = std::realloc(p, 1000 + (++i & 1) * 8);
        benchmark::DoNotOptimize(p);
    }
    std::free(p);
    state.SetItemsProcessed(state.iterations());
}

void calloc_free(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        void* p = std::calloc(1, n);
        benchmark::DoNotOptimize(p);
        std::free(p);
    }
    state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(malloc_free)->Name("malloc_free/malloc")->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->Arg(4096)->Arg(32768);
BENCHMARK(batch_mixed)->Name("batch_mixed/malloc");
BENCHMARK(remote_free)->Name("remote_free/malloc")->UseRealTime();
BENCHMARK(realloc_in_place)->Name("realloc_in_place/malloc");
BENCHMARK(calloc_free)->Name("calloc_free/malloc")->Arg(64)->Arg(1024)->Arg(16384);

HEAPKIT_BENCH_MAIN()
