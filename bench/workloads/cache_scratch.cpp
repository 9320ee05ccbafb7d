// cache-scratch: passive false sharing, after Emery Berger's benchmark from
// the Hoard paper as the mimalloc-bench suite describes it — the main thread
// allocates one small object per thread (adjacent, so they likely share a
// cache line) and hands them out; each thread frees its object, then
// repeatedly allocates a small object, writes it many times and frees it. An
// allocator that gives the freed neighbours' memory back to other threads
// makes them write one cache line from two cores.
#include "workload.hpp"

#include <thread>
#include <vector>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "cache-scratch";
constexpr std::size_t object = 8;

void worker(void* initial, long long iterations, long long writes, int self) {
    std::free(initial);
    churn_objects(name, object, iterations, writes, self);
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long iterations = o.count(30000, 10);
    const long long writes = 20000;
    std::vector<void*> objects(o.threads);
    for (auto& p : objects) p = checked_malloc(name, object);
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) threads.emplace_back(worker, objects[t], iterations, writes, t);
    for (auto& th : threads) th.join();
    result("writes", iterations * writes * o.threads);
    return 0;
}
