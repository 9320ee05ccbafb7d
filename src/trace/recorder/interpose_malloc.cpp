// interpose_malloc: the C allocation functions. Each forwards to the next
// definition (next.hpp), then records the call (events.hpp) with errno as the
// real call left it. While dlsym resolves the next definitions, calls are
// served from the bootstrap buffer (and frees of its blocks are dropped).
//
// A call made by the next definition of an interposed function is the inner
// half of one call already recorded, and is not recorded again: the C++
// runtime's operator new calls malloc, its operator delete free, its nothrow
// new the throwing one, its sized delete the unsized one. Such calls are
// recognised by their return address: inside the recorder itself (the runtime
// tail-called from our forwarder) or inside the runtime function being
// forwarded to (interpose_new.cpp keeps their extents). A signal handler's
// malloc on the same thread returns elsewhere and is recorded.

#include "trace/recorder/events.hpp"
#include "trace/recorder/inner.hpp"
#include "trace/recorder/next.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#define HK_API extern "C" __attribute__((visibility("default")))

namespace heapkit::trace::recorder {
namespace {

inline bool ready() noexcept { return __builtin_expect(next_ready, 1); }

// Before next() is resolved: bootstrap while resolving, else resolve now.
bool bootstrapping() noexcept {
    if (resolving_next()) return true;
    resolve_next();
    return false;
}

#define record_now() (should_record() && !inner_call(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0))))

}  // namespace
}  // namespace heapkit::trace::recorder

using namespace heapkit::trace;
using namespace heapkit::trace::recorder;

HK_API void* malloc(std::size_t n) noexcept {
    if (!ready() && bootstrapping()) return bootstrap_alloc(n, 16);
    void* p = next_table.malloc(n);
    if (record_now()) record_alloc(op::malloc, p, n, 0, HK_FRAME);
    return p;
}

HK_API void free(void* p) noexcept {
    if (p == nullptr) return;  // free(NULL) does nothing: nothing to record
    if (bootstrap_owns(p)) return;
    if (!ready() && bootstrapping()) return;
    if (record_now()) record_free(op::free, p, 0, 0, HK_FRAME);
    next_table.free(p);
}

HK_API void* calloc(std::size_t n, std::size_t m) noexcept {
    if (!ready() && bootstrapping()) {
        std::size_t total;
        if (__builtin_mul_overflow(n, m, &total)) return nullptr;
        return bootstrap_alloc(total, 16);  // static memory, never reused: zero
    }
    void* p = next_table.calloc(n, m);
    if (record_now()) {
        std::size_t total;
        if (__builtin_mul_overflow(n, m, &total)) total = SIZE_MAX;
        record_alloc(op::calloc, p, total, 0, HK_FRAME);
    }
    return p;
}

namespace {

void* realloc_bootstrap_block(void* p, std::size_t n, op o, bool record) noexcept {
    // A block of the bootstrap buffer moves to the real allocator (the old one is never reused).
    void* q = next_table.malloc(n);
    if (q != nullptr) {
        const std::size_t old = bootstrap_size(p);
        std::memcpy(q, p, old < n ? old : n);
    }
    if (record) record_alloc(o, q, n, 0, 0);
    return q;
}

}  // namespace

HK_API void* realloc(void* p, std::size_t n) noexcept {
    if (!ready() && bootstrapping()) {
        void* q = bootstrap_alloc(n, 16);
        if (q != nullptr && p != nullptr) std::memcpy(q, p, bootstrap_size(p) < n ? bootstrap_size(p) : n);
        return q;
    }
    if (p != nullptr && bootstrap_owns(p)) return realloc_bootstrap_block(p, n, op::realloc, record_now());
    void* q = next_table.realloc(p, n);
    if (record_now()) record_realloc(op::realloc, p, q, n, HK_FRAME);
    return q;
}

HK_API void* reallocarray(void* p, std::size_t n, std::size_t m) noexcept {
    if (!ready()) resolve_next();
    std::size_t total;
    if (p != nullptr && bootstrap_owns(p) && !__builtin_mul_overflow(n, m, &total))
        return realloc_bootstrap_block(p, total, op::reallocarray, record_now());
    void* q = next_table.reallocarray(p, n, m);
    if (record_now()) {
        if (__builtin_mul_overflow(n, m, &total)) total = SIZE_MAX;
        record_realloc(op::reallocarray, p, q, total, HK_FRAME);
    }
    return q;
}

HK_API int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
    if (!ready() && bootstrapping()) {
        void* p = bootstrap_alloc(n, align);
        if (p == nullptr) return ENOMEM;
        *out = p;
        return 0;
    }
    const int rc = next_table.posix_memalign(out, align, n);
    if (record_now()) record_alloc(op::posix_memalign, rc == 0 ? *out : nullptr, n, align, HK_FRAME);
    return rc;
}

HK_API void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
    if (!ready() && bootstrapping()) return bootstrap_alloc(n, align);
    void* p = next_table.aligned_alloc(align, n);
    if (record_now()) record_alloc(op::aligned_alloc, p, n, align, HK_FRAME);
    return p;
}

HK_API void* memalign(std::size_t align, std::size_t n) noexcept {
    if (!ready() && bootstrapping()) return bootstrap_alloc(n, align);
    void* p = next_table.memalign(align, n);
    if (record_now()) record_alloc(op::memalign, p, n, align, HK_FRAME);
    return p;
}

HK_API void* valloc(std::size_t n) noexcept {
    if (!ready()) resolve_next();
    void* p = next_table.valloc(n);
    if (record_now()) record_alloc(op::valloc, p, n, 0, HK_FRAME);
    return p;
}

HK_API void* pvalloc(std::size_t n) noexcept {
    if (!ready()) resolve_next();
    void* p = next_table.pvalloc(n);
    if (record_now()) record_alloc(op::pvalloc, p, n, 0, HK_FRAME);
    return p;
}
