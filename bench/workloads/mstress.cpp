// mstress: many short-lived threads, after mimalloc's mstress and the
// rpmalloc test as the mimalloc-bench suite describes them — each phase
// starts a set of threads with unequal amounts of work; they allocate blocks
// of power-of-two-ish sizes (16 B..8 KiB, now and then 64 KiB..256 KiB),
// free most of them, pass some to other threads through a shared transfer
// table (so blocks migrate and outlive the thread that made them), and exit.
// Blocks left in the table survive into later phases.
#include "workload.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "mstress";
constexpr std::size_t local_slots = 512;
constexpr std::size_t transfer_slots = 2048;

std::atomic<void*> transfer[transfer_slots];

std::size_t pick_size(rng& r) {
    if (r.below(200) == 0) return static_cast<std::size_t>(64 * 1024) << r.below(3);
    std::size_t n = static_cast<std::size_t>(16) << r.below(10);  // 16 .. 8 KiB
    return n + r.below(n / 2 + 1);                                // not exactly a power of two
}

void release(void* p) {
    if (p == nullptr) return;
    const std::size_t n = stamped_size(p);
    if (n < 16 || n > 512 * 1024 || !stamped(p, n)) fail(name, "block %p corrupted", p);
    std::free(p);
}

void worker(long long ops, std::uint64_t seed) {
    rng r(seed);
    void* local[local_slots] = {};
    for (long long i = 0; i < ops; ++i) {
        const std::size_t k = r.below(local_slots);
        void* old = local[k];
        const std::size_t n = pick_size(r);
        void* p = checked_malloc(name, n);
        stamp(p, n);
        local[k] = p;
        if (r.below(8) == 0) {
            // Migrate: the old block goes to the table; whatever was there is ours to free.
            release(transfer[r.below(transfer_slots)].exchange(old, std::memory_order_acq_rel));
        } else {
            release(old);
        }
    }
    // Most of what is left dies with the thread; a quarter survives in the table.
    for (std::size_t k = 0; k < local_slots; ++k) {
        if (r.below(4) == 0)
            release(transfer[r.below(transfer_slots)].exchange(local[k], std::memory_order_acq_rel));
        else
            release(local[k]);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const int phases = static_cast<int>(o.count(120, 3));
    const int per_phase = 2 * o.threads;  // more threads than cores, of unequal work
    const long long ops = 9000;
    long long total = 0;
    for (int ph = 0; ph < phases; ++ph) {
        std::vector<std::thread> threads;
        for (int t = 0; t < per_phase; ++t) {
            const long long my_ops = ops * (t + 1) / per_phase * 2;
            total += my_ops;
            threads.emplace_back(worker, my_ops, 100u * ph + t);
        }
        for (auto& th : threads) th.join();
    }
    for (auto& slot : transfer) release(slot.exchange(nullptr));
    result("operations", total);
    return 0;
}
