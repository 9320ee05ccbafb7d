// null_allocator_with_malloc: the post's NullAllocator in place of malloc too.
//
//   static failure_log<heapkit::null> none;       // heapkit::null, noting what it refused
//   HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(none);   // malloc, free, ..., operator new/delete
//
// What happens (glibc 2.36, libstdc++ 12, measured): the process still reaches
// main. Before main only libstdc++ asks for memory, for its emergency
// exception pool (72704 bytes, seen here as 72720 with heapkit's 16-byte
// header), and it copes with the refusal by having no pool. In main, stdio's
// malloc for the stdout buffer fails and stdio falls back to unbuffered
// writes, so printf still works. The first `new` fails and throws
// std::bad_alloc, but the exception object needs malloc as well
// (__cxa_allocate_exception) and the emergency pool is empty, so the runtime
// calls std::terminate with no exception in flight:
//
//   terminate called without an active exception
//
// and the process ends with SIGABRT; even a catch(...) around the `new` does
// not run. C++ runtimes treat a failed malloc as a value, unlike Rust's,
// which aborts on the first one (see null_allocator_abort.cpp for that).
#include <heapkit/heapkit.hpp>

#include <atomic>
#include <cstddef>
#include <cstdio>

// A wrapper that passes every call to A and notes the sizes of the first
// `capacity` requests A refused, in a fixed array: it never allocates.
template <heapkit::allocator A>
class failure_log {
public:
    static constexpr std::size_t capacity = 8;

    constexpr failure_log() noexcept = default;

    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        heapkit::memory_block b = inner_.allocate(l);
        if (!b) {
            const std::size_t i = failures_.fetch_add(1, std::memory_order_relaxed);
            if (i < capacity) sizes_[i].store(l.size(), std::memory_order_relaxed);
        }
        return b;
    }
    void deallocate(void* p, heapkit::layout l) noexcept { inner_.deallocate(p, l); }

    std::size_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
    std::size_t size_of_failure(std::size_t i) const noexcept { return sizes_[i].load(std::memory_order_relaxed); }

private:
    [[no_unique_address]] A inner_{};
    std::atomic<std::size_t> failures_{0};          // requests refused so far
    std::atomic<std::size_t> sizes_[capacity]{};    // sizes of the first `capacity` of them
};

static failure_log<heapkit::null> none;
HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(none);

static void keep(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

int main() {
    const std::size_t before_main = none.failures();  // first thing: printing allocates (or tries to)

    std::printf("null allocator under malloc and operator new (HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC)\n");
    std::printf("main was reached: the runtimes survive a malloc that always fails.\n");
    std::printf("requests refused before main: %zu\n", before_main);
    for (std::size_t i = 0; i < before_main && i < failure_log<heapkit::null>::capacity; ++i) {
        const std::size_t seen = none.size_of_failure(i);
        std::printf("  request %zu: %zu bytes (%zu asked + 16-byte heapkit header)\n", i + 1, seen, seen - 16);
    }
    std::printf("requests refused since main began: %zu (stdout's buffer among them: stdio writes unbuffered)\n",
                none.failures() - before_main);
    std::printf("next: new int(42) inside try { } catch (...) { }\n");
    std::fflush(stdout);
    try {
        int* p = new int(42);
        keep(p);
        std::printf("new int(42) returned %p (unexpected)\n", static_cast<void*>(p));
    } catch (...) {
        std::printf("caught the exception (unexpected: its own allocation should have failed)\n");
    }
    return 0;
}
