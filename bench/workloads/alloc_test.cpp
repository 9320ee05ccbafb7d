// alloc-test: a single-threaded random mix, after alloc-test1 (OLogN
// Technologies) as the mimalloc-bench suite describes it — a working set of
// blocks whose sizes follow a Pareto distribution (mostly small, a long tail
// up to 64 KiB), each step replacing a random block.
#include "workload.hpp"

#include <cmath>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "alloc-test";
constexpr std::size_t slots = 1 << 16;

std::size_t pareto_size(rng& r) {
    const double u = 1.0 - r.unit();                 // (0, 1]
    const double x = 8.0 * std::pow(u, -1.0 / 1.1);  // alpha 1.1, minimum 8 bytes
    return x > 65536.0 ? 65536 : static_cast<std::size_t>(x);
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long ops = o.count(8'000'000, 10000);
    static void* blocks[slots];
    static std::uint32_t sizes[slots];
    rng r(2024);
    long long bytes = 0;
    for (long long i = 0; i < ops; ++i) {
        const std::size_t k = r.below(slots);
        if (blocks[k] != nullptr) {
            if (!stamped(blocks[k], sizes[k])) fail(name, "block %p of %u bytes corrupted", blocks[k], sizes[k]);
            std::free(blocks[k]);
        }
        const std::size_t n = pareto_size(r);
        blocks[k] = checked_malloc(name, n);
        sizes[k] = static_cast<std::uint32_t>(n);
        stamp(blocks[k], n);
        bytes += static_cast<long long>(n);
    }
    for (std::size_t k = 0; k < slots; ++k) {
        if (blocks[k] == nullptr) continue;
        if (!stamped(blocks[k], sizes[k])) fail(name, "block %zu corrupted at the end", k);
        std::free(blocks[k]);
    }
    result("operations", ops);
    result("bytes", bytes);
    return 0;
}
