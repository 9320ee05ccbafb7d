// heapkit malloc over a process's whole life. In-process (this program is
// linked with heapkit::malloc): the first call of a new thread in every size
// class, blocks of exited threads freed later by others, fork from a
// multi-threaded process (the child allocates, then execs), dlopen/dlclose,
// and a library constructor that allocated before main. In a process of its
// own with LD_PRELOAD=libheapkit.so (tests/global/programs/
// malloc_lifecycle_helper.cpp): allocation in atexit handlers, static and
// thread_local destructors, dlopen, the early constructor again, and the
// documented behaviour of HEAPKIT_VERBOSE, HEAPKIT_STATS and HEAPKIT_PURGE_DELAY.
#include "global/programs/dlopen_scenario.hpp"

#include <heapkit/malloc.hpp>

#include <gtest/gtest.h>

#include "pattern.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shell.hpp"

#ifndef HEAPKIT_SHARED_LIBRARY
#define HEAPKIT_SHARED_LIBRARY ""
#endif
#ifndef HEAPKIT_LIFECYCLE_HELPER
#define HEAPKIT_LIFECYCLE_HELPER ""
#endif
#ifndef HEAPKIT_DLOPEN_LIBRARY
#define HEAPKIT_DLOPEN_LIBRARY ""
#endif

extern "C" void* hk_test_early_block();
extern "C" bool hk_test_early_intact();

namespace {

void* volatile sink;

// Every class size of docs/malloc.md: 16..128 by 16, then 8 per power of two up to 512 KiB; then huge.
std::vector<std::size_t> class_sizes() {
    std::vector<std::size_t> s;
    for (std::size_t n = 16; n <= 128; n += 16) s.push_back(n);
    for (std::size_t k = 128; k < (std::size_t{512} << 10); k *= 2)
        for (std::size_t j = 1; j <= 8; ++j) s.push_back(k + j * (k / 8));
    s.push_back((std::size_t{512} << 10) + 1);
    s.push_back(std::size_t{5} << 20);
    return s;
}

using item = heapkit::testing::patterned;
using heapkit::testing::fill;
using heapkit::testing::intact;

using output = heapkit::testing::shell_output;
using heapkit::testing::shell;  // stdout only unless the command redirects

std::string preloaded(const std::string& env, const std::string& args) {
    return env + " LD_PRELOAD=" + HEAPKIT_SHARED_LIBRARY + " " + HEAPKIT_LIFECYCLE_HELPER + " " + args;
}

bool exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

class preloaded_helper : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string(HEAPKIT_SHARED_LIBRARY).empty() || std::string(HEAPKIT_LIFECYCLE_HELPER).empty())
            GTEST_SKIP() << "built without libheapkit.so or the helper";
    }
};

std::size_t number_after(const std::string& text, const std::string& label) {
    const std::size_t at = text.find(label);
    if (at == std::string::npos) return 0;
    return std::strtoull(text.c_str() + at + label.size(), nullptr, 10);
}

}  // namespace

// ---- in this process (linked with heapkit::malloc) ----

TEST(malloc_lifecycle, library_constructor_allocated_before_main_from_heapkit) {
    auto* b = static_cast<unsigned char*>(hk_test_early_block());
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(hk_owns(b)) << "the constructor's block did not come from heapkit";
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(b[i], 0x5e) << i;
    std::free(b);
    EXPECT_TRUE(hk_test_early_intact());
}

TEST(malloc_lifecycle, first_call_in_a_new_thread_for_every_size_class) {
    for (std::size_t n : class_sizes()) {
        // malloc, operator new and an aligned allocation, each the first call of a fresh thread
        void* got[3] = {};
        std::thread([&] {
            got[0] = std::malloc(n);
            std::memset(got[0], 0x11, n);
        }).join();
        std::thread([&] {
            got[1] = ::operator new(n);
            std::memset(got[1], 0x22, n);
        }).join();
        std::thread([&] {
            got[2] = std::aligned_alloc(256, n);
            std::memset(got[2], 0x33, n);
        }).join();
        for (int k = 0; k < 3; ++k) {
            ASSERT_NE(got[k], nullptr) << n;
            EXPECT_TRUE(hk_owns(got[k])) << n;
            EXPECT_EQ(static_cast<unsigned char*>(got[k])[n - 1], 0x11 * (k + 1)) << n;
        }
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(got[2]) % 256, 0u) << n;
        std::free(got[0]);  // freed here, after the allocating threads exited
        ::operator delete(got[1], n);
        std::free(got[2]);
    }
}

TEST(malloc_lifecycle, blocks_of_exited_threads_are_freed_later_by_others) {
    std::vector<item> kept;
    std::mutex m;
    std::vector<std::thread> makers;
    for (int t = 0; t < 4; ++t) {
        makers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t) + 100);
            std::vector<item> mine;
            for (int i = 0; i < 4000; ++i) {
                const std::size_t n = 1 + rng() % (i % 100 == 0 ? 900000 : 2000);
                item it{static_cast<unsigned char*>(std::malloc(n)), n, static_cast<unsigned char>(rng())};
                fill(it);
                mine.push_back(it);
            }
            std::lock_guard<std::mutex> g(m);
            kept.insert(kept.end(), mine.begin(), mine.end());
        });
    }
    for (auto& th : makers) th.join();  // every allocating thread is gone
    std::atomic<int> bad{0};
    std::vector<std::thread> freers;
    for (int t = 0; t < 2; ++t) {
        freers.emplace_back([&, t] {
            // a new thread allocates too (and may adopt the abandoned segments) while freeing
            std::vector<void*> own;
            for (std::size_t i = static_cast<std::size_t>(t); i < kept.size(); i += 2) {
                if (!intact(kept[i])) bad.fetch_add(1);
                std::free(kept[i].p);
                if (i % 7 == 0) own.push_back(std::malloc(i % 3000));
            }
            for (void* p : own) std::free(p);
        });
    }
    for (auto& th : freers) th.join();
    EXPECT_EQ(bad.load(), 0);
    malloc_trim(0);
}

TEST(malloc_lifecycle, fork_from_a_multithreaded_process_then_allocate_and_exec) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> busy;
    for (int t = 0; t < 3; ++t) {
        busy.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            while (!stop.load()) {
                std::vector<std::string> v;
                for (int i = 0; i < 50; ++i) v.emplace_back(rng() % 3000, 'b');
                sink = v.back().data();
                std::free(std::malloc(rng() % 700000));
            }
        });
    }
    const bool can_exec =
        !std::string(HEAPKIT_LIFECYCLE_HELPER).empty() && !std::string(HEAPKIT_SHARED_LIBRARY).empty();
    for (int round = 0; round < 10; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            // the child allocates in its only thread and in new ones
            std::vector<void*> blocks;
            for (int k = 0; k < 2000; ++k) blocks.push_back(std::malloc(static_cast<std::size_t>(k * 17)));
            for (void* b : blocks) std::free(b);
            bool ok = true;
            std::thread t([&] {
                std::string s(100000, 'c');
                ok = hk_owns(s.data()) && s[99999] == 'c';
            });
            t.join();
            if (!ok) ::_exit(3);
            if (!can_exec) ::_exit(0);
            ::dup2(fds[1], 1);
            const std::string preload = std::string("LD_PRELOAD=") + HEAPKIT_SHARED_LIBRARY;
            char* const argv[] = {const_cast<char*>(HEAPKIT_LIFECYCLE_HELPER), const_cast<char*>("alloc-threads"),
                                  nullptr};
            char* const envp[] = {const_cast<char*>(preload.c_str()), nullptr};
            ::execve(HEAPKIT_LIFECYCLE_HELPER, argv, envp);
            ::_exit(4);
        }
        ::close(fds[1]);
        std::string out;
        char buf[256];
        ssize_t n;
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
        ::close(fds[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(exited_zero(status)) << "round " << round << ": status " << status;
        if (can_exec) {
            EXPECT_EQ(out, "alloc-threads ok heapkit\n") << "round " << round;
        }
    }
    stop = true;
    for (auto& th : busy) th.join();
}

TEST(malloc_lifecycle, dlopen_library_allocates_and_frees_across_dlclose) {
    if (std::string(HEAPKIT_DLOPEN_LIBRARY).empty()) GTEST_SKIP() << "no test library";
    EXPECT_EQ(hk_test::dlopen_scenario(HEAPKIT_DLOPEN_LIBRARY, 5), "");
}

// ---- in a process of its own, LD_PRELOAD=libheapkit.so ----

TEST_F(preloaded_helper, allocation_in_atexit_handlers_and_static_destructors) {
    const output r = shell(preloaded("", "exit-paths"));
    EXPECT_TRUE(exited_zero(r.status)) << r.status;
    // thread_local destructor at thread exit, main, then atexit and static destructors
    // (reverse order of registration: the static object was constructed first)
    EXPECT_EQ(r.out, "thread_local destructor ok\nmain ok\natexit handler ok\nstatic destructor ok\n");
}

TEST_F(preloaded_helper, library_constructor_before_main) {
    const output r = shell(preloaded("", "early"));
    EXPECT_TRUE(exited_zero(r.status));
    EXPECT_EQ(r.out, "early ok\n");
}

TEST_F(preloaded_helper, dlopen_dlclose) {
    if (std::string(HEAPKIT_DLOPEN_LIBRARY).empty()) GTEST_SKIP() << "no test library";
    const output r = shell(preloaded("", std::string("dlopen ") + HEAPKIT_DLOPEN_LIBRARY));
    EXPECT_TRUE(exited_zero(r.status));
    EXPECT_EQ(r.out, "dlopen ok heapkit\n");
}

TEST_F(preloaded_helper, verbose_prints_one_line_at_initialisation) {
    output r = shell(preloaded("HEAPKIT_VERBOSE=1", "owned 2>&1"));
    EXPECT_TRUE(exited_zero(r.status));
    EXPECT_EQ(r.out, "heapkit: malloc initialised; purge delay in ms: 100\nheapkit active\n");
    r = shell(preloaded("HEAPKIT_VERBOSE=1 HEAPKIT_PURGE_DELAY=-1", "owned 2>&1"));
    EXPECT_NE(r.out.find("heapkit: malloc initialised; purging off"), std::string::npos) << r.out;
    r = shell(preloaded("", "owned 2>&1"));  // off by default: nothing on stderr
    EXPECT_EQ(r.out, "heapkit active\n");
}

TEST_F(preloaded_helper, stats_at_exit_even_when_the_program_closed_stderr) {
    output r = shell(preloaded("HEAPKIT_STATS=1", "owned 2>&1 >/dev/null"));
    EXPECT_TRUE(exited_zero(r.status));
    EXPECT_NE(r.out.find("heapkit: malloc statistics\n"), std::string::npos) << r.out;
    EXPECT_GT(number_after(r.out, "heapkit:   allocations"), 0u) << r.out;
    r = shell(preloaded("HEAPKIT_STATS=1", "close-stderr 2>&1"));
    EXPECT_NE(r.out.find("heapkit: malloc statistics\n"), std::string::npos) << r.out;
    r = shell(preloaded("HEAPKIT_STATS=0", "owned 2>&1"));
    EXPECT_EQ(r.out, "heapkit active\n");
}

TEST_F(preloaded_helper, purge_delay_zero_returns_memory_and_minus_one_keeps_it) {
    const output now = shell(preloaded("HEAPKIT_PURGE_DELAY=0", "purge"));
    ASSERT_TRUE(exited_zero(now.status));
    const std::size_t used0 = number_after(now.out, "mapped in use: ");
    const std::size_t after0 = number_after(now.out, "mapped after free: ");
    EXPECT_GE(used0, std::size_t{24} << 20) << now.out;
    EXPECT_LT(after0, used0 / 2) << "HEAPKIT_PURGE_DELAY=0 should unmap empty segments at the next slow path\n"
                                 << now.out;

    const std::size_t one_run = used0;
    const output never = shell(preloaded("HEAPKIT_PURGE_DELAY=-1", "purge"));
    ASSERT_TRUE(exited_zero(never.status));
    const std::size_t used1 = number_after(never.out, "mapped in use: ");
    const std::size_t after1 = number_after(never.out, "mapped after free: ");
    // At least as much: with a delay of 0 the vector's outgrown buffers may already be back.
    EXPECT_GE(used1, one_run) << never.out;
    EXPECT_GE(after1, used1) << "HEAPKIT_PURGE_DELAY=-1 must never give memory back\n" << never.out;
}
