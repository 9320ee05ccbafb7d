// memory-return: does the allocator give memory back? Builds a big working
// set (small and medium blocks, about 256 MiB), frees all of it, sleeps past
// the purge delays (1 s: heapkit's default is 100 ms; jemalloc's default
// decay is 10 s, so it is not expected to have returned everything), then
// does a little allocation work — as a program that carries on would, and
// because some allocators purge only when called — sleeps a moment and reads
// its RSS.
//
// RESULT lines (kB): rss_peak_kb (VmHWM), rss_after_free_kb (just after the
// frees), rss_idle_kb (after the sleep), rss_after_kb (after the light work).
#include "workload.hpp"

#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "memory-return";

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long target = o.count(256ll << 20, 8 << 20);  // bytes in the working set
    rng r(3);
    std::vector<void*> blocks;
    std::vector<std::uint32_t> sizes;
    blocks.reserve(static_cast<std::size_t>(target / 64));
    sizes.reserve(blocks.capacity());
    long long bytes = 0;
    while (bytes < target) {
        const std::size_t n = r.below(10) == 0 ? r.range(4096, 256 * 1024) : r.range(16, 2048);
        void* p = checked_malloc(name, n);
        std::memset(p, 0x5a, n);
        stamp(p, n);
        blocks.push_back(p);
        sizes.push_back(static_cast<std::uint32_t>(n));
        bytes += static_cast<long long>(n);
    }
    // Free in a shuffled order, as a program dropping a big structure would.
    for (std::size_t i = blocks.size(); i > 1; --i) {
        const std::size_t j = r.below(i);
        std::swap(blocks[i - 1], blocks[j]);
        std::swap(sizes[i - 1], sizes[j]);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!stamped(blocks[i], sizes[i])) fail(name, "block %p corrupted", blocks[i]);
        std::free(blocks[i]);
    }
    result("working_set_kb", bytes / 1024);
    result("rss_peak_kb", status_kb("VmHWM"));
    result("rss_after_free_kb", status_kb("VmRSS"));
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    result("rss_idle_kb", status_kb("VmRSS"));
    // Light work: a few thousand blocks of mixed sizes, allocated and freed.
    for (int round = 0; round < 4; ++round) {
        void* few[2000];
        for (auto& p : few) {
            const std::size_t n = r.range(16, 4096);
            p = checked_malloc(name, n);
            stamp(p, n);
            if (!stamped(p, n)) fail(name, "fresh block %p corrupted", p);
        }
        for (auto& p : few) std::free(p);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    result("rss_after_kb", status_kb("VmRSS"));
    return 0;
}
