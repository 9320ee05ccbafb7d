// heapkit malloc's huge-block cache across threads: threads allocate, grow,
// shrink and free huge blocks (some freed by another thread) at once, with
// contents checked, so the cache's lock and the in-place resizes are exercised
// together (label `concurrent`: runs under TSan).
#include <heapkit/malloc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t KiB = 1024;

bool check(const unsigned char* p, std::size_t n, unsigned char v) {
    for (std::size_t i = 0; i < n; i += 4093) {
        if (p[i] != v) return false;
    }
    return p[n - 1] == v;
}

TEST(hk_huge_threads, cache_and_resize_under_contention) {
    constexpr int threads = 4, rounds = 150;
    std::atomic<void*> handoff[threads] = {};
    std::atomic<bool> ok{true};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
            for (int r = 0; r < rounds; ++r) {
                const std::size_t n = 600 * KiB + rng() % (3000 * KiB);
                const auto v = static_cast<unsigned char>(t * 31 + r);
                auto* p = static_cast<unsigned char*>(hk_malloc(n));
                if (p == nullptr) {
                    ok = false;
                    return;
                }
                std::memset(p, v, n);
                const std::size_t m = n + rng() % (6000 * KiB);
                auto* q = static_cast<unsigned char*>(hk_realloc(p, m));
                if (q == nullptr || !check(q, n, v)) ok = false;
                std::memset(q, v, m);
                if (rng() % 2 == 0) {
                    q = static_cast<unsigned char*>(hk_realloc(q, m / 3 + 1));
                    if (q == nullptr || !check(q, m / 3 + 1, v)) ok = false;
                }
                // hand it to the next thread, free what the previous one left
                void* old = handoff[(t + 1) % threads].exchange(q);
                if (old != nullptr) hk_free(old);
                if (rng() % 8 == 0) hk_trim();
            }
        });
    }
    for (auto& th : ts) th.join();
    for (auto& h : handoff) {
        if (void* p = h.load()) hk_free(p);
    }
    EXPECT_TRUE(ok.load());
    hk_trim();
}

}  // namespace
