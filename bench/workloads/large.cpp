// large: big blocks, 64 KiB to 8 MiB (log-uniform sizes), in a working set of
// 16; each step frees a random block and allocates a new one, writing one
// byte in every 4 KiB page of it (as a program that fills its buffer would,
// so page faults count) and a stamp at both ends, checked before the free.
#include "workload.hpp"

#include <cmath>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "large";
constexpr std::size_t slots = 16;

std::size_t pick_size(rng& r) {
    const double lo = std::log(64.0 * 1024), hi = std::log(8.0 * 1024 * 1024);
    return static_cast<std::size_t>(std::exp(lo + (hi - lo) * r.unit()));
}

void fill(void* p, std::size_t n) {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 16; i + 8 < n; i += 4096) b[i] = static_cast<unsigned char>(i >> 12);
    stamp(p, n);
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long ops = o.count(6000, 100);
    void* blocks[slots] = {};
    std::size_t sizes[slots] = {};
    rng r(512);
    for (long long i = 0; i < ops; ++i) {
        const std::size_t k = r.below(slots);
        if (blocks[k] != nullptr) {
            if (!stamped(blocks[k], sizes[k])) fail(name, "block %p of %zu bytes corrupted", blocks[k], sizes[k]);
            std::free(blocks[k]);
        }
        sizes[k] = pick_size(r);
        blocks[k] = checked_malloc(name, sizes[k]);
        fill(blocks[k], sizes[k]);
    }
    for (std::size_t k = 0; k < slots; ++k) {
        if (blocks[k] == nullptr) continue;
        if (!stamped(blocks[k], sizes[k])) fail(name, "block %zu corrupted at the end", k);
        std::free(blocks[k]);
    }
    result("operations", ops);
    return 0;
}
