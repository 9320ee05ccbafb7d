// cache-thrash: active false sharing, after Emery Berger's benchmark from the
// Hoard paper as the mimalloc-bench suite describes it — each thread
// repeatedly allocates a small object, writes it many times and frees it. An
// allocator that places small objects of different threads in one cache line
// makes the cores fight over that line.
#include "workload.hpp"

#include <thread>
#include <vector>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "cache-thrash";
constexpr std::size_t object = 8;

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long iterations = o.count(30000, 10);
    const long long writes = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) threads.emplace_back(churn_objects, name, object, iterations, writes, t);
    for (auto& th : threads) th.join();
    result("writes", iterations * writes * o.threads);
    return 0;
}
