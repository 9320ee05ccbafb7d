// null_allocator_abort: the post's experiment with Rust's rules. Rust's
// runtime calls handle_alloc_error when the global allocator returns null,
// which prints "memory allocation of N bytes failed" and aborts. The wrapper
// abort_on_failure<A> gives any heapkit allocator that behaviour:
//
//   static abort_on_failure<heapkit::null> none;
//   HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(none);
//   int main() { }                                    // never runs
//
// What happens (glibc 2.36, libstdc++ 12, measured): before main, libstdc++
// asks for its emergency exception pool; the request fails, and the process
// prints
//
//   memory allocation of 72720 bytes failed
//
// and ends with SIGABRT. The size is what the allocator was asked for: the
// runtime's 72704 bytes plus the 16-byte header of heapkit's global bridge
// (see heapkit/global.hpp). main is never reached, as in the post.
#include <heapkit/heapkit.hpp>

#include <cstdio>

// Passes every call to A; when A fails, reports it and aborts
// (heapkit::handle_alloc_error never returns and never allocates).
template <heapkit::allocator A>
class abort_on_failure {
public:
    constexpr abort_on_failure() noexcept = default;

    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        heapkit::memory_block b = inner_.allocate(l);
        if (!b) heapkit::handle_alloc_error(l);
        return b;
    }
    void deallocate(void* p, heapkit::layout l) noexcept { inner_.deallocate(p, l); }

private:
    [[no_unique_address]] A inner_{};
};

static abort_on_failure<heapkit::null> none;
HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(none);

int main() {
    std::printf("main was reached (unexpected: the runtime allocates before main)\n");
    return 0;
}
