// interpose_new: every replaceable operator new and delete. Each forwards to
// the next definition (the C++ runtime's, or libheapkit.so's), found by name
// when first called: dlsym(RTLD_NEXT), else a C++ runtime that a C program
// loaded with dlopen(RTLD_LOCAL). Its symbol extent is kept (inner.hpp) so
// that the runtime's own calls back into malloc / operator new are not
// recorded twice.
//
// Failure behaves as the next definition does: the throwing forms throw (or
// run the new_handler) inside it. An operator new that throws is not recorded
// (the record is written after the call returns; an exception passes through
// the recorder's frame, which has unwind tables but no handler); a nothrow
// form that returns nullptr is recorded as a failed allocation (addr 0).
// Without any C++ runtime to forward to (impossible for a program that calls
// operator new, short of a static runtime), the forms fall back to
// malloc/aligned_alloc and free, and a failed throwing new aborts with a message.
#include "trace/recorder/events.hpp"
#include "trace/recorder/inner.hpp"
#include "trace/recorder/next.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#define HK_CXX __attribute__((visibility("default")))

namespace heapkit::trace::recorder {
namespace {

enum form : int {
    f_new,
    f_new_array,
    f_new_nothrow,
    f_new_array_nothrow,
    f_new_aligned,
    f_new_array_aligned,
    f_new_aligned_nothrow,
    f_new_array_aligned_nothrow,
    f_delete,
    f_delete_array,
    f_delete_aligned,
    f_delete_array_aligned,
    f_delete_sized,
    f_delete_array_sized,
    f_delete_sized_aligned,
    f_delete_array_sized_aligned,
    f_delete_nothrow,
    f_delete_array_nothrow,
    f_delete_aligned_nothrow,
    f_delete_array_aligned_nothrow,
    f_count
};

constexpr const char* names[f_count] = {
    "_Znwm",
    "_Znam",
    "_ZnwmRKSt9nothrow_t",
    "_ZnamRKSt9nothrow_t",
    "_ZnwmSt11align_val_t",
    "_ZnamSt11align_val_t",
    "_ZnwmSt11align_val_tRKSt9nothrow_t",
    "_ZnamSt11align_val_tRKSt9nothrow_t",
    "_ZdlPv",
    "_ZdaPv",
    "_ZdlPvSt11align_val_t",
    "_ZdaPvSt11align_val_t",
    "_ZdlPvm",
    "_ZdaPvm",
    "_ZdlPvmSt11align_val_t",
    "_ZdaPvmSt11align_val_t",
    "_ZdlPvRKSt9nothrow_t",
    "_ZdaPvRKSt9nothrow_t",
    "_ZdlPvSt11align_val_tRKSt9nothrow_t",
    "_ZdaPvSt11align_val_tRKSt9nothrow_t",
};

constexpr const char* cxx_runtimes[] = {"libstdc++.so.6", "libc++.so.1", "libc++abi.so.1"};

struct target {
    std::atomic<void*> fn{nullptr};     // the next definition, once found
    std::uintptr_t begin = 0, end = 0;  // its extent ([fn, fn + st_size))
};
constinit target targets[f_count];
std::atomic<std::uintptr_t> runtime_low{UINTPTR_MAX}, runtime_high{0};  // bounds of every extent

void* find(const char* name) noexcept {
    void* f = ::dlsym(RTLD_NEXT, name);
    if (f != nullptr) return f;
    for (const char* lib : cxx_runtimes) {
        void* h = ::dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
        if (h == nullptr) continue;
        f = ::dlsym(h, name);
        ::dlclose(h);
        if (f != nullptr) return f;
    }
    return nullptr;
}

[[gnu::noinline]] void* resolve(form k) noexcept {
    thread_state& t = tls_state;
    ++t.internal;
    void* f = find(names[k]);
    if (f != nullptr) {
        Dl_info info;
        ElfW(Sym)* sym = nullptr;
        std::uintptr_t b = reinterpret_cast<std::uintptr_t>(f), e = b + 1;
        if (::dladdr1(f, &info, reinterpret_cast<void**>(&sym), RTLD_DL_SYMENT) != 0 && sym != nullptr &&
            sym->st_size != 0)
            e = b + sym->st_size;
        targets[k].begin = b;
        targets[k].end = e;
        std::uintptr_t lo = runtime_low.load();
        while (b < lo && !runtime_low.compare_exchange_weak(lo, b)) {
        }
        std::uintptr_t hi = runtime_high.load();
        while (e > hi && !runtime_high.compare_exchange_weak(hi, e)) {
        }
        targets[k].fn.store(f, std::memory_order_release);
    }
    --t.internal;
    return f;
}

template <class F>
inline F next_of(form k) noexcept {
    void* f = targets[k].fn.load(std::memory_order_acquire);
    if (__builtin_expect(f == nullptr, 0)) f = resolve(k);
    return reinterpret_cast<F>(f);
}

// Marks the thread as forwarding to the runtime (for inner_call), for one call.
struct forwarding {
    thread_state& t;
    forwarding() noexcept : t(tls_state) { ++t.in_cxx; }
    ~forwarding() { --t.in_cxx; }
};

[[noreturn]] void out_of_memory() noexcept {
    static const char msg[] =
        "heapkit-profile: operator new failed and no C++ runtime was found to throw std::bad_alloc\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::abort();
}

using new_fn = void* (*)(std::size_t);
using new_nothrow_fn = void* (*)(std::size_t, const std::nothrow_t&) noexcept;
using new_aligned_fn = void* (*)(std::size_t, std::align_val_t);
using new_aligned_nothrow_fn = void* (*)(std::size_t, std::align_val_t, const std::nothrow_t&) noexcept;
using delete_fn = void (*)(void*) noexcept;
using delete_sized_fn = void (*)(void*, std::size_t) noexcept;
using delete_aligned_fn = void (*)(void*, std::align_val_t) noexcept;
using delete_sized_aligned_fn = void (*)(void*, std::size_t, std::align_val_t) noexcept;
using delete_nothrow_fn = void (*)(void*, const std::nothrow_t&) noexcept;
using delete_aligned_nothrow_fn = void (*)(void*, std::align_val_t, const std::nothrow_t&) noexcept;

// A nothrow_t of our own: std::nothrow would tie the library to libstdc++ (C programs have none).
constexpr std::nothrow_t nothrow_tag{};

inline bool record_here(std::uintptr_t ret) noexcept { return should_record() && !inner_call(ret); }
#define HK_RET reinterpret_cast<std::uintptr_t>(__builtin_return_address(0))

inline void* new_plain(form k, op o, std::size_t n, std::uintptr_t ret, std::uintptr_t frame) {
    void* p;
    if (auto f = next_of<new_fn>(k); f != nullptr) {
        forwarding fw;
        p = f(n);
    } else {
        p = next().malloc(n);
        if (p == nullptr) out_of_memory();
    }
    if (record_here(ret)) record_alloc(o, p, n, 0, frame);
    return p;
}

inline void* new_nothrow(form k, op o, std::size_t n, std::uintptr_t ret, std::uintptr_t frame) noexcept {
    void* p;
    if (auto f = next_of<new_nothrow_fn>(k); f != nullptr) {
        forwarding fw;
        p = f(n, nothrow_tag);
    } else {
        p = next().malloc(n);
    }
    if (record_here(ret)) record_alloc(o, p, n, 0, frame);
    return p;
}

inline void* new_aligned(form k, op o, std::size_t n, std::align_val_t al, std::uintptr_t ret, std::uintptr_t frame) {
    void* p;
    if (auto f = next_of<new_aligned_fn>(k); f != nullptr) {
        forwarding fw;
        p = f(n, al);
    } else {
        p = next().aligned_alloc(static_cast<std::size_t>(al),
                                 (n + static_cast<std::size_t>(al) - 1) & ~(static_cast<std::size_t>(al) - 1));
        if (p == nullptr) out_of_memory();
    }
    if (record_here(ret)) record_alloc(o, p, n, static_cast<std::size_t>(al), frame);
    return p;
}

inline void* new_aligned_nothrow(form k, op o, std::size_t n, std::align_val_t al, std::uintptr_t ret,
                                 std::uintptr_t frame) noexcept {
    void* p;
    if (auto f = next_of<new_aligned_nothrow_fn>(k); f != nullptr) {
        forwarding fw;
        p = f(n, al, nothrow_tag);
    } else {
        p = next().aligned_alloc(static_cast<std::size_t>(al),
                                 (n + static_cast<std::size_t>(al) - 1) & ~(static_cast<std::size_t>(al) - 1));
    }
    if (record_here(ret)) record_alloc(o, p, n, static_cast<std::size_t>(al), frame);
    return p;
}

template <class F, class... Args>
inline void delete_any(form k, op o, std::uintptr_t ret, std::uintptr_t frame, void* p, std::size_t size,
                       std::size_t align, Args... args) noexcept {
    if (p == nullptr) return;
    if (record_here(ret)) record_free(o, p, size, align, frame);
    if (auto f = next_of<F>(k); f != nullptr) {
        forwarding fw;
        f(p, args...);
    } else {
        next().free(p);
    }
}

}  // namespace

bool in_cxx_runtime(std::uintptr_t ret) noexcept {
    if (ret < runtime_low.load(std::memory_order_relaxed) || ret >= runtime_high.load(std::memory_order_relaxed))
        return false;
    for (const target& t : targets)
        if (ret >= t.begin && ret < t.end) return true;
    return false;
}

}  // namespace heapkit::trace::recorder

using namespace heapkit::trace;
using namespace heapkit::trace::recorder;

HK_CXX void* operator new(std::size_t n) { return new_plain(f_new, op::new_, n, HK_RET, HK_FRAME); }
HK_CXX void* operator new[](std::size_t n) { return new_plain(f_new_array, op::new_array, n, HK_RET, HK_FRAME); }
HK_CXX void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return new_nothrow(f_new_nothrow, op::new_nothrow, n, HK_RET, HK_FRAME);
}
HK_CXX void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return new_nothrow(f_new_array_nothrow, op::new_array_nothrow, n, HK_RET, HK_FRAME);
}
HK_CXX void* operator new(std::size_t n, std::align_val_t al) {
    return new_aligned(f_new_aligned, op::new_aligned, n, al, HK_RET, HK_FRAME);
}
HK_CXX void* operator new[](std::size_t n, std::align_val_t al) {
    return new_aligned(f_new_array_aligned, op::new_array_aligned, n, al, HK_RET, HK_FRAME);
}
HK_CXX void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return new_aligned_nothrow(f_new_aligned_nothrow, op::new_aligned_nothrow, n, al, HK_RET, HK_FRAME);
}
HK_CXX void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return new_aligned_nothrow(f_new_array_aligned_nothrow, op::new_array_aligned_nothrow, n, al, HK_RET, HK_FRAME);
}

HK_CXX void operator delete(void* p) noexcept {
    delete_any<delete_fn>(f_delete, op::delete_, HK_RET, HK_FRAME, p, 0, 0);
}
HK_CXX void operator delete[](void* p) noexcept {
    delete_any<delete_fn>(f_delete_array, op::delete_array, HK_RET, HK_FRAME, p, 0, 0);
}
HK_CXX void operator delete(void* p, std::align_val_t al) noexcept {
    delete_any<delete_aligned_fn>(f_delete_aligned, op::delete_aligned, HK_RET, HK_FRAME, p, 0,
                                  static_cast<std::size_t>(al), al);
}
HK_CXX void operator delete[](void* p, std::align_val_t al) noexcept {
    delete_any<delete_aligned_fn>(f_delete_array_aligned, op::delete_array_aligned, HK_RET, HK_FRAME, p, 0,
                                  static_cast<std::size_t>(al), al);
}
HK_CXX void operator delete(void* p, std::size_t n) noexcept {
    delete_any<delete_sized_fn>(f_delete_sized, op::delete_sized, HK_RET, HK_FRAME, p, n, 0, n);
}
HK_CXX void operator delete[](void* p, std::size_t n) noexcept {
    delete_any<delete_sized_fn>(f_delete_array_sized, op::delete_array_sized, HK_RET, HK_FRAME, p, n, 0, n);
}
HK_CXX void operator delete(void* p, std::size_t n, std::align_val_t al) noexcept {
    delete_any<delete_sized_aligned_fn>(f_delete_sized_aligned, op::delete_sized_aligned, HK_RET, HK_FRAME, p, n,
                                        static_cast<std::size_t>(al), n, al);
}
HK_CXX void operator delete[](void* p, std::size_t n, std::align_val_t al) noexcept {
    delete_any<delete_sized_aligned_fn>(f_delete_array_sized_aligned, op::delete_array_sized_aligned, HK_RET, HK_FRAME,
                                        p, n, static_cast<std::size_t>(al), n, al);
}
HK_CXX void operator delete(void* p, const std::nothrow_t&) noexcept {
    delete_any<delete_nothrow_fn>(f_delete_nothrow, op::delete_nothrow, HK_RET, HK_FRAME, p, 0, 0, nothrow_tag);
}
HK_CXX void operator delete[](void* p, const std::nothrow_t&) noexcept {
    delete_any<delete_nothrow_fn>(f_delete_array_nothrow, op::delete_array_nothrow, HK_RET, HK_FRAME, p, 0, 0,
                                  nothrow_tag);
}
HK_CXX void operator delete(void* p, std::align_val_t al, const std::nothrow_t&) noexcept {
    delete_any<delete_aligned_nothrow_fn>(f_delete_aligned_nothrow, op::delete_aligned_nothrow, HK_RET, HK_FRAME, p, 0,
                                          static_cast<std::size_t>(al), al, nothrow_tag);
}
HK_CXX void operator delete[](void* p, std::align_val_t al, const std::nothrow_t&) noexcept {
    delete_any<delete_aligned_nothrow_fn>(f_delete_array_aligned_nothrow, op::delete_array_aligned_nothrow, HK_RET,
                                          HK_FRAME, p, 0, static_cast<std::size_t>(al), al, nothrow_tag);
}
