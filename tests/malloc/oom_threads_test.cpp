// heapkit malloc out of memory, many threads: under an address-space limit
// several threads allocate until NULL (ENOMEM), exit, another thread frees
// everything (remote frees into abandoned segments) and the memory is served
// again; injected mapping refusals at random points of a stress run (blocks
// passed between threads, reallocs, huge blocks) never abort and leave the
// allocator consistent (gp_check). Runs under TSan (label `concurrent`).
#include <heapkit/malloc.hpp>
#include <malloc/os_memory.hpp>

#include <gtest/gtest.h>

#include "oom_child.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <malloc.h>
#include <vector>

namespace {

namespace oom = heapkit::testing::oom;
using oom::MiB;

constexpr std::size_t budget = 390 * MiB;
constexpr int threads = 4;

void* hk_alloc(std::size_t n) { return hk_malloc(n); }
void hk_release(void* p) { hk_free(p); }

}  // namespace

TEST(oom_threads, address_space_limit_many_threads_recover) {
    struct result {
        oom::fill_result first[threads];
        oom::fill_result second[threads];
        std::size_t freed = 0;
        bool big_after = false, small_after = false, new_thread_after = false;
        bool check_ok = false;
        char message[240] = {};
    } out;
    const bool ran = oom::run_in_child(&out, [](result* r) {
        // This binary's own allocations (std::thread, gtest) use glibc's malloc,
        // which gives a thread that calls it an arena of 64 MiB of address space:
        // one arena, so the limit measures heapkit.
        ::mallopt(M_ARENA_MAX, 1);
        if (!oom::limit_address_space(budget)) return 2;
        static const std::size_t sizes[threads] = {48, 3000, 40000, 1200000};
        void* heads[threads] = {};
        for (int round = 0; round < 2; ++round) {
            std::thread ts[threads];
            for (int t = 0; t < threads; ++t) {
                ts[t] = std::thread([&, t] {
                    // each thread stops at its first NULL; together they exhaust the address space
                    (round == 0 ? r->first : r->second)[t] = oom::fill_until_null(hk_alloc, sizes[t], &heads[t]);
                });
            }
            for (auto& th : ts) th.join();
            // the threads are gone: this thread frees all their blocks (into pooled segments)
            for (auto& head : heads) r->freed += oom::free_list(hk_release, &head);
            if (round == 0) {
                void* big = hk_malloc(MiB);
                void* small = hk_malloc(100);
                r->big_after = big != nullptr;
                r->small_after = small != nullptr;
                hk_free(big);
                hk_free(small);
                std::thread fresh([r] {
                    void* p = hk_malloc(5 * MiB);
                    void* q = hk_malloc(200);
                    r->new_thread_after = p != nullptr && q != nullptr;
                    hk_free(p);
                    hk_free(q);
                });
                fresh.join();
            }
        }
        const heapkit::gp_check_result c = heapkit::gp_check();
        r->check_ok = c.ok;
        std::memcpy(r->message, c.message, sizeof r->message);
        return 0;
    });
    ASSERT_TRUE(ran) << "the child under the address-space limit died";
    std::size_t first = 0, second = 0;
    for (int t = 0; t < threads; ++t) {
        EXPECT_EQ(out.first[t].error, ENOMEM) << "thread " << t;
        EXPECT_EQ(out.second[t].error, ENOMEM) << "thread " << t;
        first += out.first[t].bytes;
        second += out.second[t].bytes;
        std::printf("thread %d: %.1f MiB, then %.1f MiB\n", t, static_cast<double>(out.first[t].bytes) / MiB,
                    static_cast<double>(out.second[t].bytes) / MiB);
    }
    std::printf("4 threads: first round %.1f MiB, second round %.1f MiB\n", static_cast<double>(first) / MiB,
                static_cast<double>(second) / MiB);
    EXPECT_TRUE(out.big_after);
    EXPECT_TRUE(out.small_after);
    EXPECT_TRUE(out.new_thread_after);
    // the second round gets about as far: memory of the exited threads was reused
    EXPECT_GE(second * 10, first * 9) << "first " << first << " bytes, second " << second;
    EXPECT_TRUE(out.check_ok) << out.message;
}

namespace {

// Refuses mappings in bursts: of every 12 requests a thread makes, the last 4
// fail, and one in 5 of the others fails at random (per-thread state).
std::atomic<bool> g_inject{false};
thread_local std::uint64_t tls_requests = 0;
thread_local std::minstd_rand tls_rng{12345};
bool bursty_refusal(std::size_t) {
    if (!g_inject.load(std::memory_order_relaxed)) return false;
    const std::uint64_t n = tls_requests++;
    return n % 12 >= 8 || tls_rng() % 5 == 0;
}

struct slot {
    std::mutex m;
    std::vector<std::pair<void*, std::size_t>> blocks;
};

bool pattern_ok(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    const std::size_t k = n < 64 ? n : 64;
    for (std::size_t i = 0; i < k; ++i)
        if (b[i] != static_cast<unsigned char>(n + i)) return false;
    return true;
}
void pattern_fill(void* p, std::size_t n) {
    auto* b = static_cast<unsigned char*>(p);
    const std::size_t k = n < 64 ? n : 64;
    for (std::size_t i = 0; i < k; ++i) b[i] = static_cast<unsigned char>(n + i);
}

}  // namespace

TEST(oom_threads, stress_with_injected_refusals_never_aborts_and_stays_consistent) {
    heapkit::hkmalloc::testing::set_map_fault(&bursty_refusal);
    slot slots[threads];
    std::atomic<long> nulls{0}, bad_errno{0}, corrupt{0}, served{0};
    for (int round = 0; round < 3; ++round) {
        g_inject.store(true);
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) {
            ts.emplace_back([&, t] {
                std::mt19937 rng(static_cast<unsigned>(round * 31 + t));
                for (int i = 0; i < 3000; ++i) {
                    const unsigned kind = rng() % 16;
                    std::size_t n = kind == 0 ? 600000 + rng() % (3 * MiB) : kind < 3 ? 8192 + rng() % 400000
                                                                                       : 16 + rng() % 2000;
                    errno = 0;
                    void* p = kind == 3 ? hk_aligned_alloc(std::size_t{64} << (rng() % 6), n) : hk_malloc(n);
                    if (p == nullptr) {
                        nulls.fetch_add(1);
                        if (errno != ENOMEM) bad_errno.fetch_add(1);
                        continue;
                    }
                    served.fetch_add(1);
                    pattern_fill(p, n);
                    slot& to = slots[(static_cast<unsigned>(t) + rng()) % threads];
                    std::pair<void*, std::size_t> victim{nullptr, 0};
                    {
                        std::lock_guard<std::mutex> g(to.m);
                        to.blocks.emplace_back(p, n);
                        if (to.blocks.size() > 200) {
                            const std::size_t k = rng() % to.blocks.size();
                            victim = to.blocks[k];
                            to.blocks[k] = to.blocks.back();
                            to.blocks.pop_back();
                        }
                    }
                    if (victim.first == nullptr) continue;
                    if (!pattern_ok(victim.first, victim.second)) corrupt.fetch_add(1);
                    if (rng() % 4 == 0) {  // grow or shrink it; a refused realloc keeps the block
                        const std::size_t m = 16 + rng() % (victim.second * 2 + 16);
                        errno = 0;
                        void* q = hk_realloc(victim.first, m);
                        if (q == nullptr) {
                            if (errno != ENOMEM) bad_errno.fetch_add(1);
                            if (!pattern_ok(victim.first, victim.second)) corrupt.fetch_add(1);
                            hk_free(victim.first);
                            continue;
                        }
                        hk_free(q);
                        continue;
                    }
                    hk_free(victim.first);
                }
            });
        }
        for (auto& th : ts) th.join();
        g_inject.store(false);
        const heapkit::gp_check_result c = heapkit::gp_check();
        ASSERT_TRUE(c.ok) << "round " << round << ": " << c.message;
    }
    for (auto& s : slots) {
        for (auto& [p, n] : s.blocks) {
            if (!pattern_ok(p, n)) corrupt.fetch_add(1);
            hk_free(p);
        }
        s.blocks.clear();
    }
    heapkit::hkmalloc::testing::set_map_fault(nullptr);
    EXPECT_GT(nulls.load(), 0) << "no request was refused: the injection did not bite";
    EXPECT_GT(served.load(), 0);
    EXPECT_EQ(bad_errno.load(), 0) << "a NULL without errno = ENOMEM";
    EXPECT_EQ(corrupt.load(), 0);
    const heapkit::hkmalloc::os_refusal_counts counts = heapkit::hkmalloc::os_refusals();
    EXPECT_GT(counts.refused, 0u);
    EXPECT_GT(counts.recovered, 0u) << "no refusal was recovered by a reclaim and retry";
    // with the OS cooperating again, everything is served
    void* big = hk_malloc(20 * MiB);
    void* small = hk_malloc(24);
    EXPECT_NE(big, nullptr);
    EXPECT_NE(small, nullptr);
    hk_free(big);
    hk_free(small);
    hk_trim();
    const heapkit::gp_check_result c = heapkit::gp_check();
    EXPECT_TRUE(c.ok) << c.message;
}
