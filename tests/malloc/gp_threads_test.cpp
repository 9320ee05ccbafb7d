// heapkit malloc across threads: blocks handed between threads (contents
// checked), remote frees into full pages, threads that exit while others
// still hold their blocks (abandon and adopt), and the first allocation of
// a new thread in every size class, and a stress test of blocks hopping
// between threads with resizes. Runs under TSan (label `concurrent`).
#include <heapkit/malloc.hpp>
#include <malloc/size_classes.hpp>

#include <gtest/gtest.h>

#include "pattern.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace {

using item = heapkit::testing::patterned;
using heapkit::testing::fill;
using heapkit::testing::intact;

// A bounded queue of blocks, locked (the allocator under test takes no lock; the test may).
class channel {
public:
    void push(item it) {
        std::lock_guard<std::mutex> g(m_);
        q_.push_back(it);
        cv_.notify_one();
    }
    bool pop(item* out) {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [&] { return !q_.empty() || closed_; });
        if (q_.empty()) return false;
        *out = q_.front();
        q_.pop_front();
        return true;
    }
    void close() {
        std::lock_guard<std::mutex> g(m_);
        closed_ = true;
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<item> q_;
    bool closed_ = false;
};

}  // namespace

TEST(gp_threads, blocks_passed_between_threads_keep_their_contents) {
    constexpr int producers = 3, consumers = 2, per_producer = 2000;
    channel ch;
    std::atomic<int> bad{0}, consumed{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&] {
            item it;
            while (ch.pop(&it)) {
                if (!intact(it)) bad.fetch_add(1);
                hk_free(it.p);
                consumed.fetch_add(1);
            }
        });
    }
    std::vector<std::thread> makers;
    for (int t = 0; t < producers; ++t) {
        makers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
            for (int i = 0; i < per_producer; ++i) {
                const std::size_t n = rng() % 32 == 0 ? rng() % 600000 : rng() % 2000;
                item it{static_cast<unsigned char*>(hk_malloc(n)), n, static_cast<unsigned char>(rng())};
                ASSERT_NE(it.p, nullptr);
                fill(it);
                ch.push(it);
                if (i % 3 == 0) {  // and some local traffic in between
                    void* q = hk_malloc(rng() % 300);
                    hk_free(q);
                }
            }
        });
    }
    for (auto& m : makers) m.join();
    ch.close();
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(consumed.load(), producers * per_producer);
}

TEST(gp_threads, full_pages_learn_of_remote_frees) {
    // One thread fills many pages of one class; another frees every block;
    // the first then allocates as much again and must reuse those pages.
    constexpr int count = 20000;  // 20000 * 256 B = ~5 MiB: many full 64 KiB pages
    std::vector<void*> blocks(count);
    std::mutex m;
    std::condition_variable cv;
    int phase = 0;
    std::size_t mapped_after_first = 0, mapped_after_second = 0;
    std::thread owner([&] {
        for (auto& b : blocks) b = hk_malloc(256);
        mapped_after_first = heapkit::gp_stats().mapped_bytes;
        {
            std::unique_lock<std::mutex> g(m);
            phase = 1;
            cv.notify_all();
            cv.wait(g, [&] { return phase == 2; });
        }
        std::vector<void*> again(count);
        for (auto& b : again) b = hk_malloc(256);
        mapped_after_second = heapkit::gp_stats().mapped_bytes;
        for (void* b : again) hk_free(b);
    });
    std::thread freer([&] {
        {
            std::unique_lock<std::mutex> g(m);
            cv.wait(g, [&] { return phase == 1; });
        }
        for (void* b : blocks) hk_free(b);
        std::lock_guard<std::mutex> g(m);
        phase = 2;
        cv.notify_all();
    });
    owner.join();
    freer.join();
    // reuse: at most one extra segment (4 MiB) for the second round
    EXPECT_LE(mapped_after_second, mapped_after_first + (std::size_t{4} << 20));
}

TEST(gp_threads, blocks_outlive_the_thread_that_allocated_them) {
    for (int round = 0; round < 3; ++round) {
        std::vector<item> kept;
        std::mutex m;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                std::mt19937 rng(static_cast<unsigned>(round * 10 + t));
                std::vector<item> mine;
                for (int i = 0; i < 3000; ++i) {
                    const std::size_t n = 1 + rng() % (i % 50 == 0 ? 300000 : 1500);
                    item it{static_cast<unsigned char*>(hk_malloc(n)), n, static_cast<unsigned char>(rng())};
                    fill(it);
                    mine.push_back(it);
                }
                // free half locally, leave the rest to others after this thread exits
                for (std::size_t i = 0; i < mine.size(); i += 2) hk_free(mine[i].p);
                std::lock_guard<std::mutex> g(m);
                for (std::size_t i = 1; i < mine.size(); i += 2) kept.push_back(mine[i]);
            });
        }
        for (auto& th : threads) th.join();
        // a new thread adopts abandoned segments while the blocks are still live
        std::thread adopter([] {
            std::vector<void*> v;
            for (int i = 0; i < 5000; ++i) v.push_back(hk_malloc(static_cast<std::size_t>(i % 700)));
            for (void* p : v) hk_free(p);
        });
        // blocks of exited threads: checked and freed from here meanwhile
        for (const item& it : kept) {
            ASSERT_TRUE(intact(it));
            hk_free(it.p);
        }
        adopter.join();
    }
    hk_trim();
}

TEST(gp_threads, first_call_in_a_new_thread_works_for_every_class) {
    namespace hk = heapkit::hkmalloc;
    std::vector<std::size_t> sizes;
    for (unsigned c = 0; c < hk::class_count; ++c) sizes.push_back(hk::class_size(c));
    sizes.push_back(hk::max_class_size + 1);  // and a huge block
    for (std::size_t n : sizes) {
        void* got = nullptr;
        std::thread t([&] {
            got = hk_malloc(n);  // the first allocation of this thread
            if (got != nullptr) std::memset(got, 0x5a, n);
        });
        t.join();
        ASSERT_NE(got, nullptr) << n;
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(got) % 16, 0u);
        EXPECT_EQ(static_cast<unsigned char*>(got)[n - 1], 0x5a);
        hk_free(got);  // freed by another thread after the allocating thread exited
    }
}

// Stress: a ring of threads passing blocks in every direction. Each block
// carries a pattern and a hop count; a receiver checks the contents, then
// frees it, or resizes it (hk_realloc / hk_realloc_aligned, prefix checked)
// and forwards it to another thread. Some blocks are aligned, some zeroed
// (checked). Each round runs on fresh threads, and blocks still in flight at
// the end of a round are finished by the next round's threads, after the
// threads that allocated them have exited.
TEST(gp_threads, stress_blocks_hop_between_threads_with_resizes) {
    constexpr int threads = 4, rounds = 3, per_thread = 1500, max_hops = 4;
    struct hop_item {
        item it;
        std::size_t align;
        int hops;
    };
    struct inbox {
        std::mutex m;
        std::deque<hop_item> q;
    };
    std::vector<inbox> boxes(threads);
    std::atomic<int> bad{0};
    std::atomic<long> freed{0};
    long made = 0;
    auto post = [&](int to, hop_item h) {
        std::lock_guard<std::mutex> g(boxes[static_cast<std::size_t>(to)].m);
        boxes[static_cast<std::size_t>(to)].q.push_back(h);
    };
    auto take = [&](int me, hop_item* out) {
        std::lock_guard<std::mutex> g(boxes[static_cast<std::size_t>(me)].m);
        auto& q = boxes[static_cast<std::size_t>(me)].q;
        if (q.empty()) return false;
        *out = q.front();
        q.pop_front();
        return true;
    };
    // Checks a received block; frees it or resizes and forwards it.
    auto handle = [&](int me, std::mt19937& rng, hop_item h, bool may_forward) {
        if (!intact(h.it) || reinterpret_cast<std::uintptr_t>(h.it.p) % h.align != 0) bad.fetch_add(1);
        if (!may_forward || h.hops >= max_hops || rng() % 3 == 0) {
            hk_free(h.it.p);
            freed.fetch_add(1);
            return;
        }
        const std::size_t n = 1 + (rng() % 32 == 0 ? rng() % 200000 : rng() % 3000);
        void* q = h.align > 16 ? hk_realloc_aligned(h.it.p, n, h.align) : hk_realloc(h.it.p, n);
        if (q == nullptr) {
            bad.fetch_add(1);
            return;
        }
        auto* b = static_cast<unsigned char*>(q);
        if (!intact(item{b, std::min(n, h.it.n), h.it.seed})) bad.fetch_add(1);  // the prefix moved with it
        h.it = item{b, n, static_cast<unsigned char>(rng())};
        fill(h.it);
        ++h.hops;
        post(static_cast<int>((static_cast<unsigned>(me) + 1 + rng() % (threads - 1)) % threads), h);
    };
    for (int round = 0; round < rounds; ++round) {
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) {
            ts.emplace_back([&, t] {
                std::mt19937 rng(static_cast<unsigned>(round * 100 + t) + 12345u);
                for (int i = 0; i < per_thread; ++i) {
                    // every byte is written and checked (slow under TSan): few huge blocks
                    const unsigned kind = rng() % 8;
                    std::size_t n = kind == 0 && rng() % 8 == 0 ? rng() % 700000 : rng() % 4000;
                    std::size_t align = kind == 1 ? std::size_t{1} << (5 + rng() % 8) : 16;  // 32..4096
                    unsigned char* p;
                    if (kind == 2) {
                        p = static_cast<unsigned char*>(hk_calloc(1, n));
                        for (std::size_t k = 0; k < n; ++k)
                            if (p[k] != 0) {
                                bad.fetch_add(1);
                                break;
                            }
                    } else {
                        p = static_cast<unsigned char*>(align > 16 ? hk_aligned_alloc(align, n) : hk_malloc(n));
                    }
                    if (p == nullptr) {
                        bad.fetch_add(1);
                        continue;
                    }
                    hop_item h{item{p, n, static_cast<unsigned char>(rng())}, align, 0};
                    fill(h.it);
                    post(static_cast<int>((static_cast<unsigned>(t) + 1 + rng() % (threads - 1)) % threads), h);
                    hop_item in;
                    for (int k = 0; k < 2 && take(t, &in); ++k) handle(t, rng, in, true);
                }
            });
        }
        for (auto& th : ts) th.join();
        made += threads * per_thread;
        // what is left in flight is finished by the next round (or below, after the last)
    }
    std::thread finisher([&] {
        std::mt19937 rng(7);
        hop_item in;
        for (int t = 0; t < threads; ++t)
            while (take(t, &in)) handle(t, rng, in, false);
    });
    finisher.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(freed.load(), made);
    const heapkit::gp_check_result before_trim = heapkit::gp_check();  // every thread joined
    EXPECT_TRUE(before_trim.ok) << before_trim.message;
    hk_trim();
    const heapkit::gp_check_result after_trim = heapkit::gp_check();
    EXPECT_TRUE(after_trim.ok) << after_trim.message;
}

TEST(gp_threads, memory_of_exited_threads_is_reused_across_generations) {
    // larson's pattern: each generation of two threads replaces the blocks of
    // a working set that the previous generation allocated (remote frees into
    // segments of exited threads), then exits. Live data stays constant, so
    // mapped memory must stay bounded over 100 generations: segments of
    // exited threads are adopted or reused before new ones are mapped.
    constexpr std::size_t slots = 2000;
    std::vector<void*> sets[2];
    std::mt19937 init(7);
    for (auto& set : sets) {
        set.resize(slots);
        for (auto& b : set) b = hk_malloc(16 + init() % 1000);
    }
    std::size_t mapped_at_10 = 0, mapped_max = 0;
    for (int gen = 0; gen < 100; ++gen) {
        std::thread ts[2];
        for (int t = 0; t < 2; ++t) {
            ts[t] = std::thread([&, t] {
                std::mt19937 r(static_cast<unsigned>(gen * 2 + t));
                auto& set = sets[(t + gen) % 2];
                for (int i = 0; i < 6000; ++i) {
                    const std::size_t k = r() % slots;
                    hk_free(set[k]);
                    set[k] = hk_malloc(16 + r() % 1000);
                    ASSERT_NE(set[k], nullptr);
                    std::memset(set[k], 0x5a, 16);
                }
            });
        }
        for (auto& th : ts) th.join();
        const std::size_t mapped = heapkit::gp_stats().mapped_bytes;
        if (gen == 10) mapped_at_10 = mapped;
        if (gen >= 10) mapped_max = std::max(mapped_max, mapped);
    }
    for (auto& set : sets) {
        for (void* b : set) hk_free(b);
    }
    const heapkit::gp_check_result check = heapkit::gp_check();
    EXPECT_TRUE(check.ok) << check.message;
    EXPECT_GE(check.heaps, 3u);  // this thread's and the pooled ones of exited threads
    // ~2 MiB live; allow a few segments of slack over what generation 10 had.
    EXPECT_LE(mapped_max, mapped_at_10 + (std::size_t{16} << 20)) << "mapped at generation 10: " << mapped_at_10;
}

TEST(gp_threads, remote_frees_of_every_class_keep_blocks_intact) {
    // Blocks of every small and medium class allocated by one thread, checked
    // and freed by another (the lean remote path), then reused by the owner.
    using heapkit::hkmalloc::class_size;
    constexpr unsigned classes = 88;
    std::vector<std::pair<unsigned char*, std::size_t>> blocks;
    std::thread owner([&] {
        for (int round = 0; round < 2; ++round) {
            for (unsigned c = 0; c < classes; ++c) {
                const std::size_t n = class_size(c);
                for (int i = 0; i < 4; ++i) {
                    auto* p = static_cast<unsigned char*>(hk_malloc(n));
                    ASSERT_NE(p, nullptr);
                    std::memset(p, static_cast<int>((c + i) & 0xff), n);
                    blocks.emplace_back(p, n);
                }
            }
            std::thread freer([&] {
                for (auto [p, n] : blocks) {
                    const unsigned char v = p[0];
                    EXPECT_TRUE(std::all_of(p, p + n, [v](unsigned char x) { return x == v; }));
                    hk_free(p);
                }
            });
            freer.join();
            blocks.clear();
        }
    });
    owner.join();
}
