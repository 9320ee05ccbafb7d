// HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC over a counting<libc>: the whole
// malloc family goes through the registered allocator and behaves as glibc's
// does (return values, errno, alignment, realloc's corner cases); what libc
// itself allocates (strdup, getline) is served and freeable; allocations made
// before main are counted; misuse dies with a message; and an allocator that
// calls malloc itself is reported as re-entry instead of recursing.
//
// The registered object is `backend`: normally a counting<libc>. For the
// re-entry checks it can be switched to a counting<system> (an allocator that
// calls malloc itself, which must not be registered this way): in a forked
// child by a flag, and from the very first allocation of a fresh process by an
// environment variable, which this test sets when it re-executes itself.
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/global.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <malloc.h>
#include <unistd.h>

namespace {

constexpr const char* register_system_env = "HEAPKIT_TEST_REGISTER_SYSTEM";

class backend {
public:
    constexpr backend() noexcept = default;

    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        return calls_malloc() ? bad_.allocate(l) : good_.allocate(l);
    }
    heapkit::memory_block allocate_zeroed(heapkit::layout l) noexcept {
        return calls_malloc() ? bad_.allocate_zeroed(l) : good_.allocate_zeroed(l);
    }
    void deallocate(void* p, heapkit::layout l) noexcept { good_.deallocate(p, l); }
    heapkit::memory_block grow(void* p, heapkit::layout o, heapkit::layout n) noexcept { return good_.grow(p, o, n); }
    heapkit::memory_block shrink(void* p, heapkit::layout o, heapkit::layout n) noexcept {
        return good_.shrink(p, o, n);
    }

    heapkit::counting<heapkit::libc>& counter() noexcept { return good_; }
    // From now on, behave like a registered counting<system>.
    void arm() noexcept { mode_.store(armed, std::memory_order_relaxed); }

private:
    enum : int { unknown = 0, plain = 1, armed = 2 };

    bool calls_malloc() noexcept {
        int m = mode_.load(std::memory_order_relaxed);
        if (m == unknown) {  // getenv reads environ: it does not allocate
            m = std::getenv(register_system_env) != nullptr ? armed : plain;
            mode_.store(m, std::memory_order_relaxed);
        }
        return m == armed;
    }

    heapkit::counting<heapkit::libc> good_;   // the allocator under test
    heapkit::counting<heapkit::system> bad_;  // calls malloc: re-entry
    std::atomic<int> mode_{unknown};
};

constinit backend global_allocator;

}  // namespace

HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(global_allocator);

namespace {

using heapkit::counting_snapshot;

heapkit::counting<heapkit::libc>& counter() { return global_allocator.counter(); }
counting_snapshot now() { return counter().snapshot(); }

counting_snapshot at_main;  // taken first thing in main()

constexpr std::size_t header = 16;

// Keeps the compiler from reasoning about sizes and pointers on purpose.
template <class T>
T opaque(T v) {
    volatile T x = v;
    return x;
}

TEST(global_malloc, allocations_before_main_were_counted) {
    EXPECT_GT(at_main.allocations, 0u);
    EXPECT_GT(at_main.bytes_allocated, 0u);
}

TEST(global_malloc, malloc_and_free_go_through_the_allocator) {
    const counting_snapshot before = now();
    void* p = std::malloc(100);
    const counting_snapshot mid = now().since(before);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(heapkit::is_aligned(p, 16));
    std::memset(p, 1, 100);
    std::free(p);
    const counting_snapshot end = now().since(before);
    EXPECT_EQ(mid.allocations, 1u);
    EXPECT_EQ(mid.bytes_allocated, 100 + header);
    EXPECT_EQ(end.deallocations, 1u);
    EXPECT_EQ(end.live_bytes(), 0u);
}

TEST(global_malloc, malloc_of_zero_is_unique_and_freeable) {
    void* a = std::malloc(0);
    void* b = std::malloc(0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(a, b);
    EXPECT_EQ(malloc_usable_size(a), 0u);
    std::free(a);
    std::free(b);
}

TEST(global_malloc, malloc_failure_is_null_with_enomem) {
    errno = 0;
    EXPECT_EQ(std::malloc(opaque(SIZE_MAX)), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    const counting_snapshot before = now();
    errno = 0;
    EXPECT_EQ(std::malloc(opaque(std::size_t{1} << 50)), nullptr);  // a valid layout no machine serves
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(now().since(before).failures, 1u);
}

TEST(global_malloc, calloc_is_zeroed_and_counted) {
    void* dirty = std::malloc(1000);
    std::memset(dirty, 0xff, 1000);
    std::free(dirty);
    const counting_snapshot before = now();
    auto* p = static_cast<unsigned char*>(std::calloc(10, 100));
    const counting_snapshot mid = now().since(before);
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0) << "byte " << i;
    std::free(p);
    EXPECT_EQ(mid.allocations, 1u);
    EXPECT_EQ(mid.bytes_allocated, 1000 + header);
}

TEST(global_malloc, calloc_overflow_is_null_with_enomem) {
    const counting_snapshot before = now();
    errno = 0;
    EXPECT_EQ(std::calloc(opaque(SIZE_MAX / 2), 3), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(now().since(before).calls(), 0u) << "the allocator is not asked";
}

TEST(global_malloc, realloc_of_null_is_malloc) {
    const counting_snapshot before = now();
    void* p = std::realloc(nullptr, 64);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(now().since(before).allocations, 1u);
    EXPECT_EQ(malloc_usable_size(p), 64u);
    std::free(p);
}

TEST(global_malloc, realloc_grows_and_shrinks_keeping_data) {
    auto* p = static_cast<unsigned char*>(std::malloc(10));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i + 1);
    const counting_snapshot before = now();
    auto* g = static_cast<unsigned char*>(std::realloc(p, 100000));
    ASSERT_NE(g, nullptr);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(g[i], i + 1);
    EXPECT_EQ(malloc_usable_size(g), 100000u);
    auto* s = static_cast<unsigned char*>(std::realloc(g, 5));
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(s[i], i + 1);
    EXPECT_EQ(malloc_usable_size(s), 5u);
    const counting_snapshot d = now().since(before);
    EXPECT_EQ(d.reallocations, 2u);
    EXPECT_EQ(d.allocations, 0u);
    std::free(s);
}

TEST(global_malloc, realloc_to_zero_frees_and_returns_null) {
    void* p = std::malloc(32);
    ASSERT_NE(p, nullptr);
    const counting_snapshot before = now();
    EXPECT_EQ(std::realloc(p, 0), nullptr);
    const counting_snapshot d = now().since(before);
    EXPECT_EQ(d.deallocations, 1u);
    EXPECT_EQ(d.bytes_freed, 32 + header);
}

TEST(global_malloc, realloc_failure_keeps_the_block_and_sets_enomem) {
    auto* p = static_cast<char*>(std::malloc(16));
    ASSERT_NE(p, nullptr);
    std::strcpy(p, "still here");
    errno = 0;
    EXPECT_EQ(std::realloc(p, opaque(SIZE_MAX - 8)), nullptr);  // no layout can describe it
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    const counting_snapshot before = now();
    EXPECT_EQ(std::realloc(p, opaque(std::size_t{1} << 50)), nullptr);  // the allocator refuses
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(now().since(before).failures, 1u);
    EXPECT_STREQ(p, "still here");
    EXPECT_EQ(malloc_usable_size(p), 16u);
    p = static_cast<char*>(std::realloc(p, 32));  // and it still works
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p, "still here");
    std::free(p);
}

TEST(global_malloc, reallocarray_checks_overflow) {
    auto* p = static_cast<int*>(reallocarray(nullptr, 4, sizeof(int)));
    ASSERT_NE(p, nullptr);
    p[3] = 42;
    errno = 0;
    EXPECT_EQ(reallocarray(p, opaque(SIZE_MAX / 2), 4), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(p[3], 42);  // untouched
    p = static_cast<int*>(reallocarray(p, 100, sizeof(int)));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p[3], 42);
    EXPECT_EQ(malloc_usable_size(p), 400u);
    std::free(p);
}

TEST(global_malloc, posix_memalign_aligns_and_reports_errors_without_touching_out) {
    for (std::size_t align : {sizeof(void*), std::size_t{64}, std::size_t{4096}, std::size_t{1} << 16}) {
        void* p = nullptr;
        errno = 1234;
        ASSERT_EQ(posix_memalign(&p, align, 100), 0) << "align " << align;
        EXPECT_EQ(errno, 1234);
        EXPECT_TRUE(heapkit::is_aligned(p, align)) << "align " << align;
        std::memset(p, 2, 100);
        std::free(p);
    }
    void* const sentinel = reinterpret_cast<void*>(0x1234);
    for (std::size_t bad : {std::size_t{0}, std::size_t{4}, std::size_t{24}, std::size_t{100}}) {
        void* p = sentinel;
        errno = 1234;
        EXPECT_EQ(posix_memalign(&p, opaque(bad), 100), EINVAL) << "align " << bad;
        EXPECT_EQ(p, sentinel) << "align " << bad;
        EXPECT_EQ(errno, 1234) << "errno is not how posix_memalign reports";
    }
    void* p = sentinel;
    errno = 1234;
    EXPECT_EQ(posix_memalign(&p, 64, opaque(std::size_t{1} << 50)), ENOMEM);
    EXPECT_EQ(p, sentinel);
    EXPECT_EQ(errno, 1234);
}

TEST(global_malloc, aligned_alloc_memalign_valloc_pvalloc) {
    void* a = aligned_alloc(64, 128);
    ASSERT_NE(a, nullptr);
    EXPECT_TRUE(heapkit::is_aligned(a, 64));
    std::free(a);

    errno = 0;
    EXPECT_EQ(aligned_alloc(opaque(std::size_t{24}), 48), nullptr);
    EXPECT_EQ(errno, EINVAL);

    void* m = memalign(256, 10);
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(heapkit::is_aligned(m, 256));
    std::free(m);

    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    void* v = valloc(100);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(heapkit::is_aligned(v, page));
    EXPECT_EQ(malloc_usable_size(v), 100u);
    std::free(v);

    void* pv = pvalloc(100);  // the size is rounded up to whole pages
    ASSERT_NE(pv, nullptr);
    EXPECT_TRUE(heapkit::is_aligned(pv, page));
    EXPECT_EQ(malloc_usable_size(pv), page);
    std::memset(pv, 3, page);
    std::free(pv);
}

TEST(global_malloc, malloc_usable_size_reports_the_requested_size) {
    void* p = std::malloc(37);
    EXPECT_EQ(malloc_usable_size(p), 37u);
    std::free(p);
    EXPECT_EQ(malloc_usable_size(nullptr), 0u);
}

TEST(global_malloc, free_keeps_errno) {
    void* p = std::malloc(8);
    errno = 1234;
    std::free(p);
    EXPECT_EQ(errno, 1234);
    std::free(nullptr);
    EXPECT_EQ(errno, 1234);
}

TEST(global_malloc, what_libc_allocates_is_served_and_freeable) {
    const counting_snapshot before = now();
    char* copy = strdup("heapkit");
    ASSERT_NE(copy, nullptr);
    EXPECT_STREQ(copy, "heapkit");
    const counting_snapshot after_strdup = now().since(before);
    EXPECT_EQ(after_strdup.allocations, 1u);
    EXPECT_EQ(after_strdup.bytes_allocated, 8 + header);
    std::free(copy);  // would die as a foreign pointer if libc had not used our malloc

    char text[] = "first line\nsecond line\n";
    FILE* f = fmemopen(text, std::strlen(text), "r");
    ASSERT_NE(f, nullptr);
    char* line = nullptr;
    std::size_t cap = 0;
    const counting_snapshot before_getline = now();
    ASSERT_EQ(getline(&line, &cap, f), 11);
    EXPECT_STREQ(line, "first line\n");
    EXPECT_GE(now().since(before_getline).allocations, 1u);
    EXPECT_EQ(malloc_usable_size(line), cap);
    std::free(line);
    std::fclose(f);
    const counting_snapshot end = now().since(before);
    EXPECT_EQ(end.allocations, end.deallocations);
    EXPECT_EQ(end.live_bytes(), 0u);
}

TEST(global_malloc, operator_new_shares_the_allocator) {
    const counting_snapshot before = now();
    auto* v = new std::vector<int>(1000);
    const counting_snapshot mid = now().since(before);
    delete v;
    EXPECT_EQ(mid.allocations, 2u);  // the vector object and its buffer
    EXPECT_EQ(now().since(before).live_bytes(), 0u);
}

// ---- misuse dies with a message ----

using global_malloc_death = ::testing::Test;

TEST(global_malloc_death, free_of_a_foreign_pointer_dies) {
    heapkit::libc libc;
    const auto l = *heapkit::layout::from(64, 16);
    void* foreign = libc.allocate(l).ptr;
    ASSERT_NE(foreign, nullptr);
    EXPECT_DEATH(std::free(opaque(foreign)), "free\\(\\): pointer 0x[0-9a-f]+ was not allocated by heapkit");
    EXPECT_DEATH(std::free(std::realloc(opaque(foreign), 128)), "realloc\\(\\): pointer 0x[0-9a-f]+ was not allocated");
    EXPECT_DEATH((void)malloc_usable_size(opaque(foreign)), "malloc_usable_size\\(\\): pointer");
    libc.deallocate(foreign, l);
}

// Allocates, frees, and frees again. All in the death-test child: between a
// free in the parent and the child, the parent's own allocations could take
// the block again, and the second free would then be a legal one.
void free_twice(std::size_t size) {
    void* p = std::malloc(size);
    void* again = opaque(p);
    std::free(p);
    std::free(again);
}

TEST(global_malloc_death, double_free_dies) {
    // glibc reuses a freed chunk's first words for its free lists (the tcache
    // for small blocks, the unsorted bin for large ones), so the header may
    // read as cleared or as garbage: either way the message says "already freed".
    EXPECT_DEATH(free_twice(40), "free\\(\\): pointer 0x[0-9a-f]+ .*already freed");
    EXPECT_DEATH(free_twice(5000), "free\\(\\): pointer 0x[0-9a-f]+ .*already freed");
}

TEST(global_malloc_death, an_allocator_that_calls_malloc_is_reported_as_reentry) {
    // In a forked child: switch the registered allocator to counting<system>,
    // whose allocate calls malloc, which comes back here.
    EXPECT_DEATH(
        {
            global_allocator.arm();
            void* p = std::malloc(16);
            std::free(p);
        },
        "malloc\\(\\) re-entered: the allocator registered with HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC calls malloc "
        "itself");
}

// Replaces the death-test child with a fresh run of this program in which
// counting<system> is registered from the first allocation on.
[[noreturn]] void run_self_registering_system() {
    static char env_entry[] = "HEAPKIT_TEST_REGISTER_SYSTEM=1";
    static char filter[] = "--gtest_filter=no_test_at_all";
    static char self[] = "/proc/self/exe";
    char* argv[] = {self, filter, nullptr};
    char* envp[] = {env_entry, nullptr};
    ::execve(self, argv, envp);
    std::_Exit(99);  // exec failed
}

TEST(global_malloc_death, registering_counting_system_dies_before_main) {
    // The runtime allocates before main (libstdc++'s exception pool, for
    // one): that first malloc re-enters and aborts. main() would print
    // "main reached" and exit 0, which would fail this check.
    EXPECT_EXIT(run_self_registering_system(), ::testing::KilledBySignal(SIGILL), "malloc\\(\\) re-entered");
}

}  // namespace

int main(int argc, char** argv) {
    at_main = counter().snapshot();
    if (std::getenv(register_system_env) != nullptr) {
        static const char msg[] = "main reached\n";
        (void)!::write(2, msg, sizeof msg - 1);
        std::_Exit(0);
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
