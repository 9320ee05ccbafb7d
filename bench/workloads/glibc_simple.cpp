// glibc-simple: fixed-size batches, after glibc's bench-malloc-simple as the
// mimalloc-bench suite describes it — for each of several sizes and batch
// lengths, allocate a batch of blocks of one size, touch them, free them all,
// and repeat. Single-threaded.
#include "workload.hpp"

namespace {

using namespace heapkit::workload;
constexpr const char* name = "glibc-simple";

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const std::size_t sizes[] = {16, 32, 64, 128, 256, 512, 1024, 4096};
    const std::size_t batches[] = {25, 100, 400, 1600, 10000};
    const long long per_case = o.count(250'000, 10000);  // allocations per (size, batch length)
    static void* blocks[10000];
    long long total = 0;
    for (std::size_t n : sizes) {
        for (std::size_t len : batches) {
            for (long long done = 0; done < per_case; done += static_cast<long long>(len)) {
                for (std::size_t i = 0; i < len; ++i) {
                    blocks[i] = checked_malloc(name, n);
                    static_cast<unsigned char*>(blocks[i])[0] = static_cast<unsigned char>(i);
                }
                for (std::size_t i = 0; i < len; ++i) {
                    if (static_cast<unsigned char*>(blocks[i])[0] != static_cast<unsigned char>(i))
                        fail(name, "block %p (size %zu) lost its first byte", blocks[i], n);
                    std::free(blocks[i]);
                }
                total += static_cast<long long>(len);
            }
        }
    }
    result("allocations", total);
    return 0;
}
