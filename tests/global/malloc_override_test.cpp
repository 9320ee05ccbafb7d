// The whole program on heapkit malloc (linked with heapkit::malloc): the
// malloc family's glibc-compatible edge cases, operator new's new_handler
// loop, and fork (the child must be able to allocate).
#include <heapkit/malloc.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {
// Keeps the compiler from folding malloc/free pairs away.
void* volatile sink;
volatile std::size_t big = SIZE_MAX / 2;  // sizes the compiler cannot see (no -Walloc-size warnings)
volatile std::size_t eight = 8;
}  // namespace

TEST(malloc_override, malloc_is_heapkit) {
    void* p = std::malloc(100);
    std::memset(p, 0, 100);
    EXPECT_TRUE(hk_owns(p));
    std::free(p);
    int* q = new int(7);
    EXPECT_TRUE(hk_owns(q));
    delete q;
}

TEST(malloc_override, glibc_semantics) {
    errno = 0;
    EXPECT_EQ(std::calloc(big, eight), nullptr);  // overflow
    EXPECT_EQ(errno, ENOMEM);
    void* p = std::malloc(0);
    ASSERT_NE(p, nullptr);
    std::free(p);
    p = std::realloc(nullptr, 32);
    ASSERT_NE(p, nullptr);
    std::memset(p, 7, 32);
    errno = 0;
    EXPECT_EQ(std::realloc(p, big + 5), nullptr);  // failure keeps p
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(static_cast<unsigned char*>(p)[31], 7);
    EXPECT_EQ(std::realloc(p, 0), nullptr);  // frees, as glibc 2.36
    errno = 0;
    EXPECT_EQ(reallocarray(nullptr, big, eight), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    errno = 77;
    std::free(std::malloc(10));
    EXPECT_EQ(errno, 77);  // free keeps errno
}

TEST(malloc_override, posix_memalign_and_friends) {
    void* out = reinterpret_cast<void*>(0x1234);
    EXPECT_EQ(posix_memalign(&out, 12, 10), EINVAL);
    EXPECT_EQ(posix_memalign(&out, 4, 10), EINVAL);   // not a multiple of sizeof(void*)
    EXPECT_EQ(out, reinterpret_cast<void*>(0x1234));  // untouched on error
    EXPECT_EQ(posix_memalign(&out, SIZE_MAX / 2 + 1, 10), ENOMEM);
    EXPECT_EQ(out, reinterpret_cast<void*>(0x1234));
    ASSERT_EQ(posix_memalign(&out, 256, 1000), 0);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(out) % 256, 0u);
    std::free(out);
    void* a = std::aligned_alloc(4096, 100);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 4096, 0u);
    std::free(a);
    void* m = memalign(48, 100);  // rounded up to 64, as glibc
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m) % 64, 0u);
    std::free(m);
    void* v = valloc(10);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v) % 4096, 0u);
    std::free(v);
    void* pv = pvalloc(10);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pv) % 4096, 0u);
    EXPECT_GE(malloc_usable_size(pv), 4096u);
    std::free(pv);
    EXPECT_EQ(malloc_usable_size(nullptr), 0u);
    EXPECT_EQ(mallopt(M_ARENA_MAX, 1), 1);
    struct mallinfo2 mi = mallinfo2();
    EXPECT_GT(mi.arena, 0u);
    malloc_trim(0);
}

TEST(malloc_override, operator_new_calls_the_new_handler_then_throws) {
    static int calls = 0;
    std::set_new_handler([] {
        if (++calls == 3) std::set_new_handler(nullptr);
    });
    EXPECT_THROW(sink = ::operator new(SIZE_MAX / 2), std::bad_alloc);
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(::operator new(SIZE_MAX / 2, std::nothrow), nullptr);
    void* p = ::operator new (100, std::align_val_t{512});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 512, 0u);
    ::operator delete (p, 100, std::align_val_t{512});
    auto* arr = new double[1000];
    delete[] arr;
}

TEST(malloc_override, child_of_fork_can_allocate) {
    // another thread allocating while we fork
    std::atomic<bool> stop{false};
    std::thread busy([&] {
        while (!stop.load()) {
            std::vector<int> v(1000);
            sink = v.data();
        }
    });
    for (int i = 0; i < 20; ++i) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            std::vector<void*> blocks;
            for (int k = 0; k < 1000; ++k) blocks.push_back(std::malloc(static_cast<std::size_t>(k * 13)));
            for (void* b : blocks) std::free(b);
            std::thread t([] {
                sink = std::malloc(100);
                std::free(sink);
            });
            t.join();
            ::_exit(0);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    stop = true;
    busy.join();
}
