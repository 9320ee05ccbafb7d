// larson: a server's churn, after the benchmark of Larson and Krishnan as the
// mimalloc-bench suite describes it — each thread replaces randomly chosen
// blocks of its working set (sizes 16..1000 bytes) and then hands its working
// set to a new thread, so most blocks are freed by a thread other than the
// one that allocated them, and the allocator sees threads come and go.
//
// Work: `epochs` generations of `threads` threads; each thread does `ops`
// replacements on a set of `slots` blocks. Every block is stamped and checked
// before it is freed.
#include "workload.hpp"

#include <thread>
#include <vector>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "larson";

struct working_set {
    void** blocks;  // slots entries, each live (stamped with sizes[i])
    std::uint32_t* sizes;
    std::uint64_t seed;
};

void churn(working_set& ws, std::size_t slots, long long ops, std::uint64_t seed) {
    rng r(seed);
    for (long long i = 0; i < ops; ++i) {
        const std::size_t k = r.below(slots);
        if (!stamped(ws.blocks[k], ws.sizes[k]))
            fail(name, "block %p of %u bytes corrupted", ws.blocks[k], ws.sizes[k]);
        std::free(ws.blocks[k]);
        const std::size_t n = r.range(16, 1000);
        ws.blocks[k] = checked_malloc(name, n);
        ws.sizes[k] = static_cast<std::uint32_t>(n);
        stamp(ws.blocks[k], n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const std::size_t slots = 5000;
    const int epochs = static_cast<int>(o.count(120, 2));
    const long long ops = 50000;
    std::vector<working_set> sets(o.threads);
    rng r(42);
    for (auto& ws : sets) {
        ws.blocks = static_cast<void**>(checked_malloc(name, slots * sizeof(void*)));
        ws.sizes = static_cast<std::uint32_t*>(checked_malloc(name, slots * sizeof(std::uint32_t)));
        for (std::size_t k = 0; k < slots; ++k) {
            const std::size_t n = r.range(16, 1000);
            ws.blocks[k] = checked_malloc(name, n);
            ws.sizes[k] = static_cast<std::uint32_t>(n);
            stamp(ws.blocks[k], n);
        }
    }
    for (int e = 0; e < epochs; ++e) {
        std::vector<std::thread> threads;
        for (int t = 0; t < o.threads; ++t) {
            // Generation e's thread t inherits the set a different thread worked on last.
            working_set& ws = sets[(t + e) % o.threads];
            threads.emplace_back(churn, std::ref(ws), slots, ops, 1000u * e + t);
        }
        for (auto& th : threads) th.join();
    }
    for (auto& ws : sets) {
        for (std::size_t k = 0; k < slots; ++k) {
            if (!stamped(ws.blocks[k], ws.sizes[k])) fail(name, "block %zu corrupted at the end", k);
            std::free(ws.blocks[k]);
        }
        std::free(ws.blocks);
        std::free(ws.sizes);
    }
    result("operations", static_cast<long long>(epochs) * o.threads * ops);
    return 0;
}
